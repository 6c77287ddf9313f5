"""Chapter 8's sentences and verdicts: the pitfall (classification) and the advantage
(retrieval), in the chapter's words, from the summaries' intervals; and the readings of
the mechanism (mean-colour agreement, blur), which are medians without intervals.
"""
from __future__ import annotations

import numpy as np

from rdsc.background.conditions import BOOK_FRACTION
from rdsc.checks import listed, ratio_apart, signed, told_apart
from rdsc.intervals import AT_CHANCE_VERDICT


#: an effect with no estimate, in the verdict table and the intro's line
UNDEFINED = "undefined (too few to resample)"


def interval_text(effect: tuple, scale: float = 100, unit: str = " points",
                  brackets: bool = True) -> str:
    """``(estimate, low, high)`` as ``+2.0 points (95% interval +1.0 to +3.0)``, or
    ``+2.0 points, 95% interval +1.0 to +3.0`` without ``brackets`` (inside others).
    An undefined effect (NaN: too few images or queries to resample) reads ``undefined``,
    an undefined interval ``(no 95% interval)`` (not "+nan points")."""
    v, lo, hi = effect
    if np.isnan(v):
        return UNDEFINED
    if np.isnan(lo) or np.isnan(hi):
        return f"{signed(scale * v)}{unit}" + (" (no 95% interval)" if brackets
                                                else ", no 95% interval")
    interval = f"95% interval {signed(scale * lo)} to {signed(scale * hi)}"
    return f"{signed(scale * v)}{unit}" + (f" ({interval})" if brackets else f", {interval}")


def outcome_word(prediction: int, truth: int, donor: int, condition: str) -> str:
    """One classifier's outcome on one image under ``condition``: "right" (the image's
    class ``truth``), "donor's" (the class ``donor`` of the image that gave the ring or the
    centre, in the two conditions with an other-class donor) or "wrong"."""
    if prediction == truth:
        return "right"
    return "donor's" if condition.endswith("other class") and prediction == donor else "wrong"


def capture_text(capture: tuple, interval: bool = True, why: bool = True) -> str:
    """A donor-capture rate ``(estimate, low, high)`` (shares; NaN when no prediction
    changed, so nothing could be captured) as ``31% (interval 25-38%)``, or ``31%``
    without ``interval``. NaN reads "undefined", with the reason unless ``why`` is False
    (a chance level beside a rate that gives it)."""
    if np.isnan(capture[0]):
        return ("undefined" if not why else "undefined (no prediction changed)" if interval
                else "undefined, no prediction changed")
    return f"{100 * capture[0]:.0f}%" + (
        f" (interval {100 * capture[1]:.0f}-{100 * capture[2]:.0f}%)" if interval else "")


def capture_beside_chance(capture: tuple, chance: tuple) -> tuple[str, str]:
    """:func:`capture_text` of a capture rate and of its chance level (both ``(estimate,
    low, high)``), with the decimals (up to two) that keep the rate's low end and the
    chance apart, as the verdict table prints them: a low end of 9.9% beside a chance of
    10.5% once read "14% (interval 10-18%) against a chance level of 10%" while the
    table said "not shown"."""
    if np.isnan(capture[0]) or np.isnan(chance[0]):
        return (capture_text(capture),
                capture_text(chance, interval=False, why=False))
    low, level = told_apart(100 * capture[1], 100 * chance[0], 0)
    shown = len(low.partition(".")[2])
    estimate, high = (f"{100 * x:.{shown}f}" for x in (capture[0], capture[2]))
    return f"{estimate}% (interval {low}-{high}%)", f"{level}%"


def _who(classifier: str) -> str:
    """``"random network + SVM"`` as ``"the random network"``: the sentence's short name."""
    return "the " + classifier.removesuffix(" + SVM")


def _above_clean(row, clean: float, shift: tuple | None = None) -> str:
    """Where a same-class control's accuracy lies against the clean one: "above" or
    "below", or "" where it is not shown to move. ``shift``: the paired interval of the
    control minus clean (:func:`~rdsc.background.summaries.control_shifts`), which
    decides where given; else (results saved before it) whether the control's own
    interval (``row``: ``accuracy``, ``low``, ``high``) excludes the clean estimate."""
    if shift is not None:
        return "above" if shift[1] > 0 else "below" if shift[2] < 0 else ""
    return "above" if row["low"] > clean else "below" if row["high"] < clean else ""


def control_reading(accuracy, classifiers=("random network + SVM", "trained CNN"),
                    versus: dict | None = None, shifts: dict | None = None) -> str:
    """The sentences on a same-class control that is not neutral: where, for one of
    ``classifiers``, composites with a same-class ring score above (or below) its clean
    images (the interval of the same-class accuracy excludes the clean estimate), the ring
    cost measured against that control is not the loss from clean images. Per dataset it
    names each classifier the control moves, with its cost beside its loss from clean
    (a sentence worded for both classifiers once held for one); says, from the
    numbers, whether the losses from clean order the first two classifiers as the ring
    costs do; and names a same-class *centre* control that moves a classifier too. Only
    what the table of costs does not show is said (the whole reading was 330 words on the
    quick run; each classifier's numbers in every case did not help the reader).

    ``accuracy``: rows with ``dataset``, ``classifier``, ``condition``, ``accuracy``,
    ``low``, ``high`` (percent). ``versus``: per dataset, the paired interval of the first
    classifier's ring cost minus the second's (:func:`cost_difference`, shares), or None.
    ``shifts``: :func:`~rdsc.background.summaries.control_shifts`, the paired intervals
    that decide whether a control moves a classifier (None: the unpaired fallback of
    :func:`_above_clean`). Returns '' where no dataset shows it."""
    shifts = shifts or {}
    acc = accuracy.set_index(["dataset", "classifier", "condition"])
    conditions = ("clean", "ring, same class", "ring, other class")
    said = []
    for dataset in dict.fromkeys(accuracy["dataset"]):
        rows = {}
        for clf in classifiers:
            try:
                rows[clf] = {c: acc.loc[(dataset, clf, c)] for c in conditions}
            except KeyError:
                continue
        where = {clf: _above_clean(r["ring, same class"], r["clean"]["accuracy"],
                                   shifts.get((dataset, clf, "ring")))
                 for clf, r in rows.items()}
        moved = [clf for clf in rows if where[clf]]
        centre = _centre_control(acc, dataset, classifiers, also=bool(moved),
                                 shifts=shifts)
        if not moved and not centre:
            continue
        cost = {clf: r["ring, same class"]["accuracy"] - r["ring, other class"]["accuracy"]
                for clf, r in rows.items()}
        loss = {clf: r["clean"]["accuracy"] - r["ring, other class"]["accuracy"]
                for clf, r in rows.items()}
        sentences = []
        for clf in moved:
            r, up = rows[clf], where[clf] == "above"
            shift = shifts.get((dataset, clf, "ring"))
            paired = ("" if shift is None else ", paired 95% interval of the difference "
                      f"{signed(100 * shift[1])} to {signed(100 * shift[2])} points")
            sentences.append(
                f"{'On ' + dataset + ' a' if not sentences else 'A'} same-class ring "
                f"{'lifts' if up else 'lowers'} {_who(clf)} {where[clf]} its clean accuracy "
                f"({_pct(r['ring, same class']['accuracy'])} against "
                f"{_pct(r['clean']['accuracy'])}{paired}), so its ring cost "
                f"({_tenth(cost[clf])} points) "
                f"is {'larger' if up else 'smaller'} than its loss from clean "
                f"({_tenth(loss[clf])}).")
        if moved and len(rows) == 2 == len(classifiers):
            sentences.append(_order_from_clean(classifiers, cost, loss,
                                               (versus or {}).get(dataset)))
        if centre:
            sentences.append(centre if sentences else f"On {dataset} {centre[0].lower()}"
                             f"{centre[1:]}")
        said.append(" ".join(sentences))
    return " ".join(said)


