"""rdsc.retrieval: metrics against hand-computed rankings, leave-one-out, cross-fitting."""
import itertools
import warnings

import numpy as np
import pytest

from rdsc import mlp_head
from rdsc import retrieval as rt


def ranking_of(relevant, distances=None):
    """A one-query Ranking from a relevance list (ranked order) and optional distances."""
    rel = np.asarray(relevant, bool)[None]
    d = np.arange(rel.shape[1], dtype=float) if distances is None else np.asarray(distances, float)
    d = d[None]
    return rt.Ranking(np.arange(rel.shape[1])[None], d, rel, rel.sum(1))


def metrics_of(relevant, distances=None, ks=(1, 2, 3, 5)):
    scores = rt.query_metrics(ranking_of(relevant, distances), ks=ks)
    return {k: float(v[0]) for k, v in scores.items()}


def test_perfect_ranking_scores_one():
    m = metrics_of([1, 1, 1, 0, 0])
    assert m["P@1"] == m["P@2"] == m["P@3"] == 1.0
    assert m["P@5"] == pytest.approx(3 / 5)
    assert m["R-precision"] == 1.0 and m["AP"] == 1.0


def test_reversed_ranking_by_hand():
    # relevant at ranks 4 and 5 of 5: AP = (1/4 + 2/5) / 2, R-precision = P@2 = 0
    m = metrics_of([0, 0, 0, 1, 1])
    assert m["P@1"] == m["P@3"] == 0.0 and m["R-precision"] == 0.0
    assert m["P@5"] == pytest.approx(2 / 5)
    assert m["AP"] == pytest.approx((1 / 4 + 2 / 5) / 2)


def test_mixed_ranking_by_hand():
    # relevant at ranks 1, 3, 6 of 6: AP = (1/1 + 2/3 + 3/6) / 3, R-precision = P@3 = 2/3
    m = metrics_of([1, 0, 1, 0, 0, 1])
    assert m["AP"] == pytest.approx((1 + 2 / 3 + 3 / 6) / 3)
    assert m["R-precision"] == pytest.approx(2 / 3) and m["P@2"] == pytest.approx(1 / 2)


def brute_force_mean(relevant, distances, ks):
    """Mean of the untied metrics over every order of the tied images (the definition)."""
    rel, d = np.asarray(relevant), np.asarray(distances, float)
    groups = [np.flatnonzero(d == v) for v in np.unique(d)]
    totals, count = None, 0
    for orders in itertools.product(*(itertools.permutations(g) for g in groups)):
        order = np.concatenate(orders)
        m = metrics_of(rel[order], ks=ks)   # untied: distances 0, 1, 2...
        totals = m if totals is None else {k: totals[k] + m[k] for k in m}
        count += 1
    return {k: v / count for k, v in totals.items()}


@pytest.mark.parametrize("relevant,distances", [
    ([1, 0, 1, 0, 1, 0], [1, 1, 1, 2, 2, 3]),
    ([0, 1, 1, 0, 0, 1], [0, 0, 0, 0, 0, 0]),
    ([1, 1, 0, 0, 1, 0], [0, 1, 1, 1, 1, 2]),
])
def test_ties_score_the_mean_over_all_orders(relevant, distances):
    ks = (1, 2, 3, 5)
    expected = brute_force_mean(relevant, distances, ks)
    assert metrics_of(relevant, distances, ks) == pytest.approx(expected)


def test_all_tied_equals_chance():
    rel = [1, 0, 0, 1, 0, 0, 1]
    m = metrics_of(rel, [0.5] * 7)
    chance = rt.chance_metrics(7, 3, ks=(1, 2, 3, 5))
    for name, value in m.items():
        assert value == pytest.approx(float(chance[name])), name


