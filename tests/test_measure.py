"""Peak memory of an extraction is measured in a fresh process, whatever this one holds."""
import numpy as np
import torch

from rdsc.measure import extraction_cost
from rdsc.network import RandomDepthwiseSignNet


def test_peak_memory_is_the_extractions_not_the_parents():
    parent = np.ones((300, 1024, 1024), np.uint8)  # 300 MB held here, as by a notebook kernel
    x = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8)
    cost = extraction_cost(RandomDepthwiseSignNet(256), x, device="cpu")
    assert cost["seconds"] > 0
    # the engine's working memory for 64 CIFAR images is tens of MB: more than nothing,
    # far less than the parent's 300 MB (which ru_maxrss would have reported)
    assert 1 << 20 < cost["peak_bytes"] < 250 << 20
    assert parent[0, 0, 0] == 1
