"""The sentences of chapter 3 that state a result, written from the run's numbers.

Each function takes what the chapter computed and returns one markdown string for
:func:`rdsc.book.glue` (a few return what those sentences are built from:
:func:`top_confusions`, :func:`seeds_at_paper_scale`), so a claim ("has not levelled
off", "the interval excludes zero", "a different draw explains the gap") is made only
where the numbers carry it.
Accuracies are in percent unless a name says otherwise.
"""

from __future__ import annotations

import math

import numpy as np

from rdsc.checks import apart, listed, percents, plural, signed, whole_number
from rdsc.intervals import difference_noise, paired_hits, paired_test_words, within
from rdsc.paper import PAPER_C, PAPER_FEATURES, SAME_IMAGES, apart_from


def _pts(x: float) -> str:
    return f"{signed(x, 2)} points"


# a relative objective gap below this is the float32 solver's rounding
TINY_GAP = 1e-6


def solver_agreement(check: dict) -> str:
    """``check``: :func:`rdsc.solver_check.against_liblinear`'s result."""
    rel = check["relative_objective"]
    side = "below" if check["objective_torch"] <= check["objective_liblinear"] else "above"
    # below 1e-6 neither digits nor side: the float32 solver's rounding sets them (e.g.
    # 1.26e-08 on two threads, 1.02e-08 on one); near the 1% tolerance, three
    where = (f"differs from liblinear's by less than {TINY_GAP:.0e} (relative)"
             if abs(rel) < TINY_GAP
             else f"lies {abs(rel):.2e} (relative) {side} liblinear's")
    # at C = 1e6 a 49% gap was once printed without a word on it
    if abs(rel) <= SOLVER_TOLERANCE:
        verdict = f"within {SOLVER_TOLERANCE:.0%}, as the tests require"
    elif rel < 0:
        verdict = (f"not within {SOLVER_TOLERANCE:.0%}: liblinear, the reference, stopped "
                   "short of the optimum here (the lower objective is the better fit), so "
                   "this check cannot vouch for the torch solver at this C")
    else:
        verdict = (f"not within {SOLVER_TOLERANCE:.0%}: the torch solver stopped short of the "
                   "optimum on this part, and may in this run's other fits too")
    # once read "100.00% of 2,000" for every one of them
    same = ("all" if check["agreement"] == 1 else
            f"{100 * check['agreement']:.2f}% of")
    return (
        f"On {check['n_train']:,} training images and the "
        + ("first feature" if check["k"] == 1 else f"first {check['k']:,} features")
        + f" of this run, the torch solver's objective {where}, "
        f"{verdict}; the two SVMs predict the same class for {same} "
        f"{check['n_test']:,} test images (test top-1 {check['acc_torch']:.2f}% against "
        f"{check['acc_liblinear']:.2f}%)"
    )


#: how close the torch solver's objective must come to liblinear's (relative)
SOLVER_TOLERANCE = 0.01


