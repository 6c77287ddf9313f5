"""What chapter 8's predictions say, with intervals: donor capture, accuracy per
condition, the ring's and the centre's costs (:func:`effect_rows`), and a bootstrap over
images and network seeds (:func:`rdsc.intervals.bootstrap_seeds_and_images`).
"""
from __future__ import annotations

import numpy as np

from rdsc.checks import one_of, seed_number, signed, whole_number
from rdsc.intervals import bootstrap_seeds_and_images as bootstrap
from rdsc.intervals import binomial_interval, hold_zero_unless_signs


def donor_capture(clean_pred, pred, donor_labels) -> dict[str, np.ndarray]:
    """Which predictions changed from the clean image's, and which changed *to the donor's class*.

    All arguments have the same shape (``N`` or ``seeds x N``). Returns boolean arrays
    ``changed`` and ``captured``; the capture rate is ``captured.sum() / changed.sum()``.
    """
    clean_pred, pred, donor_labels = (np.asarray(a) for a in (clean_pred, pred, donor_labels))
    if not clean_pred.shape == pred.shape == np.broadcast_shapes(pred.shape, donor_labels.shape):
        raise ValueError(f"clean_pred {clean_pred.shape}, pred {pred.shape} and donor_labels "
                         f"{donor_labels.shape} must have one shape")
    changed = pred != clean_pred
    return {"changed": changed, "captured": changed & (pred == donor_labels)}


def donor_chance(labels, pred, n_classes: int) -> np.ndarray:
    """For each prediction (``N`` or ``seeds x N``, images along the last axis), the chance
    that it is the donor's class when the donor is an image of another class drawn at
    random from the ``N`` images (:func:`rdsc.background.conditions.choose_donors`): 0
    for a prediction of the true class ``labels`` (no donor is of it), else the share of
    the predicted class among the images of other classes."""
    labels, pred = np.asarray(labels), np.asarray(pred)
    counts = np.bincount(labels, minlength=n_classes)
    others = len(labels) - counts[labels]          # other-class images, per image
    return np.where(pred == labels, 0.0, counts[pred] / np.maximum(others, 1))


def capture_rate(changed, captured) -> float:
    """P(prediction = donor class | prediction changed); NaN when nothing changed."""
    n = np.sum(changed)
    return float(np.sum(captured) / n) if n else float("nan")


def _stack(predictions: list[dict[str, np.ndarray]], condition: str) -> np.ndarray:
    return np.stack([np.asarray(p[condition]) for p in predictions])


def image_labels(labels, predictions) -> np.ndarray:
    """``labels`` as a 1-D array, one per image the networks predicted: ``N x 1`` or
    length-1 labels would broadcast against one network's predictions to ``N x N``
    pairs, an accuracy near 1 / classes whatever the truth."""
    labels = np.asarray(labels)
    n = len(np.asarray(next(iter(predictions[0].values()))))
    if labels.ndim != 1 or len(labels) != n:
        raise ValueError(f"labels must be 1-D, one per image ({n}), got shape {labels.shape}")
    return labels


def accuracy_rows(predictions: list[dict[str, np.ndarray]], labels, n_boot: int = 1000,
                  seed: int = 0) -> list[dict]:
    """Accuracy per condition with a bootstrap interval over networks and images.

    ``predictions``: one ``{condition: N labels}`` per network (seed), all on the same images.
    Returns rows ``{condition, accuracy, low, high}`` (fractions).
    """
    if not predictions:
        raise ValueError("predictions is empty: pass one {condition: labels} dict per network")
    labels = image_labels(labels, predictions)
    rows = []
    for cond in predictions[0]:
        correct = (_stack(predictions, cond) == labels).astype(np.float64)
        est, lo, hi = bootstrap(lambda a: a["c"].mean(), {"c": correct}, n_boot, seed)
        rows.append({"condition": cond, "accuracy": est, "low": lo, "high": hi})
    return rows


