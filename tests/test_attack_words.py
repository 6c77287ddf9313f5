"""Chapter 7's sentences and verdicts (:mod:`rdsc.attack_words`): each rule, each branch."""
import re

import numpy as np
import pandas as pd
import pytest
import torch

from rdsc import attack_words
from rdsc.attacks import AttackResult


def hsj_result(linf, history=None):
    """An HopSkipJump L-inf result with these minimal distances (and per-query history)."""
    linf = np.asarray(linf, dtype=float)
    history = np.zeros((0, len(linf))) if history is None else np.asarray(history, float)
    return AttackResult("hsj-linf", 100, 100, 1.0, linf * 3, linf, torch.zeros(1),
                        torch.zeros(1), history * 3, history)


def test_label_only_reading_reads_the_clopper_pearson_interval():
    eps = 0.0625
    # 15 of 20 fooled: the interval's low end (0.51) is at or above one half
    assert attack_words.label_only_reading(hsj_result([0.01] * 15 + [np.inf] * 5), eps) == (
        "a missing gradient is no defence (at least half of such images fall, at 95% "
        "confidence)")
    # 10 of 20: the share is one half, its interval is not above it
    ten = attack_words.label_only_reading(hsj_result([0.01] * 10 + [np.inf] * 10), eps)
    assert ten == ("the attack succeeds on some images at this budget, but these 20 images "
                   "do not show that at least half of such images fall (95% interval 27% "
                   "to 73%)")
    assert attack_words.label_only_reading(hsj_result([np.inf] * 20), eps) == (
        "this run does not show the claim with a label-only attack")
    # the history: 4 queries; 2 fooled after 2 queries, 3 at the end
    history = [[np.inf] * 4, [0.01, 0.02, np.inf, np.inf], [0.01, 0.02, np.inf, np.inf],
               [0.01, 0.02, 0.03, np.inf]]
    grew = attack_words.label_only_reading(hsj_result(history[-1], history), eps)
    # "had not levelled off" was once read into one image
    assert "(2 of 4 images after half the queries, 3 at the end: the second half still " \
           "fooled 1 more)" in grew
    flat = attack_words.label_only_reading(hsj_result(history[1], history[:2] * 2), eps)
    assert "2 at the end: none more in the second half)" in flat
    with pytest.raises(ValueError, match="at least one image"):
        attack_words.label_only_reading(hsj_result([]), eps)


def test_direction_reading_says_not_a_test_when_the_step_was_not_aimed():
    assert attack_words.direction_reading(0.01, False, 0.1, 0.1, 500).startswith(
        "more than random signs")  # a cost beyond the control counts, aimed or not
    assert attack_words.direction_reading(-0.01, True, 0.4, 0.1, 500) == (
        "no more than random signs of the same size do, within this run's uncertainty")
    assert attack_words.direction_reading(-0.01, False, 0.12, 0.11, 1000).endswith(
        "on 12.0% of the 1,000 held-out images, not shown to be above the 11.0% that chance "
        "gives two "
        "predictors with their class shares, so the transferred step was not aimed")


def test_noise_reading_calls_the_noise_large_only_when_its_interval_excludes_0():
    assert attack_words.noise_reading(9.5, 7.25, 11.75) == (
        "a step of that size is large, for random signs alone cost the random network 9.5 "
        "points of accuracy (95% interval 7.2 to 11.8); perhaps because its features "
        "count patches on each side of hyperplanes, and noise moves patches across them")
    # the trained CNN lost as much (11.6 against 11.7): no explanation by
    # hyperplanes, then
    same = attack_words.noise_reading(11.7, 9.7, 13.7, trained=(11.6, 9.6, 13.5),
                                      versus=(0.1, -1.5, 1.7))
    assert same.endswith("and the trained CNN 11.6 points (95% interval 9.6 to 13.5); the "
                         "two costs are not told apart (the paired 95% interval of the "
                         "difference, -1.5 to +1.7 points, holds 0), so this run does not "
                         "show the random features more sensitive to noise than the CNN")
    assert "hyperplanes" not in same
    more = attack_words.noise_reading(11.7, 9.7, 13.7, trained=(3.0, 1.0, 5.0))
    assert "more than they cost the trained CNN 3.0" in more and "hyperplanes" in more
    assert "moves the CNN more" in attack_words.noise_reading(3.0, 1.0, 5.0,
                                                               trained=(9.0, 7.0, 11.0))
    # both models fell to chance under random signs (39 -> 11%, 28.5 -> 8%);
    # the random network's larger cost was once put down to its hyperplanes
    floored = attack_words.noise_reading(
        28.0, 20.0, 36.0, trained=(20.5, 13.0, 28.0), versus=(7.5, 1.0, 14.0),
        at_chance_after=["the random network", "the trained CNN"])
    assert floored == (
        "a step of that size is large, for random signs alone cost the random network 28.0 "
        "points of accuracy (95% interval 20.0 to 36.0); with random signs the random "
        "network and the trained CNN were at chance, where a cost is capped by the "
        "accuracy there was to lose, so the costs are not compared here")
    # overlapping intervals, the CNN's holding 0, once read as "moves either model"
    small = attack_words.noise_reading(7.5, 1.5, 13.5, trained=(3.5, -3.1, 10.1))
    assert "moves either model" not in small and "hyperplanes" not in small
    assert ("the trained CNN 3.5 points (95% interval -3.1 to 10.1, not distinguishable "
            "from nothing); the two costs are not told apart (their intervals overlap)"
            in small)
    # the paired difference decides where given: overlapping intervals, a clear difference
    paired = attack_words.noise_reading(7.5, 1.5, 13.5, trained=(3.5, -3.1, 10.1),
                                        versus=(4.0, 1.0, 7.0))
    assert "more than they cost the trained CNN" in paired and "hyperplanes" in paired
    # no "-0.0" for a cost that rounds to 0
    tiny = attack_words.noise_reading(4.0, 0.1, 8.0, trained=(0.02, -0.01, 0.03))
    assert not re.search(r"-0\.0(?![0-9])", tiny) and "interval -0.01 to 0.03" in tiny
    with pytest.raises(ValueError, match="low <= high"):
        attack_words.noise_reading(10, 15, 5, trained=(2, 1, 3))
    with pytest.raises(ValueError, match="the CNN's cost"):
        attack_words.noise_reading(10, 5, 15, trained=(float("nan"),) * 3)
    assert attack_words.noise_reading(0.5, -1.0, 2.0) == (
        "in this run random signs of that size cost the random network +0.5 points of "
        "accuracy (95% interval -1.0 to +2.0), not distinguishable from nothing")
    # at chance, the direction's sentence says the control tests nothing, and
    # the next one once read the control as a finding
    at_chance = attack_words.noise_reading(3.5, 1.2, 5.8, target_above_chance=False)
    assert at_chance == ("not read here, as the network is at chance (random signs changed "
                         "its accuracy by -3.5 points, 95% interval -5.8 to -1.2)")
    assert attack_words.NOT_A_TEST not in at_chance  # said in the sentence before


