"""One output file written by one process or by several (torchrun), resumable per rank."""
import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from rdsc import feature_files, features
from rdsc.feature_files import Group, OutputExistsError, load_features, share, write_features
from rdsc.features import extract
from rdsc.network import RandomDepthwiseSignNet
from rdsc.streaming import ImageFolderStream

from conftest import kill_extraction_after
from test_streaming import make_folder

ROOT = Path(__file__).resolve().parents[1]


def pixels(n=20, side=16, seed=0):
    return torch.randint(0, 256, (n, 3, side, side), dtype=torch.uint8,
                         generator=torch.Generator().manual_seed(seed))


class Ranks(Group):
    """A rank of a group whose other ranks never run (they died): barriers do nothing."""

    def barrier(self):
        pass


def test_rows_are_shared_evenly_and_completely():
    missing = [[0, 5], [9, 10], [12, 20]]
    for world in (1, 2, 3, 7):
        parts = [share(missing, world, r) for r in range(world)]
        rows = [i for part in parts for a, b in part for i in range(a, b)]
        assert rows == [i for a, b in missing for i in range(a, b)]
        sizes = [sum(b - a for a, b in part) for part in parts]
        assert max(sizes) - min(sizes) <= 1
    assert feature_files._missing([[3, 6], [0, 2], [5, 8]], 10) == [[2, 3], [8, 10]]


@pytest.mark.parametrize("dtype", ["float32", "counts"])
def test_the_file_holds_the_engines_features(tmp_path, dtype):
    net, x = RandomDepthwiseSignNet(24), pixels()
    expected = extract(net, x, progress=False)
    labels = np.arange(20) % 4
    out = tmp_path / "f.npy"
    record = write_features(net, x, out, dtype=dtype, labels=labels, metadata={"split": "train"})
    assert record["shape"] == [20, 24] and record["split"] == "train"
    # the lock file stays: deleting it would let two runs hold the lock, on two files
    assert (sorted(p.name for p in tmp_path.iterdir())
            == ["f.json", "f.labels.npy", "f.lock", "f.npy"])
    stored = np.load(out)
    if dtype == "float32":
        assert stored.dtype == np.float32 and np.array_equal(stored, np.asarray(expected))
    else:
        assert stored.dtype == np.int16 and np.array_equal(stored, expected.counts)
    feats, got_labels, meta = load_features(out)
    assert (np.array_equal(np.asarray(feats), np.asarray(expected))
            and np.array_equal(got_labels, labels))
    assert meta["denominator"] == expected.denominator and meta["network"] == net.config


