"""Features written into one ``.npy`` file by one process or by many (torchrun), resumably.

    torchrun --nproc_per_node=4 -m rdsc features cifar10 --split train --k 100000 --out train.npy

:func:`write_features` computes the ``N x k`` features of a dataset (a tensor or a stream,
see :mod:`rdsc.streaming`) into one output file. Under ``torchrun`` (``WORLD_SIZE > 1``)
each process (*rank*) takes an equal share of the rows still missing and writes them into
the same file (gloo on CPUs, NCCL on GPUs, used for barriers and to share the hashing of
an image folder's files); alone, a process takes all of them. Every rank records the rows
it has finished, so a killed run, of any number of processes, resumes with only the
missing rows, shared among the processes of the new run (which may be more or fewer). A
run of other settings (another k, split, seed...) refuses to replace a finished file or
the rows of an unfinished one unless told to (``overwrite``, ``--overwrite``).

Files, for ``FILE.npy``::

    FILE.npy                   the features, N x k (appears only by an atomic rename,
                               once every row is written)
    FILE.json                  what they are: network, images, dtype, denominator, classes
    FILE.labels.npy            int64 labels (where the source has them)
    FILE.partial.npy           the rows being written (a sparse .npy the ranks fill in place)
    FILE.progress/rank-R.json  the row intervals finished, as recorded by rank R
    FILE.lock                  held (flock) by rank 0 while a run lasts (the file stays)

The features are stored as ``float32`` (``np.load`` gives them directly) or as ``counts``:
the exact integers (int16 where they fit) whose quotient by ``denominator`` (the last
map's height x width, in ``FILE.json``) is the feature; :func:`load_features` reads
either as a :class:`rdsc.features.FeatureArray`.

On several nodes the output must be on a file system every node sees (NFS, Lustre, GPFS):
each rank writes its own rows with ``pwrite`` and ``fsync`` before the last barrier.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import torch

from rdsc import features, npy_files
from rdsc.checks import label_vector
from rdsc.network import RandomDepthwiseSignNet
from rdsc.paths import write_atomically
from rdsc.progress import progress_bar

DTYPES = ("float32", "counts")
# of FILE.json; 2: a folder's rows are keyed by its files' names and contents (1: by its
# path, names, sizes and dates), so a run of format 1 on a folder matches no key of 2
FORMAT = 2
#: Barrier timeout: ranks wait at the end for the slowest one.
TIMEOUT = timedelta(hours=int(os.environ.get("RDSC_DIST_TIMEOUT_HOURS", "24")))


class OutputExistsError(FileExistsError):
    """The output file exists and was not written by this configuration."""


# --- the process group ------------------------------------------------------------------------

@dataclass(frozen=True)
class Group:
    """This process's place among the cooperating ones: ``rank`` of ``world``."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    def barrier(self) -> None:
        """Wait for every rank (nothing to wait for in one process)."""
        if self.world > 1:
            import torch.distributed as dist
            if dist.get_backend() == "nccl":
                dist.barrier(device_ids=[torch.cuda.current_device()])
            else:
                dist.barrier()


def resolve_device(device: str | None) -> torch.device:
    """``None``/``auto`` -> CUDA when present, else the CPU; otherwise ``torch.device(device)``."""
    return features.as_device(device)


def init_from_env(device: str | None = None) -> tuple[Group, torch.device]:
    """The group torchrun describes in the environment (``RANK``, ``WORLD_SIZE``...), joined,
    and this rank's device: ``cuda`` becomes ``cuda:LOCAL_RANK``. Alone: ``Group()``."""
    dev = resolve_device(device)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Group(), dev
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if dev.type == "cuda":
        if dev.index is None:
            dev = torch.device("cuda", local % torch.cuda.device_count())
        torch.cuda.set_device(dev)
    import torch.distributed as dist
    if not dist.is_initialized():
        if "TORCHELASTIC_RUN_ID" not in os.environ and "MASTER_ADDR" in os.environ:
            # a WORLD_SIZE left in the shell (or a job script) waited silently, for as long
            # as TIMEOUT, for processes that never come
            where = ":".join(os.environ.get(v, "?") for v in ("MASTER_ADDR", "MASTER_PORT"))
            print(f"rdsc: WORLD_SIZE={world}, RANK={rank} in the environment, not set by "
                  f"torchrun: waiting for {world} processes to join at {where}. Meant to run "
                  "alone? Stop this and unset WORLD_SIZE and RANK.", file=sys.stderr,
                  flush=True)
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo", timeout=TIMEOUT)
    return Group(rank, world, local), dev