def curve_trend(curve, n_test: int | None = None, flat: float = 1.0,
                last_hits=None) -> str:
    """Whether top-1 still grows over the curve's last step.

    ``curve``: rows with ``k`` and ``top-1 (%)``, measured on the same ``n_test`` test
    images. A step within the test-set noise of the difference tells nothing: the paired
    noise where ``last_hits`` gives the last two ``k``'s top-1 hits per image (``N`` bools
    each, smaller ``k`` first: :func:`rdsc.classify.accuracy_against_k` fills them), else
    the unpaired one (normal approximation: an upper bound for the same images). With
    ``last_hits``, "beyond the noise" is the exact paired test's (McNemar's, two-sided,
    p < 0.05), which stays right where few images change.
    ``flat``: a gain below this many points per tenfold increase of k counts as levelling off.
    """
    rows = sorted(curve, key=lambda r: whole_number("the curve's k", r["k"]))
    if len(rows) < 2:
        return "With a single k, the curve cannot tell whether accuracy is levelling off."
    percents("the curve's top-1 (%)", [r["top-1 (%)"] for r in rows])
    if len({r["k"] for r in rows}) < len(rows):
        raise ValueError(f"each k once on the curve, got {[r['k'] for r in rows]}")
    a, b = rows[-2], rows[-1]
    gain = b["top-1 (%)"] - a["top-1 (%)"]
    per_decade = gain / math.log10(b["k"] / a["k"])
    # no rate per tenfold in the text: from one short step it read as a forecast, and the
    # record's curve gains less per decade at large k
    step = f"From k = {a['k']:,} to k = {b['k']:,} top-1 changes by {_pts(gain)}"
    if last_hits is not None:
        if isinstance(last_hits, dict) or len(last_hits) != 2:
            raise ValueError("last_hits: the hits of the last two k, smaller k first "
                             "([hits[k_before], hits[k]] of accuracy_against_k's dict), got "
                             f"{type(last_hits).__name__} of {len(last_hits)}")
        # the hits must be the rows' own (to the table's 2 decimals): a mismatch means
        # another run's or another k's hits
        right_a, right_b = paired_hits(
            "last_hits", last_hits, (f"k = {a['k']:,}", f"k = {b['k']:,}"),
            (a["top-1 (%)"], b["top-1 (%)"]), tolerance=0.006)
        if n_test is not None and n_test != len(right_a):
            raise ValueError(f"n_test = {n_test:,}, but last_hits hold {len(right_a):,} "
                             "images")
        n_test = len(right_a)
        # the exact test, not a normal interval, which understates the noise where few
        # images change (4 images, all one way, once read "beyond the noise" of
        # ±0.39; the exact test gives p = 0.125); its p and the changed images are said
        p, said = paired_test_words(right_b, right_a, "test images",
                                    "right under one k only")
        beyond = p < 0.05
        kind, about = f"the noise of this difference {said}", ""
    elif n_test is not None:
        noise = difference_noise(a["top-1 (%)"], b["top-1 (%)"], n_test)
        kind = f"the test-set noise of such a difference on {n_test:,} images"
        # as many decimals as the step's own (not "+0.40 ... beyond ... ±0.4")
        about = f", about ±{noise:.2f} points"
        beyond = abs(gain) > noise
    if n_test is not None:
        if not beyond:
            return (f"{step}, within {kind}{about}: at this size the curve cannot tell "
                    "whether accuracy is still rising.")
        step += f", beyond {kind}{about}"
        if gain < 0:   # a clear fall once read as "levelling off"
            return (f"{step}: top-1 falls over this step, so at this C and training size "
                    "more random features cost accuracy here (the SVM fits them more "
                    "closely than its training images support).")
    if per_decade >= flat:
        return (
            # the earlier "as it would not if ..." was a double negative
            f"{step}: a gain of at least {flat:g} point per tenfold increase of k over this "
            "step (below that rate, this book calls the curve levelling off), so accuracy "
            "has not levelled off at the largest k run here, consistent "
            "with more random hyperplanes still cutting patch space into more useful cells."
        )
    return (
        f"{step}: less than {flat:g} point per tenfold increase, so the curve is levelling "
        "off at the largest k run here."
    )


def jpeg_cost(boot: dict, versions=("lossless", "JPEG"), scale: str = "") -> str:
    """``boot``: :func:`rdsc.intervals.paired_bootstrap` of (lossless correct, JPEG correct)."""
    d, lo, hi = (100 * boot[k] for k in ("difference", "low", "high"))
    a, b = versions
    text = (
        f"Trained and tested on the {a} images{scale}, the SVM reaches "
        f"{100 * boot['acc_a']:.2f}% top-1; on their {b} versions {100 * boot['acc_b']:.2f}%: "
        f"{a} minus {b} is {_pts(d)}, {100 * boot['level']:.0f}% paired bootstrap interval "
        f"{signed(lo, 2)} to {signed(hi, 2)} ({boot['only_a']} test images right only with {a}, "
        f"{boot['only_b']} only with {b}). "
    )
    # the bootstrap interval of a few images that differ all one way excludes zero where
    # the exact paired test does not (e.g. 4 against 0, p = 0.125): both must agree
    from scipy.stats import binomtest
    changed = boot["only_a"] + boot["only_b"]
    p = binomtest(boot["only_a"], changed, 0.5).pvalue if changed else 1.0
    if (lo > 0 or hi < 0) and p >= 0.05:
        return text + (
            f"The interval excludes zero, but only {changed} test images differ and the "
            f"exact paired test gives p = {p:.2g}: at this size the {b} re-encoding's "
            "effect on accuracy cannot be told from none.")
    if lo > 0:
        return text + f"The interval excludes zero: the {b} re-encoding costs accuracy measurably."
    if hi < 0:
        return (
            text + f"The interval excludes zero: the {b} versions are classified measurably better."
        )
    return text + (
        f"The interval contains zero: at this size the {b} re-encoding's effect on "
        "accuracy cannot be told from none."
    )


