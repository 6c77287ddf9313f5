"""Chapter 6's sentences and verdict words, read off :mod:`rdsc.retrieval`'s comparisons.

:mod:`rdsc.retrieval` ranks, scores and compares representations (each paired comparison
gets a word from :func:`rdsc.retrieval.difference_word`: higher, lower, comparable or
indistinguishable); this module says what those words show: the random features against
the trained networks (:func:`trained_verdict`) and the paper's claim
(:func:`claim_verdict`; a network trained on the database itself is set apart,
:func:`in_domain_sentence`), against the colour histogram and the authors' perceptron
(:func:`control_phrase`, :func:`perceptron_phrase`), what another equivalence margin would
change (:func:`margin_robustness`), how far this run's k is from the paper's
(:func:`k_reading`), trained networks that failed (:func:`failures_note`,
:func:`short_error`), and the data's quirks (:func:`frame_sentences`, :func:`twins_sentence`).
"""
from __future__ import annotations

import math

import numpy as np

from rdsc.checks import (flag, listed, name_list, number_between, same_decimals,
                         signed, whole_number)
from rdsc.retrieval import EQUIVALENCE_MARGIN, difference_word

#: the words :func:`rdsc.retrieval.difference_word` gives
WORDS = ("higher", "lower", "comparable", "indistinguishable")


def _words_of(verdict_of: dict[str, str], names) -> list[str]:
    """The word of each of ``names``, refusing any outside :data:`WORDS` (a misspelt or
    capitalised word would drop the network from every group without a trace)."""
    words = [verdict_of[n] for n in names]
    odd = {n: w for n, w in zip(names, words) if w not in WORDS}
    if odd:
        raise ValueError(f"verdict words must be among {list(WORDS)}, got {odd}")
    return words


def trained_verdict(verdict_of: dict[str, str], names) -> str:
    """Where the random features stand against each trained network ``names``, from
    :func:`rdsc.retrieval.compare`'s words (``verdict_of[name]``: the random features minus
    that network): "comparable to A, its interval within ±5 points; indistinguishable from
    B, ...; above C; below D" (commas, not parentheses: network names hold some)."""
    names = name_list("names", names)
    if not names:
        return "not compared with any trained network (none ran)"
    _words_of(verdict_of, names)
    points = f"{100 * EQUIVALENCE_MARGIN:g} points"
    groups = (("comparable", "comparable to", (f", its interval within ±{points}",
                                                f", each interval within ±{points}")),
              ("indistinguishable", "indistinguishable from",
               (f", its interval holding 0 but wider than ±{points}",
                f", each interval holding 0 but wider than ±{points}")),
              ("higher", "above", ("", "")), ("lower", "below", ("", "")))
    parts = []
    for word, phrase, (one, several) in groups:
        members = [f"the {n}" for n in names if verdict_of[n] == word]
        if members:
            parts.append(f"{phrase} {listed(members)}{one if len(members) == 1 else several}")
    return "; ".join(parts)