def test_drift_reading_counts_only_substitutes_that_were_above_chance():
    def rounds(name, agreement, chance=0.1):
        return [{"target": name, "round": r, "agreement": a, "holdout_chance": chance}
                for r, a in enumerate(agreement)]
    fell = pd.DataFrame(rounds("CNN", [40, 55, 50]) + rounds("net", [30, 30.5, 30]))
    assert attack_words.drift_reading(fell, 1000, 10) == (
        "a possible reason why the last round agrees less than the best round for the CNN")
    both = pd.DataFrame(rounds("CNN", [40, 55, 50]) + rounds("net", [30, 40, 30]))
    assert attack_words.drift_reading(both, 1000, 10).endswith("for the CNN and the net")
    # its best round (12% of 100 images) was not above its 10% chance: nothing to lose
    at_chance = pd.DataFrame(rounds("net", [12, 1]))
    said = attack_words.drift_reading(at_chance, 100, 10)
    assert said.startswith(
        "in this run no substitute that agreed with its target above chance lost")
    # the fall of 11 points is named, with why it does not count
    assert "(the net's substitute lost more, but never agreed with its target above " \
        "chance, so it had no agreement to lose)" in said
    assert "never agreed" not in attack_words.drift_reading(
        pd.DataFrame(rounds("net", [30, 30.5, 30])), 1000, 10)
    # results saved before the chance column: 1 / n_classes
    old = pd.DataFrame(rounds("CNN", [40, 55, 50])).drop(columns="holdout_chance")
    assert attack_words.drift_reading(old, 1000, 10).startswith("a possible reason")


def test_agreement_trend_says_rose_fell_or_stayed():
    assert attack_words.agreement_trend("CNN", [40.2, 55.0, 61.4]) == (
        "for the CNN it rose from 40% after round 0 to 61% after the last")
    assert "fell from 60% after round 0 to 30%" in attack_words.agreement_trend("net", [60, 30])
    assert attack_words.agreement_trend("net", [50.2, 49.9]) == (
        "for the net it was 50% after round 0 and again after the last")
    # not "stayed" of a substitute that doubled its agreement and lost it again
    assert "stayed" not in attack_words.agreement_trend("net", [30.0, 60.0, 30.4], 1000)
    # not "fell" from two smoke rounds on a handful of images
    few = attack_words.agreement_trend("net", [60, 30], n_images=10)
    assert few == ("for the net it went from 60% after round 0 to 30% after the last, within "
                   "the noise of 10 images (±42)")
    assert "fell from 60%" in attack_words.agreement_trend("net", [60, 30], n_images=2000)