def pairing(found: dict, pools: dict) -> str:
    """``found``: ``{split: pair_by_pixels(...) result}``.

    ``pools``: ``{split: images searched}``.
    """
    import numpy as np

    cat = {
        key: np.concatenate([f[key] for f in found.values()])
        for key in ("distance", "runner_up", "rms")
    }
    ratio = cat["distance"] / cat["runner_up"]
    searched = " or ".join(f"the {pools[s]:,} JPEG {s} images" for s in found)
    one_to_one = all(f["one_to_one"] for f in found.values())
    where = (f"of its class and split (among {searched})" if len(found) > 1
             else f"of its class among {searched}")
    return (
        f"Each of the {len(cat['rms']):,} lossless images was matched to the nearest image "
        f"{where} in L2: the median distance to the match is "
        # the distance once had no unit
        f"{np.median(cat['distance']):.0f} grey levels (the norm over all pixel values; "
        f"root-mean-square {np.median(cat['rms']):.2f} grey levels per pixel value, largest "
        f"{cat['rms'].max():.2f}) against a median "
        f"{np.median(cat['runner_up']):.0f} to the second-nearest image; no match is more than "
        f"{ratio.max():.2f} times as far as its runner-up"
        + (
            ", and no JPEG is matched twice."
            if one_to_one
            else ", but some JPEG images are matched twice: the pairing is not one to one."
        )
    )


def no_pairing(dataset: str, as_jpeg: bool = True) -> str:
    """The sentence for a run that measured no JPEG effect: another dataset, a CIFAR-10 read
    from lossless files (``as_jpeg`` False: nothing to measure), or CIFAR-10 without the
    lossless subset in the data root (then, in bold, what to do)."""
    if dataset != "cifar10":
        return "This run measured no JPEG effect: the section is about CIFAR-10."
    if not as_jpeg:
        return ("This run measured no JPEG effect: its CIFAR-10 images are lossless already "
                "(not the shared JPEG copy), so there is no re-encoding to measure.")
    return ("**This run measured no JPEG effect: the lossless subset is not in the data "
            "root**; extract shared/data/cifar10-lossless-subset.tar there.")


def gap_to_paper(recorded_top1: float | None, reported: float, record_label: str) -> str:
    """The gap between this book's paper-profile record and the paper (top-1, %).
    ``record_label``: where there is no record, why (said); the record's own label is said
    beside its table, not again here (it once made 70 words in a parenthesis)."""
    if recorded_top1 is None:
        return (
            f"There is no paper-profile record to compare with the paper's {reported:.2f}% yet "
            f"({record_label}), so the sections below measure each candidate cause on its own."
        )
    gap = recorded_top1 - reported
    where = ("the paper's number" if round(gap, 2) == 0 else
             f"{abs(gap):.2f} points {'below' if gap < 0 else 'above'} the paper")
    return (
        f"At the paper's settings this book's record reaches {recorded_top1:.2f}% top-1 against "
        f"the paper's {reported:.2f}%: {where} (the record of the table above)."
    )


def gap_causes(dataset: str, as_jpeg: bool = True) -> str:
    """The causes of the gap between the paper-profile record (fitted at the paper's C,
    whatever C this run was given) and the paper that chapter 3 probes, for ``dataset``: the
    JPEG re-encoding (CIFAR-10 read as the shared JPEG copy, ``as_jpeg``), the draw of the
    random weights, and C, fixed rather than chosen; for ``miniimagenet10`` also the one it
    cannot probe, other images."""
    from rdsc.paper import PAPER_C
    causes = (["the shared CIFAR-10 is re-encoded as JPEG"]
              if dataset == "cifar10" and as_jpeg else [])
    causes += ["the random weights are another draw than the authors'",
               f"C = {PAPER_C:g} was fixed, not chosen"]
    count = {2: "Two", 3: "Three"}[len(causes)]
    said = f"{count} causes come to mind: {', '.join(causes[:-1])}, and {causes[-1]}."
    if dataset == "miniimagenet10":
        said += (" (A larger one is not probed here: these are not the authors' ImageNet "
                 "images.)")
    return said


