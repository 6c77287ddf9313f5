"""Attacks on tiny models whose answers are known in closed form.

A linear two-class model ``s(x) = w . (x - 1/2)`` has its decision boundary at a known
distance from every image: ``|s(x)| / |w|_2`` in L2 and ``|s(x)| / |w|_1`` in L-inf
(when the box [0, 1] does not bind). No attack can beat that distance, and a working
one gets close to it.
"""
import numpy as np
import pytest
import torch
import torch.nn as nn

from rdsc import attack_words, attacks
from rdsc.network import RandomDepthwiseSignNet


class LinearTwoClass(nn.Module):
    def __init__(self, shape=(1, 4, 4), seed=0):
        super().__init__()
        self.w = nn.Parameter(torch.randn(shape, generator=torch.Generator().manual_seed(seed)))

    def score(self, x):
        return ((x - 0.5) * self.w).flatten(1).sum(1)

    def forward(self, x):
        s = self.score(x)
        return torch.stack([-s / 2, s / 2], dim=1)


def near_centre(model, n=6, seed=1):
    """Images near 1/2 (so the box does not bind) with their true labels."""
    x = 0.5 + 0.05 * torch.randn((n, *model.w.shape), generator=torch.Generator().manual_seed(seed))
    x = x.clamp(0.2, 0.8)
    with torch.no_grad():
        y = (model.score(x) > 0).long().numpy()
    return x, y


def true_distances(model, x):
    with torch.no_grad():
        s = model.score(x).abs()
        return (s / model.w.norm()).numpy(), (s / model.w.abs().sum()).numpy()


@pytest.mark.parametrize("attack", attacks.DECISION_ATTACKS)
def test_decision_attacks_find_the_known_minimal_perturbation(attack):
    model = LinearTwoClass()
    x, y = near_centre(model)
    l2, linf = true_distances(model, x)
    pool = torch.rand(50, *x.shape[1:], generator=torch.Generator().manual_seed(2))
    r = attacks.decision_attack(model, x, y, attack, budget=4000, pool=pool)
    assert r.queries == 4000
    truth = linf if attack == "hsj-linf" else l2
    assert np.all(r.distance >= truth * (1 - 1e-4))   # nothing beats the true distance
    # and the attack gets close to it (16 pixels, 4000 queries)
    assert np.all(r.distance <= truth * 1.1)
    assert np.all(r.l2 >= l2 * (1 - 1e-4)) and np.all(r.linf >= linf * (1 - 1e-4))


def test_tracker_keeps_real_adversarials_and_a_monotone_history():
    model = LinearTwoClass(seed=3)
    x, y = near_centre(model, seed=4)
    r = attacks.decision_attack(model, x, y, "boundary", budget=80,
                                pool=torch.rand(50, *x.shape[1:],
                                                generator=torch.Generator().manual_seed(5)))
    assert r.queries == 80 and r.history_l2.shape == (80, len(x))
    # the starting search's queries are counted and recorded apart
    assert 1 <= r.start_queries <= attacks.START_STEPS
    found = np.isfinite(r.l2)
    assert found.all()
    assert (attacks.predict(model, r.adversarial_l2) != y).all()
    assert (attacks.predict(model, r.adversarial_linf) != y).all()
    np.testing.assert_allclose((r.adversarial_l2 - x).flatten(1).norm(dim=1).numpy(), r.l2,
                               rtol=1e-5)
    np.testing.assert_allclose((r.adversarial_linf - x).flatten(1).abs().amax(1).numpy(), r.linf,
                               rtol=1e-5)
    h = np.where(np.isfinite(r.history_l2), r.history_l2, 1e9)
    assert np.all(np.diff(h, axis=0) <= 0)
    assert r.success_rate(np.inf) == 1.0 and r.success_rate(0.0) == 0.0
    # the history read at the whole budget is the result; earlier, never more
    eps = float(np.median(r.l2))
    assert r.success_after(eps, 80) == r.success_rate(eps)
    assert r.success_after(eps, 1) <= r.success_after(eps, 40) <= r.success_after(eps, 80)
    assert r.success_after(eps, 10_000) == r.success_rate(eps)  # beyond: the whole budget


def test_success_after_reads_the_history_after_that_many_queries():
    inf = np.inf
    history = np.array([[inf, inf], [0.5, inf], [0.1, 0.3]])  # queries x 2 images
    r = attacks.AttackResult("hsj-linf", budget=3, queries=3, seconds=0.0,
                             l2=np.array([1.0, 1.0]), linf=history[-1],
                             adversarial_l2=torch.zeros(2), adversarial_linf=torch.zeros(2),
                             history_l2=history, history_linf=history)
    assert [r.success_after(0.2, q) for q in (1, 2, 3)] == [0.0, 0.0, 0.5]
    assert [r.success_after(0.6, q) for q in (1, 2, 3)] == [0.0, 0.5, 1.0]
    assert r.success_after(0.6, 3) == r.success_rate(0.6)
    with pytest.raises(ValueError, match="queries"):
        r.success_after(0.2, 0)


def test_success_curve_counts_distances_at_most_epsilon():
    # chapter 7's success curves had no test; an image exactly at epsilon is fooled
    # (<=, not <) and one never fooled (inf) counts at no epsilon
    d = [0.1, 0.5, np.inf, 0.3]
    curve = attacks.success_curve(d, [0.0, 0.1, 0.3, 0.4, 0.5, 1e9])
    assert curve.tolist() == [0.0, 0.25, 0.5, 0.5, 0.75, 0.75]


def test_median_distance_keeps_the_unfooled_images_and_reads_its_norm():
    # chapter 7's median perturbations; an image never fooled (inf) is the largest
    # distance, not left out, and the norm is the attack's own unless one is asked for
    inf = np.inf
    kw = dict(budget=1, queries=1, seconds=0.0, adversarial_l2=torch.zeros(5),
              adversarial_linf=torch.zeros(5), history_l2=np.zeros((0, 5)),
              history_linf=np.zeros((0, 5)))
    l2, linf = np.array([1.0, 3.0, inf, 2.0, 5.0]), np.array([0.4, inf, inf, 0.1, 0.2])
    r = attacks.AttackResult("hsj-l2", l2=l2, linf=linf, **kw)
    assert r.median_distance() == 3.0 and r.median_distance("linf") == 0.4  # 1 2 [3] 5 inf
    r = attacks.AttackResult("hsj-linf", l2=l2, linf=linf, **kw)
    assert r.median_distance() == 0.4 and r.median_distance("l2") == 3.0
    r = attacks.AttackResult("hsj-l2", l2=np.array([inf, 0.5, inf]), linf=linf[:3], **kw)
    assert r.median_distance() == inf  # most images never fooled