def effect_rows(predictions: list[dict[str, np.ndarray]], labels, donor_labels: np.ndarray,
                n_classes: int, n_boot: int = 1000, seed: int = 0
                ) -> dict[str, tuple[float, float, float]]:
    """The chapter's effects, each ``(estimate, low, high)`` over networks and images:

    * ``ring cost``: accuracy with a same-class ring minus with an other-class ring (what a
      foreign background costs beyond compositing);
    * ``centre cost``: the same for the centre;
    * ``ring capture`` / ``centre capture``: P(prediction = donor class | prediction changed);
    * ``ring capture chance`` / ``centre capture chance``: the capture the random draw of
      donors gives when the donor's content does not pull the prediction
      (:func:`donor_chance`): 0 for a changed prediction back on the true class, about
      ``1 / (n_classes - 1)`` for one on another class;
    * ``background only above chance``: background-only accuracy minus ``1 / n_classes``.

    ``donor_labels``: the class of each image's other-class donor (length N).
    """
    if not predictions:
        raise ValueError("predictions is empty: pass one {condition: labels} dict per network")
    labels, donor_labels = image_labels(labels, predictions), np.asarray(donor_labels)
    if donor_labels.shape != labels.shape:
        raise ValueError(f"donor_labels must be one per image ({len(labels)}), got shape "
                         f"{donor_labels.shape}")
    if np.any(donor_labels == labels):
        raise ValueError("donor_labels must be the other-class donors' labels (one equals the "
                         "image's own label)")
    n_classes = whole_number("n_classes", n_classes, at_least=2)
    if labels.max() >= n_classes:  # the chance levels would be another task's
        raise ValueError(f"labels reach {labels.max()}, beyond n_classes = {n_classes}")
    arrays = {cond: _stack(predictions, cond) for cond in predictions[0]}
    correct = {c: (p == labels).astype(np.float64) for c, p in arrays.items()}
    def cost(region):  # held to the sign test where few images differ (4 of
        # 400 once "confirmed" the pitfall, exact p = 0.125)
        same, other = correct[f"{region}, same class"], correct[f"{region}, other class"]
        interval = bootstrap(lambda a: (a["s"] - a["o"]).mean(), {"s": same, "o": other},
                             n_boot, seed)
        return hold_zero_unless_signs((same - other).mean(0), interval)

    out = {
        "ring cost": cost("ring"),
        "centre cost": cost("centre"),
        "background only above chance": bootstrap(lambda a: a["c"].mean() - 1 / n_classes,
                                                  {"c": correct["background only"]}, n_boot, seed),
    }
    donors = np.broadcast_to(donor_labels, arrays["clean"].shape)
    for region in ("ring", "centre"):
        cap = donor_capture(arrays["clean"], arrays[f"{region}, other class"], donors)
        rate = bootstrap(lambda a: capture_rate(a["changed"], a["captured"]), cap, n_boot,
                         seed)
        changed = int(np.sum(cap["changed"]))
        if changed and np.isfinite(rate[1]):  # at least as wide as the exact binomial
            # interval of the pooled count (one changed prediction, captured,
            # once gave "100 to 100%" and a "yes"; at chance that happens 12% of the time)
            low, high = binomial_interval(int(np.sum(cap["captured"] & cap["changed"])),
                                          changed)
            rate = (rate[0], min(rate[1], low), max(rate[2], high))
        out[f"{region} capture"] = rate
        # chance by the design: the donor's class is drawn from the other-class images,
        # whatever happens to the prediction (changed predictions that go back to the
        # true class, never a donor's, once counted as if they could be captured)
        cap["by chance"] = cap["changed"] * donor_chance(
            labels, arrays[f"{region}, other class"], n_classes)
        out[f"{region} capture chance"] = bootstrap(
            lambda a: capture_rate(a["changed"], a["by chance"]), cap, n_boot, seed)
    return out


def control_shifts(runs: dict, n_boot: int = 1000, seed: int = 0) -> dict:
    """How far each same-class control moves each classifier from its clean images:
    accuracy with a same-class ring (centre) minus clean accuracy, on the same images and
    networks, ``(estimate, low, high)`` as shares, paired over networks and images and
    held to the sign test where few images differ (as the costs of :func:`effect_rows`).
    ``runs``: as :func:`effects_over_datasets` takes them. Returns
    ``{(dataset, classifier, "ring" or "centre"): interval}``. (The chapter once set the
    same-class accuracy's own interval against the clean estimate: an unpaired reading of
    a paired design.)"""
    out = {}
    for dataset, run in runs.items():
        for clf, preds in run["predictions"].items():
            labels = image_labels(run["labels"], preds)
            clean = (_stack(preds, "clean") == labels).astype(np.float64)
            for region in ("ring", "centre"):
                if f"{region}, same class" not in preds[0]:
                    continue
                same = (_stack(preds, f"{region}, same class") == labels).astype(np.float64)
                interval = bootstrap(lambda a: (a["s"] - a["c"]).mean(),
                                     {"s": same, "c": clean}, n_boot, seed)
                out[dataset, clf, region] = hold_zero_unless_signs((same - clean).mean(0),
                                                                   interval)
    return out


def effect_text(name: str, value: float, low: float, high: float) -> str:
    """One cell of :func:`effects_over_datasets`' table: an effect (a share) in percent or
    points as ``"estimate [low, high]"``, its ends keeping their sign where they round to
    zero (not "-0.0" and "0.0" beside "yes"); a capture's chance as a plain level;
    ``–`` where no prediction changed (NaN)."""
    if np.isnan(value):
        return "– (no prediction changed)"
    if name.endswith("capture chance"):
        return f"{100 * value:.1f}"
    return "{} [{}, {}]".format(*(signed(100 * x).removeprefix("+")
                                  for x in (value, low, high)))


