"""Image retrieval: rank a database by nearest neighbours, score the ranking, compare methods.

A *representation* maps images to vectors (``N x d``). Retrieval ranks every database image
for a query by its distance to the query (scikit-learn's ``NearestNeighbors``, Euclidean or
cosine). A database image is *relevant* when it has the query's category. For one query
with ``N`` ranked database images of which ``R`` are relevant, ``rel_i`` = 1 when the image
at rank ``i`` is relevant:

* precision at ``n``: ``P@n = (rel_1 + ... + rel_n) / n``;
* R-precision: ``P@R`` (``R`` = the number of relevant images in the database);
* average precision: ``AP = (1/R) * sum over relevant ranks i of P@i``; its mean over the
  queries is the *mean average precision* (mAP).

Ties (equal distances) are scored as the mean over all orders of the tied images
(McSherry & Najork 2008), so the score never depends on how a sort happened to break them.

Leave-one-out: every database image queries the other ``N - 1``. Representations that are
fitted with labels are *cross-fitted*: the database is split into folds and a query is
embedded only by a model fitted without its fold (:func:`cross_fitted_rankings`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from rdsc.checks import name_list, number_between, one_of, seed_number, whole_number
from rdsc.data import class_indices, pixel_images
from rdsc.features import as_matrix
from rdsc.intervals import bootstrap_interval, paired_mean_difference

PRECISION_AT = (1, 5, 10, 20, 50)
METRICS = tuple(f"P@{n}" for n in PRECISION_AT) + ("R-precision", "AP")
DISTANCES = ("euclidean", "cosine")
#: What the authors' query image of each Corel folder shows (looked at, not computed: the
#: folders are only numbered, and their database images vary more than one word says)
COREL_QUERY_SUBJECTS = {"100": "ruins", "200": "peaches", "300": "coast", "400": "woman",
                        "500": "horses", "600": "vintage car", "700": "rose",
                        "800": "aeroplane"}


# --- ranking ---------------------------------------------------------------------------------

@dataclass
class Ranking:
    """The database ranked for each query.

    ``indices``: ``Q x M`` database rows, nearest first; ``distances``: ``Q x M``, ascending;
    ``relevant``: ``Q x M`` bool, the ranked image has the query's category;
    ``n_relevant``: ``Q``, relevant images among the ``M`` ranked (``R``).
    """

    indices: np.ndarray
    distances: np.ndarray
    relevant: np.ndarray
    n_relevant: np.ndarray


def rank(database, database_labels, queries=None, query_labels=None,
         metric: str = "euclidean") -> Ranking:
    """Rank all of ``database`` (``N x d``) for each query (``Q x d``) with ``NearestNeighbors``.

    ``queries=None``: leave-one-out, each database row queries the other ``N - 1`` (scikit-learn
    leaves the row itself out by index, so a duplicate image is still ranked).
    """
    from sklearn.neighbors import NearestNeighbors
    if metric not in DISTANCES:
        raise ValueError(f"metric must be one of {DISTANCES}, got {metric!r}")
    # in float64: float32 distances misordered near-ties (133 neighbouring
    # pairs under cosine at k = 512), and a tie tolerance that absorbs float32 rounding
    # merged distinct distances
    db = as_matrix(database, "database").astype(np.float64)
    db_labels = np.asarray(database_labels)
    if db_labels.shape != (len(db),):
        raise ValueError(f"database_labels must have one label per database row ({len(db)}), "
                         f"got shape {db_labels.shape}")
    if metric == "cosine" and (np.linalg.norm(db, axis=1) == 0).any():
        raise ValueError("cosine distance is undefined for an all-zero database vector")
    nn_index = NearestNeighbors(metric=metric, algorithm="brute").fit(db)
    if queries is None:
        if len(db) < 2:
            raise ValueError("leave-one-out needs at least 2 database images")
        distances, indices = nn_index.kneighbors(None, n_neighbors=len(db) - 1)
        q_labels = db_labels
        repeats = len(db) - len(np.unique(db, axis=0))
        if repeats and db.shape[1] > 1:
            # a database holding each image twice once gave P@1 = 1.0 in silence (the
            # mode with queries warns about copies of a query)
            import warnings
            warnings.warn(f"{repeats} of {len(db)} database vectors repeat another: in "
                          "leave-one-out each copy finds its twin first (distance 0), which "
                          "raises precision; drop the repeats "
                          "(rdsc.retrieval.duplicate_images finds identical images)",
                          stacklevel=2)
    else:
        q = as_matrix(queries, "queries").astype(np.float64)
        if q.shape[1] != db.shape[1]:
            raise ValueError(f"queries have {q.shape[1]} dimensions, the database {db.shape[1]}")
        q_labels = np.asarray(query_labels)
        if q_labels.shape != (len(q),):
            raise ValueError(f"query_labels must have one label per query ({len(q)}), "
                             f"got shape {q_labels.shape}")
        numeric = [np.issubdtype(x.dtype, np.number) for x in (q_labels, db_labels)]
        if numeric[0] != numeric[1]:  # "3" never equals 3 (int and uint labels compare)
            raise ValueError(f"query_labels ({q_labels.dtype}) and database_labels "
                             f"({db_labels.dtype}) must be labels of one kind")
        if metric == "cosine" and (np.linalg.norm(q, axis=1) == 0).any():
            raise ValueError("cosine distance is undefined for an all-zero query vector "
                             "(every database image would tie: a chance ranking)")
        distances, indices = nn_index.kneighbors(q, n_neighbors=len(db))
        if all(numeric):
            _warn_if_shifted(q_labels, db_labels[indices[:, 0]], db_labels)
        # a copy (or a recomputed, re-encoded copy) of a database vector: distance ~0
        scale = float(np.median(distances)) if distances.size else 0.0
        found = int((np.all(q == db[indices[:, 0]], axis=1)
                     | (distances[:, 0] <= 1e-6 * scale)).sum())
        # a query in the database finds itself first: P@1 = 1 for free (not said in one
        # dimension, where distinct images share values: under cosine all are -1 or +1)
        if found and db.shape[1] > 1:
            import warnings
            warnings.warn(f"{found} of {len(q)} queries equal a database vector: are the "
                          "queries (or copies of them) in the database? they find themselves "
                          "first; use queries=None (leave-one-out) for database images",
                          stacklevel=2)
    relevant = db_labels[indices] == q_labels[:, None]
    n_relevant = relevant.sum(1)
    if (n_relevant == 0).any():
        raise ValueError("a query's category has no image in the database: precision is undefined")
    if (n_relevant == relevant.shape[1]).all():
        raise ValueError("every ranked image is relevant to every query (one category): "
                         "precision would be 1 for any representation")
    return Ranking(indices, distances, relevant, n_relevant)


def _warn_if_shifted(query_labels: np.ndarray, nearest_labels: np.ndarray,
                     database_labels: np.ndarray) -> None:
    """Warn where the queries' nearest database images agree far better with the query
    labels shifted by one than with the labels as given (1-based query labels
    against a 0-based database once scored a plausible mAP, 0.33 for 0.75, without a word):
    in most queries, well above how common the shifted labels are in the database, and for
    at least two query classes (a numbering shifts every class; a database
    mostly of class 0 with rare class-1 queries once set it off)."""
    if len(query_labels) < 5:  # too few queries to tell a shift from chance
        return
    agree = float(np.mean(nearest_labels == query_labels))
    kinds, counts = np.unique(database_labels, return_counts=True)
    rate = dict(zip(kinds.tolist(), (counts / counts.sum()).tolist()))
    for shift in (-1, 1):
        wanted = query_labels - shift
        hits = nearest_labels == wanted
        shifted = float(np.mean(hits))
        base = float(np.mean([rate.get(w, 0.0) for w in wanted.tolist()]))
        explained = {c for c in np.unique(query_labels).tolist()
                     if np.mean(hits[query_labels == c]) > 0.5}
        if (shifted >= 0.5 and shifted > 2 * agree and shifted > base + 0.5 * (1 - base)
                and len(explained) >= 2):
            import warnings
            order = ("the queries from 1, the database from 0" if shift > 0 else
                     "the queries from 0, the database from 1")
            warnings.warn(
                f"the nearest database image has label (query label {'-' if shift > 0 else '+'}"
                f" 1) for {shifted:.0%} of the queries, the query's own label for {agree:.0%}:"
                f" are the labels numbered from different starts ({order})?", stacklevel=3)


def stack_rankings(parts: list[Ranking], rows: list[np.ndarray], n_queries: int) -> Ranking:
    """One ranking from ``parts``, part ``j`` giving the queries ``rows[j]`` (in that order)."""
    width = parts[0].indices.shape[1]
    out = Ranking(np.empty((n_queries, width), np.int64), np.empty((n_queries, width)),
                  np.empty((n_queries, width), bool), np.empty(n_queries, np.int64))
    filled = np.zeros(n_queries, bool)
    for part, r in zip(parts, rows):
        out.indices[r], out.distances[r] = part.indices, part.distances
        out.relevant[r], out.n_relevant[r] = part.relevant, part.n_relevant
        filled[r] = True
    if not filled.all():
        raise ValueError(f"{int((~filled).sum())} queries are in no part")
    return out


# --- metrics ---------------------------------------------------------------------------------

#: distances within this fraction of each other are tied: the float64 distances of two
#: identical vectors differ in the last bits, while those of distinct count features
#: differ by at least about 1e-11 of the distance at the paper's k (1e-6, for
#: float32 distances, tied 69 distinct pairs of 184,040 at k = 512)
TIE_RTOL = 1e-13


def tie_groups(distances: np.ndarray, rtol: float = TIE_RTOL) -> np.ndarray:
    """``Q x M`` ascending distances -> ``Q x M`` group ids: consecutive equal distances share one.

    Equal means within ``rtol`` of the larger distance (plus 1e-12 of the row's largest,
    for distances near 0): the brute-force distances of two identical vectors to a query
    can differ in the last bits. Both tolerances are relative, so scaling the features by
    any factor changes no tie (an absolute 1e-12 once tied every image of features scaled
    to 1e-12: a chance ranking).
    """
    d = np.asarray(distances, dtype=np.float64)
    finite = np.where(np.isfinite(d), np.abs(d), 0.0)
    atol = 1e-12 * finite.max(axis=1, keepdims=True) if d.size else 0.0
    with np.errstate(invalid="ignore"):  # inf - inf: equal infinities tie below
        same = np.abs(d[:, 1:] - d[:, :-1]) <= atol + rtol * finite[:, 1:]
    same |= d[:, 1:] == d[:, :-1]
    return np.concatenate([np.zeros((len(d), 1), np.int64), np.cumsum(~same, axis=1)], axis=1)


def _expected_hits(relevant: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expected relevant count in the top ``n`` (``n = 1..M``) and expected AP sum, one query.

    Within a tied group of ``g`` images at ranks ``s+1..s+g`` with ``r`` relevant and ``c``
    relevant before it, every order is equally likely: rank ``s+j`` is relevant with
    probability ``r/g``, and given that, the expected relevant count up to it is
    ``c + 1 + (j-1)(r-1)/(g-1)``.
    """
    m = len(relevant)
    cum = np.empty(m)
    ap_sum, c, start = 0.0, 0.0, 0
    bounds = np.flatnonzero(np.diff(groups)) + 1
    for end in list(bounds) + [m]:
        g, r = end - start, float(relevant[start:end].sum())
        j = np.arange(1, g + 1)
        cum[start:end] = c + r * j / g
        if r:
            inner = (r - 1) / (g - 1) if g > 1 else 0.0
            ap_sum += float(np.sum((r / g) * (c + 1 + (j - 1) * inner) / (start + j)))
        c += r
        start = end
    return cum, ap_sum


