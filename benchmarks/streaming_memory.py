"""Peak memory of features for an image folder: streamed (flat in N) or loaded whole (grows with N).

    python benchmarks/streaming_memory.py [--n 2000 8000] [--side 64] [--k 64] [--workers 2]

Writes a folder of ``max(n)`` random PNG images (``side x side``, in a temporary folder), then,
for each ``n``, extracts k features into an on-disk cache in a fresh process two ways:

* streamed: ``extract(net, ImageFolderStream(folder, split, num_workers=W), cache=...)``, the
  images decoded batch by batch in ``W`` DataLoader worker processes;
* in memory: ``images = rdsc.data.load(folder, split)`` (the whole split as one uint8 tensor),
  then ``extract(net, images, cache=...)``.

Prints the process's peak resident set size (Linux ``VmHWM``, reset after the imports, as
:mod:`rdsc.measure` does) and its growth during the extraction, and the largest peak of a
decoding worker process (``ru_maxrss`` of the children; mostly pages shared with the parent).
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MB = 2**20


def make_folder(root: Path, n: int, side: int) -> None:
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(0)
    for i in range(n):
        folder = root / f"class{i % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        # smooth random colours plus noise: photo-like PNG sizes, not incompressible noise
        base = rng.integers(0, 256, (4, 4, 3)).astype(np.float32)
        img = np.kron(base, np.ones((side // 4 + 1, side // 4 + 1, 1)))[:side, :side]
        img = np.clip(img + rng.normal(0, 12, img.shape), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(folder / f"{i:06d}.png")


def split_of(root: Path, n: int, full: int) -> str:
    """A split holding the first ``n`` images of the full one (hard links, no extra disk)."""
    if n == full:
        return "all"
    split = root / f"first{n}"
    for i, path in enumerate(sorted((root / "all").rglob("*.png"), key=lambda p: p.name)[:n]):
        target = split / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            os.link(path, target)
    return split.name


def child(mode: str, folder: str, split: str, k: int, workers: int) -> None:
    """One measurement, in this fresh process; prints a JSON line."""
    import torch
    from rdsc import data
    from rdsc.features import extract
    from rdsc.measure import reset_peak, status_bytes
    from rdsc.network import RandomDepthwiseSignNet
    from rdsc.streaming import ImageFolderStream
    net = RandomDepthwiseSignNet.for_dataset("cifar10", k)
    if not reset_peak():
        raise SystemExit("needs Linux's /proc/self/clear_refs to measure the peak resident set "
                         "size")
    before = status_bytes("VmRSS")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as cache:
        if mode == "streamed":
            images = ImageFolderStream(folder, split, num_workers=workers)
        else:
            images = data.load(folder, split, cache=False, progress=False)[0]
        feats = extract(net, images, cache=cache, progress=False)
        n = len(feats)
        checksum = int(feats.counts[::max(1, n // 100)].sum())
    print(json.dumps({"n": n, "peak": status_bytes("VmHWM"), "before": before,
                      "workers": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,
                      "seconds": time.perf_counter() - start, "checksum": checksum,
                      "threads": torch.get_num_threads()}))


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, nargs="+", default=[2000, 8000], help="numbers of images")
    p.add_argument("--side", type=int, default=64, help="image side in pixels")
    p.add_argument("--k", type=int, default=64, help="features")
    p.add_argument("--workers", type=int, default=2, help="decoding processes of the stream")
    p.add_argument("--child", nargs=5, metavar=("MODE", "FOLDER", "SPLIT", "K", "WORKERS"),
                   help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        mode, folder, split, k, workers = args.child
        return child(mode, folder, split, int(k), int(workers))
    full = max(args.n)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        make_folder(root / "all", full, args.side)
        print(f"{full} PNG images of {args.side}x{args.side} written in "
              f"{time.perf_counter() - start:.0f} s "
              f"({sum(f.stat().st_size for f in (root / 'all').rglob('*.png')) / MB:.0f} MB); "
              f"k={args.k}, CIFAR-10's network (K=5, L=1); stream with {args.workers} "
              f"decoding workers")
        results = {}
        for n in sorted(args.n):
            split = split_of(root, n, full)
            for mode in ("streamed", "in memory"):
                run = subprocess.run([sys.executable, __file__, "--child", mode, str(root), split,
                                      str(args.k), str(args.workers)],
                                     capture_output=True, text=True, check=False)
                if run.returncode:
                    raise SystemExit(f"{mode}, n={n} failed:\n{run.stderr[-2000:]}")
                results[n, mode] = json.loads(run.stdout.strip().splitlines()[-1])
        print(f"\n{'images':>7} | {'streamed: peak RSS':>19} {'(growth)':>9} {'worker':>7} "
              f"{'time':>6} | "
              f"{'in memory: peak RSS':>20} {'(growth)':>9} {'time':>6} | uint8 images")
        for n in sorted(args.n):
            s, m = results[n, "streamed"], results[n, "in memory"]
            assert s["checksum"] == m["checksum"], "streamed and in-memory features differ"
            print(f"{n:>7} | {s['peak'] / MB:16.0f} MB {(s['peak'] - s['before']) / MB:+7.0f} MB "
                  f"{s['workers'] / MB:4.0f} MB {s['seconds']:5.0f}s | {m['peak'] / MB:17.0f} MB "
                  f"{(m['peak'] - m['before']) / MB:+7.0f} MB {m['seconds']:5.0f}s | "
                  f"{n * 3 * args.side**2 / MB:5.0f} MB")
        lo, hi = min(args.n), max(args.n)
        for mode in ("streamed", "in memory"):
            grow = (results[hi, mode]["peak"] - results[lo, mode]["peak"]) / MB
            print(f"{mode}: peak RSS {grow:+.0f} MB from {lo} to {hi} images")


if __name__ == "__main__":
    main()