# --- rows as intervals ------------------------------------------------------------------------

def _merge(intervals) -> list[list[int]]:
    out = []
    for a, b in sorted((int(a), int(b)) for a, b in intervals if b > a):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return out


def _missing(done, n: int) -> list[list[int]]:
    """The intervals of ``[0, n)`` not in ``done``."""
    out, at = [], 0
    for a, b in _merge(done):
        if a > at:
            out.append([at, min(a, n)])
        at = max(at, b)
    if at < n:
        out.append([at, n])
    return [iv for iv in out if iv[1] > iv[0]]


def share(missing, world: int, rank: int) -> list[list[int]]:
    """Rank ``rank``'s contiguous ``1/world`` of the rows in ``missing`` (as intervals)."""
    total = sum(b - a for a, b in missing)
    lo, hi = rank * total // world, (rank + 1) * total // world
    out, seen = [], 0
    for a, b in missing:
        s, e = max(a, a + lo - seen), min(b, a + hi - seen)
        if e > s:
            out.append([s, e])
        seen += b - a
    return out


# --- the output file --------------------------------------------------------------------------

def _paths(path: Path) -> dict[str, Path]:
    # every name is FILE + a suffix: with_suffix would cut a dotted name (once
    # feat.train.npy and feat.test.npy shared feat.json, and counts took the other's
    # denominator)
    stem = path.with_suffix("")
    return {"final": path, "meta": Path(f"{stem}.json"), "labels": Path(f"{stem}.labels.npy"),
            "partial": Path(f"{stem}.partial.npy"), "progress": Path(f"{stem}.progress"),
            "lock": Path(f"{stem}.lock")}


def _shared_record_note(files) -> str:
    """Where ``FILE.json`` is missing but a dotted name's old record is there (an earlier
    rdsc kept ``feat.json`` for ``feat.train.npy``, shared with every ``feat.*.npy``):
    a sentence saying so, else ''."""
    old = files["final"].with_suffix("").with_suffix(".json")
    if files["meta"].exists() or old == files["meta"] or not old.exists():
        return ""
    return (f" ({old.name} beside it is not its record: rdsc before 2026-12-01 kept one "
            f"record for every {old.stem}.*.npy, so it may describe another file; write "
            f"{files['final'].name} again)")


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write_json(path: Path, record) -> None:
    write_atomically(path, lambda f: f.write(json.dumps(record, indent=1).encode()))


def _finished(files, key: str, shape, dtype, say: bool = True) -> bool | None:
    """Is ``FILE.npy`` there, written by this configuration? True; False (absent, or to be
    computed again: a warning unless ``say`` is False); None: another configuration's, or
    not rdsc's (refuses to touch it)."""
    final, meta = files["final"], _read_json(files["meta"])
    if not final.exists():
        return False
    if not meta or meta.get("key") != key:
        return None  # someone else's, or another configuration's
    try:
        got_shape, got_dtype, offset = npy_files.npy_header(final)
        size = offset + int(np.prod(shape)) * np.dtype(dtype).itemsize
        if got_shape == tuple(shape) and got_dtype == np.dtype(dtype):
            if final.stat().st_size >= size:
                # another array saved over it since: not this configuration's rows
                kept = meta.get("rows_digest")
                return None if kept and _file_rows_digest(final) != kept else True
            # an interrupted copy: evaluate refuses it, so a rerun must repair it
            if say:
                npy_files.warn(f"{final} is incomplete ({final.stat().st_size:,} bytes where "
                               f"its header needs {size:,}): computing it again")
            return False
    except (OSError, ValueError):
        pass
    if say:
        npy_files.warn(f"{final} does not hold {tuple(shape)} {np.dtype(dtype)} as "
                       f"{files['meta']} says: computing it again")
    return False


def _rows_by_key(progress_dir: Path) -> dict[str, int]:
    """How many rows each configuration's progress records under ``FILE.progress/`` count
    as done (a record names its configuration's key)."""
    found: dict[str, list] = {}
    for file in sorted(progress_dir.glob("rank-*.json")) if progress_dir.is_dir() else []:
        record = _read_json(file)
        if record and "key" in record:
            found.setdefault(record["key"], []).extend(record.get("done", []))
    return {key: sum(b - a for a, b in _merge(done)) for key, done in found.items()}


