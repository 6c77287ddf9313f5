"""The torch SVM solver against liblinear on a part of a chapter's own features.

:class:`rdsc.classify.LinearSVM` solves liblinear's objective with its own Newton-CG
solver; :func:`against_liblinear` measures how closely, on a class-balanced part of the
run's training images and its first ``k`` features (a size liblinear solves in seconds),
so the chapter states what was measured, not what a test once found.
"""

from __future__ import annotations

import numpy as np

from rdsc.checks import whole_number
from rdsc.classify import LinearSVM, topk_accuracy
from rdsc.data import subset
from rdsc.features import FeatureArray
from rdsc.paper import PAPER_C


def _part(features, rows, k):
    if isinstance(features, FeatureArray):
        return np.asarray(features.counts[rows, :k], dtype=np.float32) / np.float32(
            features.denominator
        )
    return np.asarray(features[rows, :k], dtype=np.float32)


def against_liblinear(
    train_features,
    train_labels,
    test_features,
    test_labels,
    n_train: int = 3000,
    k: int = 1000,
    n_test: int = 2000,
    C: float = PAPER_C,
    device=None,
    seed: int = 0,
) -> dict:
    """Fit both solvers on ``n_train`` training images x the first ``k`` features; compare.

    Features are ``N x K`` arrays or FeatureArrays; labels shape ``N``. Returns ``{"n_train",
    "k", "n_test", "objective_torch", "objective_liblinear", "relative_objective"`` (torch minus
    liblinear over liblinear), ``"agreement"`` (fraction of the ``n_test`` test images given the
    same class), ``"acc_torch", "acc_liblinear"`` (test top-1, %), ``"seconds_torch",
    "seconds_liblinear"}``.
    """
    train_labels, test_labels = np.asarray(train_labels), np.asarray(test_labels)
    k = min(whole_number("k", k), train_features.shape[1])  # -2 fitted on K - 2 columns
    tr = subset(train_labels, n_train, seed=seed).numpy()
    te = subset(test_labels, n_test, seed=seed + 1).numpy()
    Xtr, Xte = _part(train_features, tr, k), _part(test_features, te, k)
    ytr, yte = train_labels[tr], test_labels[te]
    ours = LinearSVM(C=C, solver="torch", device=device).fit(Xtr, ytr)
    ref = LinearSVM(C=C, solver="liblinear").fit(Xtr, ytr)
    f_ours, f_ref = ours.objective(Xtr, ytr), ref.objective(Xtr, ytr)
    p_ours, p_ref = ours.predict(Xte), ref.predict(Xte)

    def acc(m):
        return 100 * topk_accuracy(m.decision_function(Xte), yte, (1,), classes=m.classes_)[1]

    return {
        "n_train": len(tr),
        "k": k,
        "n_test": len(te),
        "objective_torch": f_ours,
        "objective_liblinear": f_ref,
        "relative_objective": (f_ours - f_ref) / f_ref,
        "agreement": float((p_ours == p_ref).mean()),
        "acc_torch": acc(ours),
        "acc_liblinear": acc(ref),
        "seconds_torch": ours.fit_seconds_,
        "seconds_liblinear": ref.fit_seconds_,
    }
