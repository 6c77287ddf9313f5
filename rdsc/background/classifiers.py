"""The classifiers chapter 8 compares on every condition: the random network +
SVM, the trained CNN (on downsampled images), colour histograms + SVM, random-weight and
trained deep nets (:func:`classifier_predictions`).
"""
from __future__ import annotations

import numpy as np

from rdsc.background.conditions import slug
from rdsc.background.models import Downsampled, downsample
from rdsc.checks import plural
from rdsc.representations import colour_histogram


def random_net_predictions(net, train_images, train_labels, conditions: dict, *, C: float = 0.005,
                           device=None, cache=True, name: str = "features"
                           ) -> dict[str, np.ndarray]:
    """The random network + linear SVM (chapter 3), trained on clean images, on every condition.

    Features come from :func:`rdsc.features.extract`, cached as ``<name>-train`` and
    ``bg-<name>-<condition>``. Returns ``{condition: predicted labels, length N}``.
    """
    from rdsc.classify import LinearSVM
    from rdsc.features import extract
    train = extract(net, train_images, cache=cache, name=f"{name}-train", device=device,
                    progress=False)
    svm = LinearSVM(C=C, device=device).fit(train, np.asarray(train_labels))
    return {cond: svm.predict(extract(net, images, cache=cache, name=f"bg-{name}-{slug(cond)}",
                                      device=device, progress=False))
            for cond, images in conditions.items()}


def model_predictions(model, conditions: dict) -> dict[str, np.ndarray]:
    """A torch classifier (floats in [0, 1] -> logits) on every condition.

    Returns ``{condition: labels}``.
    """
    from rdsc.cnn import logits
    return {cond: logits(model, images).argmax(1).numpy() for cond, images in conditions.items()}


#: the colour-only reference's settings, as the chapter runs it and states them
HISTOGRAM_BINS, HISTOGRAM_C = 8, 0.01


class HistogramSVM:
    """The "colour only" reference: a linear SVM on joint RGB histograms of the whole image.

    Histograms (``bins**3`` cells) are standardised with the training set's mean and
    standard deviation, so that ``C`` means the same whatever the number of bins.
    """

    def __init__(self, bins: int = HISTOGRAM_BINS, C: float = HISTOGRAM_C, device=None):
        self.bins, self.C, self.device = bins, C, device

    def _features(self, images):
        h = colour_histogram(images, bins=self.bins)
        return ((h - self.mean_) / self.scale_).astype(np.float32)

    def fit(self, images, labels) -> "HistogramSVM":
        """Standardise the training histograms and fit the linear SVM on them."""
        from rdsc.classify import LinearSVM
        h = colour_histogram(images, bins=self.bins)
        self.mean_, std = h.mean(0), h.std(0)
        self.scale_ = np.where(std > 0, std, 1.0)
        self.svm_ = LinearSVM(C=self.C, device=self.device).fit(self._features(images),
                                                                np.asarray(labels))
        return self

    def predict(self, images) -> np.ndarray:
        """The predicted label of each image."""
        if not hasattr(self, "svm_"):
            raise RuntimeError("call fit(images, labels) before predict")
        return self.svm_.predict(self._features(images))

    def predictions(self, conditions: dict) -> dict[str, np.ndarray]:
        """``{condition: predicted labels}`` for every condition's images."""
        return {cond: self.predict(images) for cond, images in conditions.items()}


def trained_deepnet_predictions(arch: str, train_images, train_labels, conditions: dict, *,
                                epochs: int, seed: int | None = None, device=None,
                                origins: dict | None = None) -> dict[str, np.ndarray]:
    """Chapter 4's ``arch`` trained end to end (``rdsc.deepnets.trained``, from its model
    cache when chapter 4 trained it on the same images; ``seed``: its ``SHARED_SEED``
    unless given) on every condition: ``{condition: predicted labels}``. ``origins``: a
    dict that gets ``{arch: where the model came from}`` (:func:`rdsc.model_cache.provenance`)."""
    from rdsc import deepnets, model_cache
    model = deepnets.trained(arch, train_images, train_labels, epochs=epochs,
                             seed=deepnets.SHARED_SEED if seed is None else seed,
                             device=device, progress=False)
    if origins is not None:
        origins[arch] = model_cache.provenance(model)
    return model_predictions(model, conditions)