def test_scaling_the_features_by_any_factor_changes_no_score():
    """Ties once used an absolute 1e-12: features scaled to 1e-12 then tied everywhere and
    scored at chance (P@1 0.36 for 0.85 here), with no word."""
    rng = np.random.default_rng(0)
    y = np.arange(60) % 3
    X = rng.standard_normal((60, 8))
    X[:, 0] += 3 * y
    reference = rt.query_metrics(rt.rank(X, y))
    assert np.mean(reference["P@1"]) > 0.7
    for scale in (1e-12, 1e-20, 1e12):
        for dtype in (np.float64, np.float32):
            scores = rt.query_metrics(rt.rank((X * scale).astype(dtype), y))
            for name, values in reference.items():
                np.testing.assert_allclose(scores[name], values, err_msg=f"{scale} {name}")


def test_infinite_distances_tie_with_each_other_only():
    inf = np.inf
    assert rt.tie_groups([[0.1, 0.2, inf]]).tolist() == [[0, 1, 2]]
    assert rt.tie_groups([[0.1, 0.2, 0.3, inf, inf]]).tolist() == [[0, 1, 2, 3, 3]]
    assert rt.tie_groups([[0.0, 0.0, 0.0]]).tolist() == [[0, 0, 0]]


def test_ties_are_equal_to_the_last_bits_not_to_a_millionth():
    """A tolerance of 1e-9 in place of 1e-13 once passed these tests; distinct count
    features at the paper's k differ by about 1e-11 of the distance."""
    assert rt.tie_groups([[1.0, 1 + 1e-11]]).tolist() == [[0, 1]]
    assert rt.tie_groups([[1.0, 1 + 1e-15]]).tolist() == [[0, 0]]


def test_chance_ap_matches_simulation():
    rng = np.random.default_rng(0)
    n, r = 40, 7
    rel = np.zeros(n, bool)
    rel[:r] = True
    sims = [metrics_of(rng.permutation(rel))["AP"] for _ in range(1000)]
    assert np.mean(sims) == pytest.approx(float(rt.chance_metrics(n, r)["AP"]), abs=0.015)


def test_rank_and_leave_one_out_never_return_the_query():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((30, 5)).astype(np.float32)
    x[7] = x[3]                                   # a duplicate: must still be ranked, by index
    labels = np.repeat(np.arange(3), 10)
    for metric in rt.DISTANCES:
        with pytest.warns(UserWarning, match="1 of 30 database vectors repeat another"):
            r = rt.rank(x, labels, metric=metric)
        assert r.indices.shape == (30, 29)
        assert not (r.indices == np.arange(30)[:, None]).any()
        assert np.all(np.diff(r.distances, axis=1) >= -1e-6)
        assert r.indices[3, 0] == 7 and r.indices[7, 0] == 3
        assert (r.n_relevant == 9).all()          # the query's own class minus itself


def test_leave_one_out_on_a_database_holding_each_image_twice_warns():
    # P@1 = 1.0 once came in silence (the mode with queries warns about copies)
    import warnings
    x = np.random.default_rng(2).standard_normal((20, 6))
    labels = np.arange(20) % 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rt.rank(x, labels)
    with pytest.warns(UserWarning, match="20 of 40 database vectors repeat another"):
        r = rt.rank(np.vstack([x, x]), np.r_[labels, labels])
    assert r.relevant[:, 0].all()  # what the warning is about


def test_rank_queries_against_database_uses_nearest_first():
    db = np.array([[0.0, 0], [1, 0], [5, 0], [10, 0]], np.float32)
    r = rt.rank(db, [0, 0, 1, 1], queries=[[9.0, 0]], query_labels=[1])
    assert r.indices.tolist() == [[3, 2, 1, 0]]
    assert r.relevant.tolist() == [[True, True, False, False]]
    assert rt.query_metrics(r)["AP"][0] == 1.0


def test_rank_rejects_bad_input():
    with pytest.raises(ValueError, match="metric"):
        rt.rank(np.ones((3, 2)), [0, 0, 1], metric="manhattan")
    with pytest.raises(ValueError, match="database_labels"):
        rt.rank(np.ones((3, 2)), [0, 1])
    with pytest.raises(ValueError, match="no image in the database"):
        rt.rank(np.eye(3), [0, 0, 1], queries=2 * np.eye(3)[:1], query_labels=[2])


