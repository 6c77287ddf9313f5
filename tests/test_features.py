"""The feature engine: agrees with the network, deterministic, cached, resumable, exact storage."""
import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from rdsc import features, npy_files
from rdsc.features import FeatureArray, extract
from rdsc.network import RandomDepthwiseSignNet

from conftest import kill_extraction_after, require_real_data


def pixels(n=20, size=32, seed=0):
    return torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8,
                         generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("dataset,size", [("cifar10", 32), ("stl10", 40), ("miniimagenet10", 44),
                                          ("corel", 36)])
def test_engine_agrees_with_the_network(dataset, size):
    net = RandomDepthwiseSignNet.for_dataset(dataset, 300)
    x = pixels(12, size)
    reference = net(x.float() / 255).numpy()
    fast = np.asarray(extract(net, x, progress=False))
    assert fast.shape == (12, 300) and fast.dtype == np.float32
    # only sign ties (pre-activations within rounding of zero) may differ
    assert (fast != reference).mean() < 1e-3
    h, w = net.output_map_size(size, size)
    np.testing.assert_allclose(fast * h * w, np.round(fast * h * w), atol=1e-3)  # j / (h*w)


def test_same_features_for_every_batch_size_and_channel_chunk():
    net = RandomDepthwiseSignNet(200)
    x = pixels(13)
    base = extract(net, x, progress=False).counts
    for batch_size, chunk in [(1, 200), (5, 7), (13, 64), (4, 1000)]:
        other = extract(net, x, batch_size=batch_size, channel_chunk=chunk, progress=False).counts
        assert np.array_equal(base, other), (batch_size, chunk)


def test_float_and_uint8_input_give_the_same_features():
    net = RandomDepthwiseSignNet(64)
    x = pixels(6)
    assert np.array_equal(extract(net, x, progress=False).counts,
                          extract(net, x.float() / 255, progress=False).counts)
    assert np.array_equal(extract(net, x, progress=False).counts,
                          extract(net, x.numpy(), progress=False).counts)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_8bit_pixels_in_half_precision_take_the_exact_path(dtype):
    """``x.half() / 255`` is not float32's q/255; it once missed the 8-bit path (2% differed)."""
    net = RandomDepthwiseSignNet(64, 5, 1, seed=1)
    x = pixels(8)
    assert np.array_equal(extract(net, x.to(dtype) / 255, progress=False).counts,
                          extract(net, x, progress=False).counts)
    assert torch.equal(features._as_images((x.float() / 255).to(dtype)), x)
    other = torch.rand(2, 3, 8, 8).to(dtype)  # not pixels: computed as given
    assert features._as_images(other) is other


def test_non_integer_floats_take_the_float32_path():
    net = RandomDepthwiseSignNet(64)
    x = torch.rand(5, 3, 32, 32)
    assert (np.asarray(extract(net, x, progress=False)) != net(x).numpy()).mean() < 1e-3


def test_pixels_0_to_255_as_floats_are_refused():
    """They once gave features of images 255 times too bright, with only a warning."""
    net = RandomDepthwiseSignNet(64)
    for x in (pixels(6).float(), pixels(6).double(), pixels(6).half()):
        with pytest.raises(ValueError, match="0..255 pixels given as floats"):
            extract(net, x, progress=False)


@pytest.mark.parametrize("scale", ["centred", "0..2", "0..255 with fractions"])
def test_floats_outside_unit_range_are_what_the_network_computes(scale):
    """Floats that are multiples of 1/255 beyond [0, 1] were once wrapped modulo 256."""
    net = RandomDepthwiseSignNet(64)
    q = pixels(6).float()
    x = {"centred": (q - 127) / 255, "0..2": 2 * q / 255,
         "0..255 with fractions": q + 0.5}[scale]
    with pytest.warns(UserWarning, match="not \\[0, 1\\]"):
        fast = np.asarray(extract(net, x, progress=False))
    with pytest.warns(UserWarning, match="not \\[0, 1\\]"):  # the network warns too
        plain = net(x).numpy()
    assert (fast != plain).mean() < 1e-3


def test_bfloat16_is_close_but_not_exact():
    net = RandomDepthwiseSignNet(128)
    x = pixels(8)
    exact = np.asarray(extract(net, x, progress=False))
    low = np.asarray(extract(net, x, precision="bfloat16", progress=False))
    # measured 0.9998; 0.959 with the bias on the wrong scale once passed a bound of 0.8
    assert np.corrcoef(exact.ravel(), low.ravel())[0, 1] > 0.995
    assert (exact != low).mean() > 1e-3  # rounded first-layer weights do move some signs
    with pytest.raises(ValueError, match="precision"):
        extract(net, x, precision="fp8", progress=False)


