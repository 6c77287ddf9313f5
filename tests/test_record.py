"""Reproduction records: chapters run as scripts, their results and failures kept with
provenance."""
import ast
import copy
import io
import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rdsc import record, strict_json

NAN, INF = math.nan, math.inf

CHAPTER = textwrap.dedent('''\
    ---
    jupytext:
      text_representation:
        format_name: myst
    ---
    # A chapter

    ```{code-cell} ipython3
    :tags: [parameters]
    import os
    profile = os.environ.get("RDSC_PROFILE", "quick")
    ```

    Some prose with `code` and a fence that is not a cell:

    ```python
    raise SystemExit("prose is never run")
    ```

    ```{code-cell} ipython3
    from rdsc import book
    book.glue("answer", "42")
    display({"shown": True})
    book.save_results("%s", f"toy-{profile}", {"profile": profile, "value": %s})
    ```
    ''')


def fake_book(tmp_path, chapters):
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nchapters:\n"
        + "".join(f"  - file: chapters/{c}\n" for c in chapters))
    (tmp_path / "chapters").mkdir()
    for name, body in chapters.items():
        (tmp_path / "chapters" / f"{name}.md").write_text(body)
    return tmp_path


def test_chapter_script_keeps_code_cells_only(tmp_path):
    book = fake_book(tmp_path, {"01_toy": CHAPTER % ("01_toy", "1")})
    script = record.chapter_script(book / "chapters" / "01_toy.md")
    assert "profile = os.environ" in script and "book.save_results" in script
    assert "prose is never run" not in script and ":tags:" not in script
    compile(script, "chapter", "exec")
    setup = record.chapter_script(book / "chapters" / "01_toy.md", through="profile = ")
    assert "profile = os.environ" in setup and "book.save_results" not in setup
    with pytest.raises(ValueError, match="no code cell of .*01_toy.md contains 'nowhere'"):
        record.chapter_script(book / "chapters" / "01_toy.md", through="nowhere")


def _imports_outside_try(tree):
    """The top-level package of every import in ``tree`` not guarded by a ``try``."""
    guarded = {id(node) for t in ast.walk(tree) if isinstance(t, ast.Try)
               for stmt in t.body for node in ast.walk(stmt)}
    for node in ast.walk(tree):
        if id(node) in guarded:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module.split(".")[0]


def test_every_chapter_imports_only_what_the_lent_gpu_has():
    """Chapters 3, 6 and 8 once imported IPython, which the lent GPU lacks: chapter 3's
    paper run would have failed there in 2 s."""
    root = Path(__file__).resolve().parents[1]
    from rdsc.chapters import chapter_files
    for source in chapter_files(root):
        tree = ast.parse(record.chapter_script(source))
        missing = sorted({name for name in _imports_outside_try(tree)
                          if name not in sys.stdlib_module_names
                          and name not in record.DEVICE_PACKAGES})
        assert not missing, f"{source.name} imports {missing}, not on the lent GPU"


def test_a_chapter_that_starts_a_spawned_worker_runs_as_a_script(tmp_path):
    """A script has a __file__, from which a spawned worker once ran the whole chapter
    again (and died starting its own), so chapter 2 always failed on a CPU."""
    spawning = CHAPTER.replace("from rdsc import book", textwrap.dedent("""\
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(1, mp_context=spawn) as pool:
            print("worker says", pool.submit(abs, -3).result())
        from rdsc import book""")) % ("01_spawn", "1")
    book = fake_book(tmp_path, {"01_spawn": spawning})
    rec, = record.run("smoke", root=book, commit="abc", timeout=120)
    assert rec["status"] == "ok", rec["log_tail"]
    log = (book / "records" / "smoke" / "smoke.log").read_text()
    assert "worker says 3" in log


def test_run_writes_a_record_per_chapter_with_results_or_the_failure(tmp_path):
    book = fake_book(tmp_path, {"01_toy": CHAPTER % ("01_toy", "1"),
                                "02_broken": CHAPTER % ("02_broken", "1 / 0")})
    records = record.run("smoke", root=book, commit="abc123", timeout=120)
    assert [r["status"] for r in records] == ["ok", "failed"]
    ok = json.loads((book / "records" / "smoke" / "01_toy.json").read_text())
    assert ok["results"]["toy-smoke"]["value"] == 1 and ok["commit"] == "abc123"
    assert ok["wall_seconds"] > 0 and ok["device"]
    failed = json.loads((book / "records" / "smoke" / "02_broken.json").read_text())
    assert failed["results"] == {} and any("ZeroDivisionError" in line
                                           for line in failed["log_tail"])
    found, text = record.result("01_toy", "toy", "smoke", root=book)
    assert found["value"] == 1 and "smoke profile, recorded on" in text and "abc123" in text
    missing, why = record.result("02_broken", "toy", "smoke", root=book)
    assert missing is None and "failed" in why
    assert (record.result("03_absent", "toy", "smoke", root=book)
            == (None, "no paper-profile record yet"))
    assert (record.result("03_absent", "toy", "smoke", root=book, brief=True)
            == (None, "none yet"))


def test_pack_and_unpack_keep_every_file(tmp_path):
    src = tmp_path / "src" / "toy"
    for name, data in {"train/a/1.jpg": b"\xff\xd8one", "train/b/2.jpg": b"",
                       "test/a/3.jpg": b"three"}.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(data)
    packed = record.pack(src, tmp_path / "toy.npz")
    assert record.unpack(packed, tmp_path / "out") == 3
    for p in src.rglob("*"):
        if p.is_file():
            assert (tmp_path / "out" / "toy" / p.relative_to(src)).read_bytes() == p.read_bytes()


def test_a_chapter_past_its_timeout_is_stopped_and_recorded_as_failed(tmp_path, capsys):
    slow = CHAPTER.replace("from rdsc import book", "import time\nprint('started', flush=True)\n"
                           "time.sleep(60)\nfrom rdsc import book") % ("01_slow", "1")
    book = fake_book(tmp_path, {"01_slow": slow})
    rec, = record.run("smoke", root=book, commit="abc", timeout=5)
    assert rec["status"] == "failed" and rec["wall_seconds"] < 30
    assert rec["log_tail"][-1] == "stopped after 5 s" and "started" in rec["log_tail"]
    assert "01_slow: timed out after" in capsys.readouterr().out  # not "failed in 5 s"


