"""Chapter 7's sentences and verdict words, read off :mod:`rdsc.attacks`' measurements.

:mod:`rdsc.attacks` runs the attacks and measures (gradients, minimal perturbations,
transfer accuracies, agreement); this module says what they show, by the chapter's rules:
the gradient (:func:`gradient_reading`), the label-only attack (:func:`label_only_reading`,
:func:`difficulty_reading`), the transfer attack and its random-sign control
(:func:`direction_reading`, :func:`noise_reading`, :func:`agreement_trend`,
:func:`drift_reading`), the table beside the paper (:func:`paper_comparison`) and the
claim's verdict (:func:`claim_verdict`, which the introduction's table uses too).
"""
from __future__ import annotations

import math

import numpy as np

from rdsc.checks import as_table_shows, listed, percents, plural, ratio_apart, signed
from rdsc.paper import AUTHORS_ATTACK, apart_from
from rdsc.attacks import agreement_above_chance, paired_difficulty
from rdsc.intervals import (AT_CHANCE_VERDICT, binomial_interval, difference_noise,
                            paired_exact_p, paired_normal_difference,
                            paired_test_words)


def median_words(distance: float, linf: bool = False) -> str:
    """A median minimal perturbation as the text gives it (L-inf in 255ths), or, when half
    of the images or more were not fooled within the budget (the median is inf, and
    "inf/255" was once printed as a number), that it was not reached."""
    if not math.isfinite(distance):
        return "not reached (half of the images or more were not fooled within the budget)"
    return f"{255 * distance:.1f}/255" if linf else f"{distance:.2f}"


def gradient_reading(max_gradient: float, moved: float, n_images: int) -> str:
    """The chapter's sentence on the random network's gradient, from its
    :func:`gradient_rows` row: zero everywhere (PGD stuck), or not."""
    if n_images < 1 or not (np.isfinite(max_gradient) and np.isfinite(moved)):
        raise ValueError(f"need a gradient_rows row of at least one image, got "
                         f"max gradient {max_gradient}, moved {moved}, {n_images} images")
    if max_gradient == 0 and moved > 0:  # only a random start moves without a gradient
        return (f"On all {n_images} probe images the random network's input gradient is "
                f"exactly zero; PGD's moves (mean L-inf {moved:.4f}) come from elsewhere "
                "than the gradient.")
    if max_gradient == 0 and moved == 0:
        return (f"On all {n_images} probe images the random network's input gradient is "
                "exactly zero, and PGD ends where it started: its step is ε times the "
                "sign of a zero gradient.")
    return (f"In this run the random network's input gradient reaches {max_gradient:.3g} "
            f"and PGD moves its inputs by {moved:.4f} on average: its gradient is not "
            "zero everywhere here.")