def _pct(x) -> str:
    """A percentage rounded as the accuracy table rounds (numpy), so 26.65 reads the same."""
    return f"{_tenth(x)}%"


def _tenth(x) -> str:
    """``x`` to one decimal as the tables round it (numpy: scaled by 10, then half to
    even), for every number a sentence derives from them: Python's ``round`` and format
    read the stored 26.1499... as 26.1 where numpy reads 26.2 (once "9.6 points less
    (16.6 against 26.1)")."""
    return f"{np.round(float(x), 1):.1f}"


def _order_from_clean(classifiers, cost: dict, loss: dict, versus) -> str:
    """Whether the losses from clean order two classifiers as their ring costs do, from
    the numbers (not "may order the classifiers differently" where the run decides
    it); ``versus``: the paired interval of the ring costs' difference, or None."""
    a, b = classifiers
    # differences of the values shown (not "10.2 points less (16.6 against 26.7)"),
    # rounded as they are shown
    cost_d = round(float(_tenth(cost[a])) - float(_tenth(cost[b])), 1)
    loss_d = round(float(_tenth(loss[a])) - float(_tenth(loss[b])), 1)
    costs = (f"{_who(a)}'s minus {_who(b)}'s: "
             + (interval_text(versus, brackets=False) if versus is not None
                else f"{signed(cost_d)} points"))
    against = f"{_tenth(loss[a])} against {_tenth(loss[b])}, without an interval"
    if loss_d == 0:
        return f"Measured from clean, the two lose the same ({against}; ring costs, {costs})."
    clean = (f"Measured from clean, {_who(a)} loses {abs(loss_d):.1f} points "
             f"{'less' if loss_d < 0 else 'more'} than {_who(b)} ({against})")
    if versus is not None and versus[1] <= 0 <= versus[2]:
        return f"{clean}, while the ring costs do not tell the two apart ({costs})."
    # the order from the interval where there is one, not from rounded estimates (once
    # +0.03 points with an interval above 0 read "the other way"); a tie orders nothing
    ring_up = (versus[1] > 0) if versus is not None else cost_d > 0
    if versus is None and cost_d == 0:
        return f"{clean}; the ring costs' estimates do not order the two ({costs})."
    same = ring_up == (loss_d > 0)
    return (f"{clean}; the ring costs{chr(39) + ' estimates' if versus is None else ''} order "
            f"the two {'the same' if same else 'the other'} way ({costs}).")


def _centre_control(acc, dataset: str, classifiers, also: bool = True,
                    shifts: dict | None = None) -> str:
    """The sentence on the same-class *centre* control where it is not neutral for a
    classifier (on miniimagenet10 both scored above clean with a same-class
    centre, so the centre costs were measured against a raised baseline too); '' where
    it is neutral for each. ``also``: the ring control was named before ("too",
    "either")."""
    moved = {}
    for clf in classifiers:
        try:
            same = acc.loc[(dataset, clf, "centre, same class")]
            clean = acc.loc[(dataset, clf, "clean")]["accuracy"]
        except KeyError:
            continue
        if where := _above_clean(same, clean, (shifts or {}).get((dataset, clf, "centre"))):
            moved[clf] = (where, f"{_pct(same['accuracy'])} against {_pct(clean)}")
    if not moved:
        return ""
    too, either = (", too," if also else ""), (" either" if also else "")
    costs = "centre costs are" if len(moved) > 1 else "centre cost is"
    verbs = {w for w, _ in moved.values()}
    if len(verbs) == 1:
        where = verbs.pop()
        return (f"A same-class centre{too} {'lifts' if where == 'above' else 'lowers'} "
                f"{' and '.join(_who(c) for c in moved)} {where} clean "
                f"({', '.join(n for _, n in moved.values())}), so "
                f"{'their' if len(moved) > 1 else 'its'} {costs} not "
                f"{'losses' if len(moved) > 1 else 'a loss'} from clean{either}.")
    return (f"A same-class centre{too} moves both from clean ("
            + "; ".join(f"{_who(c)} {w}: {n}" for c, (w, n) in moved.items())
            + f"), so their centre costs are not losses from clean{either}.")


def cost_difference_text(difference: tuple, one_cnn: bool, cnn_at_chance: bool) -> str:
    """The chapter's sentence end on the random network's ring cost minus the trained
    CNN's (``difference``: ``(estimate, low, high)``, shares), with what limits it: a
    single trained CNN (its training seed is not resampled) and a CNN at chance on clean
    images (then the comparison says nothing, and the sentence says so before the number:
    readers once met an interval first and the reason to ignore it last)."""
    if cnn_at_chance:
        return ("not worth reading: this CNN is at chance on clean images, so the difference "
                f"says nothing (for the record, {interval_text(difference)})")
    return (interval_text(difference)
            + ("; with one trained CNN, this compares with that network (its training seed "
               "is not resampled), not with trained CNNs in general" if one_cnn else ""))