def test_a_running_chapter_s_output_can_be_copied_before_it_ends(tmp_path):
    """The output of a running chapter once sat in a temporary folder, so a lent GPU
    stopped mid-chapter gave back nothing of it."""
    peek = CHAPTER.replace("from rdsc import book", textwrap.dedent("""\
        from pathlib import Path
        print("half-way", flush=True)
        running = Path("../records/smoke/01_peek.running.log")
        print("seen while running:", "half-way" in running.read_text())
        from rdsc import book""")) % ("01_peek", "1")
    book = fake_book(tmp_path, {"01_peek": peek})
    rec, = record.run("smoke", root=book, commit="abc", timeout=120)
    assert rec["status"] == "ok", rec["log_tail"]
    assert "seen while running: True" in (book / "records" / "smoke" / "smoke.log").read_text()
    assert not (book / "records" / "smoke" / "01_peek.running.log").exists()


def test_no_chapter_matches():
    with pytest.raises(ValueError, match="no chapter"):
        record.run("smoke", chapters=["99"], root=None)


def test_every_chapter_asked_for_must_exist(tmp_path, capsys):
    # "03 5": the 5 matches nothing; running 03 alone would lose chapter 5's record unnoticed
    book = fake_book(tmp_path, {"03_a": CHAPTER % ("03_a", "1"), "05_b": CHAPTER % ("05_b", "1")})
    with pytest.raises(ValueError, match="starts with 5;"):
        record.run("smoke", chapters=["03", "5"], root=book)
    assert not (book / "records" / "smoke" / "03_a.json").exists()
    with pytest.raises(SystemExit):  # the command line: one line, no traceback
        record.main(["run", "--chapters", "3"])
    assert "no chapter in _toc.yml starts with 3" in capsys.readouterr().err


def test_nonsense_times_and_a_folder_outside_the_book_are_refused_in_one_line(
        tmp_path, monkeypatch, capsys):
    """A --timeout of 0 wrote a failed record over the chapter's earlier one; outside the
    book the runner ended in a traceback."""
    for args, said in ((["--timeout", "0"], "a whole number"), (["--timeout", "-3"], "a whole"),
                       (["--deadline", "0"], "a number"), (["--deadline", "nan"], "a number"),
                       (["--timeout", "ten"], "a whole"), (["--timeout", "1e9"], "a whole")):
        with pytest.raises(SystemExit):
            record.main(["run", "--chapters", "01", *args])
        err = capsys.readouterr().err
        assert f"need {said}" in err and "of seconds above 0" in err
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        record.main(["run", "--profile", "smoke", "--chapters", "01"])
    assert "no _toc.yml found above the working directory: run this from the book's" \
        in capsys.readouterr().err


def test_an_unreadable_or_incomplete_record_is_named(tmp_path):
    folder = tmp_path / "records" / "paper"
    folder.mkdir(parents=True)
    (folder / "03_x.json").write_text("{")
    with pytest.raises(ValueError, match="03_x.json is not a readable record"):
        record.load("03_x", root=tmp_path)
    (folder / "03_x.json").write_text(json.dumps({"chapter": "03_x", "status": "ok"}))
    with pytest.raises(ValueError, match="03_x.json lacks profile, device, commit, date"):
        record.load("03_x", root=tmp_path)
    # a chapter reading it once stopped at every profile; now it says so in its place
    found, why = record.result("03_x", "toy", root=tmp_path)
    # plain text, no builder's path (the intro pastes it as it is)
    # the cause is named too (it was once dropped)
    assert found is None and why.startswith(
        "the paper-profile record could not be read: records/paper/03_x.json lacks "
        "profile, device"), why
    assert why.endswith("or delete it") and str(tmp_path) not in why
    # hand-edited fields once crashed the chapter's last cell in a division or a slice
    good = {"chapter": "03_x", "profile": "paper", "status": "ok", "device": "GPU",
            "commit": "abc1234", "date": "2026-11-30", "wall_seconds": 12.5,
            "results": {"toy-paper": {"profile": "paper"}}}
    (folder / "03_x.json").write_text(json.dumps(good))
    assert record.result("03_x", "toy", root=tmp_path)[0] == {"profile": "paper"}
    for edit, said in (({"wall_seconds": "12"}, "wall_seconds"), ({"commit": 1234567}, "commit"),
                       ({"results": []}, "results"), ({"status": "OK"}, "status 'OK'"),
                       ({"profile": "smoke"}, "profile 'smoke' in records/paper"),
                       ({"chapter": "04_y"}, "chapter '04_y' in 03_x.json"),
                       ({"wall_seconds": -1.0}, "wall_seconds -1.0"),
                       ({"wall_seconds": "NaN"}, "wall_seconds nan")):
        (folder / "03_x.json").write_text(json.dumps({**good, **edit}))
        with pytest.raises(ValueError, match=f"has fields of the wrong kind \\(.*{said}"):
            record.load("03_x", root=tmp_path)


