"""Accuracy over several weight draws: how much of a difference a different seed makes.

The network's weights are one random draw; the paper's 76.36% is one draw too (their
seed 2018 in their random number generator, not ours). :func:`accuracy_over_seeds`
computes features and trains the paper's SVM for each of several seeds on the same
images, so the spread of the accuracies (:func:`rdsc.intervals.spread`) says how far
apart two draws typically land.
"""

from __future__ import annotations

import time

import numpy as np

from rdsc.checks import seed_list
from rdsc.classify import LinearSVM, topk_accuracy
from rdsc.features import extract
from rdsc.network import RandomDepthwiseSignNet
from rdsc.paper import PAPER_C


def accuracy_over_seeds(
    dataset: str,
    seeds,
    n_features: int,
    train_images,
    train_labels,
    test_images,
    test_labels,
    C: float = PAPER_C,
    device=None,
    known: dict | None = None,
    cache=True,
    name: str | None = None,
    progress: bool = True,
) -> list[dict]:
    """Top-1/top-2 test accuracy of the SVM on the features of each seed's network.

    Args:
        dataset: a key of :data:`rdsc.network.PRESETS` (the paper's K and L).
        seeds: the network seeds.
        n_features: k.
        train_images, test_images: ``N x C x H x W`` uint8; labels: shape ``N``.
        known: ``{seed: (train features, test features)}`` already computed for these
            images and this k (e.g. the chapter's main run), used instead of extracting.
        cache, name: passed to :func:`rdsc.features.extract` (name default: ``<dataset>-seeds``).

    Returns one row per seed: ``{"seed", "top-1 (%)", "top-2 (%)", "extract s", "fit s"}``.
    """
    # a repeated seed would narrow the interval; seeds="12" was once read as [1, 2]
    seeds = seed_list("seeds", list(seeds) if isinstance(seeds, (range, np.ndarray)) else seeds)
    known, name = known or {}, name or f"{dataset}-seeds"
    for seed, (train_f, test_f) in known.items():
        if len(train_f) != len(train_images) or len(test_f) != len(test_images):
            raise ValueError(f"known[{seed}] holds features of {len(train_f)} / {len(test_f)} "
                             f"images, not of these {len(train_images)} / {len(test_images)}")
        if train_f.shape[1] != n_features or test_f.shape[1] != n_features:
            raise ValueError(f"seed {seed}: features have {train_f.shape[1]} columns, not "
                             f"k = {n_features}")
        _check_known(dataset, n_features, seed, train_f, test_f, train_images, test_images,
                     device)
    rows = []
    for seed in seeds:
        start = time.perf_counter()
        if seed in known:
            train_f, test_f = known[seed]
        else:
            net = RandomDepthwiseSignNet.for_dataset(dataset, n_features, seed=seed)
            train_f = extract(
                net,
                train_images,
                cache=cache,
                name=f"{name}-train",
                device=device,
                progress=progress,
            )
            test_f = extract(
                net, test_images, cache=cache, name=f"{name}-test", device=device, progress=progress
            )
        if train_f.shape[1] != n_features or test_f.shape[1] != n_features:
            raise ValueError(
                f"seed {seed}: features have {train_f.shape[1]} columns, not k = {n_features}"
            )
        extract_s = time.perf_counter() - start
        svm = LinearSVM(C=C, device=device).fit(train_f, train_labels)
        acc = topk_accuracy(
            svm.decision_function(test_f), test_labels, (1, 2), classes=svm.classes_
        )
        rows.append(
            {
                "seed": int(seed),
                "top-1 (%)": 100 * acc[1],
                "top-2 (%)": 100 * acc[2],
                "extract s": extract_s,
                "fit s": svm.fit_seconds_,
            }
        )
    return rows


def _check_known(dataset, n_features, seed, train_f, test_f, train_images, test_images,
                 device) -> None:
    """Features given as ``known[seed]`` must be this seed's on these images: the first
    and last image of each split are extracted again and compared (features of another
    seed, or of other images, gave a plausible wrong accuracy; rows can differ at an exact
    sign tie between engines, so 1% of their values may)."""
    net = RandomDepthwiseSignNet.for_dataset(dataset, n_features, seed=seed)
    for split, given, images in (("train", train_f, train_images),
                                 ("test", test_f, test_images)):
        ends = [0, len(images) - 1]
        mine = np.asarray(extract(net, images[ends], device=device, progress=False))
        theirs = np.concatenate([np.asarray(given[i:i + 1], dtype=np.float32) for i in ends])
        if theirs.shape != mine.shape or np.mean(~np.isclose(theirs, mine, atol=1e-6)) > 0.01:
            raise ValueError(f"known[{seed}]'s {split} features are not seed {seed}'s features "
                             f"of these images (k = {n_features}): another seed, k or image "
                             "set? Pass the features of these images under this seed")