def relative_cost_text(costs: dict[str, float], clean: dict[str, float],
                       chance: float) -> str:
    """The sentence after the two ring costs, in points, where the classifiers start from
    different clean accuracies: each cost as a share of the accuracy that classifier has
    above chance, and whether those shares order the two as the points do. ``costs``
    and ``clean``: classifier -> share (two of them); ``chance``: ``1 / n_classes``. ''
    where a classifier is not above chance (nothing to take a share of). Estimates
    only: the chapter's intervals are of the points."""
    if len(costs) != 2 or set(costs) != set(clean):
        raise ValueError("need the ring cost and clean accuracy of the same two classifiers")
    above = {c: clean[c] - chance for c in clean}
    if min(above.values()) <= 0:
        return ""
    share = {c: costs[c] / above[c] for c in costs}
    (a, b) = costs
    same_order = np.sign(costs[a] - costs[b]) == np.sign(share[a] - share[b])
    return (f"The two start from different clean accuracies ({_pct(100 * clean[a])} and "
            f"{_pct(100 * clean[b])}, chance {_pct(100 * chance)}): as a share of the "
            f"accuracy each has above chance, the foreign ring takes "
            f"{100 * share[a]:.0f}% of {_who(a)}'s and {100 * share[b]:.0f}% of "
            f"{_who(b)}'s (estimates, without an interval), "
            + ("which orders the two as the points do." if same_order else
               "which orders the two the other way from the points: compared in points, "
               "the costs favour the classifier with less accuracy to lose."))


def clean_above_chance(predictions: list[dict[str, np.ndarray]], labels,
                       n_classes: int) -> bool:
    """Whether a classifier's clean accuracy (mean over its networks, each predicting the
    ``N`` images) is above guessing, ``1 / n_classes``: the lower end of its 95%
    Clopper-Pearson interval over the ``N`` images lies above it. A reference at chance
    (a CNN trained too briefly predicts one class) says nothing about what it is
    compared with."""
    from rdsc.intervals import above_chance
    from rdsc.background.summaries import image_labels
    labels = image_labels(labels, predictions)
    accuracy = float(np.mean([np.mean(p["clean"] == labels) for p in predictions]))
    return above_chance(round(accuracy * len(labels)), len(labels), n_classes)


#: the verdict of a question a random network at chance on clean images cannot answer
RANDOM_AT_CHANCE = AT_CHANCE_VERDICT


def random_at_chance_note(dataset: str, random_above_chance: bool) -> str:
    """The sentence after the first dataset's ring costs when its random network is at
    chance on clean images (:func:`clean_above_chance` false), else ""."""
    if random_above_chance:
        return ""
    return (f"On {dataset}, though, the random network is at chance on clean images: it has "
            "no accuracy for a background to cost, so these numbers test nothing, and the "
            "verdicts below leave the dataset out.")


def pitfall_rows(dataset: str, random_net: dict, cnn: dict, n_classes: int,
                 versus_cnn: tuple | None = None, cnn_above_chance: bool = True,
                 random_above_chance: bool = True) -> tuple[list[dict], bool]:
    """The classification half of the claim on one dataset: the verdict table's rows and
    whether the pitfall is shown there.

    ``random_net`` / ``cnn``: :func:`effect_rows` of the random network and of the trained
    CNN. The pitfall is shown when a foreign ring costs accuracy beyond the same-class
    control (interval above 0) *and* the predictions it changes go to the donor's class
    more often than chance (``ring capture chance``, about ``1 / (n_classes - 1)`` or less): the
    ring pulls toward its own class.

    ``versus_cnn``: :func:`cost_difference` of the random network's ring cost minus the
    CNN's, on the same images; without it the row reads the two intervals, which can only
    say whether they are separated. ``cnn_above_chance`` (:func:`clean_above_chance`):
    False leaves the comparison out, for a CNN at chance is no reference.
    ``random_above_chance``: False marks every question :data:`RANDOM_AT_CHANCE` (the
    measures stay): a classifier that cannot classify clean images has no accuracy for a
    background to cost (one feature once gave "not shown", read as evidence against
    the claim, and a nearly constant classifier a cost of "0.0 (0.0 to 0.0)").
    """
    e = random_net
    # the run's own chance level (0 for changed predictions back on the true class)
    chance = e.get("ring capture chance", (float("nan"),))[0]
    if not np.isfinite(chance):
        chance = 1 / (n_classes - 1)
    cost_shown = e["ring cost"][1] > 0
    capture_shown = e["ring capture"][1] > chance
    if not cnn_above_chance:
        compare = "not compared: the trained CNN is at chance on clean images"
        against = f"CNN: {interval_text(cnn['ring cost'])}"
    elif versus_cnn is not None:  # the paired interval of the difference decides
        compare = ("larger than the CNN's" if versus_cnn[1] > 0 else
                   "smaller than the CNN's" if versus_cnn[2] < 0 else
                   "not distinguishable from the CNN's (the paired interval of the "
                   "difference contains 0)")
        against = (f"difference {interval_text(versus_cnn)}; "
                   f"CNN: {interval_text(cnn['ring cost'])}")
    else:  # intervals that overlap are not a test of the difference: say only what they show
        compare = ("larger than the CNN's" if e["ring cost"][1] > cnn["ring cost"][2] else
                   "smaller than the CNN's" if e["ring cost"][2] < cnn["ring cost"][1] else
                   "not separated from the CNN's (the intervals overlap)")
        against = f"CNN: {interval_text(cnn['ring cost'])}"
    # the low end and chance with the decimals that tell them apart (e.g. "11 to 30%
    # vs chance 11%" read "yes" or "not shown" by digits not printed)
    low_shown, chance_shown = told_apart(100 * e["ring capture"][1], 100 * chance, 0)
    capture = ("no prediction changed" if np.isnan(e["ring capture"][0]) else
               f"{100 * e['ring capture'][0]:.0f}% (95% interval "
               f"{low_shown} to {100 * e['ring capture'][2]:.0f}%) vs "
               f"chance {chance_shown}%")
    rows = [
        {"question": "a foreign ring costs accuracy beyond compositing",
         "random network": "yes" if cost_shown else "not shown",
         "measure": interval_text(e["ring cost"])},
        {"question": "changed predictions go to the donor's class above chance",
         "random network": "yes" if capture_shown else "not shown", "measure": capture},
        {"question": "the background alone classifies above chance",
         "random network": "yes" if e["background only above chance"][1] > 0 else "not shown",
         "measure": interval_text(e["background only above chance"])},
        {"question": "the ring cost, compared with the trained CNN", "random network": compare,
         "measure": against},
    ]
    if not random_above_chance:
        rows = [{**row, "random network": RANDOM_AT_CHANCE} for row in rows]
        return [{"dataset": dataset, **row} for row in rows], False
    return [{"dataset": dataset, **row} for row in rows], cost_shown and capture_shown


