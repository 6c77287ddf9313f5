"""The torch SVM solver against scikit-learn's LinearSVC on the same problem, in one run.

    python benchmarks/svm_speed.py [--k 2000] [--n-train 10000]

CIFAR-10 features (K=5, L=1, k features, cached), a class-balanced training subset,
the whole test set; both solvers minimise the paper's objective (C = 0.005). Prints
fit times and their ratio, both objectives and both test accuracies.
"""
import argparse

import numpy as np

from rdsc import data
from rdsc.classify import LinearSVM, topk_accuracy
from rdsc.features import extract
from rdsc.network import RandomDepthwiseSignNet


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--k", type=int, default=2000)
    p.add_argument("--n-train", type=int, default=10_000)
    p.add_argument("--C", type=float, default=0.005)
    args = p.parse_args()
    train, train_y, _ = data.load("cifar10", "train", progress=False)
    test, test_y, _ = data.load("cifar10", "test", progress=False)
    idx = data.subset(train_y, args.n_train)
    net = RandomDepthwiseSignNet.for_dataset("cifar10", args.k)
    Xtr = np.asarray(extract(net, train[idx], cache=True, name="cifar10-train", progress=False))
    Xte = extract(net, test, cache=True, name="cifar10-test", progress=False)
    ytr, yte = train_y[idx].numpy(), test_y.numpy()
    print(f"CIFAR-10, k={args.k}, {len(ytr)} train / {len(yte)} test images, C={args.C}")
    fitted = {}
    for solver in ("torch", "liblinear"):
        m = LinearSVM(C=args.C, solver=solver).fit(Xtr, ytr)
        acc = topk_accuracy(m.decision_function(Xte), yte, (1, 2), classes=m.classes_)
        fitted[solver] = m
        print(f"{solver:9s}: fit {m.fit_seconds_:7.2f} s, objective {m.objective(Xtr, ytr):.6f}, "
              f"top-1 {100 * acc[1]:.2f}%, top-2 {100 * acc[2]:.2f}% ({m.n_iter_} iterations, "
              f"{m.device if solver == 'torch' else 'cpu'})")
    t, lib = fitted["torch"], fitted["liblinear"]
    print(f"speed ratio torch / liblinear: {lib.fit_seconds_ / t.fit_seconds_:.1f}x; objective "
          f"relative difference "
          f"{(t.objective(Xtr, ytr) - lib.objective(Xtr, ytr)) / lib.objective(Xtr, ytr):+.2e}")


if __name__ == "__main__":
    main()
