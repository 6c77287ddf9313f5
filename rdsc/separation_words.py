"""Chapter 5's sentences and verdict words, read off :mod:`rdsc.separation`'s results.

:mod:`rdsc.separation` computes (ratios, margins, their controls and half-samples); this
module says what they show, by the chapter's rules: ``wider`` / ``narrower`` /
``undecided`` / ``not comparable`` / ``unverified`` for a margin comparison
(:func:`margin_word`), ``grows`` / ``shrinks`` for its growth with k (:func:`growth_word`),
and the chapter's sentences on the ratio (:func:`ratio_verdict`), the margins
(:func:`margin_verdict`) and the two controls (:func:`noise_reading`,
:func:`shuffled_reading`), where the fits say little (:func:`separable_by_count`,
:func:`soft_fits_reading`) and which fits the solver could not verify
(:func:`verification_reading`). The introduction's one-line
summary (:func:`rdsc.headlines.margin`) uses the same words.
"""
from __future__ import annotations

import re

import numpy as np

from rdsc.checks import name_list, ratio_apart, same_decimals, told_apart
from rdsc.separation import (HALF_SAMPLE_SHARE, MARGIN_TIE, MIN_HALF_SAMPLES, _records,
                             _sample_rows, beyond, check_compared_at, growth_against_noise,
                             is_hard, is_verified, largest_k_against_pixels, measured_hard,
                             smallest_separable_k, usable_hard)


#: dataset names as the chapter's prose writes them (others: the name, as code)
DATASET_WORDS = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "stl10": "STL-10",
                 "mnist": "MNIST"}


def factor_range(low: float, high: float) -> str:
    """A range of factors, ``"×1.02 to ×1.11"``, or one factor, ``"×1.11"``, where the two
    ends are the same at the two decimals shown (not "×1.11 to ×1.11")."""
    for digits in range(2, 6):  # more decimals where a range across 1 would print as
        # one factor (0.996 to 1.004 once read "×1.00")
        ends = f"×{low:.{digits}f}", f"×{high:.{digits}f}"
        if ends[0] != ends[1] or not low < 1 < high:
            break
    return ends[0] if ends[0] == ends[1] else f"{ends[0]} to {ends[1]}"


def dataset_words(names) -> str:
    """Datasets as the prose lists them: ``"CIFAR-10 and `miniimagenet10`"``."""
    names = name_list("datasets", names)  # "cifar10" alone read as c, i, f, a, r...
    if not names:
        raise ValueError("dataset_words needs at least one dataset")
    words = [DATASET_WORDS.get(d, f"`{d}`") for d in names]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def shortfall_words(shortfall: dict, dataset: str) -> str:
    """What :func:`rdsc.separation.solver_shortfall` measured, as a clause: "on CIFAR-10's
    first 3,000 features it ended after 10 to 11 Newton steps with a mean margin 11.5% to
    11.6% narrower than the optimum's, over 3 fits: on the features and on 2 copies of them
    with every value changed by about one part in ten million ..."; one number where every
    copy gave it (or results saved before the copies), and how many fits ran out of steps."""
    where = f"on {dataset_words([dataset])}'s first {int(shortfall['k']):,} features"
    verified = shortfall.get("exact verified")  # None: saved before it was recorded
    optimum = "the optimum's" if verified is True else "the exact solver's"
    note = (" (a fit the solver could not verify as the optimum)" if verified is False
            else "")
    steps = [int(v) for v in shortfall.get("steps range", [shortfall["steps"]] * 2)]
    narrower = [float(v) for v in shortfall.get("narrower range", [shortfall["narrower"]] * 2)]
    copies = int(shortfall.get("perturbed", 0))
    limited = int(shortfall.get("at the limit", 0))
    # "over the features and 2 copies differing from them at float32 rounding"
    # did not say what the copies were for
    over = (f", over {copies + 1} fits: on the features and on {copies} "
            f"cop{'y' if copies == 1 else 'ies'} of them with every value changed by about "
            "one part in ten million (float32 rounding), since where the solver stops "
            "depends on such rounding" if copies else "")
    if limited:
        who = f"{limited} of the {copies + 1} fits" if copies else "the fit"
        over += f"; {who} ran out of the solver's {int(shortfall['step limit'])} steps"
    step_words = (f"{steps[0]} Newton step{'s' if steps[0] != 1 else ''}"
                  if steps[0] == steps[1] else f"{steps[0]} to {steps[1]} Newton steps")
    if max(abs(v) for v in narrower) < 0.001:
        return (f"{where} it ended after {step_words} within 0.1% of {optimum} "
                f"margin{note}{over}")
    low, high = narrower
    if f"{low:.1%}" == f"{high:.1%}":
        size = f"{abs(high):.1%} {'narrower' if high > 0 else 'wider'}"
    elif f"{abs(low):.1%}" == "0.0%":  # "from 0.0% wider to ...": up to the other end
        size = f"up to {high:.1%} narrower"
    elif f"{abs(high):.1%}" == "0.0%":
        size = f"up to {-low:.1%} wider"
    elif low >= 0:
        size = f"{low:.1%} to {high:.1%} narrower"
    elif high <= 0:
        size = f"{-high:.1%} to {-low:.1%} wider"
    else:
        size = f"from {-low:.1%} wider to {high:.1%} narrower"
    return (f"{where} it ended after {step_words} with a mean margin {size} than "
            f"{optimum}{note}{over}")