def cost_beyond_cnn(random_net: dict, cnn: dict, versus_cnn: tuple | None = None) -> bool:
    """Whether a foreign ring costs the random network more accuracy than the trained CNN:
    the paired interval of the difference (``versus_cnn``, :func:`cost_difference`) above
    0, or without it the two intervals of :func:`effect_rows` separated. Half the image
    swapped moves any classifier; this says whether the random features are moved more."""
    if versus_cnn is not None:
        return bool(versus_cnn[1] > 0)
    return bool(random_net["ring cost"][1] > cnn["ring cost"][2])


def pitfall_verdict(shown: list[bool], beyond: list[bool | None] | None = None,
                    smaller: list[str] | None = None, untested: list[str] | None = None,
                    names: list[str] | None = None) -> str:
    """The pitfall over the datasets run (one :func:`pitfall_rows` flag each), and, with
    ``beyond`` (one :func:`cost_beyond_cnn` flag each; None where the CNN is at chance and
    not compared), whether the datasets that show it show it beyond the trained CNN.
    ``smaller``: the datasets where the random network's ring cost is shown to be *smaller*
    than the CNN's (the paired interval below 0), named so that "not shown to be more"
    does not hide it. ``untested``: the datasets whose random network is at chance on clean
    images, left out of ``shown`` and ``beyond`` and named. ``names``: the dataset of each
    flag, named where the datasets differ ("some datasets only" once left the reader to
    guess which)."""
    untested = list(untested or [])
    if len(shown) == 0:
        if untested:
            return (f"not tested (the random network is at chance on clean images of "
                    f"{_datasets_phrase(untested)})")
        raise ValueError("pitfall_verdict needs one flag per dataset run; got none")
    said = _pitfall_verdict(shown, beyond, smaller, some_untested=bool(untested),
                            names=names)
    if untested:  # a note of its own, after any aside
        said = (f"{said}; not tested on {', '.join(untested)} (the random network at "
                "chance on clean images)")
    return said


def _datasets_phrase(names: list[str]) -> str:
    return (names[0] if len(names) == 1 else
            f"both datasets run: {names[0]}, {names[1]}" if len(names) == 2 else
            f"every dataset run: {', '.join(names)}")


def _pitfall_verdict(shown, beyond, smaller, some_untested: bool = False,
                     names: list[str] | None = None) -> str:
    if not any(shown):
        return "not shown by this run"
    # a dataset left untested was run too
    every = "every dataset tested" if some_untested else "every dataset run"
    if names is not None and len(names) != len(shown):
        raise ValueError(f"names needs one dataset per flag, got {len(names)} for "
                         f"{len(shown)}")
    said = (f"confirmed on {every}" if all(shown) else
            "confirmed on some datasets only" if names is None else
            f"confirmed on {listed([n for n, s_ in zip(names, shown) if s_])} only (not "
            f"shown on {listed([n for n, s_ in zip(names, shown) if not s_])})")
    if beyond is None:
        return said
    if len(beyond) != len(shown):
        raise ValueError(f"beyond needs one flag per dataset, got {len(beyond)} for "
                         f"{len(shown)}")
    more = [b for s_, b in zip(shown, beyond) if s_ and b is not None]
    unmatched = sum(1 for s_, b in zip(shown, beyond) if s_ and b is None)
    # datasets whose CNN was at chance were not compared: say so, never count them in
    left_out = (f" ({unmatched} not compared: the CNN at chance on clean images)"
                if unmatched else "")
    if not more:
        return said + ", not compared with the trained CNN (at chance on clean images)"
    if all(more):
        return said + (", beyond the trained CNN's cost" if not unmatched else
                       f", beyond the trained CNN's cost on {len(more)} compared" + left_out)
    less = f"; smaller than the trained CNN's on {', '.join(smaller)}" if smaller else ""
    if not any(more):
        return (said + ", but not shown to be more than the trained CNN's (a swapped ring "
                "moves a trained network too)" + left_out + less)
    on = f"{sum(more)} of {len(more)}"
    if names is not None:
        compared = [n for n, s_, b in zip(names, shown, beyond) if s_ and b is not None]
        on = (f"{listed([n for n, b in zip(compared, more) if b])} (not on "
              f"{listed([n for n, b in zip(compared, more) if not b])})")
    return said + f", beyond the trained CNN's cost on {on}" + left_out + less


