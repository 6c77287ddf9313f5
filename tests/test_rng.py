"""Library functions that seed torch's global generator leave the caller's stream as it was."""
import numpy as np
import torch

from rdsc import baselines
from rdsc.rng import restores_global_rng


def test_a_seeding_function_leaves_the_callers_stream_alone():
    # code review: cnn.trained, deepnets.trained, the attacks and softmax_scores reset the
    # global seed, so a caller's later draws were the same whatever its own seed
    torch.manual_seed(1)
    expected = torch.rand(3)
    torch.manual_seed(1)
    r = np.random.default_rng(0)
    baselines.softmax_scores(r.normal(size=(20, 4)).astype(np.float32), np.arange(20) % 2,
                             r.normal(size=(5, 4)).astype(np.float32), epochs=1, seed=7)
    assert torch.equal(torch.rand(3), expected)

    @restores_global_rng
    def seeds_and_draws(seed):
        torch.manual_seed(seed)
        return torch.rand(2)
    assert torch.equal(seeds_and_draws(3), seeds_and_draws(3))  # its own results: seeded
    torch.manual_seed(5)
    before = torch.random.get_rng_state()
    seeds_and_draws(3)
    assert torch.equal(torch.random.get_rng_state(), before)