def test_feature_array_reads_blocks_and_columns():
    counts = np.array([[225, -225, 0], [1, 2, 3]], np.int16)
    f = FeatureArray(counts, 225)
    assert f.shape == (2, 3) and len(f) == 2
    np.testing.assert_allclose(f[0], [1, -1, 0])
    np.testing.assert_allclose(np.asarray(f.columns(2)), counts[:, :2] / 225)
    for k in (0, 4, 2.5):  # more columns than extracted once came back silently as all of them
        with pytest.raises(ValueError, match="k must be an integer from 1 to 3"):
            f.columns(k)


def test_cache_reuses_and_separates(tmp_path, monkeypatch):
    net = RandomDepthwiseSignNet(40)
    x = pixels(10)
    first = extract(net, x, cache=tmp_path, progress=False)
    assert isinstance(first.counts, np.memmap)
    files = sorted(tmp_path.glob("*.npy"))
    assert len(files) == 1 and not list(tmp_path.glob("*.progress.json"))

    def no_compute(*args, **kwargs):
        raise AssertionError("recomputed although the cache is complete")
    monkeypatch.setattr(features, "compute", no_compute)
    again = extract(net, x, cache=tmp_path, progress=False)
    assert np.array_equal(first.counts, again.counts)
    monkeypatch.undo()
    # another configuration, other images: other files
    extract(RandomDepthwiseSignNet(40, seed=3), x, cache=tmp_path, progress=False)
    extract(net, pixels(10, seed=1), cache=tmp_path, progress=False)
    assert len(list(tmp_path.glob("*.npy"))) == 3


def test_killed_run_resumes_where_it_stopped(tmp_path, monkeypatch):
    net = RandomDepthwiseSignNet(30)
    x = pixels(10)
    expected = extract(net, x, progress=False).counts
    kill_extraction_after(monkeypatch, 2, features)  # record every batch
    with pytest.raises(KeyboardInterrupt):
        extract(net, x, cache=tmp_path, batch_size=3, progress=False)
    progress_file, = tmp_path.glob("*.progress.json")
    assert json.loads(progress_file.read_text())["rows_done"] == 6
    monkeypatch.undo()

    starts, real_compute = [], features.compute

    def records_start(net, images, out, *, start=0, **kw):
        starts.append(start)
        return real_compute(net, images, out, start=start, **kw)
    monkeypatch.setattr(features, "compute", records_start)
    resumed = extract(net, x, cache=tmp_path, batch_size=3, progress=False)
    assert starts == [6]
    assert np.array_equal(resumed.counts, expected)
    assert not list(tmp_path.glob("*.progress.json"))


@pytest.mark.parametrize("cache", ["folder", True])
def test_a_cache_an_older_rdsc_wrote_in_place_is_resumed(tmp_path, monkeypatch, cache):
    """Older versions wrote rows into ``<name>-<key>.npy`` itself: killed after 3 of 10 rows,
    it has the full shape, zeros after row 3 and a progress file that says 3."""
    net = RandomDepthwiseSignNet(16)
    x = pixels(10)
    expected = extract(net, x, progress=False).counts
    path = tmp_path / f"features-{features.cache_key(net, x, 'float32')}.npy"
    old = np.lib.format.open_memmap(path, mode="w+", dtype=expected.dtype, shape=expected.shape)
    old[:3] = expected[:3]
    old.flush()
    del old
    progress_file = path.with_suffix(".progress.json")
    progress_file.write_text(json.dumps({"rows_done": 3, "rows": 10}))
    if cache is True:  # the data root's cache folder, read first by extract itself
        monkeypatch.setattr(features, "cache_dirs_to_read", lambda kind: [tmp_path])
        monkeypatch.setattr(features, "cache_dir", lambda kind: tmp_path)
    else:
        cache = tmp_path
    real_compute, starts = features.compute, []

    def records_start(net, images, out, *, start=0, **kw):
        starts.append(start)
        return real_compute(net, images, out, start=start, **kw)
    monkeypatch.setattr(features, "compute", records_start)
    resumed = extract(net, x, cache=cache, progress=False)
    assert starts == [3]
    assert np.array_equal(resumed.counts, expected)
    assert not progress_file.exists()
    # killed between the rename and removing the progress file: finished, used as it is
    progress_file.write_text(json.dumps({"rows_done": 10, "rows": 10}))
    again = extract(net, x, cache=cache, progress=False)
    assert starts == [3] and np.array_equal(again.counts, expected)