def test_budget_smaller_than_the_start_search_stops_and_keeps_only_true_adversarials():
    model = LinearTwoClass()
    x, y = near_centre(model)
    pool = torch.rand(20, 1, 4, 4, generator=torch.Generator().manual_seed(3))
    r = attacks.decision_attack(model, x, y, "hsj-l2", budget=1, pool=pool)
    assert r.queries == 1 and r.history_l2.shape == (1, len(x))
    found = np.isfinite(r.l2)
    assert not found.all()  # one blend, 1/25 of the way to the pool image, is not enough for all
    # what was not found keeps the original image; what was found is misclassified, at its distance
    assert torch.equal(r.adversarial_l2[~found], x[~found])
    if found.any():
        assert (attacks.predict(model, r.adversarial_l2[found]) != y[found]).all()
        moved = (r.adversarial_l2[found] - x[found]).flatten(1).norm(dim=1).numpy()
        np.testing.assert_allclose(moved, r.l2[found], rtol=1e-5)
    for bad in (0, 2.7, "50"):  # "50" failed in a comparison, 2.7 got through
        with pytest.raises(ValueError, match="budget \\(queries per image\\) must be a whole"):
            attacks.decision_attack(model, x, y, "hsj-l2", budget=bad)
    with pytest.raises(ValueError, match="attack must be one of"):
        attacks.decision_attack(model, x, y, "pgd", budget=10)
    # images already misclassified (or labels off by one) were "fooled" at 0
    with pytest.raises(ValueError, match="already misclassified"):
        attacks.decision_attack(model, x, 1 - y, "hsj-l2", budget=10, pool=pool)


class BatchSizeTilt(LinearTwoClass):
    """A linear model whose scores shift with the batch size, as a convolution kernel
    chosen by batch size rounds differently: an image on a near tie flips class."""

    def forward(self, x):
        s = self.score(x) + 1e-3 * (len(x) - 10)
        return torch.stack([-s / 2, s / 2], dim=1)


def test_still_right_drops_images_that_flip_in_a_smaller_batch():
    # chapter 7 picked images from predictions over the whole test set,
    # decision_attack asked again on the subset and stopped the chapter on a near tie
    model = BatchSizeTilt()
    x, _ = near_centre(model, n=40)
    tie = torch.full_like(x[:1], 0.5)  # score 0: class 1 among 41 images, class 0 among 4
    images = torch.cat([x, tie])
    labels = attacks.predict(model, images)  # as the chapter: right in the big batch
    assert labels[-1] == 1
    clear = np.flatnonzero(model.score(x).abs().detach().numpy() > 0.05)[:3].tolist()
    subset, sub_labels = images[clear + [40]], labels[clear + [40]]
    with pytest.raises(ValueError, match="already misclassified"):
        attacks.decision_attack(model, subset, sub_labels, "hsj-l2", budget=10, pool=x)
    kept = attacks.still_right({"tilted": model, "plain": LinearTwoClass()}, subset,
                               sub_labels)
    assert kept.tolist() == [True, True, True, False]
    r = attacks.decision_attack(model, subset[kept], sub_labels[kept], "hsj-l2", budget=10,
                                pool=x)
    assert r.l2.shape == (3,)
    with pytest.raises(ValueError, match="4 images but 3 labels"):
        attacks.still_right({"tilted": model}, subset, sub_labels[:3])


def test_starting_points_are_adversarial_or_a_clear_error():
    model = LinearTwoClass()
    x, y = near_centre(model)
    pool = torch.rand(50, 1, 4, 4, generator=torch.Generator().manual_seed(6))
    start = attacks.starting_points(model, x, y, pool)
    assert (attacks.predict(model, start) != y).all()
    same_class_pool = pool[attacks.predict(model, pool) == 1]
    with pytest.raises(ValueError, match="larger pool"):
        attacks.starting_points(model, x, np.ones(len(x), int), same_class_pool)


def tiny_random_classifier(k=24, seed=0):
    net = RandomDepthwiseSignNet(k, kernel_size=3, n_blocks=1, seed=seed)
    g = torch.Generator().manual_seed(seed)
    return attacks.FeatureSVM(net, torch.randn(3, k, generator=g), torch.randn(3, generator=g),
                              device="cpu")