def test_the_table_beside_the_paper_reads_intervals():
    # "39.0% → 35.0%" stood beside the paper's "yes" with no interval, and
    # "supported" needed half the images fooled, however few were attacked
    linf = np.array([0.01, 0.02, 0.5, np.inf] * 5)              # 10 of 20 within 0.0625
    hsj = AttackResult("hsj-linf", 100, 100, 1.0, linf * 3, linf, torch.zeros(1),
                               torch.zeros(1), np.zeros((0, 20)), np.zeros((0, 20)))
    correct = {"clean": np.array([1] * 80 + [0] * 20), "FGSM transfer": np.array(
        [1] * 60 + [0] * 40)}
    rows = {r["question"]: r["this book"] for r in attack_words.paper_comparison(
        hsj, 0.0625, correct, beyond_low=-0.01, aimed=False, pgd_moved=0.0)}
    assert rows["label-only attack (HopSkipJump L-inf) within ε = 0.0625"] == (
        "10 of 20 images fooled (95% interval 27% to 73%)")
    # the whole interval, the paired normal one (a bootstrap gave another)
    assert rows["transferred FGSM lowers the random network's accuracy"] == (
        "80.0% → 60.0% (drop +20.0 points, 95% interval +11.1 to +28.9)")
    assert rows["... by more than random signs of the same size"] == (
        "not tested (substitute at chance)")
    assert rows["the claim: a black-box attack fools the random network"] == "partly supported"
    assert rows["gradient attack (PGD) moves the random network's inputs"] == "no"
    # a target at chance once made only the claim's row say "not tested"; the rows
    # on what the attacks did to it read as findings
    idle = {r["question"]: r["this book"] for r in attack_words.paper_comparison(
        hsj, 0.0625, correct, beyond_low=0.05, aimed=True, pgd_moved=0.0,
        target_above_chance=False)}
    note = " (not a test: the random network at chance on clean images)"
    assert idle["label-only attack (HopSkipJump L-inf) within ε = 0.0625"] == (
        "10 of 20 images fooled (95% interval 27% to 73%)" + note)
    assert idle["transferred FGSM lowers the random network's accuracy"].endswith(
        "+28.9)" + note)
    assert idle["... by more than random signs of the same size"] == (
        attack_words.TARGET_AT_CHANCE)
    assert idle["gradient attack (PGD) moves the random network's inputs"] == "no"
    assert idle["the claim: a black-box attack fools the random network"] == (
        attack_words.TARGET_AT_CHANCE)
    # and the closing sentences: neither the label-only share nor the drop is read
    said = attack_words.label_only_reading(hsj, 0.0625, target_above_chance=False)
    assert said.startswith("that is not a test of the claim: the random network is at "
                           "chance on clean images") and "fall" not in said
    said = attack_words.direction_reading(0.05, True, 0.6, 0.1, 100,
                                          target_above_chance=False)
    assert said.startswith("in name only") and "more than random signs" not in said


def test_results_saved_without_a_count_take_the_share_itself():
    # chapter 7 results written before the number of images was passed
    assert attack_words.claim_verdict(0.5, None) == "supported"
    assert attack_words.claim_verdict(0.49, None) == "partly supported"


def test_a_difference_interval_ending_at_exactly_zero_is_no_evidence():
    # FGSM and random signs get the same images right: the difference's low end is 0.0
    from rdsc.intervals import paired_normal_difference
    same = np.array([1, 0, 1, 1, 0, 1])
    # continuity-corrected: no image differs, the interval is ±1/N around 0
    assert paired_normal_difference(same, same) == (0.0, -1 / 6, 1 / 6)
    low = 0.0  # an interval that ends at exactly 0
    assert attack_words.claim_verdict(0.0, low, 20) == "not shown"
    assert attack_words.direction_reading(low, True, 0.4, 0.1, 500).startswith("no more than")


def test_a_fall_in_agreement_is_read_as_drift_only_beyond_the_noise():
    """49.2% → 47.1% on 1,000 held-out images was once explained as drift, beside a
    clause that reads a change of that size as noise (±4.4 points)."""
    def rows(agreement):
        return pd.DataFrame([{"target": "CNN", "round": r, "agreement": a,
                              "holdout_chance": 0.1} for r, a in enumerate(agreement)])
    said = attack_words.drift_reading(rows([31.6, 34.4, 46.4, 46.9, 49.2, 47.1]), 1000, 10)
    assert said == ("in this run no substitute that agreed with its target above chance "
                    "lost agreement from its best round to the last beyond the noise of "
                    "1,000 held-out images, so no such cost showed")
    assert attack_words.drift_reading(rows([40, 55, 50]), 1000, 10).startswith(
        "a possible reason")
    assert attack_words.drift_reading(rows([40, 55, 53]), 10_000, 10).startswith(
        "a possible reason")


def test_no_gradient_and_no_move_says_pgd_stayed():
    assert attack_words.gradient_reading(0.0, 0.0, 16).endswith(
        "PGD ends where it started: its step is ε times the sign of a zero gradient.")


def test_probe_z2_shares_and_percents_are_not_confused():
    with pytest.raises(ValueError, match="look like fractions"):  # "rose from 0% to 1%"
        attack_words.agreement_trend("x", [0.3, 0.6])
    with pytest.raises(ValueError, match="share of images"):  # 30% read as supported
        attack_words.claim_verdict(30.0, None)
    with pytest.raises(ValueError, match="share of images"):
        attack_words.claim_verdict(float("nan"), None, 10)


def test_a_median_no_image_reached_is_said_in_words():
    """Not "the medians are inf/255 and inf/255"."""
    from rdsc.attack_words import median_words
    assert median_words(0.5) == "0.50" and median_words(2 / 255, linf=True) == "2.0/255"
    assert median_words(float("inf"), linf=True).startswith("not reached (half of the images")
    # two of four fooled: numpy's median is inf (the mean of a distance and inf)
    import numpy as np
    assert median_words(float(np.median([0.1, 0.2, np.inf, np.inf]))).startswith("not reached")