def shortfall_reading(shortfall: dict, dataset: str) -> str:
    """The predicate of "the float32 Newton-CG solver ... <this>", from what
    :func:`rdsc.separation.solver_shortfall` measured at this run's C: it stops short of
    the exact solver's fit (on every copy of the features), came within 0.1% of it (once
    "stops short" beside "within 0.1%" at C = 1), or depends on rounding."""
    said = shortfall_words(shortfall, dataset)
    narrower = [float(v) for v in shortfall.get("narrower range", [shortfall["narrower"]] * 2)]
    if max(abs(v) for v in narrower) < 0.001:
        return f"came within 0.1% of the exact fit at this C ({said})"
    if min(narrower) >= 0.001:
        return f"stops short of the exact fit at this C ({said})"
    return f"does not reliably reach the exact fit at this C ({said})"


def per_dataset(texts: dict, template: str) -> str:
    """One sentence per dataset, in the order of ``texts`` (``{dataset: its text}``), each
    ``template`` filled with ``{name}`` and ``{text}``: e.g. ``"On {name} the ratio is
    {text}."`` gives ``"On CIFAR-10 the ratio is ... On `miniimagenet10` the ratio is
    ..."``, for whichever datasets the run was given. A sentence after the first that
    every dataset's text holds word for word is said once, at the end."""
    # a caveat that every dataset's text ends the same way is said once, after
    # them ("On the training images, a wide margin comes with ..." stood twice)
    split = {d: re.split(r"(?<=\.) (?=[A-Z])", t) for d, t in texts.items()}
    shared = [x for x in next(iter(split.values()))[1:]  # whole sentences only: a
              if len(split) > 1 and x.endswith(".")      # template may end the text
              and all(x in parts[1:] for parts in split.values())]
    said = " ".join(template.format(name=dataset_words([d]),
                                    text=" ".join(x for x in parts if x not in shared))
                    for d, parts in split.items())
    return " ".join([said, *shared])


def draws_words(comparison: dict) -> str:
    """How a comparison's draws are named: ``10 half-samples`` (or, for results saved
    before the half-samples, ``10 bootstrap resamples``)."""
    if "half-samples" in comparison:
        return f"{comparison['half-samples']} half-samples"
    return f"{comparison['resamples']} bootstrap resamples"


def range_words(comparison: dict, prefix: str = "", short: bool = False) -> str:
    """The spread of a comparison's draws, as the chapter prints it: ``above 1 on 9 of 10
    half-samples (median 1.20, range 0.98 to 1.40)``, or with ``short`` (the intro's
    table) ``above 1 on 9 of 10 half-samples``; ``prefix`` picks the growth's keys
    (``"growth "``). Results saved before the counts: ``0.90 to 1.40 over 10 bootstrap
    resamples``."""
    low, high = comparison[f"{prefix}low"], comparison[f"{prefix}high"]
    above = comparison.get(f"{prefix}above 1")
    if above is None or "half-samples" not in comparison:
        median = comparison.get(f"{prefix}median")
        middle = "" if median is None else f" (median {median:.2f})"
        return f"{low:.2f} to {high:.2f}{middle} over {draws_words(comparison)}"
    ratio = comparison["growth" if prefix else "ratio"]
    side, count = (("above", above) if ratio > 1 else
                   ("below", comparison[f"{prefix}below 1"]))
    counted = f"{side} 1 on {int(count)} of {draws_words(comparison)}"
    if short:
        return counted
    return (f"{counted} (median {comparison[f'{prefix}median']:.2f}, range {low:.2f} to "
            f"{high:.2f})")


def soft_comparison(comparison: dict) -> bool:
    """Whether a :func:`margin_comparison` rests on soft margins: the fit on all images of
    the pixels or of the features is not a hard margin, or fewer than
    :data:`HALF_SAMPLE_SHARE` of the half-sample fits are. A soft margin's ``1/|w|`` also
    measures the training errors the fit accepts (it moves with C), so two of them do not
    compare. Results saved before these counts: not known, False (:func:`margin_claim` and
    :func:`margin_verdict` fill the whole-sample flags in from the rows)."""
    for key in ("pixels hard", "features hard"):
        flag = comparison.get(key)  # a Python or NumPy bool; None or NaN: not measured
        if flag is not None and flag == flag and not bool(flag):
            return True
    soft, fits = comparison.get("soft half-sample fits"), comparison.get("half-sample fits")
    return bool(fits) and (fits - soft) / fits < HALF_SAMPLE_SHARE


def _missing(value) -> bool:
    """A value not saved: absent (None) or NaN (a DataFrame row that lacks it)."""
    return value is None or (isinstance(value, float) and value != value)


def unverified_count(comparison: dict, key: str = "unverified fits") -> int:
    """How many fits a :func:`margin_comparison`'s width (``key="unverified fits"``) or
    growth (``"unverified growth fits"``) rests on that the solver could not verify at the
    optimum (0 for results saved before the count: :func:`verification_reading` and
    :func:`margin_claim` say it was not recorded)."""
    count = comparison.get(key)
    if _missing(count) and key != "unverified fits":
        # saved at 161c79a: one count, of the fits the width and the growth rest on
        count = comparison.get("unverified fits")
    if _missing(count):
        return 0
    if (isinstance(count, (bool, np.bool_)) or not isinstance(count, (int, float, np.number))
            or not float(count).is_integer() or count < 0):
        raise ValueError(f"a comparison's {key!r} must be a whole number of at least 0, "
                         f"got {count!r}")
    return int(count)