def test_stratified_folds_are_balanced():
    labels = np.repeat(np.arange(4), [11, 9, 10, 12])
    folds = rt.stratified_folds(labels, 5, seed=0)
    for c in range(4):
        counts = np.bincount(folds[labels == c], minlength=5)
        assert counts.max() - counts.min() <= 1
    with pytest.raises(ValueError, match=r"smallest class \(9 of the 42 items\): give "
                       "n_folds of at most 9"):
        rt.stratified_folds(labels, 10)
    # a class of one item was once told "give n_folds of at most 1", a value refused
    with pytest.raises(ValueError, match="at least 2 items of every class; the smallest "
                       "class has 1 of the 4 items"):
        rt.stratified_folds([0, 0, 0, 1], 2)
    # without the offset every class's remainder once fell in fold 0 (three
    # classes of 13 in 4 folds: fold 0 three items larger); the folds' sizes differ by one
    labels = np.repeat(np.arange(8), [13] * 3 + [12] * 5)
    sizes = np.bincount(rt.stratified_folds(labels, 4, seed=0), minlength=4)
    assert sizes.max() - sizes.min() <= 1, sizes


def test_cross_fitting_never_trains_on_the_query_fold():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 20)
    folds = rt.stratified_folds(labels, 5, seed=0)
    seen = []

    def memorising(train):
        """Labels one-hot for the images it was trained on, noise for the others: pure leakage."""
        seen.append(train.copy())
        z = 0.01 * rng.standard_normal((len(labels), 4))
        z[train] += np.eye(4)[labels[train]]
        return z

    rankings, trained_on = rt.cross_fitted_rankings(labels, memorising, folds)
    ranking = rankings["euclidean"]
    assert len(seen) == 5
    for f, train in enumerate(trained_on):
        assert not np.isin(train, np.flatnonzero(folds == f)).any()
        assert len(train) + (folds == f).sum() == len(labels)
    assert not (ranking.indices == np.arange(len(labels))[:, None]).any()
    # a memorising embedder is perfect when the query was trained on, useless when it was not
    crossed = rt.query_metrics(ranking)["P@1"].mean()
    leaked = rt.query_metrics(rt.rank(memorising(np.arange(len(labels))), labels))["P@1"].mean()
    assert leaked == 1.0
    assert crossed < 0.5


def test_evaluate_cross_fits_labelled_and_ranks_unlabelled():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 12)
    x = rng.standard_normal((36, 4)) + 4 * np.eye(3, 4)[labels]
    q = 4 * np.eye(3, 4)
    plain = rt.evaluate(labels, np.arange(3), vectors=(x, q))
    assert set(plain["loo"]) == set(rt.DISTANCES)
    assert plain["queries"]["euclidean"]["scores"]["AP"].shape == (3,)
    assert plain["loo"]["cosine"]["scores"]["P@1"].mean() > 0.9
    calls = []

    def fit_embed(train):
        calls.append(len(train))
        return x, q
    folds = rt.stratified_folds(labels, 3)
    fitted = rt.evaluate(labels, np.arange(3), fit_embed=fit_embed, folds=folds)
    assert calls == [36, 24, 24, 24]                 # the full fit for the queries, then 3 folds
    np.testing.assert_allclose(fitted["loo"]["euclidean"]["scores"]["AP"],
                               plain["loo"]["euclidean"]["scores"]["AP"])
    with pytest.raises(ValueError, match="exactly one"):
        rt.evaluate(labels, np.arange(3))
    with pytest.raises(ValueError, match="folds"):
        rt.evaluate(labels, np.arange(3), fit_embed=fit_embed)