def test_a_difficulty_ratio_whose_interval_holds_1_is_not_distinguishable():
    """The ratio in place of its interval's low end once passed these tests."""
    d = {"ratio": 1.5, "low": 0.8, "high": 2.5, "larger": 6, "images": 10,
         "target_only": 0, "reference_only": 0}
    assert attack_words.difficulty_reading(d).endswith("not distinguishable between the random "
                                                       "network and the CNN at this size")


def _comparison(pgd_moved=0.0):
    """The paper comparison of a run where HopSkipJump fooled none of 20 images and the
    transferred FGSM took the accuracy from 80% to 60%."""
    from rdsc import attacks
    linf = np.full(20, np.inf)
    hsj = attacks.AttackResult("hsj-linf", 100, 100, 1.0, linf, linf, torch.zeros(1),
                               torch.zeros(1), np.zeros((0, 20)), np.zeros((0, 20)))
    correct = {"clean": np.array([1] * 80 + [0] * 20),
               "FGSM transfer": np.array([1] * 60 + [0] * 40)}
    return attack_words.paper_comparison(hsj, 0.0625, correct, beyond_low=0.02, aimed=True,
                                         pgd_moved=pgd_moved)


def test_the_claim_row_reads_the_transfer_attacks_interval():
    """beyond_low dropped from the claim's verdict once passed these tests."""
    rows = {r["question"]: r["this book"] for r in _comparison()}
    assert rows["the claim: a black-box attack fools the random network"] == "supported"


def test_the_paper_column_states_only_what_the_paper_did():
    """Once "no (no gradient)" for a gradient attack the paper never ran, and "yes,
    as for trained networks" for an outcome on trained networks no number backs."""
    paper = {r["question"]: r["paper"] for r in _comparison()}
    assert paper["gradient attack (PGD) moves the random network's inputs"].startswith(
        "not run")
    assert "as for" not in paper["transferred FGSM lowers the random network's accuracy"]


def test_any_pgd_move_counts_as_a_move():
    """A move below 1e-3 read as no move once passed these tests."""
    for moved, said in ((0.0, "no"), (1e-4, "yes")):
        rows = _comparison(moved)
        assert rows[0]["question"].startswith("gradient attack (PGD) moves")
        assert rows[0]["this book"] == said


def test_a_target_at_chance_is_not_tested():
    """With one feature the random network was right on 10.0% of CIFAR-10 (one
    class for 97% of the images), and the chapter once read it as harder to fool than the CNN."""
    from rdsc import headlines
    from rdsc.attack_words import TARGET_AT_CHANCE, at_chance_reading, claim_verdict
    from rdsc.intervals import above_chance
    assert not above_chance(50, 500, 10) and not above_chance(60, 500, 10)  # 12%: low 9.3%
    assert above_chance(70, 500, 10) and above_chance(187, 500, 10)
    with pytest.raises(ValueError, match="n_classes"):
        above_chance(5, 10, 1)
    assert claim_verdict(1.0, 0.2, 20, target_above_chance=False) == TARGET_AT_CHANCE
    assert at_chance_reading([], 10) == ""
    said = at_chance_reading(["random network + SVM"], 10)
    assert said.startswith("The random network + SVM is at chance on clean images (the 95% "
                           "interval of the accuracy reaches 10%)")
    assert said.endswith('and the claim\'s verdict reads "not tested".')
    assert at_chance_reading(["trained CNN"], 10).endswith("test nothing on it.")
    assert "are at chance" in at_chance_reading(["random network + SVM", "trained CNN"], 10)
    attack = {"epsilon": 0.0625, "k": 1, "n_test": 500, "n_classes": 10,
              "test_accuracy": {"random network + SVM": 0.1, "trained CNN": 0.3},
              "transfer": [{"target": "random network + SVM",
                            "target accuracy, clean (%)": 10.0,
                            "target accuracy, FGSM transfer (%)": 10.0}],
              "minimal_perturbations": {"random network + SVM | hsj-linf": {
                  "linf": [0.01, 0.02, 0.03, 0.04]}}}
    assert headlines.attack(attack).startswith(TARGET_AT_CHANCE + ": FGSM")
    attack["test_accuracy"]["random network + SVM"] = 0.374
    assert headlines.attack(attack).startswith("partly supported: FGSM")
    del attack["n_test"]  # results saved before the count: read as before
    assert headlines.attack(attack).startswith("partly supported")


def test_the_two_targets_are_compared_only_when_both_classify():
    """The chapter's fallback sentence once lived in a code cell, untested."""
    r, c = np.array([0.02, 0.03, 0.05, 0.04, 0.06, 0.02]), np.full(6, 0.01)
    # compared with the function's own body, swapped arguments once passed
    # ratios 2, 2, 3, 4, 5, 6: the median is the geometric mean of 3 and 4
    assert attack_words.hsj_comparison(r, c, True).startswith(
        "per image, the random network's smallest perturbation found over the CNN's has "
        "median "
        "3.46 (95% bootstrap interval ")
    assert attack_words.hsj_comparison(r, c, True).endswith(
        "over 6 images; larger on 6 of them): the attack needs larger perturbations to "
        "fool the random network than the CNN")
    assert "median 0.29" in attack_words.hsj_comparison(c, r, True)
    assert attack_words.hsj_comparison(r, c, False).startswith(
        "the two models' perturbations are not compared")


