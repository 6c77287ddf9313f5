"""Choosing the SVM's C without the test set: a validation split of the training images.

The paper fixes ``C = 0.005`` on the unscaled features. :func:`choose_C` holds out a
class-balanced part of the *training* images, fits the SVM on the rest for each C of
a small grid and keeps the C with the best validation accuracy; the chapter then fits
on all training images with that C and tests once.
"""

from __future__ import annotations

import numpy as np

from rdsc.checks import positive_number
from rdsc.classify import LinearSVM, topk_accuracy, topk_hits
from rdsc.data import subset
from rdsc.features import FeatureArray


def validation_split(labels, fraction: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(fit rows, validation rows)``: a class-balanced ``fraction`` of the rows held out.

    Both index arrays are sorted.
    """
    labels = np.asarray(labels)
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must lie strictly between 0 and 1, got {fraction!r}")
    n_val = max(1, round(fraction * len(labels)))
    if n_val >= len(labels):
        raise ValueError(
            f"{len(labels)} rows are too few to hold out {fraction:.0%} and keep some to fit"
        )
    val = subset(labels, n_val, seed=seed).numpy()
    fit = np.setdiff1d(np.arange(len(labels)), val)
    return fit, val


def rows_of(features, idx):
    """Rows ``idx`` of an array or FeatureArray (a FeatureArray stays one, in memory)."""
    if isinstance(features, FeatureArray):
        return FeatureArray(np.asarray(features.counts[idx]), features.denominator)
    return np.asarray(features)[idx]


def choose_C(
    features, labels, grid, fraction: float = 0.2, seed: int = 0, device=None,
    hits: dict | None = None,
) -> tuple[float, list[dict]]:
    """The C of ``grid`` with the best validation top-1 (ties: the smaller C), and the table.

    Args:
        features: ``N x k`` training features (array or FeatureArray); labels: shape ``N``.
        grid: candidate values of C.
        fraction, seed: the validation split (:func:`validation_split`).
        hits: if a dict, each C's top-1 hit per validation image (bools) is put in it,
            keyed by C: every C is scored on the same images, a paired comparison.

    Returns ``(best C, [{"C", "validation top-1 (%)", "fit s", "Newton steps"}, ...])``.
    """
    if isinstance(grid, (str, bytes)) or not hasattr(grid, "__iter__"):
        raise ValueError(f"grid must be a list of C values, got {grid!r}: write [{grid!r}]")
    grid = sorted(positive_number("each C of the grid", c) for c in grid)
    if not grid:
        raise ValueError("the grid of C values is empty")
    labels = np.asarray(labels)
    fit_idx, val_idx = validation_split(labels, fraction, seed)
    fit_f, val_f = rows_of(features, fit_idx), rows_of(features, val_idx)
    rows = []
    for C in grid:
        svm = LinearSVM(C=C, device=device).fit(fit_f, labels[fit_idx])
        scores = svm.decision_function(val_f)
        acc = topk_accuracy(scores, labels[val_idx], (1,), classes=svm.classes_)
        if hits is not None:
            hits[C] = topk_hits(scores, labels[val_idx], (1,), classes=svm.classes_)[1]
        rows.append(
            {
                "C": C,
                "validation top-1 (%)": 100 * acc[1],
                "fit s": svm.fit_seconds_,
                "Newton steps": svm.n_iter_,
            }
        )
    best = max(rows, key=lambda r: (r["validation top-1 (%)"], -r["C"]))
    return best["C"], rows


def test_accuracy(
    train_features, train_labels, test_features, test_labels, C: float, device=None,
    hits: bool = False,
):
    """``{1: top-1, ..., 5: top-5}`` (fractions; up to the number of classes where it is
    below 5) of the SVM with penalty ``C``, tested once. ``hits``: also each test image's
    top-1 hit (``N`` bools), returned as ``(topk, hits)``, for a paired comparison."""
    svm = LinearSVM(C=C, device=device).fit(train_features, train_labels)
    scores = svm.decision_function(test_features)
    topk = topk_accuracy(scores, test_labels, classes=svm.classes_)
    if not hits:
        return topk
    return topk, topk_hits(scores, test_labels, (1,), classes=svm.classes_)[1]


def against_paper_c(
    train_features,
    train_labels,
    test_features,
    test_labels,
    grid,
    paper_c: float,
    n_images: int | None = None,
    fraction: float = 0.2,
    seed: int = 4,
    paper_c_topk: dict | None = None,
    device=None,
    paper_c_hits=None,
) -> dict:
    """Choose C on a validation split of (``n_images`` of) the training images, test it once.

    The SVM is then fitted on those training images with the chosen C and with ``paper_c``
    and tested on the test set. ``paper_c_topk`` and ``paper_c_hits``: the test top-k and
    per-image top-1 hits already computed with ``paper_c`` on *all* training images,
    reused when ``n_images`` is None (without the hits, ``test_hits`` holds None for
    them).

    Returns ``{"best", "grid": choose_C's rows, "n_images", "test_best", "test_paper",
    "test_hits", "validation_hits"}`` (test accuracies as ``{1: fraction, ...}``; the
    hits: ``{"best", "paper"}``, each test (validation) image's top-1 hit, for the paired
    comparisons of the two Cs, the paper's None on validation where the grid lacks it; not
    for a results JSON).
    """
    labels = np.asarray(train_labels)
    idx = subset(labels, n_images, seed=seed, up_to=True).numpy()  # "of" the images
    features = train_features if n_images is None else rows_of(train_features, idx)
    validation = {}
    best, rows = choose_C(features, labels[idx], grid, fraction=fraction, seed=seed,
                          device=device, hits=validation)

    def test(C):
        return test_accuracy(features, labels[idx], test_features, test_labels, C, device,
                             hits=True)

    # the main run's hits may be missing: the comparison is then unpaired (hits None)
    reuse = n_images is None and paper_c_topk is not None
    paper_acc, paper_hits = ((paper_c_topk, None if paper_c_hits is None else
                              np.asarray(paper_c_hits, dtype=bool)) if reuse
                             else test(paper_c))
    best_acc, best_hits = (paper_acc, paper_hits) if best == paper_c else test(best)
    return {
        "best": best,
        "grid": rows,
        "n_images": len(idx),
        "test_best": best_acc,
        "test_paper": paper_acc,
        "test_hits": {"best": best_hits, "paper": paper_hits},
        # the paper's C is scored on the validation images only where the grid holds it
        "validation_hits": {"best": validation[best],
                            "paper": validation.get(float(paper_c))},
    }