def test_a_short_write_is_completed(tmp_path, monkeypatch):
    """``os.pwrite`` may write only part of a batch (a full disk, the file size limit): the
    rest is written before the rows are recorded as done."""
    net = RandomDepthwiseSignNet(16)
    x = pixels(12)
    expected = extract(net, x, progress=False).counts
    real, calls = os.pwrite, []

    def short(fd, data, offset):
        calls.append(len(data))
        return real(fd, data[:len(data) // 2] if len(calls) == 2 else data, offset)
    monkeypatch.setattr(os, "pwrite", short)
    got = extract(net, x, cache=tmp_path, batch_size=4, progress=False)
    assert len(calls) > 2  # the short write happened and was followed by the rest
    assert np.array_equal(got.counts, expected)


def test_truncated_cache_file_is_recomputed(tmp_path):
    net = RandomDepthwiseSignNet(20)
    x = pixels(5)
    first = np.array(extract(net, x, cache=tmp_path, progress=False).counts)
    path, = tmp_path.glob("*.npy")
    path.write_bytes(path.read_bytes()[:100])
    with pytest.warns(UserWarning, match="cannot be read.*computing it again"):
        again = extract(net, x, cache=tmp_path, progress=False)
    assert np.array_equal(first, again.counts)


def test_bad_input_to_the_engine():
    net = RandomDepthwiseSignNet(8)
    with pytest.raises(ValueError, match="expected 3 channels"):
        extract(net, torch.zeros(2, 4, 32, 32, dtype=torch.uint8), progress=False)
    with pytest.raises(ValueError, match="too small"):
        extract(net, torch.zeros(2, 3, 3, 3, dtype=torch.uint8), progress=False)
    with pytest.raises(TypeError, match="tensor or array"):
        extract(net, [[1, 2, 3]], progress=False)
    x = torch.rand(4, 3, 32, 32)
    x[3, 1, 2, 2] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        extract(net, x, progress=False)
    with pytest.raises(ValueError, match="positive"):
        extract(net, pixels(2), batch_size=0, progress=False)


def test_bad_cache_name_and_step_sizes_get_clear_errors(tmp_path):
    """Once: cache=0 a TypeError from Path, a file as the cache a FileExistsError, a name with
    "/" a FileNotFoundError on the lock, and batch_size 2.5 or "2" silently taken as 2."""
    net = RandomDepthwiseSignNet(8)
    x = pixels(3)
    with pytest.raises(ValueError, match="cache must be None or False"):
        extract(net, x, cache=0, progress=False)
    (tmp_path / "afile").write_text("")
    for cache in (tmp_path / "afile", str(tmp_path / "afile" / "below")):
        with pytest.raises(ValueError, match="is not a folder.*pass a folder"):
            extract(net, x, cache=cache, progress=False)
    with pytest.raises(ValueError, match="name must be a plain file name"):
        extract(net, x, cache=tmp_path, name="a/b", progress=False)
    for bad in (2.5, "2", True):
        with pytest.raises(ValueError, match="batch_size must be a positive integer"):
            extract(net, x, batch_size=bad, progress=False)
        with pytest.raises(ValueError, match="channel_chunk must be a positive integer"):
            extract(net, x, channel_chunk=bad, progress=False)
    assert not list(tmp_path.glob("*.lock"))  # refused before anything was written
    expected = extract(net, x, progress=False).counts
    assert np.array_equal(extract(net, x, batch_size=np.int64(2), cache=False,
                                  progress=False).counts, expected)


def test_int32_counts_for_large_final_maps():
    net = RandomDepthwiseSignNet(2, n_blocks=0, kernel_size=3)
    assert features.count_dtype(net, 200, 200) == np.int32
    x = pixels(1, 200)
    f = extract(net, x, progress=False)
    assert f.counts.dtype == np.int32
    np.testing.assert_allclose(np.asarray(f), net(x.float() / 255).numpy(), atol=1e-6)


def test_real_cifar10_features():
    require_real_data("cifar10")
    from rdsc import data
    images, labels, _ = data.load("cifar10", "test")
    net = RandomDepthwiseSignNet.for_dataset("cifar10", 500)
    idx = data.subset(labels, 64)
    x = images[idx]
    fast = np.asarray(extract(net, x, progress=False))
    assert (fast != net(x.float() / 255).numpy()).mean() < 1e-3
    # the features carry class information: same-class images are closer on average
    f = fast - fast.mean(0)
    y = labels[idx].numpy()
    d = ((f[:, None] - f[None]) ** 2).sum(-1)
    same = y[:, None] == y[None]
    off = ~np.eye(64, dtype=bool)
    assert d[same & off].mean() < d[~same].mean()


# --- the cache under killed, concurrent and careless runs -----------------------------------

EXTRACT_SCRIPT = """
import sys, time, numpy as np, torch
from rdsc.features import extract
from rdsc.network import RandomDepthwiseSignNet
from rdsc import features
n, k, folder, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
real_compute = features.compute
def slow_compute(*args, on_batch, **kw):  # 20 ms a batch: runs long enough to be caught mid-way
    def paced(lo, hi, rows):
        time.sleep(0.02)
        on_batch(lo, hi, rows)
    return real_compute(*args, on_batch=paced, **kw)
features.compute = slow_compute
x = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8,
                  generator=torch.Generator().manual_seed(0))
f = extract(RandomDepthwiseSignNet(k), x, cache=folder, batch_size=4, progress=False)
np.save(out, np.asarray(f.counts))
"""


def _extraction(tmp_path, n, k, out):
    import subprocess
    import sys
    script = tmp_path / "extract.py"
    script.write_text(EXTRACT_SCRIPT)
    return subprocess.Popen([sys.executable, str(script), str(n), str(k), str(tmp_path / "cache"),
                             str(tmp_path / out)],
                            # this checkout's rdsc, not a shared venv's editable install
                            # (the child once ran another checkout's code)
                            env={**os.environ, "OMP_NUM_THREADS": "1",
                                 "PYTHONPATH": str(Path(__file__).resolve().parents[1])})


def _wait_until_started(folder, timeout=60):
    """The progress file of a running extraction in ``folder`` (it exists while rows are
    written)."""
    import time
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = list(folder.glob("*.progress.json"))
        if found:
            time.sleep(0.3)  # let it write some rows
            return found[0]
        time.sleep(0.02)
    raise AssertionError("the extraction did not start in time")


@pytest.mark.parametrize("stagger", [False, True], ids=["together", "staggered"])
def test_two_processes_on_one_cache_both_get_the_right_features(tmp_path, stagger):
    """Started together, a second process once re-created the file and wiped the first's rows."""
    n, k = 160, 96
    expected = extract(RandomDepthwiseSignNet(k), pixels(n), progress=False).counts
    first = _extraction(tmp_path, n, k, "a.npy")
    if stagger:
        _wait_until_started(tmp_path / "cache")
    second = _extraction(tmp_path, n, k, "b.npy")
    assert first.wait(120) == 0 and second.wait(120) == 0
    for out in ("a.npy", "b.npy"):
        assert np.array_equal(np.load(tmp_path / out), expected), out
    final, = (tmp_path / "cache").glob("features-*[0-9a-f].npy")
    assert np.array_equal(np.load(final), expected)
    assert not list((tmp_path / "cache").glob("*.progress.json"))


def test_an_extraction_waits_for_the_process_holding_the_cache_lock(tmp_path, capsys):
    import subprocess
    import sys
    import time
    net, x = RandomDepthwiseSignNet(16), pixels(4)
    name = f"features-{features.cache_key(net, x, 'float32')}"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, sys, time; f = open(sys.argv[1], 'a+'); fcntl.flock(f, fcntl.LOCK_EX); "
        "open(sys.argv[2], 'w').close(); time.sleep(2)"), str(tmp_path / f"{name}.lock"),
        str(tmp_path / "locked")])
    while not (tmp_path / "locked").exists():
        time.sleep(0.01)
    start = time.monotonic()
    got = extract(net, x, cache=tmp_path, progress=False)
    assert time.monotonic() - start > 1.0  # it waited for the holder
    assert "another process is computing" in capsys.readouterr().out
    assert holder.wait(10) == 0
    assert np.array_equal(got.counts, extract(net, x, progress=False).counts)