def random_deepnet_predictions(arch: str, train_images, train_labels, conditions: dict, *,
                               seed: int, n_calibration: int, C: float = 0.005,
                               device=None) -> dict[str, np.ndarray]:
    """Chapter 4's final-layer-only baseline on every condition: a frozen random-weight
    ``arch`` (batch norm recalibrated on ``n_calibration`` training images), its pooled
    representation z-scored, the paper's linear SVM trained on clean images.
    Returns ``{condition: predicted labels}``."""
    from rdsc.baselines import calibration_subset, svm_scores
    from rdsc.deepnets import random_embeddings
    calib = train_images[calibration_subset(len(train_images), n_calibration, seed)]
    names = list(conditions)
    train_f, *test_f = random_embeddings(arch, calib, [train_images, *conditions.values()],
                                         seed=seed, n_classes=int(np.max(train_labels)) + 1,
                                         device=device)
    # one SVM for every condition: fitted on clean images, scored on the stacked conditions
    scores, _ = svm_scores(train_f, train_labels, np.concatenate(test_f), C=C, scale=True,
                           device=device)
    bounds = np.cumsum([0] + [len(f) for f in test_f])
    return {name: scores[lo:hi].argmax(1) for name, lo, hi in zip(names, bounds[:-1], bounds[1:])}


#: The chapter's settings that :func:`classifier_predictions` takes, per dataset or not.
CLASSIFIER_SETTINGS = ("cnn_pool", "cnn_epochs", "trained_deepnets", "deepnet_epochs",
                       "random_deepnets", "random_deepnet_seeds", "n_calibration")


def classifier_settings(settings: dict, dataset: str) -> dict:
    """The keyword arguments of :func:`classifier_predictions` for ``dataset`` from a
    profile's settings: of a setting given per dataset (a dict), ``dataset``'s value."""
    return {key: settings[key][dataset] if isinstance(settings[key], dict) else settings[key]
            for key in CLASSIFIER_SETTINGS}


def classifier_predictions(nets: list, train_images, train_labels, conditions: dict, *,
                           name: str, cnn_pool: int, cnn_epochs: int,
                           trained_deepnets=(), deepnet_epochs: int = 1,
                           random_deepnets=(), random_deepnet_seeds: int = 1,
                           n_calibration: int = 250, seed: int = 0, C: float = 0.005,
                           device=None, cache=True, origins: dict | None = None
                           ) -> tuple[dict[str, list[dict]], Downsampled]:
    """Every classifier of the chapter, trained on the clean training images, on every
    condition.

    * ``random network + SVM``: one prediction per network of ``nets``
      (:func:`random_net_predictions`, features cached under ``name``);
    * ``trained CNN``: :class:`rdsc.cnn.SmallCNN` on images pooled by ``cnn_pool``,
      trained for ``cnn_epochs`` with ``seed`` (model cache ``bg-<name>``);
    * ``colour histogram + SVM``: :class:`HistogramSVM` with :data:`HISTOGRAM_BINS` bins
      per channel and ``C`` = :data:`HISTOGRAM_C`;
    * ``<arch>, trained <n> epochs`` for each of ``trained_deepnets``
      (:func:`trained_deepnet_predictions`) and ``<arch>, random, final layer`` for each
      of ``random_deepnets``, one per seed ``0..random_deepnet_seeds - 1``
      (:func:`random_deepnet_predictions`).

    Returns ``(predictions, trained CNN)``: ``{classifier: [{condition: N labels}, ...]}``
    (one dict per network or model) and the CNN in its :class:`Downsampled` wrapper.
    ``cache`` reaches the random networks' features and the small CNN; the deep networks
    use the model cache of :mod:`rdsc.deepnets` either way. ``origins``: a dict that gets,
    for each trained model, where it came from (:func:`rdsc.model_cache.provenance`: a
    cached model may have been trained on another device, with other weights).
    """
    from rdsc import cnn, model_cache
    predictions = {"random network + SVM": [
        random_net_predictions(net, train_images, train_labels, conditions, C=C,
                               device=device, cache=cache, name=name)
        for net in nets]}
    small = cnn.trained(downsample(train_images, cnn_pool), train_labels, epochs=cnn_epochs,
                        seed=seed, cache=cache, name=f"bg-{name}", device=device,
                        progress=False)
    trained_cnn = Downsampled(small, cnn_pool).eval()
    if origins is not None:
        origins["trained CNN"] = model_cache.provenance(small)
    predictions["trained CNN"] = [model_predictions(trained_cnn, conditions)]
    histogram = HistogramSVM(HISTOGRAM_BINS, HISTOGRAM_C, device).fit(train_images,
                                                                      train_labels)
    predictions["colour histogram + SVM"] = [histogram.predictions(conditions)]
    for arch in trained_deepnets:
        predictions[f"{arch}, trained {plural(deepnet_epochs, 'epoch')}"] = [
            trained_deepnet_predictions(arch, train_images, train_labels, conditions,
                                        epochs=deepnet_epochs, device=device,
                                        origins=origins)]
    for arch in random_deepnets:
        predictions[f"{arch}, random, final layer"] = [
            random_deepnet_predictions(arch, train_images, train_labels, conditions, seed=s,
                                       n_calibration=n_calibration, C=C, device=device)
            for s in range(random_deepnet_seeds)]
    return predictions, trained_cnn