def test_a_record_with_figures_out_of_range_or_missing_is_named_not_shown(tmp_path):
    """A hand edit of 0.7502 to 75.02 was once shown as a top-1 of 7,502%, and a
    record without ``topk.top2`` stopped chapter 3 with a KeyError."""
    folder = tmp_path / "records" / "paper"
    folder.mkdir(parents=True)
    toy = {"profile": "paper", "k": 10, "topk": {"top1": 0.75, "top2": 0.875},
           "paper": {"top1": 76.36}, "curve": [{"top-1 (%)": 75.0}, {"top-1 (%)": NAN}],
           "timing": [{"spread of runs (%)": 194}]}
    good = {"chapter": "03_x", "profile": "paper", "status": "ok", "device": "GPU",
            "commit": "abc1234", "date": "2026-11-30", "wall_seconds": 12.5,
            "results": {"toy-paper": toy}}

    def shown(results, **kw):
        (folder / "03_x.json").write_text(strict_json.dumps({**good, "results": results}))
        return record.result("03_x", "toy", root=tmp_path, **kw)

    # the paper's percentages, an undefined (NaN) figure and a timing spread are no fault
    assert shown({"toy-paper": toy}, needs=("k", "topk.top2"))[0] == toy
    for path, value in ((("topk", "top1"), 75.02), (("curve", 0, "top-1 (%)"), 101.0),
                        (("curve", 1, "top-1 (%)"), INF), (("topk", "top2"), -0.1)):
        edited = copy.deepcopy(toy)
        parent = edited
        for part in path[:-1]:
            parent = parent[part]
        parent[path[-1]] = value
        found, why = shown({"toy-paper": edited})
        where = ".".join(str(p) for p in path)
        assert found is None and f"(toy-paper.{where} = {value!r})" in why, why
    # chapter 6's fractions (R-precision, AP, P@10) were once not range-checked
    for key in ("R-precision", "AP low", "P@10", "top-1", "top-5 max"):
        assert record.implausible_figures({key: 57.3 if "top" not in key else 157.3}), key
        assert not record.implausible_figures({key: 0.573 if "top" not in key else 57.3}), key
        assert why.startswith("the paper-profile record records/paper/03_x.json holds "
                              "figures out of their range")
    # chapter 4 keeps its top-k in percent under "top-1" ...
    found, why = shown({"toy-paper": {**toy, "accuracy": [{"top-1": 7502.0, "top-5": 90.0}]}})
    assert found is None and "(toy-paper.accuracy.0.top-1 = 7502.0)" in why
    with pytest.raises(TypeError, match="needs is a list of dotted names"):
        record.missing_figures(toy, "topk.top1")
    lacking = copy.deepcopy(toy)
    del lacking["topk"]["top2"]
    lacking["k"] = "10"
    found, why = shown({"toy-paper": lacking}, needs=("k", "topk.top1", "topk.top2"))
    assert found is None and "lacks k, topk.top2 for toy" in why, why
    # a NaN top-1 was once printed "nan%", a top-1 above the top-2 and a smoke
    # run's results under the paper's name were shown as the record
    nan_top1 = copy.deepcopy(toy)
    nan_top1["topk"]["top1"] = NAN
    found, why = shown({"toy-paper": nan_top1}, needs=("topk.top1",))
    assert found is None and "lacks topk.top1 for toy (or holds no finite number" in why
    swapped = copy.deepcopy(toy)
    swapped["topk"] = {"top1": 0.9, "top2": 0.8}
    found, why = shown({"toy-paper": swapped})
    assert found is None and "topk.top1 = 0.9 above toy-paper.topk.top2 = 0.8" in why, why
    assert record.implausible_figures({"top-1": 60.0, "top-2": 60.0, "top-5": 70.0}) == []
    found, why = shown({"toy-paper": {**toy, "profile": "smoke", "k": 16}})
    assert found is None and "holds toy results of the 'smoke' profile" in why, why


def test_pack_refuses_what_would_carry_nothing_and_unpack_checks_the_pack(tmp_path):
    import numpy as np
    with pytest.raises(ValueError, match="is not a folder"):
        record.pack(tmp_path / "typo", tmp_path / "x.npz")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no files"):
        record.pack(tmp_path / "empty", tmp_path / "x.npz")
    (tmp_path / "toy" / "a").mkdir(parents=True)
    (tmp_path / "toy" / "a" / "1.jpg").write_bytes(b"12345")
    written = record.pack(tmp_path / "toy", tmp_path / "carry.bin")
    assert written == tmp_path / "carry.bin.npz" and written.is_file()  # the name printed
    with np.load(written) as z:
        names, sizes, data = z["names"], z["sizes"], z["data"]
    np.savez(tmp_path / "short.npz", names=names, sizes=sizes, data=data[:3])
    with pytest.raises(ValueError, match="damaged"):
        record.unpack(tmp_path / "short.npz", tmp_path / "out")
    evil = np.frombuffer(b"../escaped.txt", dtype=np.uint8)
    np.savez(tmp_path / "evil.npz", names=evil, sizes=sizes, data=data)
    with pytest.raises(ValueError, match="outside the folder"):
        record.unpack(tmp_path / "evil.npz", tmp_path / "out")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="junk.npz is not a pack"):
        record.unpack(tmp_path / "junk.npz", tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "escaped.txt").exists()
    with pytest.raises(ValueError, match="gone.npz does not exist: make it with"):
        record.unpack(tmp_path / "gone.npz", tmp_path / "out")


def test_pack_of_dot_keeps_the_dataset_name_and_unpack_never_merges(tmp_path, monkeypatch):
    """`pack .` once stored names without the dataset folder (unpack then wrote
    train/ into the data root), and unpack merged into an existing dataset folder, keeping
    its stale files beside the new ones."""
    src = tmp_path / "src" / "toy"
    (src / "train").mkdir(parents=True)
    (src / "train" / "1.jpg").write_bytes(b"new")
    monkeypatch.chdir(src)
    packed = record.pack(Path("."), tmp_path / "toy.npz")
    root = tmp_path / "data"
    assert record.unpack(packed, root) == 1
    assert (root / "toy" / "train" / "1.jpg").read_bytes() == b"new"
    assert sorted(p.name for p in root.iterdir()) == ["toy"]   # no staging folder left
    (root / "toy" / "train" / "stale.jpg").write_bytes(b"old")
    with pytest.raises(ValueError, match="already holds toy: move it aside"):
        record.unpack(packed, root)
    assert sorted(p.name for p in (root / "toy" / "train").iterdir()) == ["1.jpg",
                                                                          "stale.jpg"]
    assert sorted(p.name for p in root.iterdir()) == ["toy"]