def test_killed_run_without_its_progress_file_is_never_taken_as_finished(tmp_path):
    n, k = 400, 96
    run = _extraction(tmp_path, n, k, "a.npy")
    progress_file = _wait_until_started(tmp_path / "cache")
    assert run.poll() is None, "finished before it could be killed"
    run.kill()  # kill -9
    run.wait()
    progress_file.unlink()
    net, x = RandomDepthwiseSignNet(k), pixels(n)
    again = extract(net, x, cache=tmp_path / "cache", batch_size=4, progress=False)
    assert np.array_equal(again.counts, extract(net, x, progress=False).counts)


def _dies_after(monkeypatch, n_batches, action=None):
    """Make features.compute raise KeyboardInterrupt (or run ``action``) after ``n_batches``."""
    real_compute = features.compute
    calls = []

    def compute(net, images, out, *, start=0, on_batch=None, **kw):
        def counting(lo, hi, rows):
            if len(calls) == n_batches:
                if action is None:
                    raise KeyboardInterrupt("killed")
                action()
            calls.append((lo, hi))
            on_batch(lo, hi, rows)
        return real_compute(net, images, out, start=start, on_batch=counting, **kw)
    monkeypatch.setattr(features, "compute", compute)
    # record every batch
    monkeypatch.setattr(features.time, "monotonic", lambda: 1e9 + len(calls) * 10)