def margin_word(comparison: dict) -> str:
    """What a :func:`margin_comparison` says: ``wider`` (features over pixels above 1 on all
    images and on at least :data:`HALF_SAMPLE_SHARE` of the half-samples), ``narrower``
    (below 1 on all images and on that share), ``undecided``, ``not comparable`` where
    the fits are soft margins (:func:`soft_comparison`), or ``unverified`` where a fit it
    rests on may not be the SVM's optimum (:func:`unverified_count`): its margin, and so
    the comparison, may be off. Results saved before the counts: on every draw (``low`` >
    1, ``high`` < 1)."""
    if unverified_count(comparison):
        return "unverified"
    if soft_comparison(comparison):
        return "not comparable"
    ratio, low, high = comparison["ratio"], comparison["low"], comparison["high"]
    n = comparison.get("half-samples")
    if n and comparison.get("above 1") is not None:
        if too_few_halves(comparison):
            return "undecided"
        share_above = comparison["above 1"] / n
        share_below = comparison["below 1"] / n
        return ("wider" if ratio > 1 and share_above >= HALF_SAMPLE_SHARE else
                "narrower" if ratio < 1 and share_below >= HALF_SAMPLE_SHARE else
                "undecided")
    return ("wider" if ratio > 1 and low > 1 else "narrower" if ratio < 1 and high < 1
            else "undecided")


def too_few_halves(comparison: dict) -> bool:
    """Whether a comparison counted on fewer than :data:`MIN_HALF_SAMPLES` half-samples:
    too few for a direction, whatever their share on one side."""
    n = comparison.get("half-samples")
    return (comparison.get("above 1") is not None and not _missing(n)
            and 0 < n < MIN_HALF_SAMPLES)


def _too_few_words(comparison: dict) -> str:
    """``; 4 half-samples are too few for a direction (at least 6)`` where so, else ``""``."""
    if not too_few_halves(comparison):
        return ""
    return (f"; {int(comparison['half-samples'])} half-samples are too few for a direction "
            f"(at least {MIN_HALF_SAMPLES})")


def growth_word(comparison: dict) -> str | None:
    """What :func:`margin_comparison` says of the margin's growth with k, by the rule of
    :func:`margin_word`: ``grows``, ``shrinks``, ``undecided`` or ``unverified``; None when
    not measured."""
    growth = comparison.get("growth", float("nan"))
    if growth is None or not np.isfinite(growth):
        return None
    if unverified_count(comparison, "unverified growth fits"):
        return "unverified"
    if not all(key in comparison for key in ("growth low", "growth high")):
        raise ValueError("comparison has a growth but not its half-samples' range (growth "
                         "low, growth high): make it with margin_comparison")
    word = margin_word({"ratio": growth, "low": comparison["growth low"],
                        "high": comparison["growth high"],
                        "half-samples": comparison.get("half-samples"),
                        "above 1": comparison.get("growth above 1"),
                        "below 1": comparison.get("growth below 1")})
    return {"wider": "grows", "narrower": "shrinks", "undecided": "undecided"}[word]


def ratio_verdict(ratios, differences, space: str) -> str:
    """The chapter's sentence on one dataset: pixel and feature ratios and whether the paired
    interval of their difference lies above 0, below 0, or contains it.

    ``ratios``/``differences``: rows of :func:`ratio_rows` (dicts or a DataFrame) for one
    dataset; ``space``: the feature space compared, e.g. ``"features, k=2000"``.
    """
    rows, diffs = _records(ratios), _records(differences)
    datasets = {r["dataset"] for r in rows + diffs if "dataset" in r}
    if len(datasets) > 1:  # the ratios of one and the difference of another, in one line
        raise ValueError(f"ratio_verdict reads one dataset's rows, got {sorted(datasets)}")
    ratio = {r["space"]: r["ratio"] for r in rows}
    d = next((r for r in diffs if r["space"] == space), None)
    if d is None or space not in ratio or "pixels" not in ratio:
        raise ValueError(f"the rows hold no pixel ratio, ratio or difference for {space!r}")
    if not (np.isfinite(d["low"]) and np.isfinite(d["high"])) or d["low"] > d["high"]:
        raise ValueError(f"need a finite interval low <= high, got [{d['low']}, {d['high']}]")
    if d["low"] > 0:
        word = "higher in the final layer (the paired interval of the difference lies above 0)"
    elif d["high"] < 0:
        word = "lower in the final layer (the paired interval of the difference lies below 0)"
    else:
        word = "not distinguishable between the two spaces (the paired interval contains 0)"
    # printed apart where they differ (not "0.812 ... 0.812 ... higher")
    pixels, features = told_apart(ratio["pixels"], ratio[space], 3)
    diff, low, high = same_decimals((d["features - pixels"], d["low"], d["high"]), 3)
    return (f"{pixels} for pixels and {features} for the "
            f"features ({space}), difference {diff} [{low}, {high}]: {word}")