def test_feature_svm_fast_path_equals_the_network_and_has_zero_gradient():
    model = tiny_random_classifier()
    x = torch.rand(5, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        fast = model(x)
    slow = model(x.clone().requires_grad_(True))
    assert slow.requires_grad
    torch.testing.assert_close(fast, slow.detach(), atol=1e-5, rtol=1e-5)
    grad = attacks.input_gradient(model, x, [0, 1, 2, 0, 1])
    assert grad.shape == x.shape and torch.count_nonzero(grad) == 0
    pgd = attacks.gradient_attack(model, x, attacks.predict(model, x), epsilon=0.1, steps=3)
    assert pgd["mean_linf_moved"] == 0 and pgd["success_rate"] == 0


def test_an_image_s_input_gradient_does_not_depend_on_its_batch():
    """The gradient of the batch's mean loss once divided each image's by the batch size
    (chapter 7's "max |input gradient|" of the CNN was 16 times too small)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 3)).eval()
    x = torch.rand(4, 3, 4, 4, generator=torch.Generator().manual_seed(1))
    alone = attacks.input_gradient(model, x[:1], [2])
    batch = attacks.input_gradient(model, x, [2, 0, 1, 2])
    torch.testing.assert_close(batch[:1], alone)
    assert alone.abs().max() > 0


def test_pgd_moves_a_model_that_has_a_gradient():
    model = LinearTwoClass()
    x, y = near_centre(model)
    _, linf = true_distances(model, x)
    pgd = attacks.gradient_attack(model, x, y, epsilon=float(linf.max()) * 1.1, steps=40)
    assert pgd["success_rate"] == 1.0


def test_feature_svm_rejects_mismatched_weights():
    net = RandomDepthwiseSignNet(8, kernel_size=3, n_blocks=1)
    with pytest.raises(ValueError, match="coef must be"):
        attacks.FeatureSVM(net, torch.zeros(3, 9), torch.zeros(3))


def test_fgsm_is_one_signed_gradient_step():
    model = LinearTwoClass()
    x, y = near_centre(model)
    adv = attacks.fgsm(model, x, y, 0.01)
    step = adv - x
    # the loss gradient of a linear model points along +-w: every pixel moves by exactly eps
    torch.testing.assert_close(step.abs(), torch.full_like(step, 0.01), atol=1e-6, rtol=0)
    direction = (torch.where(torch.as_tensor(y)[:, None, None, None] == 1, -1.0, 1.0)
                 * model.w.detach().sign())
    torch.testing.assert_close(step.sign(), direction.expand_as(step))
    # 8 (meant as 8/255) saturated every pixel, -0.1 stepped along the loss's
    # decrease, 0 returned the images; the chapter refused them, the library did not
    for bad in (8.0, -0.1, 0.0, float("nan"), True):
        for call in (lambda e: attacks.fgsm(model, x, y, e),
                     lambda e: attacks.random_sign_noise(x, e),
                     lambda e: attacks.transfer_attack(model, x, x, y, e, rounds=1, epochs=1)):
            with pytest.raises(ValueError, match="epsilon is an L-inf step"):
                call(bad)


def test_random_sign_noise_has_the_step_size_and_is_seeded():
    x = torch.full((3, 3, 8, 8), 0.5)
    a = attacks.random_sign_noise(x, 0.0625, seed=1)
    b = attacks.random_sign_noise(x, 0.0625, seed=1)
    assert torch.equal(a, b)
    torch.testing.assert_close((a - x).abs(), torch.full_like(x, 0.0625))
    assert 0.3 < ((a - x) > 0).float().mean() < 0.7


def test_jacobian_augmentation_moves_each_pixel_by_the_step():
    model = LinearTwoClass()
    x, y = near_centre(model)
    new = attacks.jacobian_augmentation(model, x, y, 0.1)
    torch.testing.assert_close((new - x).abs(), torch.full_like(x, 0.1), atol=1e-6, rtol=0)
    # the step raises the score of the oracle's label
    with torch.no_grad():
        before = model(x).gather(1, torch.as_tensor(y)[:, None])
        after = model(new).gather(1, torch.as_tensor(y)[:, None])
    assert (after > before).all()


def test_substitute_learns_a_simple_oracle_and_doubles_its_set():
    def oracle(images):  # bright or dark
        return (torch.as_tensor(images).mean((1, 2, 3)) > 0.5).long().numpy()

    def images(n, seed):  # flat colours with noise
        g = torch.Generator().manual_seed(seed)
        return (torch.rand(n, 1, 1, 1, generator=g)
                + 0.2 * torch.randn(n, 3, 8, 8, generator=g)).clamp(0, 1)

    holdout = images(300, 9)
    sub, history = attacks.train_substitute(oracle, images(20, 8), rounds=4, epochs=10, width=8,
                                            n_classes=2, holdout=(holdout, oracle(holdout)),
                                            device="cpu")
    assert [h["train_size"] for h in history] == [20, 40, 80, 160]
    assert history[-1]["oracle_queries"] == 160
    assert history[-1]["holdout_agreement"] > 0.85  # chance is about 0.5
    with pytest.raises(ValueError, match="rounds"):
        attacks.train_substitute(oracle, holdout, rounds=0, epochs=1)


def test_substitute_set_stops_growing_at_the_authors_cap(monkeypatch):
    """max_set: the authors' rule (past half the cap, a round's new points replace the set),
    and lambda reaches the augmentation: 0.1 was once used whatever the chapter asked."""
    steps = []
    augment = attacks.jacobian_augmentation

    def recorded(substitute, images, labels, step):
        steps.append(step)
        return augment(substitute, images, labels, step)

    monkeypatch.setattr(attacks, "jacobian_augmentation", recorded)
    seeds = torch.rand(10, 3, 8, 8, generator=torch.Generator().manual_seed(3))

    def oracle(images):
        return (torch.as_tensor(images).mean((1, 2, 3)) > 0.5).long().numpy()

    def sizes(**cap):
        _, history = attacks.train_substitute(oracle, seeds, rounds=5, epochs=1, width=4,
                                              n_classes=2, step=0.0625, device="cpu", **cap)
        return ([h["train_size"] for h in history],
                [h["oracle_queries"] for h in history])
    assert sizes(max_set=40) == ([10, 20, 40, 40, 40], [10, 20, 40, 80, 120])
    assert sizes() == ([10, 20, 40, 80, 160], [10, 20, 40, 80, 160])
    assert steps and set(steps) == {0.0625}
    for bad in (19, 40.0, True, -1):   # below twice the seeds, not a whole number
        with pytest.raises(ValueError, match="max_set caps"):
            sizes(max_set=bad)
    with pytest.raises(ValueError, match=r"step \(lambda\) is an L-inf step"):
        attacks.train_substitute(oracle, seeds, rounds=2, epochs=1, step=0.0)

    steps.clear()
    target = LinearTwoClass(shape=(3, 8, 8), seed=7)
    x = torch.rand(12, 3, 8, 8, generator=torch.Generator().manual_seed(4))
    t = attacks.transfer_attack(target, seeds, x, attacks.predict(target, x), 0.05, rounds=3,
                                epochs=1, step=0.2, max_set=20, width=4, n_classes=2,
                                device="cpu")
    assert set(steps) == {0.2}
    assert [h["train_size"] for h in t.history] == [10, 20, 20]


def test_transfer_attack_reports_clean_control_and_fgsm():
    target = LinearTwoClass(shape=(3, 8, 8), seed=7)
    seeds = torch.rand(20, 3, 8, 8, generator=torch.Generator().manual_seed(8))
    x = (0.5 + 0.1 * torch.randn(60, 3, 8, 8,
                                 generator=torch.Generator().manual_seed(9))).clamp(0, 1)
    y = attacks.predict(target, x)  # the target is right on every clean image
    t = attacks.transfer_attack(target, seeds, x, y, 0.05, rounds=2, epochs=2, width=4, n_classes=2,
                                device="cpu")
    assert set(t.correct) == {"clean", "random signs", "FGSM transfer"}
    assert t.accuracy("clean") == 1.0
    assert all(c.shape == (60,) for c in t.correct.values())
    assert [h["train_size"] for h in t.history] == [20, 40]
    known = attacks.transfer_attack(target, seeds, x, y, 0.05, rounds=2, epochs=2, width=4,
                                    n_classes=2, device="cpu", clean_predictions=1 - y)
    assert known.accuracy("clean") == 0.0  # given predictions are used, not recomputed


def coloured(n, seed):
    """Images of varied mean colour plus texture: the random net + SVM gives them varied classes.

    (Uniform noise images all get one class from it, so a pool of noise has no image of
    another class to start an attack from: the cause of an old failure of this test.)
    """
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, 3, 1, 1, generator=g) * 0.8 + 0.2 * torch.rand(n, 3, 16, 16, generator=g))


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs CUDA"))])
def test_attack_calls_on_a_device_match_the_cpu(device):
    """The chapter's calls with the models on ``device``: the same answers as on the CPU."""
    net = RandomDepthwiseSignNet(24, kernel_size=3, n_blocks=1, seed=0)
    g = torch.Generator().manual_seed(0)
    coef, intercept = torch.randn(3, 24, generator=g), torch.randn(3, generator=g)
    on_cpu = attacks.FeatureSVM(net, coef, intercept, "cpu")
    on_dev = attacks.FeatureSVM(net, coef, intercept, device)
    x, pool = coloured(6, 1), coloured(40, 2)
    y = attacks.predict(on_cpu, x)
    # every label has pool images of another class
    assert len(set(attacks.predict(on_cpu, pool))) >= 2
    assert np.array_equal(attacks.predict(on_dev, x), y)
    assert np.array_equal(attacks.predict(on_dev, pool), attacks.predict(on_cpu, pool))
    assert torch.count_nonzero(attacks.input_gradient(on_dev, x, y)) == 0
    assert attacks.gradient_attack(on_dev, x, y, epsilon=0.1, steps=3)["mean_linf_moved"] == 0
    r = attacks.decision_attack(on_dev, x, y, "hsj-linf", budget=50, pool=pool)
    found = np.isfinite(r.linf)
    assert r.queries == 50 and found.all()
    # misclassified by the model attacked; found at the decision boundary, such an image may
    # fall on the other side on another device (float features differ there at sign ties)
    assert (attacks.predict(on_dev, r.adversarial_linf) != y).all()
    sub, history = attacks.train_substitute(lambda im: attacks.predict(on_dev, im), x, rounds=2,
                                            epochs=1, width=4, n_classes=3, device=device,
                                            holdout=(x, y))
    assert next(sub.parameters()).device.type == device and len(history) == 2
    adv = attacks.fgsm(sub, x, y, 0.0625)
    assert adv.device.type == "cpu" and torch.allclose((adv - x).abs().amax(),
                                                       torch.tensor(0.0625), atol=1e-6)
    model = LinearTwoClass()
    xs, ys = near_centre(model)
    model.to(device)
    assert attacks.as_foolbox(model).device.type == device  # Foolbox follows the model's device
    assert np.array_equal(attacks.predict(model, xs), ys)


