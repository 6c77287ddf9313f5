"""Reproduction records: chapters run as scripts, their results and failures kept with
provenance."""
import json
import textwrap

import pytest

from rdsc import record

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


def test_a_chapter_past_its_timeout_is_stopped_and_recorded_as_failed(tmp_path):
    slow = CHAPTER.replace("from rdsc import book", "import time\nprint('started', flush=True)\n"
                           "time.sleep(60)\nfrom rdsc import book") % ("01_slow", "1")
    book = fake_book(tmp_path, {"01_slow": slow})
    rec, = record.run("smoke", root=book, commit="abc", timeout=5)
    assert rec["status"] == "failed" and rec["wall_seconds"] < 30
    assert rec["log_tail"][-1] == "stopped after 5 s" and "started" in rec["log_tail"]


def test_no_chapter_matches():
    with pytest.raises(ValueError, match="no chapter"):
        record.run("smoke", chapters=["99"], root=None)


def test_a_deadline_stops_the_run_and_keeps_earlier_successful_records(tmp_path):
    slow = CHAPTER.replace("from rdsc import book", "import time\ntime.sleep(60)\n"
                           "from rdsc import book")
    book = fake_book(tmp_path, {"01_toy": CHAPTER % ("01_toy", "1"),
                                "02_slow": slow % ("02_slow", "2"),
                                "03_late": CHAPTER % ("03_late", "3")})
    earlier = {"chapter": "02_slow", "profile": "smoke", "status": "ok", "commit": "old",
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
    assert not (book / "records" / "smoke" / "01_toy.json").exists()