def jpeg_against_gap(boot: dict, gap: float | None, n_train: int) -> str:
    """Can the JPEG effect (lossless minus JPEG, with its interval) account for ``gap``?

    ``gap``: ours minus the paper's top-1, in points.
    """
    if gap is None:
        return "With no paper-scale record at hand, the JPEG effect is not set against a gap here."
    hi, lo, need = 100 * boot["high"], 100 * boot["low"], -gap
    # the lossless images exist for a few thousand training images only: the effect there is a
    # proxy for the effect at 50,000, so every reading below is a rough guide
    guide = (f"As a rough guide only (the JPEG effect is measured with {n_train:,} training "
             "images, the gap with the paper's 50,000): ")
    if need <= 0:
        return ("This book is not below the paper, so there is no gap for the JPEG effect to "
                f"explain (the effect is measured with {n_train:,} training images).")
    if hi < need:
        # apart from the gap it is read against (not "(+1.00) is below the 1.00")
        return (guide + f"even the upper end of the interval ({apart(hi, need, 2)}) is below "
                f"the {need:.2f} points this book lacks at paper scale, so the JPEG re-encoding "
                "does not explain the whole gap.")
    if lo >= need:
        return (guide + f"the whole interval lies at or above the {need:.2f} points this book "
                "lacks at paper scale, so if the effect carried over to paper scale, the "
                "JPEG re-encoding could explain the gap.")
    if lo <= 0:
        return (guide + f"the interval ({signed(lo, 2)} to {signed(hi, 2)}) holds both zero "
                f"and the {need:.2f} points this book lacks at paper scale: at this size the data "
                "cannot tell whether the JPEG re-encoding accounts for the gap, part of it, or "
                "none of it.")
    return (guide + f"the interval ({signed(lo, 2)} to {signed(hi, 2)}) lies above zero and "
            f"holds the {need:.2f} points this book lacks at paper scale, so if the effect carried "
            "over to paper scale, the JPEG re-encoding could explain part or all of the gap.")


def _share(fraction: float) -> str:
    """A share in percent, with the decimals that keep a nonzero one from reading 0.0%."""
    for digits in range(1, 5):
        if round(100 * fraction, digits) != 0 or fraction == 0:
            return f"{100 * fraction:.{digits}f}%"
    return f"{100 * fraction:.1g}%"


def feature_changes(change: dict, positions: int) -> str:
    """``change``: :func:`rdsc.lossless.feature_change`'s result.

    ``positions``: h*w of the last map.

    A feature is a mean of ``positions`` signs, so one sign flipping moves it by ``2/positions``.
    """
    if change["changed"] == 0 or not np.isfinite(change["mean_abs_changed"]):
        # NaN once read "moves by nan ... about nan of the 16 signs"
        return ("Between the two versions of the same images, no feature value differs: "
                "the features do not see the re-encoding here.")
    flips = change["mean_abs_changed"] * positions / 2
    # k = 1 once read "1 of the 1 features of an image on average"
    each = ("" if change["k"] == 1 else f"{change['per_image']:,.0f} of the "
            f"{change['k']:,} features of an image on average; ")
    return (
        f"Between the two versions of the same images, {_share(change['changed'])} of all "
        f"feature values differ ({each}{_share(change['images_changed'])} of the images "
        "have at least one changed feature). A changed feature moves by "
        f"{change['mean_abs_changed']:.4f} on average "
        f"(features lie in [-1, 1]): the net effect of about {flips:.1f} of the {positions:,} "
        "signs "
        f"of its last map flipping. Over all values the mean change is {change['relative']:.3f} "
        "times the features' typical spread from image to image."
    )


def seed_spread(s: dict, k: int, images: str, n_test: int | None = None) -> str:
    """``s``: :func:`rdsc.intervals.spread` of top-1 over seeds; ``n_test``: the test images
    they were scored on (one image is ``100 / n_test`` points)."""
    # a zero-width interval would claim a certainty the images cannot give (equal values
    # can have a std of 1e-14, so compare the ends)
    if s["max"] == s["min"]:
        step = f" (one test image is {100 / n_test:.2f} points)" if n_test else ""
        return (f"Over {s['n']} seeds at k = {k:,} ({images}), top-1 is {s['mean']:.2f}% every "
                f"time: the seeds tied{step}, so their spread is below what these test images "
                "resolve and no interval is given; more test images would tell them apart.")
    return (
        f"Over {s['n']} seeds at k = {k:,} ({images}), top-1 is {s['mean']:.2f}% on average with "
        f"a standard deviation of {s['std']:.2f} points (range {s['min']:.2f}% to {s['max']:.2f}%; "
        # an accuracy lies in 0-100% (not "99.82% to 100.11%")
        f"{100 * s['level']:.0f}% interval for the mean {max(s['mean_low'], 0):.2f}% to "
        f"{min(s['mean_high'], 100):.2f}%). "
        f"One further draw would land between {max(s['pred_low'], 0):.2f}% and "
        f"{min(s['pred_high'], 100):.2f}% "
        f"({100 * s['level']:.0f}% t prediction interval)."
    )