def test_compare_and_table_rows():
    rng = np.random.default_rng(0)
    a = rng.random(200)
    assert rt.compare(a + 0.2, a)["verdict"] == "higher"
    assert rt.compare(a, a + 0.2)["verdict"] == "lower"
    # a difference around 0: 200 queries give an interval wider than ±5 points (nothing
    # decided), 2,000 a narrower one (comparable)
    assert rt.compare(a, rng.permutation(a))["verdict"] == "indistinguishable"
    many = rng.random(2000)
    assert rt.compare(many, rng.permutation(many))["verdict"] == "comparable"
    # -2.7 [-3.9, -1.6] lies within ±5 points: comparable, though it excludes 0
    assert rt.difference_word(-0.039, -0.016) == "comparable"
    assert rt.difference_word(-0.06, -0.016) == "lower"
    assert rt.difference_word(0.01, 0.051) == "higher"
    assert rt.difference_word(-0.051, 0.01) == "indistinguishable"
    labels = np.repeat(np.arange(2), 5)
    vectors = (rng.random((10, 3)), rng.random((2, 3)))
    res = {"x": rt.evaluate(labels, np.arange(2), vectors=vectors)}
    rows = rt.table_rows(res, "loo", n_boot=100)
    assert [r["distance"] for r in rows] == list(rt.DISTANCES)
    assert all(r["AP low"] <= r["AP"] <= r["AP high"] for r in rows)


def test_precision_at_zero_and_more_relevant_than_ranked_are_refused():
    with pytest.raises(ValueError, match="n_relevant"):
        rt.chance_metrics(5, 10)  # gave an AP of 1.68
    ranking = rt.rank(np.random.default_rng(0).random((6, 3)), np.arange(6) % 2)
    with pytest.raises(ValueError, match="positive integers"):
        rt.query_metrics(ranking, ks=(0, 1))  # P@0 was inf


def test_results_table_ends_with_the_chance_of_each_protocol():
    rng = np.random.default_rng(0)
    db_labels, q_labels = np.repeat([0, 1, 2], [4, 5, 6]), np.array([0, 2])
    x, q = rng.normal(size=(15, 4)), rng.normal(size=(2, 4))
    results = {"noise": rt.evaluate(db_labels, q_labels, vectors=(x, q))}
    rows, table = rt.results_table(results, "loo", db_labels, n_boot=50)
    chance = rows.iloc[-1]
    # leave-one-out: each image ranks the 14 others, of which its class's others count
    expected = rt.chance_metrics(14, np.array([3] * 4 + [4] * 5 + [5] * 6))
    assert chance["representation"] == "chance (expected)"
    assert chance["AP"] == pytest.approx(float(np.mean(expected["AP"])))
    assert table.loc[("chance (expected)", ""), "mAP"] == f"{100 * chance['AP']:.1f}"
    assert "[" in table.loc[("noise", "euclidean"), "mAP"]  # measured rows: an interval
    # every query alike once read "100.0 [100, 100]", an interval of certainty
    centres = 10 * np.eye(4)[db_labels]  # classes far apart: every query's nearest is its own
    twins = {"same": rt.evaluate(db_labels, db_labels, vectors=(
        centres + rng.normal(size=(15, 4)) / 10, centres + rng.normal(size=(15, 4)) / 10))}
    _, same = rt.results_table(twins, "queries", db_labels, db_labels, n_boot=50)
    assert same.loc[("same", "euclidean"), "P@1"] == "100.0 [no spread]"
    rows, _ = rt.results_table(results, "queries", db_labels, q_labels, n_boot=50)
    expected = rt.chance_metrics(15, np.array([4, 6]))  # the whole database, ranked
    assert rows.iloc[-1]["P@1"] == pytest.approx(float(np.mean(expected["P@1"])))
    with pytest.raises(ValueError, match="'loo' or 'queries'"):
        rt.chance_row("queries", db_labels)  # without the queries' labels


