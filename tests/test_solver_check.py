"""The torch SVM against liblinear on the same features."""

import numpy as np

from rdsc import classify_words as words
from rdsc.features import FeatureArray


def test_solver_check_on_features():
    from rdsc.solver_check import against_liblinear

    r = np.random.default_rng(0)
    y = np.arange(400) % 4
    counts = (
        np.round(np.eye(4)[y] @ r.normal(size=(4, 30)) * 20 + r.normal(size=(400, 30)) * 30)
        .clip(-225, 225)
        .astype(np.int16)
    )
    feats = FeatureArray(counts, 225)
    out = against_liblinear(feats, y, feats, y, n_train=200, k=20, n_test=100, device="cpu")
    assert out["n_train"] == 200 and out["k"] == 20 and out["n_test"] == 100
    assert abs(out["relative_objective"]) < 0.01 and out["agreement"] > 0.95
    assert "torch solver's objective" in words.solver_agreement(out)