def test_a_deadline_stops_the_run_and_keeps_earlier_successful_records(tmp_path):
    slow = CHAPTER.replace("from rdsc import book", "import time\ntime.sleep(60)\n"
                           "from rdsc import book")
    book = fake_book(tmp_path, {"01_toy": CHAPTER % ("01_toy", "1"),
                                "02_slow": slow % ("02_slow", "2"),
                                "03_late": CHAPTER % ("03_late", "3")})
    earlier = {"chapter": "02_slow", "profile": "smoke", "status": "ok", "commit": "old",
               "device": "a GPU", "date": "2026-11-28", "wall_seconds": 9.0,
               "results": {"toy-smoke": {"value": 2}}}
    (book / "records" / "smoke").mkdir(parents=True)
    (book / "records" / "smoke" / "02_slow.json").write_text(json.dumps(earlier))
    record.MIN_CHAPTER_SECONDS, saved = 3, record.MIN_CHAPTER_SECONDS
    try:  # the chapters in the order asked for, not the book's
        records = record.run("smoke", chapters=["02", "01", "03"], root=book, commit="new",
                             timeout=600, deadline=8)
    finally:
        record.MIN_CHAPTER_SECONDS = saved
    assert [(r["chapter"], r["status"]) for r in records] == [
        ("02_slow", "failed"), ("01_toy", "not run"), ("03_late", "not run")]
    kept = json.loads((book / "records" / "smoke" / "02_slow.json").read_text())
    assert kept == earlier            # stopped by the deadline: the earlier record stays
    # the default guard (a chapter starts only with a minute left, since
    # run_on_gpu.sh gives a chapter what remains of one device call) had never been exercised
    import unittest.mock
    with unittest.mock.patch.object(record, "run_chapter", side_effect=AssertionError):
        late = record.run("smoke", chapters=["01"], root=book, commit="new", deadline=59)
    assert late == [{"chapter": "01_toy", "status": "not run"}]
    assert not (book / "records" / "smoke" / "01_toy.json").exists()
    assert record.exit_status(records) == 1


def test_the_exit_status_tells_a_deadline_from_a_failure():
    """Note 21: ``rdsc.record run`` exited 1 when the deadline left chapters unrun, the
    expected end of the default chapters on one lent GPU call, as for a failure."""
    ok, late, bad = ({"status": s} for s in ("ok", "not run", "failed"))
    assert record.exit_status([ok, ok]) == 0
    assert record.exit_status([ok, late]) == record.NOT_ALL_RUN == 3
    assert record.exit_status([bad, late]) == record.exit_status([ok, bad]) == 1


def test_an_unreadable_earlier_record_is_replaced_not_fatal(tmp_path, capsys):
    book = fake_book(tmp_path, {"01_toy": CHAPTER % ("01_toy", "1")})
    (book / "records" / "smoke").mkdir(parents=True)
    (book / "records" / "smoke" / "01_toy.json").write_text('{"chapter": "01_toy"}')
    rec, = record.run("smoke", root=book, commit="new", timeout=120)
    assert rec["status"] == "ok" and "earlier record is replaced" in capsys.readouterr().out
    assert record.load("01_toy", "smoke", root=book)["commit"] == "new"


def test_stopping_the_runner_stops_the_chapter(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    slow = CHAPTER.replace("from rdsc import book", "import os, time\n"
                           f"open({str(tmp_path / 'pid')!r}, 'w').write(str(os.getpid()))\n"
                           "time.sleep(120)\nfrom rdsc import book") % ("01_slow", "1")
    book = fake_book(tmp_path, {"01_slow": slow})
    (book / "rdsc").symlink_to(Path(record.__file__).parent)  # the runner imports rdsc
    runner = subprocess.Popen([sys.executable, "-m", "rdsc.record", "run", "--profile", "smoke"],
                              cwd=book, env={**os.environ, "PYTHONPATH": str(book)})
    pid_file = tmp_path / "pid"
    for _ in range(600):
        if pid_file.is_file() and pid_file.read_text():
            break
        time.sleep(0.1)
    chapter = int(pid_file.read_text())
    runner.send_signal(signal.SIGTERM)  # as `timeout` does
    runner.wait(timeout=30)
    for _ in range(50):  # the chapter runs in its own session: the runner must stop it
        try:
            os.kill(chapter, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(chapter, signal.SIGKILL)
        raise AssertionError("the chapter outlived its runner")


def test_load_refuses_fields_of_the_wrong_kind_or_empty(tmp_path):
    folder = tmp_path / "records" / "paper"
    folder.mkdir(parents=True)
    good = {"chapter": "03_x", "profile": "paper", "status": "ok", "device": "GPU",
            "commit": "abc1234", "date": "2026-11-30", "wall_seconds": 12.5,
            "results": {"toy-paper": {"profile": "paper"}}}
    (folder / "03_x.json").write_text(json.dumps(good))
    assert record.load("03_x", root=tmp_path)["device"] == "GPU"
    for edit in ({"wall_seconds": True}, {"device": 5}, {"commit": ""}):
        (folder / "03_x.json").write_text(json.dumps({**good, **edit}))
        with pytest.raises(ValueError):
            record.load("03_x", root=tmp_path)


def test_the_gpu_check_is_the_logs_last_json_line_and_reads_as_one_sentence(tmp_path):
    assert record.gpu_check(tmp_path) is None and record.gpu_check_sentence(None) == ""
    log = tmp_path / record.GPU_CHECK
    log.parent.mkdir(parents=True)
    log.write_text("warm-up 9.7 s\n" + json.dumps({"device": "old"}) + "\n"
                   "on 8 images vs the CPU engine: 6.25e-06 differ\n"
                   + json.dumps({"device": "NVIDIA H200", "check_images": 8, "k": 100_000,
                                 "differ_vs_cpu": 6.25e-06, "differ_vs_cpu_outside_ties": 0})
                   + "\n")
    check = record.gpu_check(tmp_path)
    assert check["device"] == "NVIDIA H200"
    assert record.gpu_check_sentence(check, tmp_path) == (   # no git history there
        "The committed GPU check `records/gpu-checks/fused_speed.log` (on the NVIDIA H200, 8 "
        "CIFAR-10 images, k = 100,000) found the fused GPU engine's features differing from "
        "the CPU engine's in 6.25e-06 of the features, and in 0 outside near-ties.")
    # odd logs are named, not a crash; a CPU's log checks no GPU
    for last, said in (('{"device": "NVIDIA H200", "k": 100', "could not be read"),
                       ('{"device": "NVIDIA H200"}', "lacks a figure"),
                       (json.dumps({"device": "CPU, Triton interpreter", "check_images": 8,
                                    "k": 32, "differ_vs_cpu": 0.0,
                                    "differ_vs_cpu_outside_ties": 0}), "checks no GPU")):
        log.write_text("warm-up\n" + last + "\n")
        assert said in record.gpu_check_sentence(record.gpu_check(tmp_path), tmp_path)
    # the committed log (from the last lent GPU) is one this reader understands
    committed = record.gpu_check(Path(__file__).resolve().parents[1])
    assert record.gpu_check_sentence(committed).startswith("The committed GPU check")
    if (Path(__file__).resolve().parents[1] / ".git").exists():   # when and what changed since
        # a log whose JSON names its commit is dated from it, an older one from git's log
        said = record.gpu_check_sentence(committed)
        assert (f"(made at commit {committed['commit'][:10]}, of 20" in said
                if committed.get("commit") else "(committed on 20" in said)


def _git(root, *args):
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
                        "GIT_COMMITTER_DATE": "2026-11-20T00:00:00",
                        "GIT_AUTHOR_DATE": "2026-11-20T00:00:00"})
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                          text=True).stdout.strip()