def query_metrics(ranking: Ranking, ks=PRECISION_AT, rtol: float = TIE_RTOL
                  ) -> dict[str, np.ndarray]:
    """Per-query ``P@n`` for ``n`` in ``ks``, R-precision and AP (each a ``Q`` array), tie-aware.

    ``P@n`` with ``n`` larger than the ranking is the precision of the whole ranking.
    """
    if any(isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1 for n in ks):
        raise ValueError(f"ks must be positive integers (P@n of the n nearest), got {ks}")
    groups = tie_groups(ranking.distances, rtol)
    q, m = ranking.relevant.shape
    out = {f"P@{n}": np.empty(q) for n in ks}
    out["R-precision"], out["AP"] = np.empty(q), np.empty(q)
    for i in range(q):
        cum, ap_sum = _expected_hits(ranking.relevant[i], groups[i])
        for n in ks:
            top = min(n, m)
            out[f"P@{n}"][i] = cum[top - 1] / top
        big_r = int(ranking.n_relevant[i])
        out["R-precision"][i] = cum[big_r - 1] / big_r
        out["AP"][i] = ap_sum / big_r
    return out


def chance_metrics(n_ranked, n_relevant, ks=PRECISION_AT) -> dict[str, np.ndarray]:
    """Expected metrics of a random ranking of ``n_ranked`` images, ``n_relevant`` of them relevant.

    ``P@n`` and R-precision: ``R/N``. AP: ``(1/N) * (H_N + (R-1)/(N-1) * (N - H_N))`` with
    ``H_N`` the ``N``-th harmonic number (the tie formula above with one group of ``N``).
    ``n_ranked``: one count, or one per query as ``n_relevant`` is.
    """
    for name, v in (("n_ranked", n_ranked), ("n_relevant", n_relevant)):
        v = np.asarray(v, float)
        if not np.isfinite(v).all() or (v != np.round(v)).any():
            raise ValueError(f"{name} must be whole counts, got {v.tolist()}")
    for k in ks:
        whole_number("each of ks", k)
    n = np.broadcast_to(np.asarray(n_ranked, float), np.shape(n_relevant)).astype(float)
    r = np.asarray(n_relevant, float)
    if (r < 1).any() or (r > n).any():  # R > N gave an AP above 1
        raise ValueError(f"need 1 <= n_relevant <= n_ranked, got n_relevant {n_relevant} of "
                         f"{n_ranked}")
    harmonic = np.array([np.sum(1.0 / np.arange(1, int(v) + 1))
                         for v in np.ravel(n)]).reshape(n.shape)
    share = r / n
    out = {f"P@{k}": share for k in ks}
    out["R-precision"] = share
    out["AP"] = (harmonic + np.where(n > 1, (r - 1) / np.maximum(n - 1, 1), 0) * (n - harmonic)) / n
    return out