def effects_over_datasets(runs: dict, n_boot: int = 1000) -> tuple[dict, list[dict]]:
    """:func:`effect_rows` of every classifier on every dataset run, and their table rows.

    ``runs``: per dataset, ``{"classes", "labels", "donors", "predictions"}`` (``donors``:
    the image indices of the donors, ``"other"`` the other-class ones). Returns
    ``(effects, rows)``: ``effects[dataset, classifier]`` as :func:`effect_rows` gives it;
    ``rows``, one per pair, each effect as ``"estimate [low, high]"`` in percent, or in
    percentage points for the costs and the excess over chance (a capture's
    chance as a plain level; ``–`` where no prediction changed), and the share of
    predictions a foreign ring changed.
    """
    import warnings
    effects, rows = {}, []
    for dataset, run in runs.items():
        donor_labels = run["labels"][run["donors"]["other"]]
        for clf, preds in run["predictions"].items():
            with warnings.catch_warnings():  # no changed prediction: a NaN capture
                warnings.simplefilter("ignore", RuntimeWarning)
                e = effect_rows(preds, run["labels"], donor_labels, len(run["classes"]),
                                n_boot=n_boot)
            effects[dataset, clf] = e
            changed = np.mean([np.mean(p["ring, other class"] != p["clean"]) for p in preds])
            rows.append({
                "dataset": dataset, "classifier": clf,
                # a cost or an excess over chance is a difference of accuracies: points,
                # not a percentage
                **{f"{name} ({'%' if 'capture' in name else 'points'})":
                   effect_text(name, v, lo, hi) for name, (v, lo, hi) in e.items()},
                "changed by a foreign ring (%)": round(100 * changed, 1)})
    return effects, rows


def cost_difference(predictions_a: list[dict[str, np.ndarray]],
                    predictions_b: list[dict[str, np.ndarray]], labels,
                    region: str = "ring", n_boot: int = 1000, seed: int = 0
                    ) -> tuple[float, float, float]:
    """Classifier A's ``region`` cost (accuracy with a same-class ``region`` minus with an
    other-class one, as in :func:`effect_rows`) minus classifier B's, ``(estimate, low,
    high)`` with a 95% *paired* bootstrap interval: each replicate draws one set of images
    for both classifiers (both were tested on the same composites), and each classifier's
    networks (seeds) on its own, with replacement. Two intervals that overlap do not show
    that the difference is 0; this interval does, or does not.

    ``predictions_a`` / ``predictions_b``: one ``{condition: N labels}`` per network, all on
    the same N images (the numbers of networks may differ).
    """
    n_boot = whole_number("n_boot", n_boot, at_least=2)
    one_of("region", region, ("ring", "centre"))
    if not predictions_a or not predictions_b:
        raise ValueError("predictions is empty: pass one {condition: labels} dict per network")
    labels = image_labels(labels, predictions_a)

    def correct(predictions):
        if not predictions:
            raise ValueError("predictions is empty: pass one {condition: labels} dict per "
                             "network")
        same, other = (_stack(predictions, f"{region}, {kind} class")
                       for kind in ("same", "other"))
        if same.shape[1] != len(labels):
            raise ValueError(f"predictions hold {same.shape[1]} images for {len(labels)} "
                             "labels")
        same, other = same == labels, other == labels
        return same.astype(np.float64) - other.astype(np.float64)  # networks x N

    a, b = correct(predictions_a), correct(predictions_b)
    rng = np.random.default_rng(seed_number(seed))
    values = np.empty(n_boot)
    for r in range(n_boot):
        i = rng.integers(0, len(labels), len(labels))
        sa = rng.integers(0, len(a), len(a))
        sb = rng.integers(0, len(b), len(b))
        values[r] = a[sa][:, i].mean() - b[sb][:, i].mean()
    low, high = np.quantile(values, [0.025, 0.975])
    # held to the sign test of the per-image differences where few differ
    return hold_zero_unless_signs(a.mean(0) - b.mean(0),
                                  (float(a.mean() - b.mean()), float(low), float(high)))


def example_images(labels, clean_predictions, n: int) -> list[tuple[int, bool]]:
    """The test images a figure of examples shows, ``(index, right)`` each, in the order of
    their classes: the first image of each class that every classifier in
    ``clean_predictions`` (one array of N clean predictions each) gets right, from the
    first ``n`` classes that have one; where fewer than ``n`` classes do, the first image
    of the next classes, with ``right`` False (a row wrong for both models
    clean, as the first image of its class was, cannot show what a background does)."""
    n = whole_number("n", n, at_least=1)
    labels = np.asarray(labels)
    right = np.all([np.asarray(p) == labels for p in clean_predictions], axis=0)
    chosen, fallback = {}, []
    for c in np.unique(labels):
        hits = np.flatnonzero((labels == c) & right)
        if len(hits) and len(chosen) < n:
            chosen[c] = (int(hits[0]), True)
        elif not len(hits):
            fallback.append(c)
    for c in fallback[:n - len(chosen)]:  # too few classes right for both: say so
        chosen[c] = (int(np.flatnonzero(labels == c)[0]), False)
    return [chosen[c] for c in sorted(chosen)]
