"""Features and the SVM of a whole dataset in one call."""

import numpy as np
import pytest


def write_grey_levels_mnist(root, gap, n_train=48, n_test=30, classes=3):
    """MNIST files whose label is the brightness: class c adds ``gap * c`` to noise 0..119."""
    from test_data import write_idx

    r = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        y = r.permutation(np.arange(n) % classes).astype(np.uint8)  # train and test differ
        x = r.integers(0, 120, (n, 28, 28)) + gap * y[:, None, None]
        write_idx(root / "MNIST" / "raw" / f"{prefix}-images-idx3-ubyte", x)
        write_idx(root / "MNIST" / "raw" / f"{prefix}-labels-idx1-ubyte", y)


def test_svm_on_dataset_runs_mnist_from_torchvision_files(tmp_path):
    from rdsc.data import DatasetNotFoundError
    from rdsc.dataset_svm import svm_on_dataset
    from test_data import write_mnist

    write_mnist(tmp_path, n_train=40, n_test=20)
    out = svm_on_dataset(
        "mnist", 16, root=tmp_path, download=False, cache=None, progress=False, device="cpu"
    )
    assert out["image shape"] == (1, 28, 28) and out["n_train"] == 40 and out["n_test"] == 20
    assert 0 <= out["topk"][1] <= out["topk"][5] <= 1
    with pytest.raises(DatasetNotFoundError):
        svm_on_dataset("mnist", 16, root=tmp_path / "none", download=False, cache=None)


def test_svm_on_dataset_learns_labels_and_matches_a_fit_by_hand(tmp_path):
    # random labels let a score against the wrong labels, or a dropped C or seed,
    # pass; here the labels can be learnt and the result is rebuilt by hand
    from rdsc import data
    from rdsc.classify import LinearSVM, topk_accuracy
    from rdsc.features import extract
    from rdsc.network import RandomDepthwiseSignNet
    from rdsc.dataset_svm import svm_on_dataset

    kw = dict(root=tmp_path, download=False, cache=None, progress=False, device="cpu")
    write_grey_levels_mnist(tmp_path, gap=60)
    out = svm_on_dataset("mnist", 16, n_train=36, n_test=24, **kw)
    assert (out["n_train"], out["n_test"]) == (36, 24) and out["topk"][1] > 0.9

    # a faint signal, so that top-1 depends on C and on the network's seed
    write_grey_levels_mnist(tmp_path, gap=10)
    out = svm_on_dataset("mnist", 16, n_train=36, n_test=24, C=1e-5, seed=3, **kw)
    train_x, train_y, _ = data.load("mnist", "train", tmp_path, download=False)
    test_x, test_y, _ = data.load("mnist", "test", tmp_path, download=False)
    tr, te = data.subset(train_y, 36, seed=0), data.subset(test_y, 24, seed=1)
    net = RandomDepthwiseSignNet.for_dataset("mnist", 16, seed=3)
    f = {name: extract(net, x, device="cpu", progress=False)
         for name, x in (("train", train_x[tr]), ("test", test_x[te]))}
    svm = LinearSVM(C=1e-5, device="cpu").fit(f["train"], train_y[tr].numpy())
    hand = topk_accuracy(svm.decision_function(f["test"]), test_y[te].numpy(),
                         classes=svm.classes_)
    assert out["topk"] == pytest.approx(hand) and out["topk"][1] < 0.9
    for other in (dict(C=1e-5), dict(seed=3)):  # the paper's seed, the paper's C
        assert svm_on_dataset("mnist", 16, n_train=36, n_test=24, **other, **kw)["topk"] != hand
