"""The torch SVM's memory on a matrix it must read in row blocks, with two allocator settings.

    python benchmarks/svm_memory.py [--n 48000] [--k 2000]

Writes ``n x k`` int16 counts (class-dependent, like CIFAR's 15 x 15 maps) to a ``.npy`` on
disk and fits ``rdsc.classify.LinearSVM`` on them as a ``FeatureArray`` with "free memory"
set to 1 MB, so no block is kept and every Newton step reads the rows block by block (with
file reads: a memory map would add the file's pages, page cache, to the resident set). Each
fit runs in a fresh process: with glibc's default allocator, and with
``MALLOC_MMAP_THRESHOLD_=131072`` (large buffers returned to the system when freed). Prints
the growth of the peak resident set size during the fit, per value of one block
(``block_rows x (k + 1)``), beside the size of the whole matrix as float32.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


class FileRows:
    """The int16 rows of a ``.npy`` file, read with ordinary file reads (a memory map would
    put the file's pages in the resident set, which is page cache, not the solver's memory)."""

    def __init__(self, path: str):
        with open(path, "rb") as f:
            major, _ = np.lib.format.read_magic(f)
            read_header = (np.lib.format.read_array_header_1_0 if major == 1
                           else np.lib.format.read_array_header_2_0)
            self.shape, _, self.dtype = read_header(f)
            self.offset = f.tell()
        self.path, self.ndim = path, 2

    def __getitem__(self, index):
        lo, hi, step = index.indices(self.shape[0])
        assert step == 1, "rows are read as ranges"
        row_bytes = self.shape[1] * self.dtype.itemsize
        rows = np.fromfile(self.path, self.dtype, count=max(0, hi - lo) * self.shape[1],
                           offset=self.offset + lo * row_bytes)
        return rows.reshape(-1, self.shape[1])


def child(path: str, n: int, k: int) -> dict:
    """Fit in this process; returns the measurements."""
    import torch

    from rdsc import classify
    from rdsc.features import FeatureArray
    from rdsc.measure import reset_peak, status_bytes
    labels = np.load(path.replace(".npy", ".labels.npy"))
    X = FeatureArray(FileRows(path), 225)
    classify._free_memory = lambda device: 1 << 20  # 1 MB: every block is read, none kept
    classify.LinearSVM(device="cpu", max_iter=1).fit(X[:64], labels[:64])  # imports, warm-up
    base = status_bytes("VmRSS")
    reset_peak()
    start = time.perf_counter()
    svm = classify.LinearSVM(device="cpu").fit(X, labels)
    seconds = time.perf_counter() - start
    rows = min(classify.block_rows_for(k), n)  # a block is never longer than the matrix
    return {"growth": status_bytes("VmHWM") - base, "block_values": rows * (k + 1),
            "block_rows": rows, "steps": svm.n_iter_, "seconds": seconds,
            "threads": torch.get_num_threads()}


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=48_000)
    p.add_argument("--k", type=int, default=2000)
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.n, args.k)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "counts.npy")
        gen = np.random.default_rng(0)
        labels = gen.integers(0, 10, args.n)
        counts = np.lib.format.open_memmap(path, mode="w+", dtype=np.int16,
                                           shape=(args.n, args.k))
        for lo in range(0, args.n, 2000):
            centre = (labels[lo:lo + 2000, None] - 4.5) * 6
            counts[lo:lo + 2000] = np.clip(gen.normal(centre, 60, (len(centre), args.k)),
                                           -225, 225)
        counts.flush()
        del counts
        np.save(path.replace(".npy", ".labels.npy"), labels)
        matrix = args.n * (args.k + 1) * 4
        print(f"n = {args.n:,}, k = {args.k:,}: the matrix is {matrix / 2**20:,.0f} MiB as "
              f"float32 ({args.n * args.k * 2 / 2**20:,.0f} MiB of int16 counts on disk)")
        for name, extra in (("glibc default", {}),
                            ("MALLOC_MMAP_THRESHOLD_=131072",
                             {"MALLOC_MMAP_THRESHOLD_": "131072"})):
            done = subprocess.run([sys.executable, __file__, "--child", path, "--n",
                                   str(args.n), "--k", str(args.k)],
                                  env=dict(os.environ, **extra), capture_output=True, text=True)
            if done.returncode:
                sys.exit(done.stderr[-2000:])
            r = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"{name:30s}: peak RSS grew {r['growth'] / 2**20:7,.0f} MiB = "
                  f"{r['growth'] / r['block_values']:5.1f} bytes per value of a "
                  f"{r['block_rows']:,}-row block ({r['growth'] / matrix:.2f} of the float32 "
                  f"matrix); {r['steps']} Newton steps in {r['seconds']:.0f} s, "
                  f"{r['threads']} threads")


if __name__ == "__main__":
    main()