def test_a_records_label_says_how_old_its_commit_is(tmp_path):
    """A record 350 commits old, the engine and SVM changed since, once read as
    current; a record of an edited tree lost its +changes to a slice."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "rdsc").mkdir()
    (repo / "rdsc" / "a.py").write_text("x = 1\n")
    (repo / "_toc.yml").write_text("root: intro\n")
    _git(repo, "add", ".")
    first = _git(repo, "commit", "-qm", "one")
    rec = {"chapter": "03_x", "profile": "paper", "status": "ok", "device": "GPU",
           "commit": first, "date": "2026-11-30", "wall_seconds": 60, "results": {}}
    assert record.label(rec, repo).endswith(
        f"commit {first[:10]}, chapter run 1.0 min — at this build's commit")
    assert record.label({**rec, "commit": first + "+changes"}, repo).endswith(
        "— at this build's commit (from uncommitted changes to it)")
    # the intro's cell was once a paragraph; brief says who, when, and whether older
    assert record.label(rec, repo, brief=True) == (
        f"paper profile, GPU, 2026-11-30, commit {first[:10]}")
    # this build's own edits once went unsaid
    (repo / "rdsc" / "a.py").write_text("x = 3\n")
    assert record.label(rec, repo).endswith(
        "— at this build's commit; this build has uncommitted changes to rdsc/")
    (repo / "rdsc" / "a.py").write_text("x = 2\ny = 3\n")
    _git(repo, "commit", "-qam", "two")
    # an untracked file is not an edit (paths.book_commit's rule), nor is the
    # chapter's own source (a page kept after its commit would still say "uncommitted")
    (repo / "rdsc" / "scratch.py").write_text("")
    (repo / "chapters").mkdir()
    (repo / "chapters" / "03_x.md").write_text("edited")
    assert "uncommitted" not in record.label(rec, repo)
    (repo / "rdsc" / "scratch.py").unlink()
    (repo / "chapters" / "03_x.md").unlink()
    (repo / "README").write_text("r")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "three")
    head = _git(repo, "rev-parse", "HEAD")
    said = record.label({**rec, "commit": first + "+changes"}, repo)
    # HEAD named: a page kept by the build cache stays true of the commit it names
    assert said.endswith(f"commit {first[:10]}+changes, chapter run 1.0 min — 2 commits "
                         f"before this build's {head[:10]}, with rdsc/ and the chapter "
                         "changed since by +2/-1 lines")
    assert record.label({**rec, "commit": first}, repo, brief=True) == (
        f"paper profile, GPU, 2026-11-30, commit {first[:10]}; older code than this "
        "build's (its chapter says how much)")
    # a failed rerun kept beside the ok record is named
    folder = repo / "records" / "paper"
    folder.mkdir(parents=True)
    (folder / "03_x.json").write_text(json.dumps(rec))
    assert record.result("03_x", "toy", root=repo)[0] is None
    (folder / "03_x.json").write_text(json.dumps({**rec, "results": {"toy-paper": {"a": 1}}}))
    (folder / "03_x.failed.json").write_text(json.dumps(
        {**rec, "status": "failed", "commit": head, "date": "2026-12-01"}))
    assert record.result("03_x", "toy", root=repo)[1].endswith(
        f"; a later run at commit {head[:10]} on 2026-12-01 failed "
        "(records/paper/03_x.failed.json)")
    # one the lent GPU's deadline stopped did not fail (12-04: chapter 3 after 131 s)
    (folder / "03_x.failed.json").write_text(json.dumps(
        {**rec, "status": "failed", "exit_code": None, "commit": head,
         "date": "2026-12-04", "wall_seconds": 131.3,
         "stopped": "stopped at the run's deadline"}))
    assert record.result("03_x", "toy", root=repo)[1].endswith(
        f"; a later run at commit {head[:10]} on 2026-12-04 was stopped at the run's "
        "deadline after 131 s, before it finished (records/paper/03_x.failed.json)")
    (folder / "03_x.failed.json").write_text(json.dumps(
        {**rec, "status": "failed", "exit_code": None, "commit": head, "date": "2026-12-04",
         "wall_seconds": 3.0, "stopped": "timed out"}))
    assert record.result("03_x", "toy", root=repo)[1].endswith(
        "on 2026-12-04 timed out after 3 s, before it finished "
        "(records/paper/03_x.failed.json)")
    # the intro's short column: a few words (its cells were once paragraphs)
    assert record.result("03_x", "toy", root=repo, brief=True)[1].endswith(
        "; a later run stopped unfinished")
    assert "— at a commit this checkout's history does not hold" in record.label(
        {**rec, "commit": "f" * 40}, repo)
    shallow = tmp_path / "shallow"          # its oldest commit "adds" every file
    subprocess.run(["git", "clone", "-q", "--depth", "1", repo.as_uri(), str(shallow)],
                   check=True, capture_output=True)
    assert record.label({**rec, "commit": head}, shallow).endswith("chapter run 1.0 min")
    no_git = tmp_path / "copy"
    no_git.mkdir()
    assert record.label(rec, no_git) == (
        f"paper profile, recorded on GPU, 2026-11-30, commit {first[:10]}, chapter run 1.0 min")


def test_a_failed_rerun_keeps_the_earlier_ok_record(tmp_path, monkeypatch):
    """A rerun without its data, or stopped by its own timeout, once replaced a GPU's
    ok record with a failed one."""
    folder = tmp_path / "records" / "paper"
    folder.mkdir(parents=True)
    (tmp_path / "chapters").mkdir()
    source = tmp_path / "chapters" / "03_x.md"
    source.write_text("x")
    good = {"chapter": "03_x", "profile": "paper", "status": "ok", "device": "GPU",
            "commit": "abc1234", "date": "2026-11-30", "wall_seconds": 12.5,
            "results": {"toy-paper": {"profile": "paper"}}}
    (folder / "03_x.json").write_text(json.dumps(good))
    outcome = {"status": "failed", "exit_code": 1}
    monkeypatch.setattr("rdsc.chapters.chapter_files", lambda root: [source])
    monkeypatch.setattr(record, "run_chapter", lambda *a: {
        **good, "commit": "def5678", "results": {}, **outcome})
    done = record.run("paper", ["03"], root=tmp_path, commit="def5678")
    assert done[0]["status"] == "failed"
    assert json.loads((folder / "03_x.json").read_text()) == good          # kept
    assert json.loads((folder / "03_x.failed.json").read_text())["commit"] == "def5678"
    assert "stopped" not in json.loads((folder / "03_x.failed.json").read_text())
    outcome.update(exit_code=None)           # killed at the run's deadline
    record.run("paper", ["03"], root=tmp_path, commit="def5678", deadline=100)
    assert json.loads((folder / "03_x.failed.json").read_text())["stopped"] == (
        "stopped at the run's deadline")
    outcome.update(status="ok", exit_code=0)                            # a later success
    # results saved on code edited after the run began mark the record too
    outcome["results"] = {"toy-paper": {"profile": "paper", "commit": "def5678+changes"}}
    record.run("paper", ["03"], root=tmp_path, commit="def5678")
    assert json.loads((folder / "03_x.json").read_text())["commit"] == "def5678+changes"
    outcome.pop("results")
    record.run("paper", ["03"], root=tmp_path, commit="def5678")
    assert json.loads((folder / "03_x.json").read_text())["commit"] == "def5678"
    assert not (folder / "03_x.failed.json").exists()


def test_chapter_prefixes_must_each_name_one_chapter(tmp_path, monkeypatch):
    """Once "0", "" or a bare --chapters selected all eight chapters at the paper
    profile."""
    names = ["01_a", "02_b", "03_c"]
    monkeypatch.setattr("rdsc.chapters.chapter_files",
                        lambda root: [tmp_path / f"{n}.md" for n in names])
    monkeypatch.setattr(record, "run_chapter", lambda *a: pytest.fail("ran a chapter"))
    for chapters, said in ((["0"], "'0' starts more than one"),
                           ([""], "'' starts more than one"),
                           (["03", "0"], "'0' starts more than one"),
                           ([], "names no chapter")):
        with pytest.raises(ValueError, match=said):
            record.run("paper", chapters, root=tmp_path)


def test_a_chapter_imports_the_rdsc_of_the_runners_checkout(tmp_path):
    """The chapter's process once took rdsc from a shared venv's editable install
    (another checkout) while the record named this one's commit."""
    source = tmp_path / "chapters" / "01_x.md"
    source.parent.mkdir()
    source.write_text("```{code-cell} ipython3\nimport os, sys\n"
                      "print('FIRST', os.environ.get('PYTHONPATH', '').split(os.pathsep)[0])\n"
                      "```\n")
    log = io.StringIO()
    rec = record.run_chapter(source, "smoke", log, 120, "abc")
    # first on the path, before any editable install's finder
    assert f"FIRST {Path(record.__file__).resolve().parent.parent}\n" in log.getvalue()
    assert rec["status"] == "failed"  # it wrote no results: still a record of what happened