def test_paired_difficulty_compares_the_same_images():
    """A ratio of two 4-image medians was once read as "harder" with no interval."""
    from rdsc.attack_words import difficulty_reading
    from rdsc.attacks import paired_difficulty
    reference = np.array([0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08])
    d = paired_difficulty(3 * reference, reference, n_boot=200)
    assert d == {"ratio": pytest.approx(3.0), "low": pytest.approx(3.0),
                 "high": pytest.approx(3.0), "larger": 8, "smaller": 0, "images": 8,
                 "target_only": 0, "reference_only": 0}
    assert difficulty_reading(d).endswith(
        "larger on 8 of them): the attack needs larger perturbations to fool the random "
        "network than the CNN")
    assert "smaller perturbations" in difficulty_reading(paired_difficulty(reference / 2,
                                                                           reference))
    mixed = paired_difficulty(reference * np.array([2, 0.5] * 4), reference, n_boot=200)
    assert mixed["larger"] == 4 and mixed["low"] < 1 < mixed["high"]
    assert "not distinguishable" in difficulty_reading(mixed)
    # never fooled on either: dropped; fooled on one only: an infinite ratio, still counted
    inf = np.inf
    d = paired_difficulty([inf, inf, 0.1, 0.2], [inf, 0.1, 0.05, 0.1], n_boot=100)
    assert d["images"] == 3 and d["larger"] == 3 and d["ratio"] == pytest.approx(2.0)
    # one or three images once gave a firm verdict (a zero-width interval over 1 image)
    assert difficulty_reading(d).endswith("too few images for a verdict (a sign test needs "
                                          "6 or more)")
    one = paired_difficulty([0.05], [0.1], n_boot=50)
    # one image once read "95% bootstrap interval 2.57 to 2.57 over 1 image"; below 6 images no
    # interval is shown, and no verdict, even where the bootstrap holds 1
    assert "median 0.50 (over 1 image, too few for an interval; larger on 0 of them): too " \
        "few images for a verdict" in difficulty_reading(one)
    assert "interval" not in difficulty_reading(d).split(":")[0].replace(
        "too few for an interval", "")
    three = {"ratio": 1.2, "low": 0.5, "high": 3.0, "larger": 2, "images": 3}
    assert difficulty_reading(three).endswith("too few images for a verdict (a sign test "
                                              "needs 6 or more)")
    assert paired_difficulty([inf], [inf])["images"] == 0
    assert "do not compare" in difficulty_reading(paired_difficulty([inf], [inf]))
    assert d["target_only"] == 0 and d["reference_only"] == 1
    # one image fooled on each model once only read "median 0.00" (a log-ratio of
    # -inf picked as the median), as if it were a size
    split = paired_difficulty([0.1, inf], [inf, 0.2], n_boot=100)
    said = difficulty_reading(split)
    assert "median 0.00" not in said and "has no finite median: of the 2 images compared, " \
        "1 were fooled on the random network only and 1 on the CNN only" in said
    assert said.endswith("too few images for a verdict (a sign test needs 6 or more)")
    with pytest.raises(ValueError, match="same images"):
        paired_difficulty([0.1, 0.2], [0.1])
    with pytest.raises(ValueError, match="n_boot must be a whole number"):
        paired_difficulty([0.1, 0.2], [0.1, 0.3], n_boot=0)
    with pytest.raises(ValueError, match="found nothing has distance inf"):
        paired_difficulty([0.1, float("nan")], [0.1, 0.3])