def gap_against_draws(s: dict, reported: float, comparable: bool, setting: str = "",
                      C: float = PAPER_C) -> str:
    """Is ``reported`` (the paper's top-1) farther from our draws than a new draw would be?

    ``comparable``: the seeds ran at the paper's k on the whole dataset, so ``reported`` can be
    set against their prediction interval. Otherwise nothing is compared: the spread of a
    weight draw at another scale says nothing about the gap at the paper's (``setting`` says
    where the seeds ran, e.g. "k = 4,000 on 2,000 training and 1,000 test images"). ``C``:
    the seeds' SVM penalty; the paper's is named only where it differs ("not at the
    paper's ... C = 0.005" once read as another C where the run used 0.005).
    """
    if not comparable:
        return (f"These seeds ran at {setting or 'another scale'}, not at the paper's "
                f"k = {PAPER_FEATURES:,} on all images"
                + ("" if C == PAPER_C else f" with C = {PAPER_C:g}")
                + ", so their spread is set neither against the "
                f"paper's {reported:.2f}% nor against the gap to it: the spread of a weight "
                "draw at the paper's scale is left to the `paper` profile.")
    if s["max"] == s["min"]:
        return (f"The seeds tied, so there is no interval to set the paper's {reported:.2f}% "
                "against.")
    if within(reported, s):
        return (
            f"The paper's {reported:.2f}% lies inside this interval: a different weight draw "
            "alone can explain the gap between this book and the paper."
        )
    return (
        f"The paper's {reported:.2f}% lies outside this interval "
        f"({abs(reported - s['mean']) / s['std']:.1f} "
        "standard deviations from the mean): the gap is larger than a different weight draw "
        "explains."
    )


def variant_note(dataset: str, paper_key: str, variant: str, reported: dict,
                 per_class_train: int) -> str:
    """How this run's ``dataset`` differs from the paper's row ``paper_key`` (``variant``:
    :data:`rdsc.paper.COMPARED_WITH`'s words; ``reported``: the row of
    :data:`rdsc.paper.REPORTED_ACCURACY`), and whether the paper gives a top-2 number."""
    if dataset == "miniimagenet10":
        note = ("For `miniimagenet10` the comparison is only indicative: not the authors' "
                "subset but 10 other mini-ImageNet classes, smaller images (84x84, upsampled "
                "to 128 then cropped to 112, where the authors used full-resolution "
                f"ILSVRC-2012 images) and {per_class_train:,} training images per class.")
    else:
        note = f"This run's `{dataset}` is compared with the paper's {paper_key}: {variant}."
    if not reported["top2"]:
        in_words = reported["top2_text"]
        note += (f' The paper gives its top-2 on {paper_key} only in words, "{in_words}".'
                 if in_words else f" The paper gives no top-2 on {paper_key}.")
    return note


def seeds_at_paper_scale(dataset: str, k: int, used: tuple[int, int],
                         whole: tuple[int, int], C: float) -> bool:
    """Whether the seeds ran where the paper's number can be set against their spread: on one
    of the paper's own datasets (:data:`rdsc.paper.SAME_IMAGES`), at its k, on every image
    (``used``, ``whole``: the (training, test) image counts of the seeds and of the dataset),
    with its SVM penalty ``C`` (draws fitted at C = 0.02 were once to be set against
    the paper's number at 0.005)."""
    return (dataset in SAME_IMAGES and k == PAPER_FEATURES
            and tuple(used) == tuple(whole) and C == PAPER_C)


def record_curve_note(on_record: dict | None, n_train: int, n_test: int, seed: int,
                      C: float) -> str:
    """Whether this run's k-curve and the paper-profile record's can meet where both ran:
    only with the same images, the same seed (one network, its first k features) and the
    same C (a run with another seed or C was once said to "agree")."""
    if not on_record:
        return "no record is committed for this dataset"
    recorded_c = on_record.get("C")   # a record from before C was saved: not the same
    ours = {"images": f"{n_train:,} training and {n_test:,} test images",
            "seed": f"seed {seed}",
            "C": f"C = {C:g}" if recorded_c is None else f"C = {apart_from(C, recorded_c)}"}
    theirs = {"images": (f"{on_record['n_train']:,} training and {on_record['n_test']:,} "
                         "test images"),
              "seed": f"seed {on_record.get('seed', 'unknown')}",
              "C": "an unknown C" if recorded_c is None else f"C = {recorded_c:g}"}
    differ = [key for key in ours if ours[key] != theirs[key]]
    if not differ:
        return ("at the k both ran, the two agree (the same images, one seed, the first k "
                "features of one network, the same C), so this run's line covers it there")
    # a smaller run's squares sat 10 points above its line
    return (f"the record used {listed([theirs[key] for key in differ])}, this run "
            f"{listed([ours[key] for key in differ])}, so the two curves need not meet "
            "where both ran")