def test_partial_file_deleted_during_the_run_keeps_the_work(tmp_path, monkeypatch):
    net, x = RandomDepthwiseSignNet(30), pixels(10)
    expected = extract(net, x, progress=False).counts

    def delete_partial():
        for p in tmp_path.glob("*.partial.npy"):
            p.unlink()
    _dies_after(monkeypatch, 2, delete_partial)
    with pytest.warns(UserWarning, match="deleted or replaced"):
        got = extract(net, x, cache=tmp_path, batch_size=3, progress=False)
    assert np.array_equal(got.counts, expected)


def test_truncated_partial_file_resumes_with_the_rows_it_holds(tmp_path, monkeypatch):
    net, x = RandomDepthwiseSignNet(30), pixels(10)
    expected = extract(net, x, progress=False).counts
    _dies_after(monkeypatch, 3)
    with pytest.raises(KeyboardInterrupt):
        extract(net, x, cache=tmp_path, batch_size=3, progress=False)
    monkeypatch.undo()
    partial, = tmp_path.glob("*.partial.npy")
    offset = npy_files.data_offset(partial)
    with open(partial, "r+b") as f:  # keep 4.5 of the 9 rows written
        f.truncate(offset + int(4.5 * 30 * 2))
    with pytest.warns(UserWarning, match="truncated: resuming from row 4"):
        got = extract(net, x, cache=tmp_path, batch_size=3, progress=False)
    assert np.array_equal(got.counts, expected)


def test_read_only_data_root_reads_its_cache_and_writes_elsewhere(tmp_path, monkeypatch):
    from rdsc import paths
    root, user = tmp_path / "root", tmp_path / "user"
    monkeypatch.setenv("RDSC_DATA", str(root))
    monkeypatch.setenv("RDSC_CACHE", str(user))
    net = RandomDepthwiseSignNet(20)
    first = extract(net, pixels(5), cache=True, progress=False)  # written in the data root
    assert list((root / "cache" / "features").glob("*.npy"))
    real_writable = paths.is_writable
    monkeypatch.setattr(paths, "is_writable",
                        lambda f: not str(f).startswith(str(root)) and real_writable(f))
    again = extract(net, pixels(5), cache=True, progress=False)  # read from the read-only root
    assert np.array_equal(first.counts, again.counts)
    with pytest.warns(UserWarning, match="not writable"):
        extract(net, pixels(5, seed=1), cache=True, progress=False)
    assert list((user / "features").glob("*.npy"))


def test_engine_choice_is_checked():
    net, x = RandomDepthwiseSignNet(8), pixels(2)
    with pytest.raises(ValueError, match="engine must be one of"):
        extract(net, x, engine="fast", progress=False)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="fused engine needs CUDA"):
            extract(net, x, engine="fused", device="cpu", progress=False)
    assert np.array_equal(extract(net, x, engine="chain", progress=False).counts,
                          extract(net, x, progress=False).counts)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("dataset,size", [("cifar10", 32), ("stl10", 40), ("miniimagenet10", 44)])
def test_fused_and_chain_engines_agree_on_cuda(dataset, size):
    net = RandomDepthwiseSignNet.for_dataset(dataset, 2000)
    x = pixels(64, size)
    fast = extract(net, x, device="cuda", engine="fused", progress=False).counts
    chain = extract(net, x, device="cuda", engine="chain", progress=False).counts
    cpu = extract(net, x, device="cpu", progress=False).counts
    assert (fast != chain).mean() < 1e-4 and (fast != cpu).mean() < 1e-4  # sign ties only


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("engine", ["fused", "chain"])
def test_cuda_batches_come_back_whole_and_in_order(engine):
    """Page-locked buffers, reused every other batch, a short last batch: the same counts
    as the CPU engine (but for sign ties), every row delivered once, in order."""
    net = RandomDepthwiseSignNet.for_dataset("cifar10", 300)
    x = pixels(23)
    seen, got = [], np.zeros((23, 300), dtype=np.int16)

    def keep(lo, hi, rows):
        seen.append((lo, hi))
        got[lo:hi] = rows
    features.compute(net, x, np.empty((0, 300), dtype=np.int16), batch_size=5, device="cuda",
                     engine=engine, on_batch=keep, progress=False)
    assert seen == [(0, 5), (5, 10), (10, 15), (15, 20), (20, 23)]
    assert (got != extract(net, x, device="cpu", progress=False).counts).mean() < 1e-3