def _foreign_partial(files, key: str) -> str:
    """A sentence on rows of another configuration in ``FILE.partial.npy`` (a run of other
    settings stopped part way), else ''. A rerun with one setting changed (k, a
    forgotten --split) once deleted them without a word. The progress records say whose rows
    they are (``FILE.json`` may be missing: a dotted name's, written by an earlier rdsc)."""
    if not files["partial"].is_file():
        return ""
    other = {k: done for k, done in _rows_by_key(files["progress"]).items()
             if k != key and done}
    if not other:
        return ""
    theirs, done = max(other.items(), key=lambda item: item[1])
    shared = files["final"].with_suffix("").with_suffix(".json")  # an earlier rdsc's dotted name
    meta, where = next(((m, f) for f in (files["meta"], shared)
                        if (m := _read_json(f) or {}).get("key") == theirs), ({}, None))
    settings = (f"see {where.name}: {_settings_words(meta)}" if where is not None
                else f"settings {theirs}")
    n = (meta.get("shape") or ["?"])[0] if meta.get("key") == theirs else "?"
    of = f" of {n:,}" if isinstance(n, int) else ""
    return (f"{files['partial']} holds {done:,}{of} rows computed with other settings "
            f"({settings}) or of other images (files added, removed or changed); run the "
            "command that started it to resume them, choose another output, or discard them "
            "(--overwrite)")


def _settings_words(meta: dict) -> str:
    """A few entries of a ``FILE.json`` a reader recognises their command by."""
    net = meta.get("network") or {}
    words = [f"{name} {meta[name]}" for name in ("source", "split", "dtype") if name in meta]
    words += [f"{name} {net[name]}" for name in ("n_features", "seed", "n_blocks") if name in net]
    if "image_shape" in meta:
        words.append("images " + " x ".join(str(v) for v in meta["image_shape"]))
    return ", ".join(words) or "no settings recorded"


@contextlib.contextmanager
def _lock(path: Path, enabled: bool):
    if not enabled:
        yield
        return
    import fcntl
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(f"another run is writing {path.with_suffix('.npy')} "
                               f"(it holds {path}); "
                               "wait for it or choose another output") from None
        # The lock file stays: deleting it (before or after unlocking) lets a run that opened
        # the old file and a run that creates a new one both hold "the" lock.
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _done_rows(progress_dir: Path, key: str, n: int) -> list[list[int]]:
    done = []
    for file in sorted(progress_dir.glob("rank-*.json")) if progress_dir.is_dir() else []:
        record = _read_json(file)
        if record and record.get("key") == key and record.get("rows") == n:
            done += record.get("done", [])
    return _merge(done)


