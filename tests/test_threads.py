import pytest
import torch

from rdsc.threads import fixed_threads


@pytest.fixture
def two_threads():
    """torch on 2 threads during the test (so that 1 differs from it), as before after."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_fixed_threads_sets_the_count_and_gives_it_back(two_threads):
    with fixed_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2
    with pytest.raises(RuntimeError, match="inside"):  # also when the block raises
        with fixed_threads(1, "cpu"):
            raise RuntimeError("inside")
    assert torch.get_num_threads() == 2


def test_fixed_threads_leaves_the_count_alone_for_a_gpu(two_threads, monkeypatch):
    from rdsc import features
    monkeypatch.setattr(features, "as_device", lambda d: torch.device("cuda"))  # no GPU here
    with fixed_threads(1, "cuda"):
        assert torch.get_num_threads() == 2


def test_fixed_threads_reads_the_device_as_the_rest_of_rdsc(two_threads, monkeypatch):
    """Once "auto" (accepted everywhere else) raised torch's RuntimeError."""
    from rdsc import features
    monkeypatch.setattr(features, "default_device", lambda: torch.device("cpu"))
    for device in (None, "auto", "cpu", torch.device("cpu")):
        with fixed_threads(1, device):
            assert torch.get_num_threads() == 1
    with pytest.raises(ValueError, match="device must be"):
        with fixed_threads(1, "gpu"):
            pass


@pytest.mark.parametrize("n", [0, 1.5, True])
def test_fixed_threads_refuses_a_count_that_is_not_one_or_more(n):
    with pytest.raises(ValueError, match="whole number"):
        with fixed_threads(n):
            pass
