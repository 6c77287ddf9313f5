"""Attacking the random network + linear SVM, and a trained CNN, with Foolbox 3.

* :class:`FeatureSVM` makes the random network and a fitted :class:`~rdsc.classify.LinearSVM`
  one PyTorch classifier (floats in [0, 1] -> class scores) that Foolbox can wrap.
* :func:`input_gradient` and :func:`gradient_attack`: what a gradient attack sees
  (the sign function's gradient is zero almost everywhere, so the input gradient is 0).
* :func:`decision_attack`: HopSkipJump or Boundary under a fixed query budget per
  image; :class:`QueryTracker` counts queries and keeps the closest adversarial
  image found so far, so the budget is the same for every model; :func:`still_right`
  keeps only the images every model gets right when asked the same way.
* :func:`train_substitute` (Papernot et al. 2017, Jacobian-based data augmentation)
  and :func:`fgsm`: the transfer attack of the paper (:func:`transfer_attack`, on the
  images :func:`transfer_split` draws).
* :func:`random_net_target` and :func:`trained_target`: the two classifiers chapter 7
  attacks.

What the measurements show, in the chapter's words, is :mod:`rdsc.attack_words`.

All images are ``N x C x H x W`` float tensors in [0, 1] unless said otherwise.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from rdsc import cnn
from rdsc.data import as_float
from rdsc.checks import seed_number, text_hint, warn, whole_number
from rdsc.deepnets import ARCHS as DEEP_ARCHS
from rdsc.features import compute, default_device
from rdsc.network import RandomDepthwiseSignNet
from rdsc.paper import PAPER_EPSILON
from rdsc.rng import restores_global_rng

DECISION_ATTACKS = ("hsj-l2", "hsj-linf", "boundary")


def _foolbox():
    with warnings.catch_warnings():  # foolbox's import trips a scipy DeprecationWarning
        warnings.simplefilter("ignore", DeprecationWarning)
        import foolbox
    return foolbox


# --- the models ------------------------------------------------------------------------------

class FeatureSVM(nn.Module):
    """Random network features followed by linear SVM scores: ``N x C x H x W`` -> ``N x classes``.

    Queries made without autograd (all a black-box attack makes) run the fast
    feature engine (:func:`rdsc.features.compute`). When the input requires a
    gradient, the network's own differentiable forward runs instead, so autograd
    reports the true gradient: zero, since ``d sign(z)/dz = 0`` wherever it exists.
    """

    def __init__(self, net: RandomDepthwiseSignNet, coef, intercept, device=None):
        super().__init__()
        self.net = net
        self.device = torch.device(device) if device is not None else default_device()
        coef, intercept = torch.as_tensor(np.asarray(coef)), torch.as_tensor(np.asarray(intercept))
        if coef.shape != (len(intercept), net.n_features):
            raise ValueError(f"coef must be classes x {net.n_features} and intercept classes long, "
                             f"got {tuple(coef.shape)} and {tuple(intercept.shape)}")
        self.register_buffer("coef", coef.float())
        self.register_buffer("intercept", intercept.float())

    @classmethod
    def from_svm(cls, net: RandomDepthwiseSignNet, svm, device=None) -> "FeatureSVM":
        """From a fitted :class:`rdsc.classify.LinearSVM` (labels must be 0..classes-1)."""
        if not np.array_equal(svm.classes_, np.arange(len(svm.classes_))):
            raise ValueError("the SVM's classes must be 0..n-1 so that score column c is class c")
        return cls(net, svm.coef_, svm.intercept_, device)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``N x C x H x W`` -> ``N x k`` features (autograd forward if ``x`` requires grad)."""
        if x.requires_grad and torch.is_grad_enabled():
            return self.net.to(x.device)(x)
        h, w = self.net.output_map_size(x.shape[2], x.shape[3])
        counts = compute(self.net, x.detach(), device=self.device, progress=False)
        return torch.from_numpy(counts).to(x.device).float() / (h * w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``N x C x H x W`` floats in [0, 1] -> ``N x classes`` scores."""
        f = self.features(x)
        return f @ self.coef.to(f.device).t() + self.intercept.to(f.device)


def as_foolbox(model: nn.Module, device=None):
    """``model`` (floats in [0, 1] -> logits) as a ``foolbox.PyTorchModel`` with bounds (0, 1).

    ``device``: where Foolbox's tensors live (default: where ``model`` computes, see
    :func:`device_of`); the images given to the attack must be there too.
    """
    fb = _foolbox()
    device = torch.device(device) if device is not None else device_of(model)
    return fb.PyTorchModel(model.eval(), bounds=(0, 1), device=device)


def device_of(model: nn.Module) -> torch.device:
    """Where ``model`` computes: a :class:`FeatureSVM`'s device, else where its weights are."""
    if isinstance(model, FeatureSVM):
        return model.device
    if isinstance(model, QueryTracker):
        return device_of(model.model)
    weight = next(iter(model.parameters()), None)
    return weight.device if weight is not None else torch.device("cpu")


@torch.no_grad()
def predict(model: nn.Module, images, batch_size: int = 500) -> np.ndarray:
    """Predicted classes (int64, length ``N``) of ``images`` (``N x C x H x W``, uint8 or
    floats in [0, 1]), in batches of ``batch_size``."""
    x = as_float(images)
    device = device_of(model)
    return np.concatenate([model(x[lo:lo + batch_size].to(device)).argmax(1).cpu().numpy()
                           for lo in range(0, len(x), batch_size)]) if len(x) else np.zeros(0, int)