def pitfall_over_datasets(runs: dict, effects: dict, versus_cnn: dict
                          ) -> tuple[list[dict], str, bool | None]:
    """The classification half over every dataset run: the verdict table's rows
    (:func:`pitfall_rows`), the verdict (:func:`pitfall_verdict`), and whether any dataset
    shows the pitfall: True, False, or None where no dataset was tested (the random
    network at chance on clean images of every one; that once read as "did not
    mislead").

    ``runs``: per dataset, ``{"classes", "labels", "predictions"}`` (predictions per
    classifier, ``"random network + SVM"`` and ``"trained CNN"``); ``effects``: per
    ``(dataset, classifier)``, :func:`effect_rows`; ``versus_cnn``: per dataset,
    :func:`cost_difference` of the two classifiers' ring costs.
    """
    rows, shown, beyond, smaller, untested, tested = [], [], [], [], [], []
    for dataset, run in runs.items():
        ours = effects[dataset, "random network + SVM"]
        theirs = effects[dataset, "trained CNN"]
        n_classes = len(run["classes"])
        # a CNN at chance is no reference: its comparison is left out
        cnn_ok = clean_above_chance(run["predictions"]["trained CNN"], run["labels"],
                                    n_classes)
        # a random network at chance has nothing to lose: the dataset is not tested
        ours_ok = clean_above_chance(run["predictions"]["random network + SVM"],
                                     run["labels"], n_classes)
        got, shows = pitfall_rows(dataset, ours, theirs, n_classes=n_classes,
                                  versus_cnn=versus_cnn[dataset], cnn_above_chance=cnn_ok,
                                  random_above_chance=ours_ok)
        rows += got
        if not ours_ok:
            untested.append(dataset)
            continue
        shown.append(shows)
        tested.append(dataset)
        beyond.append(cost_beyond_cnn(ours, theirs, versus_cnn[dataset]) if cnn_ok else None)
        if cnn_ok and shows and versus_cnn[dataset] is not None and versus_cnn[dataset][2] < 0:
            smaller.append(dataset)   # the random network's cost below the CNN's
    verdict = pitfall_verdict(shown, beyond, smaller, untested, names=tested)
    return rows, verdict, (any(shown) if shown else None)


def pitfall_beyond_cnn(rows: list[dict]) -> dict[str, bool] | None:
    """From :func:`pitfall_over_datasets`' rows: on each dataset that shows the pitfall and
    was compared with the trained CNN, is the random network's ring cost larger than the
    CNN's? ``{dataset: bool}``, or None where no such dataset was compared (once
    "the same sensitivity misleads the classifier" stood beside a table where it misled
    the CNN more, and one dataset of two made it "more than the trained CNN")."""
    by_dataset: dict[str, dict] = {}
    for row in rows:
        by_dataset.setdefault(row["dataset"], {})[row["question"]] = row["random network"]
    compared = {d: q["the ring cost, compared with the trained CNN"] == "larger than the CNN's"
                for d, q in by_dataset.items()
                if q.get("a foreign ring costs accuracy beyond compositing") == "yes"
                and q.get("changed predictions go to the donor's class above chance") == "yes"
                and not q["the ring cost, compared with the trained CNN"].startswith(
                    "not compared")}
    return compared or None


def pitfall_by_dataset(rows: list[dict]) -> dict[str, bool]:
    """From :func:`pitfall_over_datasets`' rows: on each dataset the random network could
    be tested on, whether it shows the pitfall (a foreign ring's cost and capture both
    "yes"); ``{dataset: bool}``. Datasets with no classification row (corel's retrieval
    rows, appended by :func:`advantage_rows`) are left out: once the reading said "not
    shown on corel" of a test never run there."""
    by_dataset: dict[str, dict] = {}
    for row in rows:
        by_dataset.setdefault(row["dataset"], {})[row["question"]] = row["random network"]
    cost = "a foreign ring costs accuracy beyond compositing"
    capture = "changed predictions go to the donor's class above chance"
    return {d: q.get(cost) == "yes" and q.get(capture) == "yes"
            for d, q in by_dataset.items()
            if cost in q and q[cost] != RANDOM_AT_CHANCE}


def _effects(**effects) -> None:
    """Refuse an effect that is not ``(estimate, low, high)`` of shares with low <= high
    (NaN: undefined, allowed): a swapped interval read "helps retrieval, more
    than the centre does", points for shares "may cost up to 420.0 points"."""
    for name, e in effects.items():
        if not isinstance(e, (tuple, list, np.ndarray)) or len(e) != 3:
            raise ValueError(f"{name} must be (estimate, low, high), got {e!r}")
        v, lo, hi = (float(x) for x in e)
        if np.isnan([v, lo, hi]).any():
            continue
        # (a percentile bootstrap interval need not hold the estimate: only the order)
        if lo > hi:
            raise ValueError(f"{name} needs low <= high, got {tuple(e)!r}")
        if max(abs(lo), abs(hi)) > 1:
            raise ValueError(f"{name} is a share of precision@10 (-1 to 1), not points; got "
                             f"{tuple(e)!r}")


def advantage_rows(ring_grey_drop: tuple, centre_grey_drop: tuple, centre_minus_ring: tuple,
                   grayscale_drop: tuple, ring_partial: dict) -> list[dict]:
    """The retrieval rows of the verdict table (Corel): greying the ring; greying the centre
    (the control) and how much more that costs (``centre_minus_ring``, from
    :func:`~rdsc.background.colour_retrieval.centre_minus_ring`); removing colour (reported,
    not counted: it changes the whole image); and the partial correlation of feature
    distance with ring colour (``ring_partial``: a row of :func:`partial_correlation_table`).
    Each effect is ``(estimate, low, high)``, a fraction of precision@10 shown in points
    (the rows once gave bare numbers beside the classification rows' points)."""
    _effects(ring_grey_drop=ring_grey_drop, centre_grey_drop=centre_grey_drop,
             centre_minus_ring=centre_minus_ring, grayscale_drop=grayscale_drop)

    def shown(effect):  # NaN is no answer (it once read "not shown")
        return "undefined" if np.isnan(effect).any() else "yes" if effect[1] > 0 else (
            "not shown")
    return [
        {"dataset": "corel", "question": RING_GREY_QUESTION,
         "random network": shown(ring_grey_drop),
         "measure": interval_text(ring_grey_drop, unit=" points")},
        {"dataset": "corel", "question": CENTRE_GREY_QUESTION,
         "random network": shown(centre_grey_drop),
         "measure": interval_text(centre_grey_drop, unit=" points")},
        {"dataset": "corel", "question": "greying the centre costs more than greying the ring",
         "random network": shown(centre_minus_ring),
         "measure": interval_text(centre_minus_ring, unit=" points")},
        {"dataset": "corel",
         "question": "removing colour lowers precision@10 (colour, not the background)",
         "random network": shown(grayscale_drop),
         "measure": interval_text(grayscale_drop, unit=" points")},
        {"dataset": "corel",
         "question": "ring colour explains feature distance beyond centre colour and category",
         "random network": "yes" if ring_partial["low"] > 0 else "not shown",
         "measure": partial_text(ring_partial)},
    ]