def write_features(net: RandomDepthwiseSignNet, images, path, *, dtype: str = "float32",
                   labels=None, metadata: dict | None = None, group: Group | None = None,
                   batch_size: int | None = None, device=None, precision: str = "float32",
                   engine: str = "auto", progress: bool = True, overwrite: bool = False) -> dict:
    """Write the ``N x k`` features of ``images`` under ``net`` to ``path`` (``.npy``); returns
    the record written to ``FILE.json``.

    Args:
        images: ``N x C x H x W`` tensor or array, or a stream (:mod:`rdsc.streaming`; it
            needs a ``fingerprint``); every rank passes the same images.
        path: the output ``FILE.npy``; beside it ``FILE.json``, ``FILE.labels.npy``.
        dtype: ``float32`` (the features) or ``counts`` (exact integers; feature =
            count / ``denominator``).
        labels: ``N`` labels to save beside (default: the stream's ``labels``, if any).
        metadata: more entries for ``FILE.json`` (e.g. source, split, classes).
        group: this process's :class:`Group` (default: alone); every rank calls this
            function with the same arguments.
        overwrite: replace a finished ``FILE.npy`` written by another configuration or
            not by rdsc, and discard the rows an unfinished run of another configuration
            left (otherwise either raises :class:`OutputExistsError`).

    A finished file of the same configuration is not computed again (its labels and
    ``FILE.json`` become this call's); a partial one is resumed.
    """
    group = group or Group()
    path = Path(path)
    if path.suffix != ".npy":
        raise ValueError(f"the output must be an .npy file, got {path}")
    if path.name.endswith((".partial.npy", ".labels.npy")):  # X.npy's companions
        raise ValueError(f"{path.name} is the name of another output's unfinished rows or "
                         "labels (X.partial.npy, X.labels.npy beside X.npy): choose another")
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    files = _paths(path)
    images, n, shape, in_dtype = features.checked_source(net, images)
    k = net.n_features
    h, w = net.output_map_size(shape[1], shape[2])
    counts_dtype = features.count_dtype(net, shape[1], shape[2])
    out_dtype = np.dtype(counts_dtype if dtype == "counts" else np.float32)
    _share_fingerprint(images, group)
    key = f"{features.cache_key(net, images, precision)}-{dtype}"
    if labels is None:
        labels = getattr(images, "labels", None)
    if labels is not None:
        labels = label_vector(labels)  # (saved N x 1, they failed later)
        if not np.issubdtype(labels.dtype, np.integer) and not (
                np.issubdtype(labels.dtype, np.floating)
                and np.array_equal(labels, np.round(labels))):
            # 0.5 was saved as 0, a class name failed in numpy
            raise ValueError("labels must be whole numbers (class indices), got "
                             f"{labels[:3].tolist()}...")
        labels = labels.astype(np.int64)
    if labels is not None and len(labels) != n:
        raise ValueError(f"{len(labels)} labels for {n} images")
    record = {"format": FORMAT, "key": key, "shape": [n, k], "dtype": dtype,
              "stored_dtype": out_dtype.name, "denominator": h * w, "image_shape": list(shape),
              "network": net.config, "precision": precision, **(metadata or {})}
    if labels is not None:  # load_features checks that the labels file is still these
        record["labels_digest"] = labels_digest(labels)
    state = _finished(files, key, (n, k), out_dtype)
    if state:
        if group.rank == 0:
            record = _refresh_finished(files, record, labels)
        group.barrier()
        return record
    if not overwrite:
        _refuse_other_settings(files, key, state)
    path.parent.mkdir(parents=True, exist_ok=True)
    group.barrier()  # every rank has looked at the finished file before rank 0 touches anything

    with _lock(files["lock"], group.rank == 0):
        if group.rank == 0:
            # another run may have finished the file, or left rows, since the look above
            # (with overwrite too: its file kept beside this run's record would later be
            # taken for this run's)
            state = _finished(files, key, (n, k), out_dtype, say=False)
            if not overwrite:
                _refuse_other_settings(files, key, state)
            record = _prepare(files, record, key, (n, k), out_dtype, labels,
                              restart=state is None)
        group.barrier()  # the partial file exists
        done = _done_rows(files["progress"], key, n)
        group.barrier()  # every rank has read the progress before any rank rewrites its own
        mine = share(_missing(done, n), group.world, group.rank)
        _compute_rows(net, images, files, key, n, k, out_dtype, h * w, done, mine, group,
                      dict(batch_size=batch_size, device=device, precision=precision,
                           engine=engine),
                      progress)
        group.barrier()  # every rank's rows are on disk
        if group.rank == 0:
            done = _done_rows(files["progress"], key, n)
            if _missing(done, n):
                raise RuntimeError(f"rows {_missing(done, n)[:3]} of {path} were not written "
                                   "(did a process fail?); run the same command again to compute "
                                   "them")
            os.replace(files["partial"], files["final"])
            record = {**record, "rows_digest": _file_rows_digest(files["final"])}
            _write_json(files["meta"], record)
            shutil.rmtree(files["progress"], ignore_errors=True)
        group.barrier()
    return record


def _older_format(files, key: str) -> str:
    """A sentence where ``FILE.json`` was written by an earlier rdsc whose keys this one
    cannot match (its rows were once said to be of other settings, and the advice
    was the command just run), else ''."""
    meta = _read_json(files["meta"]) or {}
    if not meta or meta.get("format", 1) >= FORMAT or meta.get("key") == key:
        return ""
    return (f"{files['final'].with_suffix('').name}'s rows were written by an earlier version "
            f"of rdsc (record format {meta.get('format', 1)}, now {FORMAT}), whose key for an "
            "image folder this one cannot match: recompute them with --overwrite "
            "(overwrite=True), or choose another output")


