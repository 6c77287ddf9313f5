"""`rdsc features` on one image folder: one process (1 thread, then 2) against torchrun's processes.

    python benchmarks/process_speed.py [--n 1200] [--k 2048] [--side 32] [--nproc 2]

Writes ``n`` random PNG images (``side`` x ``side``, 10 classes) into a temporary folder, then
runs, each as a fresh command on the CPU: ``python -m rdsc features`` with 1 thread and with
``nproc`` threads (``OMP_NUM_THREADS``), and ``torchrun --nproc_per_node=nproc -m rdsc
features`` with 1 thread per process. Prints each command's wall time (start-up, decoding and
the features: what a user waits for), the ratios to the one-thread run, and whether all three
wrote the same features.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def write_folder(root: Path, n: int, side: int) -> Path:
    """``n`` random RGB PNGs in ``root/train/class-<c>/``, 10 classes."""
    gen = np.random.default_rng(0)
    for i in range(n):
        folder = root / "train" / f"class-{i % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        pixels = gen.integers(0, 256, (side, side, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{i:05d}.png")
    return root


def timed(command: list[str], env: dict) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=1200)
    p.add_argument("--k", type=int, default=2048)
    p.add_argument("--side", type=int, default=32)
    p.add_argument("--nproc", type=int, default=2)
    args = p.parse_args()
    if args.nproc < 2 or args.n < 1 or args.k < 1:
        p.error("--nproc must be at least 2 (it is compared with one), --n and --k positive")
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        source = write_folder(tmp / "images", args.n, args.side)
        features = ["features", str(source), "--split", "train", "--k", str(args.k),
                    "--device", "cpu", "--no-progress", "--out"]
        runs = {
            "1 process, 1 thread": (1, [sys.executable, "-m", "rdsc"]),
            f"1 process, {args.nproc} threads": (args.nproc, [sys.executable, "-m", "rdsc"]),
            f"{args.nproc} processes, 1 thread each (torchrun)":
                (1, [str(bin_dir / "torchrun"), "--standalone",
                     f"--nproc_per_node={args.nproc}", "-m", "rdsc"]),
        }
        print(f"{args.n} random {args.side}x{args.side} PNGs, k = {args.k}, "
              f"{os.cpu_count()} CPUs; wall time of each whole command")
        seconds, outputs = {}, {}
        for i, (name, (threads, command)) in enumerate(runs.items()):
            env = dict(os.environ, OMP_NUM_THREADS=str(threads), RDSC_DATA=str(tmp / "root"),
                       RDSC_PROGRESS="0")
            outputs[name] = tmp / f"run{i}.npy"
            seconds[name] = timed(command + features + [str(outputs[name])], env)
        first = next(iter(runs))
        reference = np.load(outputs[first])
        for name, s in seconds.items():
            same = np.array_equal(np.load(outputs[name]), reference)
            print(f"{name:40s}: {s:7.1f} s  ({seconds[first] / s:.2f}x the first; "
                  f"features {'identical' if same else 'DIFFERENT'})")


if __name__ == "__main__":
    main()
