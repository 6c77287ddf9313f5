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

    def over(seed_list, k, **options):  # the same images every time
        return seeds.accuracy_over_seeds("cifar10", seed_list, k, images[tr], labels[tr],
                                         images[te], labels[te], device="cpu", **options)
    rows = over([1, 2], 16, C=0.1, cache=None, progress=False)
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
    again = over([5], 16, C=0.1, known=known)
    assert again[0]["seed"] == 5
    with pytest.raises(ValueError, match="not k"):
        over([5], 8, known=known)


def test_repeated_seeds_and_features_of_other_images_are_refused():
    # probe J11: [1, 1, 1] gave three identical rows (a narrower interval); known features
    # of other images were used because only k was checked
    x = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    y = np.arange(8) % 2
    with pytest.raises(ValueError, match="each once"):
        seeds.accuracy_over_seeds("cifar10", [1, 1], 4, x, y, x, y, cache=False)
    other = np.zeros((5, 4), np.float32)
    with pytest.raises(ValueError, match="not of these 8 / 8"):
        seeds.accuracy_over_seeds("cifar10", [1], 4, x, y, x, y, known={1: (other, other)},
                                  cache=False)