def _share_fingerprint(images, group: Group) -> None:
    """With several ranks, each hashes a share of a folder's files for its fingerprint
    (every rank once read every byte, across nodes too)."""
    if group.world <= 1 or getattr(images, "_fingerprint", "") is not None \
            or not hasattr(images, "file_digests"):
        return
    import torch.distributed as dist
    n = len(images.files)
    mine = images.file_digests(range(group.rank, n, group.world))
    shares = [None] * group.world
    dist.all_gather_object(shares, mine)
    digests = [None] * n
    for rank, share in enumerate(shares):
        digests[rank::group.world] = share
    images.set_fingerprint(digests)


def _refuse_other_settings(files, key: str, state) -> None:
    """Raise :class:`OutputExistsError` where the output holds work of other settings: a
    finished ``FILE.npy`` (``state`` None) or rows of an unfinished run."""
    if (older := _older_format(files, key)) and (state is None or files["partial"].is_file()):
        raise OutputExistsError(older)
    if state is None:
        why = (f"was not written with these settings (see {files['meta'].name}) or of "
               "these images (files added, removed or changed)"
               if files["meta"].exists() else f"has no record {files['meta'].name}")
        raise OutputExistsError(
            f"{files['final']} exists and {why}{_shared_record_note(files)}; delete it, "
            "choose another output, or overwrite it (--overwrite)")
    foreign = _foreign_partial(files, key)
    if foreign:
        raise OutputExistsError(foreign)


def labels_digest(labels) -> str:
    """A short hash of ``N`` labels (as int64), kept in ``FILE.json``: a labels file
    replaced by others of the same length (another run's, shuffled) is then noticed."""
    data = np.ascontiguousarray(np.asarray(labels, dtype=np.int64))
    return hashlib.sha256(data.tobytes()).hexdigest()[:16]


def rows_digest(array) -> str:
    """A short hash of up to 64 evenly spaced rows of a feature file (its first and last
    among them), as stored, with its shape: kept in ``FILE.json`` so that another array
    saved over ``FILE.npy``, or its rows reordered, is noticed (both were once scored
    silently against the old record) without reading every row."""
    n = len(array)
    rows = np.unique(np.linspace(0, n - 1, min(n, 64)).round().astype(np.int64))
    h = hashlib.sha256(json.dumps([list(array.shape), str(array.dtype)]).encode())
    h.update(np.ascontiguousarray(array[rows]).tobytes())
    return h.hexdigest()[:16]


def _file_rows_digest(final: Path) -> str | None:
    """:func:`rows_digest` of a finished ``FILE.npy`` (None where it cannot be read)."""
    try:
        return rows_digest(np.load(final, mmap_mode="r"))
    except (OSError, ValueError):
        return None


def _kept_labels_digest(files, record: dict) -> dict:
    """``record`` with the digest of the labels a call without labels keeps (the file's)."""
    old = (_read_json(files["meta"]) or {}).get("labels_digest")
    return {**record, "labels_digest": old} if old and files["labels"].is_file() else record


def _refresh_finished(files, record: dict, labels) -> dict:
    """Rank 0, a finished file: its ``FILE.json`` and labels become this call's (the
    features depend on neither; a rerun with corrected labels or class names once kept the
    old ones). Labels not given keep the file's. Returns the record written."""
    if labels is not None:
        labels = np.asarray(labels, dtype=np.int64)
        try:
            saved = np.load(files["labels"])
        except (OSError, ValueError):
            saved = None
        if saved is None or not np.array_equal(saved, labels):
            if saved is not None:
                npy_files.warn(f"{files['labels']} held other labels for these features: "
                               "replaced by the ones given now")
            write_atomically(files["labels"], lambda f: np.save(f, labels))
    else:
        record = _kept_labels_digest(files, record)
    # a file finished before its digest was written (or by an older rdsc) gets it now
    digest = (_read_json(files["meta"]) or {}).get("rows_digest") or _file_rows_digest(
        files["final"])
    if digest:
        record = {**record, "rows_digest": digest}
    if _read_json(files["meta"]) != json.loads(json.dumps(record)):  # tuples read as lists
        _write_json(files["meta"], record)
    return record


