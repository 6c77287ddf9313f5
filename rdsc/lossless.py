"""What CIFAR-10's JPEG re-encoding costs: pair lossless images with their JPEGs, compare.

The data root's ``cifar10`` holds every CIFAR-10 image re-encoded as a small JPEG;
``cifar10-lossless-subset`` holds 5,000 of the same images as the original, lossless
pixels. Nothing but the pixels links the two, so:

* :func:`pair_by_pixels` finds, for each lossless image, the nearest JPEG image in L2
  (within the same class), with the distance to it and to the runner-up, so the pairing
  can be judged (a JPEG twin is far closer than any other image);
* :func:`load_and_pair` loads (a class-balanced part of) the lossless subset and pairs it,
  :func:`twin_features` computes the features of both versions, reusing computed rows;
* :func:`feature_change` counts how many of the network's features differ between the
  two versions of the same images;
* :func:`compare` trains and tests the same SVM on both versions (same network, same k,
  same images) and reports the difference in accuracy with a paired bootstrap interval.
"""

from __future__ import annotations

import numpy as np
import torch

from rdsc.classify import LinearSVM, topk_accuracy
from rdsc.features import FeatureArray
from rdsc.intervals import paired_bootstrap
from rdsc.paper import PAPER_C


def pair_by_pixels(queries, pool, query_labels=None, pool_labels=None, block: int = 512) -> dict:
    """The nearest ``pool`` image (L2 over all pixels) for each of ``queries``.

    Args:
        queries: ``N x C x H x W`` uint8 (or float) images.
        pool: ``M x C x H x W`` images of the same size, M >= 2.
        query_labels, pool_labels: shape ``N`` and ``M``; when given, each query is
            matched only among pool images of its own label (faster, and the label is known).
        block: queries per distance matrix.

    Returns ``{"index": int64 N (into pool), "distance": float64 N, "runner_up": float64 N,
    "rms": float64 N, "one_to_one": bool}``: ``distance`` is the L2 distance in pixel units
    (0..255) to the match, ``runner_up`` that to the second-nearest pool image, ``rms`` the
    match's root-mean-square pixel difference; ``one_to_one``: no pool image matched twice.
    """
    q, p = torch.as_tensor(queries), torch.as_tensor(pool)
    if q.dim() != 4 or p.dim() != 4 or q.shape[1:] != p.shape[1:]:
        raise ValueError(
            f"need N x C x H x W images of one size, got {tuple(q.shape)} and {tuple(p.shape)}"
        )
    if (query_labels is None) != (pool_labels is None):
        raise ValueError("give both query_labels and pool_labels, or neither")
    n, d = len(q), q[0].numel()
    qf, pf = q.reshape(n, d), p.reshape(len(p), d)  # pixels as given; float per group below
    index = np.full(n, -1, dtype=np.int64)
    best, second = np.full(n, np.inf), np.full(n, np.inf)
    if query_labels is None:
        groups = [(np.arange(n), np.arange(len(p)))]
    else:
        ql, pl = np.asarray(query_labels), np.asarray(pool_labels)
        if ql.shape != (n,) or pl.shape != (len(p),):  # short labels left queries unmatched
            raise ValueError(f"need one label per query ({n}) and per pool image ({len(p)}), "
                             f"got shapes {ql.shape} and {pl.shape}")
        groups = [(np.flatnonzero(ql == c), np.flatnonzero(pl == c)) for c in np.unique(ql)]
    for q_idx, p_idx in groups:
        if len(p_idx) < 2:
            raise ValueError(
                f"the pool needs at least two candidates per query, found {len(p_idx)}"
            )
        p_idx_t = torch.as_tensor(p_idx)
        cand = pf[p_idx_t].float()
        cand_sq = (cand * cand).sum(1)
        for lo in range(0, len(q_idx), block):
            rows = q_idx[lo : lo + block]
            x_exact = qf[torch.as_tensor(rows)].double()
            x = x_exact.float()
            # squared distances up to float32 rounding: good enough to rank the candidates
            approx = (x * x).sum(1, keepdim=True) + cand_sq[None] - 2 * x @ cand.T
            top = approx.topk(min(3, len(p_idx)), dim=1, largest=False).indices
            # the few candidates again, exactly (float64 of 8-bit pixels)
            exact = ((x_exact[:, None] - pf[p_idx_t[top]].double()) ** 2).sum(-1).sqrt().numpy()
            order = np.argsort(exact, axis=1, kind="stable")
            exact = np.take_along_axis(exact, order, 1)
            chosen = np.take_along_axis(top.numpy(), order, 1)
            index[rows] = p_idx[chosen[:, 0]]
            best[rows], second[rows] = exact[:, 0], exact[:, 1]
    return {
        "index": index,
        "distance": best,
        "runner_up": second,
        "rms": best / np.sqrt(d),
        "one_to_one": bool(len(np.unique(index)) == n),
    }