def label_only_reading(hsj, epsilon: float, target_above_chance: bool = True) -> str:
    """What the label-only attack (HopSkipJump L-inf, ``hsj``: its
    :class:`~rdsc.attacks.AttackResult` on the random network) shows at the paper's step
    ``epsilon``: that a missing gradient is no defence when the 95% Clopper-Pearson
    interval of the share fooled lies at or above one half; else how many fell, with the
    interval and whether the second half of the query budget still fooled more.
    ``target_above_chance``: False says that nothing is tested (:data:`NOT_A_TEST`)."""
    n = len(hsj.linf)
    if n < 1:
        raise ValueError("need an attack on at least one image")
    if not target_above_chance:  # once only the claim's row said so
        return ("that is not a test of the claim: " + NOT_A_TEST + ", so a label it "
                "changes was no more often right than a guess")
    share = hsj.success_rate(epsilon)
    fooled = round(share * n)
    low, high = binomial_interval(fooled, n)
    if low >= 0.5:
        return ("a missing gradient is no defence (at least half of such images fall, at "
                "95% confidence)")
    if fooled == 0:
        return "this run does not show the claim with a label-only attack"
    # did the last half of the budget still fool more images? (the history, per query)
    half = hsj.success_after(epsilon, max(1, len(hsj.history_linf) // 2))
    more = ""
    if np.isfinite(half):
        at_half = round(half * n)
        more = (f" ({at_half} of {n} images after half the queries, {fooled} at the end: "
                + (f"the second half still fooled {fooled - at_half} more)"
                   if fooled > at_half
                   else "none more in the second half)"))
    return (f"the attack succeeds on some images at this budget{more}, but these {n} "
            f"images do not show that at least half of such images fall (95% interval "
            f"{100 * low:.0f}% to {100 * high:.0f}%)")


#: fewest attacked images for a "harder" / "easier" verdict: all of them on one side passes
#: a two-sided sign test at 5% only from 6 images on (2 x 0.5^6 = 0.03)
MIN_IMAGES_FOR_VERDICT = 6


def hsj_comparison(target_linf, reference_linf, both_above_chance: bool, seed: int = 0) -> str:
    """The chapter's sentence comparing the smallest L-inf perturbations found for the same
    images on the random network and the CNN (:func:`rdsc.attacks.paired_difficulty`, read by
    :func:`difficulty_reading`), or, where a model is at chance on clean images
    (``both_above_chance`` false), that they are not compared."""
    if not both_above_chance:
        return ("the two models' perturbations are not compared, for a model at chance on "
                "clean images has no robustness to measure")
    return difficulty_reading(paired_difficulty(target_linf, reference_linf, seed=seed))


def _shown_fall(fall: float) -> float:
    """``fall`` as the sentence prints it (a share): to 0.1% below 10%, to 1% above; the
    words are read off this value, so two falls printed alike get the same words (once
    4.996% and 5.004% both printed "5.00%", one "nearly stopped", one not)."""
    return round(fall, 3) if round(fall, 3) < 0.1 else round(fall, 2)


def _median_fall(fall: float, images: int, model: str, which: str = "") -> str:
    """"fell by a median 36% on the CNN (20 images)"; a median of exactly 0 is said as what
    it means (the quick run read "fell by a median 0%"; "fell not at all on ...
    for at least half" was hard to parse), one below 0.05% as "under 0.1%"."""
    if fall <= 0:
        if images == 1:  # not "for at least half of its 1 image"
            return f"did not fall at all on {model} for its one image{which}"
        return (f"did not fall at all on {model} for at least half of its "
                f"{plural(images, 'image')}{which} (a median fall of 0)")
    # one decimal below 10%, where the 5% of STILL_CLOSING_IN decides a word (once
    # 4.9% and 5.01% both printed "5%", with opposite words)
    shown = _shown_fall(fall)
    size = f"{100 * shown:.1f}%" if shown < 0.1 else f"{100 * shown:.0f}%"
    size = "under 0.1%" if shown == 0 else size  # 0.005 once printed "0%"
    return f"fell by a median {size} on {model} ({plural(images, 'image')}{which})"


#: a median fall of the smallest perturbation found, over the second half of the budget,
#: from which the attack counts as still closing in (0.4% once read "still closing in")
STILL_CLOSING_IN = 0.05


def progress_reading(target_fall: tuple, reference_fall: tuple,
                     target: str = "the random network", reference: str = "the CNN") -> str:
    """The sentence after :func:`hsj_comparison`: how far the attack still got over the
    second half of its budget on each model (:meth:`rdsc.attacks.AttackResult.late_fall`).
    Where it still closed in on one model (a median fall of :data:`STILL_CLOSING_IN` or
    more) at least twice as fast as on the other, over :data:`MIN_IMAGES_FOR_VERDICT`
    images or more on each, the comparison is said to measure the attack's progress as
    much as the models (flat on the random network from about 250 queries, still
    falling on the CNN, once read as "harder to fool"; the other way round too). The
    slower is said to have nearly stopped only below :data:`STILL_CLOSING_IN` itself."""
    (t, n_t), (r, n_r) = target_fall, reference_fall
    if not (n_t and n_r):
        return ("The attack's histories do not show its progress over the second half of "
                "the budget on both models (too few images had an adversarial by then).")
    said = (f"Over the second half of the budget each image's smallest perturbation found "
            f"{_median_fall(t, n_t, target, ' with an adversarial by then')}, and "
            f"{_median_fall(r, n_r, reference)}")
    # compared as printed: a fall shown as 5.0% is not below 5%
    (slow, low), (fast, high) = sorted([(target, _shown_fall(t)), (reference, _shown_fall(r))],
                                       key=lambda m: m[1])
    if (high >= STILL_CLOSING_IN and low < high / 2
            and min(n_t, n_r) >= MIN_IMAGES_FOR_VERDICT):
        # a 30% fall beside a 70% one is no stop
        pace = (f"the attack had nearly stopped closing in on {slow} while still closing in "
                f"on {fast}" if low < STILL_CLOSING_IN else
                f"the attack was still closing in on both, on {slow} less than half as fast "
                f"as on {fast}")
        return (said + f": {pace}, so the comparison above measures how far this attack got "
                "within this budget as much as how robust the models are." + _WHICH_MEDIAN)
    if low >= STILL_CLOSING_IN and min(n_t, n_r) >= MIN_IMAGES_FOR_VERDICT:
        # the sentence once stopped without its reading
        return (said + ": the attack was still closing in on both, so the perturbations "
                "compared above are what this budget reached on each, not the smallest that "
                "exist." + _WHICH_MEDIAN)
    return said + "." + _WHICH_MEDIAN


#: which median the progress sentence gives: a reader once set its "nearly stopped" (a
#: median image's fall of 2.5%) against the figure's median curve, which fell 15%
_WHICH_MEDIAN = (" These are medians over images of each image's own fall; the median "
                 "curve against queries follows no single image, and can fall further.")


def other_attacks_reading(distances: dict, hsj_linf: tuple, both_above_chance: bool,
                          seed: int = 0) -> str:
    """The sentence after :func:`hsj_comparison` on the chapter's other attacks: each one's
    median per-image ratio, read as :func:`difficulty_reading` reads it, then whether they
    all point the same way as HopSkipJump L-inf. ``distances``: attack name -> (random
    network's, CNN's) per-image distances; ``hsj_linf``: the same pair for HopSkipJump
    L-inf. A reader once saw Boundary L2 fool the random network with smaller
    perturbations (medians 3.05 and 3.47) while the text read only HopSkipJump L-inf's
    "harder to fool"."""
    if not both_above_chance or not distances:
        return ""
    compared = {name: paired_difficulty(*pair, seed=seed) for name, pair in distances.items()}
    ways = [_way(difficulty_reading(d)) for d in
            [paired_difficulty(*hsj_linf, seed=seed), *compared.values()]]
    verdicts = {"harder": "the random network needs the larger perturbations",
                "easier": "the random network needs the smaller perturbations",
                "neither": "not distinguishable"}
    parts = []
    for (name, d), way in zip(compared.items(), ways[1:]):
        if d["images"] == 0:
            parts.append(f"nothing by {name} (no image was fooled on either model)")
            continue
        if not 0 < d["ratio"] < float("inf"):
            parts.append(f"no finite median by {name} ({d.get('target_only', '?')} of "
                         f"{plural(d['images'], 'image')} fooled on the random network "
                         f"only, {d.get('reference_only', '?')} on the CNN only)")
            continue
        if d["images"] < MIN_IMAGES_FOR_VERDICT:
            parts.append(f"median {ratio_apart(d['ratio'])} by {name} (over "
                         f"{plural(d['images'], 'image')}, too few for a verdict)")
            continue
        parts.append(f"median {ratio_apart(d['ratio'])} by {name} (95% bootstrap interval "
                     f"{ratio_apart(d['low'])} to {ratio_apart(d['high'])}; "
                     f"{verdicts[way]})")
    n = len(ways)
    if len(set(ways)) == 1:
        agree = ("all read the same way" if ways[0] != "neither" else
                 "none tells the two models apart at this size")
    else:
        counts = [f"{ways.count(w)} {words[ways.count(w) == 1]}"
                  for w, words in (
                      ("harder", ("find the random network harder to fool",
                                  "finds the random network harder to fool")),
                      ("easier", ("find it easier to fool", "finds it easier to fool")),
                      ("neither", ("cannot tell the two apart", "cannot tell the two apart")))
                  if w in ways]
        agree = (listed(counts) + ": a verdict on which model is harder to fool is one "
                 "attack's at this budget, not the models'")
    return (f"In L2, the same per-image ratio has {'; '.join(parts)}. Of the {n} "
            f"attacks, {agree}.")


def _way(reading: str) -> str:
    """Which way a :func:`difficulty_reading` points: "harder", "easier" or "neither"."""
    if reading.endswith("needs larger perturbations to fool the random network than the CNN"):
        return "harder"
    if reading.endswith("needs smaller perturbations to fool the random network than the CNN"):
        return "easier"
    return "neither"


def difficulty_reading(d: dict, target: str = "the random network",
                       reference: str = "the CNN") -> str:
    """The chapter's sentence on :func:`paired_difficulty`: the median per-image ratio with
    its interval, and harder / easier / not distinguishable by whether the interval
    excludes 1."""
    if d["images"] == 0:
        return (f"the attack fooled neither {target} nor {reference} on any image, so their "
                "perturbations do not compare")
    few = d["images"] < MIN_IMAGES_FOR_VERDICT
    # not "95% bootstrap interval 2.57 to 2.57 over 1 image": a bootstrap over a
    # handful of images is no interval
    # ends printed apart from 1 (once "1.00 to 1.01" beside "needs larger")
    spread = (f"over {plural(d['images'], 'image')}, too few for an interval" if few else
              f"95% bootstrap interval {ratio_apart(d['low'])} to "
              f"{ratio_apart(d['high'])} over {plural(d['images'], 'image')}")
    said = (f"per image, {target}'s smallest perturbation found over {reference}'s has "
            f"median {ratio_apart(d['ratio'])} ({spread}; larger on {d['larger']} of them)")
    if not 0 < d["ratio"] < float("inf"):  # "median 0.00" was no size at all
        said = (f"per image, {target}'s smallest perturbation found over {reference}'s has "
                f"no finite median: of the {plural(d['images'], 'image')} compared, "
                f"{d.get('target_only', '?')} were fooled on {target} only and "
                f"{d.get('reference_only', '?')} on {reference} only ({target} "
                f"needed the larger perturbation on {d['larger']})")
    if few:
        # a bootstrap of a median over a handful of images is far too narrow: even all of
        # them on one side passes a two-sided sign test at 5% only from 6 images on
        return said + (f": too few images for a verdict (a sign test needs "
                       f"{MIN_IMAGES_FOR_VERDICT} or more)")
    # the bootstrap interval of a median excludes 1 too often at these sizes (in
    # 6-7% of runs with no difference; "larger" on 14 of 20 images, sign test p = 0.115):
    # the exact sign test must agree (results saved before "smaller" rely on the interval)
    test = ""
    if "smaller" in d and (d["low"] > 1 or d["high"] < 1):
        from scipy.stats import binomtest
        split = d["larger"] + d["smaller"]
        p = binomtest(d["larger"], split, 0.5).pvalue if split else 1.0
        if p >= 0.05:
            test = (f" (the interval excludes 1, but the sign test on the {split} images "
                    f"that differ gives p = {p:.2g})")
    if d["low"] > 1 and not test:
        return said + f": the attack needs larger perturbations to fool {target} than {reference}"
    if d["high"] < 1 and not test:
        return said + f": the attack needs smaller perturbations to fool {target} than {reference}"
    return said + f": not distinguishable between {target} and {reference} at this size{test}"


def direction_reading(beyond_low: float, aimed: bool, agreement: float, chance: float,
                      n_holdout: int, target_above_chance: bool = True) -> str:
    """Whether the transferred FGSM step costs the random network more than random signs of
    its size: ``beyond_low`` is the lower end of that cost's interval; a step that is not
    aimed (the substitute's ``agreement`` with its target on ``n_holdout`` held-out images
    not above ``chance``, :func:`~rdsc.attacks.agreement_above_chance`) tests nothing, nor
    does any step against a target at chance (``target_above_chance`` False)."""
    if not target_above_chance:
        return ("in name only: " + NOT_A_TEST + ", with no accuracy for the step to take, "
                "so neither its drop nor the random-sign control tests anything")
    if beyond_low > 0:
        return "more than random signs of the same size do (the interval excludes 0)"
    if aimed:
        return ("no more than random signs of the same size do, within this run's "
                "uncertainty")
    return (f"no more than random signs of the same size do, but that is not a test here: "
            # not "13% ... not above the 12%" (12.9 and 12.4): one decimal, and
            # "above" as the test means it
            f"its substitute agrees with it on {100 * agreement:.1f}% of the "
            f"{n_holdout:,} held-out images, not shown to be above the {100 * chance:.1f}% "
            f"that chance "
            f"gives two predictors with their class shares, so the transferred step was "
            f"not aimed")


def trained_target_words(arch: str, epochs: int, shared_seed: int,
                         authors_epochs: int) -> str:
    """What chapter 7's trained target is: the small CNN of ``rdsc.cnn``, or a network of
    ``rdsc.deepnets`` trained for ``epochs`` with the seed the baselines chapter shares
    (``shared_seed``, not the chapter's ``seed``). Only at the authors' ``authors_epochs``
    is it the baselines chapter's network (at 1 or 3 epochs it was once called
    "as in the baselines chapter")."""
    if arch == "small":
        return "the small CNN of `rdsc.cnn`"
    said = (f"the {arch} of `rdsc.deepnets`, trained for {plural(epochs, 'epoch')} with "
            f"the baselines' shared seed {shared_seed} (not this chapter's `seed`)")
    if epochs == authors_epochs:
        return said + ", the authors' recipe, as in the baselines chapter"
    return (said + f", against the {authors_epochs} of the authors' recipe (the `paper` "
            "profile's): a less trained target than theirs")


def step_words(step: float) -> str:
    """The Jacobian step lambda as the chapter names it, against the authors' code's
    (:data:`rdsc.paper.AUTHORS_ATTACK`; the paper gives none): ``"λ = 0.0625, the
    authors' (Papernot et al.: 0.1)"`` or ``"λ = 0.1, not the authors' 0.0625"``."""
    theirs = AUTHORS_ATTACK["step"]
    if step == theirs:
        return f"λ = {theirs:g}, as in the authors' code (Papernot et al.: 0.1)"
    return f"λ = {apart_from(step, theirs)}, not the authors' {theirs:g}"


def cap_words(max_set: int | None, n_seeds: int | None = None,
              rounds: int | None = None) -> str:
    """How this run caps the substitute's set, beside the authors' code's cap, and, given
    ``n_seeds`` and ``rounds``, whether the cap acts in this run at all (with 200 seeds
    and 6 rounds it never did, while the text read as if later rounds trained on new
    points alone)."""
    theirs = AUTHORS_ATTACK["max_set"]
    how = (f"past {theirs // 2:,} points a round's new points replace the set, so it "
           f"stays at {theirs:,}")
    if max_set == theirs:
        said = f"as the authors' code does, this run caps it: {how}"
    elif max_set is None:
        said = f"this run does not cap it (the authors' code does: {how})"
    else:
        said = (f"this run caps it at {max_set:,} points, not the authors' {theirs:,} "
                f"(theirs: {how})")
    if max_set is None or n_seeds is None or rounds is None:
        return said
    first = first_replaced_round(max_set, n_seeds, rounds)
    if first is None:
        largest = n_seeds * 2 ** (rounds - 1)
        return (said + f"; with {n_seeds:,} seed images and {plural(rounds, 'round')} the "
                f"set reaches at most {largest:,} points, so the cap never acts in this run")
    return (said + f"; with {n_seeds:,} seed images it acts from round {first} of this "
            f"run's {rounds} (counted from 0)")


def first_replaced_round(max_set: int | None, n_seeds: int, rounds: int) -> int | None:
    """The first round (from 0) whose training set is a round's new points alone under
    :func:`rdsc.attacks.train_substitute`'s cap, or None where the cap never acts: the
    set doubles from ``n_seeds`` until doubling it again would pass ``max_set``."""
    if max_set is None:
        return None
    for r in range(1, rounds):
        if n_seeds * 2 ** r > max_set:
            return r
    return None


def cap_nearness(max_set: int | None, n_seeds: int, rounds: int) -> str:
    """The clause after "subsample the set to limit this": what the cap does to the set's
    nearness to the seed images in this run."""
    if max_set is None:
        return ("the authors' cap would keep the set's size but not its nearness, as each "
                "round past it trains on new points alone (this run has no cap)")
    first = first_replaced_round(max_set, n_seeds, rounds)
    theirs = "the authors' cap" if max_set == AUTHORS_ATTACK["max_set"] else "a cap"
    if first is None:
        return (f"{theirs} keeps the set's size but not its nearness, as each round past it "
                "trains on new points alone, though this run never reaches it")
    return (f"{theirs} keeps the set's size but not its nearness: from round {first} on, "
            "each round of this run trains on new points alone")


def authors_attack_words(*, k: int, kernel_size: int, n_blocks: int, n_seeds: int,
                         rounds: int, step: float, substitute_epochs: int,
                         max_set: int | None) -> str:
    """What the authors' attack code did (:data:`rdsc.paper.AUTHORS_ATTACK`) beside this
    run's settings, as a clause after "the authors' code": ``"it attacked STL-10's test
    images ...; it used ...; this run shares its ..."``, the differences first."""
    a = AUTHORS_ATTACK
    differ = ["attacked STL-10's test images (96 × 96), not CIFAR-10's"]
    net = f"K = {a['kernel_size']}, L = {a['n_blocks']} and k = {a['k']:,}"
    ours = f"K = {kernel_size}, L = {n_blocks} and k = {k:,}"
    differ.append(f"with a random network of {net}" +
                  ("" if net == ours else f" (this run: {ours})"))
    differ.append("trained a substitute of four convolutions (32 to 256 channels) with "
                  "Adam at learning rate 0.001 (ours: the small CNN of `rdsc.cnn` at half "
                  "width, AdamW with a one-cycle rate)")
    differ.append("left the new points of the augmentation unclipped (ours are clipped "
                  "to [0, 1])")
    shared, apart = [], []
    for ours_value, theirs, name in (
            (n_seeds, a["n_seeds"], "seed images"), (rounds, a["rounds"], "rounds"),
            (substitute_epochs, a["substitute_epochs"], "epochs a round")):
        (shared if ours_value == theirs else apart).append(
            f"{theirs:,} {name}" + ("" if ours_value == theirs else f" (this run: "
                                     f"{ours_value:,})"))
    (shared if step == a["step"] else apart).append(
        f"λ = {a['step']:g}" + ("" if step == a["step"] else f" (this run: {step:g})"))
    (shared if max_set == a["max_set"] else apart).append(
        f"the cap of {a['max_set']:,} points" + ("" if max_set == a["max_set"] else
                                                  " (this run: " + (
                                                      "none" if max_set is None else
                                                      f"{max_set:,}") + ")"))
    text = "it " + listed(differ)
    if apart:
        text += "; it used " + listed(apart)
    if shared:
        text += "; this run shares its " + listed(shared)
    return text


def noise_reading(drop, low, high, target_above_chance: bool = True,
                  trained=None, versus=None, at_chance_after=()) -> str:
    """What random signs of the step's size cost the random network on their own: ``drop``
    (accuracy points, clean minus random signs) with its 95% interval ``low`` to
    ``high``; large when the interval is above 0. Not read for a network at chance
    (``target_above_chance`` False), where :func:`direction_reading` says the control tests
    nothing (the next sentence once read it as a finding).

    ``trained``: the same cost for the trained CNN, ``(drop, low, high)`` (None where it
    is at chance or not run). The sentence once explained the random network's
    cost by its hyperplanes while the trained CNN lost as much to the same signs; the
    explanation is said only where the CNN is shown to lose less. ``versus``: the random
    network's cost minus the CNN's on the same images, ``(difference, low, high)``
    (:func:`rdsc.intervals.paired_change_difference`), which decides; without it, only
    intervals apart do. Where neither shows a difference, no reason is given ("noise of
    this size moves either model" was once said of a CNN whose cost held 0).
    ``at_chance_after``: the models (as the text names them, e.g. "the trained CNN") that
    random signs left at chance: a cost there is capped by the accuracy there was to lose,
    so the costs are not compared and no reason is given (at a large step both
    fell to chance, and the random network's larger cost was once put down to its
    hyperplanes)."""
    for name, given in (("the random network's", (drop, low, high)),
                        ("the CNN's", trained), ("the difference's", versus)):
        if given is None:
            continue
        v, lo, hi = given
        if not all(math.isfinite(x) for x in (v, lo, hi)) or lo > hi:
            raise ValueError(f"{name} cost needs finite (estimate, low, high) with low <= "
                             f"high, got {(v, lo, hi)!r}")
    if not target_above_chance:  # not the reason again, word for word
        return (f"not read here, as the network is at chance (random signs changed its "
                f"accuracy by {signed(-drop)} points, 95% interval {signed(-high)} to "
                f"{signed(-low)})")
    if high < 0:  # once "not distinguishable from nothing" beside -8 to -2
        return (f"in this run random signs of that size raised the random network's "
                f"accuracy by {_bare(-drop)} points (95% interval {_bare(-high)} to "
                f"{_bare(-low)}): noise of that size is no cost to it here")
    if low <= 0:
        return (f"in this run random signs of that size cost the random network "
                f"{signed(drop)} points of accuracy (95% interval {signed(low)} to "
                f"{signed(high)}), not distinguishable from nothing")
    said = (f"a step of that size is large, for random signs alone cost the random network "
            f"{_bare(drop)} points of accuracy (95% interval {_bare(low)} to {_bare(high)})")
    why = ("; its features count patches on each side of hyperplanes, and noise moves "
           "patches across them")
    if at_chance_after:
        return (f"{said}; with random signs {listed(list(at_chance_after))} "
                f"{'was' if len(at_chance_after) == 1 else 'were'} at chance, where a cost "
                "is capped by the accuracy there was to lose, so the costs are not "
                "compared here")
    if trained is None:
        return said + why.replace("; its", "; perhaps because its", 1)
    t, t_low, t_high = trained
    # unsigned as the random network's cost beside it (a negative one keeps its minus)
    cnn = (f"the trained CNN {_bare(t)} points (95% interval {_bare(t_low)} to "
           f"{_bare(t_high)}" + (")" if t_low > 0 else ", not distinguishable from nothing)"))
    if versus is not None:
        more, less = versus[1] > 0, versus[2] < 0
        paired = (f" (the paired 95% interval of the difference, {signed(versus[1])} to "
                  f"{signed(versus[2])} points, holds 0)")
    else:  # intervals that overlap do not show the costs equal: apart, or no reading
        more, less, paired = t_high < low, t_low > high, " (their intervals overlap)"
    if more:  # the random network is the more sensitive
        return f"{said}, more than they cost {cnn}{why}"
    if less:
        return f"{said}, less than they cost {cnn}: noise of this size moves the CNN more"
    return (f"{said}, and {cnn}; the two costs are not told apart{paired}, so this run "
            "does not show the random features more sensitive to noise than the CNN")


def _bare(points: float) -> str:
    """``points`` as :func:`~rdsc.checks.signed` writes it, without a plus sign: a cost set
    beside another (once "-0.0" where a value rounded to 0 kept its minus)."""
    return signed(points).removeprefix("+")


def _round_verdicts(name: str, agreed, agreement) -> list[np.ndarray]:
    """Each round's per-image agreement (``N`` bools, :func:`rdsc.attacks.train_substitute`'s
    ``holdout_agreed``), checked against the agreements (%) they should give."""
    verdicts = [np.asarray(v) for v in agreed]
    if (len(verdicts) != len(agreement) or any(v.ndim != 1 or len(v) == 0 for v in verdicts)
            or len({len(v) for v in verdicts}) != 1):
        raise ValueError(f"the {name}'s per-image agreements: one equally long, non-empty "
                         f"list of bools per round ({len(agreement)} rounds), got "
                         f"{[v.shape for v in verdicts]}")
    for r, (v, a) in enumerate(zip(verdicts, agreement)):
        if abs(100 * v.astype(bool).mean() - a) > 1e-6:
            raise ValueError(f"the {name}'s per-image agreements of round {r} give "
                             f"{100 * v.astype(bool).mean():.2f}%, its agreement {a:.2f}%: "
                             "not the same round")
    return [v.astype(bool) for v in verdicts]


def _paired_words(before: np.ndarray, after: np.ndarray) -> tuple[float, str]:
    """The exact paired test of two rounds' agreement on the same images, and its clause."""
    return paired_test_words(after, before, "held-out images",
                             "agreeing in one of the two rounds only")


def agreement_trend(name: str, agreement, n_images: int | None = None,
                    agreed=None, chance=None) -> str:
    """A clause on a substitute's agreement (%) with ``name`` over the rounds of Jacobian
    augmentation, round 0 against the last. ``agreed``: each round's per-image agreement on
    the held-out images (``holdout_agreed``): the change is then read by the exact paired
    test, as every round is measured on the same images (the unpaired bound
    once called 40 images gained and none lost "within the noise", and a switch between
    one-class answers a fall). Without it, with ``n_images`` (the images agreement is
    measured on), a change within the noise of two independent accuracies on that many
    images is not read as a rise or fall (once "fell" from two smoke rounds on a
    handful of images). ``chance``: each round's chance agreement (shares,
    :func:`rdsc.attacks.chance_agreement`), said beside the first and last round's (a
    round-0 substitute answering one class sat exactly at its chance level, and
    its fall once read as a lost agreement)."""
    a = np.asarray(percents(f"the agreements with the {name}", agreement,
                            far_above_one=True), dtype=float)
    if len(a) == 0:
        raise ValueError(f"no agreement given for the {name}")
    if not np.isfinite(a).all():   # once failed as "cannot convert float NaN to integer"
        raise ValueError(f"the agreements with the {name} hold NaN ({list(a)}): a "
                         "substitute trained without held-out images has none to read")
    first = last = ""
    if chance is not None:
        c = np.asarray(chance, dtype=float)
        if c.shape != a.shape or not ((0 <= c) & (c <= 1)).all():
            raise ValueError(f"chance: one share (0 to 1) per round, got {list(c)}")
        first, last = (f" (chance {100 * c[0]:.1f}%)", f" (chance {100 * c[-1]:.1f}%)")
    if agreed is not None:
        verdicts = _round_verdicts(name, agreed, a)
        p, said = _paired_words(verdicts[0], verdicts[-1])
        if p >= 0.05:
            return (f"for the {name} it went from {a[0]:.1f}% after round 0{first} to "
                    f"{a[-1]:.1f}% after the last{last}, within the noise of this change "
                    f"{said}")
        trend = "rose" if a[-1] > a[0] else "fell"
        return (f"for the {name} it {trend} from {a[0]:.1f}% after round 0{first} to "
                f"{a[-1]:.1f}% after the last{last}, beyond the noise of this change {said}")
    if round(a[-1]) == round(a[0]):
        # e.g. "stayed" of 30, 60, 30.4: the rounds between are not read here
        return f"for the {name} it was {a[0]:.0f}% after round 0 and again after the last"
    if n_images is not None:
        noise = difference_noise(a[0], a[-1], n_images)
        if abs(a[-1] - a[0]) <= noise:
            return (f"for the {name} it went from {a[0]:.0f}% after round 0 to {a[-1]:.0f}% "
                    f"after the last, within the noise of {n_images:,} images (±{noise:.0f})")
    trend = "rose" if a[-1] > a[0] else "fell"
    return (f"for the {name} it {trend} from {a[0]:.0f}% after round 0 to {a[-1]:.0f}% "
            "after the last")


def drift_reading(rounds, n_holdout: int, n_classes: int, agreed: dict | None = None) -> str:
    """Whether a substitute lost agreement with its target over the rounds (the Jacobian
    points drift away from natural images): ``rounds`` has one row per target and round
    (``target``, ``agreement`` in %, optionally ``holdout_chance``, a share). Only a
    substitute whose best round agreed above chance has agreement to lose; a fall is one
    from the best round to the last beyond the noise of that change on the ``n_holdout``
    held-out images: the exact paired test where ``agreed`` gives each target's per-round,
    per-image agreement (the unpaired bound once read a 3.5-point fall with p = 0.012
    as no fall), else the noise of two independent accuracies (49.2% to 47.1% on
    1,000 images was once explained, beside a sentence that calls a change of that size
    noise)."""
    percents("the agreements", rounds["agreement"], far_above_one=True)
    if rounds["agreement"].isna().any():   # else skipped in silence by idxmax
        raise ValueError("the agreements hold NaN: a substitute trained without held-out "
                         "images has none to read")
    fell, fell_at_chance = [], []
    for name, part in rounds.groupby("target", sort=False):
        where = int(np.argmax(part["agreement"].to_numpy()))
        best = part.iloc[where]
        last = part["agreement"].iloc[-1]
        if agreed is not None and name in agreed:
            verdicts = _round_verdicts(name, agreed[name], part["agreement"].to_numpy())
            lost = (last < best["agreement"]
                    and paired_exact_p(verdicts[-1], verdicts[where]) < 0.05)
        else:
            lost = (best["agreement"] - last
                    > difference_noise(best["agreement"], last, n_holdout))
        if lost:
            above = agreement_above_chance(best["agreement"] / 100, n_holdout, n_classes,
                                           best.get("holdout_chance"))
            (fell if above else fell_at_chance).append(name)
    if fell:
        return ("a possible reason why the last round agrees less than the best round for "
                f"the {' and the '.join(fell)}")
    # a fall of several points beside "no substitute lost more than a point"
    # once read as a contradiction when the falling substitute never agreed above chance
    at_chance = (f" (the {' and the '.join(fell_at_chance)}'s substitute lost more, but "
                 "never agreed with its target above chance, so it had no agreement to "
                 "lose)" if fell_at_chance else "")
    noise = ("this change on the same" if agreed is not None else "")
    return ("in this run no substitute that agreed with its target above chance lost "
            f"agreement from its best round to the last beyond the noise of {noise}"
            f"{' ' if noise else ''}{n_holdout:,} held-out images{at_chance}, so no such "
            "cost showed")


#: the claim's verdict where the random network cannot classify clean images (with one
#: feature it was once right on 10% of CIFAR-10, and read as hard to fool)
TARGET_AT_CHANCE = AT_CHANCE_VERDICT
#: the same, inside a sentence, and in the table's other rows on the random network
NOT_A_TEST = "the random network is at chance on clean images"
TABLE_NOT_A_TEST = " (not a test: the random network at chance on clean images)"


def at_chance_reading(idle: list[str], n_classes: int) -> str:
    """A sentence naming the targets at chance on clean images (``idle``; see
    :func:`rdsc.intervals.above_chance`), or "" when there are none: a target at chance has
    no accuracy for an attack to take, and how far its inputs must move says nothing of
    its robustness."""
    if not idle:
        return ""
    one = len(idle) == 1
    return (f"The {' and the '.join(idle)} {'is' if one else 'are'} at chance on clean images "
            f"(the 95% interval of the accuracy reaches {100 / n_classes:.0f}%): "
            f"{'it has' if one else 'they have'} no accuracy for an attack to take, so the "
            f"attacks below test nothing on {'it' if one else 'them'}"
            + (", and the claim's verdict reads \"not tested\"."
               if "random network + SVM" in idle else "."))


def claim_verdict(hsj_share: float, transfer_low: float | None,
                  n_images: int | None = None, target_above_chance: bool = True) -> str:
    """The black-box claim, by chapter 7's rules: ``supported`` when the label-only attack
    fools at least half of the images within the paper's step (over ``n_images`` attacked
    images: the 95% Clopper-Pearson interval of the share lies at or above one half), or
    the transferred FGSM step costs more than random signs of its size (interval above
    0); ``partly supported`` when the label-only attack fools some; else ``not shown``. (A
    failed attack does not show the network is robust: no ``contradicted`` here.)
    ``target_above_chance``: False (the random network at chance on clean images) gives
    :data:`TARGET_AT_CHANCE`."""
    if not 0 <= hsj_share <= 1:  # NaN fails too; 30.0 (percent) read as "supported"
        raise ValueError(f"hsj_share is a share of images, 0 to 1, got {hsj_share!r}")
    if not target_above_chance:
        return TARGET_AT_CHANCE
    if n_images is not None:
        low = binomial_interval(round(hsj_share * n_images), n_images)[0]
    else:  # results saved before the count was passed: the share itself
        low = hsj_share
    if low >= 0.5 or (transfer_low is not None and transfer_low > 0):
        return "supported"
    return "partly supported" if hsj_share > 0 else "not shown"


def paper_comparison(hsj, epsilon: float, correct: dict, beyond_low: float, aimed: bool,
                     pgd_moved: float, target_above_chance: bool = True) -> list[dict]:
    """Chapter 7's table beside the paper: one row per question, ``{"question", "this
    book", "paper"}``.

    ``hsj``: the label-only attack's :class:`AttackResult` on the random network;
    ``correct``: the random network's right/wrong verdicts per image (``"clean"``, ``"FGSM
    transfer"``) from the transfer attack; ``beyond_low``: the lower end of the interval
    of the FGSM step's cost beyond random signs; ``aimed``: whether the substitute agrees
    with its target above chance (:func:`agreement_above_chance`); ``pgd_moved``: the mean
    L-inf PGD moved the inputs; ``target_above_chance``: False where the random network is
    at chance on clean images (the claim then reads :data:`TARGET_AT_CHANCE`).
    """
    n = len(hsj.linf)
    fooled = round(hsj.success_rate(epsilon) * n)
    low, high = binomial_interval(fooled, n)
    # the chapter's other paired drops' interval (a bootstrap here once gave the same
    # +4.0 points another interval than the random-sign sentence's normal one)
    drop = paired_normal_difference(correct["clean"], correct["FGSM transfer"])
    clean, attacked = (float(np.mean(correct[k])) for k in ("clean", "FGSM transfer"))
    # at chance, the rows on what the attacks did to it are no findings either
    idle = "" if target_above_chance else TABLE_NOT_A_TEST
    return [
        {"question": "gradient attack (PGD) moves the random network's inputs",
         # the paper argues this from the sign; it ran no gradient attack
         "this book": "no" if pgd_moved == 0 else "yes",
         "paper": "not run (argued: the sign has no gradient)"},
        {"question": f"label-only attack (HopSkipJump L-inf) within ε = {epsilon}",
         "this book": f"{fooled} of {n} images fooled (95% interval {100 * low:.0f}% to "
                      f"{100 * high:.0f}%){idle}", "paper": "not run"},
        {"question": "transferred FGSM lowers the random network's accuracy",
         # as the transfer table rounds (30.15 reads 30.2 in both)
         "this book": f"{as_table_shows(100 * clean)}% → "
                      f"{as_table_shows(100 * attacked)}% (drop "
                      f"{signed(100 * drop[0])} points, 95% interval "
                      f"{signed(100 * drop[1])} to {signed(100 * drop[2])}){idle}",
         # its claim, beside trained ResNet18 / VGG16 / DenseNet-40 targets ("as for
         # trained networks" once claimed an outcome for them this book cannot quote)
         "paper": "yes (its claim; compared with trained ResNet18, VGG16, DenseNet-40)"},
        {"question": "... by more than random signs of the same size",
         "this book": TARGET_AT_CHANCE if idle else "yes" if beyond_low > 0 else
                      "not distinguishable" if aimed else "not tested (substitute at chance)",
         "paper": "not tested"},
        {"question": "the claim: a black-box attack fools the random network",
         "this book": claim_verdict(fooled / n, beyond_low, n, target_above_chance),
         "paper": "yes"},
    ]
