"""Chapter 4's sentences and verdict words, read off :mod:`rdsc.baselines`' tables.

:mod:`rdsc.baselines` runs every method and summarises it over seeds; this module says
what the numbers show, by the chapter's rule: a difference counts only beyond the test-set
noise of a difference of two accuracies on the same images (:func:`noise_of`: paired over
the images) and, for methods with several seeds, beyond every seed (above the best one, or
below the worst). :func:`standing` is that rule for one baseline (the introduction's line
uses it too); :func:`verdicts` gives one dataset's sentences.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from rdsc.baselines import KMEANS, RANDOM_FILTERS, RCF_NAME, RDSC, SCATTERING, compare
from rdsc.checks import against_noise, flag, listed
from rdsc.intervals import difference_noise
from rdsc.paper import UNSUPERVISED_CLAIM
from rdsc.retrieval import EQUIVALENCE_MARGIN


def noise_of(ours: float, theirs: float, n_test: int, paired=None) -> float:
    """The test-set noise (points) of ``ours - theirs`` (accuracies in %): ``paired``, the
    paired half-width on the same images (:func:`rdsc.baselines.summary`), where known;
    else the unpaired :func:`rdsc.intervals.difference_noise` (results saved without
    per-image hits), which overstates it where the two methods agree on many images."""
    if paired is not None and np.isfinite(paired):
        return float(paired)
    return difference_noise(ours, theirs, n_test)


def standing(ours_top1: float, theirs_top1: float, above_every_seed: bool, n_test: int,
             paired_noise: float | None = None, below_every_seed: bool = True) -> str:
    """Where rdsc stands against one baseline at top-1 (mean over its seeds): ``beaten``
    (ahead by more than the test-set noise of the difference, :func:`noise_of`, and above
    its best seed), ``above on average, not on every seed``, ``within noise``, ``below``
    (behind beyond noise and below its worst seed) or ``below on average, not on every
    seed``. The rule is the same both ways (``below`` once needed the noise
    alone, so rdsc above one of two seeds read "contradicted"). A single seed is its own
    best and worst. The chapter's sentences and the introduction's line both use it."""
    flag("above_every_seed", above_every_seed)  # "False" read as true
    flag("below_every_seed", below_every_seed)
    d = ours_top1 - theirs_top1
    noise = noise_of(ours_top1, theirs_top1, n_test, paired_noise)
    if d > noise:
        return "beaten" if above_every_seed else "above on average, not on every seed"
    if d < -noise:
        return "below" if below_every_seed else "below on average, not on every seed"
    return "within noise"


# each :func:`standing` as the final-layer sentence says it, in the order it lists them
_STANDING_PHRASES = {"beaten": "beaten",
                     "above on average, not on every seed":
                         "rdsc above on average, not on every seed",
                     "within noise": "within noise",
                     "below on average, not on every seed":
                         "rdsc below on average, not on every seed",
                     "below": "rdsc below beyond noise and every seed"}


def _final_layers_of(names: list[str]) -> str:
    """" (the SVM and softmax SGD final layers of random vgg16)" for rows named
    ``"ARCH, random, HEAD"`` (:func:`rdsc.baselines.final_layer_rows`): "2 final-layer-only
    baselines" once read as two networks, where they were two heads on one. Names
    of another form: ""."""
    parts = [name.split(", ") for name in names]
    if not parts or any(len(p) != 3 or p[1] != "random" for p in parts):
        return ""
    archs = list(dict.fromkeys(p[0] for p in parts))
    heads = list(dict.fromkeys(p[2] for p in parts))
    if len(parts) == 1:
        return f" (the {heads[0]} final layer of random {archs[0]})"
    return (f" (the {listed(heads)} final layer{'s' if len(heads) > 1 else ''} of "
            f"random {listed(archs)})")


def verdict_final_layer(diff: pd.DataFrame, n_test: int, ours_top1: float) -> str:
    """A sentence from :func:`rdsc.baselines.compare`'s top-1 table (final-layer-only baselines).

    A baseline counts as beaten when rdsc is above its best seed and the mean difference is
    larger than the test-set noise of the difference (:func:`noise_of`); the rest are
    "above on average only", "within noise", "below on average only" or "below" (beyond
    noise and below its worst seed). Then the strongest baseline (the highest top-1): the
    one the claim has to beat."""
    if diff.empty:
        return "No final-layer-only baseline was run."
    where = {r["baseline"]: standing(ours_top1, ours_top1 - r["difference top-1"],
                                     r["beats every seed"], n_test, r.get("noise top-1"),
                                     r.get("below every seed", True))
             for _, r in diff.iterrows()}
    beaten = [b for b, w in where.items() if w == "beaten"]
    n = len(diff)
    what = _final_layers_of(list(where))
    if n == 1:  # not "rdsc beats all 1 final-layer-only baselines"
        head = (f"rdsc {'beats' if beaten else 'does not beat'} the one final-layer-only "
                f"baseline{what} at top-1 beyond test-set noise and on every seed")
        if not beaten:
            head += f" ({_STANDING_PHRASES[where[diff['baseline'].iloc[0]]]})"
    elif len(beaten) == n:
        head = (f"rdsc beats {'both' if n == 2 else f'all {n}'} final-layer-only baselines"
                f"{what} at top-1, beyond test-set noise and on every seed")
    else:
        head = (f"rdsc beats {len(beaten) if beaten else 'none'} of the {n} final-layer-only "
                f"baselines{what} at top-1 beyond test-set noise and on every seed")
    if n > 1 and len(beaten) < n:
        for label, phrase in _STANDING_PHRASES.items():
            names = [b for b, w in where.items() if w == label]
            if names:  # the method names hold commas: italics keep them apart
                head += f"; {phrase}: {' and '.join(f'*{name}*' for name in names)}"
    strongest = diff.loc[diff["difference top-1"].idxmin()]   # ours minus theirs: smallest
    spread = strongest["± (seeds)"]
    # "below beyond noise" beside "95% interval over its seeds ±31.8", wider than
    # the gap: that interval is the mean's, which the verdict does not read (it compares
    # rdsc with each seed, and the gap with the test-set noise)
    # one sentence of nested brackets once left the reader to match each ± to its
    # meaning; now one sentence each
    # the two ± once printed alike (3.9 and 3.9) and read as one quantity set against itself
    seeds = (f" The verdict compares rdsc with each of its seeds; the table's ± for it, "
             f"{spread:.1f}, is another quantity, the 95% interval of its mean over seeds, "
             "which the verdict does not read." if np.isfinite(spread) else
             " It was run with a single seed.")
    noise = noise_of(ours_top1, ours_top1 - strongest["difference top-1"], n_test,
                     strongest.get("noise top-1"))
    gap = strongest["difference top-1"]
    side = "ahead of" if gap > 0 else "behind"
    # 35.47 and 35.53 both read 35.5, yet one was "the strongest"
    level = [b for b, d in zip(diff["baseline"], diff["difference top-1"])
             if b != strongest["baseline"] and f"{d:.1f}" == f"{gap:.1f}"]
    tied = (f" (tied, at the digits shown, with {' and '.join(f'*{b}*' for b in level)})"
            if level else "")
    shown, noise_shown = against_noise(gap, noise)
    # a tie is no side, and a gap that rounds to 0 keeps its digits (not "0.0 points
    # behind" for an exact tie, "0.0 points ahead" for 60.0 against 59.96)
    stands = ("level with it" if gap == 0 else
              f"{shown.lstrip('+-')} points {side} it")
    return (f"{head}. The strongest is *{strongest['baseline']}*{tied}: rdsc is "
            f"{stands} at top-1, where the test-set noise of the "
            f"difference, with {n_test:,} test images, is about ±{noise_shown} points.{seeds}")


def verdict_trained(table: pd.DataFrame, ours: str, family: str = "trained",
                    n_test: int | None = None) -> str:
    """How far ``ours`` is behind (or ahead of) the best trained model at top-1 and top-2;
    with ``n_test``, whether each gap is beyond test-set noise (:func:`noise_of`)."""
    trained = table[table["family"] == family]
    if trained.empty:
        return "No trained network was run."
    me = table.set_index("method").loc[ours]
    # a tie at top-1 goes to the better at top-2 (the first listed was once taken)
    ranked = trained.sort_values(["top-1", "top-2"], ascending=False, kind="stable")
    best = ranked.iloc[0]
    tied = ranked.iloc[1:][ranked["top-1"].iloc[1:] == best["top-1"]]
    gap1, gap2 = best["top-1"] - me["top-1"], best["top-2"] - me["top-2"]

    def noise(k):
        return (noise_of(me[f"top-{k}"], best[f"top-{k}"], n_test, best.get(f"noise top-{k}"))
                if n_test is not None else None)

    def say(gap, k):
        # the gap with the decimals that keep it apart from its noise (not "1.4
        # points behind (beyond test-set noise, ±1.4)")
        shown, noise_shown = (against_noise(gap, noise(k)) if n_test is not None
                              else (f"{gap:+.1f}", ""))
        text = (f"{shown.lstrip('+')} points behind at top-{k}" if round(gap, 1) > 0
                else f"{shown.lstrip('-')} points ahead at top-{k}" if round(gap, 1) < 0
                else f"level at top-{k}")   # not "-0.0 points ahead"
        if n_test is not None:
            where = "within" if abs(gap) <= noise(k) else "beyond"
            text += f" ({where} test-set noise, ±{noise_shown})"
        return text
    within1 = n_test is not None and abs(gap1) <= noise(1)
    within2 = n_test is not None and abs(gap2) <= noise(2)
    unclear = within1 and within2
    said = say(gap1, 1), say(gap2, 2)  # from the gaps as measured, not as rounded
    gap1, gap2 = round(gap1, 1), round(gap2, 1)   # as said: "level" is no gap
    if gap1 > 0 and unclear:
        shrink = "at this size the data cannot tell whether the gap narrows at top-2"
    elif gap1 > 0 and within1:  # no gap at top-1 to narrow
        shrink = ("the top-1 gap is within the test-set noise, and rdsc is ahead at top-2"
                  if gap2 < 0 else "the top-1 gap is within the test-set noise, the top-2 "
                  "gap beyond it")
    elif gap1 > 0 and gap2 < 0 and not within2:  # not "narrows" for a reversal
        shrink = "the gap reverses at top-2: rdsc is ahead there"
    elif gap1 > 0 and gap2 <= 0:  # level or ahead within the noise
        shrink = "the gap closes at top-2" + (", with no gap beyond the noise there"
                                              if n_test is not None else "")
    elif gap1 > 0 and gap2 < gap1:
        # a narrowing smaller than either gap's noise is no finding (the gaps are printed);
        # the narrowing's own interval is not computed, so the words say which noise
        shrink = ("the gap narrows at top-2" if n_test is None
                  or gap1 - gap2 > max(noise(1), noise(2))
                  else "the gap narrows at top-2 by less than either gap's test-set noise")
    elif gap1 > 0:
        shrink = "the gap does not narrow at top-2"
    elif unclear:  # not "within noise" and "the weaker one" in one sentence
        shrink = ("the two are not told apart at this size; a trained network this far from "
                  "a fully trained one's accuracy (see its epochs and images) does not test "
                  "the claim")
    elif gap1 == 0:
        shrink = "neither is ahead at top-1"
    elif gap2 > 0:  # ahead at top-1, behind at top-2: neither is "the weaker one"
        shrink = ("rdsc is ahead at top-1 and behind at top-2" + (
            f"; at {'top-1' if within1 else 'top-2'} within the test-set noise"
            if within1 or within2 else ""))
    elif within1 or within2:  # not a bare "the weaker one" where top-1 was within noise
        shown, untold = ("top-2", "top-1") if within1 else ("top-1", "top-2")
        shrink = (f"at {shown} the trained network here is the weaker one (see its epochs and "
                  f"images); at {untold} the data cannot tell")
    else:  # a trained net below rdsc is under-trained (see its epochs), not a verdict on the claim
        shrink = "the trained network here is the weaker one (see its epochs and images)"
    # names in italics, as verdict_final_layer's: they hold commas ("vgg16, trained 1
    # epoch"), which read as the sentence's own without them
    named = f"*{best['method']}*"
    if len(tied):
        # each tied network in its own words at top-2 (three tied at top-1, one
        # of them behind at top-2, once read "level with both at top-1 and top-2")
        level = tied[tied["top-2"] == best["top-2"]]["method"].tolist()
        behind = tied[tied["top-2"] != best["top-2"]]["method"].tolist()
        parts = []
        if level:
            parts.append(f"level with {listed([f'*{m}*' for m in level])} at top-1 and top-2")
        if behind:  # "ahead" is the best network's, not rdsc's
            parts.append(f"level with {listed([f'*{m}*' for m in behind])} at top-1 and "
                         f"ahead of {'it' if len(behind) == 1 else 'them'} at top-2")
        named += ", " + ", and ".join(parts)
    return (f"Against the best trained network here ({named}), rdsc is {said[0]} "
            f"and {said[1]}: {shrink}.")


def comparable_verdict(diff: float, noise: float) -> str:
    """The paper's "comparable" (rdsc against another method; ahead counts for it) read off
    ``diff`` ± ``noise`` (points, a 95% interval) with chapter 6's 5-point margin
    (:data:`rdsc.retrieval.EQUIVALENCE_MARGIN`; the paper gives none): ``supported`` when
    rdsc is at worst 5 points behind (the interval's low end above -5), ``contradicted``
    when behind by more (its high end below -5), else ``not shown``. Monotone in
    ``diff`` (two-sided words once called -4.0 ± 1.5 "not comparable" and
    +2 ± 3.5 "not shown")."""
    margin = 100 * EQUIVALENCE_MARGIN
    return ("supported" if diff - noise > -margin else
            "contradicted" if diff + noise < -margin else "not shown")


def _points(x: float) -> str:
    """``x`` points to one decimal, or to as many more (up to three) as keep it apart from
    the book's margin (5.04 once read "5.0 points behind, past the margin of 5")."""
    margin = 100 * EQUIVALENCE_MARGIN
    for digits in (1, 2, 3):
        if round(x, digits) != margin:
            return f"{x:.{digits}f}"
    return f"just {'under' if x < margin else 'over'} {margin:g}"


def verdict_pair(table: pd.DataFrame, ours: str, other: str, n_test: int,
                 claim: str | None = None) -> str:
    """``ours`` minus ``other`` at top-1, and whether it is within the test-set noise of
    such a difference or beyond it?

    Within noise: the difference is smaller than its test-set noise (:func:`noise_of`).
    ``claim``: the paper's word for ``ours`` against ``other`` on this dataset,
    ``"comparable"`` or ``"better"`` (:data:`rdsc.paper.UNSUPERVISED_CLAIM`), read from the
    same numbers, with the two feature dimensions (the difference once stood without a
    word on the claim, and "comparable" was read on every dataset, also where the
    paper says "better" or nothing). Comparable is :func:`comparable_verdict`; better
    needs the difference beyond the noise.
    """
    margin = f"{100 * EQUIVALENCE_MARGIN:g}"
    if claim not in (None, "comparable", "better"):
        raise ValueError(f"claim must be None, 'comparable' or 'better', got {claim!r}")
    t = table.set_index("method")
    a, b = t.loc[ours, "top-1"], t.loc[other, "top-1"]
    noise = noise_of(a, b, n_test, t.loc[other].get("noise top-1"))
    diff = a - b
    # the noise is the difference's, not the other method's
    where = "within" if abs(diff) <= noise else "beyond"
    shown, noise_shown = against_noise(diff, noise)
    said = f"{shown} points against {other}, {where} the test-set noise (±{noise_shown})"
    if claim is None:
        return said
    if claim == "comparable":
        worst, best = diff - noise, diff + noise
        book_margin = f"the book's margin of {margin} points"
        word = {"supported": "more than comparable at this size" if worst > 0 else
                             "comparable at this size, at worst level with it"
                             if round(worst, 1) == 0 else
                             f"comparable at this size, at worst {_points(-worst)} points "
                             f"behind, within {book_margin}",
                "contradicted": f"not comparable at this size, at least {_points(-best)} "
                                f"points behind, past {book_margin}",
                "not shown": f"comparability not shown at this size, as the interval ends "
                             f"at {book_margin}, which decides nothing"
                             if round(-worst, 3) == 100 * EQUIVALENCE_MARGIN else
                             # [-9, -5] is not shown for its upper end, on -5
                             f"comparability not shown at this size, as the interval's upper "
                             f"end sits on {book_margin}, which decides nothing"
                             if round(-best, 3) == 100 * EQUIVALENCE_MARGIN else
                             f"comparability not shown at this size, as the interval reaches "
                             f"{_points(-worst)} points behind, past {book_margin}"
                }[comparable_verdict(diff, noise)]
    else:
        word = ("better at this size" if where == "beyond" and diff > 0
                else "better not shown at this size, as no difference shows" if where == "within"
                else "not better at this size, behind beyond the noise")
    size = (f" (with {int(t.loc[other, 'dim']):,} features against "
            f"{'rdsc' if ours == RDSC else ours}'s "
            f"{int(t.loc[ours, 'dim']):,})"
            if "dim" in t and not t.loc[[ours, other], "dim"].isna().any() else "")
    return f"{said}: {word}{size}"


def _claim_category(table: pd.DataFrame, ours: str, other: str, n_test: int,
                    claim: str | None) -> str:
    """The category :func:`verdict_pair` words: "supported" / "contradicted" / "not shown"
    for "comparable", "better" / "not shown" / "not better" for "better", else whether
    the difference is "within" or "beyond" the test-set noise."""
    t = table.set_index("method")
    a, b = t.loc[ours, "top-1"], t.loc[other, "top-1"]
    noise = noise_of(a, b, n_test, t.loc[other].get("noise top-1"))
    diff = a - b
    if claim == "comparable":
        return comparable_verdict(diff, noise)
    if abs(diff) <= noise:
        return "not shown" if claim == "better" else "within"
    if claim == "better":
        return "better" if diff > 0 else "not better"
    return "beyond"


def chosen_c_reading(paper_table: pd.DataFrame, chosen_table: pd.DataFrame,
                     chosen_c: dict, grid, n_test: int, dataset: str) -> str:
    """rdsc minus k-means at top-1 with C chosen for each method on a validation split of
    its training images (``chosen_table``: :func:`rdsc.baselines.summary` of the rows
    :func:`rdsc.baselines.rdsc_rows` and :func:`~rdsc.baselines.unsupervised_rows` put in
    ``chosen``; ``chosen_c``: method -> its C), read as :func:`verdict_pair` reads the
    paper's C (``paper_table``), and whether the reading changes. An audit once moved
    rdsc minus k-means from -6.2 to -4.0 points, across the 5-point margin, by C alone."""
    methods = list(chosen_table["method"])
    kmeans = next((m for m in methods if m.startswith(KMEANS)), None)
    if RDSC not in methods or kmeans is None:
        return "not run"
    claim = UNSUPERVISED_CLAIM.get(dataset)
    grid = sorted(grid)

    def named(method: str) -> str:
        c = chosen_c[method]
        edge = " (the grid's edge)" if c in (grid[0], grid[-1]) else ""
        # short names: the methods' own hold commas ("random filters, same pipeline")
        short = next((name for prefix, name in ((RDSC, "rdsc"), (KMEANS, "k-means"),
                                                (RANDOM_FILTERS, "random filters"))
                      if method.startswith(prefix)), method)
        return f"{c:g} for {short}{edge}"
    cs = listed([named(m) for m in methods if m in chosen_c])
    said = verdict_pair(chosen_table, RDSC, kmeans, n_test, claim)
    before = _claim_category(paper_table, RDSC, kmeans, n_test, claim)
    after = _claim_category(chosen_table, RDSC, kmeans, n_test, claim)
    words = {"supported": "comparable", "contradicted": "not comparable",
             "not shown": "comparability not shown" if claim == "comparable" else
             "better not shown", "better": "better", "not better": "not better",
             "within": "within the noise", "beyond": "beyond the noise"}
    same = (f"The reading is the one the paper's C gives ({words[after]})." if before == after
            else f"The reading differs from the one with the paper's C ({words[before]} "
            f"there, {words[after]} here): the verdict above rests on the choice of C.")
    return f"with C = {cs}, rdsc minus k-means features at top-1: {said}. {same}"


def verdicts(table: pd.DataFrame, n_test: int, dataset: str) -> dict[str, str]:
    """The chapter's sentences for ``dataset``'s :func:`rdsc.baselines.summary` table,
    each computed from its numbers: ``final`` (final-layer-only nets), ``kmeans`` (read
    against the paper's claim on that dataset, if it makes one) and ``random_filters``
    (unsupervised), ``scattering`` and ``rcf`` (peers), ``trained``. A method that did not
    run gets "not run"."""
    methods = list(table["method"])

    def pair(prefix: str, claim: str | None = None) -> str:
        name = next((m for m in methods if m.startswith(prefix)), None)
        return verdict_pair(table, RDSC, name, n_test, claim) if name else "not run"
    final = compare(table, RDSC, "random deep net, final layer")
    return {"final": verdict_final_layer(final, n_test,
                                         table.set_index("method").loc[RDSC, "top-1"]),
            "kmeans": pair(KMEANS, UNSUPERVISED_CLAIM.get(dataset)),
            "random_filters": pair(RANDOM_FILTERS),
            "scattering": pair(SCATTERING), "rcf": pair(RCF_NAME),
            "trained": verdict_trained(table, RDSC, n_test=n_test)}