# --- cross-fitting ---------------------------------------------------------------------------

def stratified_folds(labels, n_folds: int, seed: int = 0) -> np.ndarray:
    """Fold id (``0..n_folds-1``) per item, each class spread evenly over the folds.
    ``labels``: one class index per item, length ``N``."""
    labels = class_indices(labels)
    if labels.ndim != 1 or len(labels) == 0:
        raise ValueError(f"labels must be 1-D, one per item, got shape {labels.shape}")
    if isinstance(n_folds, bool) or not isinstance(n_folds, (int, np.integer)) or n_folds < 2:
        raise ValueError(f"n_folds must be a whole number >= 2, got {n_folds!r}")
    smallest = int(np.bincount(np.unique(labels, return_inverse=True)[1]).min())
    if smallest < 2:  # no number of folds would do (it once advised "at most 1")
        raise ValueError(f"cross-fitting needs at least 2 items of every class; the "
                         f"smallest class has {smallest} of the {len(labels):,} items")
    if smallest < n_folds:  # every fold needs an item of every class
        raise ValueError(f"n_folds={n_folds} exceeds the size of the smallest class "
                         f"({smallest} of the {len(labels):,} items): give n_folds of at "
                         f"most {smallest}, or more items")
    rng = np.random.default_rng(seed_number(seed))
    fold = np.empty(len(labels), np.int64)
    offset = 0
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        fold[idx] = (np.arange(len(idx)) + offset) % n_folds
        offset += len(idx)   # so the remainders of the classes fall in different folds
    return fold