def seed_gap(s: dict, reported: float, dataset: str, paper_key: str, comparable: bool,
             setting: str = "", C: float = PAPER_C) -> str:
    """The sentence on the paper's number against the seeds' spread: none on a dataset that
    is not the paper's (``paper_key``: the row it is compared with), else
    :func:`gap_against_draws` (``comparable``: :func:`seeds_at_paper_scale`)."""
    if dataset not in SAME_IMAGES:
        return (f"The paper's {paper_key} number is not set against these seeds, which ran "
                f"on `{dataset}`.")
    return gap_against_draws(s, reported, comparable, setting, C)


def chosen_c(
    best: float, paper_c: float, rows, test_chosen: float, test_paper: float, fit_images: str,
    n_val: int | None = None, n_test: int | None = None, hits=None,
    validation_hits=None,
) -> str:
    """The validated C and its one test accuracy beside the paper's C.

    ``n_val``: validation images; a best C ahead of the paper's by less than the noise of
    a difference of two accuracies on them (normal approximation) is no firm choice.
    ``n_test``: test images; the test difference is set against the same noise on them
    ("+5.50 points" on 200 images once stood alone), an upper bound for the same
    images. ``hits``: the two Cs' top-1 hits per test image, ``(chosen, paper's)``
    (:func:`rdsc.choose_c.against_paper_c`'s ``test_hits``): the difference is then read by
    the exact paired test, as the chapter's other comparisons on the same images are.
    ``validation_hits``: the same for the validation images, ``(chosen, paper's)``: whether
    the choice is firm is then read by the exact paired test too (the unpaired
    bound of ±4.4 once called a 2.7-point lead with p = 0.0009 no firm choice).
    """
    val = {r["C"]: r["validation top-1 (%)"] for r in rows}
    # a best C at the end of the grid: a wider grid might choose another
    edge = ("" if len(val) < 2 or min(val) < best < max(val) else
            f" The chosen C = {best:g} is the {'smallest' if best == min(val) else 'largest'} "
            "value of the grid, so a wider grid might choose another.")
    text = (
        f"On the validation split ({fit_images}), C = {best:g} gives the best validation top-1 "
        f"({val[best]:.2f}%)"
    )
    pair = (None if validation_hits is None else
             [np.asarray(h) for h in validation_hits])
    if pair is not None and any(h.ndim == 0 for h in pair):   # the grid lacks a C
        pair = None
    if paper_c in val and best != paper_c:
        text += f"; the paper's C = {paper_c:g} gives {val[paper_c]:.2f}%"
        if val[best] == val[paper_c]:   # a tie once read as a lead
            text += " (tied: the grid keeps the smaller C)"
        elif pair is not None:
            p, said = paired_test_words(
                *paired_hits("validation_hits", pair, ("the chosen C", "the paper's C"),
                             (val[best], val[paper_c])),
                "validation images", "right under one C only")
            text += (f", {'beyond' if p < 0.05 else 'within'} the noise of this difference "
                     f"{said}" + ("" if p < 0.05 else ": no firm choice"))
        elif n_val:
            noise = difference_noise(val[best], val[paper_c], n_val)
            if val[best] - val[paper_c] <= noise:
                text += (f", within the noise of such a difference on {n_val:,} validation "
                         f"images (about ±{noise:.2f} points): no firm choice")
    if best == paper_c:
        return text + (
            f": the validation split picks the paper's C itself, so the test accuracy is "
            f"the paper's C's, {test_paper:.2f}%."
        ) + edge
    diff = test_chosen - test_paper
    noise = ""
    pair = None if hits is None else [np.asarray(h) for h in hits]
    if pair is not None and any(h.ndim == 0 for h in pair):   # np.asarray(None)
        pair = None   # the main run's hits were not kept: unpaired, below
    if pair is not None:   # empty hits once read "on the same 0 test images"
        p, said = paired_test_words(
            *paired_hits("hits", pair, ("the chosen C", "the paper's C"),
                         (test_chosen, test_paper)),
            "test images", "right under one C only")
        noise = f", {'beyond' if p < 0.05 else 'within'} the noise of this difference {said}"
    elif n_test:
        bound = difference_noise(test_chosen, test_paper, n_test)
        noise = (f", {'within' if abs(diff) <= bound else 'beyond'} the test-set noise of "
                 f"±{bound:.2f} on {n_test:,} images")
    return text + (
        f". Fitted on all of these training images with C = {best:g} and tested once, "
        f"the SVM reaches {test_chosen:.2f}% top-1 against {test_paper:.2f}% with the "
        f"paper's C ({_pts(diff)}{noise})."
    ) + edge