def test_batches_finished_before_an_error_are_still_delivered(monkeypatch):
    """Each batch is handed over after the next one is computed (on CUDA the device runs
    ahead of the host): when a later batch fails, the one before it still arrives."""
    net, x = RandomDepthwiseSignNet(8), pixels(10)
    expected = extract(net, x, progress=False).counts
    real_batches = features._batches

    def fails_at_the_third(*args):
        for i, batch in enumerate(real_batches(*args)):
            if i == 2:
                raise OSError("image 6 cannot be read")
            yield batch
    monkeypatch.setattr(features, "_batches", fails_at_the_third)
    seen = []

    def keep(lo, hi, rows):
        seen.append((lo, hi, rows.copy()))
    with pytest.raises(OSError, match="image 6"):
        features.compute(net, x, np.empty((0, 8)), batch_size=3, on_batch=keep, progress=False)
    assert [(lo, hi) for lo, hi, _ in seen] == [(0, 3), (3, 6)]
    assert all(np.array_equal(rows, expected[lo:hi]) for lo, hi, rows in seen)


def test_no_batch_is_delivered_after_a_delivery_that_failed():
    """A cache writer that fails on one block (a full disk) must not then be handed the
    next block: its progress record would count the failed rows as written."""
    net, x = RandomDepthwiseSignNet(8), pixels(10)
    seen = []

    def fails_on_the_second(lo, hi, rows):
        if lo == 3:
            raise OSError("no space left on device")
        seen.append((lo, hi))
    with pytest.raises(OSError, match="no space"):
        features.compute(net, x, np.empty((0, 8)), batch_size=3, on_batch=fails_on_the_second,
                         progress=False)
    assert seen == [(0, 3)]


def test_bf16_split_reassembles_every_weight_and_agrees_with_the_checked_float32(monkeypatch):
    w = torch.randn(76, 300) * 255
    assert torch.equal(features._split_bf16(w).float().view(3, 76, 300).double().sum(0),
                       w.double())  # exact
    net, x = RandomDepthwiseSignNet(200), pixels(12)
    monkeypatch.setattr(features, "fast_bf16", lambda device: True)
    with_bf16 = extract(net, x, progress=False).counts
    monkeypatch.setattr(features, "fast_bf16", lambda device: False)
    with_float32 = extract(net, x, progress=False).counts
    assert (with_bf16 != with_float32).mean() < 1e-3  # sign ties only


def test_checked_float32_signs_are_the_exact_signs_where_plain_float32_is_not(monkeypatch):
    """Biases set so that many first-layer pre-activations are within rounding of zero: the
    engine's signs must still be those of the exact value (float64 here), which a plain
    float32 product gets wrong in some of these channels."""
    monkeypatch.setattr(features, "fast_bf16", lambda device: False)
    net = RandomDepthwiseSignNet(400, n_blocks=0)
    x = pixels(3)
    q = torch.nn.functional.unfold(x.double(), 5, padding=1)[0]           # 75 x 900, image 0
    w = net.conv_weight.reshape(400, -1).double()                          # 400 x 75
    with torch.no_grad():  # bias b = -(w . p)/255 at one patch per channel, rounded to float32
        net.conv_bias.copy_((-(w * q[:, torch.arange(400) % 900].t()).sum(1) / 255).float())
    b = net.conv_bias.double()
    patches = torch.nn.functional.unfold(x.double(), 5, padding=1)         # 3 x 75 x 900
    exact = torch.einsum("kc,ncp->nkp", w, patches) + 255 * b[None, :, None]
    expected = exact.sign().sum(2).numpy()                                 # counts, 3 x 400
    assert np.array_equal(extract(net, x, progress=False).counts, expected)
    plain = torch.einsum("kc,ncp->nkp", w.float(), patches.float()) + 255 * b.float()[None, :, None]
    assert not np.array_equal(plain.sign().sum(2).numpy(), expected)  # the test can fail