def cross_fitted_rankings(labels, fit_embed: Callable[[np.ndarray], np.ndarray], folds: np.ndarray,
                          metrics=("euclidean",)) -> tuple[dict[str, Ranking], list[np.ndarray]]:
    """Leave-one-out rankings where a query's own fold never trains the model that embeds it.

    For each fold ``f``: ``fit_embed(train_rows)`` fits a model on the database rows outside
    ``f`` and returns the ``N x d`` embedding of *all* database images under that model; the
    queries of fold ``f`` then rank the other ``N - 1`` images in that embedding (the database
    holds the model's training images, as it does for the 8 held-out queries).
    Returns ``{metric: ranking}`` and the training rows used for each fold.
    """
    labels = np.asarray(labels)
    folds = np.asarray(folds)
    metrics = _distances(metrics)
    if folds.shape != labels.shape:
        raise ValueError(f"folds must give one fold per image ({len(labels)}), got {folds.shape}")
    if len(np.unique(folds)) < 2:  # one fold: the model would train on no image
        raise ValueError("folds must hold at least 2 distinct folds")
    parts = {m: [] for m in metrics}
    rows, trained_on = [], []
    for f in np.unique(folds):
        train = np.flatnonzero(folds != f)
        embedding = fit_embed(train)
        if isinstance(embedding, (tuple, list)):
            raise ValueError("fit_embed must return one N x d embedding of the database "
                             "here, not a pair (evaluate's fit_embed returns the pair)")
        embedding = as_matrix(embedding, "embedding")
        if len(embedding) != len(labels):
            raise ValueError(f"fit_embed must embed all {len(labels)} images, got {len(embedding)}")
        held = np.flatnonzero(folds == f)
        for m in metrics:
            full = rank(embedding, labels, metric=m)
            parts[m].append(Ranking(full.indices[held], full.distances[held], full.relevant[held],
                                    full.n_relevant[held]))
        rows.append(held)
        trained_on.append(train)
    return {m: stack_rankings(parts[m], rows, len(labels)) for m in metrics}, trained_on