#: the verdict table's questions that the intro's line quotes the measures of
RING_GREY_QUESTION = "greying the ring lowers precision@10"
CENTRE_GREY_QUESTION = "greying the centre lowers precision@10 (the control)"


def partial_text(ring_partial) -> str:
    """A row of :func:`partial_correlation_table` as ``partial r = 0.164 [0.120, 0.201]``,
    or, where the interval is withheld, why: the estimate itself undefined, or some
    resamples (how many) with nothing left to correlate."""
    p = ring_partial
    if np.isnan(p["estimate"]):
        return "partial r undefined (nothing left once centre colour and category are held)"
    if np.isnan(p["low"]):
        n = int(p.get("undefined resamples", 0))
        return (f"partial r = {p['estimate']:.3f}, no interval (undefined in {n} "
                f"resample{'s' * (n != 1)})")
    # the low end, which a verdict reads against 0, keeps its sign (not "[0.000" for
    # +0.0004 beside "yes", "[-0.000" for -0.0004 beside "not shown")
    low = signed(p["low"], 3).removeprefix("+")
    return f"partial r = {p['estimate']:.3f} [{low}, {p['high']:.3f}]"


def centre_control(centre_grey_drop: tuple, centre_minus_ring: tuple) -> str:
    """The sentence that reads the ring's cost beside the centre's: greying any half of an
    image may cost precision, and the ring holds object parts too, so a ring
    that helps retrieval is weighed against the centre. Effects as in
    :func:`advantage_rows`."""
    if np.isnan(centre_minus_ring).any() or np.isnan(centre_grey_drop).any():
        # an undefined control once fell through to "not told apart"
        return ("Greying the centre, the control, gives no defined cost here (too few "
                "queries to resample), so the ring's cost is not weighed against it.")
    cost = interval_text(centre_grey_drop)
    difference = ("the centre's cost minus the ring's: "
                  + interval_text(centre_minus_ring, brackets=False))
    if centre_minus_ring[1] > 0:
        return (f"Greying the centre instead costs {cost}, more than greying the ring "
                f"({difference}): the ring's share may be the object parts it holds.")
    if centre_minus_ring[2] < 0:
        return (f"Greying the centre instead costs {cost}, less than greying the ring "
                f"({difference}): here the ring counts for more than the centre.")
    return (f"Greying the centre instead costs {cost}; the two costs are not told apart "
            f"({difference}), so the ring is not shown to count for less than the centre.")


def _beside_cnn(beyond_cnn: dict[str, bool] | bool | None) -> str:
    """The clause on the trained CNN after "misleads the classifier": ``beyond_cnn`` as
    :func:`pitfall_beyond_cnn` gives it (a bool: the same on every dataset)."""
    if beyond_cnn is None or beyond_cnn == {}:
        return ""
    if isinstance(beyond_cnn, dict):
        more = [d for d, larger in beyond_cnn.items() if larger]
        rest = [d for d, larger in beyond_cnn.items() if not larger]
        if more and rest:
            return (f", more than it misleads the trained CNN on {listed(more)}, though "
                    f"not shown to on {listed(rest)}")
        beyond_cnn = bool(more)
    return (", more than it misleads the trained CNN" if beyond_cnn else
            ", though not shown to mislead it more than the trained CNN")


def _where_shown(shown_on: dict[str, bool] | None) -> str:
    """" on a (not shown on b)" where the pitfall shows on some tested datasets only; ""
    where it shows on every one (or nothing says)."""
    if not shown_on or all(shown_on.values()):
        return ""
    yes = [d for d, shown in shown_on.items() if shown]
    no = [d for d, shown in shown_on.items() if not shown]
    return f" on {listed(yes)} (not shown on {listed(no)})"


def advantage_reading(ring_grey_drop: tuple, centre_grey_drop: tuple,
                      centre_minus_ring: tuple, grayscale_drop: tuple, ring_partial,
                      pitfall_shown: bool | None,
                      beyond_cnn: dict[str, bool] | bool | None = None,
                      shown_on: dict[str, bool] | None = None) -> str:
    """The chapter's sentences on what the retrieval evidence means, from the same numbers
    as :func:`advantage_rows` (``ring_partial``: the ring's row of
    :func:`partial_correlation_table`; ``pitfall_shown``: whether the pitfall was shown
    anywhere, None where no dataset tested it, :func:`pitfall_over_datasets`;
    ``beyond_cnn``: :func:`pitfall_beyond_cnn`, on which datasets it misled the classifier
    more than the trained CNN; ``shown_on``: :func:`pitfall_by_dataset`, so that a pitfall
    shown on one dataset of two is not read as shown on both)."""
    _effects(ring_grey_drop=ring_grey_drop, centre_grey_drop=centre_grey_drop,
             centre_minus_ring=centre_minus_ring, grayscale_drop=grayscale_drop)
    ring_partial_low = ring_partial["low"]
    # not "neither ... measurably lowers" where the drop is undefined
    ring_undefined = bool(np.isnan(ring_grey_drop).any())
    undefined = ("what greying the ring costs the random network's precision is undefined "
                 "here (too few queries to resample)")
    # each piece of evidence says its own thing: the drop that the ring helps retrieval,
    # the partial correlation (category held fixed) only that the features react to it
    evidence = [what for what, shown in (
        ("greying the ring lowers the random network's precision, so the outer ring (a "
         "geometric stand-in for the background, holding object parts too) helps it "
         "retrieve", ring_grey_drop[1] > 0),
        ("the ring's colours explain its feature distances beyond the centre's colours and "
         "the category, so the features react to the ring's colour", ring_partial_low > 0))
        if shown]
    if evidence:
        reading = (f"In this run {'; and '.join(evidence)}"
                   + (f"; the same sensitivity misleads the classifier in the composites "
                      f"above{_where_shown(shown_on)}{_beside_cnn(beyond_cnn)}."
                      if pitfall_shown else
                      "; whether it misleads the classifier was not tested (in the "
                      "composites above the random network is at chance on clean "
                      "images)." if pitfall_shown is None else
                      "; in the composites above it did not measurably mislead the "
                      "classifier."))
        if ring_grey_drop[1] > 0:
            reading += " " + centre_control(centre_grey_drop, centre_minus_ring)
        elif ring_undefined:
            reading += f" But {undefined}."
        return reading
    if grayscale_drop[1] > 0 and not ring_undefined:
        return ("In this run only removing colour lowers the random network's precision: it "
                "retrieves partly by colour, which is not evidence about the background; the "
                "ring is not shown to be what it uses.")
    if np.isnan(ring_partial["estimate"]):
        partial = ("the ring colours' partial correlation is undefined here (nothing of the "
                   "feature distances is left once the centre's colours and the category "
                   "are held)")
    elif np.isnan(ring_partial_low):
        n = int(ring_partial.get("undefined resamples", 0))
        partial = (f"the ring colours' partial correlation ({ring_partial['estimate']:.3f}) "
                   f"has no interval, for {n} bootstrap resample{'s' * (n != 1)} left "
                   "nothing to correlate, so it is not counted")
    else:
        partial = "the ring's colours do not measurably explain its feature distances"
    if ring_undefined:
        return f"In this run {undefined}, and {partial}: the retrieval half of the claim is " \
            "not shown."
    return ("In this run neither greying the ring nor removing colour measurably lowers the "
            f"random network's precision, and {partial}: the retrieval half of the claim is "
            "not shown.")