def test_queries_found_in_the_database_are_flagged_and_folds_must_be_whole():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 25)
    db = rng.standard_normal((100, 16)).astype(np.float32) + labels[:, None] * 0.3
    with pytest.warns(UserWarning, match="4 of 4 queries equal a database vector"):
        rt.rank(db, labels, db[::25], labels[::25])   # P@1 = 1 for free
    # one feature under cosine is -1 or +1 for every image: no leak to report
    one = db[:, :1] - db[:, :1].mean()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rt.rank(one, labels, one[::25] * 1.5, labels[::25], metric="cosine")
    with pytest.raises(ValueError, match="whole number >= 2"):
        rt.stratified_folds(labels, 2.5)             # gave 3 uneven folds
    images = rng.integers(0, 256, (6, 3, 4, 4), dtype=np.uint8)
    images[4] = images[1]
    assert [g.tolist() for g in rt.duplicate_images(images)] == [[1, 4]]
    framed = np.zeros((2, 3, 8, 8), np.uint8)
    framed[:, 0, :2] = framed[:, 0, -2:] = 200      # red top and bottom rows
    assert rt.red_frame_share(framed) == 1.0 and rt.red_frame_share(images) < 1.0


def test_label_helpers_want_class_indices():
    with pytest.raises(ValueError, match="class indices 0..n-1, got dtype <U"):
        rt.chance_row("loo", np.array(["a", "b", "a", "b"]))
    with pytest.raises(ValueError, match="class indices"):
        mlp_head.fit_mlp(np.zeros((4, 3), np.float32), np.array(["a", "b", "a", "b"]),
                         epochs=1)


def test_the_main_table_keeps_one_distance_the_chance_row_and_three_measures():
    labels = np.repeat(np.arange(3), 4)
    vectors = np.random.default_rng(0).normal(size=(12, 5))
    res = {"x": rt.evaluate(labels, labels[:3], vectors=(vectors, vectors[:3] + 0.1))}
    _, table = rt.results_table(res, "loo", labels, n_boot=50)
    main = rt.main_table(table)
    assert list(main.columns) == rt.MAIN_MEASURES
    assert list(main.index) == ["x", "chance (expected)"]
    # two such tables on one page once had the same headers and no caption
    assert rt.main_table(table, protocol="leave-one-out").index.name == (
        "leave-one-out, Euclidean: % [95% interval]")


def test_probe_z_retrieval_refuses_inputs_that_gave_plausible_wrong_numbers():
    rng = np.random.default_rng(0)
    a = rng.random(40)
    with pytest.raises(ValueError, match="0.05 for five points"):
        rt.compare(a, a - 0.3, n_boot=50, margin=5)  # was "comparable" at 31 points
    for low, high in ((float("nan"), float("nan")), (0.2, -0.2)):
        with pytest.raises(ValueError, match="finite interval"):
            rt.difference_word(low, high)
    with pytest.raises(ValueError, match="NaN or infinite"):
        rt.compare(np.r_[a, np.nan], np.r_[a, 0.0], n_boot=50)
    with pytest.raises(ValueError, match="class indices"):  # NaN labels got garbage folds
        rt.stratified_folds(np.r_[np.repeat(np.arange(3.0), 40), [np.nan] * 10], 5)
    scores = {"net": a, "pix": a - 0.1}
    with pytest.raises(ValueError, match="the string 'net'"):
        rt.reference_rows(["net"], {}, scores, "pix", n_boot=50, in_domain="net")
    with pytest.raises(ValueError, match="not percent"):
        rt.reference_rows(["net"], {"net": 85.2}, scores, "pix", n_boot=50)
    labels = np.repeat(np.arange(4), 6)
    x = rng.standard_normal((24, 8)).astype(np.float32) + labels[:, None]
    with pytest.raises(ValueError, match="all-zero query"):
        rt.rank(x, labels, np.zeros((2, 8)), labels[:2], metric="cosine")
    with pytest.raises(ValueError, match="one category"):
        rt.rank(x, np.zeros(24, int))
    with pytest.warns(UserWarning, match="equal a database vector"):
        rt.rank(x, labels, x[:3] + 1e-7, labels[:3])  # near copies: P@1 = 1 for free
    with pytest.raises(ValueError, match="labels of one kind"):
        rt.rank(x, labels, x[:2] + 1, labels[:2].astype(str))
    with pytest.raises(ValueError, match="the string 'cosine'"):
        rt.evaluate(labels, labels[:2], vectors=(x, x[:2] + 1), metrics="cosine")
    with pytest.raises(ValueError, match="leave folds out"):
        rt.evaluate(labels, labels[:2], vectors=(x, x[:2] + 1), folds=labels % 2)
    with pytest.raises(ValueError, match="at least 2 distinct folds"):
        rt.cross_fitted_rankings(labels, lambda train: x, np.zeros(24, int))
    with pytest.raises(ValueError, match="distance must be one of"):
        rt.main_table(None, "Euclidean")
    with pytest.raises(ValueError, match="protocol must be one of"):
        rt.table_rows({}, "LOO")
    framed = np.zeros((2, 3, 8, 8), np.uint8)
    framed[:, 0] = 200
    assert rt.red_frame_share(framed) == 1.0
    for bad in (framed.transpose(0, 2, 3, 1), framed / 255.0):  # both read 0.0: "no frame"
        with pytest.raises(ValueError):
            rt.red_frame_share(bad)
    with pytest.raises(ValueError, match="width"):
        rt.red_frame_share(framed, width=0)