def mlp_against_svm(
    mlp_topk: dict, svm_topk: dict, epochs: int, k: int, reported: dict | None,
    train_top1: float | None = None, n_test: int | None = None, hits=None,
) -> str:
    """``mlp_topk``, ``svm_topk``: ``{1: fraction, 2: ..., 5: ...}`` on the same test images
    (``n_test`` of them: the top-1 difference is then set against the test-set noise of a
    difference of two accuracies, an upper bound for the same images). ``hits``: the two
    methods' top-1 hits per test image, ``(mlp, svm)`` (``N`` bools each,
    :func:`rdsc.classify.topk_hits`): the difference is then read by the exact paired test.

    ``train_top1``: the trained head's top-1 (%) on its own training images; below the
    SVM's test top-1, the head has not fitted its own training set yet, and the comparison
    measures the training budget more than the head.
    """
    for name, topk in (("mlp_topk", mlp_topk), ("svm_topk", svm_topk)):
        if not all(0 <= v <= 1 for v in topk.values()):
            raise ValueError(f"{name} holds fractions, 0 to 1, got {topk}")
    if train_top1 is not None:
        percents("train_top1", [train_top1])  # 0.99 (a fraction) read as 0.99%
    m1, s1 = 100 * mlp_topk[1], 100 * svm_topk[1]
    text = (
        f"After {plural(epochs, 'epoch')} the MLP head reaches {m1:.2f}% top-1 and "
        f"{100 * mlp_topk[max(mlp_topk)]:.2f}% "
        f"top-{max(mlp_topk)} on the same k = {k:,} features where the SVM reaches {s1:.2f}% "
        f"and {100 * svm_topk[max(svm_topk)]:.2f}%: "
        + (f"{'above' if m1 > s1 else 'below'} the SVM by {abs(m1 - s1):.2f} points in "
           "top-1" if m1 != s1 else "level with the SVM in top-1")   # not "by 0.00"
    )
    if hits is not None:  # the same test images: the exact paired test (the
        # unpaired ±9.7 once called a 6-point gap "within noise" where p = 0.004)
        p, said = paired_test_words(
            *paired_hits("hits", hits, ("the MLP", "the SVM"), (m1, s1)),
            "test images", "right under one of the two only")
        text += f", {'beyond' if p < 0.05 else 'within'} the noise of this difference {said}"
    elif n_test is not None:  # no hits: the unpaired noise bound, not no bound at all
        noise = difference_noise(m1, s1, n_test)
        text += (f", {'within' if abs(m1 - s1) <= noise else 'beyond'} the test-set noise "
                 f"of such a difference on {n_test:,} images (about ±{noise:.2f} points)")
    text += "."
    # the history table's running top-1 is another number; say which this is
    measured = (" (counted after training, in evaluation mode; the table's running top-1 "
                "is counted during each epoch, on changing weights, in training mode)")
    if train_top1 is not None and train_top1 >= s1:  # shown in every case
        text += (f" After training, the head classifies {train_top1:.2f}% of its own training "
                 f"images correctly{measured}.")
    if train_top1 is not None and train_top1 < s1:
        text += (
            f" After training, the head classifies only {train_top1:.2f}% of its own training "
            f"images correctly{measured}, less than the SVM gets on the test images: it is still "
            "underfitting, so at this profile the comparison says more about the training "
            "budget than about the head."
        )
    if reported:
        text += (
            f" The authors report {reported['top1']:.2f}% for their MLP with "
            f"{reported['k']:,} features of their {reported['version']} network, "
            "not the network run here."
        )
    return text


def mnist_result(top1: float | None, reported: float, k: int | None, where: str) -> str:
    """The MNIST run, or why it did not run (``top1`` None: the data is absent)."""
    if top1 is None:
        return (
            f"**MNIST is not on this machine** ({where}), so this section ran nothing and "
            f"shows no MNIST number; the paper's {reported}% stands alone. Where MNIST is in the "
            "data root (or a network lets torchvision download it), the section runs."
        )
    return (
        f"On MNIST with k = {k:,} the SVM classifies {top1:.2f}% of the test digits correctly, "
        f"against the paper's {reported}% ({_pts(top1 - reported)})."
    )


#: CIFAR-10's pairs of classes whose images share colours, textures and backgrounds
LOOKALIKES = {frozenset({"cat", "dog"}): "a cat and a dog indoors",
              frozenset({"airplane", "ship"}): "an airplane and a ship against sky or water",
              frozenset({"automobile", "truck"}): "a car and a truck on a road"}