def test_progress_over_the_second_half_says_when_the_attack_stalled_on_one_model():
    """HopSkipJump was flat on the random network from about 250 queries and still
    closing in on the CNN; the chapter once read the ratio of distances as 'harder to fool'."""
    def result(start, end, queries=10, images=7):
        # the smallest distance found falls linearly from start to end on every image but
        # the last, which found nothing until the last query
        steps = np.linspace(0, 1, queries)[:, None]
        history = start + (end - start) * steps * np.ones((1, images))
        history[:-1, -1] = np.inf
        return AttackResult("hsj-linf", queries, queries, 1.0, history[-1], history[-1],
                            torch.zeros(1), torch.zeros(1), history, history)
    flat, falling = result(0.10, 0.095), result(0.10, 0.04)
    fall, n = flat.late_fall()
    # at half the queries (row 4 of 10) the distance is 0.1 - 0.005 * 4/9; at the end 0.095
    assert n == 6 and fall == pytest.approx(1 - 0.095 / (0.1 - 0.005 * 4 / 9))
    said = attack_words.progress_reading(flat.late_fall(), falling.late_fall())
    assert said == ("Over the second half of the budget each image's smallest perturbation "
                    "found fell by a median 2.8% on the random network (6 images with an "
                    "adversarial by "
                    "then), and fell by a median 45% on the CNN (6 images): the attack had nearly "
                    "stopped closing in on the random network while still closing in on the "
                    "CNN, so the comparison above measures how far this attack got within "
                    "this budget as much as how robust the models are. These are medians over "
                    "images of each image's own fall; the median curve against queries "
                    "follows no single image, and can fall further.")
    # a median of exactly 0 (the quick run's random network) and one below 0.5%
    stalled = result(0.10, 0.10)
    assert stalled.late_fall() == (0.0, 6)
    assert attack_words.progress_reading(stalled.late_fall(), falling.late_fall()).startswith(
        "Over the second half of the budget each image's smallest perturbation found did not "
        "fall at all on the random network for at least half of its 6 images with an "
        "adversarial by "
        "then (a median fall of 0), and fell by a median 45% on the CNN (6 images): the attack "
        "had nearly stopped")
    assert "by a median under 0.1% on the random network" in attack_words.progress_reading(
        (0.0004, 20), falling.late_fall())
    assert "by a median 0.5% on the random network" in attack_words.progress_reading(
        (0.005, 20), (0.3, 20))  # it once printed "0%" (0.5 rounds to even)
    # two falls printed alike once got opposite words; the words now read the
    # printed value (4.96% prints 5.0%, no stop; 4.94% prints 4.9%, a stop)
    for fall, shown, stop in ((0.0496, "5.0%", False), (0.0504, "5.0%", False),
                              (0.0494, "4.9%", True), (0.04996, "5.0%", False)):
        said = attack_words.progress_reading((fall, 20), (0.3, 20))
        assert f"by a median {shown} on the random network" in said, fall
        assert ("nearly stopped" in said) == stop, fall
    # the same at "half as fast": 19.6% prints 20%, half of 40%, so no pace caveat; both
    # still closing in is said (the sentence once stopped without its reading)
    assert attack_words.progress_reading((0.196, 20), (0.4, 20)).endswith(
        "(20 images): the attack was still closing in on both, so the perturbations compared "
        "above are what this budget reached on each, not the smallest that exist. These are "
        "medians over images of each image's own fall; the median curve against queries "
        "follows no single image, and can fall further.")
    assert attack_words.progress_reading((0.25, 4), (0.33, 4)).endswith(
        "(4 images). These are medians over images of each image's own fall; the median "
        "curve against queries follows no single image, and can fall further.")
    # not "did not fall at all ... for at least half of its 1 image"
    assert ("did not fall at all on the random network for its one image with an "
            "adversarial by then,") in attack_words.progress_reading((0.0, 1), (0.3, 1))
    # one decimal up to 9.9%, whole percents from 10%
    assert "by a median 9.9% on" in attack_words.progress_reading((0.0994, 20), (0.3, 20))
    assert "by a median 10% on" in attack_words.progress_reading((0.0996, 20), (0.3, 20))
    assert "nearly stopped" not in attack_words.progress_reading(falling.late_fall(),
                                                                 falling.late_fall())
    # stalled on the CNN is the same caveat, the other way round
    assert attack_words.progress_reading(falling.late_fall(), flat.late_fall()).endswith(
        ": the attack had nearly stopped closing in on the CNN while still closing in on the "
        "random network, so the comparison above measures how far this attack got within "
        "this budget as much as how robust the models are. These are medians over images "
        "of each image's own fall; the median curve against queries follows "
        "no single image, and "
        "can fall further.")
    # near-equal falls, falls too small to be "still closing in" and too few
    # images are no caveat (0% against 0.4% once read "still closing in on the CNN")
    for quiet in (((0.40, 20), (0.45, 20)), ((0.0, 20), (0.004, 20)), ((0.0, 20), (0.0, 20)),
                  ((0.001, 3), (0.5, 1)), ((0.0, 5), (0.5, 20))):
        assert "nearly stopped" not in attack_words.progress_reading(*quiet), quiet
    assert "nearly stopped" in attack_words.progress_reading((0.0, 6), (0.05, 6))
    # a 30% or a 5% fall is no stop, though under half the other model's
    for pair in (((0.30, 20), (0.70, 20)), ((0.05, 20), (0.12, 20))):
        said = attack_words.progress_reading(*pair)
        assert "nearly stopped" not in said and (
            ": the attack was still closing in on both, on the random network less than half "
            "as fast as on the CNN, so the comparison above measures how far this attack got "
            "within this budget as much as how robust the models are.") in said, pair
    assert "nearly stopped closing in on the random network" in (
        attack_words.progress_reading((0.049, 20), (0.12, 20)))
    empty = AttackResult("hsj-linf", 10, 10, 1.0, np.full(3, np.inf), np.full(3, np.inf),
                         torch.zeros(1), torch.zeros(1), np.zeros((0, 3)), np.zeros((0, 3)))
    assert empty.late_fall()[1] == 0
    assert attack_words.progress_reading(empty.late_fall(), falling.late_fall()).startswith(
        "The attack's histories do not show its progress")