def claim_verdict(verdict_of: dict[str, str], names, beats_control: dict | None = None,
                  in_domain=()) -> str:
    """Whether the comparisons support the paper's claim (retrieval with random features
    comparable to trained networks' last hidden layer), from each network's
    :func:`rdsc.retrieval.claim_word` (``verdict_of``): at worst the margin behind supports
    it, behind by more does not, an interval that holds the margin decides nothing.

    ``beats_control`` (from :func:`rdsc.retrieval.reference_rows`): only the trained networks that
    retrieve better than the pixel control count; with none, the claim is *not shown* (the
    word of the introduction's table, whose row :func:`rdsc.headlines.retrieval` makes).
    ``in_domain``: networks trained on the retrieval database's own categories, those the
    queries look for, which the random features never saw, so this book does not count
    them either (see :func:`in_domain_sentence`).
    """
    names = name_list("names", names)
    if not names:
        return "does not test the paper's claim (not run: no trained network ran)"
    _words_of(verdict_of, names)
    left_out = []  # (reason, names), said after the verdict
    in_domain = set(name_list("in_domain", in_domain))
    if in_domain - set(names):  # a misspelt name would count the network for the claim
        raise ValueError(f"in_domain names no network of names: {sorted(in_domain - set(names))}")
    own = [n for n in names if n in in_domain]
    if own:
        names = [n for n in names if n not in own]
        left_out.append(("trained on the database itself", own))  # "it was ..."
    if beats_control is not None:
        beats = {n: flag(f"beats_control[{n!r}]", beats_control[n]) for n in names}
        weak = [n for n in names if not beats[n]]
        names = [n for n in names if beats[n]]
        if weak:
            left_out.append(("not shown to retrieve better than the pixel control", weak))
    if left_out:
        if not names:
            # one clause a reason, names first (not a run-on "none of ... both
            # ... and ...; reason: names; reason: names" when no network counts)
            return ("leaves the paper's claim not shown, as no trained network here counts: "
                    + ", and ".join(f"{listed([f'the {m}' for m in n])} "
                                    f"{'was' if len(n) == 1 else 'were'} {reason}"
                                    for reason, n in left_out))
        return (claim_verdict(verdict_of, names) + "; " + "; ".join(
            f"{listed([f'the {m}' for m in n])} {'is' if len(n) == 1 else 'are'} not "
            f"counted: {'it was' if len(n) == 1 else 'they were'} {reason}"
            for reason, n in left_out))
    # the claim's own words, not the two-sided ones beside them (e.g. "below the C;
    # this supports the claim only for the networks the random features are not below",
    # where the C's interval held -5 points and decided nothing)
    points = f"{100 * EQUIVALENCE_MARGIN:g} points"
    support = [n for n in names if verdict_of[n] in ("comparable", "higher")]
    against = [n for n in names if verdict_of[n] == "lower"]
    undecided = [n for n in names if verdict_of[n] == "indistinguishable"]

    def the(group):
        return listed([f"the {n}" for n in group])

    def each(group):
        return "it" if len(group) == 1 else "each"

    # not "above the B; this supports ...: at worst 5 points behind each"
    within = (f"ahead of or at worst {points} behind" if "higher" in
              [verdict_of[n] for n in support] else f"at worst {points} behind")

    open_part = (f"the interval{'s' * (len(undecided) > 1)} for {the(undecided)} "
                 f"{'holds' if len(undecided) == 1 else 'hold'} -{points}, so "
                 f"{'it decides' if len(undecided) == 1 else 'they decide'} nothing")
    # commas and colons, not parentheses: network names hold some
    if not support and not against:
        return (f"neither supports nor contradicts the paper's claim: the interval"
                f"{'s' * (len(undecided) > 1)} for {the(undecided)} "
                f"{'holds' if len(undecided) == 1 else 'each hold'} -{points}")
    if support and not against and not undecided:
        return (f"supports the paper's claim for {the(support)}: the random features are "
                f"{within} {each(support)}")
    if against and not support and not undecided:
        return (f"does not support the paper's claim for {the(against)}: the random features "
                f"are more than {points} behind {each(against)}")
    parts = []
    if support:
        parts.append(f"supports the paper's claim for {the(support)}, the random features "
                     f"{within} {each(support)}")
    if against:
        refuse = "and not" if support else "does not support the paper's claim"
        parts.append(f"{refuse} for "
                     f"{the(against)}, more than {points} behind {each(against)}")
    return ", ".join(parts) + (f"; {open_part}" if undecided else "")


def claim_counted(names, beats_control: dict | None = None, in_domain=()) -> list[str]:
    """The trained networks ``names`` that :func:`claim_verdict` counts for the paper's
    claim: neither trained on the database itself (``in_domain``) nor, where
    ``beats_control`` is given, not shown to retrieve better than the pixel control."""
    in_domain = set(name_list("in_domain", in_domain))
    return [n for n in name_list("names", names) if n not in in_domain
            and (beats_control is None or flag(f"beats_control[{n!r}]", beats_control[n]))]