def evaluate(database_labels, query_labels, *, vectors=None, fit_embed=None, folds=None,
             metrics=DISTANCES, ks=PRECISION_AT) -> dict:
    """Score one representation on the held-out queries and by leave-one-out over the database.

    Give either ``vectors = (database N x d, queries Q x d)`` (no labels used) or
    ``fit_embed(train_rows) -> (database N x d, queries Q x d)``, a model fitted on the database
    rows ``train_rows`` (then ``folds``, one per database image, cross-fit the leave-one-out).
    Returns ``{"queries" | "loo": {metric: {"ranking": Ranking, "scores": query_metrics}}}``.
    """
    if (vectors is None) == (fit_embed is None):
        raise ValueError("give exactly one of vectors (unlabelled) or fit_embed "
                         "(fitted with labels)")
    if vectors is not None and folds is not None:
        raise ValueError("folds cross-fit a representation fitted with labels (fit_embed); "
                         "vectors are not fitted: leave folds out")
    metrics = _distances(metrics)
    db_labels = np.asarray(database_labels)
    out = {"queries": {}, "loo": {}}
    if vectors is not None:
        db, q = _pair(vectors, "vectors")
        loo = {m: rank(db, db_labels, metric=m) for m in metrics}
    else:
        if folds is None:
            raise ValueError("a representation fitted with labels needs folds for leave-one-out")
        db, q = _pair(fit_embed(np.arange(len(db_labels))))
        loo, _ = cross_fitted_rankings(db_labels, lambda train: _pair(fit_embed(train))[0],
                                       folds, metrics)
    for m in metrics:
        held = rank(db, db_labels, q, query_labels, metric=m)
        out["queries"][m] = {"ranking": held, "scores": query_metrics(held, ks)}
        out["loo"][m] = {"ranking": loo[m], "scores": query_metrics(loo[m], ks)}
    return out