def test_every_committed_record_is_one_the_book_reads():
    """A damaged committed record no longer stops its chapter (it is named in the record's
    place), so this test is where one is caught."""
    root = Path(__file__).resolve().parents[1]
    from rdsc.chapters import chapter_files
    chapters = {p.stem for p in chapter_files(root)}
    for path in sorted((root / "records" / "paper").glob("*.json")):
        name = path.name.removesuffix(".json").removesuffix(".failed")
        assert name in chapters, f"{path.name}: no chapter of that name in _toc.yml"
        if not path.name.endswith(".failed.json"):
            found = record.load(name, "paper", root)
            assert found["chapter"] == name, f"{path.name} holds chapter {found['chapter']}"
            assert record.implausible_figures(found["results"]) == [], path.name


def test_the_device_names_the_commit_of_the_tree_it_was_given(tmp_path):
    """Once, .gpu/commit written when the (slow) bundle was made named every later
    call's records, whatever had been committed or edited since."""
    book = tmp_path / "book"
    (book / "records").mkdir(parents=True)
    (book / "records" / "device_commit.sh").write_text(
        (Path(__file__).resolve().parents[1] / "records" / "device_commit.sh").read_text())
    (book / "a.py").write_text("x = 1\n")
    (book / ".gpu").mkdir()
    (book / ".gpu" / "commit").write_text("abc123\n")
    (book / "records" / "paper").mkdir()
    (book / "records" / "paper" / "paper.log").write_text("committed\n")
    subprocess.run("sha256sum a.py records/device_commit.sh records/paper/paper.log "
                   "> .gpu/manifest", shell=True, cwd=book, check=True)
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": str(tmp_path)}
    env.pop("RDSC_COMMIT", None)

    def named(**extra):
        run = subprocess.run(["bash", "records/device_commit.sh"], cwd=book,
                             capture_output=True, text=True, env={**env, **extra})
        return run.stdout.strip(), run.stderr

    assert named() == ("abc123", "")                       # the tree it was made for
    # a record's log, taken back after make gpu-commit, is not code
    (book / "records" / "paper" / "paper.log").write_text("committed\ntaken back\n")
    assert named() == ("abc123", "")
    (book / "a.py").write_text("x = 2\n")                  # edited after make gpu-commit
    commit, said = named()
    assert commit == "abc123+changes" and "a.py: FAILED" in said
    assert named(RDSC_COMMIT="given")[0] == "given"
    (book / ".gpu" / "manifest").unlink()                  # no manifest: cannot vouch
    assert named()[0] == "abc123+changes"
    subprocess.run(["git", "init", "-q"], cwd=book, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q",
                    "--allow-empty", "-m", "x"], cwd=book, check=True)
    assert named()[0] == ""                                # git history: the book asks git