def random_net_target(train_images, train_labels, n_features: int, *, seed: int,
                      dataset: str = "cifar10", C: float | None = None, device=None,
                      cache=True) -> FeatureSVM:
    """The random network + linear SVM of chapter 3 as one attackable classifier.

    The network is ``dataset``'s preset with ``n_features`` features and ``seed``; the
    SVM (the paper's ``C`` unless given) is fitted on the training images' features,
    cached as ``<dataset>-train`` like chapter 3's. ``train_images``: ``N x 3 x H x W``
    (uint8 or floats in [0, 1]); ``train_labels``: ``N`` ints in ``0..classes-1``.
    The network is ``.net`` of the result.
    """
    from rdsc.classify import LinearSVM
    from rdsc.features import extract
    from rdsc.paper import PAPER_C
    net = RandomDepthwiseSignNet.for_dataset(dataset, n_features, seed=seed)
    features = extract(net, train_images, cache=cache, name=f"{dataset}-train",
                       device=device)
    svm = LinearSVM(C=PAPER_C if C is None else C, device=device).fit(features, train_labels)
    return FeatureSVM.from_svm(net, svm, device=device)


#: the trained targets :func:`trained_target` builds
TRAINED_ARCHS = ("small", *DEEP_ARCHS)


def trained_target(arch: str, train_images, train_labels, *, epochs: int, seed: int,
                   device=None, cache=True) -> nn.Module:
    """The trained classifier attacked beside the random network, on the CPU.

    ``arch``: ``"small"`` for :func:`rdsc.cnn.trained` (seeded with ``seed``), else a
    network of :mod:`rdsc.deepnets` trained with its ``SHARED_SEED``, so that the baselines
    chapter's model cache serves it. Either comes from the model cache when trained before.
    ``train_images``: ``N x 3 x H x W``; ``train_labels``: ``N`` ints.
    """
    if arch not in TRAINED_ARCHS:
        raise ValueError(f"arch must be one of {TRAINED_ARCHS}, got {arch!r}")
    if arch == "small":
        return cnn.trained(train_images, train_labels, epochs=epochs, seed=seed, cache=cache,
                           device=device).cpu()
    from rdsc import deepnets
    return deepnets.trained(arch, train_images, train_labels, epochs=epochs,
                            seed=deepnets.SHARED_SEED,
                            cache=cache, device=device).cpu()


# --- gradients -------------------------------------------------------------------------------

def input_gradient(model: nn.Module, images, labels) -> torch.Tensor:
    """Gradient of each image's cross-entropy loss with respect to its pixels, ``N x C x H x
    W`` (the loss of each image, not the batch's mean: an image's gradient once shrank
    with the number of images beside it)."""
    device = device_of(model)
    x = as_float(images).to(device).clone().requires_grad_(True)  # never the caller's tensor
    with torch.enable_grad():
        loss = F.cross_entropy(model(x), torch.as_tensor(np.asarray(labels)).to(device),
                               reduction="sum")
        (grad,) = torch.autograd.grad(loss, x)
    return grad.cpu()


@restores_global_rng
def gradient_attack(model: nn.Module, images, labels, epsilon: float, steps: int = 40,
                    seed: int = 0) -> dict:
    """Foolbox L-inf PGD (no random start) at ``epsilon``: success rate and mean perturbation.

    Without a random start PGD moves only along the sign of the gradient, so on a
    model whose gradient is zero it cannot move at all.
    """
    fb = _foolbox()
    torch.manual_seed(seed_number(seed))
    device = device_of(model)
    x, y = as_float(images).to(device), torch.as_tensor(np.asarray(labels)).to(device)
    attack = fb.attacks.LinfPGD(steps=steps, random_start=False)
    _, adv, success = attack(as_foolbox(model, device), x, fb.criteria.Misclassification(y),
                             epsilons=epsilon)
    moved = (adv - x).flatten(1).abs().amax(1)
    return {"epsilon": float(epsilon), "steps": steps,
            "success_rate": float(success.float().mean()),
            "mean_linf_moved": float(moved.mean())}


def gradient_rows(models: dict, images, labels, *, epsilon: float, steps: int = 40,
                  seed: int = 0) -> list[dict]:
    """What a gradient attack sees on each of ``models`` (``{name: model}``), one row each:
    the largest absolute input gradient (:func:`input_gradient`), how many images have a
    nonzero one, and PGD's success (%) and mean L-inf move (:func:`gradient_attack`).
    ``images``: ``N x C x H x W`` floats in [0, 1] that every model classifies correctly
    (PGD's success would otherwise count images wrong before any step); ``labels``: ``N``
    true classes; ``epsilon``: the L-inf budget, in (0, 1)."""
    x = as_float(images)
    y = np.asarray(labels)
    if len(x) < 1 or len(x) != len(y) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"need at least one image and one integer label per image, got "
                         f"{len(x)} images and {len(y)} labels of dtype {y.dtype}")
    check_epsilon(epsilon)
    for name, model in models.items():
        wrong = int((predict(model, x) != y).sum())
        if wrong:
            raise ValueError(f"{name} misclassifies {wrong} of the {len(y)} images before "
                             "any attack: pass only images every model gets right")
    rows = []
    for name, model in models.items():
        grad = input_gradient(model, images, labels)
        pgd = gradient_attack(model, images, labels, epsilon=epsilon, steps=steps, seed=seed)
        rows.append({
            "model": name, "max |input gradient|": float(grad.abs().max()),
            "images with a nonzero gradient": int((grad.flatten(1).abs().amax(1) > 0).sum()),
            "PGD success (%)": 100 * pgd["success_rate"],
            "mean L-inf moved by PGD": pgd["mean_linf_moved"]})
    return rows