def test_agreement_above_chance_is_a_one_sided_binomial_test():
    from rdsc.attacks import agreement_above_chance
    assert agreement_above_chance(0.20, 280)          # 56 of 280 against 28 expected
    assert not agreement_above_chance(0.061, 280)     # below chance
    assert not agreement_above_chance(0.12, 100)      # 12 of 100: not beyond chance at 5%
    assert agreement_above_chance(0.12, 5000)         # the same share over many images
    with pytest.raises(ValueError, match="agreement in"):
        agreement_above_chance(12.0, 100)             # a percentage, not a share
    # a substitute that answers one class agrees at that class's share; its
    # chance is sum_c p_target(c) p_substitute(c), not 1 / M
    from rdsc.attacks import chance_agreement
    target = np.array([0] * 18 + list(range(1, 10)) * 9)        # 18% class 0
    constant = np.zeros_like(target)
    assert chance_agreement(target, constant, 10) == pytest.approx(18 / 99)
    agree = float((target == constant).mean())
    assert agreement_above_chance(agree, len(target))         # against 1/10: "aimed"
    assert not agreement_above_chance(agree, len(target), 10,
                                      chance_agreement(target, constant, 10))
    assert agreement_above_chance(0.5, 99, 10, chance_agreement(target, constant, 10))
    assert not agreement_above_chance(1.0, 99, 10, 1.0)     # a constant pair: no test


def test_random_net_target_is_the_network_and_the_papers_svm():
    from rdsc.classify import LinearSVM
    from rdsc.features import extract
    from rdsc.paper import PAPER_C
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (30, 3, 32, 32), generator=gen, dtype=torch.uint8)
    labels = np.repeat(np.arange(3), 10)
    model = attacks.random_net_target(images, labels, 16, seed=7, device="cpu", cache=False)
    assert isinstance(model, attacks.FeatureSVM)
    assert model.net.config == RandomDepthwiseSignNet.for_dataset("cifar10", 16, seed=7).config
    svm = LinearSVM(C=PAPER_C, device="cpu").fit(extract(model.net, images, device="cpu",
                                                         progress=False), labels)
    torch.testing.assert_close(model.coef, torch.as_tensor(svm.coef_).float())
    torch.testing.assert_close(model.intercept, torch.as_tensor(svm.intercept_).float())
    other = attacks.random_net_target(images, labels, 16, seed=7, C=10.0, device="cpu",
                                      cache=False)
    assert not torch.allclose(other.coef, model.coef)  # C reaches the SVM


def test_trained_target_small_cnn_or_the_baselines_network(monkeypatch):
    from rdsc import cnn, deepnets
    gen = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (24, 3, 8, 8), generator=gen, dtype=torch.uint8)
    labels = np.repeat(np.arange(3), 8)
    small = attacks.trained_target("small", images, labels, epochs=1, seed=4, device="cpu",
                                   cache=False)
    alone = cnn.trained(images, labels, epochs=1, seed=4, cache=False, device="cpu",
                        progress=False)
    assert next(small.parameters()).device.type == "cpu"
    for name, weight in alone.state_dict().items():
        torch.testing.assert_close(small.state_dict()[name], weight)
    asked = {}

    def stub(arch, images, labels, *, epochs, seed, cache, device):
        asked.update(arch=arch, epochs=epochs, seed=seed)
        return LinearTwoClass()

    monkeypatch.setattr(deepnets, "trained", stub)
    attacks.trained_target("resnet18", images, labels, epochs=3, seed=4, cache=False)
    assert asked == {"arch": "resnet18", "epochs": 3, "seed": 0}  # the baselines' seed


def test_gradient_rows_and_reading(monkeypatch):
    linear = LinearTwoClass()
    x, y = near_centre(linear)
    random_net = tiny_random_classifier()
    xr = torch.rand(len(x), 3, 16, 16, generator=torch.Generator().manual_seed(2))
    rows = attacks.gradient_rows({"linear": linear}, x, y, epsilon=0.5, steps=5)
    assert list(rows[0]) == ["model", "max |input gradient|", "images with a nonzero gradient",
                             "PGD success (%)", "mean L-inf moved by PGD"]  # the JSON's columns
    assert rows[0]["model"] == "linear"
    assert rows[0]["max |input gradient|"] == pytest.approx(
        float(attacks.input_gradient(linear, x, y).abs().max()))
    assert rows[0]["images with a nonzero gradient"] == len(x)
    assert rows[0]["PGD success (%)"] == 100.0 and rows[0]["mean L-inf moved by PGD"] > 0
    flat = attacks.gradient_rows({"random": random_net}, xr, attacks.predict(random_net, xr),
                                 epsilon=0.1, steps=3)[0]
    assert flat == {"model": "random", "max |input gradient|": 0.0,
                    "images with a nonzero gradient": 0, "PGD success (%)": 0.0,
                    "mean L-inf moved by PGD": 0.0}
    seen, real = [], attacks.gradient_attack  # PGD's random start follows the seed given
    monkeypatch.setattr(attacks, "gradient_attack",
                        lambda *a, **kw: seen.append(kw["seed"]) or real(*a, **kw))
    attacks.gradient_rows({"linear": linear}, x, y, epsilon=0.5, steps=1, seed=11)
    assert seen == [11]
    assert attack_words.gradient_reading(0.0, 0.0, 16).startswith(
        "On all 16 probe images the random network's input gradient is exactly zero")
    # a zero gradient with a move was once "reaches 0 ... not zero everywhere"
    assert attack_words.gradient_reading(0.0, 0.01, 16) == (
        "On all 16 probe images the random network's input gradient is exactly zero; "
        "PGD's moves (mean L-inf 0.0100) come from elsewhere than the gradient.")
    assert attack_words.gradient_reading(0.5, 0.01, 16).startswith(
        "In this run the random network's input gradient reaches 0.5 and PGD moves")
    for bad in ((0.0, 0.0, 0), (float("nan"), 0.0, 4)):
        with pytest.raises(ValueError, match="at least one image"):
            attack_words.gradient_reading(*bad)