def test_a_handful_of_images_is_no_evidence_for_the_attack_claim():
    """4 of 200 images lost to the transferred step, all one way, once read
    'supported' (the normal interval +0.1 to +3.9; the exact paired test gives p = 0.125);
    the continuity-corrected interval holds 0, as the exact test says."""
    from rdsc.intervals import paired_exact_p, paired_normal_difference
    signs = np.ones(200, bool)
    fgsm = signs.copy()
    fgsm[:4] = False
    low = paired_normal_difference(signs, fgsm)[1]
    assert low < 0 and paired_exact_p(signs, fgsm) > 0.05
    assert attack_words.claim_verdict(0.0, low, 4) != "supported"
    fgsm[:12] = False  # 12 images, all one way: p = 0.0005, and the interval excludes 0
    assert paired_normal_difference(signs, fgsm)[1] > 0 and paired_exact_p(signs, fgsm) < 0.05


def test_random_signs_that_raise_accuracy_say_so():
    """An interval of -8 to -2 points once read "not distinguishable from nothing"."""
    said = attack_words.noise_reading(-5.0, -8.0, -2.0)
    assert "raised the random network's accuracy by 5.0 points (95% interval 2.0 to 8.0)" \
        in said and "not distinguishable" not in said


def test_a_difficulty_verdict_needs_the_sign_test_too():
    """Once 'larger on 14 of 20 images' read "needs larger perturbations" from the
    bootstrap interval of the median, where the sign test gives p = 0.115."""
    d = {"ratio": 1.39, "low": 1.11, "high": 1.55, "larger": 14, "smaller": 6, "images": 20}
    said = attack_words.difficulty_reading(d, "the random network", "the CNN")
    assert "not distinguishable" in said and "sign test on the 20 images that differ " \
        "gives p = 0.12" in said, said
    d.update(larger=17, smaller=3)  # p = 0.0026
    assert attack_words.difficulty_reading(d, "the random network", "the CNN").endswith(
        "needs larger perturbations to fool the random network than the CNN")


def test_rounds_on_the_same_held_out_images_are_compared_paired():
    """Agreements of two rounds on the same held-out images were once read with the
    noise of two independent accuracies: 40 images gained and none lost (p = 1.8e-12) read
    "within the noise (±4)", and a switch between one-class answers (112 gained, 84 lost,
    p = 0.054) read "rose"."""
    n = 1000
    r0 = np.zeros(n, bool)
    r0[:400] = True
    r1 = r0.copy()
    r1[400:440] = True
    said = attack_words.agreement_trend("net", [40.0, 44.0], n_images=n, agreed=[r0, r1])
    assert said == ("for the net it rose from 40.0% after round 0 to 44.0% after the last, "
                    "beyond the noise of this change on the same 1,000 held-out images (40 "
                    "of them agreeing in one of the two rounds only; exact paired test "
                    "p = 1.8e-12)")
    assert "within the noise of 1,000 images" in attack_words.agreement_trend(
        "net", [40.0, 44.0], n_images=n)              # the unpaired bound, as before
    m = 280
    a0 = np.zeros(m, bool)
    a0[:84] = True
    a1 = np.zeros(m, bool)
    a1[84:196] = True
    said = attack_words.agreement_trend("net", [30.0, 40.0], n_images=m, agreed=[a0, a1])
    assert "within the noise of this change" in said and "p = 0.054" in said
    with pytest.raises(ValueError, match="not the same round"):
        attack_words.agreement_trend("net", [41.0, 44.0], agreed=[r0, r1])
    with pytest.raises(ValueError, match="equally long"):
        attack_words.agreement_trend("net", [40.0, 44.0], agreed=[r0, r1[:10]])
    with pytest.raises(ValueError, match="NaN"):
        attack_words.agreement_trend("net", [float("nan"), 40.0], 100)
    # drift: best round 63.9%, last 60.4%, 75 gained and 110 lost: p = 0.012, a fall
    best = np.zeros(n, bool)
    best[:639] = True
    last = best.copy()
    last[:110] = False
    last[639:714] = True
    first = np.zeros(n, bool)
    first[:335] = True
    rounds = pd.DataFrame({"target": ["net"] * 3, "round": [0, 1, 2],
                           "agreement": [33.5, 63.9, 60.4], "holdout_chance": [0.12] * 3})
    assert attack_words.drift_reading(rounds, n, 10).startswith("in this run no substitute")
    assert attack_words.drift_reading(rounds, n, 10, agreed={
        "net": [first, best, last]}).startswith("a possible reason why")
    rounds.loc[1, "agreement"] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        attack_words.drift_reading(rounds, n, 10)