def margin_verdict(margins, comparison: dict | None = None) -> str:
    """The chapter's sentence on one dataset's margins (rows of :func:`margin_rows`): the
    largest k against pixels, and whether the hard margin grows with k over the k whose
    fits are hard margins (:func:`is_hard`), both judged with ``comparison`` (its
    :func:`margin_comparison`; without one, or without its growth, by direction alone)."""
    rows = _records(margins)
    top, pixels, vs = largest_k_against_pixels(rows)
    check_compared_at(comparison, top)
    if comparison is not None:  # results saved before the flags: the rows' own
        comparison = {"pixels hard": is_hard(pixels), "features hard": is_hard(top),
                      **comparison}
    if comparison is None and not (is_hard(top) and is_hard(pixels)):
        vs = "not comparable (soft margins; no half-samples were fitted)"
    elif comparison is None:
        vs += " on the features (the direction alone: no half-samples were fitted)"
    else:
        vs = {"wider": "wider on the features", "narrower": "narrower on the features",
              "undecided": "undecided between the two",
              "not comparable": "not comparable, for soft margins also measure the "
              "training errors they accept (a larger C or fewer images gives hard ones)",
              "unverified": f"not judged, for {unverified_count(comparison)} of the SVM "
              "fits it rests on could not be verified at the optimum (their margins may "
              "be off)"}[margin_word(comparison)]
        vs += (f" (features over pixels {ratio_apart(comparison['ratio'])} on the sample, "
               f"{range_words(comparison)}")
        if "pixels widen" in comparison:
            vs += (f", on which a mean margin is on average {comparison['pixels widen']:.2f} "
                   f"times its value on the whole sample for pixels and "
                   f"{comparison['features widen']:.2f} times for the features")
        vs += _too_few_words(comparison)
        soft = comparison.get("soft half-sample fits")
        if soft is not None and np.isfinite(soft):
            vs += ("; every half-sample fit a hard margin" if soft == 0 else
                   f"; {int(soft)} of the {int(comparison['half-sample fits'])} "
                   "half-sample fits soft")
        vs += ")"
    feats = sorted((r for r in rows if r["space"] == "features"), key=lambda r: r["dimension"])
    separable = [r for r in feats if usable_hard(r)]
    listed = ", ".join(f"k = {int(r['dimension']):,}: {r['mean margin']:.4f}"
                       for r in separable)
    growing = None if comparison is None else growth_word(comparison)
    if growing is not None:
        if not np.isfinite(comparison.get("growth from k", float("nan"))):
            raise ValueError("comparison has a growth but not the k it starts from: make "
                             "it with margin_comparison")
        k_from, k = int(comparison["growth from k"]), int(top["dimension"])
        set_aside = any(r["dimension"] < k_from and is_hard(r) and not is_verified(r)
                        for r in feats)
        trend = (f"From k = {k_from:,}, the smallest k tried whose fit is a hard margin"
                 + (" the solver verified" if set_aside else "") + ", "
                 f"to k = {k:,} the hard margin "
                 + {"grows": "grows", "shrinks": "shrinks",
                    "undecided": "is undecided between growing and shrinking",
                    "unverified": "is not judged (unverified fits)"}[growing]
                 + f" (the margin at k = {k:,} over that at k = {k_from:,}: "
                 f"{comparison['growth']:.2f} on the sample, "
                 f"{range_words(comparison, 'growth ')}{_too_few_words(comparison)}; "
                 "margins over the hard "
                 f"k: {listed})")
    elif len(separable) >= 2:
        s = np.array([r["mean margin"] for r in separable])
        trend = ("The hard margin " + ("grows" if np.all(np.diff(s) > 0)
                                       else "does not grow steadily")
                 + f" over the k with hard margins ({listed}; a direction, without an "
                 "interval)")
    else:
        trend = ("How the hard margin changes with k cannot be judged: fewer than two values "
                 "of k give hard margins")
    ours, theirs = told_apart(top["mean margin"], pixels["mean margin"])
    return (f"{ours} at k = {int(top['dimension']):,} ({fit_words(top)}) "
            f"against {theirs} on pixels ({fit_words(pixels)}): {vs}. "
            f"{trend}")


def fit_label(row: dict) -> str:
    """A margin row's fit in a table cell: ``hard`` or ``soft`` (:func:`is_hard`), with
    ``, unverified`` where the solver could not verify it (:func:`is_verified`)."""
    return ("hard" if is_hard(row) else "soft") + ("" if is_verified(row) else ", unverified")


def margin_table(margins):
    """Chapter 5's margins table from its rows (a DataFrame with ``dataset``, ``space``,
    ``dimension``, the margins, ``hard`` and ``verified``): one row per dataset, space
    and k, with ``hard`` and ``verified`` as one ``fit`` column (:func:`fit_label`) and
    short headers, so that it fits the page (the sample size goes in the text; ``C``,
    the noise draws' margins and the sample's hash are left out)."""
    table = margins.assign(fit=[fit_label(row) for row in margins.to_dict("records")])
    table = table.drop(columns=["C", "draw margins", "sample", "images", "hard", "verified"],
                       errors="ignore")
    return table.rename(columns={"train accuracy": "train acc.", "dimension": "dim."}
                        ).set_index(["dataset", "space", "dim."]).round(
        {"mean margin": 4, "min margin": 4, "min y·f": 2})


def fit_words(row: dict) -> str:
    """How a margin row's fit reads: ``hard margin, min y·f 0.97`` or ``soft margin, min
    y·f -0.32, training accuracy 1.000`` (rows saved before ``min y·f``: the accuracy),
    with ``, not verified at the optimum`` where the solver could not verify it."""
    if row.get("min y·f") is None:
        text = f"training accuracy {row['train accuracy']:.3f}"
    elif is_hard(row):
        text = f"hard margin, min y·f {row['min y·f']:.2f}"
    else:
        text = (f"soft margin, min y·f {row['min y·f']:.2f}, training accuracy "
                f"{row['train accuracy']:.3f}")
    return text if is_verified(row) else text + ", not verified at the optimum"


def _unverified_reason(named: dict) -> str:
    """``""`` where every fit in ``named`` (``{"noise at k = 3,000": row}``) was verified,
    else why a reading gives no verdict: "the solver could not verify its fit of ..."."""
    bad = [name for name, row in named.items() if not is_verified(row)]
    if not bad:
        return ""
    return (f"the solver could not verify its fit{'s' * (len(bad) > 1)} of "
            f"{' and '.join(bad)} at the optimum "
            + ("(margins that may be off)" if len(bad) > 1 else "(a margin that may be off)"))