def best_reference(references: list[dict], claim_words: dict[str, str], counted,
                   scores: dict | None = None, n_boot: int = 2000, seed: int = 0) -> str:
    """Which of the networks the claim counts (``counted``, :func:`claim_counted`) is the
    best retriever, by its mAP over the pixel control, and where the random features stand
    against it (``claim_words``: :func:`rdsc.retrieval.claim_word` of each): a claim
    supported against a weak reference and contradicted against a strong one reads
    otherwise than the reverse. Empty with fewer than two counted networks.
    Networks tied at the digits shown are named together (the row order once chose
    one "best" of two equals, and with it the verdict read), and so are those whose paired
    interval against the best holds 0, where ``scores`` (each network's per-query AP,
    ``N``) are given (e.g. +5.4 against +5.2, paired interval -2.1 to +1.6), by
    :func:`rdsc.retrieval.compare` with ``n_boot`` resamples and ``seed``, the chapter's
    own (the defaults once stood in for them).
    ``references``: :func:`rdsc.retrieval.reference_rows`."""
    counted = name_list("counted", counted)
    # in the order of counted, not of the rows: ties are named in one order
    rows = {r["trained network"]: r["minus control (points)"] for r in references}
    over = {n: rows[n] for n in counted if n in rows}
    missing = [n for n in counted if n not in over]
    if missing:
        raise ValueError(f"counted names networks with no reference row: {listed(missing)}")
    undefined = [n for n, v in over.items() if not np.isfinite(v)]
    if undefined:
        raise ValueError(f"no finite mAP over the control for {listed(undefined)}")
    if len(over) < 2:
        return ""
    _words_of(claim_words, list(over))
    shown = {n: signed(v, 1) for n, v in over.items()}
    leader = max(over, key=over.get)
    top = shown[leader]
    best = [n for n in over if shown[n] == top]
    if scores is not None:  # not told apart from the leader on the same queries
        from rdsc.retrieval import compare
        best = [n for n in over if n == leader or n in best
                or compare(scores[leader], scores[n], n_boot=n_boot, seed=seed)["low"] <= 0]
    points = f"{100 * EQUIVALENCE_MARGIN:g} points"
    stand = {"higher": "ahead of {}", "comparable": f"at worst {points} behind {{}}",
             "lower": f"more than {points} behind {{}}",
             "indistinguishable": f"neither shown within {points} of {{}} nor further "
                                  "behind"}
    others = [f"{shown[n]} for the {n}" for n in over if n not in best]
    against = f" (against {listed(others)})" if others else ""
    if len(best) == 1:
        return (f"Of the networks counted, the {best[0]} retrieves best, {top} mAP points "
                f"above the pixel control{against}; the random features are "
                f"{stand[claim_words[best[0]]].format('it')}.")
    kinds = {claim_words[n] for n in best}
    where = (stand[kinds.pop()].format("them") if len(kinds) == 1 else
             listed([stand[claim_words[n]].format(f"the {n}") for n in best]))
    tied = (f"tied at {top} mAP points above the pixel control" if
            len({shown[n] for n in best}) == 1 else
            f"not told apart on the same queries ({listed([shown[n] for n in best])} mAP "
            "points above the pixel control)")
    return (f"Of the networks counted, {listed([f'the {n}' for n in best])} retrieve best, "
            f"{tied}{against}; the random features are {where}.")


def claim_margin_robustness(intervals: dict[str, tuple], names,
                            margins=(0.025, 0.10)) -> str:
    """What another margin would change for the paper's claim: which of the trained
    networks ``names`` (those the claim counts) would count for it, against it or decide
    nothing (:func:`rdsc.retrieval.claim_word`) at each of ``margins``.
    ``intervals[name]``: the (low, high) interval of the difference, in score units."""
    from rdsc.retrieval import claim_word
    names = name_list("names", names)
    if not names:
        return "no trained network is counted, whatever the margin"
    effect = {"higher": "count for it", "comparable": "count for it",
              "lower": "count against it", "indistinguishable": "decide nothing"}
    parts = []
    for margin in margins:
        changed = {}  # "would count otherwise" once said neither way
        for n in names:
            now = effect[claim_word(*intervals[n], margin)]
            if now != effect[claim_word(*intervals[n])]:
                changed.setdefault(now, []).append(f"the {n}")
        said = "; ".join(f"{listed(ns)} would {e}" for e, ns in changed.items())
        parts.append(f"at {100 * margin:g} points behind, "
                     + (said or "no trained network would count otherwise"))
    return "; ".join(parts)


def in_domain_sentence(verdict_of: dict[str, str], in_domain) -> str:
    """The sentence on the networks trained on the retrieval database itself (cross-fitted:
    each query embedded by a network that did not train on it), which
    :func:`claim_verdict` does not count (and says so): what they show instead. Empty when
    none ran."""
    names = name_list("in_domain", in_domain)
    if not names:
        return ""
    place = trained_verdict(verdict_of, names)
    one = len(names) == 1
    return (f"Against {'a network' if one else 'networks'} trained on the database's own "
            f"categories, the random features are {place}. "
            # what it was trained on, not what it learned (e.g. "learned what
            # the queries are asked to find" of a network no better than the pixel control)
            # that it is not counted, :func:`claim_verdict` has just said (the
            # paragraph once said it twice)
            f"{'That network was' if one else 'Those networks were'} trained on the "
            "categories the queries are asked to find, which the random features never saw.")