# --- decision-based attacks under a query budget --------------------------------------------

class QueryBudgetExhausted(Exception):
    """Raised by :class:`QueryTracker` when an attack asks for more queries than its budget."""


class QueryTracker(nn.Module):
    """Wraps a classifier attacked on ``originals``; counts queries and keeps the best adversarials.

    Foolbox's decision-based attacks query all images in lockstep (every call is one
    batch of ``N`` candidates, one per image), so one call is one query per image.
    For each image the tracker keeps the adversarial candidate (predicted class !=
    label) with the smallest L2 and the smallest L-inf distance seen so far, and
    after every call the best distances (``history``: calls x N, inf = none yet).
    Calls with another batch size pass through uncounted.
    """

    def __init__(self, model: nn.Module, originals: torch.Tensor, labels, budget: int):
        super().__init__()
        self.model, self.originals, self.budget = model, originals, int(budget)
        self.labels = torch.as_tensor(np.asarray(labels))
        n = len(originals)
        self.queries = 0
        self.best_l2 = torch.full((n,), float("inf"))
        self.best_linf = torch.full((n,), float("inf"))
        self.adv_l2 = originals.clone()
        self.adv_linf = originals.clone()
        self.history_l2, self.history_linf = [], []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``model(x)``; a batch shaped like ``originals`` is one query, may improve the best."""
        if x.shape != self.originals.shape:
            return self.model(x)
        if self.queries >= self.budget:
            raise QueryBudgetExhausted(f"{self.budget} queries used")
        self.queries += 1
        scores = self.model(x)
        with torch.no_grad():
            xc = x.detach().cpu()
            adv = scores.argmax(1).cpu() != self.labels
            diff = (xc - self.originals).flatten(1)
            for dist, best, keep, hist in ((diff.norm(dim=1), self.best_l2, self.adv_l2,
                                            self.history_l2),
                                           (diff.abs().amax(1), self.best_linf, self.adv_linf,
                                            self.history_linf)):
                better = adv & (dist < best)
                best[better] = dist[better]
                keep[better] = xc[better]
                hist.append(best.clone())
        return scores


@dataclass
class AttackResult:
    """The outcome of one decision-based attack on ``N`` images.

    ``l2`` / ``linf``: per image, the smallest distance of an adversarial image found
    within the budget (inf: none found); ``adversarial_l2`` / ``adversarial_linf``:
    those images; ``history_l2`` / ``history_linf``: queries x N best distances so far.
    """
    attack: str
    budget: int
    queries: int
    seconds: float
    l2: np.ndarray
    linf: np.ndarray
    adversarial_l2: torch.Tensor
    adversarial_linf: torch.Tensor
    history_l2: np.ndarray = field(repr=False)
    history_linf: np.ndarray = field(repr=False)
    #: queries per image the starting-point search spent (the attack itself had the rest)
    start_queries: int = 0

    @property
    def distance(self) -> np.ndarray:
        """The distance the attack minimises (L-inf for ``hsj-linf``, else L2)."""
        return self.linf if self.attack == "hsj-linf" else self.l2

    @property
    def norm(self) -> str:
        """``"linf"`` for ``hsj-linf``, else ``"l2"``."""
        return "linf" if self.attack == "hsj-linf" else "l2"

    def success_rate(self, epsilon: float, norm: str | None = None) -> float:
        """Fraction of images with an adversarial within ``epsilon`` (in ``norm``)."""
        d = self.linf if (norm or self.norm) == "linf" else self.l2
        return float(np.mean(d <= epsilon))

    def success_after(self, epsilon: float, queries: int, norm: str | None = None) -> float:
        """:meth:`success_rate` after only the first ``queries`` queries per image, read
        from the history (NaN when no history was kept): whether the budget's last
        queries still fooled more images."""
        history = self.history_linf if (norm or self.norm) == "linf" else self.history_l2
        if len(history) == 0:
            return float("nan")
        queries = min(whole_number("queries", queries), len(history))
        return float(np.mean(history[queries - 1] <= epsilon))

    def late_fall(self, norm: str | None = None) -> tuple[float, int]:
        """How far the attack was still closing in over the second half of its budget:
        the median, over the images with an adversarial by half the queries, of the
        relative fall of the smallest distance found from then to the end (0: no progress,
        0.5: halved), and how many images that is. ``(nan, 0)`` without a history or such
        images. A fall near 0 on one model only says the attack stalled there (e.g.
        flat on the random network from about 250 queries, still falling on the CNN)."""
        history = self.history_linf if (norm or self.norm) == "linf" else self.history_l2
        if len(history) < 2:
            return float("nan"), 0
        half, end = history[len(history) // 2 - 1], history[-1]
        found = np.isfinite(half) & (half > 0)
        if not found.any():
            return float("nan"), 0
        return float(np.median(1 - end[found] / half[found])), int(found.sum())

    def median_distance(self, norm: str | None = None) -> float:
        """Median over the images of the smallest adversarial distance in ``norm``."""
        d = self.linf if (norm or self.norm) == "linf" else self.l2
        return float(np.median(d))


#: blends the starting-point search tries at most (one query per image each)
START_STEPS = 25
#: the smallest query budget a chapter may give an attack: enough for HopSkipJump's first
#: step on CIFAR-size images. Before it, it spends up to START_STEPS on the start, one check,
#: a binary search to the boundary (about 18 queries in L2, 30 in L-inf), then 100 on its
#: first estimate of the boundary's normal; measured, its first update came
#: after 165 (L2) and 185 (L-inf) queries. Below that its "result" is the start refined by
#: a binary search (at 10 queries every attack's result was the starting blend)
MIN_BUDGET = 200


#: the paper profile's budget, 5,000 queries per image, ten times over: a larger one is
#: more likely a typo (200000 for 2000) than a plan, and runs for hours; said, not refused
LARGE_BUDGET = 50_000


def check_budget(budget, n_runs: int | None = None) -> int:
    """``budget`` (queries per image) if it reaches HopSkipJump's first step after the
    starting-point search (:data:`MIN_BUDGET`), else a ValueError that says why. Above
    :data:`LARGE_BUDGET` a warning gives the queries in all where ``n_runs`` (attacks x
    models x images) is known (10**9 was once taken without a word)."""
    budget = whole_number("budget (queries per image)", budget)
    if budget < MIN_BUDGET:
        raise ValueError(f"budget must be at least {MIN_BUDGET} queries per image, got "
                         f"{budget}: the starting-point search may spend {START_STEPS}, and "
                         "HopSkipJump takes its first step after about 165-185 queries on "
                         "CIFAR images; below that its results are the starting blends")
    if budget > LARGE_BUDGET:
        total = f" ({n_runs * budget:,} in all)" if n_runs else ""
        warn(f"budget = {budget:,} queries per image{total}, over ten times the paper "
             "profile's 5,000: each query runs a model, so this can take hours (a typo?)")
    return budget


def starting_points(model: nn.Module, images: torch.Tensor, labels, pool: torch.Tensor,
                    steps: int = START_STEPS) -> torch.Tensor:
    """For each image, the nearest blend ``(1-a) x + a s`` that ``model`` misclassifies.

    ``s`` is the image of ``pool`` nearest in L2 among those whose predicted class
    differs from the image's label; ``a`` is the smallest of ``steps`` values in
    (0, 1] that is adversarial. ``images``: ``N x C x H x W`` floats in [0, 1];
    ``labels``: ``N``; ``pool``: ``P x C x H x W`` like ``images``; returns ``N x C x H x W``.
    Foolbox's default start (blended uniform noise) can
    fail outright on a model that maps all noise to one class; a pool of real images
    fails only if the model gives every pool image an attacked image's label.
    """
    labels = torch.as_tensor(np.asarray(labels))
    # the pool's predictions are shared by every image: not queries (past the tracker)
    answerer = model.model if isinstance(model, QueryTracker) else model
    pool_pred = torch.as_tensor(predict(answerer, pool))
    d = torch.cdist(images.flatten(1), pool.flatten(1))
    d[pool_pred[None, :] == labels[:, None]] = float("inf")
    if torch.isinf(d.min(1).values).any():
        raise ValueError("no pool image is classified differently from some labels: "
                         "use a larger pool")
    start = pool[d.argmin(1)]
    best = start.clone()
    found = torch.zeros(len(images), dtype=torch.bool)
    for a in torch.linspace(0, 1, steps + 1)[1:]:
        blend = (1 - a) * images + a * start
        # one batch of all images: a tracker counts a call shaped like the originals as one
        # query each, and would let smaller batches through uncounted
        adv = torch.as_tensor(predict(model, blend, batch_size=max(1, len(blend)))) != labels
        new = adv & ~found
        best[new], found = blend[new], found | adv
        if found.all():
            break
    return best


def still_right(models: dict, images, labels) -> np.ndarray:
    """Which of ``images`` (``N x C x H x W``) every model in ``models`` (name -> model)
    still classifies right when asked the way :func:`decision_attack` asks
    (:func:`predict` on exactly these images): a bool mask of length ``N``.

    Images picked from predictions over the whole test set can flip here when they sit on
    a near tie, because a convolution's kernel (cuDNN's, oneDNN's) is chosen by batch size
    and rounds differently; decision_attack refuses them, so drop them first.
    """
    y = np.asarray(labels)
    if len(y) != len(images):
        raise ValueError(f"{len(images)} images but {len(y)} labels")
    right = np.ones(len(y), bool)
    for model in models.values():
        right &= predict(model, images) == y
    return right


@restores_global_rng
def decision_attack(model: nn.Module, images, labels, attack: str, budget: int, *,
                    pool=None, seed: int = 0) -> AttackResult:
    """Run ``attack`` (one of :data:`DECISION_ATTACKS`) on ``images`` for ``budget`` queries
    per image.

    The attack starts from :func:`starting_points` (using ``pool``, default the
    images themselves) and runs until its queries reach ``budget``; the result
    keeps the closest adversarial images found. The blends tried for the start count
    as queries; the pool's predictions (one per pool image, shared by all attacked
    images) do not. ``images`` (uint8 or floats in [0, 1], ``N x C x H x W``) must be ones
    the model classifies right (``labels``: ``N`` class indices): an image already wrong is
    "fooled" at distance 0, so such images are refused.
    """
    if attack not in DECISION_ATTACKS:
        raise ValueError(f"attack must be one of {DECISION_ATTACKS}, got {attack!r}")
    budget = whole_number("budget (queries per image)", budget)  # "50", 2.7 got through
    fb = _foolbox()
    x = as_float(images)
    y = torch.as_tensor(np.asarray(labels))
    if len(x) != len(y):
        raise ValueError(f"{len(x)} images but {len(y)} labels")
    wrong = int((torch.as_tensor(predict(model, x)) != y).sum())  # not counted as queries
    if wrong:
        raise ValueError(f"{wrong} of {len(x)} images are already misclassified (or their "
                         "labels are not the model's class indices 0..M-1): an attack "
                         "'fools' them at distance 0. Attack only images the model gets right "
                         "(attacks.still_right drops them)")
    torch.manual_seed(seed_number(seed))
    tracker = QueryTracker(model, x, y, budget)
    start = time.perf_counter()
    start_queries = None
    try:
        init = starting_points(tracker, x, y, x if pool is None else as_float(pool))
        start_queries = tracker.queries
        if attack == "boundary":
            runner = fb.attacks.BoundaryAttack(steps=10 ** 9)
        else:
            runner = fb.attacks.HopSkipJumpAttack(steps=10 ** 9, constraint=attack.split("-")[1])
        # the tracker keeps its records on the CPU and moves queries to the model itself
        runner.run(as_foolbox(tracker, "cpu"), x, fb.criteria.Misclassification(y),
                   starting_points=init)
    except QueryBudgetExhausted:
        pass
    if start_queries is None:   # the budget ran out during the search: no attack ran
        start_queries = tracker.queries
    seconds = time.perf_counter() - start
    empty = np.zeros((0, len(x)), np.float32)
    return AttackResult(attack, budget, tracker.queries, seconds,
                        tracker.best_l2.numpy(), tracker.best_linf.numpy(),
                        tracker.adv_l2, tracker.adv_linf,
                        torch.stack(tracker.history_l2).numpy() if tracker.history_l2 else empty,
                        torch.stack(tracker.history_linf).numpy() if tracker.history_linf
                        else empty, start_queries=start_queries)


def success_curve(distances, epsilons) -> np.ndarray:
    """Fraction of images whose minimal adversarial distance is at most each epsilon:
    ``distances`` (``N``; inf where the attack found none), ``epsilons`` (``E``, in the
    distances' units) -> ``E`` fractions."""
    d = np.asarray(distances, dtype=float)
    e = np.asarray(epsilons, dtype=float)
    if d.ndim != 1 or len(d) == 0 or np.isnan(d).any():  # N x 1 gave one value in all
        raise ValueError(f"distances must be 1-D, non-empty, without NaN (inf: not fooled), "
                         f"got shape {d.shape}")
    if e.ndim != 1 or not np.isfinite(e).all() or (e < 0).any():
        raise ValueError(f"epsilons must be 1-D budgets >= 0, got {e.tolist()}")
    return (d[None, :] <= e[:, None]).mean(1)


# --- the transfer attack ---------------------------------------------------------------------

def jacobian_augmentation(substitute: nn.Module, images: torch.Tensor, labels,
                          step: float) -> torch.Tensor:
    """Papernot et al.'s new points: ``clip(x + step * sign(d F_y(x) / dx))``, y = the oracle's
    label.

    Each point moves along the sign of the gradient of the substitute's score of the
    oracle's label: the score rises (the step does not aim across a boundary), and the
    oracle's labels of the new points, where the substitute's output varies, teach the
    substitute more of the oracle's boundaries.
    """
    substitute.eval()
    device = next(substitute.parameters()).device
    y = torch.as_tensor(np.asarray(labels))
    out = []
    for lo in range(0, len(images), 512):
        xb = images[lo:lo + 512].to(device).requires_grad_(True)
        with torch.enable_grad():
            score = substitute(xb).gather(1, y[lo:lo + 512, None].to(device)).sum()
            (grad,) = torch.autograd.grad(score, xb)
        out.append((xb.detach() + step * grad.sign()).clamp(0, 1).cpu())
    return torch.cat(out)


@restores_global_rng
def train_substitute(oracle, seed_images, *, rounds: int, epochs: int, step: float = 0.1,
                     max_set: int | None = None, width: int = 32, n_classes: int = 10,
                     seed: int = 0, device=None, holdout=None, progress: bool = False):
    """Train a substitute of a black-box ``oracle`` (images -> labels) by Jacobian augmentation.

    Round ``r`` (0-based) trains the substitute (continuing from the last round) on
    ``S_r`` labelled by the oracle, then ``S_{r+1} = S_r + jacobian_augmentation(S_r)``;
    the set doubles each round, so the oracle answers ``len(seed) * 2^(rounds-1)`` queries,
    unless ``max_set`` caps it.

    Args:
        oracle: callable, float images in [0, 1] -> predicted labels (numpy).
        seed_images: the attacker's initial images, ``S x C x H x W`` (the paper: 200).
        rounds: substitute training rounds (Papernot et al. and the paper: up to 10).
        epochs: training epochs per round.
        step: the augmentation step lambda, in (0, 1) (Papernot et al.: 0.1; the authors'
            code: 0.0625).
        max_set: None, or the authors' cap (their code: 6,400): where the set holds more
            than half of it, a round's new points replace the set instead of joining it,
            so it stops growing (and later rounds train only on points far from the
            seeds). At least twice the seed images, else the set would never grow.
        holdout: optional ``(images, oracle_labels)``, ``M x C x H x W`` and ``M``, to
            report agreement after each round.

    Returns ``(substitute, history)``; history holds per round the training-set size,
    the oracle queries so far, the holdout agreement, its chance level
    (:func:`chance_agreement`) and ``holdout_agreed``, the per-image agreement (``M``
    bools, for paired comparisons of rounds: not for a results JSON).
    """
    if rounds < 1 or epochs < 1:
        raise ValueError(f"rounds and epochs must be positive, got {rounds}, {epochs}")
    step = check_epsilon(step, "step (lambda)")
    x = as_float(seed_images)
    if max_set is not None and (isinstance(max_set, bool) or not isinstance(
            max_set, (int, np.integer)) or max_set < 2 * len(x)):
        raise ValueError(f"max_set caps the substitute's training set: a whole number at "
                         f"least twice the {len(x)} seed images (else the set never grows), "
                         f"or None for no cap; got {max_set!r}")
    torch.manual_seed(seed_number(seed))
    substitute = cnn.SmallCNN(n_classes=n_classes, width=width, image_size=x.shape[-1],
                              in_channels=x.shape[1])
    y = np.asarray(oracle(x))
    queries, history = len(x), []
    for r in range(rounds):
        cnn.fit(substitute, x, y, epochs=epochs, batch_size=min(128, len(x)), augment=False,
                seed=seed + r, device=device, progress=progress)
        row = {"round": r, "train_size": len(x), "oracle_queries": queries}
        if holdout is not None:
            guessed, told = predict(substitute, holdout[0]), np.asarray(holdout[1])
            row["holdout_agreement"] = float((guessed == told).mean())
            row["holdout_chance"] = chance_agreement(told, guessed, n_classes)
            # per image, for paired comparisons of rounds (the same held-out images)
            row["holdout_agreed"] = guessed == told
        history.append(row)
        if r < rounds - 1:
            new = jacobian_augmentation(substitute, x, y, step)
            new_y = np.asarray(oracle(new))
            queries += len(new)
            if max_set is None or 2 * len(x) <= max_set:
                x, y = torch.cat([x, new]), np.concatenate([y, new_y])
            else:  # the authors' cap: past half of it, the new points replace the set
                x, y = new, new_y
    return substitute, history


def check_epsilon(epsilon, name: str = "epsilon") -> float:
    """``epsilon`` if it is an L-inf step on [0, 1] pixels, in (0, 1): 8 meant as 8/255
    saturates every pixel, a negative one steps along the loss's decrease, 0 does nothing.
    ``name``: the step's name in the error (the Jacobian augmentation's is lambda)."""
    # NaN, infinities and True (== 1) fail 0 < epsilon < 1 too
    if (isinstance(epsilon, bool) or not isinstance(epsilon, (int, float, np.floating))
            or not 0 < epsilon < 1):
        raise ValueError(f"{name} is an L-inf step on [0, 1] pixels: choose it in (0, 1) "
                         f"(8/255 = {8 / 255:.4f}), got {epsilon!r}"
                         f"{text_hint(name.split()[0], epsilon)}")
    return float(epsilon)


def check_test_epsilon(epsilon) -> float:
    """Chapter 7's ``epsilon``: :func:`check_epsilon`, and below 0.5. From 0.5 on, every
    image lies within ``epsilon`` of the flat grey image (0.5 in every pixel), so an
    attack that fools any classifier tests no defence (at 0.5 the chapter once
    called the paper's claim "supported")."""
    epsilon = check_epsilon(epsilon)
    if epsilon >= 0.5:
        raise ValueError(f"epsilon = {epsilon:g}: from 0.5 on every image is within epsilon "
                         "of the flat grey image (0.5 in every pixel), so any classifier "
                         "can be fooled and the attacks test nothing; the paper's step is "
                         f"{PAPER_EPSILON:g}")
    return epsilon


def fgsm(model: nn.Module, images, labels, epsilon: float) -> torch.Tensor:
    """Foolbox FGSM (one L-inf step of size ``epsilon`` along the loss gradient's sign),
    clipped to [0, 1]. ``images``: ``N x C x H x W``, uint8 or floats in [0, 1];
    ``labels``: ``N``; returns ``N x C x H x W`` float32 in [0, 1] on the CPU."""
    epsilon = check_epsilon(epsilon)
    fb = _foolbox()
    x, y = as_float(images), torch.as_tensor(np.asarray(labels))
    device = device_of(model)
    _, adv, _ = fb.attacks.FGSM()(as_foolbox(model, device), x.to(device),
                                 fb.criteria.Misclassification(y.to(device)), epsilons=epsilon)
    return adv.cpu()


@dataclass
class TransferResult:
    """The transfer attack on one target.

    ``correct``: per evaluation image, whether the target is right on the clean image,
    after random signs of size epsilon (the control) and after the transferred FGSM
    step; ``history``: :func:`train_substitute`'s rounds; ``substitute_accuracy``: the
    substitute's own accuracy on clean and on its FGSM images (white-box).
    """
    correct: dict[str, np.ndarray]
    history: list[dict]
    substitute_accuracy: dict[str, float]
    seconds: float

    def accuracy(self, kind: str) -> float:
        """The target's accuracy under ``kind`` (a key of ``correct``)."""
        return float(self.correct[kind].mean())


def transfer_attack(model: nn.Module, seed_images, images, labels, epsilon: float, *, rounds: int,
                    epochs: int, step: float = 0.1, max_set: int | None = None,
                    width: int = 16, n_classes: int = 10, seed: int = 0, device=None,
                    holdout=None, clean_predictions=None) -> TransferResult:
    """The paper's attack on ``model``: a Jacobian-augmented substitute, then FGSM transferred.

    ``seed_images`` start the substitute (:func:`train_substitute`, labels from
    querying ``model``, with its ``step`` and ``max_set``); FGSM of size ``epsilon`` on
    the substitute makes adversarial versions of ``images``, which ``model`` then
    classifies. Images: ``N x C x H x W``, uint8 or floats in [0, 1]; ``labels``: ``N``
    class indices. ``clean_predictions`` (``model``'s predictions on ``images``, when
    already known) saves those queries.
    """
    epsilon = check_epsilon(epsilon)  # now, not after the substitute's training
    start = time.perf_counter()
    x, y = as_float(images), np.asarray(labels)

    def oracle(batch):
        return predict(model, batch)

    substitute, history = train_substitute(oracle, seed_images, rounds=rounds, epochs=epochs,
                                           step=step, max_set=max_set, width=width,
                                           n_classes=n_classes, seed=seed, device=device,
                                           holdout=holdout)
    substitute = substitute.cpu()
    adversarial = fgsm(substitute, x, y, epsilon)
    clean = oracle(x) if clean_predictions is None else np.asarray(clean_predictions)
    correct = {"clean": clean == y,
               "random signs": oracle(random_sign_noise(x, epsilon, seed)) == y,
               "FGSM transfer": oracle(adversarial) == y}
    substitute_accuracy = {"clean": cnn.accuracy(substitute, x, y),
                           "FGSM (white-box)": cnn.accuracy(substitute, adversarial, y)}
    return TransferResult(correct, history, substitute_accuracy, time.perf_counter() - start)


def transfer_split(n_images: int, n_seeds: int, n_evaluation: int | None, seed: int = 0,
                   n_holdout: int = 1000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices (sorted) into ``n_images`` test images for the transfer attack.

    ``seeds``: the attacker's ``n_seeds`` seed images; ``evaluation``: ``n_evaluation``
    of the others (None: all of them), attacked and scored; ``holdout``: up to
    ``n_holdout`` images on which the substitute's agreement with its target is
    measured, drawn from the images in neither set (from ``evaluation`` when it takes
    all the others). They are drawn, in this order, from one generator seeded with
    ``seed`` (``evaluation`` is not drawn when it takes all the others).
    """
    if not 0 < n_seeds < n_images or (n_evaluation is not None and n_evaluation < 1):
        raise ValueError(f"the transfer attack needs 1..{n_images - 1} seed images and at "
                         f"least one image to evaluate, got {n_seeds} seeds of {n_images} "
                         f"images and n_evaluation={n_evaluation}")
    rng = np.random.default_rng(seed_number(seed))
    seeds = np.sort(rng.choice(n_images, size=n_seeds, replace=False))
    rest = np.setdiff1d(np.arange(n_images), seeds)
    evaluation = rest if n_evaluation is None else np.sort(
        rng.choice(rest, size=min(n_evaluation, len(rest)), replace=False))
    # disjoint from the evaluation images where any are left over (possibly fewer than
    # n_holdout); else shared with them
    spare = rest[~np.isin(rest, evaluation)] if len(rest) > len(evaluation) else evaluation
    holdout = np.sort(rng.choice(spare, size=min(n_holdout, len(spare)), replace=False))
    return seeds, evaluation, holdout


def transfer_summary(t: TransferResult) -> dict:
    """One target's row of the transfer table: the oracle queries and the substitute's
    agreement after the last round, the target's accuracy (%) on each kind of input, the
    substitute's own accuracy (%), and the seconds taken."""
    if not t.history:
        raise ValueError("the transfer result has no substitute rounds")
    last = t.history[-1]
    return {"oracle queries": last["oracle_queries"],  # NaN: trained without a holdout
            "substitute agrees with target (%)": 100 * last.get("holdout_agreement",
                                                                float("nan")),
            "agreement by chance (%)": 100 * last.get("holdout_chance", float("nan")),
            **{f"target accuracy, {kind} (%)": 100 * t.accuracy(kind) for kind in t.correct},
            **{f"substitute accuracy, {kind} (%)": 100 * a
               for kind, a in t.substitute_accuracy.items()},
            "seconds": t.seconds}


def random_sign_noise(images, epsilon: float, seed: int = 0) -> torch.Tensor:
    """``clip(x + epsilon * s)`` with random signs ``s``: FGSM's step without its direction
    (a control). ``images``: ``N x C x H x W``, uint8 or floats in [0, 1]; returns the same
    shape, float32 in [0, 1]."""
    epsilon = check_epsilon(epsilon)
    x = as_float(images)
    gen = torch.Generator().manual_seed(seed_number(seed))
    s = torch.randint(0, 2, x.shape, generator=gen).float() * 2 - 1
    return (x + epsilon * s).clamp(0, 1)


def paired_difficulty(target, reference, n_boot: int = 2000, seed: int = 0) -> dict:
    """Two models attacked on the same images: per image, the target's minimal perturbation
    over the reference's (``target`` / ``reference``: ``N`` distances, inf where the attack
    found none). Images neither model was fooled on say nothing and are dropped.

    Returns ``ratio`` (the median per-image ratio), ``low`` / ``high`` (its 95% percentile
    bootstrap interval over the images), ``larger`` / ``smaller`` (images where the target
    needed the larger / the smaller perturbation), ``images`` (those compared), ``target_only`` and
    ``reference_only`` (images fooled on that model alone). An image fooled on one model
    only counts as an infinite ratio either way. The median is the usual one (of an even
    number of ratios, the geometric mean of the middle two), except where the middle two
    are 0 and inf, where it is the lower (it is 0 or inf when such images are half or
    more); the interval's ends are observed bootstrap medians (no interpolation).
    """
    whole_number("n_boot", n_boot)  # 0 failed in numpy's indexing
    if any(np.asarray(v).dtype == bool for v in (target, reference)):  # "fooled" flags
        raise ValueError("need perturbation sizes (inf where none was found), not "
                         "fooled/not-fooled flags")
    t, r = np.asarray(target, np.float64), np.asarray(reference, np.float64)
    if t.shape != r.shape or t.ndim != 1:
        raise ValueError(f"need two 1-D arrays of distances over the same images, got "
                         f"shapes {t.shape} and {r.shape}")
    if np.isnan(t).any() or np.isnan(r).any():
        raise ValueError("distances are NaN: an attack that found nothing has distance inf")
    if (t < 0).any() or (r < 0).any():
        raise ValueError("perturbation sizes cannot be negative")
    keep = np.isfinite(t) | np.isfinite(r)
    t, r = t[keep], r[keep]
    if len(t) == 0:
        return {"ratio": float("nan"), "low": float("nan"), "high": float("nan"),
                "larger": 0, "smaller": 0, "images": 0, "target_only": 0,
                "reference_only": 0}
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log(t) - np.log(r)          # +inf: only the reference was fooled
    log_ratio[(t == 0) & (r == 0)] = 0.0

    def median(values):  # of log ratios; the lower median once read "0.40" for 0.59
        v = np.sort(values)
        lower, upper = v[(len(v) - 1) // 2], v[len(v) // 2]
        if np.isinf(lower) and np.isinf(upper) and lower != upper:  # -inf and +inf
            return float(lower)
        return float((lower + upper) / 2)
    gen = np.random.default_rng(seed_number(seed))
    boot = [median(log_ratio[gen.integers(0, len(t), len(t))]) for _ in range(int(n_boot))]
    low, high = np.quantile(boot, [0.025, 0.975], method="inverted_cdf")
    return {"ratio": float(np.exp(median(log_ratio))), "low": float(np.exp(low)),
            "high": float(np.exp(high)), "larger": int((log_ratio > 0).sum()),
            "smaller": int((log_ratio < 0).sum()), "images": len(t),
            "target_only": int((np.isfinite(t) & ~np.isfinite(r)).sum()),
            "reference_only": int((~np.isfinite(t) & np.isfinite(r)).sum())}


def chance_agreement(target_labels, substitute_labels, n_classes: int) -> float:
    """How often two predictors agree by chance with these label frequencies (``N`` labels
    each): ``sum_c p_target(c) * p_substitute(c)``. A substitute that answers one class
    agrees with its target at that class's share, well above ``1 / n_classes`` when the
    target favours it too."""
    a, b = np.asarray(target_labels), np.asarray(substitute_labels)
    if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
        raise ValueError(f"need two equally long 1-D label arrays, got {a.shape}, {b.shape}")
    for v in (a, b):
        if not np.issubdtype(v.dtype, np.integer) or v.min() < 0 or v.max() >= n_classes:
            raise ValueError(f"labels must be class indices 0..{n_classes - 1}, got "
                             f"{v.dtype} values from {v.min()} to {v.max()}")
    pa = np.bincount(a, minlength=n_classes) / len(a)
    pb = np.bincount(b, minlength=n_classes) / len(b)
    return float(pa @ pb)


def agreement_above_chance(agreement: float, n_images: int, n_classes: int = 10,
                           chance: float | None = None) -> bool:
    """Whether a substitute agrees with its target on more held-out images than chance
    (one-sided binomial test at 5%): ``chance`` is :func:`chance_agreement` of their
    answers where known, else guessing one of ``n_classes`` (``1 / n_classes``). A
    substitute at chance does not aim the transferred step, so it cannot show that the
    attack fails."""
    from scipy.stats import binomtest
    if n_images < 1 or not 0 <= agreement <= 1:
        raise ValueError(f"need an agreement in [0, 1] over at least one image, got "
                         f"{agreement!r} over {n_images!r}")
    level = 1 / n_classes if chance is None or not np.isfinite(chance) else chance
    if not 0 <= level <= 1:
        raise ValueError(f"chance must be in [0, 1], got {chance!r}")
    if level >= 1:
        return False
    hits = round(agreement * n_images)
    return bool(binomtest(hits, n_images, level, alternative="greater").pvalue < 0.05)
