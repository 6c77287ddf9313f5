"""The authors' second classifier: a small MLP trained on the random features.

Their CIFAR-10 script (``cifar10/sgd_1m.py`` in their repository, TensorFlow) fits, on the
``k`` features::

    Linear(k, 1000) -> BatchNorm1d(1000) -> sigmoid -> Linear(1000, classes)

with a cross-entropy loss and Nesterov SGD (momentum 0.9, learning rate 0.001 divided by 10
at epochs 100 and 200, 239 epochs of mini-batches of 100 taken in file order). Their Corel
script (``corel/mlp.py``) puts a ``BatchNorm1d(k)`` before the first layer. :class:`MLPHead`
is the Corel form, used for both: the input normalisation lets one learning rate serve
feature counts of any ``k``. :class:`MLPClassifier` trains it like
:class:`rdsc.classify.LinearSVM` is used (``fit``, ``decision_function``, ``predict``),
reading a :class:`rdsc.features.FeatureArray` (integer counts) once into memory (the GPU's
where it fits) and dividing each mini-batch on the device.

Training, as this book runs it (not the authors' 239 epochs, which the CPU profiles cannot
afford): Adam, learning rate ``lr`` decayed to 0 along a cosine over the epochs,
mini-batches of ``batch_size`` shuffled images, ``epochs`` passes, no weight decay; initial
weights from ``seed``. Chapter 6 trains the same head with the authors' Corel recipe
(:func:`fit_mlp`) and ranks images by its hidden layer (:func:`mlp_embedding`).
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rdsc.checks import positive_number, seed_number, whole_number
from rdsc.classify import training_classes
from rdsc.data import class_indices
from rdsc.features import FeatureArray, as_matrix, default_device
from rdsc.paper import MLP_HIDDEN
from rdsc.threads import fixed_threads


class MLPHead(nn.Module):
    """``N x k`` features -> ``N x classes`` logits.

    Layers: BatchNorm, Linear, BatchNorm, sigmoid, Linear. The sigmoid layer's outputs
    (:meth:`embed`) are the authors' retrieval representation (chapter 6).
    """

    def __init__(self, n_features: int, n_classes: int, hidden: int = MLP_HIDDEN):
        super().__init__()
        self.layers = nn.Sequential(
            nn.BatchNorm1d(n_features),
            nn.Linear(n_features, hidden),
            nn.BatchNorm1d(hidden),
            nn.Sigmoid(),
            nn.Linear(hidden, n_classes),
        )

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """``N x k`` features -> ``N x hidden`` sigmoid outputs, in (0, 1)."""
        return self.layers[:4](x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The logits (``N x classes``) of the features ``x`` (``N x k``)."""
        return self.layers[4](self.embed(x))


class _Store:
    """The rows of ``X`` in memory as compact integers (or float32), divided on the device."""

    def __init__(self, X, device: torch.device):
        if isinstance(X, FeatureArray):
            counts = X.counts  # a read-only memory map is read into memory once
            if not (counts.flags.writeable and counts.flags.c_contiguous):
                counts = np.array(counts)
            self.data, self.scale = torch.from_numpy(counts), 1.0 / X.denominator
        else:
            self.data, self.scale = torch.as_tensor(np.asarray(X, dtype=np.float32)), 1.0
            if not torch.isfinite(self.data).all():
                raise ValueError("features contain NaN or infinite values")
        if device.type == "cuda":
            torch.cuda.empty_cache()  # memory the feature engine or the SVM left cached is free
            free = torch.cuda.mem_get_info(device)[0]
            if self.data.numel() * self.data.element_size() < 0.5 * free:
                self.data = self.data.to(device)
        self.device = device

    def __len__(self):
        return self.data.shape[0]

    def rows(self, idx: torch.Tensor) -> torch.Tensor:
        block = self.data[idx.to(self.data.device)].to(self.device, non_blocking=True)
        return block.float() * self.scale