def test_gradient_rows_refuse_images_wrong_before_the_attack_and_bad_steps():
    """Misclassified images once counted as PGD successes (50% with nothing moved)."""
    linear = LinearTwoClass()
    x, y = near_centre(linear)
    with pytest.raises(ValueError, match="misclassifies 1 of the"):
        attacks.gradient_rows({"linear": linear}, x, np.r_[1 - y[:1], y[1:]], epsilon=0.1)
    for bad in (-0.1, 0, 1.5, float("nan")):
        with pytest.raises(ValueError, match="epsilon is an L-inf step"):
            attacks.gradient_rows({"linear": linear}, x, y, epsilon=bad)
    with pytest.raises(ValueError, match="0..255 pixels"):
        attacks.gradient_rows({"linear": linear}, x * 255, y, epsilon=0.1)
    with pytest.raises(ValueError, match="one integer label per image"):
        attacks.gradient_rows({"linear": linear}, x, y.astype(float), epsilon=0.1)
    with pytest.raises(ValueError, match="at least one image"):
        attacks.gradient_rows({"linear": linear}, x[:0], y[:0], epsilon=0.1)


def test_transfer_split_draws_disjoint_sets_in_the_chapters_order():
    seeds, evaluation, holdout = attacks.transfer_split(500, 20, 200, seed=2018)
    assert (len(seeds), len(evaluation), len(holdout)) == (20, 200, 280)
    for part in (seeds, evaluation, holdout):
        assert np.all(np.diff(part) > 0)  # sorted, no repeats
    assert not set(seeds) & set(evaluation) and not set(holdout) & (set(seeds) | set(evaluation))
    # the draws the chapter made inline: seeds, then evaluation, then holdout, one generator
    rng = np.random.default_rng(2018)
    first = np.sort(rng.choice(500, size=20, replace=False))
    rest = np.setdiff1d(np.arange(500), first)
    second = np.sort(rng.choice(rest, size=200, replace=False))
    third = np.sort(rng.choice(rest[~np.isin(rest, second)], size=280, replace=False))
    for got, expected in zip((seeds, evaluation, holdout), (first, second, third)):
        np.testing.assert_array_equal(got, expected)
    # evaluation on all the others: the holdout comes from them, at most n_holdout
    seeds, evaluation, holdout = attacks.transfer_split(50, 10, None, n_holdout=15)
    np.testing.assert_array_equal(evaluation, np.setdiff1d(np.arange(50), seeds))
    assert len(holdout) == 15 and set(holdout) <= set(evaluation)
    # the chapter relies on the default: up to 1,000 held-out images
    assert len(attacks.transfer_split(3000, 10, 500)[2]) == 1000
    # no image left to evaluate, or no seed, was once an empty set and NaN accuracies
    for bad in ((100, 100, None), (100, 0, 10), (100, 10, 0)):
        with pytest.raises(ValueError, match="needs 1..99 seed images"):
            attacks.transfer_split(*bad)


def test_transfer_summary_reads_the_last_round():
    t = attacks.TransferResult(
        correct={"clean": np.array([1, 1, 0, 1]), "FGSM transfer": np.array([0, 1, 0, 0])},
        history=[{"round": 0, "oracle_queries": 10, "holdout_agreement": 0.4},
                 {"round": 1, "oracle_queries": 20, "holdout_agreement": 0.55,
                  "holdout_chance": 0.12}],
        substitute_accuracy={"clean": 0.5}, seconds=3.0)
    summary = attacks.transfer_summary(t)
    assert list(summary) == ["oracle queries", "substitute agrees with target (%)",
                             "agreement by chance (%)", "target accuracy, clean (%)",
                             "target accuracy, FGSM transfer (%)",
                             "substitute accuracy, clean (%)", "seconds"]
    assert summary == pytest.approx({
        "oracle queries": 20, "substitute agrees with target (%)": 55.0,
        "agreement by chance (%)": 12.0, "target accuracy, clean (%)": 75.0,
        "target accuracy, FGSM transfer (%)": 25.0,
        "substitute accuracy, clean (%)": 50.0, "seconds": 3.0})
    # trained without a holdout (it is optional): no agreement to report, not a KeyError
    t.history = [{"round": 0, "oracle_queries": 10}]
    assert np.isnan(attacks.transfer_summary(t)["substitute agrees with target (%)"])
    t.history = []
    with pytest.raises(ValueError, match="no substitute rounds"):
        attacks.transfer_summary(t)