def test_every_output_below_one_in_magnitude_is_recomputed():
    """Rechecking only outputs below 0.01 (not below 1, the bound the scaled weights
    guarantee) once passed the test above. Here the float64 weights have the
    opposite signs, so every recomputed entry shows."""
    from rdsc.features import _checked_signs
    patches = torch.linspace(-2, 2, 401)[:, None]                      # 401 x 1
    w_scaled = torch.ones(1, 3)
    got = _checked_signs(patches, w_scaled, -w_scaled.double(), {})
    z = patches.expand(-1, 3)
    assert torch.equal(got, torch.where(z.abs() < 1, -z.sign(), z.sign()))


def test_the_sign_check_bound_covers_large_filters(monkeypatch):
    # |float32 GEMM error| <= (CKK+4) u sum|q w|: with K = 9 on RGB (CKK = 243) that is above
    # the presets' 1e-5 rate, so the bound must grow with the filter (twice the worst case)
    from rdsc.features import _Engine
    # this skipped on CPUs with native bf16; the checked float32 path is forced
    monkeypatch.setattr(features, "fast_bf16", lambda device: False)
    for kernel_size, rate in ((5, 1e-5), (9, 2 * (3 * 81 + 4) * 2.0 ** -24)):
        net = RandomDepthwiseSignNet(16, kernel_size=kernel_size, n_blocks=1, seed=0)
        engine = _Engine(net, torch.device("cpu"), "float32")
        w = net.conv_weight.reshape(16, -1).float()
        bound = rate * 255.0 * (w.abs().sum(1) + net.conv_bias.float().abs())
        assert torch.allclose(engine.w_pixels / engine.w_scaled, bound[None], rtol=1e-5)


def test_gpus_without_bf16_units_take_the_checked_float32_path(monkeypatch):
    from rdsc.features import fast_bf16
    for capability, expected in (((7, 0), False), ((7, 5), False), ((8, 0), True)):
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda d=None, c=capability: c)
        assert fast_bf16(torch.device("cuda")) is expected


def test_uint8_images_holding_only_0_and_1_are_flagged(tmp_path):
    # (x / 255).to(torch.uint8) gave chance-level features without a word
    x = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8,
                      generator=torch.Generator().manual_seed(0))
    net = RandomDepthwiseSignNet.for_dataset("cifar10", 8)
    with pytest.warns(UserWarning, match="hold only 0 and 1"):
        features.compute(net, (x.float() / 255).round().to(torch.uint8), progress=False)
    for cache in (None, tmp_path):  # once per call, not once per internal check
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            features.extract(net, (x.float() / 255).round().to(torch.uint8), progress=False,
                             cache=cache, name="flags")
        assert [str(w.message)[:30] for w in caught] == ["uint8 images hold only 0 and 1"]
    # a stream of such images: once, not once per batch
    binary = torch.randint(0, 2, (12, 3, 32, 32), dtype=torch.uint8)
    dataset = torch.utils.data.TensorDataset(binary, torch.zeros(12, dtype=torch.int64))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        features.extract(net, dataset, progress=False, cache=None, batch_size=4)
    assert [str(w.message)[:30] for w in caught] == ["uint8 images hold only 0 and 1"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        features.compute(net, x, progress=False)
        features.compute(net, torch.zeros_like(x), progress=False)  # black images: fine
        features.compute(net, x.float() / 255, progress=False)
        features.compute(net, torch.rand(4, 3, 32, 32), progress=False)
    # floats divided by 255 twice (max below 1/255) passed as [0, 1] images
    with pytest.warns(UserWarning, match="divided by 255 twice"):
        features.compute(net, x.float() / 255 / 255, progress=False)


def test_the_cache_knows_weights_loaded_or_edited_after_the_draw(tmp_path, monkeypatch):
    # the key held the network's settings only, so after load_state_dict or an
    # in-place edit the cache returned the old weights' features (99% of entries wrong)
    monkeypatch.setenv("RDSC_DATA", str(tmp_path))
    x = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8,
                      generator=torch.Generator().manual_seed(0))
    net = RandomDepthwiseSignNet.for_dataset("cifar10", 16, seed=5)
    first = np.asarray(features.extract(net, x, cache=True, progress=False))
    net.load_state_dict(RandomDepthwiseSignNet.for_dataset("cifar10", 16, seed=7).state_dict())
    loaded = np.asarray(features.extract(net, x, cache=True, progress=False))
    assert np.array_equal(loaded, np.asarray(features.extract(net, x, progress=False)))
    assert not np.array_equal(loaded, first)
    net.conv_bias.mul_(-1)
    edited = np.asarray(features.extract(net, x, cache=True, progress=False))
    assert np.array_equal(edited, np.asarray(features.extract(net, x, progress=False)))
    # the drawn weights keep their key: a fresh network of the same settings reads the cache
    again = RandomDepthwiseSignNet.for_dataset("cifar10", 16, seed=5)
    assert features.cache_key(again, x, "float32") == features.cache_key(
        RandomDepthwiseSignNet.for_dataset("cifar10", 16, seed=5).double(), x, "float32")
    assert np.array_equal(np.asarray(features.extract(again, x, cache=True, progress=False)),
                          first)