def test_the_gpu_check_says_which_kernels_it_checked(tmp_path):
    """Dated by the commit that touched its log, the sentence once said "not yet
    checked" of a log just copied from the device, and "has not changed since" in a
    shallow clone."""
    repo = tmp_path / "repo"
    (repo / "rdsc").mkdir(parents=True)
    (repo / "_toc.yml").write_text("root: intro\n")
    (repo / "rdsc" / "fused.py").write_text("a = 1\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    checked = _git(repo, "commit", "-qm", "kernels")
    log = repo / record.GPU_CHECK
    log.parent.mkdir(parents=True)
    check = {"device": "GPU", "check_images": 8, "k": 100, "differ_vs_cpu": 0.0,
             "differ_vs_cpu_outside_ties": 0, "commit": checked}
    log.write_text(json.dumps(check) + "\n")
    assert record.gpu_check_age(repo, check) == (
        " (a check in this working tree, not yet committed)")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "the check")
    assert record.gpu_check_age(repo, check) == (
        f" (made at commit {checked[:10]}, of 2026-11-20; rdsc/fused.py has not changed "
        "since)")
    # a comment and a docstring leave the checked code as it was (once "not yet checked")
    (repo / "rdsc" / "fused.py").write_text('"""Kernels."""\na = 1  # why\n')
    _git(repo, "commit", "-qam", "comments")
    assert record.gpu_check_age(repo, check).endswith(
        "; rdsc/fused.py's code has not changed since: 1 commit edited only its comments "
        "or docstrings)")
    (repo / "rdsc" / "fused.py").write_text("a = 2\n")
    _git(repo, "commit", "-qam", "faster")
    assert record.gpu_check_age(repo, check).endswith(
        "; rdsc/fused.py's code has changed in 1 commit since, not yet checked on a GPU)")
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", repo.as_uri(), str(shallow)],
                   check=True, capture_output=True)
    assert record.gpu_check_age(shallow, check) == ""


