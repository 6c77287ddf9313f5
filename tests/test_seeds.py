"""Accuracy over several draws of the random weights."""

import numpy as np
import pytest
import torch

from rdsc import seeds


def test_accuracy_over_seeds_extracts_each_seed_and_reuses_known(monkeypatch):
    r = np.random.default_rng(0)
    labels = np.arange(60) % 2
    images = torch.as_tensor(r.integers(0, 100, (60, 3, 16, 16), dtype=np.uint8))
    images[labels == 1] += 120  # brighter class: easy to tell apart
    tr, te = slice(0, 40), slice(40, 60)
    rows = seeds.accuracy_over_seeds(
        "cifar10",
        [1, 2],
        16,
        images[tr],
        labels[tr],
        images[te],
        labels[te],
        C=0.1,
        device="cpu",
        cache=None,
        progress=False,
    )
    assert [row["seed"] for row in rows] == [1, 2]
    assert all(row["top-1 (%)"] > 80 for row in rows)

    def no_extraction(*args, **kwargs):
        raise AssertionError("a known seed must not be extracted again")

    from rdsc.features import extract
    from rdsc.network import RandomDepthwiseSignNet

    net = RandomDepthwiseSignNet.for_dataset("cifar10", 16, seed=5)
    known = {
        5: (extract(net, images[tr], progress=False), extract(net, images[te], progress=False))
    }
    monkeypatch.setattr(seeds, "extract", no_extraction)
    again = seeds.accuracy_over_seeds(
        "cifar10",
        [5],
        16,
        images[tr],
        labels[tr],
        images[te],
        labels[te],
        C=0.1,
        device="cpu",
        known=known,
    )
    assert again[0]["seed"] == 5
    with pytest.raises(ValueError, match="not k"):
        seeds.accuracy_over_seeds(
            "cifar10",
            [5],
            8,
            images[tr],
            labels[tr],
            images[te],
            labels[te],
            device="cpu",
            known=known,
        )