def test_the_start_search_counts_its_queries_above_500_images():
    # predict() split the blends into batches of 500, which the tracker let
    # through uncounted: about 30 answers per image under a budget of 5
    class Counting(nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model, self.rows = model, 0

        def forward(self, x):
            self.rows += len(x)
            return self.model(x)
    model = Counting(LinearTwoClass())
    x, y = near_centre(model.model, n=600)
    pool = torch.rand(40, 1, 4, 4, generator=torch.Generator().manual_seed(3))
    r = attacks.decision_attack(model, x, y, "hsj-l2", budget=5, pool=pool)
    # the budget's queries, the check that the images are right, and the pool's predictions
    assert r.queries <= 5 and model.rows <= 5 * 600 + 600 + 40


def test_chance_agreement_names_labels_outside_the_classes():
    from rdsc.attacks import chance_agreement
    with pytest.raises(ValueError, match="class indices 0..9"):
        chance_agreement(np.array([0, 1, 12]), np.array([0, 1, 2]), 10)


class Threshold(nn.Module):
    """Class 1 when an image's mean exceeds ``t``: models that disagree on chosen images."""

    def __init__(self, t):
        super().__init__()
        self.t = t

    def forward(self, x):
        s = x.mean((1, 2, 3)) - self.t
        return torch.stack([-s, s], 1)


def test_still_right_keeps_the_images_every_model_gets_right():
    # image i has mean i/10 and label "mean > 0.4"; model a errs on 3, 4; model b on 5
    x = torch.arange(10, dtype=torch.float32).div(10)[:, None, None, None].expand(10, 3, 4, 4)
    y = (np.arange(10) / 10 > 0.4).astype(int)
    kept = attacks.still_right({"a": Threshold(0.25), "b": Threshold(0.55)}, x, y)
    assert kept.tolist() == [True] * 3 + [False] * 3 + [True] * 4


def test_check_epsilon_edges():
    with pytest.raises(ValueError, match="epsilon is an L-inf step"):
        attacks.check_epsilon(1.0)  # every pixel saturated: no attack left to measure
    assert attacks.check_epsilon(np.float32(0.25)) == 0.25
    # `-p epsilon 8/255` arrives as text; it was once refused as if it were a number
    with pytest.raises(ValueError, match=r"got '8/255' \(text, not a number: papermill "
                                         r"passes an expression such as 8/255 as text"):
        attacks.check_epsilon("8/255")
    with pytest.raises(ValueError, match="epsilon is an L-inf step"):
        attacks.check_epsilon(True)


def test_an_epsilon_that_reaches_flat_grey_is_no_test():
    """At 0.5 every image is within epsilon of the flat grey image; chapter 7 once
    called the paper's claim "supported" there."""
    assert attacks.check_test_epsilon(0.0625) == 0.0625
    assert attacks.check_test_epsilon(0.49) == 0.49
    for too_large in (0.5, 0.9):
        with pytest.raises(ValueError, match=f"epsilon = {too_large:g}: from 0.5 on every "
                                             "image is within epsilon of the flat grey"):
            attacks.check_test_epsilon(too_large)


def test_success_curve_refuses_distances_it_would_misread():
    d = [0.01, 0.02, 0.05, np.inf, 0.2]
    assert attacks.success_curve(d, [0.0, 0.03]).tolist() == [0.0, 0.4]
    for bad in (np.c_[d], [np.nan, 0.01], []):  # one value for all; NaN as "not fooled"
        with pytest.raises(ValueError, match="distances must be 1-D"):
            attacks.success_curve(bad, [0.03])
    with pytest.raises(ValueError, match="epsilons"):
        attacks.success_curve(d, [-1.0])


def test_a_budget_the_starting_search_could_use_up_is_refused():
    """At 10 queries per image every attack's result was once its starting blend, reported
    as HopSkipJump's and Boundary's; at 60 HopSkipJump had made no step."""
    for bad in (10, 60, 199, 2.5, "300"):
        with pytest.raises(ValueError, match="budget"):
            attacks.check_budget(bad)
    assert attacks.check_budget(200) == 200
    # 10**9 queries per image were once taken without a word
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert attacks.check_budget(attacks.LARGE_BUDGET, 300) == attacks.LARGE_BUDGET
    with pytest.warns(UserWarning, match=r"budget = 200,000 queries per image \(60,000,000 "
                                         r"in all\), over ten times"):
        assert attacks.check_budget(200_000, 300) == 200_000


def test_a_budget_used_up_by_the_starting_search_is_recorded_as_such():
    model = LinearTwoClass(seed=3)
    x, y = near_centre(model, seed=4)
    pool = torch.rand(50, *x.shape[1:], generator=torch.Generator().manual_seed(5))
    r = attacks.decision_attack(model, x, y, "hsj-l2", budget=2, pool=pool)
    assert r.queries == 2 and r.start_queries == 2   # no query left to the attack itself


def test_the_random_signs_control_moves_by_the_attacks_epsilon():
    """The random-sign control at epsilon / 2 once passed these tests."""
    target = LinearTwoClass(shape=(3, 8, 8), seed=7)
    seeds = torch.rand(20, 3, 8, 8, generator=torch.Generator().manual_seed(8))
    noise = torch.randn(60, 3, 8, 8, generator=torch.Generator().manual_seed(9))
    x = (0.5 + 0.1 * noise).clamp(0, 1)
    y = attacks.predict(target, x)
    t = attacks.transfer_attack(target, seeds, x, y, 0.05, rounds=1, epochs=1, width=4,
                                n_classes=2, device="cpu")
    expect = attacks.predict(target, attacks.random_sign_noise(x, 0.05, 0)) == y
    np.testing.assert_array_equal(t.correct["random signs"], expect)


def test_the_mean_linf_moved_is_each_images_largest_move():
    """The mean over pixels in place of the largest move once passed these tests."""
    model = LinearTwoClass()
    with torch.no_grad():
        model.w[0, 0, :] = 0.0      # 4 of 16 pixels without a gradient: they do not move
    x, y = near_centre(model)
    pgd = attacks.gradient_attack(model, x, y, epsilon=0.01, steps=40)
    assert pgd["mean_linf_moved"] == pytest.approx(0.01, rel=1e-4)


def test_starting_points_are_the_nearest_adversarial_blend():
    """The farthest adversarial image as the starting point once passed these tests."""
    model = LinearTwoClass()
    x, y = near_centre(model)
    pool = torch.rand(50, 1, 4, 4, generator=torch.Generator().manual_seed(6))
    start = attacks.starting_points(model, x, y, pool, steps=25)
    pred = torch.as_tensor(attacks.predict(model, pool))
    d = torch.cdist(x.flatten(1), pool.flatten(1))
    d[pred[None, :] == torch.as_tensor(y)[:, None]] = float("inf")
    s = pool[d.argmin(1)]
    a = (start - x).flatten(1).norm(dim=1) / (s - x).flatten(1).norm(dim=1)
    back = (a - 1 / 25).clamp(min=0)[:, None, None, None]
    assert (attacks.predict(model, (1 - back) * x + back * s) == y).all()


def test_the_paired_difficulty_interval_is_the_central_95_percent():
    """0.05 / 0.95 quantiles once passed these tests."""
    t = np.array([0.1, 0.3, 0.2, 0.5, 0.15, 0.4, 0.25, 0.35, 0.12, 0.6])
    r = np.array([0.2, 0.1, 0.25, 0.2, 0.3, 0.1, 0.2, 0.15, 0.2, 0.3])
    d = attacks.paired_difficulty(t, r, n_boot=400, seed=3)
    lr = np.log(t) - np.log(r)
    gen = np.random.default_rng(3)
    boot = [np.median(lr[gen.integers(0, 10, 10)]) for _ in range(400)]
    lo, hi = np.quantile(boot, [0.025, 0.975], method="inverted_cdf")
    assert d["low"] == pytest.approx(np.exp(lo)) and d["high"] == pytest.approx(np.exp(hi))


def test_boundaries_a_distance_at_epsilon_fools_and_a_tie_is_not_larger():
    """d < epsilon in success_rate (success_curve and success_after count d <= epsilon) and
    ties counted as 'larger' in the paired difficulty once passed these tests."""
    linf, l2 = np.array([0.03, np.inf]), np.array([0.5, np.inf])
    r = attacks.AttackResult("hsj-linf", 100, 100, 1.0, l2, linf, torch.zeros(1),
                             torch.zeros(1), np.zeros((0, 2)), np.zeros((0, 2)))
    assert r.success_rate(0.03, "linf") == 0.5
    assert attacks.paired_difficulty([0.1, 0.2], [0.1, 0.1], n_boot=50)["larger"] == 1


def test_attack_progress_draws_the_median_once_over_half_the_images_are_fooled():
    """inf turned NaN once made every median NaN until all images were fooled, so a curve
    started late, and one image never fooled dropped the whole curve."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from rdsc import plots
    inf = np.inf
    # 4 images x 5 queries: 3 fooled from query 2 on, 1 never
    history = np.array([[inf, inf, inf, inf], [3.0, 2.0, 5.0, inf], [2.0, 2.0, 4.0, inf],
                        [1.0, 2.0, 3.0, inf], [1.0, 1.0, 3.0, inf]])
    fig = plots.attack_progress({("trained CNN", "hsj-l2", "l2"): history})
    drawn = fig.axes[0].lines[0].get_ydata()
    assert np.isnan(drawn[0]) and np.allclose(drawn[1:], [4.0, 3.0, 2.5, 2.0])
    plt.close(fig)
    # half the images fooled: the median (between a fooled image and one not) is not finite
    half = np.array([[1.0, 2.0, inf, inf]] * 3)
    fig = plots.attack_progress({("trained CNN", "hsj-l2", "l2"): half})
    assert not fig.axes[0].lines
    plt.close(fig)


def test_the_paired_difficulty_median_is_the_usual_one():
    """Ratios 0.225, 0.398, 0.886, 7.577 once read "median 0.40" (the lower median)
    where the chapter's other medians interpolate (0.59, the middle two's geometric mean)."""
    ratios = np.array([0.225, 0.398, 0.886, 7.577])
    d = attacks.paired_difficulty(ratios, np.ones(4), n_boot=50)
    assert d["ratio"] == pytest.approx(np.sqrt(0.398 * 0.886))
    # the middle two 0 and inf (one image fooled on each model only): the lower, 0
    assert attacks.paired_difficulty([0.1, np.inf], [np.inf, 0.2], n_boot=20)["ratio"] == 0
    # one of the middle two a ratio of 0 (the target fooled, the reference not): median 0
    assert attacks.paired_difficulty([0.1, 0.2, 0.3, 0.4], [0.1, 0.1, np.inf, np.inf],
                                     n_boot=20)["ratio"] == 0


def test_the_transfer_figure_keeps_model_colours_for_models():
    """The bars of the kinds of input once took orange, the trained CNN's colour in
    every other figure of chapter 7, for "random signs"."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.colors import to_rgb
    import pandas as pd
    from rdsc import plots
    bars = pd.DataFrame([{"target": t, "input": i, "accuracy (%)": 50.0}
                         for t in plots.MODEL_COLOURS
                         for i in ("clean", "random signs", "FGSM transfer")])
    rounds = pd.DataFrame([{"target": t, "round": r, "agreement": 40.0}
                           for t in plots.MODEL_COLOURS for r in (0, 1)])
    fig = plots.transfer(bars, "accuracy", rounds, 10)
    faces = {tuple(round(c, 3) for c in p.get_facecolor()[:3]) for p in fig.axes[0].patches
             if p.get_height() > 0}
    assert faces and all(r == g == b for r, g, b in faces)  # greys only
    models = {tuple(round(c, 3) for c in to_rgb(c)) for c in plots.MODEL_COLOURS.values()}
    assert not faces & models
    matplotlib.pyplot.close(fig)