def test_take_back_puts_a_device_call_s_files_where_the_book_reads_them(tmp_path):
    """What a lent GPU's call brought back goes into records/ by one script, not by hand;
    a chapter its limit stopped mid-run leaves its output in the log and no record."""
    book = tmp_path / "book"
    (book / "records").mkdir(parents=True)
    (book / "records" / "take_back.sh").write_text(
        (Path(__file__).resolve().parents[1] / "records" / "take_back.sh").read_text())
    came = tmp_path / "files_at"
    (came / "records" / "paper").mkdir(parents=True)
    (came / "records" / "paper" / "01_a.json").write_text('{"status": "ok"}')
    (came / "records" / "paper" / "paper.log").write_text("===== 01_a\nall fine\n")
    (came / "records" / "paper" / "02_b.running.log").write_text("half-way through 02\n")
    (came / "fused_speed.log").write_text("4.13x\n")
    (came / "device.txt").write_text("NVIDIA H200, 143771 MiB\n")
    (came / "fused_speed.log").write_text("4.13x\n{}\n")
    env = {**os.environ, "PYTHON": sys.executable,
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    run = subprocess.run(["bash", "records/take_back.sh", str(came)], cwd=book,
                         capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    assert (book / "records" / "paper" / "01_a.json").read_text() == '{"status": "ok"}'
    log = (book / "records" / "paper" / "paper.log").read_text()
    assert "all fine" in log and "02_b: stopped with the machine" in log
    assert "half-way through 02" in log and "02_b was stopped mid-run" in run.stdout
    assert not list((book / "records" / "paper").glob("*.running.log"))
    assert (book / "records" / "gpu-checks" / "fused_speed.log").read_text() == "4.13x\n{}\n"
    empty = tmp_path / "nothing"
    empty.mkdir()
    run = subprocess.run(["bash", "records/take_back.sh", str(empty)], cwd=book,
                         capture_output=True, text=True, env=env)
    assert "holds no records/paper: the call ended before its chapters" in run.stdout
    # a mistyped folder is named, and the script fails
    run = subprocess.run(["bash", "records/take_back.sh", str(tmp_path / "typo")], cwd=book,
                         capture_output=True, text=True, env=env)
    assert run.returncode != 0 and "no such folder" in run.stderr


def test_the_intro_s_brief_column_gets_short_reasons(tmp_path):
    """Only "no record at all" once had a short form; a record lacking a dataset, or
    with figures out of range, filled the intro's brief column with the long message."""
    folder = tmp_path / "records" / "paper"
    folder.mkdir(parents=True)
    good = {"chapter": "03_x", "profile": "paper", "status": "ok", "device": "GPU",
            "commit": "abc1234", "date": "2026-11-30", "wall_seconds": 12.5,
            "results": {"toy-paper": {"profile": "paper", "topk": {"top1": 0.7}}}}

    def brief(results, name="toy", needs=()):
        (folder / "03_x.json").write_text(strict_json.dumps({**good, "results": results}))
        long_ = record.result("03_x", name, root=tmp_path, needs=needs)[1]
        short = record.result("03_x", name, root=tmp_path, needs=needs, brief=True)[1]
        assert len(short) < 60 < len(long_) or short == "none yet", (short, long_)
        return short

    assert brief(good["results"], "other") == "none yet"
    assert brief({"toy-paper": {"profile": "paper", "topk": {"top1": 70.0}}}).startswith(
        "record holds figures out of range")
    assert brief({"toy-paper": {"profile": "smoke"}}) == (
        "record of the 'smoke' profile, not made by the runner")
    assert brief(good["results"], needs=("k",)) == (
        "record made by an older chapter, to make again")
    (folder / "03_x.json").write_text("{")
    assert record.result("03_x", "toy", root=tmp_path, brief=True)[1].startswith(
        "record unreadable")


def _call(folder, profile="paper", ran=(), records=None, log=None, running=(), checks=None,
          gpu=True):
    """A device call's files_at folder: records/<profile>/ as the call brought it back."""
    out = folder / "records" / profile
    out.mkdir(parents=True)
    for name, text in (records or {}).items():
        (out / name).write_text(text)
    if log is not None:
        (out / f"{profile}.log").write_text(log)
    for name in running:
        (out / f"{name}.running.log").write_text(f"{name} half-way\n")
    (folder / "records.log").write_text("".join(f"{c}: ok in 10 s\n" for c in ran))
    for name, text in (checks or {}).items():
        (folder / name).write_text(text)
    if gpu:
        (folder / "device.txt").write_text("NVIDIA H200\n")
    return folder


def test_take_back_takes_only_what_the_call_made(tmp_path):
    """A call's carried old records once undid a newer one taken from
    another call; a stale failed.json outlived a newer ok record; a CPU dry run's test log
    replaced the H200's; the second call's log replaced the first's; a chapter that
    finished was reported stopped mid-run."""
    book = tmp_path / "book"
    (book / "records" / "paper").mkdir(parents=True)
    (book / "records" / "paper" / "paper.log").write_text("committed\n")
    (book / "records" / "paper" / "03_c.json").write_text("old 3")
    (book / "records" / "paper" / "03_c.failed.json").write_text("stopped 3")
    (book / "records" / "gpu-checks").mkdir()
    (book / "records" / "gpu-checks" / "fused_tests.log").write_text("10 passed\n")
    carried = {"03_c.json": "old 3", "03_c.failed.json": "stopped 3", "01_a.json": "old 1"}
    one = _call(tmp_path / "one", ran=["03_c"], records={**carried, "03_c.json": "new 3"},
                log="committed\n===== 03_c\n", running=["03_c"])
    del carried["03_c.failed.json"]   # the device's run removed it beside its ok record
    two = _call(tmp_path / "two", ran=["01_a"], records={**carried, "01_a.json": "new 1",
                                                        "03_c.failed.json": "stopped 3"},
                log="committed\n===== 01_a\n")
    said = record.take_back(one, root=book) + record.take_back(two, root=book)
    folder = book / "records" / "paper"
    assert (folder / "03_c.json").read_text() == "new 3"            # not undone by call two
    assert (folder / "01_a.json").read_text() == "new 1"
    assert not (folder / "03_c.failed.json").exists()
    assert (folder / "paper.log").read_text() == "committed\n===== 03_c\n===== 01_a\n"
    assert not any("stopped mid-run" in line for line in said)
    dry = _call(tmp_path / "dry", ran=["01_a"], records={"01_a.json": "cpu 1"},
                checks={"fused_tests.log": "4 passed, 6 skipped\n"}, gpu=False)
    said = record.take_back(dry, root=book)
    assert (book / "records" / "gpu-checks" / "fused_tests.log").read_text() == "10 passed\n"
    assert any("not a GPU call" in line for line in said)
    stopped = _call(tmp_path / "stopped", checks={"fused_speed.log": "warm-up 9.7 s\n"},
                    running=["05_e"])
    said = record.take_back(stopped, root=book)
    assert any("benchmark did not finish" in line for line in said)
    assert "===== 05_e: stopped with the machine" in (folder / "paper.log").read_text()
    with pytest.raises(ValueError, match="no such folder"):
        record.take_back(tmp_path / "typo", root=book)


def test_a_record_stopped_at_its_limit_is_not_labelled_failed():
    """A chapter stopped at the run's deadline, with no earlier ok record,
    once read "failed" in its label and in the intro."""
    rec = {"chapter": "03_x", "profile": "paper", "status": "failed", "exit_code": None,
           "stopped": "stopped at the run's deadline", "device": "GPU", "commit": "abc1234",
           "date": "2026-12-04", "wall_seconds": 131.3, "results": {}}
    said = record.label(rec, Path("/nonexistent"))
    assert ", stopped at the run's deadline after 131 s, unfinished" in said
    assert "failed" not in said
    assert record.label(rec, Path("/nonexistent"), brief=True).endswith(
        "commit abc1234, stopped unfinished")
    assert ", failed" in record.label({**rec, "exit_code": 1}, Path("/nonexistent"))


def test_a_record_with_empty_or_malformed_results_is_named_not_shown(tmp_path):
    """A list for a result once crashed the chapter; an empty one read "the
    record holds hyperplanes only"."""
    folder = tmp_path / "records" / "paper"
    folder.mkdir(parents=True)
    rec = {"chapter": "01_x", "profile": "paper", "status": "ok", "device": "GPU",
           "commit": "abc1234", "date": "2026-12-04", "wall_seconds": 10.0}
    for results, word in (({"toy-paper": [1, 2]}, "malformed"), ({"toy-paper": {}}, "empty")):
        (folder / "01_x.json").write_text(json.dumps({**rec, "results": results}))
        found, said = record.result("01_x", "toy", root=tmp_path)
        assert found is None and f"holds {word} toy results" in said
        assert "no figures" in record.result("01_x", "toy", root=tmp_path, brief=True)[1]


def test_chapter_2s_share_of_differing_features_is_a_fraction():
    """engine_fraction_differ = 1.5 was once shown, and drove the wording."""
    assert record.implausible_figures({"n": {"engine_fraction_differ": 1.5}}) == [
        "n.engine_fraction_differ = 1.5"]
    assert record.implausible_figures({"n": {"engine_fraction_differ": 0.298}}) == []


def test_pack_and_unpack_name_a_wrong_place_in_words(tmp_path):
    """Once Errno texts came for a folder as the pack or a file as the data root; a
    name with a line break packed, and called damaged only on the far machine; a pack
    written into its own folder packed the next time."""
    folder = tmp_path / "ds"
    (folder / "a").mkdir(parents=True)
    (folder / "a" / "x.png").write_bytes(b"x")
    (tmp_path / "out.npz").mkdir()
    with pytest.raises(ValueError, match="is a folder"):
        record.pack(folder, tmp_path / "out.npz")
    packed = record.pack(folder, tmp_path / "ds.npz")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ValueError, match="is a file, not a data root"):
        record.unpack(packed, tmp_path / "afile")
    inside = record.pack(folder, folder / "self.npz")
    again = record.pack(folder, folder / "self.npz")        # not packed into itself
    assert inside == again
    root = tmp_path / "root"
    assert record.unpack(again, root) == 1
    (folder / "a" / "line\nbreak.png").write_bytes(b"y")
    with pytest.raises(ValueError, match="line break"):
        record.pack(folder, tmp_path / "other.npz")