def _prepare(files, record, key, shape, dtype, labels, restart: bool) -> dict:
    """Rank 0: ``FILE.json``, labels and the partial file (kept where it is this run's).
    Returns the record written."""
    if restart:
        files["final"].unlink(missing_ok=True)
    meta = _read_json(files["meta"])
    # the partial is this configuration's where its record says so, or where the progress
    # records do (a dotted name's FILE.json, in an earlier rdsc, was another file's), and no
    # record of another configuration lists rows: that run wrote into it too, when, and
    # over which rows, is not known (once kept: 32 rows of another seed)
    rows = _rows_by_key(files["progress"])
    partial_ok = (files["partial"].is_file()
                  and not any(done for other, done in rows.items() if other != key)
                  and ((meta is not None and meta.get("key") == key) or rows.get(key, 0) > 0))
    if partial_ok:
        try:
            got_shape, got_dtype, offset = npy_files.npy_header(files["partial"])
            size = files["partial"].stat().st_size
            partial_ok = (got_shape == tuple(shape) and got_dtype == dtype
                          and size == offset + shape[0] * shape[1] * dtype.itemsize)
        except (OSError, ValueError):
            partial_ok = False
    if not partial_ok:  # a new run: a sparse file of the right size, no progress
        shutil.rmtree(files["progress"], ignore_errors=True)
        files["partial"].unlink(missing_ok=True)
        np.lib.format.open_memmap(files["partial"], mode="w+", dtype=dtype, shape=shape).flush()
    files["progress"].mkdir(exist_ok=True)
    if labels is not None:
        labels = np.asarray(labels, dtype=np.int64)
        write_atomically(files["labels"], lambda f: np.save(f, labels))
    elif not partial_ok:  # a new file: an earlier run's labels would be taken for its own
        files["labels"].unlink(missing_ok=True)
    else:
        record = _kept_labels_digest(files, record)
    _write_json(files["meta"], record)
    return record


def _compute_rows(net, images, files, key, n, k, out_dtype, denominator, done, mine, group, opts,
                  progress) -> None:
    """This rank's rows ``mine`` into the partial file, recording them as they are synced."""
    offset = npy_files.data_offset(files["partial"])
    row_bytes = k * out_dtype.itemsize
    progress_file = files["progress"] / f"rank-{group.rank}.json"
    finished = [list(iv) for iv in done]
    total = sum(b - a for a, b in mine)
    label = f"features k={k}" + (f" (rank {group.rank} of {group.world})" if group.world > 1
                                 else "")
    bar = progress_bar(total, label, unit="img", enabled=progress and group.rank == 0)
    counts_dtype = np.int16 if out_dtype == np.int16 else np.int32
    with open(files["partial"], "r+b") as f:
        def record(upto):
            f.flush()
            os.fsync(f.fileno())
            _write_json(progress_file, {"key": key, "rows": n, "done": _merge(finished + upto)})

        for a, b in mine:
            current = [[a, a]]
            last = time.monotonic()

            def write(lo, hi, rows):
                nonlocal last
                if out_dtype.kind == "f":  # exactly what FeatureArray returns
                    rows = np.asarray(rows, dtype=np.float32) / np.float32(denominator)
                npy_files.pwrite_all(f.fileno(),
                                     np.ascontiguousarray(rows, dtype=out_dtype).tobytes(),
                                     offset + lo * row_bytes)
                current[0][1] = hi
                bar.update(hi - lo)
                if time.monotonic() - last > 2:
                    record(current)
                    last = time.monotonic()

            features.compute(net, images, np.empty((0, k), dtype=counts_dtype), start=a, stop=b,
                             on_batch=write, progress=False, checked=True, **opts)
            finished.append([a, b])
        record([])
    bar.close()