def control_phrase(word: str) -> str:
    """The random features' place against a control representation (the colour histogram),
    from :func:`rdsc.retrieval.compare`'s word on "random features minus the control"."""
    return {"higher": "above", "lower": "below", "comparable": "comparable to",
            "indistinguishable": "indistinguishable from"}[word]


def perceptron_phrase(word: str, margin: float = EQUIVALENCE_MARGIN) -> str:
    """What the authors' perceptron, trained on top of the random features, does to their
    mAP. ``word``: :func:`rdsc.retrieval.compare`'s word on "random features minus the
    perceptron's", so *higher* means the perceptron lowers the mAP."""
    number_between("margin", margin, 0, 1, "in score units: 0.05 for five points")
    return {"higher": "lowers the mAP", "lower": "raises the mAP",
            "comparable": f"changes the mAP by less than {100 * margin:g} points",
            "indistinguishable": "does not measurably change the mAP"}[word]


def margin_robustness(verdict_of: dict[str, str], intervals: dict[str, tuple], names,
                      margins=(0.025, 0.10)) -> str:
    """Which of the trained networks ``names`` another equivalence margin would give another
    word. ``intervals[name]``: the (low, high) interval of the difference (score units);
    ``verdict_of[name]``: its word at the chapter's margin."""
    names = name_list("names", names)
    for n in names:  # the intervals of the chapter's words, in score units, not points
        low, high = intervals[n]
        if difference_word(low, high) != verdict_of[n]:
            raise ValueError(f"the interval of {n!r} ({low!r}, {high!r}) does not give its "
                             f"word {verdict_of[n]!r}: intervals in points instead of score "
                             "units?")
    parts = []
    for margin in margins:
        changed = {}  # the new word, said (not "would get another word")
        for n in names:
            word = difference_word(*intervals[n], margin)
            if word != verdict_of[n]:
                changed.setdefault(word, []).append(f"the {n}")
        said = "; ".join(f"{listed(ns)} would read {word}" for word, ns in changed.items())
        parts.append(f"at ±{100 * margin:g} points, "
                     + (said or "no trained network would read otherwise"))
    return "; ".join(parts)


def short_error(error: BaseException, width: int = 80) -> str:
    """An exception as the text can show it: its type and the first line of its message,
    cut to ``width`` characters (a CUDA out-of-memory message runs to hundreds, with
    paths), markdown-inert in a code span."""
    first = (str(error).strip().splitlines() or [""])[0]
    text = f"{type(error).__name__}: {first}" if first else type(error).__name__
    text = text if len(text) <= width else text[:width - 3] + "..."
    return "`" + text.replace("`", "'") + "`"


def failures_note(failed: dict[str, str]) -> str:
    """A sentence naming the trained networks that failed (``{name: error}``, the error as
    :func:`short_error` gives it), and so are in no comparison; empty when none failed."""
    if not failed:
        return ""
    named = "; ".join(f"{name} ({error})" for name, error in failed.items())
    return (f"Not compared, because {'it' if len(failed) == 1 else 'they'} failed: {named}. "
            "The verdicts above count only the trained networks that ran.")


def frame_sentences(queries: float, database: float) -> tuple[str, str]:
    """The sentence on the red frame of the Corel query images, and the short note for the
    list of differences from the authors. ``queries``, ``database``: the share of red
    pixels in the two outer rows of the query images and of the database images; the
    queries count as framed when most of those pixels are red and few of the database's."""
    for name, share in (("queries", queries), ("database", database)):
        number_between(name, share, -1e-9, 1 + 1e-9, "a share of pixels, 0 to 1")
    framed = queries > 0.5 and database < 0.1
    share = (f"{queries:.0%} of the pixels in their two outer rows are red, "
             f"against {database:.0%} in the database")
    if framed:
        return (f"the query images differ from the database in one visible way: a red frame "
                f"({share})", "red frame included, which colour-sensitive representations see")
    return f"in this run no red frame sets the query images apart ({share})", "as provided"