def _control_rows(rows: list[dict], space: str, maker: str):
    """One control's rows of a dataset, ``{k: row}``, with the features' row at the largest
    k, the pixels' row and that k; None without rows of ``space``; refused when the control
    lacks the largest k (``maker``: the function that fits it, for the message)."""
    control = {int(r["dimension"]): r for r in rows if r["space"] == space}
    if not control:
        return None
    top, pixels, _ = largest_k_against_pixels(rows)
    k = int(top["dimension"])
    if k not in control:
        raise ValueError(f"the {space} rows have no k = {k:,}, the features' largest: fit "
                         f"{maker} with the same ks")
    return control, top, pixels, k


def noise_reading(margins) -> str:
    """The chapter's sentence on the noise control (:func:`noise_margin_rows`) for one
    dataset's margin rows: noise's margin at the largest k against the features' and the
    pixels', and, where noise and features both have hard margins at two k,
    how each margin grows between them (only between fits the solver verified). Empty
    without noise rows."""
    rows = _records(margins)
    got = _control_rows(rows, "noise", "noise_margin_rows")
    if got is None:
        return ""
    noise, top, pixels, k = got
    z = noise[k]
    # printed apart where they differ (not "0.0500, against 0.0500 ...: wider")
    ours, theirs = told_apart(z["mean margin"], top["mean margin"])
    draws = [float(m) for m in (z.get("draw margins") or [])]
    text = (f"Gaussian noise of the same k = {k:,} dimensions, which carries no information "
            f"about the classes, fits the same labels ({fit_words(z)}) with a mean margin "
            f"of {ours}, against "
            f"{theirs} for the features and {pixels['mean margin']:.4f} for "
            f"pixels")
    unverified = _unverified_reason({f"noise at k = {k:,}": z,
                                     f"the features at k = {k:,}": top})
    if unverified:
        text += f": not compared, for {unverified}."
    elif not is_hard(z) and is_hard(top):
        text += (": noise gets no hard margin where the features do, so the features' "
                 "separation is more than the number of dimensions gives.")
    elif is_hard(z) and not is_hard(top):
        text += (": noise gets a hard margin where the features do not, so here the number "
                 "of dimensions alone does more for the training images than the features.")
    elif not is_hard(z) and not is_hard(top):
        text += (": neither fit is a hard margin, and soft margins, which also measure the "
                 "training errors they accept, do not compare.")
    elif len(draws) > 1 and min(draws) <= top["mean margin"] <= max(draws):
        low, high = told_apart(min(draws), max(draws))
        text += (f": its {len(draws)} draws ({low} to {high}) hold the features' margin, so "
                 "the number of dimensions alone gives a margin this wide.")
    elif z["mean margin"] == top["mean margin"]:  # a tie once read "narrower"
        text += (": as wide as the features' margin, so the number of dimensions alone "
                 "gives a margin this wide.")
    elif z["mean margin"] > top["mean margin"]:
        text += (": wider than the features' margin. On the training images, a wide margin "
                 "comes with the number of dimensions, and is not by itself evidence that a "
                 "representation carries information about the classes.")
    else:
        text += (": narrower, so the features' margin is wider than the number of "
                 "dimensions alone gives.")
    # the growth's start: the k the chapter's comparison uses, hard and verified for both
    k_from = smallest_separable_k(rows, k)
    if k_from is not None:
        g = growth_against_noise(rows, k_from)
        per_draw = g["noise draws"]
        spread = (f" (its {len(per_draw)} draws: "
                  f"{factor_range(min(per_draw), max(per_draw))})" if len(per_draw) > 1 else "")
        said = {
            "does not grow": "the features' margin does not grow between them.",
            "faster": ("the features' margin grows faster than every draw of noise."
                       if len(per_draw) > 1 else
                       "the features' margin grows faster than noise's (one draw, no "
                       "spread)."),
            "slower": ("every draw of noise grows more, so growth with k is what added "
                       "dimensions do to the margin, with or without information in them."
                       if len(per_draw) > 1 else
                       "noise's grows as much or more (one draw, no spread), so growth "
                       "with k is what added dimensions do to the margin, with or without "
                       "information in them."),
            "within": ("within the range of the noise draws, so growth with k here is what "
                       "added dimensions do to the margin, with or without information in "
                       "them."),
        }[g["word"]]
        text += (f" From k = {k_from:,} to k = {k:,}, where both fits are hard "
                 f"margins, noise's margin changes by ×{g['noise']:.2f}{spread} and the "
                 f"features' by ×{g['features']:.2f} on this sample: {said}")
    return text