class MLPClassifier:
    """Trains :class:`MLPHead` on ``N x k`` features.

    Args:
        hidden: width of the hidden layer (the authors: 1000).
        epochs: passes over the training images.
        batch_size: images per Adam step.
        lr: Adam's initial learning rate (cosine decay to 0 over the epochs).
        weight_decay: Adam's L2 term (the book: 0).
        seed: initial weights and the order of mini-batches.
        device: default CUDA when present, else the CPU.

    After :meth:`fit`: ``classes_``, ``model_``, ``history_`` (one row per epoch:
    ``{"epoch", "loss", "running train top-1 (%)", "seconds"}``, the top-1 counted on each
    mini-batch as it was trained on, in training mode), ``train_top1_`` (the trained head's
    top-1 in % on all its training images, in evaluation mode) and ``fit_seconds_``.
    """

    def __init__(
        self,
        hidden: int = MLP_HIDDEN,
        epochs: int = 10,
        batch_size: int = 128,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        seed: int = 0,
        device=None,
        verbose: bool = False,
    ):
        for name, value in (("hidden", hidden), ("epochs", epochs), ("batch_size", batch_size)):
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if batch_size < 2:
            raise ValueError("batch_size must be at least 2 (BatchNorm needs two images)")
        if not (math.isfinite(lr) and lr > 0) or not (
            math.isfinite(weight_decay) and weight_decay >= 0
        ):
            raise ValueError(f"need lr > 0 and weight_decay >= 0, got {lr!r}, {weight_decay!r}")
        self.hidden, self.epochs, self.batch_size = int(hidden), int(epochs), int(batch_size)
        self.lr, self.weight_decay = float(lr), float(weight_decay)
        self.seed = whole_number("seed", seed, at_least=0)  # 2.7 was read as 2
        self.device = torch.device(device) if device is not None else default_device()
        self.verbose = verbose

    def fit(self, X, y):
        """Fit on ``X`` (``N x k``: array, tensor or FeatureArray) and labels ``y`` (``N``)."""
        X, y = _with_shape(X), np.asarray(y)
        if len(X.shape) != 2 or y.ndim != 1 or X.shape[0] != len(y):
            raise ValueError(f"need X of N x k and N labels, got {tuple(X.shape)} and {y.shape}")
        self.classes_ = training_classes(y)
        if len(y) < 2:
            raise ValueError("need at least two training images")
        start = time.perf_counter()
        store = _Store(X, self.device)
        target = torch.as_tensor(np.searchsorted(self.classes_, y), device=self.device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            self.model_ = MLPHead(X.shape[1], len(self.classes_), self.hidden).to(self.device)
        order = torch.Generator().manual_seed(self.seed)
        steps = self.epochs * max(1, len(y) // self.batch_size)
        opt = torch.optim.Adam(self.model_.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps))
        )
        loss_fn = nn.CrossEntropyLoss()
        self.history_ = []
        self.model_.train()
        for epoch in range(1, self.epochs + 1):
            t0, total, hits, seen = time.perf_counter(), 0.0, 0, 0
            perm = torch.randperm(len(y), generator=order)
            n_full = max(1, len(y) // self.batch_size) * self.batch_size
            # whole batches only: a last batch of one image would break BatchNorm
            for lo in range(0, min(n_full, len(y)), self.batch_size):
                idx = perm[lo : lo + self.batch_size]
                logits = self.model_(store.rows(idx))
                loss = loss_fn(logits, target[idx.to(self.device)])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                schedule.step()
                total += float(loss.detach()) * len(idx)
                hits += int((logits.argmax(1) == target[idx.to(self.device)]).sum())
                seen += len(idx)
            row = {
                "epoch": epoch,
                "loss": total / seen,
                "running train top-1 (%)": 100 * hits / seen,
                "seconds": time.perf_counter() - t0,
            }
            self.history_.append(row)
            if self.verbose:
                print(
                    f"epoch {epoch}: loss {row['loss']:.4f}, "
                    f"running train top-1 {row['running train top-1 (%)']:.2f}%, "
                    f"{row['seconds']:.0f} s",
                    flush=True,
                )
        self.model_.eval()
        self.fit_seconds_ = time.perf_counter() - start
        # the running figure mixes a whole epoch's changing weights and batch statistics
        # (note 21): what the head does with its own training images is measured after,
        # from the rows already in memory (a memory-mapped X is not read again)
        with torch.no_grad():
            hits = sum(int((self.model_(store.rows(idx)).argmax(1)
                            == target[idx.to(self.device)]).sum())
                       for idx in torch.arange(len(y)).split(4096))
        self.train_top1_ = 100 * hits / len(y)
        return self

    @torch.no_grad()
    def decision_function(self, X, block_rows: int = 4096) -> np.ndarray:
        """Logits, ``N x classes`` (float32), in row blocks."""
        if not hasattr(self, "model_"):
            raise RuntimeError("this MLPClassifier is not fitted yet: call fit(X, y) first")
        X = _with_shape(X)
        whole_number("block_rows", block_rows)
        k = self.model_.layers[1].in_features
        if len(X.shape) != 2 or X.shape[1] != k:
            raise ValueError(
                f"X must be N x {k} (the features it was fitted on), got shape {tuple(X.shape)}"
            )
        out = []
        for lo in range(0, X.shape[0], block_rows):
            rows = np.asarray(X[lo : lo + block_rows], dtype=np.float32)
            if not np.isfinite(rows).all():  # NaN rows all came out as class 0
                raise ValueError("X holds NaN or infinite features")
            block = torch.as_tensor(rows, device=self.device)
            out.append(self.model_(block).float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, len(self.classes_)), np.float32)

    def predict(self, X) -> np.ndarray:
        """The class with the largest logit, for each row of ``X``."""
        return self.classes_[self.decision_function(X).argmax(1)]