def _pair(result, what: str = "fit_embed") -> tuple:
    """``(database N x d, queries Q x d)``, refusing anything else (one array of two rows
    would unpack into two "matrices" of one row each)."""
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise ValueError(f"{what} must give a pair (database N x d, queries Q x d), got "
                         f"{type(result).__name__}")
    return tuple(result)


def _distances(metrics) -> tuple[str, ...]:
    """``metrics`` as a tuple of distances, each one of :data:`DISTANCES` ("cosine" alone
    is refused: it would be read as the letters c, o, s...)."""
    if isinstance(metrics, str):
        raise ValueError(f"metrics must be a list of distances among {list(DISTANCES)}, "
                         f"got the string {metrics!r}: write ({metrics!r},)")
    return tuple(one_of("each of metrics", m, DISTANCES) for m in metrics)


def summarise(scores: dict[str, np.ndarray], names=METRICS, n_boot: int = 2000,
              seed: int = 0) -> dict[str, tuple[float, float, float]]:
    """``{metric: (mean, low, high)}`` over queries, with 95% bootstrap intervals."""
    return {n: bootstrap_interval(scores[n], n_boot=n_boot, seed=seed) for n in names}


# --- the data's quirks ----------------------------------------------------------------------

def red_frame_share(images, width: int = 2) -> float:
    """Share of red pixels (R > 150, G and B < 90) in the outer ``width`` rows, top and
    bottom, of uint8 ``N x 3 x H x W`` images (the Corel query images carry a red frame)."""
    x = pixel_images(images).numpy().astype(int)  # floats or channels last: refused
    if x.shape[1] != 3:
        raise ValueError(f"red_frame_share needs RGB images, got {x.shape[1]} channel(s)")
    whole_number("width", width)
    if 2 * width > x.shape[2]:
        raise ValueError(f"width {width} covers more than half the image height {x.shape[2]}")
    red = (x[:, 0] > 150) & (x[:, 1] < 90) & (x[:, 2] < 90)
    return float(np.concatenate([red[:, :width].ravel(), red[:, -width:].ravel()]).mean())


def duplicate_images(images) -> list[np.ndarray]:
    """Groups of indices of byte-identical images (``N x ...`` array or tensor), each group
    of two or more, in order of first appearance."""
    import hashlib
    x = np.ascontiguousarray(np.asarray(images))
    groups: dict[bytes, list[int]] = {}
    for i in range(len(x)):
        groups.setdefault(hashlib.sha1(x[i].tobytes()).digest(), []).append(i)
    return [np.array(g) for g in groups.values() if len(g) > 1]


# --- tables and verdicts ---------------------------------------------------------------------

def table_rows(results: dict[str, dict], protocol: str, names=METRICS, n_boot: int = 2000,
               seed: int = 0) -> list[dict]:
    """One row per (representation, distance): ``mean [low, high]`` numbers of each metric.

    ``results``: ``{representation: evaluate(...)}``; ``protocol``: ``"queries"`` or ``"loo"``.
    """
    one_of("protocol", protocol, ("queries", "loo"))
    rows = []
    for rep, res in results.items():
        for metric, r in res[protocol].items():
            row = {"representation": rep, "distance": metric}
            for n, (m, lo, hi) in summarise(r["scores"], names, n_boot, seed).items():
                row[n], row[f"{n} low"], row[f"{n} high"] = m, lo, hi
            rows.append(row)
    return rows


def chance_row(protocol: str, db_labels, q_labels=None) -> dict:
    """The expected metrics of a random ranking, as a row of :func:`table_rows`
    (``representation`` "chance (expected)"): leave-one-out (``"loo"``: each database image
    ranks the other N - 1, of which its class's other images are relevant) or the queries
    (``"queries"``: ``q_labels`` against the whole database)."""
    db_labels = class_indices(db_labels)
    sizes = np.bincount(db_labels)
    if protocol == "loo":
        n_ranked, relevant = len(db_labels) - 1, sizes[db_labels] - 1
    elif protocol == "queries" and q_labels is not None:
        n_ranked = len(db_labels)
        q_labels = class_indices(q_labels, "q_labels")
        relevant = np.bincount(db_labels, minlength=int(np.max(q_labels)) + 1)[q_labels]
    else:
        raise ValueError(f"protocol must be 'loo' or 'queries' (with q_labels), got "
                         f"{protocol!r}")
    return {"representation": "chance (expected)", "distance": "",
            **{m: float(np.mean(v)) for m, v in chance_metrics(n_ranked, relevant).items()}}