def select_rows(features: FeatureArray, rows) -> FeatureArray:
    """The ``rows`` of a feature matrix as an in-memory :class:`FeatureArray` (same denominator).

    All rows in order: ``features`` itself, not a copy (it may be a large memory map).
    """
    rows = np.asarray(rows)
    if len(rows) == len(features) and np.array_equal(rows, np.arange(len(features))):
        return features
    return FeatureArray(np.asarray(features.counts[rows]), features.denominator)


def positions_in(available, wanted) -> np.ndarray | None:
    """Where each of ``wanted`` (indices) sits in ``available`` (indices), or None if any is absent.

    E.g. the rows of a chapter's feature matrix (computed for the images ``available``)
    that hold the images ``wanted``, so features already computed are not computed again.
    """
    available, wanted = np.asarray(available), np.asarray(wanted)
    for name, v in (("available", available), ("wanted", wanted)):
        if v.size and not np.issubdtype(v.dtype, np.integer):  # 3.5 matched 3
            raise ValueError(f"{name} must be image indices (integers), got {v.dtype}")
    lookup = {int(v): i for i, v in enumerate(available.tolist())}
    pos = [lookup.get(int(w), -1) for w in wanted.tolist()]
    return None if -1 in pos else np.asarray(pos, dtype=np.int64)


def features_for(
    net,
    pool_images,
    wanted,
    have_idx,
    have_features: FeatureArray,
    *,
    name: str,
    device=None,
    progress: bool = True,
) -> FeatureArray:
    """Features of ``pool_images[wanted]`` under ``net``: rows of ``have_features`` where those
    were computed already (``have_idx``: the pool indices of its rows), else extracted (cached).

    ``have_features`` must come from ``net``: two of its rows are recomputed to check (another
    network with the same k would give other features; the engines agree except at rare sign
    ties, so 99% of the counts must match).
    """
    from rdsc.features import compute, extract

    pos = positions_in(have_idx, wanted)
    if pos is not None and have_features.shape[1] == net.n_features:
        probe = np.asarray(wanted)[:2]
        fresh = compute(net, pool_images[torch.as_tensor(probe)], device=device, progress=False)
        if (fresh == np.asarray(have_features.counts[pos[:2]])).mean() < 0.99:
            raise ValueError("have_features were not computed by this network (recomputed "
                             "rows differ): pass the features of the same net, or none")
        return select_rows(have_features, pos)
    return extract(
        net,
        pool_images[torch.as_tensor(np.asarray(wanted))],
        cache=True,
        name=name,
        device=device,
        progress=progress,
    )


def load_and_pair(
    jpeg: dict, sizes: dict, seed: int = 2, root=None, name: str = "cifar10-lossless-subset"
):
    """The lossless images of each split and their JPEG twins.

    Args:
        jpeg: ``{split: (images N x 3 x H x W, labels N, ...)}`` (e.g. ``data.load``'s
            triples), the JPEG dataset searched.
        sizes: ``{split: n or None}``: a class-balanced part of each lossless split (None: all).

    Returns ``(lossless, pairs)``: ``{split: (images, labels as numpy)}`` and ``{split:
    pair_by_pixels result}`` (``index`` into ``jpeg[split]``; matched within each class).
    """
    from rdsc import data

    lossless, pairs = {}, {}
    for split, n in sizes.items():
        images, labels, _ = data.load(name, split, root)
        keep = data.subset(labels, n, seed=seed)
        lossless[split] = (images[keep], labels[keep].numpy())
        pool, pool_labels = jpeg[split][:2]  # (images, labels[, classes]) as data.load gives
        pairs[split] = pair_by_pixels(
            lossless[split][0], pool, lossless[split][1], np.asarray(pool_labels)
        )
    return lossless, pairs