def _with_shape(X):
    """``X`` as it is when it has a shape (array, tensor, FeatureArray), else as an array
    (a list of rows)."""
    return X if hasattr(X, "shape") else np.asarray(X, dtype=np.float32)


# --- the authors' Corel recipe (chapter 6) -----------------------------------------------------

def fit_mlp(features, labels, *, hidden: int = 1000, epochs: int = 9, batch_size: int = 2,
            lr: float = 1e-3, seed: int = 2018, device=None) -> MLPHead:
    """Train :class:`rdsc.mlp_head.MLPHead` on ``features`` (``N x k``) and ``labels``
    (``N``) as the authors did on Corel (``corel/mlp.py``): SGD, lr 0.001, Nesterov momentum
    0.9, weight decay 1e-4, batch 2, cross-entropy, ``epochs`` passes (they ran 9). The order
    is shuffled each epoch (the authors' loader did not shuffle a database stored class by
    class). Initial weights from ``seed``, without touching torch's global generator.
    Returned in eval mode.
    """
    x = torch.from_numpy(as_matrix(features))
    labels = class_indices(labels)
    if labels.ndim != 1 or len(x) != len(labels):
        raise ValueError(f"need one label per feature row: {len(x)} rows, labels of shape "
                         f"{labels.shape}")
    y = torch.as_tensor(labels, dtype=torch.long)
    whole_number("epochs", epochs)
    whole_number("batch_size", batch_size, at_least=2)  # batch norm needs two rows
    whole_number("hidden", hidden)
    whole_number("seed", seed, at_least=0)
    positive_number("lr", lr)
    if len(x) < batch_size or len(np.unique(labels)) < 2:  # nothing to learn: untrained
        raise ValueError(f"need at least batch_size = {batch_size} rows and two classes, got "
                         f"{len(x)} rows of {len(np.unique(labels))} class(es)")
    device = torch.device(device) if device is not None else torch.device("cpu")
    gen = torch.Generator().manual_seed(seed_number(seed))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed_number(seed))
        model = MLPHead(x.shape[1], int(y.max()) + 1, hidden).to(device).train()
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=1e-4, nesterov=True)
    # batches of 2 rows are far too small to share between CPU threads: one thread is faster
    # (2.5 times on a busy 2-core machine), and its sums do not depend on the core count
    with fixed_threads(1, device):
        for _ in range(epochs):
            order = torch.randperm(len(x), generator=gen)
            for lo in range(0, len(x), batch_size):
                idx = order[lo:lo + batch_size]
                if len(idx) < 2:   # batch norm cannot train on one row
                    continue
                loss = F.cross_entropy(model(x[idx].to(device)), y[idx].to(device))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
    return model.eval()


@torch.no_grad()
def mlp_embedding(model: MLPHead, features, batch_size: int = 256) -> np.ndarray:
    """``N x hidden`` sigmoid layer of a trained :class:`MLPHead` (an
    :class:`MLPClassifier`'s is its ``model_``)."""
    if not isinstance(model, MLPHead):
        raise TypeError(f"need an MLPHead, got {type(model).__name__}"
                        + (": pass its .model_" if hasattr(model, "model_") else ""))
    x = torch.from_numpy(as_matrix(features))
    k = model.layers[0].num_features  # the input normalisation: one entry per feature
    if x.shape[1] != k:
        raise ValueError(f"features must be N x {k} (what the head was trained on), got "
                         f"{tuple(x.shape)}")
    whole_number("batch_size", batch_size)
    device = next(model.parameters()).device
    model.eval()
    return torch.cat([model.embed(x[lo:lo + batch_size].to(device)).cpu()
                      for lo in range(0, len(x), batch_size)]).numpy()