def test_counts_into_an_array_too_small_for_them_are_refused():
    # int8 / uint8 arrays wrapped the counts (max 127, min 3) without a word
    net = RandomDepthwiseSignNet.for_dataset("cifar10", 16)
    x = pixels(6)
    expected = features.compute(net, x, progress=False)
    for dtype in (np.int8, np.uint8):
        with pytest.raises(ValueError, match="holds int16 counts"):
            features.compute(net, x, out=np.zeros((6, 16), dtype), progress=False)
    with pytest.raises(ValueError, match="at least 6 x 16"):
        features.compute(net, x, out=np.zeros((6, 32), np.int16), progress=False)
    for dtype in (np.int32, np.float32):
        got = features.compute(net, x, out=np.zeros((6, 16), dtype), progress=False)
        assert np.array_equal(got, expected)


def test_a_feature_array_needs_a_denominator_of_at_least_one():
    # FeatureArray(counts, 0) gave infinite features without a word
    for bad in (0, -225, 2.5, True):
        with pytest.raises(ValueError, match="denominator"):
            features.FeatureArray(np.ones((2, 3), np.int16), bad)
    assert features.FeatureArray(np.ones((2, 3), np.int16), 225)[:1].max() == pytest.approx(
        1 / 225)


def test_a_drawn_networks_cache_key_holds_no_weights_and_any_edited_buffer_changes_it():
    import hashlib
    x = torch.zeros((2, 3, 32, 32), dtype=torch.uint8)
    net = RandomDepthwiseSignNet.for_dataset("cifar10", 16, seed=5)
    # a drawn network is named by its config: caches made before weights_digest stay valid
    plain = {"engine": features.ENGINE_VERSION, "net": net.config, "precision": "float32",
             "images": features.images_digest(x)}
    drawn = features.cache_key(net, x, "float32")
    assert drawn == hashlib.sha256(json.dumps(plain, sort_keys=True).encode()).hexdigest()[:20]
    net.dw0_weight.mul_(-1)  # a layer after the first one
    assert features.cache_key(net, x, "float32") != drawn


def test_images_of_the_same_bytes_in_another_shape_get_their_own_cache(tmp_path):
    """With the shape left out of the images' digest, 32 x 32 images and the same bytes read
    as 16 x 64 images (other images, other features) once passed every test:
    the second would have been served the first's cached features."""
    net = RandomDepthwiseSignNet.for_dataset("cifar10", 8)
    x = pixels(2)
    wide = x.reshape(2, 3, 16, 64)
    assert features.images_digest(x) != features.images_digest(wide)
    square = np.asarray(extract(net, x, cache=tmp_path, progress=False))
    other = np.asarray(extract(net, wide, cache=tmp_path, progress=False))
    assert np.array_equal(other, np.asarray(extract(net, wide, progress=False)))
    assert not np.array_equal(square, other) and len(list(tmp_path.glob("*.npy"))) == 2


def test_a_cache_written_before_the_count_fixes_is_not_served(tmp_path, monkeypatch):
    """Four fixes that changed counts in some cases (fused buffers, edited
    weights, the K = 9 sign check, exact CPU signs) left the engine version at 1, so a cache
    written before them was still served. A cache of engine 1, here holding stale counts,
    must be computed again, not read."""
    net = RandomDepthwiseSignNet.for_dataset("cifar10", 8)
    x = pixels(3)
    monkeypatch.setattr(features, "ENGINE_VERSION", 1)
    extract(net, x, cache=tmp_path, progress=False)
    (cached,) = tmp_path.glob("*.npy")
    stale = np.load(cached)
    np.save(cached, stale + 1)  # what an older engine might have counted
    read = np.asarray(extract(net, x, cache=tmp_path, progress=False))
    assert np.array_equal((read * 225).round(), stale + 1)  # engine 1 reads its own cache
    monkeypatch.undo()
    fresh = np.asarray(extract(net, x, progress=False))
    assert np.array_equal(np.asarray(extract(net, x, cache=tmp_path, progress=False)), fresh)