def twins_sentence(groups: list, labels) -> str:
    """The sentence on byte-identical database images. ``groups``: lists of indices of
    identical images (:func:`rdsc.retrieval.duplicate_images`); ``labels``: the database's
    categories, length ``N``."""
    if not groups:
        return "No two database images of this run are identical."
    labels = np.asarray(labels)
    if labels.ndim != 1:  # N x 1 failed as "unhashable type: 'list'"
        raise ValueError(f"labels must be one per database image (shape N), got shape "
                         f"{labels.shape}")
    categories = [len(set(labels[list(g)].tolist())) for g in groups]
    crossed = sum(n > 1 for n in categories)
    # "1 group, 1 spanning more than one category" was hard to parse
    if len(groups) == 1:
        size = len(groups[0])
        what = "one pair of identical database images" if size == 2 else (
            f"one set of {size} identical database images")
        filed = ("filed under one category" if categories[0] == 1 else
                 f"filed under {categories[0]} different categories")
        found = f"{what}, {filed}"
    else:
        found = (f"{len(groups)} sets of identical database images "
                 f"({sum(len(g) for g in groups):,} images), "
                 f"{crossed if crossed else 'none'} of them filed under more than one "
                 "category")
    return (f"Comparing pixels finds {found}. In leave-one-out each copy finds another "
            "copy first, at distance 0; they are kept, as the authors' database holds them.")


def k_reading(k: int, paper_k: int, k_before: int | None, step: dict | None,
              extraction_s: float, profile: str) -> str:
    """How far this run's largest k is from the paper's, and whether mAP still rose over the
    last step of k, in sentences (the page once blamed a slow extraction that took
    23 s).

    ``step``: :func:`rdsc.retrieval.compare` of the per-query AP at ``k`` against
    ``k_before``, the next smaller k run (both None where only one k ran);
    ``extraction_s``: the seconds the random features took in this run; ``profile``: the
    run's profile (a k below the paper's at the ``paper`` profile was set by hand).
    Avoided: "the `smoke` profile's k = 16" where the profile's is 32 and 16 was given;
    "1 times below" for 70,000.
    """
    k, paper_k = whole_number("k", k), whole_number("paper_k", paper_k)
    if not (isinstance(extraction_s, (int, float)) and math.isfinite(extraction_s)
            and extraction_s >= 0):
        raise ValueError(f"extraction_s must be seconds >= 0, got {extraction_s!r}")
    if (step is None) != (k_before is None):
        raise ValueError("give both k_before and step (the last step of k), or neither")
    if k_before is not None and not 1 <= whole_number("k_before", k_before) < k:
        raise ValueError(f"k_before is the next smaller k run, below k = {k:,}; got "
                         f"{k_before:,}")
    if k == paper_k:
        return f"This run uses the paper's k = {paper_k:,}."
    if k > paper_k:
        return f"This run's k = {k:,} is above the paper's {paper_k:,}."
    ratio = paper_k / k
    # a whole number of times only where it is large: "1 times below" for 70,000
    far = (f"{ratio:,.0f} times below" if ratio >= 10 else
           f"{100 * k / paper_k:.0f}% of")
    paper_profile = ("k was set below the `paper` profile's, which is the paper's"
                     if profile == "paper" else
                     "the `paper` profile runs the paper's k, meant for a GPU")
    text = (f"This run's k = {k:,} is {far} the paper's {paper_k:,} (computing or reading "
            f"its features took {extraction_s:,.0f} s here; {paper_profile}).")
    if step is None:
        return text + " With one k, this run cannot say how mAP changes with k."
    d, lo, hi = (100 * _interval_part(step, key) for key in ("difference", "low", "high"))
    if lo > hi:  # (a bootstrap interval need not hold its estimate: the order alone)
        raise ValueError(f"step needs low <= high, got {step!r}")
    d_, lo_, hi_ = same_decimals((d, lo, hi))
    change = (f" From k = {k_before:,} to {k:,}, mAP changes by {d_} points "
              f"(paired 95% interval {lo_} to {hi_})")
    if lo > 0:  # not "the gaps to the trained networks may narrow" where the
        # random features already lead
        return (f"{text}{change}: it is still rising, so at the paper's k it may be higher "
                "than here.")
    if hi < 0:
        return f"{text}{change}: it falls at the largest k run here."
    return f"{text}{change}: this run cannot tell whether it still rises."


def _interval_part(step: dict, key: str) -> float:
    """``step[key]`` as a finite number, or a clear error naming it."""
    value = step.get(key) if isinstance(step, dict) else None
    if not isinstance(value, (int, float, np.floating)) or not math.isfinite(value):
        raise ValueError(f"step needs a finite {key!r} (retrieval.compare's result), got "
                         f"{value!r}")
    return float(value)
