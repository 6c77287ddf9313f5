"""Chapter 8's retrieval half, on Corel: leave-one-out precision of database versions with
the ring or the centre greyed, and partial correlations of feature distances with ring and
centre colour.
"""
from __future__ import annotations

import numpy as np
import torch

from rdsc.background.conditions import _check_images, _check_mask, fill, grayscale, grey_level, slug
from rdsc.checks import seed_number, whole_number
from rdsc.intervals import bootstrap_seeds_and_images as bootstrap
from rdsc.representations import colour_histogram
from rdsc.retrieval import tie_groups


def precision_at(features, labels, n: int) -> np.ndarray:
    """Leave-one-out retrieval: for each image, the share of its ``n`` nearest other images
    (Euclidean) that have its label, images tied at the ``n``-th distance counted as the
    mean over their orders (:func:`rdsc.retrieval.tie_groups`). Returns one precision per
    image."""
    from rdsc.features import as_matrix
    x = torch.as_tensor(as_matrix(features))  # NaN or inf gave plausible precisions
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(x) != len(labels):  # N x 1 failed later, in the bootstrap
        raise ValueError(f"features {tuple(x.shape)} must be N x d with one label per row "
                         f"(labels: shape N, got {labels.shape})")
    n = whole_number("n", n)
    if not 1 <= n < len(labels):
        raise ValueError(f"n must be in 1..{len(labels) - 1}, got {n}")
    d = torch.cdist(x.double(), x.double())
    d.fill_diagonal_(float("inf"))
    distances, order = torch.sort(d, dim=1, stable=True)
    distances, order = distances[:, :-1].numpy(), order[:, :-1].numpy()  # self is last
    relevant = labels[order] == labels[:, None]
    # ties at the n-th place count as the mean over their orders, as chapter 6's scores
    # do (they were once broken by image order, and Corel is stored class by class)
    groups = tie_groups(distances)
    straddling = groups[:, n - 1:n]
    before, tied = groups < straddling, groups == straddling
    hits = ((relevant & before).sum(1)
            + (relevant & tied).sum(1) * (n - before.sum(1)) / tied.sum(1))
    return hits / n


def l1_distances(x) -> np.ndarray:
    """``N x N`` L1 distances between the rows of ``x``.

    For histograms this is twice the total variation.
    """
    x = torch.as_tensor(np.asarray(x, dtype=np.float64))
    return torch.cdist(x, x, p=1).numpy()


def euclidean_distances(x) -> np.ndarray:
    """``N x N`` Euclidean (L2) distances between the rows of ``x``."""
    x = torch.as_tensor(np.asarray(x, dtype=np.float64))
    return torch.cdist(x, x).numpy()


def partial_correlation(y: np.ndarray, x: np.ndarray, controls: np.ndarray) -> float:
    """Correlation of ``y`` and ``x`` after removing from both their least-squares fit on
    ``controls`` (``m x c``) and a constant."""
    y, x = np.asarray(y, np.float64), np.asarray(x, np.float64)
    design = np.column_stack([np.ones(len(y)), controls])
    if not (np.isfinite(y).all() and np.isfinite(x).all() and np.isfinite(design).all()):
        raise ValueError("partial_correlation needs finite values (a NaN distance?)")
    ry = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    rx = x - design @ np.linalg.lstsq(design, x, rcond=None)[0]
    # nothing left once the controls are removed (a constant y once gave 0.164,
    # a correlation of rounding noise): no correlation to speak of
    for residual, values in ((ry, y), (rx, x)):
        if np.linalg.norm(residual) <= 1e-9 * max(np.linalg.norm(values), 1e-300):
            return float("nan")
    return float((ry @ rx) / np.sqrt((ry @ ry) * (rx @ rx)))