def twin_features(
    net,
    lossless: dict,
    pairs: dict,
    jpeg_images: dict,
    have: dict,
    *,
    name: str = "cifar10",
    device=None,
    progress: bool = True,
) -> dict:
    """``{"lossless": {split: features}, "JPEG": {split: features}}`` under ``net``.

    ``lossless``, ``pairs``: from :func:`load_and_pair`; ``jpeg_images``: ``{split: images}``
    that ``pairs`` index; ``have``: ``{split: (pool indices of computed rows, their features)}``
    (e.g. the chapter's main run, the same ``net``), reused where they cover the twins.
    Features not at hand are extracted and cached (``<name>-lossless-<split>``...).
    """
    from rdsc.features import extract

    out = {"lossless": {}, "JPEG": {}}
    for split, (images, _) in lossless.items():
        out["lossless"][split] = extract(
            net,
            images,
            cache=True,
            name=f"{name}-lossless-{split}",
            device=device,
            progress=progress,
        )
        have_idx, have_features = have[split]
        out["JPEG"][split] = features_for(
            net,
            jpeg_images[split],
            pairs[split]["index"],
            have_idx,
            have_features,
            name=f"{name}-jpeg-twins-{split}",
            device=device,
            progress=progress,
        )
    return out


def feature_change(a: FeatureArray, b: FeatureArray, block: int = 2048) -> dict:
    """How the features of the same images differ between two versions (``N x k`` each).

    Returns fractions and sizes: ``changed`` (of all N*k values, those that differ),
    ``images_changed`` (images with at least one changed feature), ``per_image``
    (mean number of changed features per image, out of ``k``), ``mean_abs`` (mean
    |difference| over all values, in feature units: features lie in [-1, 1]),
    ``mean_abs_changed`` (the same over changed values only), ``relative`` (``mean_abs``
    over the mean across features of each feature's standard deviation across images:
    the change against how features differ from image to image).
    """
    if a.shape != b.shape or a.denominator != b.denominator:
        raise ValueError(f"need two feature matrices of one shape and scale, got {a!r} and {b!r}")
    n, k = a.shape
    changed = abs_sum = 0.0
    images_changed = 0
    s1 = np.zeros(k)
    s2 = np.zeros(k)
    for lo in range(0, n, block):
        ca = np.asarray(a.counts[lo : lo + block], dtype=np.int64)
        cb = np.asarray(b.counts[lo : lo + block], dtype=np.int64)
        diff = ca != cb
        changed += diff.sum()
        images_changed += int(diff.any(1).sum())
        abs_sum += np.abs(ca - cb).sum()
        x = ca / a.denominator
        s1 += x.sum(0)
        s2 += (x * x).sum(0)
    total = n * k
    mean_abs = abs_sum / a.denominator / total
    var = np.maximum(s2 / n - (s1 / n) ** 2, 0) * (n / max(n - 1, 1))
    typical = float(np.sqrt(var).mean())
    return {
        "changed": changed / total,
        "images_changed": images_changed / n,
        "per_image": changed / n,
        "k": k,
        "mean_abs": float(mean_abs),
        "mean_abs_changed": float(abs_sum / a.denominator / changed) if changed else 0.0,
        "relative": float(mean_abs / typical) if typical > 0 else float("nan"),
    }


def compare(
    train: dict,
    test: dict,
    train_labels,
    test_labels,
    C: float = PAPER_C,
    device=None,
    n_boot: int = 10_000,
    seed: int = 0,
) -> dict:
    """Train and test the same SVM on each version; the paired difference of the first two.

    Args:
        train, test: ``{version name: N x k features}``, the same versions in both, in
            the same order (e.g. ``{"lossless": ..., "JPEG": ...}``); rows are the same
            images in every version.
        train_labels, test_labels: shape ``N_train`` and ``N_test``.

    Returns ``{"rows": [{"version", "top-1 (%)", ..., "top-5 (%)", "fit s"}], "bootstrap":
    paired_bootstrap(first version correct, second version correct), "correct": {version:
    bool N_test}}``.
    """
    if list(train) != list(test) or len(train) < 2:
        raise ValueError(
            "need the same two or more versions for train and test, "
            f"got {list(train)}, {list(test)}"
        )
    rows, correct = [], {}
    test_labels = np.asarray(test_labels)
    for version in train:
        svm = LinearSVM(C=C, device=device).fit(train[version], train_labels)
        scores = svm.decision_function(test[version])
        acc = topk_accuracy(scores, test_labels, classes=svm.classes_)
        correct[version] = svm.classes_[scores.argmax(1)] == test_labels
        rows.append(
            {
                "version": version,
                **{f"top-{j} (%)": 100 * v for j, v in acc.items()},
                "fit s": svm.fit_seconds_,
            }
        )
    first, second = list(train)[:2]
    boot = paired_bootstrap(correct[first], correct[second], n_boot=n_boot, seed=seed)
    return {"rows": rows, "bootstrap": boot, "correct": correct}
