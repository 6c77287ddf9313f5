"""The random-hyperplane view of the first layer.

Every output position of the first convolution sees one ``K x K x C`` image patch
``p`` (a point in ``d = K*K*C`` dimensions) and computes ``sign(w . p + b)``: which
side of the hyperplane ``{p : w . p + b = 0}`` the patch lies on. Averaged over the
image, that is a statement about the image's *cloud of patches*: the fraction on each
side. These helpers compute the same quantities by counting patches, to check the
network against the geometry.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from rdsc.checks import ratio_apart, seed_number, whole_number


def image_patches(images: torch.Tensor, kernel_size: int, padding: int) -> torch.Tensor:
    """Float images ``N x C x H x W`` -> their patches, ``N x P x (C*K*K)``.

    Patches are flattened in the order of a convolution weight ``C x K x K``, so
    ``patches @ w.flatten()`` is the convolution's output at every position.
    """
    p = F.unfold(images, kernel_size, padding=padding)  # N x CKK x P
    return p.transpose(1, 2)


def _check_unit_pixels(patches: torch.Tensor) -> None:
    """Image patches of pixels in [0, 1], as the network sees them (the functions that
    compare with the network call this): on 0..255 values the biases, drawn for [0, 1],
    barely count and most features change (87.5% on CIFAR patches)."""
    if patches.numel() and float(patches.max()) > 1:
        raise ValueError(f"patch values reach {float(patches.max()):g}: 0..255 pixels? The "
                         "hyperplanes take pixels in [0, 1]: pass images / 255")


def side_counts(patches: torch.Tensor, w: torch.Tensor, b: float) -> dict[str, torch.Tensor]:
    """How many of each image's patches lie on each side of the hyperplane ``(w, b)``.

    ``patches``: ``N x P x d`` (any points: the geometry alone); ``w``: ``d`` (or any shape
    with ``d`` elements). Returns ``{"positive", "negative", "on"}``, each ``N`` counts.
    """
    return _side_counts(patches, w, b)


def _side_counts(patches, w, b) -> dict[str, torch.Tensor]:
    z = patches.double() @ w.flatten().double() + float(b)
    return {"positive": (z > 0).sum(1), "negative": (z < 0).sum(1), "on": (z == 0).sum(1)}


def fraction_feature(patches: torch.Tensor, w: torch.Tensor, b: float) -> torch.Tensor:
    """``(#positive - #negative) / P`` per image: ``2 * fraction_positive - 1`` when no patch
    is on it."""
    c = _side_counts(patches, w, b)
    return (c["positive"] - c["negative"]).double() / patches.shape[1]


def first_cutting_hyperplane(patches: torch.Tensor, weights: torch.Tensor,
                             biases: torch.Tensor, margin: float = 0.0) -> int | None:
    """The index of the first hyperplane that cuts every one of the given clouds of
    patches: leaves more than ``margin`` and less than ``1 - margin`` of each cloud's
    patches on its positive side (``margin`` 0: some patch of each cloud on each side);
    None when none of them does.

    ``patches``: ``M x P x d`` (the images to show); ``weights``: ``k x ...``; ``biases``:
    ``k``. (Once, for about one seed in five the first hyperplane left both images'
    patches all on one side, and the figure meant to show a cut showed none.)
    """
    _check_planes(weights, biases)
    _check_unit_pixels(patches)
    if not 0 <= margin < 0.5:  # at 0.5 or more no share lies strictly inside
        raise ValueError(f"margin is a share of the patches from 0 to below 0.5, got {margin!r}")
    z = patches.double() @ weights.flatten(1).double().T + biases.double()  # M x P x k
    share = (z > 0).double().mean(1)                                        # M x k
    cuts = ((share > margin) & (share < 1 - margin)).all(0)
    return int(cuts.nonzero()[0]) if bool(cuts.any()) else None


def share_percent(share: float) -> str:
    """A share of patches (a fraction) as a percentage: whole percent, or with up to two
    decimals where whole percent would read 0% or 100% of a share that is neither (once
    "cuts the clouds" beside "100% and 100%" for 99.78% and 99.89%), as
    :func:`rdsc.checks.ratio_apart` keeps a ratio apart from 1."""
    return ratio_apart(100 * share, 100.0 if share >= 0.5 else 0.0, digits=0) + "%"


def shares_verdict(shares) -> str:
    """What one hyperplane does to clouds of patches, given the share of each cloud on
    its positive side (fractions): "cuts the clouds in the same proportion" (as
    :func:`share_percent` prints them) or "in different proportions", or "leaves ...
    wholly on one side" when every patch of some cloud lies on one side."""
    shares = [float(v) for v in shares]
    if not all(0 <= v <= 1 for v in shares):
        raise ValueError(f"shares are fractions, 0 to 1, got {shares}")
    if any(v in (0.0, 1.0) for v in shares):
        return ("leaves at least one of the clouds wholly on one side (no hyperplane of "
                "this run cuts both)")
    return ("cuts the clouds in different proportions"
            if len({share_percent(v) for v in shares}) > 1
            else "cuts the clouds in the same proportion")


def n_cells(n_hyperplanes: int, dim: int) -> int:
    """Most regions ``n`` affine hyperplanes in general position cut ``R^dim`` into.

    ``sum_{i=0}^{dim} C(n, i)``: ``2^n`` while ``n <= dim``, then polynomial in ``n``.
    """
    if n_hyperplanes < 0 or dim < 0:
        raise ValueError(f"need counts of hyperplanes and dimensions of at least 0, got "
                         f"{n_hyperplanes} and {dim}")
    return sum(math.comb(n_hyperplanes, i) for i in range(min(dim, n_hyperplanes) + 1))


def log10_n_cells(n_hyperplanes: int, dim: int) -> float:
    """``log10`` of :func:`n_cells` (the count itself has thousands of digits at paper scale)."""
    return math.log10(n_cells(n_hyperplanes, dim))  # math.log10 takes integers of any size


def _check_planes(weights: torch.Tensor, biases: torch.Tensor) -> None:
    """One bias per hyperplane: ``zip`` would drop the hyperplanes past the last bias, and
    a single bias would be broadcast to all of them."""
    if torch.as_tensor(biases).ndim != 1 or len(biases) != len(weights):
        raise ValueError(f"need one bias per hyperplane: {len(weights)} weights, biases of "
                         f"shape {tuple(torch.as_tensor(biases).shape)}")


def occupied_cells(patches: torch.Tensor, weights: torch.Tensor, biases: torch.Tensor,
                   chunk: int = 100_000) -> int:
    """How many distinct cells of the hyperplanes ``(weights[i], biases[i])`` hold patches.

    ``patches``: ``... x d`` (all leading dimensions are pooled); ``weights``: ``k x d``;
    ``biases``: ``k``. A cell is identified by its ``k`` signs.
    """
    import numpy as np
    _check_planes(weights, biases)
    _check_unit_pixels(patches)
    flat = patches.reshape(-1, patches.shape[-1]).double()
    w, b = weights.reshape(len(weights), -1).double().T, biases.double()
    codes = []
    for lo in range(0, len(flat), chunk):
        signs = (flat[lo:lo + chunk] @ w + b > 0).numpy()
        codes.append(np.packbits(signs, axis=1))
    codes = np.concatenate(codes)
    return len(np.unique(codes.view(np.dtype((np.void, codes.shape[1])))))


def counted_features(patches: torch.Tensor, weights: torch.Tensor,
                     biases: torch.Tensor) -> torch.Tensor:
    """:func:`fraction_feature` for every hyperplane: ``N x k`` float64, by counting.

    ``patches``: ``N x P x d``; ``weights``: ``k x ...`` (``d`` elements each); ``biases``:
    ``k``. Equal to the first layer's features (``L = 0``) when the identity holds.
    """
    _check_planes(weights, biases)
    _check_unit_pixels(patches)  # once, not once per hyperplane
    return torch.stack([fraction_feature(patches, w, float(b))
                        for w, b in zip(weights, biases)], dim=1)


def patches_on_hyperplanes(patches: torch.Tensor, weights: torch.Tensor,
                           biases: torch.Tensor) -> int:
    """How many (patch, hyperplane) pairs have the patch exactly on the hyperplane: where
    ``sign`` gives 0 and a patch counts for neither side."""
    _check_planes(weights, biases)
    _check_unit_pixels(patches)
    return int(sum(int(_side_counts(patches, w, float(b))["on"].sum())
                   for w, b in zip(weights, biases)))


def identity_reading(n_differ: int, on_plane: int) -> str:
    """The chapter's verdict on the counting identity, from the number of features that
    differ between counting and the network and the number of patches on a hyperplane."""
    if n_differ == 0 and on_plane == 0:
        return "the identity holds for every image and every feature here"
    if n_differ == 0:
        return ("counting and the network agree everywhere; the patches on a hyperplane "
                "count for neither side in both, as the sum of signs says")
    return ("counting and the network disagree here, so something in this run breaks the "
            "identity (the tests of `rdsc.hyperplanes` check it on their own cases)")


def distinct_patches(patches: torch.Tensor, chunk: int = 500) -> int:
    """How many distinct patches there are among ``patches`` (``... x d``, pixel values
    ``j / 255``), compared exactly as the 8-bit pixels they come from.

    Raises ``ValueError`` for values that are not ``j / 255``: rounding them to bytes would
    merge patches that differ.
    """
    import numpy as np
    # float32 holds j / 255 to about 1e-5 of a grey level; half-precision cannot tell them
    atol = {torch.float64: 1e-6, torch.float32: 1e-3}.get(patches.dtype)
    if atol is None:
        raise ValueError(f"distinct_patches needs float32 or float64 patches (values j / 255), "
                         f"got {patches.dtype}")
    flat = patches.reshape(-1, patches.shape[-1])
    parts = []
    for p in flat.split(chunk):
        scaled = p.double() * 255
        as_int = scaled.round()
        if not torch.allclose(scaled, as_int, rtol=0, atol=atol) or (
                len(p) and (as_int.min() < 0 or as_int.max() > 255)):
            raise ValueError("distinct_patches counts patches of 8-bit pixels scaled to "
                             "[0, 1] (values j / 255); these patches hold other values "
                             "(normalised images?): pass images / 255 before normalising")
        parts.append(as_int.to(torch.uint8).numpy())
    codes = np.ascontiguousarray(np.concatenate(parts))
    return len(np.unique(codes.view(np.dtype((np.void, codes.shape[1])))))


def cells_reading(n_cells_occupied: int, n_distinct: int) -> str:
    """The chapter's sentence on how many of the distinct patches the hyperplanes' cells
    tell apart (``n_cells_occupied / n_distinct``)."""
    if not 1 <= n_cells_occupied <= n_distinct:
        # the arguments swapped read as "200% of the distinct patches": a cell holds at
        # least one distinct patch
        raise ValueError(f"need 1 <= occupied cells <= distinct patches, got "
                         f"{n_cells_occupied} and {n_distinct}")
    covered = n_cells_occupied / n_distinct
    if covered > 0.9:
        return (f"that is {covered:.0%} of the distinct patches: the hyperplanes already "
                "tell apart nearly every patch the data contains")
    return (f"that is {covered:.0%} of the distinct patches: many distinct patches still "
            "share a cell, and more hyperplanes split them further")


def separation_auc(values, positive):
    """Per feature, the ROC AUC of thresholding it, on whichever side separates better
    (1: a threshold separates the two classes; chance is above 0.5, see :func:`shuffled_aucs`).

    ``values``: ``N x k``; ``positive``: ``N`` booleans, both classes present. Returns
    ``k`` AUCs in [0.5, 1] (ties count half, through average ranks).
    """
    import numpy as np
    from scipy.stats import rankdata
    values, labels = np.asarray(values), np.asarray(positive)
    if labels.dtype != bool and not np.isin(labels, (0, 1)).all():
        # 1/2 labels read as "one class only", 0/1/2 merged 1 and 2 without a word
        raise ValueError(f"positive must be one boolean (or 0/1) per image, got values "
                         f"{np.unique(labels)[:5].tolist()}: pass labels == the class")
    positive = labels.astype(bool)
    if values.ndim != 2 or len(values) != len(positive):
        raise ValueError(f"values must be N x k with one label per row; got shape "
                         f"{values.shape} and {len(positive)} labels")
    if not np.isfinite(values).all():
        raise ValueError(f"{int((~np.isfinite(values)).sum())} feature values are NaN or "
                         "infinite: an AUC of them means nothing")
    n1, n0 = int(positive.sum()), int((~positive).sum())
    if n1 == 0 or n0 == 0:
        raise ValueError("separation_auc needs images of both classes")
    ranks = rankdata(values, axis=0)
    a = (ranks[positive].sum(0) - n1 * (n1 + 1) / 2) / (n1 * n0)
    return np.maximum(a, 1 - a)


def shuffled_aucs(values, positive, n_shuffles: int = 20, seed: int = 0) -> dict:
    """:func:`separation_auc` with the labels shuffled: chance, for these features and images.

    Returns ``{"best": ..., "median": ...}``, arrays of ``n_shuffles``: per random
    permutation of the labels, the best and the median AUC among the ``k`` features. An
    AUC folded to the better side is above 0.5 even by chance, the more so the fewer the
    images, and the best of ``k`` features more still: these are the levels to beat.
    """
    import numpy as np
    n_shuffles = whole_number("n_shuffles", n_shuffles)  # 0 failed later, in auc_reading
    gen = np.random.default_rng(seed_number(seed))
    positive = np.asarray(positive)
    runs = [separation_auc(values, gen.permutation(positive)) for _ in range(n_shuffles)]
    return {"best": np.array([a.max() for a in runs]),
            "median": np.array([np.median(a) for a in runs])}


def _auc_levels(best: float, median: float, shuffled: dict) -> dict:
    """The numbers and the kind of verdict :func:`auc_reading` gives."""
    import numpy as np
    top, mid = float(np.max(shuffled["best"])), float(np.max(shuffled["median"]))
    beyond = best > top
    return {"best": best, "median": median, "top": top, "mid": mid,
            "kind": (beyond, "well" if best >= 0.9 else "partly", median > mid) if beyond
            else (False,)}


def auc_reading(best: float, median: float, shuffled: dict, first: str = "airplanes",
                second: str = "frogs") -> str:
    """The chapter's verdict on single-feature AUCs between two classes, against chance.

    ``best``, ``median``: the best and median AUC over the features; ``shuffled``: from
    :func:`shuffled_aucs` on the same features. A level counts as beyond chance only above
    every shuffle's (with 20 shuffles, about a 5% chance of that by luck).
    """
    return _auc_sentence({"": _auc_levels(best, median, shuffled)}, first, second)


def auc_readings(by_network: dict, first: str = "airplanes", second: str = "frogs") -> str:
    """:func:`auc_reading` for several networks, a verdict they share said once.

    ``by_network``: name -> (best, median, shuffled). Networks with the same kind of verdict
    (chance; or beyond it, as strongly, with a typical feature beyond it or not) share one
    sentence that gives each network's numbers; the others get their own.
    """
    levels = {name: _auc_levels(*args) for name, args in by_network.items()}
    kinds = list(dict.fromkeys(v["kind"] for v in levels.values()))
    return "; ".join(_auc_sentence({n: v for n, v in levels.items() if v["kind"] == kind},
                                   first, second, named=True) for kind in kinds)


def _auc_sentence(levels: dict, first: str, second: str, named: bool = False) -> str:
    """One verdict for networks of the same kind; ``levels``: name -> :func:`_auc_levels`."""
    names = list(levels)
    one = next(iter(levels.values()))
    if len(names) == 1:
        who = f"{names[0]}: " if named else ""
        best, top = f"{one['best']:.2f}", f"up to {one['top']:.2f}"
        beyond_median = f"median {one['median']:.2f} against at most {one['mid']:.2f} shuffled"
        not_median = f"median {one['median']:.2f}, shuffled medians up to {one['mid']:.2f}"
    else:
        who = (f"for both {names[0]} and {names[1]}, " if len(names) == 2 else
               f"for each of {', '.join(names[:-1])} and {names[-1]}, ")

        def against(a, b):  # "L = 0: 0.95 against 0.80; L = 1: 0.97 against 0.81"
            return "; ".join(f"{n}: {v[a]:.2f} against {v[b]:.2f}" for n, v in levels.items())
        best = top = None
        shuffles = f"best against the shuffles' best, {against('best', 'top')}"
        beyond_median = not_median = (f"median against the shuffles' largest median, "
                                      f"{against('median', 'mid')}")
    if not one["kind"][0]:
        numbers = f" ({best})" if best else ""
        return (f"{who}the best single feature{numbers} is no better than the best of as many "
                f"features with the labels shuffled ({top or shuffles}): at this size, no "
                f"single random hyperplane tells {first} from {second} beyond chance")
    _, strength, typical = one["kind"]
    typical = (f"a typical feature is beyond chance too ({beyond_median})" if typical
               else f"a typical feature is not ({not_median})")
    if best:
        return (f"{who}the best single feature separates {first} from {second} {strength} "
                f"({best}), beyond every shuffle of the labels ({top}); {typical}")
    return (f"{who}the best single feature separates {first} from {second} {strength}, "
            f"beyond every shuffle of the labels ({shuffles}); {typical}")


#: the numbers of a chapter-1 record :func:`run_summary` reads
HYPERPLANES_RECORD_NEEDS = ("n_images", "n_features", "n_patches", "n_distinct_patches",
                            "counted_vs_network_differ", "patches_on_a_hyperplane")


def run_summary(results: dict) -> dict[str, str]:
    """Chapter 1's results JSON (this run's, or a paper-profile record's) as the rows of a
    table that sets runs side by side: label -> the value as printed ("–" where a record
    lacks the cell counts)."""
    import numpy as np
    try:   # the largest k, compared as a number ("64" > "256" as text)
        top, cells = max((int(k), v) for k, v in results["occupied_cells"].items())
        occupied = f"{cells:,} (k = {top:,})"
    except (KeyError, TypeError, ValueError, AttributeError):
        occupied = "–"
    rows = {"images": f"{results['n_images']:,}",
            "random hyperplanes (features)": f"{results['n_features']:,}",
            "patches (distinct)": f"{results['n_patches']:,} "
                                  f"({results['n_distinct_patches']:,})",
            "occupied cells, largest k counted": occupied,
            "counted features that differ from the network's features":
                f"{results['counted_vs_network_differ']:,}",
            "patches on a hyperplane": f"{results['patches_on_a_hyperplane']:,}"}
    aucs = results.get("single_feature_auc")
    for name, values in (aucs.items() if isinstance(aucs, dict) else ()):
        try:   # a number or strings for the list once stopped the chapter
            values = np.asarray(values, dtype=float)
            shown = (f"{np.median(values):.3f} / {np.max(values):.3f}"
                     if values.ndim == 1 and len(values) and np.isfinite(values).all()
                     and ((0 <= values) & (values <= 1)).all() else "–")
        except (TypeError, ValueError):
            shown = "–"
        rows[f"median / best single-feature AUC, {name}"] = shown
    return rows