def test_a_difficulty_ratio_near_1_is_printed_apart_from_1():
    """Not "median 1.00 (interval 1.00 to 1.01): needs larger perturbations"."""
    said = attack_words.difficulty_reading({"ratio": 1.004, "low": 1.001, "high": 1.009,
                                            "larger": 18, "smaller": 2, "images": 20})
    assert "median 1.004 (95% bootstrap interval 1.001 to 1.01" in said
    assert "1.00 to" not in said


def test_the_agreement_sentence_says_each_end_s_chance_level():
    """A round-0 substitute at exactly its chance level (17.5%) once read as
    one that agreed and then lost its agreement."""
    r0 = np.zeros(280, bool)
    r0[:49] = True
    r1 = np.zeros(280, bool)
    r1[:36] = True
    said = attack_words.agreement_trend("net", [17.5, 100 * 36 / 280], n_images=280,
                                        agreed=[r0, r1], chance=[0.175, 0.124])
    assert said.startswith("for the net it fell from 17.5% after round 0 (chance 17.5%) to "
                           "12.9% after the last (chance 12.4%), beyond the noise")
    with pytest.raises(ValueError, match="chance"):
        attack_words.agreement_trend("net", [17.5, 12.9], chance=[17.5, 12.4])


def test_a_deep_target_is_the_baselines_network_only_at_the_authors_epochs():
    """A ResNet18 trained for 1 or 3 epochs was once called "as in the baselines
    chapter", and the chapter's seed, which it does not use, was not said to be unused."""
    assert attack_words.trained_target_words("small", 1, 0, 300) == (
        "the small CNN of `rdsc.cnn`")
    assert attack_words.trained_target_words("resnet18", 300, 0, 300) == (
        "the resnet18 of `rdsc.deepnets`, trained for 300 epochs with the baselines' shared "
        "seed 0 (not this chapter's `seed`), the authors' recipe, as in the baselines "
        "chapter")
    short = attack_words.trained_target_words("vgg16", 3, 0, 300)
    assert short.endswith("trained for 3 epochs with the baselines' shared seed 0 (not this "
                          "chapter's `seed`), against the 300 of the authors' recipe (the "
                          "`paper` profile's): a less trained target than theirs")
    assert "as in the baselines chapter" not in short


def test_the_jacobian_step_and_cap_are_named_against_the_authors_code():
    """λ was once written 0.1 in the text beside the authors' code's 0.0625, and the set's
    cap went unsaid: both are now said against rdsc.paper.AUTHORS_ATTACK."""
    assert attack_words.step_words(0.0625).startswith("λ = 0.0625, as in the authors'")
    assert attack_words.step_words(0.1) == "λ = 0.1, not the authors' 0.0625"
    assert attack_words.step_words(0.0625000001).startswith("λ = 0.0625000001, not")
    assert attack_words.cap_words(6400).startswith("as the authors' code does")
    assert "stays at 6,400" in attack_words.cap_words(6400)
    assert attack_words.cap_words(None).startswith("this run does not cap it")
    assert attack_words.cap_words(1000).startswith("this run caps it at 1,000 points, not")
    # 200 seeds, 6 rounds: sets of 200 to 6,400, none replaced (once read as if they were)
    assert attack_words.first_replaced_round(6400, 200, 6) is None
    assert attack_words.cap_words(6400, 200, 6).endswith(
        "; with 200 seed images and 6 rounds the set reaches at most 6,400 points, so the "
        "cap never acts in this run")
    assert attack_words.cap_nearness(6400, 200, 6).endswith(
        "though this run never reaches it")
    # the paper's 10 rounds: round 6 is the first trained on new points alone
    assert attack_words.first_replaced_round(6400, 200, 10) == 6
    assert attack_words.cap_words(6400, 200, 10).endswith(
        "it acts from round 6 of this run's 10 (counted from 0)")
    assert attack_words.cap_nearness(6400, 200, 10) == (
        "the authors' cap keeps the set's size but not its nearness: from round 6 on, each "
        "round of this run trains on new points alone")
    assert attack_words.cap_nearness(None, 200, 10).endswith("(this run has no cap)")