def shuffled_reading(margins) -> str:
    """The chapter's sentence on the shuffled-label control (:func:`permuted_label_rows`)
    for one dataset's margin rows: from which k the true and the shuffled labels get hard
    margins (verified fits only), and, at the largest k, the true labels' margin against
    every shuffle's (not compared where either fit is unverified). Empty without shuffled
    rows."""
    rows = _records(margins)
    got = _control_rows(rows, "shuffled labels", "permuted_label_rows")
    if got is None:
        return ""
    shuffled, top, _, k = got
    # an unverified fit's hardness may be off too: only verified fits count as hard
    true_hard = [int(r["dimension"]) for r in _sample_rows(rows)
                 if r["space"] == "features" and usable_hard(r)]
    shuffled_hard = [d for d, r in shuffled.items() if usable_hard(r)]

    set_aside = any(is_hard(r) and not is_verified(r) for r in rows
                    if r["space"] in ("features", "shuffled labels"))

    def first(ks):
        return f"from k = {min(ks):,} on" if ks else "at no k tried"
    verified_words = (" (counting only the fits the solver verified)" if set_aside
                      else "")
    draws = shuffled[k].get("draw margins") or [shuffled[k]["mean margin"]]
    text = (f"With the labels shuffled among the same images ({len(draws)} "
            f"{'shuffle' if len(draws) == 1 else 'shuffles'}), the same features give a "
            f"hard margin {first(shuffled_hard)}, the true labels {first(true_hard)}"
            f"{verified_words}.")
    z = shuffled[k]
    unverified = _unverified_reason({f"the shuffled labels at k = {k:,}": z,
                                     f"the true labels at k = {k:,}": top})
    if unverified:
        return text + f" At k = {k:,} the margins are not compared, for {unverified}."
    if not is_hard(top):
        return text + (f" At k = {k:,} the true labels' fit is soft, so the margins do "
                       "not compare there.")
    if not is_hard(z):
        return text + (f" At k = {k:,} the shuffled labels get no hard margin "
                       f"({fit_words(z)}) where the true labels do: the separation there "
                       "is the classes', not the number of features'.")
    m, low, high = top["mean margin"], min(draws), max(draws)
    d = 4  # not "0.0039 to 0.0039": as many decimals as tell the range's ends apart,
    # and the true labels' margin from them (not "0.0500 ... against 0.0500 (×1.00)"
    # beside a permutation test's win)
    while d < 8 and any(x != y and f"{x:.{d}f}" == f"{y:.{d}f}"
                        for x, y in ((low, high), (m, high), (m, low))):
        d += 1
    shuffles = f"{low:.{d}f}" if low == high else f"{low:.{d}f} to {high:.{d}f}"
    where = (f"{m:.{d}f} with the true labels against {shuffles} with the "
             f"shuffles at k = {k:,} ({factor_range(m / high, m / low)})")
    # the true labels against n shuffles is a permutation test whose smallest p is 1/(n+1)
    p_best = 1 / (len(draws) + 1)
    wider, narrower = beyond(m, high), beyond(low, m)
    if wider and p_best <= 0.05:
        text += (f" The margin is wider with the true labels: {where} (p = {p_best:.2f}, "
                 "a permutation test), so part of the margin is the classes' structure, "
                 "beyond what the features' dimensions give any labelling.")
    elif wider:
        text += (f" The margin is wider with the true labels: {where}. With "
                 f"{len(draws)} shuffles even chance ranks the true labels first with "
                 f"probability {p_best:.2f}: an indication that the classes' structure adds "
                 f"to the margin, not a test (p <= 0.05 needs at least 19 shuffles).")
    elif narrower:
        text += (f" The margin is narrower with the true labels: {where}: the classes "
                 "are harder to split than a random labelling.")
    else:
        text += (f" The true labels' margin lies within the shuffles' (or within "
                 f"{MARGIN_TIE:.1%} of them, which this book does not read as a "
                 f"difference): {where}, so the width of the margin here says nothing "
                 "about the classes.")
    both = sorted(d for d in set(true_hard) & set(shuffled_hard) if d < k)
    if both:  # the growth with k, where both fits are hard at both ends
        g = growth_against_noise(rows, both[0], control="shuffled labels")
        per = g["noise draws"]
        spread = (f" (shuffles {factor_range(min(per), max(per))})" if len(per) > 1
                  else "")
        said = {"faster": "the true labels' margin grows faster than every shuffle's",
                "slower": ("every shuffle's margin grows more" if len(per) > 1 else
                           "the shuffle's margin grows as much or more (one shuffle)")
                          + ", so the growth with k is what added features do for any "
                          "labelling",
                "within": "within the shuffles' range, so the growth with k is what added "
                          "features do for any labelling",
                "does not grow": "the true labels' margin does not grow"}[g["word"]]
        text += (f" From k = {both[0]:,} to k = {k:,} the shuffled labels' margin grows "
                 f"×{g['noise']:.2f}{spread} and the true labels' ×{g['features']:.2f}: "
                 f"{said}.")
    return text


def separable_by_count(margins, C: str) -> str:
    """The chapter's sentence on the margin rows (``margins``: a DataFrame with
    ``dataset``, ``space``, ``images``, ``dimension``) where separability is guaranteed by
    the count: ``n`` points in general position in ``d >= n - 1`` dimensions can always be
    split by a hyperplane, so there training accuracy 1 says nothing about the
    representation. ``C``: the SVM's penalty as the chapter shows it."""
    free = margins[(margins["images"] <= margins["dimension"] + 1)
                   & margins["space"].isin(["pixels", "features"])]
    if not len(free):
        return ("Every row here has more training images than dimensions plus one, so "
                "separability is not guaranteed by the count alone.")
    listed = "; ".join(f"{row.dataset} {row.space} ({row.images:,} images, "
                       f"{int(row.dimension):,} dimensions)" for row in free.itertuples())
    return ("Where there are no more training images than dimensions plus one, any labels "
            "can be separated by a hyperplane (points in general position), so there "
            "separability says nothing about the representation and only the width of the "
            "margin tells the representations apart (a soft margin there means that the "
            f"SVM with C = {C} stopped short of the hard margin): {listed}.")


def soft_fits_reading(margins) -> str:
    """Which k gave the features only a soft margin (``margins``: a DataFrame with
    ``dataset``, ``space``, ``dimension``, ``hard``, ``min y·f``), since a soft margin
    reflects the training errors it accepts; or that every k gave a hard one."""
    features = margins[margins["space"] == "features"]
    if features.empty:
        raise ValueError("soft_fits_reading needs the features' margin rows; got none")

    def listed(part_rows):
        return "; ".join(
            f"{name}: k = {', '.join(f'{int(k):,}' for k in part['dimension'])}"
            for name, part in part_rows.groupby("dataset"))
    # is_hard per row: NaN or the text "False" both read true through astype(bool)
    soft = features[~features.apply(lambda r: is_hard(r.to_dict()), axis=1).astype(bool)]
    verified = features.apply(lambda r: is_verified(r.to_dict()), axis=1).astype(bool)
    unverified = ("" if verified.all() else
                  " The solver could not verify the features' fits at "
                  f"{listed(features[~verified])}: their margins, and whether they are "
                  "hard, may be off.")
    if len(soft):
        return (f"Some k give only a soft margin ({listed(soft)}): it reflects the training "
                "errors it accepts, so compare margins where the fit is hard." + unverified)
    return (f"Every k here gives a hard margin (min y·f at least "
            f"{features['min y·f'].min():.2f})"
            + (", so all the feature margins compare." if not unverified else "."
               + unverified))