def distance_partial_correlations(D_feature, D_border, D_centre, labels,
                                  index: np.ndarray | None = None) -> dict[str, float]:
    """How much of the feature distance between two images their border and centre colours explain.

    Over the pairs of distinct images (``index`` selects images, repeats allowed, as in a
    bootstrap; pairs of an image with itself are left out):

    * ``border``: partial correlation of feature distance with border-histogram distance,
      the centre-histogram distance and "same category" held fixed;
    * ``centre``: the same with border and centre swapped;
    * ``border_raw`` / ``centre_raw``: the plain correlations.
    """
    labels = np.asarray(labels)
    n = len(labels)
    for name, D in (("D_feature", D_feature), ("D_border", D_border), ("D_centre", D_centre)):
        if np.shape(D) != (n, n):  # a smaller matrix or fewer labels used a subset silently
            raise ValueError(f"{name} must be N x N for the N = {n} labels, got {np.shape(D)}")
    index = np.arange(len(labels)) if index is None else np.asarray(index)
    a, b = np.triu_indices(len(index), 1)
    a, b = index[a], index[b]
    keep = a != b
    a, b = a[keep], b[keep]
    f = np.asarray(D_feature)[a, b]
    bd, cd = np.asarray(D_border)[a, b], np.asarray(D_centre)[a, b]
    same = (labels[a] == labels[b]).astype(np.float64)
    return {"border": partial_correlation(f, bd, np.column_stack([cd, same])),
            "centre": partial_correlation(f, cd, np.column_stack([bd, same])),
            "border_raw": float(np.corrcoef(f, bd)[0, 1]),
            "centre_raw": float(np.corrcoef(f, cd)[0, 1])}


#: the rows of :func:`partial_correlation_table`, named for the reader
PARTIAL_ROWS = {"border": "ring colour | centre colour, category",
                "centre": "centre colour | ring colour, category",
                "border_raw": "ring colour (plain correlation)",
                "centre_raw": "centre colour (plain correlation)"}


def partial_correlation_table(D_features: dict, D_border, D_centre, labels, n_boot: int,
                              seed: int = 0):
    """:func:`distance_partial_correlations` averaged over the networks (``D_features``:
    ``{seed: N x N feature distances}``), with a 95% percentile interval from a bootstrap
    over networks and images: each replicate draws the networks with replacement and the
    images with replacement, and averages over the drawn networks on the same drawn images
    (so the interval is that of the same average as the estimate).

    Returns a DataFrame indexed by :data:`PARTIAL_ROWS`, columns ``estimate``, ``low``,
    ``high`` and ``undefined resamples``: how many replicates left nothing to correlate
    (a resample of few images can repeat one pair pattern). Any such replicate withholds the
    interval (NaN), for one over the defined replicates only would be conditional on them;
    the count says how near the interval came.
    """
    import pandas as pd
    whole_number("n_boot", n_boot, at_least=2)
    nets = list(D_features)
    if not nets:
        raise ValueError("partial_correlation_table needs at least one network")
    n = len(np.asarray(labels))

    def averaged(drawn, index=None):  # an undefined (NaN) correlation is not skipped
        return pd.DataFrame([distance_partial_correlations(D_features[s], D_border, D_centre,
                                                           labels, index)
                             for s in drawn]).mean(skipna=False)
    gen = np.random.default_rng(seed_number(seed))
    boot = pd.DataFrame([averaged([nets[i] for i in gen.integers(0, len(nets), len(nets))],
                                  gen.integers(0, n, n))
                         for _ in range(int(n_boot))])
    undefined = boot.isna().sum()  # an interval over the defined replicates only would lie
    return pd.DataFrame({"estimate": averaged(nets),
                         "low": boot.quantile(0.025).mask(undefined > 0),
                         "high": boot.quantile(0.975).mask(undefined > 0),
                         "undefined resamples": undefined}).rename(index=PARTIAL_ROWS)


