"""Chapter 5's margin SVM on raw rows against the same SVM on their inner products, in one run.

    python benchmarks/margin_speed.py [--n 1000] [--size 112] [--C 100]

Unit-scaled pixels of ``n`` miniimagenet10 training images at ``size`` x ``size`` (112:
as stored, 37,632 columns; random pixels without the data): the margin SVM (C = 100)
fitted on the rows as they are, and on :func:`rdsc.separation.gram_rows` (N columns, the
same inner products). Prints both times, their ratio (reduction included), how far the
two mean margins and decision values differ, and how often the predictions agree.
"""
import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

from rdsc import data
from rdsc.classify import LinearSVM
from rdsc.separation import gram_rows, svm_margins, unit_scale


def pixels(n: int, size: int) -> tuple[np.ndarray, np.ndarray, str]:
    """``n`` class-balanced images as rows in [0, 1], their labels and where they came from."""
    try:
        images, labels, _ = data.load("miniimagenet10", "train", progress=False)
        pick = data.subset(labels, n)
        images, labels, source = images[pick], labels[pick].numpy(), "miniimagenet10"
    except data.DatasetNotFoundError:
        gen = torch.Generator().manual_seed(0)
        images = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=gen)
        labels, source = np.arange(n) % 10, "random pixels"
    x = F.interpolate(images.float() / 255, size=(size, size), mode="area")
    return x.reshape(n, -1).numpy(), labels, source


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--size", type=int, default=112)
    p.add_argument("--C", type=float, default=100.0)
    args = p.parse_args()
    X, y, source = pixels(args.n, args.size)
    X = unit_scale(X)
    print(f"{source}: {X.shape[0]} images x {X.shape[1]} columns, C = {args.C:g}, "
          f"{torch.get_num_threads()} threads")
    start = time.perf_counter()
    raw = LinearSVM(C=args.C, device="cpu").fit(X, y)
    raw_s = time.perf_counter() - start
    start = time.perf_counter()
    Z = gram_rows(X)
    reduce_s = time.perf_counter() - start
    on_z = LinearSVM(C=args.C, device="cpu").fit(Z, y)
    gram_s = time.perf_counter() - start
    m_raw, m_z = svm_margins(raw).mean(), svm_margins(on_z).mean()
    scores = np.abs(raw.decision_function(X) - on_z.decision_function(Z)).max()
    agree = (raw.predict(X) == on_z.predict(Z)).mean()
    print(f"raw rows      : {raw_s:7.1f} s ({raw.n_iter_} Newton steps), mean margin {m_raw:.6f}")
    print(f"inner products: {gram_s:7.1f} s ({reduce_s:.1f} s to reduce to {Z.shape[1]} "
          f"columns, {on_z.n_iter_} Newton steps), mean margin {m_z:.6f}")
    print(f"speed ratio raw / inner products: {raw_s / gram_s:.1f}x; mean margins differ by "
          f"{abs(m_z - m_raw) / m_raw:.1e} (relative), decision values by at most {scores:.1e} "
          f"(both solvers stop at the same relative gradient), predictions agree on "
          f"{100 * agree:.1f}% of the images")


if __name__ == "__main__":
    main()