def test_fit_embed_must_return_what_each_caller_reads():
    labels = np.repeat(np.arange(2), 6)
    x = np.random.default_rng(0).standard_normal((12, 4)).astype(np.float32) + labels[:, None]
    with pytest.raises(ValueError, match="must give a pair"):  # one array: two 1-row "pairs"
        rt.evaluate(labels, labels[:2], fit_embed=lambda train: x[:2], folds=labels % 2)
    with pytest.raises(ValueError, match="not a pair"):
        rt.cross_fitted_rankings(labels, lambda train: (x, x[:2]), np.arange(12) % 2)


def test_a_misspelt_in_domain_name_is_refused_not_counted_for_the_claim():
    a = np.random.default_rng(1).random(30)
    scores = {"net": a, "pix": a - 0.1}
    with pytest.raises(ValueError, match="names no network"):
        rt.reference_rows(["net"], {}, scores, "pix", n_boot=50, in_domain=["Net"])
    assert rt.reference_rows(["net"], {}, scores, "pix", n_boot=50,
                             in_domain=["net"])[0]["in domain"]


def test_probe_ai_shifted_query_labels_and_float64_rounding_are_named():
    # 1-based query labels against 0-based database labels once scored a plausible mAP
    # (0.33 for 0.75) when the queries lacked the last class
    rng = np.random.default_rng(0)
    lab = np.repeat(np.arange(4), 10)
    X = rng.standard_normal((40, 6)) + lab[:, None] * 1.5
    ql = np.array([0, 1, 2, 0, 1, 2])
    Q = rng.standard_normal((6, 6)) + ql[:, None] * 1.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        right = rt.query_metrics(rt.rank(X, lab, Q, ql))["AP"].mean()
    with pytest.warns(UserWarning, match=r"label \(query label - 1\) for 83% of the queries"):
        shifted = rt.query_metrics(rt.rank(X, lab, Q, ql + 1))["AP"].mean()
    assert shifted < right - 0.2  # what the warning is for
    # a database mostly of class 0, weak features, rare class-1 queries: no
    # numbering is wrong, and no warning
    db_lab = np.array([0] * 150 + [1] * 30)
    weak = rng.standard_normal((180, 6)) + db_lab[:, None] * 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rt.rank(weak, db_lab, rng.standard_normal((10, 6)) + 0.1, np.ones(10, int))
    # float64 features with a large offset once lost their spread in the float32 cast
    sig = rng.standard_normal((40, 6)) + lab[:, None] * 0.8
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clean = rt.query_metrics(rt.rank(sig, lab))["AP"].mean()
    with pytest.warns(UserWarning, match="rounds these values by 1% of their spread"):
        offset = rt.query_metrics(rt.rank(1e6 + 1e-2 * sig, lab))["AP"].mean()
    assert offset < clean - 0.1
    # the threshold is 1% (a warning at 10% once passed): rounding of 4% of the
    # spread warns, of 0.4% does not
    from rdsc.features import as_matrix
    with pytest.warns(UserWarning, match="rounds these values by 1% of their spread"):
        as_matrix(1e6 + sig / 6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        as_matrix(1e6 + 2 * sig)
    # a constant column float32 cannot hold (0.1, 17/255) moves no distance
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        as_matrix(np.column_stack([sig, np.full(40, 0.1), np.full(40, 17 / 255)]))
        as_matrix(np.column_stack([sig, 0.1 + 1e-12 * rng.standard_normal(40)]))
    with pytest.raises(ValueError, match="non-empty N x d matrix, got shape"):
        rt.rank(np.zeros((5, 0)), np.arange(5))  # no columns


def test_near_ties_of_count_features_are_ranked_exactly():
    """Distances were once float32 (under cosine, 133 neighbouring pairs of Corel at
    k = 512 in the wrong order) and tied within 1e-6 (69 distinct Euclidean pairs merged).
    Here two database vectors of counts (of 1,024) differ by two counts at k = 512; the
    order expected is computed exactly, in integers and fractions."""
    from fractions import Fraction
    k, den = 512, 1024
    a = np.full(k, 269, dtype=np.int64)
    a[2] = 270
    b = a.copy()
    b[0], b[1] = 270, 268  # squared norm 2 counts^2 larger: 3e-8 of the distance
    db = np.stack([b, a])
    for metric, query in (("euclidean", np.zeros(k, np.int64)),
                          ("cosine", np.arange(k, dtype=np.int64) % 7 + 1)):
        if metric == "euclidean":
            exact = [int(((v - query) ** 2).sum()) for v in db]
        else:  # compare 1 - cos by cos^2 (both cosines are positive)
            exact = [-Fraction(int(v @ query) ** 2, int(v @ v) * int(query @ query)) for v in db]
        assert exact[0] != exact[1]
        ranking = rt.rank(db / den, np.array([0, 1]), query[None] / den, np.array([1]),
                          metric=metric)
        assert ranking.indices[0].tolist() == list(np.argsort(exact, kind="stable")), metric
        assert len(np.unique(rt.tie_groups(ranking.distances))) == 2, metric  # not tied
    # identical vectors still tie
    ranking = rt.rank(np.stack([a, a, b]) / den, np.array([0, 1, 1]), np.zeros((1, k)),
                      np.array([1]))
    assert rt.tie_groups(ranking.distances)[0].tolist() == [0, 0, 1]


def test_map_figure_never_draws_a_trained_network_in_a_random_feature_line_style():
    """The third trained network's line was once dotted, the random features' cosine
    line's style, so a reader without colour could not tell them apart."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from rdsc import plots
    curves = pd.DataFrame({"representation": ["a", "a"], "n": [1, 2], "P@n (%)": [30., 20.]})
    k_rows = pd.DataFrame([{"k": k, "distance": d, "AP": 0.3, "AP low": 0.2, "AP high": 0.4}
                           for k in (10, 100) for d in ("euclidean", "cosine")])
    trained = {"net A": 0.4, "net B": 0.35, "net C": 0.25}
    fig = plots.precision_and_map(curves, 10.0, k_rows, trained)
    # the dash pattern itself: get_linestyle() names every custom pattern "--"
    lines = {ln.get_label(): str(ln._unscaled_dash_pattern) for ln in fig.axes[1].get_lines()}
    random_styles = {lines["random features, euclidean"], lines["random features, cosine"]}
    trained_styles = [lines[name] for name in trained]
    assert len(set(trained_styles)) == len(trained)
    assert not random_styles & set(trained_styles), lines
    plt.close(fig)


def test_reference_rows_name_what_their_scores_lack():
    """A control missing from scores once raised a bare KeyError: 'pixels', and a
    repeated name read "for the A and the A"."""
    a = np.linspace(0, 1, 20)
    with pytest.raises(ValueError, match="no per-query scores for pixels"):
        rt.reference_rows(["A"], {}, {"A": a}, "pixels")
    with pytest.raises(ValueError, match="repeats a network"):
        rt.reference_rows(["A", "A"], {}, {"A": a, "pixels": a}, "pixels")
