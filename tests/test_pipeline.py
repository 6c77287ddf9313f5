"""Features and the SVM of a whole dataset in one call."""

import pytest


def test_svm_on_dataset_runs_mnist_from_torchvision_files(tmp_path):
    from rdsc.data import DatasetNotFoundError
    from rdsc.pipeline import svm_on_dataset
    from test_data import write_mnist

    write_mnist(tmp_path, n_train=40, n_test=20)
    out = svm_on_dataset(
        "mnist", 16, root=tmp_path, download=False, cache=None, progress=False, device="cpu"
    )
    assert out["image shape"] == (1, 28, 28) and out["n_train"] == 40 and out["n_test"] == 20
    assert 0 <= out["topk"][1] <= out["topk"][5] <= 1
    with pytest.raises(DatasetNotFoundError):
        svm_on_dataset("mnist", 16, root=tmp_path / "none", download=False, cache=None)