def results_table(results: dict[str, dict], protocol: str, db_labels, q_labels=None,
                  n_boot: int = 2000, seed: int = 0):
    """:func:`table_rows` and the :func:`chance_row` below them, twice: as numbers (a
    DataFrame, one column per metric and its ``low`` / ``high``) and as the chapter shows
    them (``mean [low, high]`` in %, or ``mean [no spread]`` where every query scored the
    same, indexed by representation and distance; AP named mAP).
    Returns ``(rows, table)``."""
    import pandas as pd
    rows = pd.DataFrame(table_rows(results, protocol, n_boot=n_boot, seed=seed)
                        + [chance_row(protocol, db_labels, q_labels)])

    def cell(row, m):  # the chance row has no interval
        if pd.isna(row.get(f"{m} low")):
            return f"{100 * row[m]:.1f}"
        # every query scored alike: a bootstrap over them has nothing to resample, and
        # "[100, 100]" read as certainty
        if row[f"{m} low"] == row[f"{m} high"]:
            return f"{100 * row[m]:.1f} [no spread]"
        return (f"{100 * row[m]:.1f} [{100 * row[f'{m} low']:.0f}, "
                f"{100 * row[f'{m} high']:.0f}]")
    cells = {m: rows.apply(lambda r: cell(r, m), axis=1) for m in METRICS}
    table = pd.DataFrame({"representation": rows.representation,
                          "distance": rows.distance, **cells})
    return rows, table.set_index(["representation", "distance"]).rename(
        columns={"AP": "mAP"})


#: the measures a chapter's main table shows (the others stay in the full table)
MAIN_MEASURES = ["mAP", "P@10", "R-precision"]


def main_table(table, distance: str = "euclidean", protocol: str | None = None):
    """:func:`results_table`'s shown table cut to what a reader compares first: one
    distance (and the chance row) and :data:`MAIN_MEASURES`, indexed by representation.
    ``protocol`` (e.g. "leave-one-out") heads the index with the protocol, the distance
    and the unit, so two such tables on one page are told apart."""
    one_of("distance", distance, DISTANCES)
    keep = table.index.get_level_values("distance").isin([distance, ""])
    shown = table[keep][MAIN_MEASURES].droplevel("distance")
    if protocol is not None:
        shown = shown.rename_axis(f"{protocol}, {distance.capitalize()}: % [95% interval]")
    return shown


#: Two representations whose paired 95% interval lies within this many score units (5 points
#: of AP or P@n) count as comparable; an interval around 0 but wider says nothing either way.
EQUIVALENCE_MARGIN = 0.05


def compare(a, b, n_boot: int = 2000, seed: int = 0,
            margin: float = EQUIVALENCE_MARGIN) -> dict:
    """Paired comparison of two per-query score arrays (``a``, ``b``: one score per query,
    length ``N`` each, e.g. AP): ``a - b`` with its 95% interval and
    a word (:func:`difference_word`): ``comparable`` when the interval lies within
    ``±margin``; else ``higher`` / ``lower`` when it excludes 0; else ``indistinguishable``
    (too wide to tell)."""
    d, lo, hi = paired_mean_difference(a, b, n_boot=n_boot, seed=seed)
    return {"difference": d, "low": lo, "high": hi, "verdict": difference_word(lo, hi, margin)}