def top_confusions(counts, n: int = 3) -> list[tuple[int, int, int]]:
    """The ``n`` largest off-diagonal cells of a confusion matrix ``counts`` (``M x M``,
    row = true class, column = predicted): ``(true, predicted, images)``, largest first
    (ties in reading order)."""
    given = np.asarray(counts, dtype=float)
    if given.ndim != 2 or given.shape[0] != given.shape[1]:
        raise ValueError(f"need a square confusion matrix, got shape {given.shape}")
    if (given < 0).any() or (given != np.round(given)).any():  # a normalised matrix became 0s
        raise ValueError("need a confusion matrix of image counts (whole numbers >= 0), not "
                         "shares: sklearn's confusion_matrix without normalize")
    n = whole_number("n", n)  # -1 once returned every cell
    off = given.astype(np.int64)
    np.fill_diagonal(off, 0)
    cells = np.argsort(-off, axis=None, kind="stable")
    # off-diagonal cells that hold images only: empty ones (the diagonal among them) are no
    # confusion ((0, 0, 0) once came back on a matrix with 3 confusions)
    found = [(int(t), int(p), int(off[t, p]))
             for t, p in zip(*np.unravel_index(cells, off.shape)) if off[t, p] > 0]
    return found[:n]


def _count_word(n: int) -> str:
    """``"One"`` to ``"Ten"``, else the digits."""
    words = "One Two Three Four Five Six Seven Eight Nine Ten".split()
    return words[n - 1] if 1 <= n <= 10 else str(n)


def confusion_reading(classes, confused, dataset: str) -> str:
    """A reading, not a test, of the largest confusions (``confused``: from
    :func:`top_confusions`; ``classes``: the class names): on CIFAR-10, whether they are
    between :data:`LOOKALIKES`, the pairs whose images share colours, textures and
    backgrounds, which random features record more than shape. Counts under 20 images
    are too small to read from."""
    top = confused[0][2] if confused else 0
    if top < 20:
        return f"These counts (at most {top} images) are too small to read from."
    # only the cells large enough to read (cells of 1 image were once counted as
    # lookalike evidence, and a fourth cell raised KeyError)
    confused = [c for c in confused if c[2] >= 20]
    if dataset != "cifar10":
        reading = ("Random features record statistics of cuts through image patches "
                   "(colours, textures, backgrounds) more than shape, so classes whose "
                   "images share those are the ones to expect among the confusions.")
    else:
        hits = [pair for pair in (frozenset({classes[t], classes[p]})
                                  for t, p, _ in confused) if pair in LOOKALIKES]
        these = ("this one" if len(confused) == 1 else
                 f"these {_count_word(len(confused)).lower()}")
        if hits:
            many = (("It is" if len(confused) == 1 else "Both are" if len(confused) == 2
                     else f"All {_count_word(len(confused)).lower()} are")
                    if len(hits) == len(confused) else
                    f"{_count_word(len(hits))} of {these} "
                    f"{'is' if len(hits) == 1 else 'are'}")
            described = "; ".join(LOOKALIKES[pair] for pair in dict.fromkeys(hits))
            reading = (f"{many} between classes whose images share colours, textures and "
                       f"backgrounds ({described}), which is what statistics of random cuts "
                       "through image patches record; shape, which separates them for a "
                       "trained network, is mostly lost.")
        else:
            reading = (f"None of {these} is one of the CIFAR-10 pairs whose "
                       "images often share colours, textures and backgrounds ("
                       + ", ".join(LOOKALIKES.values()) + "), the confusions to expect from "
                       "features that record statistics of random cuts through image "
                       "patches rather than shape.")
    return f"A reading, not a test: {reading}"


def hardest_classes(per_class, classes, n: int = 3) -> str:
    """The ``n`` classes of lowest accuracy (``per_class``: fractions, one per class), worst
    first, comma-separated; where classes tie at the cut all of them are named, and the tie
    said (of three classes tied at 30%, one was once named, picked by the sort)."""
    acc = np.asarray(per_class, dtype=float)
    if acc.ndim != 1 or len(acc) != len(classes) or not np.isfinite(acc).all():
        raise ValueError(f"per_class: one finite accuracy per class ({len(classes)}), got "
                         f"{acc.shape}")
    order = np.argsort(acc, kind="stable")
    if len(acc) <= n:
        return ", ".join(classes[i] for i in order)
    cut = acc[order[n - 1]]
    below = [classes[i] for i in order if acc[i] < cut]
    tied = [classes[i] for i in order if acc[i] == cut]
    if len(below) + len(tied) == n:
        return ", ".join(below + tied)
    return (", ".join(below + tied)
            + f" (the last {len(tied)} tied at {100 * cut:.1f}%)")