def database_versions(images: torch.Tensor, centre: torch.Tensor) -> dict[str, torch.Tensor]:
    """The four versions of a retrieval database the chapter searches, each within itself:
    ``as it is``, ``ring grey`` (outside ``centre``, the images' mean grey), ``centre grey``
    (the control: greying any region may cost precision, so the ring's cost is read beside
    the centre's) and ``grayscale``."""
    _check_images(images)
    _check_mask(centre, images, "centre")
    grey = grey_level(images)
    return {"as it is": images, "ring grey": fill(images, ~centre, grey),
            "centre grey": fill(images, centre, grey), "grayscale": grayscale(images)}


def retrieval_precision(nets: dict, versions: dict, labels, n: int, *, name: str = "corel",
                        device=None, cache=True) -> tuple[dict, dict]:
    """Leave-one-out precision at ``n`` (:func:`precision_at`) of every database version,
    for the random networks and for the whole image's colour histogram.

    ``nets``: ``{seed: network}``; ``versions``: :func:`database_versions`. Features are
    cached as ``bg-<name>-<slug(version)>``. Returns ``(precision, features)``:
    ``{(representation, version): seeds x N precision}`` (one row for the histogram)
    and ``{seed: N x k features of "as it is"}`` for the distance analysis.
    """
    from rdsc.features import extract
    precision, features = {}, {}
    for seed, net in nets.items():
        for version, images in versions.items():
            f = extract(net, images, cache=cache, name=f"bg-{name}-{slug(version)}",
                        device=device, progress=False)[:]
            if version == "as it is":
                features[seed] = f
            precision.setdefault(("random network", version), []).append(
                precision_at(f, labels, n))
    for version, images in versions.items():
        precision[("colour histogram", version)] = [
            precision_at(colour_histogram(images), labels, n)]
    return {key: np.stack(v) for key, v in precision.items()}, features


def precision_rows(precision: dict, n_boot: int, n: int) -> list[dict]:
    """One row per ``(representation, version)`` of :func:`retrieval_precision`: the mean
    precision at ``n`` (%) with its bootstrap interval over networks and images. ``n``:
    the one given to :func:`retrieval_precision` (it names the column)."""
    rows = []
    for (rep, version), p in precision.items():
        est, lo, hi = bootstrap(lambda a: a["p"].mean(), {"p": p}, n_boot=n_boot)
        rows.append({"representation": rep, "database": version,
                     f"precision@{n} (%)": 100 * est, "low": 100 * lo, "high": 100 * hi})
    return rows


def precision_drops(precision: dict, n_boot: int = 1000) -> dict[tuple, tuple]:
    """What each altered version costs: ``{(representation, version): (estimate, low,
    high)}`` of precision as it is minus precision of the version, paired over the same
    networks and images (fractions)."""
    return {(rep, version): _held(precision[rep, "as it is"], p, n_boot)
            for (rep, version), p in precision.items() if version != "as it is"}


def _held(a, b, n_boot: int) -> tuple[float, float, float]:
    """``mean(a - b)`` (``seeds x N`` or ``N``, paired) with its bootstrap interval over
    networks and queries, held to the sign test of the per-query differences where few
    queries differ (:func:`rdsc.intervals.hold_zero_unless_signs`)."""
    from rdsc.intervals import hold_zero_unless_signs
    interval = bootstrap(lambda x: (x["a"] - x["b"]).mean(), {"a": a, "b": b}, n_boot=n_boot)
    per_query = np.atleast_2d(np.asarray(a, float) - np.asarray(b, float)).mean(0)
    return hold_zero_unless_signs(per_query, interval)


def centre_minus_ring(precision: dict, n_boot: int = 1000) -> dict[str, tuple]:
    """How much more greying the centre costs than greying the ring: ``{representation:
    (estimate, low, high)}`` of precision with the ring grey minus precision with the centre
    grey, paired over the same networks and images (fractions; above 0: the centre's loss is
    the larger). Needs both versions of :func:`database_versions`."""
    return {rep: _held(p, precision[rep, "centre grey"], n_boot)
            for (rep, version), p in precision.items() if version == "ring grey"}