def test_a_short_write_is_completed(tmp_path, monkeypatch):
    """``os.pwrite`` writes only half of the 2nd batch (as the kernel may on a full disk)."""
    net, x = RandomDepthwiseSignNet(16), pixels(12)
    expected = np.asarray(extract(net, x, progress=False))
    real, calls = os.pwrite, []

    def short(fd, data, offset):
        calls.append(len(data))
        return real(fd, data[:len(data) // 2] if len(calls) == 2 else data, offset)
    monkeypatch.setattr(os, "pwrite", short)
    write_features(net, x, tmp_path / "f.npy", batch_size=4)
    assert len(calls) > 2  # the short write happened and was followed by the rest
    assert np.array_equal(np.load(tmp_path / "f.npy"), expected)


def _compute_calls(monkeypatch):
    real, calls = features.compute, []

    def recording(net, images, out=None, *, start=0, stop=None, **kw):
        calls.append((start, stop))
        return real(net, images, out, start=start, stop=stop, **kw)
    monkeypatch.setattr(features, "compute", recording)
    return calls


def test_a_rank_that_died_is_resumed_by_a_run_of_another_size(tmp_path, monkeypatch):
    """Rank 0 of 2 finished, rank 1 died: a 1-process run then computes only rank 1's rows;
    a rank killed mid-way keeps the rows it had synced."""
    net, x = RandomDepthwiseSignNet(16), pixels(21)
    expected = np.asarray(extract(net, x, progress=False))
    out = tmp_path / "f.npy"
    with pytest.raises(RuntimeError, match="were not written"):
        write_features(net, x, out, group=Ranks(rank=0, world=2), batch_size=4)
    assert not out.exists() and (tmp_path / "f.partial.npy").exists()
    done = json.loads((tmp_path / "f.progress" / "rank-0.json").read_text())["done"]
    assert done == [[0, 10]]
    # three ranks of a new run; the one that takes rows 10..13 is killed after one batch
    batches = kill_extraction_after(monkeypatch, 1, feature_files)  # sync every batch
    with pytest.raises(KeyboardInterrupt):
        write_features(net, x, out, group=Ranks(rank=0, world=3), batch_size=2)
    assert batches == [(10, 12)]
    monkeypatch.undo()
    calls = _compute_calls(monkeypatch)
    write_features(net, x, out, batch_size=4)
    assert calls == [(12, 21)]
    assert np.array_equal(np.load(out), expected)
    assert not (tmp_path / "f.partial.npy").exists() and not (tmp_path / "f.progress").exists()


def test_finished_foreign_and_changed_outputs(tmp_path, monkeypatch):
    net, x = RandomDepthwiseSignNet(8), pixels(6)
    out = tmp_path / "f.npy"
    write_features(net, x, out)
    calls = _compute_calls(monkeypatch)
    write_features(net, x, out)  # finished with the same settings: nothing to do
    assert calls == []
    # a rerun with corrected labels and class names kept the old ones
    write_features(net, x, out, labels=np.arange(6) % 3 + 1, metadata={"classes": list("abcd")})
    with pytest.warns(UserWarning, match="held other labels for these features"):
        record = write_features(net, x, out, labels=np.arange(6) % 3,
                                metadata={"classes": list("abc")})
    assert calls == []
    _, labels, saved = load_features(out)
    assert labels.tolist() == [0, 1, 2, 0, 1, 2] and saved["classes"] == record["classes"] == \
        ["a", "b", "c"]
    write_features(net, x, out)  # no labels given: the file's are kept
    assert load_features(out)[1].tolist() == [0, 1, 2, 0, 1, 2] and calls == []
    # metadata with tuples (JSON lists once written) rewrote FILE.json every rerun
    write_features(net, x, out, metadata={"resize": (20, 24)})
    stamp = (tmp_path / "f.json").stat().st_mtime_ns
    write_features(net, x, out, metadata={"resize": (20, 24)})
    assert (tmp_path / "f.json").stat().st_mtime_ns == stamp
    with pytest.raises(OutputExistsError, match="not written with these settings"):
        write_features(RandomDepthwiseSignNet(8, seed=1), x, out)
    write_features(RandomDepthwiseSignNet(8, seed=1), x, out, overwrite=True)
    assert np.array_equal(np.load(out),
                          np.asarray(extract(RandomDepthwiseSignNet(8, seed=1), x, progress=False)))
    np.save(tmp_path / "other.npy", np.zeros((6, 8)))
    with pytest.raises(OutputExistsError):
        write_features(net, x, tmp_path / "other.npy")
    with pytest.raises(ValueError, match=r"\.npy"):
        write_features(net, x, tmp_path / "f.bin")


def test_torchrun_two_processes_write_one_processs_features(tmp_path):
    """Two CPU processes (gloo) under torchrun, each its half of the rows, into one file."""
    folder = make_folder(tmp_path / "images", n=30, splits=("train",))
    net = RandomDepthwiseSignNet(32)
    stream = ImageFolderStream(folder, "train")
    expected = np.asarray(extract(net, stream, progress=False))
    out = tmp_path / "two.npy"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [str(Path(sys.executable).with_name("torchrun")), "--standalone", "--nproc_per_node=2",
         "-m", "rdsc", "features", str(folder), "--k", "32", "--out", str(out), "--device", "cpu",
         "--workers", "0", "--batch-size", "4"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "2 processes on cpu" in run.stdout
    assert np.array_equal(np.load(out), expected)
    assert np.array_equal(np.load(tmp_path / "two.labels.npy"), stream.labels)
    assert json.loads((tmp_path / "two.json").read_text())["classes"] == stream.classes
    # each rank once hashed half of the files: the key is one process's
    from rdsc.features import cache_key
    assert json.loads((tmp_path / "two.json").read_text())["key"] == (
        f"{cache_key(net, ImageFolderStream(folder, 'train'), 'float32')}-float32")


def test_counts_without_their_record_are_refused(tmp_path):
    net, x = RandomDepthwiseSignNet(8), pixels(6)
    write_features(net, x, tmp_path / "c.npy", dtype="counts", labels=np.arange(6) % 2)
    feats, _, record = load_features(tmp_path / "c.npy")
    assert np.array_equal(feats[:], np.asarray(extract(net, x, progress=False)))
    (tmp_path / "c.json").unlink()  # FILE.npy and FILE.labels.npy copied, the record left behind
    with pytest.raises(ValueError, match=r"c\.json is missing.*Copy c\.json"):
        load_features(tmp_path / "c.npy")
    np.save(tmp_path / "plain.npy", np.ones((3, 4), np.float32))  # foreign float: features
    assert load_features(tmp_path / "plain.npy")[2] == {}


def test_labels_and_records_of_an_earlier_run_are_not_taken_for_these_features(tmp_path):
    # a rewrite without labels kept the old FILE.labels.npy, returned unchecked
    net = RandomDepthwiseSignNet(8)
    write_features(net, pixels(6), tmp_path / "f.npy", labels=np.arange(6) % 2)
    write_features(net, pixels(6, seed=1), tmp_path / "f.npy", overwrite=True)
    assert load_features(tmp_path / "f.npy")[1] is None
    write_features(net, pixels(6), tmp_path / "g.npy", labels=np.arange(6) % 2)
    np.save(tmp_path / "g.labels.npy", np.arange(5))  # labels of another file copied in
    with pytest.raises(ValueError, match="5 labels for 6 feature rows"):
        load_features(tmp_path / "g.npy")
    # float features saved over counts were divided by the denominator again
    write_features(net, pixels(6), tmp_path / "h.npy", dtype="counts")
    feats = load_features(tmp_path / "h.npy")[0][:]
    np.save(tmp_path / "h.npy", feats)
    with pytest.raises(ValueError, match="says integer counts"):
        load_features(tmp_path / "h.npy")
    write_features(net, pixels(6), tmp_path / "i.npy")
    np.save(tmp_path / "i.npy", np.ones((4, 8), np.float32))
    with pytest.raises(ValueError, match="says \\(6, 8\\)"):
        load_features(tmp_path / "i.npy")
    # labels of the same length copied in (another run's, shuffled) were once used
    labels = np.arange(6) % 3
    write_features(net, pixels(6), tmp_path / "j.npy", labels=labels[:, None])  # N x 1
    assert load_features(tmp_path / "j.npy")[1].tolist() == labels.tolist()
    np.save(tmp_path / "j.labels.npy", labels[::-1])
    with pytest.raises(ValueError, match="is not the labels written with these features"):
        load_features(tmp_path / "j.npy")
    assert load_features(tmp_path / "j.npy", read_labels=False)[1] is None  # explicit labels
    # a finished file rewritten without labels keeps its labels and their digest
    with pytest.warns(UserWarning, match="held other labels"):
        write_features(net, pixels(6), tmp_path / "j.npy", labels=labels)
    record = write_features(net, pixels(6), tmp_path / "j.npy")
    assert load_features(tmp_path / "j.npy")[1].tolist() == labels.tolist()
    assert record["labels_digest"] == json.loads(
        (tmp_path / "j.json").read_text())["labels_digest"]  # it once returned none
    with pytest.raises(ValueError, match="labels must be whole numbers"):
        write_features(net, pixels(6), tmp_path / "m.npy", labels=np.arange(6) * 0.5)
    with pytest.raises(ValueError, match="one per image \\(shape N\\), got shape \\(6, 2\\)"):
        write_features(net, pixels(6), tmp_path / "k.npy", labels=np.zeros((6, 2)))


@pytest.mark.parametrize("mmap", [True, False])
def test_a_truncated_file_is_called_incomplete(tmp_path, mmap):
    write_features(RandomDepthwiseSignNet(8), pixels(6), tmp_path / "f.npy")
    data = (tmp_path / "f.npy").read_bytes()
    (tmp_path / "f.npy").write_bytes(data[:len(data) - 20])  # an interrupted copy
    with pytest.raises(ValueError, match="is incomplete.*interrupted copy or run"):
        load_features(tmp_path / "f.npy", mmap=mmap)


def test_dotted_names_keep_their_own_records(tmp_path):
    """feat.train.npy and feat.test.npy once shared feat.json (with_suffix cut the
    name), so counts took the other file's denominator and evaluate scored them silently."""
    one, two = RandomDepthwiseSignNet(8, n_blocks=1), RandomDepthwiseSignNet(8, n_blocks=2)
    x = pixels(6, side=24)
    write_features(one, x, tmp_path / "f.L1.npy", dtype="counts")
    write_features(two, x, tmp_path / "f.L2.npy", dtype="counts")
    assert sorted(p.name for p in tmp_path.glob("*.json")) == ["f.L1.json", "f.L2.json"]
    for net, name in ((one, "f.L1.npy"), (two, "f.L2.npy")):
        feats, _, record = load_features(tmp_path / name)
        assert record["network"] == net.config
        assert np.array_equal(feats[:], np.asarray(extract(net, x, progress=False)))
    # the lock is the file's own too: two outputs, two locks
    assert sorted(p.name for p in tmp_path.glob("*.lock")) == ["f.L1.lock", "f.L2.lock"]
    # a file written before the fix, whose record is the shared one, is not read by it
    (tmp_path / "f.L1.json").rename(tmp_path / "f.json")
    with pytest.raises(ValueError, match=r"f\.L1\.json is missing.*f\.json beside it is not "
                                         r"its record"):
        load_features(tmp_path / "f.L1.npy")
    write_features(one, x, tmp_path / "g.v1.npy")
    (tmp_path / "g.v1.json").rename(tmp_path / "g.json")
    with pytest.warns(UserWarning, match="no record g.v1.json.*g.json beside it is not"):
        assert load_features(tmp_path / "g.v1.npy")[2] == {}


def _stopped_part_way(net, x, out, monkeypatch, after=1, **kw):
    """A run of ``write_features`` killed after ``after`` batches, its rows synced."""
    with monkeypatch.context() as m:
        kill_extraction_after(m, after, feature_files)
        with pytest.raises(KeyboardInterrupt):
            write_features(net, x, out, batch_size=4, **kw)


def test_rows_of_other_settings_are_not_discarded_without_overwrite(tmp_path, monkeypatch):
    """A rerun with one setting changed (k, a forgotten --split) once deleted the rows
    an unfinished run of the first settings had computed, without a word."""
    net, x, out = RandomDepthwiseSignNet(16), pixels(12), tmp_path / "f.npy"
    _stopped_part_way(net, x, out, monkeypatch, after=2, metadata={"split": "test"})
    with pytest.raises(OutputExistsError, match=r"f\.partial\.npy holds 8 of 12 rows computed "
                                                r"with other settings.*split test.*"
                                                r"n_features 16.*--overwrite"):
        write_features(RandomDepthwiseSignNet(8), x, out, metadata={"split": "train"})
    with pytest.raises(OutputExistsError, match="holds 8 of 12 rows"):
        write_features(net, pixels(12, seed=1), out)  # other images
    # the first settings resume the rows kept
    calls = _compute_calls(monkeypatch)
    write_features(net, x, out, batch_size=4)
    assert calls == [(8, 12)]
    assert np.array_equal(np.load(out), np.asarray(extract(net, x, progress=False)))
    # discarding them is a choice
    _stopped_part_way(net, x, tmp_path / "g.npy", monkeypatch)
    write_features(RandomDepthwiseSignNet(8), x, tmp_path / "g.npy", overwrite=True)
    assert np.load(tmp_path / "g.npy").shape == (12, 8)
    # an unfinished run that synced no row holds nothing to keep
    _stopped_part_way(net, x, tmp_path / "h.npy", monkeypatch, after=0)
    write_features(RandomDepthwiseSignNet(8), x, tmp_path / "h.npy")


def test_a_race_past_the_first_look_is_caught_under_the_lock(tmp_path, monkeypatch):
    """Another run finishing its file between this run's first look and its lock: the look
    is taken again under the lock."""
    net, x, out = RandomDepthwiseSignNet(8), pixels(6), tmp_path / "f.npy"
    real_lock = feature_files._lock

    @contextlib.contextmanager
    def other_run_finishes_first(path, enabled):
        monkeypatch.setattr(feature_files, "_lock", real_lock)  # the other run's own
        write_features(RandomDepthwiseSignNet(8, seed=1), x, out)
        with real_lock(path, enabled):
            yield
    monkeypatch.setattr(feature_files, "_lock", other_run_finishes_first)
    with pytest.raises(OutputExistsError, match="not written with these settings"):
        write_features(net, x, out)
    monkeypatch.undo()
    assert np.array_equal(np.load(out), np.asarray(
        extract(RandomDepthwiseSignNet(8, seed=1), x, progress=False)))


def test_a_partial_file_is_not_read_as_features(tmp_path, monkeypatch):
    """evaluate once scored FILE.partial.npy (its missing rows zeros) at 8.5%, 21.5%
    for the finished file, when given its labels as the error advised."""
    net, x = RandomDepthwiseSignNet(8), pixels(12)
    _stopped_part_way(net, x, tmp_path / "f.npy", monkeypatch)
    with pytest.raises(ValueError, match=r"f\.partial\.npy is the unfinished file.*then use "
                                         r"f\.npy"):
        load_features(tmp_path / "f.partial.npy")


def test_a_truncated_file_is_computed_again(tmp_path):
    """A rerun once called a truncated FILE.npy finished (its header is right), while
    load_features refused it and advised that rerun."""
    net, x, out = RandomDepthwiseSignNet(8), pixels(6), tmp_path / "f.npy"
    write_features(net, x, out)
    data = out.read_bytes()
    out.write_bytes(data[:-20])
    with pytest.warns(UserWarning, match="is incomplete.*computing it again"):
        write_features(net, x, out)
    assert np.array_equal(load_features(out)[0][:], np.asarray(extract(net, x, progress=False)))


def test_a_truncated_partial_file_is_not_resumed(tmp_path, monkeypatch):
    """With the partial file's size check dropped, a FILE.partial.npy cut short after a
    killed run once passed every test; its recorded rows are past its end."""
    from rdsc import npy_files
    net, x, out = RandomDepthwiseSignNet(8), pixels(12), tmp_path / "f.npy"
    _stopped_part_way(net, x, out, monkeypatch, after=2)
    partial = tmp_path / "f.partial.npy"
    offset = npy_files.npy_header(partial)[2]
    os.truncate(partial, offset + 8 * 4)  # one row of 8 float32 features of the 8 recorded
    write_features(net, x, out)
    assert np.array_equal(load_features(out)[0][:], np.asarray(extract(net, x, progress=False)))


def test_a_world_size_not_from_torchrun_says_what_it_waits_for(monkeypatch, capsys):
    """WORLD_SIZE left in the shell once waited silently for up to 24 hours."""
    import torch.distributed as dist
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", "29555")
    monkeypatch.delenv("TORCHELASTIC_RUN_ID", raising=False)
    monkeypatch.setattr(dist, "is_initialized", lambda: False)

    def joined(*args, **kwargs):
        raise TimeoutError("nobody came")
    monkeypatch.setattr(dist, "init_process_group", joined)
    with pytest.raises(TimeoutError):
        feature_files.init_from_env("cpu")
    err = capsys.readouterr().err
    assert "WORLD_SIZE=2, RANK=0 in the environment, not set by torchrun" in err
    assert "127.0.0.1:29555" in err and "unset WORLD_SIZE and RANK" in err
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "x")  # torchrun's own: nothing to say
    with pytest.raises(TimeoutError):
        feature_files.init_from_env("cpu")
    assert capsys.readouterr().err == ""


def test_an_unfinished_dotted_run_of_before_the_fix_is_resumed_not_lost(tmp_path, monkeypatch):
    """Its FILE.json was the shared one (feat.json for feat.v1.npy), so the record no longer
    says whose rows the partial holds: its progress records do."""
    net, x, out = RandomDepthwiseSignNet(16), pixels(12), tmp_path / "f.v1.npy"
    _stopped_part_way(net, x, out, monkeypatch, after=2)
    (tmp_path / "f.v1.json").rename(tmp_path / "f.json")
    # the old shared record, where it is still the unfinished run's, names its settings
    with pytest.raises(OutputExistsError, match=r"holds 8 of 12 rows computed with other "
                                                r"settings \(see f\.json: .*n_features 16"):
        write_features(RandomDepthwiseSignNet(8), x, out)
    (tmp_path / "f.json").write_text(json.dumps({"key": "another file's"}))
    with pytest.raises(OutputExistsError, match=r"holds 8 rows computed with other settings "
                                                r"\(settings "):
        write_features(RandomDepthwiseSignNet(8), x, out)
    calls = _compute_calls(monkeypatch)
    write_features(net, x, out, batch_size=4)
    assert calls == [(8, 12)]
    assert np.array_equal(np.load(out), np.asarray(extract(net, x, progress=False)))


def test_a_partial_another_configuration_wrote_into_is_not_resumed(tmp_path, monkeypatch):
    """Progress records of two configurations (left by the shared-record bug):
    the rows of this configuration's record may since have been overwritten by the other
    run, so even --overwrite kept 32 rows of another seed."""
    net, x, out = RandomDepthwiseSignNet(16), pixels(12), tmp_path / "f.npy"
    _stopped_part_way(net, x, out, monkeypatch, after=2)  # rows 0-8 recorded
    # another configuration's run wrote rows 4-8 into the same partial and recorded them
    other = np.lib.format.open_memmap(tmp_path / "f.partial.npy", mode="r+")
    other[4:8] = 7
    other.flush()
    del other
    (tmp_path / "f.progress" / "rank-1.json").write_text(json.dumps(
        {"key": "another-configuration", "rows": 12, "done": [[4, 8]]}))
    with pytest.raises(OutputExistsError, match="holds 4 rows computed with other settings"):
        write_features(net, x, out)
    write_features(net, x, out, overwrite=True)
    assert np.array_equal(np.load(out), np.asarray(extract(net, x, progress=False)))


def test_an_overwrite_run_looks_again_under_the_lock(tmp_path, monkeypatch):
    """With overwrite the look under the lock was once skipped; another run's file,
    finished in between, stayed beside this run's record, and once this run was killed a
    plain rerun took that file for its own."""
    ours, theirs = RandomDepthwiseSignNet(8), RandomDepthwiseSignNet(8, seed=1)
    x, out = pixels(12), tmp_path / "f.npy"
    real_lock = feature_files._lock

    @contextlib.contextmanager
    def other_run_finishes_first(path, enabled):
        monkeypatch.setattr(feature_files, "_lock", real_lock)
        write_features(theirs, x, out)
        with real_lock(path, enabled):
            yield
    monkeypatch.setattr(feature_files, "_lock", other_run_finishes_first)
    _stopped_part_way(ours, x, out, monkeypatch, overwrite=True)
    monkeypatch.undo()
    write_features(ours, x, out, batch_size=4)
    assert np.array_equal(np.load(out), np.asarray(extract(ours, x, progress=False)))


def test_companion_names_are_not_outputs(tmp_path):
    """--out X.partial.npy was once written, then refused by evaluate by its name;
    X.labels.npy is X.npy's labels file."""
    for name in ("f.partial.npy", "f.labels.npy"):
        with pytest.raises(ValueError, match="the name of another output's"):
            write_features(RandomDepthwiseSignNet(8), pixels(6), tmp_path / name)


def test_rows_another_run_left_between_the_look_and_the_lock_are_kept(tmp_path, monkeypatch):
    """The look under the lock covers unfinished rows too (once no test checked it)."""
    net, x, out = RandomDepthwiseSignNet(8), pixels(12), tmp_path / "f.npy"
    real_lock = feature_files._lock

    @contextlib.contextmanager
    def other_run_stops_first(path, enabled):
        monkeypatch.setattr(feature_files, "_lock", real_lock)
        _stopped_part_way(RandomDepthwiseSignNet(8, seed=1), x, out, monkeypatch)
        with real_lock(path, enabled):
            yield
    monkeypatch.setattr(feature_files, "_lock", other_run_stops_first)
    with pytest.raises(OutputExistsError, match="holds 4 of 12 rows computed with other"):
        write_features(net, x, out)


def test_merging_keeps_an_interval_that_contains_another():
    """_merge once dropped a containing interval."""
    from rdsc import feature_files as FF
    assert FF._merge([[0, 20], [5, 10]]) == [[0, 20]]


def test_npy_files_refuse_other_dtypes_and_finished_records(tmp_path):
    """A finished progress record read as in-place, a cache or partial of another dtype,
    and a partial recorded for another row count, were all once accepted."""
    from rdsc import npy_files
    path = tmp_path / "f.npy"
    np.save(path, np.zeros((3, 2), np.float32))
    progress = path.with_suffix(".progress.json")
    npy_files.write_progress(progress, 3, 3)
    assert not npy_files.written_in_place(path)
    npy_files.write_progress(progress, 2, 3)
    assert npy_files.written_in_place(path)
    with pytest.warns(UserWarning, match="holds"):
        assert npy_files.load_finished(path, (3, 2), np.float64) is None
    assert not path.exists()
    partial, record = tmp_path / "p.npy", tmp_path / "p.progress.json"
    np.lib.format.open_memmap(partial, mode="w+", dtype=np.float64, shape=(3, 2)).flush()
    npy_files.write_progress(record, 2, 3)
    assert npy_files.resume_point(partial, record, 3, 2, np.float32) == 0
    assert npy_files.npy_header(partial)[1] == np.float32
    npy_files.write_progress(record, 2, 4)
    assert npy_files.resume_point(partial, record, 3, 2, np.float32) == 0


def test_rows_replaced_or_reordered_under_their_record_are_noticed(tmp_path):
    """Another run's features saved over FILE.npy, or its rows shuffled, were once scored
    against the old record (33% and 24% for 64%, without a word)."""
    net = RandomDepthwiseSignNet(8)
    out = tmp_path / "f.npy"
    write_features(net, pixels(6), out, labels=np.arange(6) % 2)
    written = np.load(out)
    assert json.loads((tmp_path / "f.json").read_text())["rows_digest"] == \
        feature_files.rows_digest(written)
    assert np.array_equal(load_features(out)[0][:], written)    # untouched: read as ever
    np.save(out, written[::-1])                                 # rows reordered
    with pytest.raises(ValueError, match="does not hold the rows written with its record"):
        load_features(out)
    other = np.asarray(extract(RandomDepthwiseSignNet(8, seed=1), pixels(6), cache=None,
                               progress=False))
    np.save(out, other)                                         # another network's
    with pytest.raises(ValueError, match="does not hold the rows written with its record"):
        load_features(out)
    # the command that wrote it does not take the replaced file for its finished work
    with pytest.raises(OutputExistsError):
        write_features(net, pixels(6), out)
    write_features(net, pixels(6), out, overwrite=True)
    assert np.array_equal(load_features(out)[0][:], written)
    # a record written before the digest: the file is read, and a rerun adds the digest
    record = json.loads((tmp_path / "f.json").read_text())
    del record["rows_digest"]
    (tmp_path / "f.json").write_text(json.dumps(record))
    assert np.array_equal(load_features(out)[0][:], written)
    write_features(net, pixels(6), out)
    assert "rows_digest" in json.loads((tmp_path / "f.json").read_text())
