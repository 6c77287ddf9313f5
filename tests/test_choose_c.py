"""The choice of C from a validation split (small, synthetic problems)."""

import numpy as np
import pytest

from rdsc import choose_c
from rdsc.classify import LinearSVM
from rdsc.features import FeatureArray
from test_mlp_head import blobs


def test_validation_split_is_balanced_and_disjoint():
    labels = np.repeat(np.arange(5), 20)
    fit, val = choose_c.validation_split(labels, 0.2, seed=4)
    assert len(val) == 20 and np.bincount(labels[val]).tolist() == [4] * 5
    assert len(fit) == 80 and not set(fit) & set(val)
    for bad in (0, 1, -0.1):
        with pytest.raises(ValueError):
            choose_c.validation_split(labels, bad)


def test_choose_C_keeps_the_best_validation_accuracy():
    X, y = blobs(300, spread=3.0)
    best, rows = choose_c.choose_C(X, y, [0.1, 1e-6, 0.01], fraction=0.25, device="cpu")
    assert [r["C"] for r in rows] == [1e-6, 0.01, 0.1]
    top = max(r["validation top-1 (%)"] for r in rows)
    assert best == min(r["C"] for r in rows if r["validation top-1 (%)"] == top)
    assert all(r["Newton steps"] >= 1 and r["fit s"] >= 0 for r in rows)
    # each row is an SVM fitted on validation_split's fit rows and scored on its
    # validation rows (scoring the fit rows, training accuracy, would favour the largest C)
    fit, val = choose_c.validation_split(y, 0.25, seed=0)
    for row in rows:
        svm = LinearSVM(C=row["C"], device="cpu").fit(X[fit], y[fit])
        hand = 100 * np.mean(svm.predict(X[val]) == y[val])
        assert row["validation top-1 (%)"] == pytest.approx(hand)
    assert best == 1e-6  # 70.7% on validation against 64% and 62.7%
    feats = FeatureArray(np.round(X * 100).astype(np.int16), 100)
    best_f, rows_f = choose_c.choose_C(feats, y, [0.01], device="cpu")
    assert best_f == 0.01 and len(rows_f) == 1
    with pytest.raises(ValueError, match="empty"):
        choose_c.choose_C(X, y, [])


def test_choose_C_ties_go_to_the_smaller_C(monkeypatch):
    monkeypatch.setattr(choose_c, "topk_accuracy", lambda *a, **k: {1: 0.5})  # every C alike
    X, y = blobs(80)
    assert choose_c.choose_C(X, y, [0.02, 0.005, 0.01], device="cpu")[0] == 0.005


def test_against_paper_c_reuses_the_main_run_and_fits_the_rest(monkeypatch):
    X, y = blobs(200, spread=3.0)
    Xt, yt = blobs(100, seed=1, spread=3.0)
    main = {1: 0.123}
    out = choose_c.against_paper_c(X, y, Xt, yt, [0.005], 0.005, paper_c_topk=main, device="cpu")
    assert out["best"] == 0.005 and out["test_best"] is main and out["test_paper"] is main
    part = choose_c.against_paper_c(
        X, y, Xt, yt, [1e-4, 0.005, 0.1], 0.005, n_images=120, paper_c_topk=main, device="cpu"
    )
    assert part["n_images"] == 120 and part["test_paper"] is not main  # refitted on the 120
    assert set(part["test_best"]) == {1, 2, 3, 4}  # 4 classes: top-1..4


def test_test_accuracy_fits_the_training_rows_with_its_C_and_scores_the_test_rows():
    # chapter 7's test accuracy at the chosen C had no test; a fit on the test
    # rows, or a C left at its default, would go unnoticed
    X, y = blobs(200, spread=3.0)
    Xt, yt = blobs(120, seed=1, spread=3.0)
    for C in (1e-6, 0.1):
        acc = choose_c.test_accuracy(X, y, Xt, yt, C, device="cpu")
        svm = LinearSVM(C=C, device="cpu").fit(X, y)
        assert acc[1] == pytest.approx(np.mean(svm.predict(Xt) == yt))
        assert sorted(acc) == [1, 2, 3, 4] and acc[1] <= acc[2] <= acc[3] <= acc[4] == 1
    small, large = (choose_c.test_accuracy(X, y, Xt, yt, C, device="cpu")[1] for C in (1e-6, 0.1))
    assert small != large  # so the C passed in matters


def test_a_single_c_or_a_nonsense_c_is_refused_by_name():
    from rdsc.choose_c import choose_C
    x, y = np.zeros((20, 3), np.float32), np.arange(20) % 2
    for bad in (0.1, "0.1", [0.1, -1.0], [float("nan")]):
        with pytest.raises(ValueError, match="grid|each C"):
            choose_C(x, y, bad)


def test_the_validated_c_is_tested_with_itself():
    """The paper C's test accuracy reported for the validated C, and n_images None, once
    passed these tests."""
    X, y = blobs(200, spread=3.0)
    Xt, yt = blobs(100, seed=1, spread=3.0)
    out = choose_c.against_paper_c(X, y, Xt, yt, [1e-6, 0.1], 0.1, device="cpu")
    assert out["best"] == 1e-6   # a tie on validation goes to the smaller C
    assert out["test_best"] == choose_c.test_accuracy(X, y, Xt, yt, 1e-6, device="cpu")
    assert out["n_images"] == 200


def test_the_validation_share_is_rounded():
    """Truncation (13 rows at 0.2 holding out 2, not 3) once passed these tests."""
    assert len(choose_c.validation_split(np.arange(13) % 2, 0.2)[1]) == 3


def test_against_paper_c_keeps_each_cs_hits_on_the_test_images():
    X, y = blobs(200, spread=3.0)
    Xt, yt = blobs(100, seed=1, spread=3.0)
    out = choose_c.against_paper_c(X, y, Xt, yt, [1e-6, 0.1], 0.1, device="cpu")
    hits = out["test_hits"]
    assert hits["best"].shape == hits["paper"].shape == (100,)
    assert hits["best"].mean() == pytest.approx(out["test_best"][1])
    assert hits["paper"].mean() == pytest.approx(out["test_paper"][1])
    svm = LinearSVM(C=1e-6, device="cpu").fit(X, y)
    assert np.array_equal(hits["best"], svm.predict(Xt) == yt)
    main_hits = np.ones(100, bool)              # the main run's, reused with its top-k
    reused = choose_c.against_paper_c(X, y, Xt, yt, [0.1], 0.1, paper_c_topk={1: 1.0},
                                      paper_c_hits=main_hits, device="cpu")
    assert reused["test_hits"]["paper"] is not None
    assert reused["test_hits"]["paper"].all() and reused["test_hits"]["best"].all()
    assert reused["validation_hits"]["paper"].shape == (40,)      # 20% of the 200 rows
    row = next(r for r in reused["grid"] if r["C"] == 0.1)
    assert 100 * reused["validation_hits"]["best"].mean() == pytest.approx(
        row["validation top-1 (%)"])
    assert choose_c.against_paper_c(X, y, Xt, yt, [1e-6], 0.1,
                                    device="cpu")["validation_hits"]["paper"] is None
