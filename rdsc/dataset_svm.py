"""One dataset end to end: load, a class-balanced subset, the paper's network, the SVM, top-k.

:func:`svm_on_dataset` is the chapter's main run in one call, for a second dataset that a
chapter runs beside its main one (MNIST in chapter 3) without repeating every cell.
"""

from __future__ import annotations

import time

from rdsc import data
from rdsc.classify import LinearSVM, topk_accuracy
from rdsc.features import extract
from rdsc.network import RandomDepthwiseSignNet
from rdsc.paper import PAPER_C, PAPER_SEED


def svm_on_dataset(
    dataset: str,
    n_features: int,
    n_train: int | None = None,
    n_test: int | None = None,
    C: float = PAPER_C,
    seed: int = PAPER_SEED,
    device=None,
    root=None,
    download: bool = True,
    cache=True,
    progress: bool = True,
) -> dict:
    """Top-1..5 test accuracy of the paper's pipeline on ``dataset`` (a key of the presets).

    ``n_train``, ``n_test``: class-balanced subsets (None: every image). Returns ``{"dataset",
    "k", "n_train", "n_test", "image shape", "topk": {1: fraction, ...}, "seconds": {"features",
    "svm_fit"}}``. Raises :class:`rdsc.data.DatasetNotFoundError` when the data is absent.
    """
    train_x, train_y, _ = data.load(dataset, "train", root, download=download, progress=progress)
    test_x, test_y, _ = data.load(dataset, "test", root, download=download, progress=progress)
    tr, te = data.subset(train_y, n_train, seed=0), data.subset(test_y, n_test, seed=1)
    net = RandomDepthwiseSignNet.for_dataset(dataset, n_features, seed=seed)
    start = time.perf_counter()
    train_f = extract(
        net, train_x[tr], cache=cache, name=f"{dataset}-train", device=device, progress=progress
    )
    test_f = extract(
        net, test_x[te], cache=cache, name=f"{dataset}-test", device=device, progress=progress
    )
    extract_s = time.perf_counter() - start
    svm = LinearSVM(C=C, device=device).fit(train_f, train_y[tr].numpy())
    acc = topk_accuracy(svm.decision_function(test_f), test_y[te].numpy(), classes=svm.classes_)
    return {
        "dataset": dataset,
        "k": n_features,
        "n_train": len(tr),
        "n_test": len(te),
        "image shape": tuple(train_x.shape[1:]),
        "topk": acc,
        "seconds": {"features": extract_s, "svm_fit": svm.fit_seconds_},
    }
