"""How well a representation separates classes: a dissimilarity ratio and the SVM's margin.

**Ratio.** With a dissimilarity ``D[i, j]`` between images, the separation ratio is

    mean of D over pairs of different classes / mean of D over distinct pairs of one class

(> 1: images of different classes are further apart than images of one class). The
paper compares images through the *distribution* of their values (pixels, or the final
layer's features); here that is the 1-D Wasserstein distance between two images'
value distributions, computed exactly from their CDFs on the values' common grid
(pixels: 0..255; features: multiples of 1/(h*w)).

**Margin.** The linear SVM's geometric margin ``1 / |w_c|`` per one-vs-rest class, on
data centred and scaled to unit average norm, so that pixels and features of any ``k``
are measured in the same units. ``1 / |w_c|`` is the hard margin only where every training
image lies on or outside its class's band (``y f_c(x) >= 1``); a fit's smallest ``y f``
(``min y·f``) says how close it is: with ``m = min y·f > 0`` the hard margin is at least
``m / |w_c|``, and at most ``1 / |w_c|`` were ``b_c`` free (it is penalised like a weight,
as liblinear does, so the widest band can be wider than that); a row counts as *hard* when
``m >=`` :data:`HARD_FIT`.
(Training accuracy 1 is not enough: the argmax over classes can be right while a
one-vs-rest hyperplane leaves images on its wrong side.) Two representations of the same
images are compared by the ratio of their mean margins, on the sample and on paired
half-samples of it (half of each class, drawn without replacement, fitted in both spaces):
features against pixels (is the margin wider?) and the largest k against the smallest hard
k (does it grow with k?). Every margin is fitted with :func:`margin_svm`, the SVM solved
exactly, since a large C leaves the float32 Newton-CG solver short of the optimum.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch

from rdsc.checks import label_vector, seed_number, whole_number
from rdsc.threads import fixed_threads


def value_cdfs(values: torch.Tensor, n_levels: int) -> torch.Tensor:
    """Integer values ``N x m`` in ``[0, n_levels)`` -> each row's CDF, ``N x n_levels``
    (float64)."""
    values = torch.as_tensor(values)
    if values.is_floating_point() or values.is_complex() or values.dtype == torch.bool:
        # .long() would cut [0, 1] pixels to 0/1 and features in [-1, 1] to -1/0/1, and the
        # range check below would pass them
        raise ValueError(f"values must be integers (uint8 pixels, integer feature counts), "
                         f"got {values.dtype}")
    values = values.long()
    if values.numel() and (values.min() < 0 or values.max() >= n_levels):
        raise ValueError(f"values must lie in [0, {n_levels}), "
                         f"got [{values.min()}, {values.max()}]")
    hist = torch.zeros(values.shape[0], n_levels, dtype=torch.float64)
    hist.scatter_add_(1, values, torch.ones_like(values, dtype=torch.float64))
    return hist.cumsum(1) / values.shape[1]


def wasserstein_matrix(cdfs: torch.Tensor, step: float) -> torch.Tensor:
    """1-D Wasserstein-1 distances between all pairs of distributions given by CDFs on a grid
    with spacing ``step``: ``W1(a, b) = step * sum_v |F_a(v) - F_b(v)|``. ``N x N``."""
    return torch.cdist(cdfs, cdfs, p=1) * step


def pixel_distances(images: torch.Tensor) -> torch.Tensor:
    """W1 between the pixel-value distributions (all channels, values in [0, 1]) of uint8
    images ``N x C x H x W``: ``N x N``."""
    if torch.as_tensor(images).dtype != torch.uint8:
        raise ValueError(f"pixel_distances needs uint8 images (0..255), got "
                         f"{torch.as_tensor(images).dtype}: pass the images as loaded")
    flat = images.reshape(len(images), -1)
    repeated = len(flat) - len(torch.unique(flat, dim=0))
    if repeated:  # pairs at distance 0 in every space: they raise the ratio (1.095 -> 1.156)
        import warnings
        warnings.warn(f"{repeated} of {len(flat)} images repeat another: identical images "
                      "raise the separation ratio; drop the repeats", stacklevel=2)
    return wasserstein_matrix(value_cdfs(flat, 256), 1 / 255)


def feature_distances(counts: np.ndarray, denominator: int) -> torch.Tensor:
    """W1 between the feature-value distributions (values in [-1, 1]) of images.

    ``counts``: the engine's integer counts ``N x k`` (features times ``denominator``:
    ``FeatureArray.counts``, not the float features).

    Repeated rows are not warned about here, as :func:`pixel_distances` warns about
    repeated images: distinct images share their features at a small k (k = 1 has a few
    hundred values), a property of the features, not an error in the data.
    """
    counts = np.asarray(counts)
    if not np.issubdtype(counts.dtype, np.integer):
        raise ValueError(f"feature_distances needs the integer counts (FeatureArray.counts), "
                         f"got {counts.dtype} values: float features would be cut to -1/0/1")
    shifted = torch.as_tensor(counts.astype(np.int64)) + denominator
    return wasserstein_matrix(value_cdfs(shifted, 2 * denominator + 1), 1 / denominator)


def separation_ratio(D: torch.Tensor, labels, index: torch.Tensor | None = None) -> float:
    """Mean between-class over mean within-class dissimilarity.

    ``D``: ``N x N`` dissimilarities between the images; ``labels``: their ``N`` classes.
    ``index`` (optional, length ``M``) selects images, with repeats allowed (a bootstrap
    sample); pairs of an image with itself are left out.
    """
    labels = _class_labels(labels)
    if (D.ndim != 2 or D.shape[0] != D.shape[1] or labels.ndim != 1
            or D.shape[0] != len(labels)):
        raise ValueError(f"need an N x N distance matrix and N labels, got {tuple(D.shape)} "
                         f"and labels of shape {tuple(labels.shape)}")
    if index is None:
        index = torch.arange(len(labels))
    sub = D[index][:, index]
    y = labels[index]
    same_class = y[:, None] == y[None, :]
    distinct = index[:, None] != index[None, :]
    within, between = sub[same_class & distinct], sub[~same_class]
    if len(within) == 0 or len(between) == 0:
        raise ValueError("need at least two images of one class and two classes")
    if float(within.mean()) == 0:  # inf or NaN once came back as a ratio
        raise ValueError("every within-class distance is 0 (each class's images are "
                         "identical in this space): the ratio is undefined")
    return float(between.mean() / within.mean())


def _class_labels(labels) -> torch.Tensor:
    """``labels`` as a 1-D tensor of class indices (``N x 1`` squeezed, as
    :func:`rdsc.data.subset` takes them); text, NaN or non-integer labels refused (each NaN
    would be a class of its own)."""
    from rdsc.data import class_indices
    labels = label_vector(labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor)
                          else labels)
    return torch.as_tensor(class_indices(labels))


def _class_resamples(labels, n_boot: int, seed: int):
    """``n_boot`` bootstrap samples of image indices, drawn with replacement within each class."""
    labels = _class_labels(labels)
    gen = torch.Generator().manual_seed(seed_number(seed))
    members = [torch.nonzero(labels == c).flatten() for c in labels.unique()]
    for i in range(n_boot):
        draws = [m[torch.randint(len(m), (len(m),), generator=gen)] for m in members]
        if not any(len(d.unique()) > 1 for d in draws):
            # this was once "need at least two images of one class", about data that
            # has them
            raise ValueError(f"bootstrap resample {i + 1} of {n_boot} drew no two different "
                             "images of any class (classes of "
                             f"{sorted({len(m) for m in members})} images): classes this "
                             "small cannot be bootstrapped; use more images a class")
        yield torch.cat(draws)


def _class_halves(labels, n_draws: int, seed: int):
    """``n_draws`` half-samples of image indices, in complementary pairs: a random half of
    every class's images (rounded down, without replacement), then the other half of the
    same split (the odd image of a class left out). Every half-sample has the same size and
    no repeated image, and each pair covers the sample evenly. ``n_draws`` must be even."""
    n_draws = whole_number("n_draws", n_draws, at_least=2)
    if n_draws % 2:
        raise ValueError(f"n_draws must be even (half-samples come in complementary "
                         f"pairs), got {n_draws}")
    labels = _class_labels(labels)
    members = [torch.nonzero(labels == c).flatten() for c in labels.unique()]
    small = [int(labels[m[0]]) for m in members if len(m) < 2]
    if small:
        raise ValueError(f"a half-sample needs at least two images of every class; "
                         f"classes {small} have one")
    gen = torch.Generator().manual_seed(seed_number(seed))
    for _ in range(n_draws // 2):
        orders = [m[torch.randperm(len(m), generator=gen)] for m in members]
        for part in (0, 1):
            yield torch.cat([o[part * (len(o) // 2):(part + 1) * (len(o) // 2)]
                             for o in orders]).sort().values


#: the share of half-samples that must lie on one side of 1 for a direction to count: fixed,
#: so that the rule does not tighten with the number of draws
HALF_SAMPLE_SHARE = 0.9

#: the fewest half-samples a direction can rest on (4 of 4 half-samples once read
#: "narrower"): all n on one side by chance, were the draws independent coin flips, is
#: 1/16 at n = 4, 1/32 at n = 5 (under 5%); half-samples come in pairs, so 6
MIN_HALF_SAMPLES = 6


def _check_n_boot(n_boot) -> None:
    """At least 2 resamples: 0 failed in numpy, 1 gave an interval without its estimate."""
    whole_number("n_boot", n_boot, at_least=2)


def bootstrap_ratio(D: torch.Tensor, labels, n_boot: int = 200, seed: int = 0):
    """``(ratio, low, high)``: the ratio and a 95% percentile bootstrap interval, resampling
    images with replacement within each class."""
    _check_n_boot(n_boot)
    ratios = [separation_ratio(D, labels, index)
              for index in _class_resamples(labels, n_boot, seed)]
    low, high = np.percentile(ratios, [2.5, 97.5])
    return separation_ratio(D, labels), float(low), float(high)


def unit_scale(X: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """Centre and scale ``X`` (``N x d``) so its rows have unit average norm, with the mean
    and scale of ``reference`` (``M x d``, default ``X``); returns ``N x d`` float32."""
    reference = X if reference is None else reference
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(reference))):
        raise ValueError("unit_scale: the rows hold NaN or infinite values; check the "
                         "features or images they came from")
    mean = reference.mean(0)
    scale = np.linalg.norm(reference - mean, axis=1).mean()
    if scale == 0:
        raise ValueError("unit_scale: all reference rows are identical, so there is no spread "
                         "to scale by (and no margin to measure)")
    return ((X - mean) / scale).astype(np.float32)


def gram_rows(X: np.ndarray, block: int = 4096, device=None) -> np.ndarray:
    """Rows ``Z`` (N x min(N, d)) with the inner products of ``X`` (N x d): ``Z Z^T = X X^T``.

    A linear SVM sees its rows only through their inner products (the best weights lie in
    the span of the rows, and an intercept column adds the same 1 to every product), so it
    finds the same scores and margins on ``Z`` as on ``X``, in min(N, d) dimensions instead
    of d: 2,000 instead of 37,632 for 2,000 images of 112 x 112 pixels (135 s -> 10 s a fit).
    The products are summed in float64 on ``device`` (default: the CPU).
    """
    X = np.asarray(X, np.float32)
    n, d = X.shape
    if not np.all(np.isfinite(X)):
        raise ValueError("gram_rows: X holds NaN or infinite values")
    if d <= n:
        return X
    gram = torch.zeros(n, n, dtype=torch.float64, device=device)
    for lo in range(0, d, block):  # float64 products, float32 columns a block at a time
        part = torch.from_numpy(X[:, lo:lo + block]).to(device).double()
        gram += part @ part.T
    values, vectors = torch.linalg.eigh(gram.cpu())
    return (vectors * values.clamp(min=0).sqrt()).float().numpy()


def margin_svm(C: float, device=None):
    """The SVM every margin here is measured with: :class:`rdsc.classify.LinearSVM` with
    ``solver="exact"``. A margin needs a large ``C`` (a hard margin as ``C`` grows), where
    the float32 Newton-CG solver stops short of the optimum (:func:`solver_shortfall`); the
    exact one solves the dual in float64 and ends at it (up to ``C = 1e10``)."""
    from rdsc.classify import LinearSVM
    return LinearSVM(C=C, solver="exact", device=device)


def solver_shortfall(features, k: int, labels, C: float, device=None,
                     exact: float | None = None, exact_verified: bool = True,
                     perturbed: int = 2, seed: int = 0) -> dict:
    """How far the float32 Newton-CG solver (``LinearSVM(solver="torch")``, what chapter 3
    fits at the paper's C) stops from the optimum at ``C`` on the first ``k`` unit-scaled
    features: ``exact`` and ``newton-cg`` mean margins, Newton-CG's ``steps`` and
    ``narrower`` (``1 - newton-cg / exact``: the share its margin falls short by). Fitted
    on the unit-scaled features themselves, as chapter 3 gives them to the solver (the
    exact fit may use their inner-product rows, :func:`gram_rows`: the same SVM, the same
    margins), on one CPU thread (:mod:`rdsc.threads`: the same numbers whatever the core
    count).
    ``exact``: the optimum's mean margin where already fitted (a :func:`margin_rows` row
    of the same sample, ``k`` and ``C``; ``exact_verified``: that row's ``verified``), else
    fitted here. ``exact verified``: whether the exact solver verified its fit (else the
    shortfall is from a margin that may itself be off).

    Where Newton-CG stops depends on float32 rounding (on 60 CIFAR-10 images
    and k = 256 its shortfall moved between 0.3% and 3.5% with input changes at the 7th
    digit). So it is also fitted on ``perturbed`` copies of the features that differ from
    them at that level (each value times ``1 + 1e-7 e``, ``e`` standard normal, drawn from
    ``seed``): ``steps range`` and ``narrower range`` are ``[least, most]`` over all the
    fits, ``at the limit`` how many of them ran out of steps (``step limit``) instead of
    converging."""
    from rdsc.classify import LinearSVM
    perturbed = whole_number("perturbed", perturbed, at_least=0)
    # on one CPU thread: where Newton-CG stops depends on its sums' rounding, the inner
    # products' included, hence on the thread count
    with fixed_threads(1, device):
        X, y = unit_scale(features.columns(k)[:]), np.asarray(labels)
        if exact is None:
            svm = margin_svm(C, device).fit(gram_rows(X, device=device), y)
            exact, exact_verified = float(svm_margins(svm).mean()), bool(svm.converged_)
        gen = np.random.default_rng(seed)
        fits = []
        for copy in range(perturbed + 1):  # one copy at a time: at k = 100,000 each is large
            Z = X if copy == 0 else (
                X * (1 + 1e-7 * gen.standard_normal(X.shape))).astype(np.float32)
            with warnings.catch_warnings():  # its warning above LARGE_C says what is measured
                warnings.simplefilter("ignore")
                newton = LinearSVM(C=C, solver="torch", device=device).fit(Z, y)
            fits.append((newton.n_iter_, 1 - float(svm_margins(newton).mean()) / exact,
                         not newton.converged_))
    approx = exact * (1 - fits[0][1])
    steps, narrower = [f[0] for f in fits], [f[1] for f in fits]
    return {"k": k, "C": float(C), "exact": exact, "exact verified": bool(exact_verified),
            "newton-cg": approx, "steps": steps[0], "narrower": narrower[0],
            "perturbed": perturbed, "steps range": [min(steps), max(steps)],
            "narrower range": [min(narrower), max(narrower)],
            "step limit": newton.max_iter, "at the limit": sum(f[2] for f in fits)}


def svm_margins(svm) -> np.ndarray:
    """Geometric margin ``1 / |w_c|`` of each one-vs-rest class of a fitted :class:`LinearSVM`."""
    return 1.0 / np.linalg.norm(svm.coef_, axis=1)


def bootstrap_ratio_difference(D_a: torch.Tensor, D_b: torch.Tensor, labels, n_boot: int = 200,
                               seed: int = 0):
    """``(R_b - R_a, low, high)``: the difference of two spaces' ratios on the same images,
    with a 95% *paired* bootstrap interval (each resample is used for both spaces, so the
    images' own variability cancels)."""
    _check_n_boot(n_boot)
    diffs = [separation_ratio(D_b, labels, index) - separation_ratio(D_a, labels, index)
             for index in _class_resamples(labels, n_boot, seed)]
    low, high = np.percentile(diffs, [2.5, 97.5])
    return separation_ratio(D_b, labels) - separation_ratio(D_a, labels), float(low), float(high)


def ratio_rows(images: torch.Tensor, labels, features, ks, n_boot: int = 200, seed: int = 0):
    """Separation ratios of pixels and of the first ``k`` features for each ``k``.

    ``features``: a :class:`rdsc.features.FeatureArray` of ``images`` with at least
    ``max(ks)`` columns. Returns ``(ratios, differences)``, lists of dicts: each space's
    ratio with its bootstrap interval, and each feature space's paired difference from pixels.
    """
    ks = _check_ks(ks, features.shape[1])  # a repeated k gave two identical rows
    pixels = pixel_distances(images)
    ratios, differences = [], []
    r, lo, hi = bootstrap_ratio(pixels, labels, n_boot=n_boot, seed=seed)
    ratios.append({"space": "pixels", "ratio": r, "low": lo, "high": hi})
    for k in ks:
        space = f"features, k={k}"
        D = feature_distances(features.columns(k).counts, features.denominator)
        r, lo, hi = bootstrap_ratio(D, labels, n_boot=n_boot, seed=seed)
        ratios.append({"space": space, "ratio": r, "low": lo, "high": hi})
        d, lo, hi = bootstrap_ratio_difference(pixels, D, labels, n_boot=n_boot, seed=seed)
        differences.append({"space": space, "features - pixels": d, "low": lo, "high": hi})
    return ratios, differences


def _unit_pixels(images: torch.Tensor, device=None) -> np.ndarray:
    """Pixels (N x 3HW) in [0, 1], unit-scaled and reduced to their inner products."""
    return gram_rows(unit_scale(images.reshape(len(images), -1).numpy() / 255.0),
                     device=device)


def _unit_features(features, k: int, device=None) -> np.ndarray:
    """The first ``k`` features (N x k), unit-scaled and reduced to their inner products."""
    return gram_rows(unit_scale(features.columns(k)[:]), device=device)


def _check_ks(ks, largest: int | None = None) -> list[int]:
    """``ks`` as distinct whole numbers >= 1 (and <= ``largest``): ``features[:, :-4]``
    would otherwise be 4 columns in a row that says k = -4."""
    if isinstance(ks, (str, bytes)) or not hasattr(ks, "__iter__"):
        raise ValueError(f"ks must be a list of numbers of features, got {ks!r}")
    ks = [whole_number("each k", k) for k in ks]
    if not ks or len(set(ks)) < len(ks):
        raise ValueError(f"ks must be a non-empty list of distinct k, got {ks!r}")
    if largest is not None and max(ks) > largest:
        raise ValueError(f"k = {max(ks):,} is more than the {largest:,} features given")
    return ks


def margin_rows(images: torch.Tensor, labels, features, ks, C: float, device=None):
    """Mean and smallest one-vs-rest margin, training accuracy, ``min y·f``
    (:func:`smallest_fit`), whether it is a hard margin (:data:`HARD_FIT`) and whether the
    solver verified it at the optimum (``verified``: ``converged_``) of the SVM on
    unit-scaled pixels and on the first ``k`` features for each ``k`` (a list of dicts,
    each with the ``C`` it was fitted with and its sample's :func:`sample_digest`).

    ``images``: ``N x C x H x W`` uint8; ``labels``: ``N`` classes; ``features``: ``N x k``
    (array or :class:`rdsc.features.FeatureArray`, at least ``max(ks)`` columns)."""
    ks = _check_ks(ks, features.shape[1])
    y = np.asarray(labels)
    spaces = [("pixels", images[0].numel(), lambda: _unit_pixels(images, device))]
    spaces += [("features", k, lambda k=k: _unit_features(features, k, device)) for k in ks]
    sample = sample_digest(images, labels)  # margin_comparison checks its rows are this sample's
    return [{**_margin_row(space, dim, unit(), y, C, device), "sample": sample}
            for space, dim, unit in spaces]


def sample_digest(images, labels) -> str:
    """A short hash of a sample's images and labels: margin rows carry it, so that rows of
    another sample of the same size are not taken for this one's."""
    import hashlib
    h = hashlib.sha256()
    x = images.detach().cpu().contiguous().numpy() if torch.is_tensor(images) else images
    h.update(np.ascontiguousarray(x).tobytes())
    h.update(np.asarray(labels, dtype=np.int64).tobytes())
    return h.hexdigest()[:12]


#: a fit is "hard" when every training image has ``y f >= HARD_FIT``: its ``1 / |w|`` is then
#: within ``1 / HARD_FIT`` of the hard margin (at least ``m / |w|``; at most ``1 / |w|`` with a
#: free offset, and the offset's penalty can widen it beyond that)
HARD_FIT = 0.9


def smallest_fit(svm, X, y) -> float:
    """``min y·f``: the smallest ``y_ic f_c(x_i)`` over the training images and one-vs-rest
    classes of a fitted :class:`LinearSVM` (``y_ic = +1`` for the image's class, else -1).
    Above 0: every class's hyperplane separates it from the rest; 1: the hard margin."""
    scores = svm.decision_function(X)                      # N x classes
    signs = np.where(np.asarray(y)[:, None] == np.asarray(svm.classes_)[None, :], 1.0, -1.0)
    return float((signs * scores).min())


def measured_hard(row: dict) -> bool:
    """Whether a row was *measured* a hard margin: its ``hard`` flag is set and true (a
    Python or NumPy bool). Rows saved before ``hard`` was measured, or with it missing
    (None, NaN), do not count: the controls compare only measured fits."""
    flag = row.get("hard")
    return flag is not None and flag == flag and _hard_flag(flag)


def _hard_flag(flag) -> bool:
    """A ``hard`` value as a bool; text ("False" reads true) and numbers refused."""
    if not isinstance(flag, (bool, np.bool_)):
        raise ValueError(f"a margin row's 'hard' must be True or False, got {flag!r}")
    return bool(flag)


def is_hard(row: dict) -> bool:
    """Whether a margin row is a hard margin (:data:`HARD_FIT`); rows saved before
    ``min y·f`` was measured: training accuracy 1, as they were read then."""
    flag = row.get("hard")
    if flag is not None and flag == flag:  # NaN: a DataFrame row that lacks the flag
        return _hard_flag(flag)
    return row["train accuracy"] == 1.0


def is_verified(row: dict) -> bool:
    """Whether a margin row's fit (every draw's, for a control) was verified at the SVM's
    optimum; rows saved before ``verified`` was recorded count as verified (not known)."""
    flag = row.get("verified")
    if flag is None or flag != flag:  # NaN: a DataFrame row that lacks the flag
        return True
    if not isinstance(flag, (bool, np.bool_)):
        raise ValueError(f"a margin row's 'verified' must be True or False, got {flag!r}")
    return bool(flag)


def usable_hard(row: dict, measured: bool = False) -> bool:
    """Whether a margin row counts as a hard margin in a comparison: hard (:func:`is_hard`,
    or with ``measured`` :func:`measured_hard`, for controls whose flag must have been
    saved) and verified at the optimum (:func:`is_verified`: an unverified fit's margin,
    and its hardness, may be off)."""
    return (measured_hard(row) if measured else is_hard(row)) and is_verified(row)


def _margin_row(space: str, dim: int, X: np.ndarray, y: np.ndarray, C: float,
                device=None) -> dict:
    """One row of :func:`margin_rows`: the SVM fitted on ``X`` (N x d, unit-scaled)."""
    svm = margin_svm(C, device).fit(X, y)
    m = svm_margins(svm)
    fit = smallest_fit(svm, X, y)
    return {"space": space, "dimension": dim, "mean margin": float(m.mean()),
            "min margin": float(m.min()),
            "train accuracy": float((svm.predict(X) == y).mean()), "min y·f": fit,
            "hard": fit >= HARD_FIT, "verified": bool(svm.converged_), "C": float(C)}


def training_accuracy(features, k: int, labels, C: float, device=None) -> float:
    """Training accuracy of the linear SVM with penalty ``C`` on the first ``k`` raw
    features (unscaled, as chapter 3 and the paper fit them): how much of the training
    set a soft margin, such as the paper's C = 0.005, leaves misclassified."""
    from rdsc.classify import LinearSVM
    X, y = features.columns(k)[:], np.asarray(labels)
    return float((LinearSVM(C=C, device=device).fit(X, y).predict(X) == y).mean())


def noise_margin_rows(labels, ks, C: float, seed: int = 0, device=None,
                      draws: int = 1) -> list[dict]:
    """The control for the margin: rows of :func:`margin_rows` (space ``"noise"``) for
    i.i.d. Gaussian "features" of the same images' labels, the first ``k`` of
    ``max(ks)`` columns for each ``k`` (nested, like the network's features), unit-scaled
    the same way. Noise carries no information about the classes, so whatever margin it
    reaches, and however that grows with k, comes from the number of dimensions alone.

    With ``draws`` > 1, as many independent draws of noise (the first from ``seed`` alone,
    as with one draw): a row's ``mean margin`` is their average, ``draw margins`` each
    draw's, ``min y·f`` and ``train accuracy`` the smallest over draws, ``hard`` whether
    every draw's fit is hard. The draws show how much one draw of the control varies.
    The result depends only on the labels (their order and counts) and the settings."""
    ks = _check_ks(ks)
    draws, seed = whole_number("draws", draws), seed_number(seed)
    y = np.asarray(labels)
    # two datasets' class-balanced samples often have the very same labels: fit once
    key = (y.dtype.str, y.tobytes(), tuple(ks), float(C), int(seed), str(device), draws)
    if key not in _NOISE_ROWS:
        per_draw = []
        for d in range(draws):
            gen = np.random.default_rng(seed if d == 0 else [seed, d])
            noise = gen.standard_normal((len(y), max(ks)), dtype=np.float32)
            per_draw.append([_margin_row("noise", k,
                                         gram_rows(unit_scale(noise[:, :k]), device=device),
                                         y, C, device) for k in ks])
        _NOISE_ROWS[key] = _over_draws(per_draw)
    return [dict(row, **{"draw margins": list(row["draw margins"])})
            for row in _NOISE_ROWS[key]]


def _over_draws(per_draw: list[list[dict]]) -> list[dict]:
    """Rows of :func:`_margin_row` from several draws of a control (``per_draw[d][i]``:
    draw d's row for the i-th k) as one row per k: the draws' average margin and each
    draw's (``draw margins``), the smallest ``min y·f``, ``min margin`` and training
    accuracy, ``hard`` only where every draw's fit is hard and ``verified`` only where
    every draw's fit was verified at the optimum."""
    rows = []
    for fits in zip(*per_draw):
        rows.append({**fits[0],
                     "mean margin": float(np.mean([f["mean margin"] for f in fits])),
                     "min margin": min(f["min margin"] for f in fits),
                     "train accuracy": min(f["train accuracy"] for f in fits),
                     "min y·f": min(f["min y·f"] for f in fits),
                     "hard": all(f["hard"] for f in fits),
                     "verified": all(f["verified"] for f in fits),
                     "draw margins": [f["mean margin"] for f in fits]})
    return rows


def permuted_label_rows(features, labels, ks, C: float, seed: int = 0, device=None,
                        draws: int = 3) -> list[dict]:
    """The second control for the margin: rows of :func:`margin_rows` (space ``"shuffled
    labels"``) for the same unit-scaled first ``k`` features, fitted to the labels shuffled
    among the images (the class counts kept), ``draws`` independent shuffles (combined as
    in :func:`noise_margin_rows`). Unlike Gaussian noise, the features keep their own
    correlations, so their effective number of dimensions is the same: whatever margin the
    shuffled labels reach comes from the features' geometry and count, none from the
    classes. A margin with the true labels wider than with every shuffle is the classes'."""
    ks = _check_ks(ks, features.shape[1])
    draws, seed = whole_number("draws", draws), seed_number(seed)
    y = np.asarray(labels)
    gen = np.random.default_rng([seed, 7919])  # apart from the noise's and the sample's
    shuffles = [gen.permutation(y) for _ in range(draws)]
    spaces = [(k, _unit_features(features, k, device)) for k in ks]
    per_draw = [[_margin_row("shuffled labels", k, X, shuffled, C, device)
                 for k, X in spaces] for shuffled in shuffles]
    return _over_draws(per_draw)


_NOISE_ROWS: dict = {}  # noise_margin_rows' results, by labels and settings


def half_sample_margins(spaces, labels, C: float, n_draws: int = 10, seed: int = 0,
                        device=None, full=None, with_checks: bool = False):
    """Mean SVM margin in each of ``spaces`` (a list of S arrays, N x d_s, each unit-scaled:
    representations of the same labelled images), on all images and on ``n_draws``
    half-samples (:func:`_class_halves`), each half-sample fitted in every space (paired).

    Returns ``(full, halves)``: shapes (S,) and (n_draws, S). ``full``, when given, is the
    margins on all images, already known (they are then not fitted again). With
    ``with_checks``, also a dict of the fits' checks: ``hard`` and ``verified`` (each
    n_draws x S), whether each half-sample's fit is a hard margin (:data:`HARD_FIT`), for a
    margin on N/2 images may be hard where the one on N is not, or the other way round, and
    whether the solver verified it at the optimum (``converged_``); ``whole verified``
    (S,): whether the fit on all images made here was verified (True where ``full`` gave
    the margin: the caller knows its fit).
    """
    n_draws = whole_number("n_draws", n_draws, at_least=2)  # a range needs two draws
    y = np.asarray(labels)
    if any(len(X) != len(y) for X in spaces):
        raise ValueError(f"every space must hold one row per label ({len(y)}), got "
                         f"{[len(X) for X in spaces]} rows")
    if full is not None and len(full) != len(spaces):
        raise ValueError(f"full holds {len(full)} margins for {len(spaces)} spaces")

    def fits_of(index):  # (mean margin, hard, verified) per space
        out = []
        for X in spaces:
            svm = margin_svm(C, device).fit(X[index], y[index])
            hard, verified = ((smallest_fit(svm, X[index], y[index]) >= HARD_FIT,
                               bool(svm.converged_)) if with_checks else (True, True))
            out.append((float(svm_margins(svm).mean()), hard, verified))
        return out

    whole_verified = np.ones(len(spaces), bool)
    if full is None:
        whole = fits_of(np.arange(len(y)))
        full, whole_verified = [m for m, _, _ in whole], np.array([v for _, _, v in whole])
    full = np.asarray(full, np.float64)
    fits = np.array([fits_of(index.numpy()) for index in _class_halves(y, n_draws, seed)],
                    dtype=object)  # n_draws x S x (margin, hard, verified)
    halves = fits[:, :, 0].astype(np.float64)
    if with_checks:
        return full, halves, {"hard": fits[:, :, 1].astype(bool),
                              "verified": fits[:, :, 2].astype(bool),
                              "whole verified": whole_verified}
    return full, halves


def paired_ratio(full: np.ndarray, halves: np.ndarray, a: int = 0, b: int = 1) -> dict:
    """Space ``b``'s mean margin over space ``a``'s, from :func:`half_sample_margins`: on all
    images (``ratio``), and over the half-samples, their ``median``, ``low`` and ``high``
    (smallest and largest: with this few draws a range, not a confidence interval), how
    many lie ``above 1`` and ``below 1``, and their number (``half-samples``);
    ``widening_a`` / ``widening_b``: each space's margin on a half-sample over that on all
    images (geometric mean over the half-samples). Refuses margins that are not positive
    and finite (a failed fit would otherwise read as "undecided")."""
    full, halves = np.asarray(full, np.float64), np.asarray(halves, np.float64)
    if halves.ndim != 2 or len(halves) < 1 or halves.shape[1] != len(full):
        raise ValueError(f"halves must be half-samples x spaces ({len(full)} spaces, as in "
                         f"full), got shape {halves.shape}")
    if not (np.all(np.isfinite(full)) and np.all(np.isfinite(halves))
            and np.all(full > 0) and np.all(halves > 0)):
        raise ValueError("a mean margin is not a positive finite number (a failed fit?): "
                         f"whole sample {full.tolist()}, half-samples {halves.tolist()}")
    ratios = halves[:, b] / halves[:, a]
    widening = np.exp(np.log(halves[:, [a, b]] / full[[a, b]]).mean(0))
    return {"ratio": float(full[b] / full[a]), "median": float(np.median(ratios)),
            "low": float(ratios.min()), "high": float(ratios.max()),
            "above 1": int((ratios > 1).sum()), "below 1": int((ratios < 1).sum()),
            "half-samples": len(ratios), "widening_a": float(widening[0]),
            "widening_b": float(widening[1])}


def margin_ratio(A: np.ndarray, B: np.ndarray, labels, C: float, n_draws: int = 10,
                 seed: int = 0, device=None, full: tuple[float, float] | None = None) -> dict:
    """Mean margin of the SVM on ``B`` over that on ``A``: two representations (N x d_A,
    N x d_B, each unit-scaled) of the same labelled images, on all of them and on
    ``n_draws`` half-samples (half of each class, without replacement), each fitted in
    both spaces (paired).

    A margin is set by the few images nearest the boundary, so no ordinary confidence
    interval comes with it, and a margin on N/2 images is not the margin on N (with fewer
    images a hard margin widens, a soft one may narrow, not necessarily equally in both
    spaces). The half-samples are all the same statistic, the ratio on N/2 images, so their
    range shows how much it depends on which images were drawn; whether the comparison on
    all images holds there too is what the chapter asks. Returns :func:`paired_ratio`'s
    dict (``ratio``, ``median``, ``low``, ``high``, ``half-samples``, ``widening_a``,
    ``widening_b``). ``full``: the mean margins on all images, ``(A, B)``, when already
    known (they are then not fitted again).
    """
    return paired_ratio(*half_sample_margins([A, B], labels, C, n_draws=n_draws, seed=seed,
                                           device=device, full=full))


def smallest_separable_k(rows, k: int) -> int | None:
    """The smallest k' < ``k`` whose fit is a hard margin (:func:`is_hard`) and verified
    (:func:`is_verified`), when ``k``'s is both too; else None. The margin's growth with k
    is measured from k' to ``k``: only hard margins compare across k (a soft margin also
    measures the training errors it accepts). Where ``rows`` hold the noise control
    (:func:`noise_margin_rows`), k' and ``k`` must also be hard and verified for every draw
    of noise, so that the growth can be set against the control's over the same k (noise
    rows saved before ``hard`` was measured do not count as hard)."""
    k = whole_number("k", k)
    rows = _sample_rows(rows)
    # an unverified fit's margin may be off: it starts no growth
    separable = {int(r["dimension"]) for r in rows
                 if r["space"] == "features" and usable_hard(r)}
    noise = {int(r["dimension"]): usable_hard(r, measured=True) for r in rows
             if r["space"] == "noise"}
    if noise:
        separable = {d for d in separable if noise.get(d, False)}
    below = [d for d in separable if d < k]
    return min(below) if k in separable and below else None


def margin_comparison(images: torch.Tensor, labels, features, k: int, C: float,
                      n_draws: int = 10, seed: int = 0, device=None, rows=None) -> dict:
    """The margin claim on one sample, both halves on the same paired half-samples
    (:func:`half_sample_margins`): the first ``k`` features against pixels
    (:func:`paired_ratio`: ``ratio``, ``median``, ``low``, ``high``, ``above 1``,
    ``below 1``, ``half-samples``, ``pixels widen``, ``features widen``; ``soft half-sample
    fits`` of ``half-sample fits``: how many were not hard margins; ``unverified fits`` and
    ``unverified growth fits``: how many of the fits the width (pixels and k) and the growth
    (k and its start) rest on, on all images and on the half-samples, the solver could not
    verify at the optimum (:func:`is_verified`), ``unverified half-sample fits``: how many
    of all the half-sample fits; with ``rows``, ``pixels
    hard`` and ``features hard``: whether the fits on all images are), and the growth
    with k, the margin at ``k`` over that at :func:`smallest_separable_k` (``growth from
    k``, ``growth``, and ``growth median``, ``growth low``, ``growth high``, ``growth above
    1``, ``growth below 1``; NaN unless ``k`` and a smaller k of ``rows`` have hard
    margins, for the features and, where ``rows`` hold it, for the noise control).

    ``rows``: this sample's :func:`margin_rows` with the same ``C``, to reuse their fits on
    all images and to find the k the growth starts from (without them, no growth).
    """
    full, k_from, whole_hard, rows_verified = None, None, {}, [True, True, True]
    if rows is not None:
        rows = _sample_rows(rows)
        other_c = {r["C"] for r in rows if "C" in r and r["C"] != C}
        if other_c:
            raise ValueError(f"rows were fitted with C = {sorted(other_c)}, not C = {C:g}: "
                             "the sample's margins and the half-samples' must share C")
        digests = {r["sample"] for r in rows if isinstance(r.get("sample"), str)}
        if digests and digests != {sample_digest(images, labels)}:
            # another sample of the same size gave a plausible wrong ratio (0.729 for 0.796)
            raise ValueError("rows are margin_rows of another sample (other images or "
                             "labels): pass this sample's margin_rows")
        mean = {(r["space"], r["dimension"]): r["mean margin"] for r in rows}
        missing = [key for key in (("pixels", images[0].numel()), ("features", k))
                   if key not in mean]
        if missing:
            raise ValueError(f"rows have no margin for {missing}: pass this sample's "
                             "margin_rows, with k among their ks")
        k_from = smallest_separable_k(rows, k)
        row_of = {(r["space"], r["dimension"]): r for r in rows}
        whole_hard = {"pixels hard": is_hard(row_of[("pixels", images[0].numel())]),
                      "features hard": is_hard(row_of[("features", k)])}
        full = [mean[("pixels", images[0].numel())], mean[("features", k)]]
        full += [] if k_from is None else [mean[("features", k_from)]]
        used = [("pixels", images[0].numel()), ("features", k)]
        used += [] if k_from is None else [("features", k_from)]
        rows_verified = [is_verified(row_of[key]) for key in used]  # one per space
    spaces = [_unit_pixels(images, device), _unit_features(features, k, device)]
    spaces += [] if k_from is None else [_unit_features(features, k_from, device)]
    full, halves, checks = half_sample_margins(
        spaces, labels, C, n_draws=n_draws, seed=seed, device=device, full=full,
        with_checks=True)
    hard = checks["hard"]
    # per space (pixels, k, k's growth start): its fits on all images and on the halves
    unverified = [int(not (rows_verified[s] and checks["whole verified"][s]))
                  + int((~checks["verified"][:, s]).sum()) for s in range(len(spaces))]
    width = paired_ratio(full, halves, 0, 1)
    spread = ("median", "low", "high", "above 1", "below 1")
    growth = (paired_ratio(full, halves, 2, 1) if k_from is not None
              else dict.fromkeys(("ratio",) + spread, float("nan")))
    return {"space": f"features, k={k}",
            **{key: width[key] for key in ("ratio",) + spread + ("half-samples",)},
            "pixels widen": width["widening_a"], "features widen": width["widening_b"],
            "growth from k": float("nan") if k_from is None else k_from,
            "growth": growth["ratio"],
            **{f"growth {key}": growth[key] for key in spread},
            # the width's fits only (pixels and k): the growth's start has its own test
            "soft half-sample fits": int((~hard[:, :2]).sum()),
            "half-sample fits": hard[:, :2].size,
            # the fits the width and the growth each rest on (whole sample and halves)
            "unverified fits": unverified[0] + unverified[1],
            "unverified growth fits": (unverified[1] + unverified[2] if k_from is not None
                                       else 0),
            "unverified half-sample fits": int((~checks["verified"]).sum()),
            **whole_hard}


def growth_against_noise(margins, k_from: int, control: str = "noise") -> dict:
    """The features' margin growth from ``k_from`` to the largest k, on the sample, against
    a control's over the same k, for one dataset's rows: the noise
    (:func:`noise_margin_rows`, ``control="noise"``) or the shuffled labels
    (:func:`permuted_label_rows`, ``control="shuffled labels"``).

    Returns ``features`` and ``noise`` (the growth factors; noise's from its mean margins),
    ``noise draws`` (each draw's own factor) and ``word``: ``faster`` (beyond every draw, or
    beyond the one draw), ``slower`` (below every draw; one draw: as much or more),
    ``within`` (inside the draws' range) or ``does not grow``. Each draw of noise grows by
    its own factor, so one draw alone cannot say "faster" with a spread.
    """
    rows = _records(margins)
    top, _, _ = largest_k_against_pixels(rows)
    k, k_from = int(top["dimension"]), whole_number("k_from", k_from)  # 64.7 read as 64
    if k_from >= k:  # no growth to measure: it read "does not grow"
        raise ValueError(f"k_from = {k_from:,} must lie below the largest k, {k:,}")
    noise = {int(r["dimension"]): r for r in rows if r["space"] == control}
    start = [f for f in _sample_rows(rows) if f["space"] == "features"
             and int(f["dimension"]) == k_from]
    if k not in noise or k_from not in noise or not start:
        raise ValueError(f"growth_against_noise needs features and {control} rows at k = "
                         f"{k_from:,} and k = {k:,}")
    g_feat = top["mean margin"] / start[0]["mean margin"]
    g_noise = noise[k]["mean margin"] / noise[k_from]["mean margin"]
    per_draw = [a / b for a, b in zip(noise[k].get("draw margins") or [],
                                      noise[k_from].get("draw margins") or [])]
    if g_feat <= 1:
        word = "does not grow"
    elif len(per_draw) > 1:
        word = ("faster" if beyond(g_feat, max(per_draw)) else
                "slower" if beyond(min(per_draw), g_feat) else "within")
    else:
        word = "faster" if beyond(g_feat, g_noise) else "slower"
    return {"features": g_feat, "noise": g_noise, "noise draws": per_draw, "word": word}


#: relative difference below which two margins (or growths) count as equal, for the fits
#: are iterative (4e-7 of 0.05 above 19 shuffles once read as a permutation test's win)
MARGIN_TIE = 1e-3


def beyond(a: float, b: float, tie: float = MARGIN_TIE) -> bool:
    """Whether margin (or growth) ``a`` exceeds ``b`` by more than ``tie`` of the larger."""
    return bool(a - b > tie * max(abs(a), abs(b)))


def largest_k_against_pixels(margins) -> tuple[dict, dict, str]:
    """``(row of the largest k, row of the pixels, "wider", "narrower" or "equal")`` among
    one dataset's margin rows: the margin claim in one comparison."""
    rows = _sample_rows(margins)
    pixels = [r for r in rows if r["space"] == "pixels"]
    feats = [r for r in rows if r["space"] == "features"]
    if not pixels or not feats:
        raise ValueError("the margin rows need a pixels row and at least one features row "
                         "(margin_rows gives both)")
    if any(isinstance(r["dimension"], str) for r in feats):  # "256" > "1000" as text
        raise ValueError("margin rows' dimension must be numbers, got text: read the "
                         "results with numbers (strict_json.read, or astype(int))")
    pixels, top = pixels[0], max(feats, key=lambda r: r["dimension"])
    ours, theirs = top["mean margin"], pixels["mean margin"]
    if not (np.isfinite(ours) and np.isfinite(theirs)):
        raise ValueError(f"the margin rows need finite mean margins, got {ours!r} at k = "
                         f"{top['dimension']} and {theirs!r} on pixels")
    # a tie is no direction (equal margins once read "narrower")
    return top, pixels, ("wider" if ours > theirs else "narrower" if ours < theirs
                         else "equal")


def _records(rows) -> list[dict]:
    """Rows as a list of dicts (from a list of dicts or a DataFrame)."""
    return rows.to_dict("records") if hasattr(rows, "to_dict") else list(rows)


def _sample_rows(rows) -> list[dict]:
    """One sample's margin rows as dicts: refused when they mix datasets or repeat a
    (space, k), where a later row would silently stand in for an earlier one."""
    rows = _records(rows)
    names = {r["dataset"] for r in rows if "dataset" in r}
    if len(names) > 1:
        raise ValueError(f"the margin rows mix datasets {sorted(names)}: pass one "
                         "dataset's rows")
    keys = [(r["space"], int(r["dimension"])) for r in rows]
    if len(set(keys)) < len(keys):
        raise ValueError("the margin rows repeat a (space, k): pass one sample's rows")
    return rows


def check_compared_at(comparison: dict | None, top: dict) -> None:
    """A comparison speaks for the largest k of the rows it is reported with."""
    expected = f"features, k={int(top['dimension'])}"
    if comparison is not None and comparison.get("space", expected) != expected:
        raise ValueError(f"the comparison is for {comparison['space']!r}, but the rows' "
                         f"largest k is {int(top['dimension']):,}: compare at that k")