def verification_recorded(rows, comparisons) -> bool:
    """Whether margin rows and their comparisons carry each fit's verification (results
    saved before it was recorded: not, and nothing can be said of it)."""
    # the width's count is enough: results of 161c79a carry it alone (width and growth)
    return (not any(_missing(r.get("verified")) for r in _records(rows))
            and not any(_missing(c.get("unverified fits")) for c in _records(comparisons)))


def verification_reading(margins, comparisons) -> str:
    """Whether the solver verified at the optimum every SVM fit behind the margins table
    (``margins``: a DataFrame of :func:`rdsc.separation.margin_rows` and the controls'
    rows, with ``dataset``) and the half-sample comparisons (``comparisons``: a DataFrame
    of :func:`rdsc.separation.margin_comparison`, with ``dataset``); else which were not,
    for their margins may be off. Rows saved before ``verified`` was recorded: not known."""
    rows, compared = _records(margins), _records(comparisons)
    if not verification_recorded(rows, compared):
        return ("These results were saved before the solver's verification of each fit "
                "was recorded: rerun the chapter to see it.")
    fits = sum(len(r["draw margins"]) if isinstance(r.get("draw margins"), list) else 1
               for r in rows)
    halves = sum(int(c["half-samples"])
                 * (3 if np.isfinite(c.get("growth from k", float("nan"))) else 2)
                 for c in compared)
    unverified = [r for r in rows if not is_verified(r)]
    missed = sum(unverified_count(c, "unverified half-sample fits") for c in compared)
    if not unverified and not missed:
        return (f"The solver verified every one of these SVM fits at its optimum: the "
                f"{fits:,} results behind the margins table (its {len(rows)} rows, each "
                f"control's draws counted) and the {halves:,} fits on half-samples.")
    parts = []
    if unverified:
        listed = "; ".join(f"{dataset_words([r['dataset']])}: " + (
            "pixels" if r["space"] == "pixels"
            else f"{r['space']} at k = {int(r['dimension']):,}")
            + (" (at least one of its draws)" if r["space"] in ("noise", "shuffled labels")
               else "") for r in unverified)
        parts.append(f"the table's row{'s' * (len(unverified) > 1)} {listed}")
    if missed:
        parts.append(f"{missed} of the {halves:,} fits on half-samples")
    withheld = [f"the {what} on {dataset_words([c['dataset']])}" for c in compared
                for what, key in (("width", "unverified fits"),
                                  ("growth with k", "unverified growth fits"))
                if unverified_count(c, key)]
    one = len(unverified) + missed == 1
    return ("The solver could not verify every fit at the SVM's optimum, so "
            + ("this margin" if one else "these margins")
            + f" may be off: {' and '.join(parts)}. The chapter's readings that rest on "
            + ("it" if one else "them") + " say so instead of judging"
            + (f" (among the half-sample comparisons: {', '.join(withheld)})."
               if withheld else "; none of the half-sample comparisons rests on "
               + ("it." if one else "them.")))


#: how the introduction's line shows a verdict withheld for an unverified fit (the bare
#: word read as if the claim itself were unverified)
_UNVERIFIED_WORDS = {"unverified": "not judged, a fit the solver could not verify"}


def noise_shared(rows: list[dict], datasets) -> bool:
    """Whether the noise control's rows (``rows``: :func:`rdsc.separation.margin_rows` of
    several datasets, with the controls' rows) are the same for every dataset in
    ``datasets``: the control depends only on the sample's labels, so datasets whose
    samples have the same labels in the same order share one set of noise draws, and their
    margin verdicts rest on it alike (the margin headline, :func:`rdsc.headlines.margin`,
    says so)."""
    def noise_of(name):
        return sorted((r["dimension"], r["mean margin"], tuple(r.get("draw margins", ())))
                      for r in rows if r["dataset"] == name and r["space"] == "noise")
    names = list(dict.fromkeys(datasets))
    first = noise_of(names[0]) if names else []
    return len(names) > 1 and bool(first) and all(noise_of(n) == first for n in names[1:])