def load_features(path, mmap: bool = True, read_labels: bool = True):
    """``(features, labels, record)`` of a file written by :func:`write_features`
    (``read_labels=False``: the labels file is not read, ``labels`` is None).

    ``features`` is a :class:`rdsc.features.FeatureArray` (rows read as float32 on
    indexing, a memory map of the file when ``mmap``); ``labels`` the ``int64`` labels
    saved beside (or ``None``); ``record`` the ``FILE.json`` entries (``{}`` for a plain
    float ``.npy`` written elsewhere, taken as float features). Integer counts need their
    ``FILE.json`` (it holds the denominator): without it, a ``ValueError``.
    """
    path = Path(path)
    files = _paths(path)
    if path.name.endswith(".partial.npy"):
        # its rows not yet computed are zeros: scored as features, they gave a silently
        # lower accuracy (8.5% for 21.5%)
        final = path.with_name(path.name[:-len(".partial.npy")] + ".npy")
        raise ValueError(f"{path} is the unfinished file of a features run (rows not yet "
                         "computed hold zeros): run the command that wrote it again to finish "
                         f"it, then use {final.name}")
    if not path.is_file():
        partial = (" (a run wrote part of it: run it again to finish)"
                   if files["partial"].exists() else "")
        raise FileNotFoundError(f"no features file {path}{partial}")
    array = _load_npy(path, mmap)
    if array.ndim != 2:
        raise ValueError(f"{path} holds an array of shape {array.shape}, not N x k features")
    record = _read_json(files["meta"]) or {}
    shared = _shared_record_note(files)
    if np.issubdtype(array.dtype, np.integer) and not (
            record.get("dtype") == "counts" and "denominator" in record):
        # counts read as features with denominator 1 would be ~200 times too large: a
        # different SVM problem, and another accuracy, without a word
        raise ValueError(
            f"{path} holds integer counts ({array.dtype}), but its record {files['meta']} is "
            f"{'missing' if not files['meta'].exists() else 'unreadable or has no denominator'}"
            f": it gives the denominator (feature = count / denominator). Copy {files['meta'].name}"
            f" from where {path.name} was written into {files['meta'].parent}, beside it (or save"
            f" the features count / denominator as float32 yourself){shared}")
    if shared:
        npy_files.warn(f"{path} has no record {files['meta'].name}{shared}; read as plain "
                       "float features, without the record's checks")
    counts = record.get("dtype") == "counts"
    if counts and not np.issubdtype(array.dtype, np.integer):
        # a float array saved over the counts: dividing it again would shrink every feature
        raise ValueError(f"{path} holds {array.dtype} values, but its record {files['meta']} "
                         "says integer counts: the file was replaced after it was written. "
                         f"Delete {files['meta'].name} if {path.name} holds finished features, "
                         "or write it again with write_features")
    if "shape" in record and tuple(record["shape"]) != array.shape:
        raise ValueError(f"{path} holds {array.shape[0]:,} x {array.shape[1]:,} values, but "
                         f"its record {files['meta'].name} says {tuple(record['shape'])}: the "
                         "file was replaced after it was written; write it again")
    if record.get("rows_digest") and rows_digest(array) != record["rows_digest"]:
        # another run's features saved over FILE.npy, or its rows shuffled, were once scored
        # against the old record's network, classes and labels without a word
        raise ValueError(f"{path} does not hold the rows written with its record "
                         f"{files['meta'].name} (their digest differs): the file was replaced "
                         "or its rows reordered since. Write the features again, or delete "
                         f"{files['meta'].name} to read {path.name} as plain features, "
                         "without the record's checks")
    denominator = record["denominator"] if counts else 1
    labels = (_load_npy(files["labels"], False) if read_labels and files["labels"].is_file()
              else None)
    if labels is not None and len(labels) != len(array):
        raise ValueError(f"{files['labels']} holds {len(labels):,} labels for {len(array):,} "
                         "feature rows: they are not these features' (an earlier run's?). "
                         "Delete it, or write the features again with their labels")
    if (labels is not None and record.get("labels_digest")
            and labels_digest(labels) != record["labels_digest"]):
        # another run's labels of the same length once scored at chance, silently
        raise ValueError(f"{files['labels']} is not the labels written with these features "
                         f"(its digest differs from {files['meta'].name}'s): it was replaced "
                         "since. Write the features again with their labels, or pass the "
                         "labels you mean explicitly (rdsc evaluate --train-labels/--test-labels)")
    return features.FeatureArray(array, denominator), labels, record


def _load_npy(path: Path, mmap: bool) -> np.ndarray:
    """``np.load``, with an error that tells a file cut short (a copy or run interrupted)."""
    try:
        shape, dtype, offset = npy_files.npy_header(path)
        needed = offset + int(np.prod(shape)) * dtype.itemsize
    except (OSError, ValueError, EOFError):
        needed = None  # np.load below says what is wrong
    size = path.stat().st_size
    if needed is not None and size < needed:
        raise ValueError(f"{path} is incomplete: {size:,} bytes where its header needs "
                         f"{needed:,} (an interrupted copy or run?). Copy it again, or run the "
                         "command that wrote it again")
    try:
        return np.load(path, mmap_mode="r" if mmap else None)
    except (OSError, ValueError, EOFError) as err:
        raise ValueError(f"cannot read {path} as an .npy array ({err}): an incomplete or "
                         "damaged file? Copy it again, or run the command that wrote it again"
                         ) from err