def advantage_verdict(ring_grey_drop: tuple, centre_minus_ring: tuple, ring_partial,
                      centre_partial=None) -> str:
    """The retrieval half of the background claim, from the ring's evidence, weighed
    against the centre's.

    ``ring_grey_drop``: (estimate, low, high) of the drop in precision when the ring is
    greyed; ``centre_minus_ring``: how much more greying the centre costs (the control:
    greying any half of an image may cost precision, and the ring holds object parts too);
    ``ring_partial``: the ring's row of :func:`partial_correlation_table`
    (the partial correlation of feature distance with ring colour, centre colour and
    category held), or the lower end of its interval alone. Removing colour (grayscale)
    changes the whole image, not its background, so it does not enter here.

    Supported: the ring helps (its drop above 0), not measurably less than the centre
    (the difference not wholly above 0), and the features react to its colour; partly
    supported: some of this; not shown: neither the drop nor the reaction.

    ``centre_partial``: the centre's row; where its interval lies wholly above the ring's,
    the verdict says so ("the features react to the ring's colour" once read as
    "more than to the centre's" when the centre's partial r was the larger). It does not
    change the verdict word: the claim is about the ring, not the ring against the centre.
    """
    _effects(ring_grey_drop=ring_grey_drop, centre_minus_ring=centre_minus_ring)
    ring_low = ring_partial if np.isscalar(ring_partial) else ring_partial["low"]
    helps, reacts = ring_grey_drop[1] > 0, ring_low > 0
    if np.isnan(ring_grey_drop).any():  # NaN once read "does not measurably lower"
        return ("partly supported: the features react to the ring's colour; what greying "
                "the ring costs is undefined here (too few queries to resample)" if reacts
                else "not shown by this run (what greying the ring costs is undefined: "
                "too few queries to resample)")
    # an undefined control (NaN) is not a passed one (NaN once compared False
    # and read "not measurably less than the centre does": supported)
    unweighed = bool(np.isnan(centre_minus_ring).any())
    centre_more, ring_more = centre_minus_ring[1] > 0, centre_minus_ring[2] < 0
    than = ("not weighed against the centre (the control undefined)" if unweighed
            else "more than the centre does" if ring_more
            else "but less than the centre does" if centre_more
            else "not measurably less than the centre does (greying the centre "
            f"may cost up to {signed(100 * centre_minus_ring[2]).removeprefix('+')} "
            "points of P@10 more)")
    helping = f"the outer ring helps retrieval, {than}"
    if helps and reacts and unweighed:
        verdict = f"partly supported: {helping}; the features react to its colour"
    elif helps and reacts and not centre_more:
        verdict = f"supported: {helping}, and the features react to its colour"
    elif helps and reacts:
        verdict = (f"partly supported: {helping}, so its help may be the object parts it "
                   "holds; the features react to its colour")
    elif helps:
        verdict = (f"partly supported: {helping}, but its colours are not shown to explain "
                   "the feature distances")
    elif reacts:
        verdict = ("partly supported: the features react to the ring's colour, but greying "
                   "the ring does not measurably lower precision")
    else:
        verdict = "not shown by this run"
    if (centre_partial is not None and not np.isscalar(ring_partial)
            and centre_partial["low"] > ring_partial["high"]):  # NaN compares False
        verdict += (" (though the features react more to the centre's colours: "
                    f"{partial_text(centre_partial)} against the ring's "
                    f"{partial_text(ring_partial).removeprefix('partial r = ')})")
    return verdict


def split_reading(fraction: float, book_fraction: float = BOOK_FRACTION) -> str:
    """The sentence before the verdicts on what the centre and the ring are in this run:
    the book's halves, or, for another ``fraction`` (the centre's share of the pixels), the
    two shares, so that a verdict on "the ring" says how much of the image it was."""
    if fraction == book_fraction:
        return (f"Centre and ring each hold half of an image's pixels (the book's "
                f"`fraction` of {book_fraction:g}).")
    what = ("a ring larger than the book's can hold more of the object"
            if fraction < book_fraction
            else "a ring thinner than the book's lies nearer the frame")
    return (f"In this run the centre holds {100 * fraction:.3g}% of an image's pixels and the "
            f"ring {100 * (1 - fraction):.3g}% (`fraction` = {fraction:g}, not the book's "
            f"{book_fraction:g}): every verdict below reads a ring of that size as the "
            f"background, and {what}.")


# The mechanism: descriptions of medians, without intervals

#: how far apart two medians of correlations must be to be read as different
BLUR_MARGIN = 0.05
#: the fewest units (not constant over the images) a median of the blur comparison is read
#: over: the median of one or a few units says nothing about a layer
MIN_BLUR_UNITS = 10


