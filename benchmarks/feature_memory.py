"""Peak memory of k = 100,000 features for 10,000 CIFAR images (the aim: well under 3 GB RSS).

    python benchmarks/feature_memory.py [--k 100000] [--n 10000]

Runs ``rdsc.features.extract`` with an on-disk cache in a temporary folder and prints
the process's peak resident set size (Linux ``VmHWM``, reset after loading the images, as
:mod:`rdsc.measure` does; ``ru_maxrss`` can hold a parent's peak across ``exec``), the size
of the result on disk, and the time taken.
"""
import argparse
import tempfile
import time

import torch

from _common import cifar_images
from rdsc.features import default_device, extract
from rdsc.measure import reset_peak, status_bytes
from rdsc.network import RandomDepthwiseSignNet


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--k", type=int, default=100_000)
    p.add_argument("--n", type=int, default=10_000)
    args = p.parse_args()
    images, source = cifar_images(args.n)
    net = RandomDepthwiseSignNet.for_dataset("cifar10", args.k)
    device = default_device()
    if not reset_peak():
        raise SystemExit("needs Linux's /proc/self/clear_refs to measure the peak resident set "
                         "size")
    before = status_bytes("VmRSS") / 2**30
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        feats = extract(net, images, cache=folder, device=device, progress=False)
        seconds = time.perf_counter() - start
        checksum = int(feats.counts[:: max(1, args.n // 100)].sum())
        peak = status_bytes("VmHWM") / 2**30
        disk = feats.counts.nbytes / 2**30
    print(f"{source}: {args.n} images, k={args.k}, device {device}"
          f"{' (' + torch.cuda.get_device_name(0) + ')' if device.type == 'cuda' else ''}")
    print(f"peak RSS {peak:.2f} GB (before extraction {before:.2f} GB); result {disk:.2f} GB "
          f"on disk ({feats.counts.dtype}); {seconds:.0f} s, {args.n / seconds:.1f} images/s; "
          f"checksum {checksum}")


if __name__ == "__main__":
    main()