def difference_word(low: float, high: float, margin: float = EQUIVALENCE_MARGIN) -> str:
    """:func:`compare`'s word for an interval on a difference (score units): ``comparable``
    when it lies within ``±margin`` (an equivalence test: a small difference, even one that
    excludes 0, is within what the claim calls comparable), else ``higher`` / ``lower``
    when it excludes 0, else ``indistinguishable``. ``margin``: a fraction of the score
    (0.05: five points), as the interval is."""
    number_between("margin", margin, 0, 1, "in score units: 0.05 for five points")
    if not (np.isfinite(low) and np.isfinite(high)) or low > high:
        raise ValueError(f"need a finite interval low <= high, got [{low!r}, {high!r}]: NaN "
                         "scores?")
    if -margin < low and high < margin:
        return "comparable"
    return "higher" if low > 0 else "lower" if high < 0 else "indistinguishable"


def claim_word(low: float, high: float, margin: float = EQUIVALENCE_MARGIN) -> str:
    """The word :func:`rdsc.retrieval_words.claim_verdict` counts for the paper's claim
    ("comparable to trained networks", ahead counting for it) from the interval on the
    random features minus a network (score units): ``higher`` when it lies above 0,
    ``comparable`` when above ``-margin`` (at worst that far behind), ``lower`` when below
    ``-margin`` (behind by more), else ``indistinguishable``. Unlike
    :func:`difference_word`, monotone in the difference (an interval of
    [-6, -0.5] points, which fits a 0.5-point gap, read "below", against the claim; one of
    [-1, +6] read "too wide to tell")."""
    number_between("margin", margin, 0, 1, "in score units: 0.05 for five points")
    if not (np.isfinite(low) and np.isfinite(high)) or low > high:
        raise ValueError(f"need a finite interval low <= high, got [{low!r}, {high!r}]")
    return ("higher" if low > 0 else "comparable" if low > -margin else
            "lower" if high < -margin else "indistinguishable")


def reference_rows(names, held_out: dict[str, float], scores: dict[str, np.ndarray],
                   control: str, n_boot: int = 2000, seed: int = 0,
                   in_domain=()) -> list[dict]:
    """Is each trained network ``names`` a reference worth comparing with?

    ``scores[name]``: per-query AP of each representation (``control`` among them, the
    pixel control); ``held_out[name]``: the network's top-1 accuracy on images it was not
    trained on (missing: not measured). A trained network whose retrieval is not above the
    control's (paired interval) stands for nothing the paper meant by a trained network.
    ``in_domain``: the networks trained on the retrieval database itself (its own
    categories, which the random features never learned): marked, so that verdicts on
    the claim can leave them out.
    Returns one row per network: its held-out accuracy, mAP, the control's mAP, the
    difference with its interval (points), ``beats control`` and ``in domain``.
    """
    names, in_domain = name_list("names", names), set(name_list("in_domain", in_domain))
    if len(set(names)) < len(names):  # not "for the A and the A"
        raise ValueError(f"names repeats a network: {names}")
    missing = [n for n in [*names, control] if n not in scores]
    if missing:  # not a bare KeyError: 'pixels'
        raise ValueError(f"scores has no per-query scores for {', '.join(missing)} (it holds "
                         f"{', '.join(map(str, scores))})")
    if in_domain - set(names):  # a misspelt name would count the network for the claim
        raise ValueError(f"in_domain names no network of names: {sorted(in_domain - set(names))}")
    for name, accuracy in held_out.items():
        if name in names:
            number_between(f"held_out[{name!r}]", accuracy, -1e-9, 1 + 1e-9,
                           "a fraction of the images, not percent")
    rows = []
    for name in names:
        c = compare(scores[name], scores[control], n_boot=n_boot, seed=seed)
        rows.append({"trained network": name,
                     "held-out top-1 (%)": 100 * held_out[name] if name in held_out else None,
                     "mAP (%)": 100 * float(np.mean(scores[name])),
                     "control mAP (%)": 100 * float(np.mean(scores[control])),
                     "minus control (points)": 100 * c["difference"],
                     "low": 100 * c["low"], "high": 100 * c["high"],
                     "beats control": bool(c["low"] > 0),
                     "in domain": name in in_domain})
    return rows