def agreement_reading(medians: dict[str, float], well_above: float = 60,
                      filters: dict[str, int] | None = None,
                      min_filters: int = MIN_BLUR_UNITS) -> str:
    """The sentence on how often the patch's mean colour decides a first-layer unit's sign,
    from the median agreement (%) of each first layer (``{layer name: median}``; a NaN
    median, a layer with no filter measured, is left out and named). ``filters``: how
    many filters each median is over; layers with fewer than ``min_filters`` are named
    (with k = 1 the random network's "median" was once one filter)."""
    from rdsc.checks import percents
    percents("the median agreements", medians.values(), far_above_one=True)
    measured = {name: m for name, m in medians.items() if not np.isnan(m)}
    missing = [name for name in medians if name not in measured]
    if not measured:
        return "No first layer had a filter measured, so there is nothing to read."
    all_of = "All three" if len(measured) == 3 else "All"
    lowest = min(measured, key=measured.get)
    if measured[lowest] > well_above and len(measured) == 1:
        text = (f"The one layer measured, {lowest}, is well above one half: natural patches "
                "are smooth, so the mean colour decides most of its signs.")
    elif measured[lowest] > well_above:
        text = (f"{all_of} are well above one half: natural patches are smooth, so the mean "
                "colour decides most signs in each of these first layers"
                + (", not only in the random network's" if len(measured) == 3 else "") + ".")
    elif len(measured) == 1:
        text = (f"The one layer measured, {lowest}, is not well above one half "
                f"({measured[lowest]:.0f}%).")
    else:
        text = (f"Not {all_of.lower()} are well above one half (the lowest, {lowest}: "
                f"{measured[lowest]:.0f}%): how much the mean colour decides the signs "
                "differs between these first layers.")
    if missing:
        text += f" ({', '.join(missing)}: no filter measured.)"
    few = {name: int(n) for name, n in (filters or {}).items()
           if name in measured and int(n) < min_filters}
    if few:
        text += (f" A median over fewer than {min_filters} filters does not stand for its "
                 "layer; measured here: " + "; ".join(f"{n} filter{'s' * (n != 1)} of "
                                                       f"the {name}"
                                                       for name, n in few.items()) + ".")
    return text


def blur_reading(random_net: float, cnn: float, n_random: int, n_cnn: int,
                 margin: float = BLUR_MARGIN, min_units: int = MIN_BLUR_UNITS,
                 cnn_at_chance: bool = False) -> str:
    """The sentence comparing the median correlation of features of an image and of its
    blurred copy, random network (``random_net``, over ``n_random`` units that vary over
    the images) against the trained CNN's hidden layer (``cnn``, over ``n_cnn``); medians
    less than ``margin`` apart read as "about equally"; a NaN median (no unit that varies)
    reads as no comparison, and so does a side with fewer than ``min_units`` units (the
    median of 1 random unit once read "survive blurring somewhat better" than 150),
    and so does a CNN at chance on clean images (``cnn_at_chance``)."""
    if np.isnan(random_net) or np.isnan(cnn):
        return ("The blur comparison is undefined here: a median correlation is missing (no "
                "unit varied across these images).")
    if cnn_at_chance:  # no reading drawn from a CNN the chapter calls at chance
        return (f"The blur comparison says nothing here: the trained CNN is at chance on "
                f"clean images, so its hidden units (median {cnn:.3f}, against the random "
                f"features' {random_net:.3f}) stand for no trained network.")

    def units(n):
        n = int(n)  # a numpy count multiplied the string by a numpy bool
        return f"{n:,} unit{'s' * (n != 1)}"
    if min(n_random, n_cnn) < min_units:
        return (f"The blur comparison cannot tell here: the random network's median "
                f"({random_net:.3f}) is over {units(n_random)} and the trained CNN's "
                f"({cnn:.3f}) over {units(n_cnn)} (those that vary over these images), "
                f"and a median over fewer than {min_units} units does not stand for its "
                "layer.")
    # the difference, printed apart from the margin it is read against, and said to be near
    # it where it is (0.763 against 0.714 once read "within 0.05", decided by 0.001)
    gap = round(abs(random_net - cnn), 9)  # no float noise off the margin itself
    near = (", near enough to it that another sample could read otherwise"
            if abs(gap - margin) < 0.2 * margin else "")

    def medians(relation):
        return (f"medians {random_net:.3f} over {units(n_random)} against {cnn:.3f} over "
                f"{units(n_cnn)}, {ratio_apart(gap, margin, 3)} apart: {relation} the "
                f"{margin} margin{near}; a margin this book sets for medians of "
                "correlations, which have no interval here")
    if random_net > cnn + margin:
        return (f"The random features survive blurring somewhat better than the trained "
                f"CNN's hidden units ({medians('more than')}): consistent with their "
                "depending more on colour and coarse layout.")
    if random_net < cnn - margin:
        return ("The random features survive blurring less well than the trained CNN's "
                f"hidden units ({medians('more than')}), so by this measure they are not "
                "more bound to colour and coarse layout than the CNN.")
    return ("The random features and the trained CNN's hidden units survive blurring about "
            f"equally ({medians('within')}): this measure does not tell them apart.")


def blur_fairness(read: str, pooled_by: dict[str, int]) -> str:
    """The caveat on the blur comparison: a blur of the random network's kernel size removes
    less of what a CNN sees of images it gets average-pooled. ``read``: the dataset the
    sentence reads; ``pooled_by``: ``{dataset: pooling factor}`` of the datasets the CNN
    sees pooled (factor > 1)."""
    if read in pooled_by:
        return (f"Not a fair comparison on {read}: the CNN sees its images average-pooled "
                f"by {pooled_by[read]}, so a blur of the random network's kernel size "
                "removes less of what the CNN sees.")
    if pooled_by:
        return (f"The sentence reads {read} alone; the rows of {' and '.join(pooled_by)}, "
                "which the CNN sees average-pooled, do not compare the two fairly.")
    return f"The sentence reads {read} alone; the CNN sees every dataset here unpooled."


#: the mark of a row of the examples' figure that is not right for both classifiers clean
NOT_RIGHT_CLEAN = "(not right clean)"


def examples_note(right: list[bool]) -> str:
    """The caption's sentence on how the examples' rows were chosen, from the ``right``
    flags of :func:`example_images`, naming the rows that fell back."""
    said = ("Each row is the first test image of its class that both classifiers get right "
            "on the clean image")
    missed = len(right) - sum(right)
    if not missed:
        return said + "."
    return (f"{said}, except {missed} row{'s' * (missed != 1)} marked "
            f"\"{NOT_RIGHT_CLEAN}\": too few classes had such an image in this run, so "
            f"{'they show' if missed != 1 else 'it shows'} the first test image of "
            f"{'their' if missed != 1 else 'its'} class.")