def test_the_authors_attack_is_told_apart_from_this_run():
    said = attack_words.authors_attack_words(
        k=2000, kernel_size=5, n_blocks=1, n_seeds=200, rounds=6, step=0.0625,
        substitute_epochs=5, max_set=6400)
    assert said.startswith("it attacked STL-10's test images")
    assert "k = 1,000 (this run: K = 5, L = 1 and k = 2,000)" in said
    assert "10 rounds (this run: 6) and 20 epochs a round (this run: 5)" in said
    assert said.endswith("this run shares its 200 seed images, λ = 0.0625 and the cap of "
                         "6,400 points")
    same = attack_words.authors_attack_words(
        k=1000, kernel_size=3, n_blocks=2, n_seeds=200, rounds=10, step=0.0625,
        substitute_epochs=20, max_set=6400)
    assert "this run:" not in same and "; it used" not in same
    apart = attack_words.authors_attack_words(
        k=1000, kernel_size=3, n_blocks=2, n_seeds=200, rounds=10, step=0.1,
        substitute_epochs=20, max_set=None)
    assert "λ = 0.0625 (this run: 0.1) and the cap of 6,400 points (this run: none)" in apart


def test_the_accuracies_read_as_the_transfer_table_rounds_them():
    """603 of 2,000 images right is 30.15%: the transfer table (pandas' round) shows 30.2,
    while the sentence and the row beside the paper once wrote 30.1."""
    import pandas as pd
    from rdsc import attacks
    linf = np.full(20, np.inf)
    hsj = attacks.AttackResult("hsj-linf", 100, 100, 1.0, linf, linf, torch.zeros(1),
                               torch.zeros(1), np.zeros((0, 20)), np.zeros((0, 20)))
    correct = {"clean": np.array([1] * 603 + [0] * 1397),
               "FGSM transfer": np.array([1] * 13 + [0] * 1987)}
    table = pd.DataFrame({k: [100 * v.mean()] for k, v in correct.items()}).round(1)
    assert table.astype(object).T.iloc[:, 0].tolist() == [30.2, 0.6]
    rows = {r["question"]: r["this book"] for r in attack_words.paper_comparison(
        hsj, 0.0625, correct, beyond_low=0.02, aimed=True, pgd_moved=0.0)}
    assert rows["transferred FGSM lowers the random network's accuracy"].startswith(
        "30.2% → 0.6% (drop")
    transfer = [{"target": "random network + SVM",
                 "target accuracy, clean (%)": 100 * correct["clean"].mean(),
                 "target accuracy, FGSM transfer (%)": 100 * correct["FGSM transfer"].mean()}]
    res = {"epsilon": 0.0625, "k": 100, "transfer": transfer,
           "minimal_perturbations": {"random network + SVM | hsj-linf": {"linf": [0.5]}}}
    from rdsc import headlines
    assert "accuracy 30.2% → 0.6%" in headlines.attack(res)
    assert "FGSM transfer 30.2% → 0.6%" in headlines.attack(res, brief=True)


def test_the_other_attacks_are_read_beside_hopskipjump_linf():
    """Boundary L2 once fooled the random network with smaller perturbations (medians
    3.05 against 3.47) while the text read only HopSkipJump L-inf ("harder to fool")."""
    base = np.linspace(2.0, 4.0, 20)
    harder, easier = (base * 1.5, base), (base, base * 1.3)
    said = attack_words.other_attacks_reading(
        {"HopSkipJump L2": harder, "Boundary": easier}, harder, True)
    assert said == (
        "In L2, the same per-image ratio has median 1.50 by HopSkipJump L2 (95% bootstrap "
        "interval 1.50 to 1.50; the random network needs the larger perturbations); median "
        "0.77 by Boundary (95% bootstrap interval 0.77 to 0.77; the random network needs "
        "the smaller perturbations). Of the 3 attacks, 2 find the random network harder to "
        "fool and 1 finds it easier to fool: a verdict on which model is harder to fool is "
        "one attack's at this budget, not the models'.")
    same = attack_words.other_attacks_reading({"Boundary": harder}, harder, True)
    assert same.endswith("Of the 2 attacks, all read the same way.")
    few = attack_words.other_attacks_reading({"Boundary": (base[:3], base[:3] * 2)},
                                             harder, True)
    assert "median 0.50 by Boundary (over 3 images, too few for a verdict)" in few
    assert "cannot tell the two apart" in few
    assert attack_words.other_attacks_reading({"Boundary": harder}, harder, False) == ""


def test_the_cap_words_follow_the_substitute_training():
    """first_replaced_round reads the cap of rdsc.attacks.train_substitute: the first
    round whose set is the previous round's new points alone."""
    from rdsc.attacks import train_substitute
    seeds = torch.rand(4, 3, 16, 16)
    def oracle(x):
        return (x.mean(dim=(1, 2, 3)) > 0.5).long().numpy()
    for max_set, rounds in ((16, 5), (32, 4)):
        _, history = train_substitute(oracle, seeds, rounds=rounds, epochs=1, step=0.1,
                                      max_set=max_set, n_classes=2, width=4)
        sizes = [row["train_size"] for row in history]
        queries = [row["oracle_queries"] for row in history]
        first = attack_words.first_replaced_round(max_set, 4, rounds)
        # a replaced round's set is as large as the one before it, and all new points
        replaced = [r for r in range(1, rounds) if sizes[r] == sizes[r - 1]]
        assert (replaced[0] if replaced else None) == first, (sizes, queries)