def margin_claim(name: str, rows: list[dict], compared: list[dict]
                 ) -> tuple[list[str], str, str]:
    """The margin claim on one dataset, by chapter 5's rule, for the introduction's line
    (:func:`rdsc.headlines.margin`): ``(verdicts, text, short)``.

    ``rows``: the dataset's :func:`rdsc.separation.margin_rows` (with the controls' rows);
    ``compared``: its :func:`rdsc.separation.margin_comparison` (a list of one, or empty
    for results saved before the half-samples). The width counts only between hard
    margins (:func:`margin_word`); the growth with k supports the claim only where it
    also beats every draw (two or more) of the noise control's growth over the same k
    (Gaussian noise of the same k grows too, with no information in it) and every shuffle
    (two or more) of the labels on the same features, whose fits must be hard at both k;
    without either control, growth is *not shown*, and so is a half the results do not hold
    (saved before the half-samples or the growth). ``verdicts``: one per half of the claim;
    ``text``: the evidence; ``short``: the ratio and the growth with their words.
    ``verdicts`` is ``[width, growth]``, in that order.
    """
    verdicts = []
    top, pixels, word = largest_k_against_pixels(rows)
    ours, theirs = told_apart(top["mean margin"], pixels["mean margin"])
    text = f"{name}: {ours} at k = {int(top['dimension']):,} vs {theirs} on pixels"
    short = (f"{name}: as wide as on pixels" if word == "equal" else
             f"{name}: {word} than on pixels")
    noise = [r for r in rows if r["space"] == "noise"
             and r["dimension"] == top["dimension"]]
    if compared:
        c = compared[0]
        check_compared_at(c, top)
        # results saved before the whole-sample flags: read them off the rows
        c = {"pixels hard": is_hard(pixels), "features hard": is_hard(top), **c}
        word = margin_word(c)  # "not comparable" where the fits are soft margins
        verdicts.append({"wider": "supported", "narrower": "contradicted"}.get(
            word, "not shown"))
        shown = _UNVERIFIED_WORDS.get(word, word)
        text += (f" (ratio {ratio_apart(c['ratio'])} on the sample, "
                 f"{range_words(c, short=True)}: {shown})")
        short = f"{name}: width ×{ratio_apart(c['ratio'])} of pixels' ({shown})"
        if word == "not comparable":
            short = f"{name}: widths not comparable (soft margins)"
    elif not (is_hard(top) and is_hard(pixels)):
        word = "not comparable"
        verdicts.append("not shown")
        text += " (soft margins: not comparable)"
        short = f"{name}: widths not comparable (soft margins)"
    else:  # saved before the half-samples: a direction on one sample decides nothing
        verdicts.append("not shown")
        text += f" ({word} on the sample; no interval saved: not shown)"
    if noise:  # the control: what the same number of dimensions gives without content
        z = noise[0]["mean margin"]
        text += f"; Gaussian noise of that k: {z:.4f}, "
        if not (is_verified(noise[0]) and is_verified(top)):
            text += "not compared (a fit the solver could not verify)"
        elif measured_hard(noise[0]) and is_hard(top):
            text += ("wider than" if z > top["mean margin"] else "narrower than"
                     if z < top["mean margin"] else "as wide as") + " the features"
            if compared and word == "wider" and z >= top["mean margin"]:
                # the width is the paper's comparison alone: the brief line once read
                # "wider" with no hint that noise of as many dimensions is wider still
                still = "as wide" if z == top["mean margin"] else "wider still"
                short = short[:-1] + f"; noise of that k {still})"
        else:
            text += "not compared (soft margins)"
    growing = growth_word(compared[0]) if compared else None
    if growing is not None:  # the claim's second half: it grows with k
        c = compared[0]
        k_from = int(c["growth from k"])
        shown = _UNVERIFIED_WORDS.get(growing, growing)
        text += (f"; from k = {k_from:,}: ×{c['growth']:.2f} on the sample, "
                 f"{range_words(c, 'growth ', short=True)}: {shown}")
        short += f", growth ×{c['growth']:.2f} from k = {k_from:,} ({shown}"
        has_noise = {int(r["dimension"]) for r in rows
                     if r["space"] == "noise" and usable_hard(r, measured=True)}
        if growing != "grows":
            verdicts.append("contradicted" if growing == "shrinks" else "not shown")
        elif not {k_from, int(top["dimension"])} <= has_noise:
            # the rule: growth counts only beyond the control's, which is missing here
            verdicts.append("not shown")
            text += (", not compared with the noise control (no hard, verified fits of "
                     "it at both k)")
            short += ", no noise control"
        else:
            g = growth_against_noise(rows, k_from)
            draws = g["noise draws"]
            if len(draws) < 2:  # one draw has no spread to be beyond
                verdicts.append("not shown")
                text += f", noise ×{g['noise']:.2f} (one draw: no spread to compare)"
                short += ", one noise draw"
            else:
                spread = f"draws ×{min(draws):.2f} to ×{max(draws):.2f}"
                faster = g["word"] == "faster"
                text += (f", faster than noise ({spread})" if faster else
                         f", but no faster than noise ({spread})")
                short += ", faster than noise" if faster else ", no faster than noise"
                shuffled = {int(r["dimension"]) for r in rows
                            if r["space"] == "shuffled labels"
                            and usable_hard(r, measured=True)}
                compared_shuffles = False
                if faster and {k_from, int(top["dimension"])} <= shuffled:
                    # the second control, where its fits are hard at both k
                    s = growth_against_noise(rows, k_from, control="shuffled labels")
                    per = s["noise draws"]
                    if len(per) > 1:
                        compared_shuffles = True
                        faster = s["word"] == "faster"
                        text += (" and than shuffled labels" if faster else
                                 " but not than shuffled labels")
                        short += (" and than shuffled labels" if faster else
                                  " but not than shuffled labels")
                        text += f" (shuffles ×{min(per):.2f} to ×{max(per):.2f})"
                if faster and not compared_shuffles:
                    # growth counts only beyond both controls (the intro's rule)
                    faster = False
                    text += (", not compared with shuffled labels (fewer than two "
                             "shuffles with hard, verified margins at both k)")
                    short += ", no shuffled-label control"
                verdicts.append("supported" if faster else "not shown")
        short += ")"
    elif compared and "growth" in compared[0]:  # measured, but no two hard k
        verdicts.append("not shown")
        text += ("; growth with k not measured (fewer than two k with hard, verified "
                 "margins for the features and the noise)")
        short += ", growth not measured"
    else:  # one k, or results saved before the growth was measured: that half not shown
        verdicts.append("not shown")
        text += "; growth with k not measured"
        short += ", growth not measured"
    if not verification_recorded(rows, compared):
        text += "; each fit's verification not recorded (saved before it was)"
        short += " (fits' verification not recorded)"
    return verdicts, text, short