def test_the_transfer_figure_draws_chance_lines_only_apart_from_uniform():
    """Each pair's chance line once lay on the uniform line (three lines on one
    level, each named in the legend); it is drawn only where it stands apart."""
    import matplotlib
    matplotlib.use("Agg")
    import pandas as pd
    from rdsc import plots
    bars = pd.DataFrame([{"target": "trained CNN", "input": "clean", "accuracy (%)": 50.0}])

    def drawn(chances):
        """Legend labels and each chance line's y values, a pair's chance per round."""
        rounds = pd.DataFrame([{"target": t, "round": r, "agreement": 40.0,
                                "holdout_chance": c}
                               for t, pair in zip(plots.MODEL_COLOURS, chances)
                               for r, c in enumerate(pair)])
        fig = plots.transfer(bars, "accuracy", rounds, 10)
        labels = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
        lines = {line.get_label(): list(line.get_ydata()) for line in fig.axes[1].lines
                 if line.get_label().startswith("chance")}
        matplotlib.pyplot.close(fig)
        return labels, lines

    close, _ = drawn([(0.115, 0.115), (0.1, 0.1)])
    assert not [label for label in close if label.startswith("chance")]
    assert "each pair's chance within 2 points of it" in close[-1]
    # one pair apart at its first round only: its line there alone, the other's not at all
    # (the caption's rule; once every pair's whole line was drawn once any was apart)
    apart, lines = drawn([(0.16, 0.103), (0.1, 0.1)])
    first = list(plots.MODEL_COLOURS)[0]
    assert list(lines) == [f"chance, {first}"]
    assert lines[f"chance, {first}"][0] == pytest.approx(16.0)
    assert np.isnan(lines[f"chance, {first}"][1])
    assert "within" not in apart[-1]
