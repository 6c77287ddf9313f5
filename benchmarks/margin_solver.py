"""Chapter 5's margins by the float32 Newton-CG solver and by the exact solver, in one run.

    python benchmarks/margin_solver.py [--n 2000] [--k 3000] [--C 1e6]

``n`` class-balanced CIFAR-10 training images (chapter 5's quick sample size; random
pixels without the data), as chapter 5 fits them: unit-scaled pixels, the first ``k``
features of the random network, and ``k`` dimensions of Gaussian noise, each reduced to
its inner products. For each, the margin SVM at ``C`` by ``LinearSVM(solver="torch")``
(what chapter 5 used before) and ``solver="exact"`` (what it uses now): mean margin,
``min y·f``, steps, seconds; how much narrower (or wider) Newton-CG's margin is, and the
time ratio.
The exact solver ends at the optimum, so its margin is the reference.
"""
import argparse
import time
import warnings

import numpy as np
import torch

from rdsc import data
from rdsc.classify import LinearSVM
from rdsc.features import extract
from rdsc.network import RandomDepthwiseSignNet
from rdsc.separation import gram_rows, smallest_fit, svm_margins, unit_scale


def sample(n: int):
    """``n`` class-balanced CIFAR-10 training images, labels, and where they came from."""
    try:
        images, labels, _ = data.load("cifar10", "train", progress=False)
        pick = data.subset(labels, n, seed=0)
        return images[pick], labels[pick].numpy(), "CIFAR-10"
    except data.DatasetNotFoundError:
        gen = torch.Generator().manual_seed(0)
        images = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=gen)
        return images, np.arange(n) % 10, "random pixels"


def fit(X, y, C, solver):
    start = time.perf_counter()
    with warnings.catch_warnings():  # the torch solver warns at this C: measured here
        warnings.simplefilter("ignore")
        svm = LinearSVM(C=C, solver=solver, device="cpu").fit(X, y)
    return svm, time.perf_counter() - start


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--k", type=int, default=3000)
    p.add_argument("--C", type=float, default=1e6)
    args = p.parse_args()
    images, y, source = sample(args.n)
    net = RandomDepthwiseSignNet.for_dataset("cifar10", args.k, seed=2018)
    features = np.asarray(extract(net, images, progress=False, cache=None), np.float32)
    noise = np.random.default_rng(0).standard_normal((args.n, args.k), dtype=np.float32)
    spaces = {"pixels": images.reshape(args.n, -1).numpy() / 255.0,
              f"features k={args.k}": features, f"noise {args.k}-d": noise}
    print(f"{source}: {args.n} images, C = {args.C:g}, {torch.get_num_threads()} threads")
    for name, X in spaces.items():
        Z = gram_rows(unit_scale(X))
        rows = {}
        for solver in ("torch", "exact"):
            svm, seconds = fit(Z, y, args.C, solver)
            rows[solver] = (float(svm_margins(svm).mean()), smallest_fit(svm, Z, y),
                            svm.n_iter_, seconds)
            print(f"{name:18s} {solver:5s}: mean margin {rows[solver][0]:.6f}, min y·f "
                  f"{rows[solver][1]:.4f}, {rows[solver][2]} steps, {seconds:5.1f} s"
                  + ("" if svm.converged_ else " (not converged)"))
        short = 1 - rows["torch"][0] / rows["exact"][0]
        # an unfinished fit can be wider too: its |w| has not grown to the optimum's
        print(f"{name:18s} Newton-CG's margin {100 * abs(short):.1f}% "
              f"{'narrower' if short >= 0 else 'wider'} than the optimum's; "
              f"time torch / exact {rows['torch'][3] / rows['exact'][3]:.1f}x")


if __name__ == "__main__":
    main()
