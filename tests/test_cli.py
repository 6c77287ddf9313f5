"""``python -m rdsc features`` and ``python -m rdsc evaluate``: files, resume, help, one-line
errors."""
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rdsc import data, features
from rdsc.cli import main
from rdsc.features import extract
from rdsc.network import RandomDepthwiseSignNet
from rdsc.streaming import ImageFolderStream

from test_streaming import make_folder

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def folder(tmp_path):
    return make_folder(tmp_path / "images", n=24)


def run(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_features_then_evaluate_on_an_image_folder(folder, tmp_path, capsys):
    train, test = tmp_path / "train.npy", tmp_path / "test.npy"
    code, out, _ = run(["features", folder, "--k", 16, "--out", train, "--workers", 0], capsys)
    assert code == 0 and "24 x 16 float32 features" in out
    net = RandomDepthwiseSignNet.for_dataset("cifar10", 16)  # a folder gets CIFAR's K=5, L=1
    stream = ImageFolderStream(folder, "train")
    assert np.array_equal(np.load(train), np.asarray(extract(net, stream, progress=False)))
    assert np.array_equal(np.load(tmp_path / "train.labels.npy"), stream.labels)
    record = json.loads((tmp_path / "train.json").read_text())
    assert record["classes"] == ["ant", "bee", "cat"] and record["split"] == "train"
    code, _, _ = run(["features", folder, "--split", "test", "--k", 16, "--out", test,
                      "--dtype", "counts"], capsys)
    assert code == 0 and np.load(test).dtype == np.int16
    code, out, _ = run(["evaluate", train, test, "--top", 1, 2, "--k", 8, 16,
                        "--json", tmp_path / "r.json"], capsys)
    assert code == 0 and "top-1" in out and "top-2" in out
    results = json.loads((tmp_path / "r.json").read_text())["results"]
    assert [r["k"] for r in results] == [8, 16]
    # an evaluate that fitted every row on all the features passed "0 <= top-2 <= 1"
    from rdsc.classify import LinearSVM, topk_accuracy
    from rdsc.feature_files import load_features
    (x_train, y_train, _), (x_test, y_test, _) = load_features(train), load_features(test)
    for row in results:
        svm = LinearSVM(C=0.005).fit(x_train.columns(row["k"]), y_train)
        acc = topk_accuracy(svm.decision_function(x_test.columns(row["k"])), y_test, (1, 2),
                            classes=svm.classes_)
        assert (row["top-1"], row["top-2"]) == pytest.approx((acc[1], acc[2]), abs=1e-9)
    # the training file given as the test file was scored as a test accuracy
    code, _, err = run(["evaluate", train, train], capsys)
    assert code == 1 and "train and test features are of the same images" in err
    # records that name a source but no split (the Python API's) are not refused
    for path in (train, test):
        meta = json.loads(path.with_suffix(".json").read_text())
        meta.pop("split")
        path.with_suffix(".json").write_text(json.dumps(meta))
    assert run(["evaluate", train, test], capsys)[0] == 0
    # rerunning a finished output is not refused for the disk space it already has
    from rdsc import cli
    monkeypatch_free = pytest.MonkeyPatch()
    import shutil
    real = shutil.disk_usage(tmp_path)
    monkeypatch_free.setattr(shutil, "disk_usage", lambda p: real._replace(free=100))
    try:
        code, out, err = run(["features", folder, "--k", 16, "--out", train, "--workers", 0],
                             capsys)
        assert code == 0, err
        code, _, err = run(["features", folder, "--k", 16, "--out", tmp_path / "new.npy",
                            "--workers", 0], capsys)
        assert code == 1 and "but" in err and "has 100 bytes free" in err
    finally:
        monkeypatch_free.undo()
    assert cli._size(1.5e9) == "1.5 GB" and cli._size(12e6) == "12.0 MB"


def test_a_named_dataset_uses_its_preset_and_an_interrupted_run_resumes(tmp_path, capsys,
                                                                         monkeypatch):
    make_folder(tmp_path / "root" / "cifar10", n=12, side=32)
    monkeypatch.setenv("RDSC_DATA", str(tmp_path / "root"))
    # a partial copy of a named dataset was processed under its name
    code, _, err = run(["features", "cifar10", "--split", "test", "--k", 8, "--out",
                        tmp_path / "p.npy"], capsys)
    assert code == 1 and "holds 3 classes and 12 images, not the 10 and 10,000" in err
    with pytest.raises(data.IncompleteDatasetError, match="a partial copy"):
        ImageFolderStream.for_dataset("cifar10", "test")
    # the rest of this test: this small folder stands for the whole of cifar10
    spec = data.DATASETS["cifar10"]
    monkeypatch.setitem(data.DATASETS, "cifar10", dataclasses.replace(
        spec, sizes={"train": (3, 12), "test": (3, 12)}))
    out = tmp_path / "c.npy"
    args = ["features", "cifar10", "--split", "test", "--k", 8, "--out", out, "--batch-size", 4]
    real_compute = features.compute

    def dies_after_one_batch(net, images, out, *, on_batch=None, **kw):
        def once(lo, hi, rows):
            if lo > 0:
                raise KeyboardInterrupt
            on_batch(lo, hi, rows)
        return real_compute(net, images, out, on_batch=once, **kw)
    monkeypatch.setattr(features, "compute", dies_after_one_batch)
    code, _, err = run(args, capsys)
    assert code == 130 and "run the same command again to resume" in err
    assert not out.exists() and (tmp_path / "c.partial.npy").exists()
    monkeypatch.setattr(features, "compute", real_compute)
    code, _, _ = run(args, capsys)
    assert code == 0
    stream = ImageFolderStream.for_dataset("cifar10", "test")
    expected = extract(RandomDepthwiseSignNet.for_dataset("cifar10", 8), stream, progress=False)
    assert np.array_equal(np.load(out), np.asarray(expected))
    code, _, _ = run(["features", "cifar10", "--k", 8, "--out", tmp_path / "s.npy",
                      "--preset", "stl10", "--seed", 5], capsys)
    network = json.loads((tmp_path / "s.json").read_text())["network"]
    assert code == 0 and (network["kernel_size"], network["n_blocks"], network["seed"]) == (3, 3, 5)


def test_help_explains_both_commands(capsys):
    for args in ([], ["features"], ["evaluate"]):
        with pytest.raises(SystemExit) as exit_:
            main([*args, "--help"])
        assert exit_.value.code == 0
    text = capsys.readouterr().out
    for phrase in ("python -m rdsc features cifar10", "python -m rdsc evaluate train.npy test.npy",
                   "torchrun --nproc_per_node", "--nnodes", "resumes", "SOURCE/SPLIT/CLASS/IMAGE",
                   "top-k accuracy", "--workers", "--device", "python -m rdsc.record"):
        assert phrase in text, phrase


def test_errors_are_one_line_with_a_nonzero_status(folder, tmp_path, capsys):
    good = tmp_path / "g.npy"
    assert run(["features", folder, "--k", 4, "--out", good], capsys)[0] == 0
    assert run(["features", folder, "--k", 8, "--out", tmp_path / "h.npy"], capsys)[0] == 0
    Image.new("RGB", (20, 16)).save(folder / "train" / "bee" / "zzz.png")  # another size
    np.save(tmp_path / "nolabels.npy", np.zeros((3, 4), np.float32))
    cases = [
        (["features", tmp_path / "nothing", "--out", "x.npy"], "neither a dataset"),
        (["features", folder, "--out", tmp_path / "x.txt"], "--out must name an .npy file"),
        (["features", folder, "--out", tmp_path / "x.npy", "--resize", "big"],
         "--resize takes S or HxW"),
        (["features", folder, "--out", tmp_path / "x.npy", "--split", "val"], "splits found"),
        (["features", folder, "--out", tmp_path / "x.npy", "--k", 0], "--k must be a positive"),
        (["features", folder, "--out", tmp_path / "x.npy", "--preset", "imagenet"],
         "--preset must be one of"),
        (["features", folder, "--out", tmp_path / "x.npy", "--k", 4, "--workers", 1],
         "--resize HxW"),
        (["features", folder, "--out", good, "--k", 5, "--resize", "16x16"],
         "not written with these settings"),
        (["evaluate", good, tmp_path / "missing.npy"], "no features file"),
        (["evaluate", good, tmp_path / "h.npy"], "train has 4 features per image, test 8"),
        (["evaluate", good, tmp_path / "nolabels.npy"], "--test-labels"),
    ]
    # a huge --k ran silently until stopped, heading for 3.6 GB on 180 images
    import shutil
    free = shutil.disk_usage(tmp_path).free
    cases.append((["features", folder, "--out", tmp_path / "huge.npy",
                   "--k", str(free // (24 * 4) + 1000)], "GB free"))
    for args, message in cases:
        code, _, err = run(args, capsys)
        lines = err.strip().splitlines()
        assert code == 1 and len(lines) == 1 and lines[0].startswith("rdsc: error: "), (args, err)
        assert message in lines[0], (message, err)
    with pytest.raises(SystemExit) as exit_:
        main(["features", str(folder)])
    assert exit_.value.code == 2 and "--out" in capsys.readouterr().err


def test_the_module_runs_and_fails_cleanly(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "rdsc", "features", "photos", "--out", "x.txt"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert run.stderr.splitlines() == ["rdsc: error: --out must name an .npy file, got 'x.txt'"]


def test_evaluate_checks_the_records_classes_and_preprocessing(folder, tmp_path, capsys):
    other = make_folder(tmp_path / "other", n=24, classes=("bee", "cat", "dog"))
    train, test = tmp_path / "train.npy", tmp_path / "test.npy"
    common = ["--k", 8, "--workers", 0]
    assert run(["features", folder, "--out", train, *common], capsys)[0] == 0
    assert run(["features", other, "--split", "test", "--out", test, *common], capsys)[0] == 0
    code, _, err = run(["evaluate", train, test, "--device", "cpu"], capsys)
    assert code == 1 and err.startswith("rdsc: error: train and test number their classes "
                                        "differently (label 0 is 'ant' in train, 'bee' in test)")
    # the features' own labels named on the command line keep the check (naming them once
    # switched it off: classes numbered differently were scored without a word)
    code, _, err = run(["evaluate", train, test, "--device", "cpu", "--test-labels",
                        tmp_path / "test.labels.npy", "--train-labels",
                        tmp_path / "train.labels.npy"], capsys)
    assert code == 1 and "number their classes differently" in err
    # other labels: the record cannot speak for them, and the command says so
    own = np.load(tmp_path / "test.labels.npy")
    np.save(tmp_path / "relabelled.npy", (own + 1) % 3)
    code, out, err = run(["evaluate", train, test, "--device", "cpu", "--test-labels",
                          tmp_path / "relabelled.npy"], capsys)
    assert code == 0 and "top-1" in out
    assert (f"rdsc: warning: the test labels {tmp_path / 'relabelled.npy'} are not those "
            f"written with {test}") in err
    resized = tmp_path / "resized.npy"
    assert run(["features", folder, "--split", "test", "--out", resized, "--resize", 20,
                *common], capsys)[0] == 0
    code, out, err = run(["evaluate", train, resized, "--device", "cpu"], capsys)
    assert code == 0 and "top-1" in out
    assert "rdsc: warning: train and test images were preprocessed differently" in err
    (tmp_path / "resized.json").unlink()
    code, _, err = run(["evaluate", train, resized, "--device", "cpu"], capsys)
    assert code == 0 and f"rdsc: warning: no record {tmp_path / 'resized.json'}" in err
    # 1-based test labels scored a number with a warning naming a missing class
    labels = np.load(tmp_path / "resized.labels.npy")
    np.save(tmp_path / "shifted.npy", labels + 1)
    code, _, err = run(["evaluate", train, resized, "--test-labels", tmp_path / "shifted.npy"],
                       capsys)
    assert code == 1 and "labels shifted by one (1-based?)" in err
    # a class the training set lacks: its images count as misses, said the command's way
    # (it was a raw Python warning after the table)
    np.save(tmp_path / "new_class.npy", np.where(labels == 2, 3, labels))
    code, out, err = run(["evaluate", train, resized, "--test-labels",
                          tmp_path / "new_class.npy"], capsys)
    assert code == 0 and "top-1" in out
    assert f"rdsc: warning: {int((labels == 2).sum())} of {len(labels)} labels are not among" \
        in err and "UserWarning" not in err


def test_broken_images_are_all_named_before_any_feature_is_computed(folder, tmp_path, capsys):
    # found mid-run, a broken file stopped the run, and replacing it changed the folder's
    # fingerprint: every row done was recomputed
    last = sorted((folder / "train" / "cat").glob("*.png"))[-1]
    last.write_bytes(last.read_bytes()[:60])
    jpeg = folder / "train" / "bee" / "cut.jpg"
    Image.new("RGB", (16, 16), "red").save(jpeg)
    jpeg.write_bytes(jpeg.read_bytes()[:-2])           # no end marker
    out = tmp_path / "f.npy"
    code, _, err = run(["features", folder, "--k", 8, "--out", out, "--workers", 0], capsys)
    assert code != 0 and "2 of 25 images" in err and last.name in err and "cut.jpg" in err
    assert "nothing was computed yet" in err
    assert not list(tmp_path.glob("f*"))                # no partial output, no progress file


@pytest.mark.parametrize("ext", ["tif", "bmp", "gif"])
def test_a_cut_tiff_bmp_or_gif_is_named_before_any_row(folder, ext):
    # PIL's verify once passed them; the run stopped after 608 of 799 rows, and the
    # rows were lost once the file was fixed
    cut = folder / "train" / "bee" / f"cut.{ext}"
    arr = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    Image.fromarray(arr).convert("P" if ext == "gif" else "RGB").save(cut)
    ImageFolderStream(folder, "train").check_files()   # whole: no error
    cut.write_bytes(cut.read_bytes()[:len(cut.read_bytes()) // 2])
    with pytest.raises(data.ImageReadError, match=f"1 of .* cannot be read: .*cut.{ext}"):
        ImageFolderStream(folder, "train").check_files()


def test_a_jpeg_with_bytes_after_its_end_marker_is_not_called_broken(folder):
    # some cameras and editors append data after the end marker; such files decode fine
    jpeg = folder / "train" / "bee" / "trailer.jpg"
    Image.new("RGB", (16, 16), "red").save(jpeg)
    jpeg.write_bytes(jpeg.read_bytes() + b"trailing bytes")
    ImageFolderStream(folder, "train").check_files()   # no error


def test_each_same_images_clause_refuses_alone(tmp_path):
    import types

    from rdsc import cli
    # two files that the records say hold the same split
    args = types.SimpleNamespace(train=str(tmp_path / "a.npy"), test=str(tmp_path / "b.npy"),
                                 train_labels=None, test_labels=None)
    rec = {"source": "cifar10", "split": "train"}
    with pytest.raises(cli.CommandError, match="same images"):
        cli._check_records(args, rec, dict(rec))
    # one file twice, its record naming no split (the Python API's records)
    same = str(tmp_path / "a.npy")
    args = types.SimpleNamespace(train=same, test=same, train_labels=None, test_labels=None)
    with pytest.raises(cli.CommandError, match="same images"):
        cli._check_records(args, {"source": "x"}, {"source": "x"})


def test_evaluate_refuses_test_images_that_are_the_training_images_under_another_name(
        folder, tmp_path, capsys):
    # a copy of the training folder (or the same folder by name and by path) once
    # passed the name check, and a training accuracy (70.8% for 55.0%) was printed as the test's
    import shutil
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    train, test = tmp_path / "train.npy", tmp_path / "test.npy"
    for source, out in ((folder, train), (copy, test)):
        code, _, _ = run(["features", source, "--k", 16, "--out", out, "--workers", 0], capsys)
        assert code == 0
    code, out, err = run(["evaluate", train, test], capsys)
    assert code == 1 and "24 of the 24 test rows equal training rows" in err and not out
    # the same images stored as counts match the float file's rows
    counts = tmp_path / "counts.npy"
    run(["features", copy, "--k", 16, "--out", counts, "--dtype", "counts"], capsys)
    code, out, err = run(["evaluate", train, counts], capsys)
    assert code == 1 and "24 of the 24 test rows equal training rows" in err
    # a few shared rows (an image in both splits): scored, with a warning
    from rdsc import cli
    rows = np.arange(40, dtype=np.int16).reshape(10, 4)
    other = np.concatenate([rows[:2], rows[2:] + 100])
    cli._check_shared_rows(rows, other)
    assert "2 of the 10 test rows equal training rows" in capsys.readouterr().err
    cli._check_shared_rows(rows, rows + 100)
    assert capsys.readouterr().err == ""
    # features too coarse to tell images apart (a small k): training rows repeat among
    # themselves as often, so a shared row says nothing (k = 1 to 4 were once refused)
    coarse = np.repeat(np.arange(3, dtype=np.int16)[:, None], 4, 1)[np.arange(30) % 3]
    cli._check_shared_rows(coarse, coarse[:10])
    assert capsys.readouterr().err == ""
    # from COARSE_K features on, repeated training rows are duplicated images, not chance:
    # duplicated training files once raised the allowance and let a copied test set through
    rng = np.random.default_rng(0)
    fine = rng.integers(-225, 226, (30, cli.COARSE_K)).astype(np.float32) / 225
    doubled = np.concatenate([fine, fine])            # every training image twice
    with pytest.raises(cli.CommandError, match="30 of the 30 test rows"):
        cli._check_shared_rows(doubled, fine)
    # a float16 copy of the training rows is the training rows (it once passed)
    with pytest.raises(cli.CommandError, match="30 of the 30 test rows"):
        cli._check_shared_rows(fine, fine.astype(np.float16))
    cli._check_shared_rows(fine, rng.integers(-225, 226, (30, cli.COARSE_K)) / 225)
    assert capsys.readouterr().err == ""
    # labels saved N x 1 (once "unhashable type: 'list'")
    labels = np.load(tmp_path / "train.labels.npy")
    np.save(tmp_path / "column.npy", labels[:, None])
    test_split = tmp_path / "held.npy"
    code, _, _ = run(["features", folder, "--split", "test", "--k", 16, "--out", test_split],
                     capsys)
    code, out, err = run(["evaluate", train, test_split, "--train-labels",
                          tmp_path / "column.npy"], capsys)
    assert code == 0 and "top-1" in out, err
    np.save(tmp_path / "square.npy", np.stack([labels, labels], 1))
    code, _, err = run(["evaluate", train, test_split, "--train-labels",
                        tmp_path / "square.npy"], capsys)
    assert code == 1 and "labels must be one per image (shape N), got shape (24, 2)" in err


def test_output_size_check_counts_item_size_partial_rows_and_warns_past_ten_times(
        tmp_path, monkeypatch, capsys):
    import shutil

    from rdsc import cli
    from rdsc.paper import PAPER_FEATURES
    net = RandomDepthwiseSignNet.for_dataset("cifar10", 1)
    real = shutil.disk_usage(tmp_path)
    n, k = 1000, 100
    monkeypatch.setattr(shutil, "disk_usage", lambda p: real._replace(free=n * k * 3))
    cli._check_output_size(tmp_path / "c.npy", n, k, net, (3, 32, 32), "counts")  # 2 bytes
    with pytest.raises(cli.CommandError):
        cli._check_output_size(tmp_path / "c.npy", n, k, net, (3, 32, 32), "float32")
    (tmp_path / "c.partial.npy").write_bytes(b"\1" * (n * k * 4))  # a resumed run's rows
    cli._check_output_size(tmp_path / "c.npy", n, k, net, (3, 32, 32), "float32")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: real._replace(free=10 ** 15))
    cli._check_output_size(tmp_path / "d.npy", 1, 10 * PAPER_FEATURES + 1, net, (3, 32, 32),
                           "float32")
    assert "times the paper's" in capsys.readouterr().err


def test_a_run_resumes_after_its_folder_is_moved_copied_or_touched(tmp_path, capsys, monkeypatch):
    """The folder's fingerprint once hashed its absolute path and the files' dates, so
    a folder moved, copied to a node's scratch disk or touched refused its rows ("computed
    with other settings", with the same settings listed); it is now made of the files'
    names and contents. Changed contents are still refused."""
    import shutil
    make_folder(tmp_path / "a", n=12, side=16)
    out = tmp_path / "f.npy"
    assert run(["features", tmp_path / "a", "--k", 8, "--out", out], capsys)[0] == 0
    before = ImageFolderStream(tmp_path / "a", "train").fingerprint
    shutil.copytree(tmp_path / "a", tmp_path / "b")  # another path
    shutil.rmtree(tmp_path / "a")
    for f in (tmp_path / "b").rglob("*.png"):
        os.utime(f, (1, 1))  # other dates
    assert ImageFolderStream(tmp_path / "b", "train").fingerprint == before
    computed = []
    monkeypatch.setattr(features, "compute", lambda *a, **k: computed.append(1))
    code, _, err = run(["features", tmp_path / "b", "--k", 8, "--out", out], capsys)
    assert code == 0 and not computed, err  # the rows are these images': kept
    # an image's contents changed: the file is of other images
    first = sorted((tmp_path / "b" / "train" / "ant").glob("*.png"))[0]
    Image.new("RGB", (16, 16), (255, 0, 0)).save(first)
    assert ImageFolderStream(tmp_path / "b", "train").fingerprint != before
    code, _, err = run(["features", tmp_path / "b", "--k", 8, "--out", out], capsys)
    assert code == 1 and "not written with these settings" in err and not computed


def test_odd_sized_images_are_named_before_any_row(folder, tmp_path, capsys, monkeypatch):
    """One image of another size once stopped a run after most rows were computed,
    and the --resize it suggested was then refused as other settings."""
    Image.new("RGB", (20, 16)).save(folder / "train" / "bee" / "zzz.png")
    Image.new("RGB", (16, 8)).save(folder / "train" / "cat" / "zzz.png")
    called = []
    monkeypatch.setattr(features, "compute", lambda *a, **k: called.append(1))
    code, _, err = run(["features", folder, "--k", 4, "--out", tmp_path / "x.npy"], capsys)
    assert code == 1 and not called
    # height x width, as --resize HxW takes them
    assert ("2 of 26 images in" in err and "are not 16x16 (height x width) after "
            "preprocessing" in err and "zzz.png (16x20)" in err and "zzz.png (8x16)" in err)
    assert "--resize HxW on the command line" in err and "nothing was computed yet" in err
    # an odd image sorting first once named every other image as odd
    Image.new("RGB", (1, 1)).save(folder / "train" / "ant" / "000.png")
    code, _, err = run(["features", folder, "--k", 4, "--out", tmp_path / "x.npy"], capsys)
    assert code == 1 and "3 of 27 images in" in err and "as most are" in err
    assert "000.png (1x1)" in err and "are not 16x16" in err


def test_photos_are_read_upright_and_jfif_files_are_images(tmp_path, capsys):
    """An EXIF orientation tag was once ignored (a phone photo came out sideways);
    .jfif files (browsers save JPEGs so) were skipped without a word, and so were files of
    formats that are not read."""
    rng = np.random.default_rng(0)
    for split in ("train",):
        for cls in ("a", "b"):
            (tmp_path / "p" / split / cls).mkdir(parents=True)
    pixels = rng.integers(0, 256, (16, 24, 3), dtype=np.uint8)
    img = Image.fromarray(pixels)
    exif = img.getexif()
    exif[0x0112] = 6  # turn 90 degrees clockwise to show
    img.save(tmp_path / "p" / "train" / "a" / "turned.jpg", exif=exif, quality=95)
    img.save(tmp_path / "p" / "train" / "a" / "plain.jpg", quality=95)
    img.rotate(-90, expand=True).save(tmp_path / "p" / "train" / "b" / "saved.jfif",
                                      format="JPEG", quality=95)
    (tmp_path / "p" / "train" / "b" / "photo.heic").write_bytes(b"not read")
    (tmp_path / "p" / "train" / "b" / "Thumbs.db").write_bytes(b"litter")
    turned = data._decode(tmp_path / "p" / "train" / "a" / "turned.jpg", data.Preprocess())
    plain = data._decode(tmp_path / "p" / "train" / "a" / "plain.jpg", data.Preprocess())
    assert turned.shape == (3, 24, 16)
    assert np.array_equal(turned, np.rot90(plain, -1, axes=(1, 2)))
    with pytest.warns(UserWarning, match=r"1 file in the class folders of .* is not read, not "
                      r"being images by extension \(\.heic: 1;"):
        stream = ImageFolderStream(tmp_path / "p", "train", data.Preprocess(resize=16))
    assert [f.name for f in stream.files] == ["plain.jpg", "turned.jpg", "saved.jfif"]
    # sizes from the headers, turned as the decoding turns them: two of three are 24x16
    with pytest.raises(ValueError, match=r"1 of 3 images .* are not 24x16 \(height x width\) "
                       r"after preprocessing, as most are: .*/plain.jpg \(16x24\)\."):
        stream.check_files()
    assert data.Preprocess(resize=16).output_size(24, 16) == (24, 16)
    assert data.Preprocess(resize=(8, 4), crop=4).output_size(100, 50) == (4, 4)
    with pytest.raises(ValueError, match="centre crop 9 is larger"):
        data.Preprocess(crop=9).output_size(8, 20)


def test_evaluate_checks_its_json_and_top_k_and_warns_of_swapped_files(folder, tmp_path,
                                                                       capsys, monkeypatch):
    from rdsc import cli
    train, test = tmp_path / "train.npy", tmp_path / "test.npy"
    assert run(["features", folder, "--k", 8, "--out", train], capsys)[0] == 0
    assert run(["features", folder, "--split", "test", "--k", 8, "--out", test], capsys)[0] == 0
    # the JSON's folder is made before the fits (it once failed after them)
    code, out, err = run(["evaluate", train, test, "--top", 1, 3, 4, "--json",
                          tmp_path / "new" / "r.json"], capsys)
    assert code == 0 and (tmp_path / "new" / "r.json").is_file()
    # top-n of n classes is 100% whatever the features; it was once printed so
    assert "top-3, top-4 are not informative with 3 classes" in err
    row = out.strip().splitlines()[-1].split()
    assert row[2:4] == ["-", "-"]
    assert json.loads((tmp_path / "new" / "r.json").read_text())["results"][0]["top-3"] is None
    fits = []
    monkeypatch.setattr(cli, "_writable_file", lambda *a: (_ for _ in ()).throw(
        cli.CommandError("refused")))
    import rdsc.classify
    monkeypatch.setattr(rdsc.classify.LinearSVM, "fit", lambda *a, **k: fits.append(1))
    code, _, err = run(["evaluate", train, test, "--json", tmp_path / "r.json"], capsys)
    assert code == 1 and "refused" in err and not fits
    monkeypatch.undo()
    code, _, err = run(["evaluate", test, train], capsys)
    assert code == 0 and "swapped? (evaluate TRAIN TEST)" in err
    (tmp_path / "dir.npy").mkdir()
    code, _, err = run(["features", folder, "--k", 8, "--out", tmp_path / "dir.npy"], capsys)
    assert code == 1 and "is a folder: name a file in it" in err
    code, _, err = run(["evaluate", train, test, "--json", tmp_path / "dir.npy"], capsys)
    assert code == 1 and "is a folder" in err


def test_a_dataset_name_that_is_also_a_folder_here_is_said(tmp_path, capsys, monkeypatch,
                                                          small_named_datasets):
    """`rdsc features corel` beside the user's own ./corel once read the data root's
    Corel without a word."""
    make_folder(tmp_path / "root" / "corel", n=6, side=32, splits=("database", "queries"))
    make_folder(tmp_path / "work" / "corel", n=6, side=32, splits=("database",))
    monkeypatch.setenv("RDSC_DATA", str(tmp_path / "root"))
    monkeypatch.chdir(tmp_path / "work")
    code, _, err = run(["features", "corel", "--k", 4, "--out", tmp_path / "c.npy"], capsys)
    assert code == 0 and "corel is read as the dataset in" in err and "(./corel)" in err
    monkeypatch.chdir(tmp_path / "root")  # in the data root: the same folder, nothing said
    code, _, err = run(["features", "corel", "--k", 4, "--out", tmp_path / "d.npy"], capsys)
    assert code == 0 and "is read as the dataset" not in err


def test_a_record_of_an_earlier_rdsc_says_so(folder, tmp_path, capsys):
    """Rows written before the folder key changed (record format 1) were once said to be
    of other settings, with the advice to run the command just run."""
    out = tmp_path / "f.npy"
    assert run(["features", folder, "--k", 8, "--out", out], capsys)[0] == 0
    record = json.loads((tmp_path / "f.json").read_text())
    record.update(format=1, key="an earlier key")
    (tmp_path / "f.json").write_text(json.dumps(record))
    code, _, err = run(["features", folder, "--k", 8, "--out", out], capsys)
    assert code == 1 and "written by an earlier version of rdsc (record format 1, now 2)" in err
    assert "--overwrite" in err and "other settings" not in err
    assert run(["features", folder, "--k", 8, "--out", out, "--overwrite"], capsys)[0] == 0


def test_cli_options_and_shared_rows_reach_their_checks(folder, tmp_path, capsys):
    """--blocks ignored, a dataset's own preset ignored, --resize 0x5 accepted, 60% shared
    test rows only warned of, and --k past the features all once passed these tests."""
    import argparse

    from rdsc import cli
    args = argparse.Namespace(preset=None, source="stl10", kernel_size=None, blocks=None,
                              k=4, seed=0)
    net = cli.make_network(args, 3)
    assert (net.kernel_size, net.n_blocks) == (3, 3)
    args.source, args.blocks = "somewhere", 2
    assert (cli.make_network(args, 3).kernel_size, cli.make_network(args, 3).n_blocks) == (5, 2)
    with pytest.raises(cli.CommandError, match="positive sizes"):
        cli._preprocess(argparse.Namespace(resize="0x5", crop=None), data.Preprocess())
    rows = np.arange(40, dtype=np.int16).reshape(10, 4)
    with pytest.raises(cli.CommandError, match="6 of the 10 test rows"):
        cli._check_shared_rows(rows, np.concatenate([rows[:6], rows[6:] + 100]))
    train, held = tmp_path / "train.npy", tmp_path / "held.npy"
    assert run(["features", folder, "--k", 4, "--out", train], capsys)[0] == 0
    assert run(["features", folder, "--split", "test", "--k", 4, "--out", held], capsys)[0] == 0
    code, _, err = run(["evaluate", train, held, "--k", 8], capsys)
    assert code == 1 and "--k values must be between 1 and 4" in err


def test_class_folders_straight_under_source_are_named_as_such(tmp_path, capsys):
    # SOURCE/CLASS/IMAGE (torchvision's ImageFolder) was once said to have "splits"
    # named after the classes, and --split a then found "no images" in a folder of 6
    for cls in ("a", "b"):
        (tmp_path / "flat" / cls).mkdir(parents=True)
        for i in range(2):
            Image.new("RGB", (12, 12), "red").save(tmp_path / "flat" / cls / f"{i}.png")
    out = tmp_path / "f.npy"
    for extra in ([], ["--split", "a"]):
        code, _, err = run(["features", tmp_path / "flat", "--k", 8, "--out", out, *extra],
                           capsys)
        assert code != 0 and "holds images directly, as a class folder would" in err
        assert "SOURCE/SPLIT/CLASS/IMAGE" in err


def test_a_folders_warnings_come_as_one_rdsc_line(folder, tmp_path, capsys):
    # they once came as raw Python warnings quoting a line of rdsc's code
    (folder / "train" / "cat" / "notes.txt").write_text("not an image")
    code, _, err = run(["features", folder, "--k", 8, "--out", tmp_path / "f.npy",
                        "--workers", 0], capsys)
    assert code == 0
    assert "rdsc: warning: 1 file in the class folders of" in err
    assert "UserWarning" not in err and "stream = " not in err


def test_counts_saved_as_floats_without_their_record_are_named(folder, tmp_path, capsys):
    """Counts saved as floats by hand, their record left behind, were scored 225 times too
    large (75.6% for 64.4%) with only the generic "no record" warning."""
    train, test = tmp_path / "train.npy", tmp_path / "test.npy"
    common = ["--k", 16, "--workers", 0, "--dtype", "counts"]
    assert run(["features", folder, "--out", train, *common], capsys)[0] == 0
    assert run(["features", folder, "--split", "test", "--out", test, *common], capsys)[0] == 0
    np.save(tmp_path / "bare.npy", np.load(train).astype(np.float32))
    np.save(tmp_path / "bare.labels.npy", np.load(tmp_path / "train.labels.npy"))
    code, out, err = run(["evaluate", tmp_path / "bare.npy", test, "--device", "cpu"], capsys)
    assert code == 0 and "top-1" in out
    assert f"train features {tmp_path / 'bare.npy'} hold whole numbers up to" in err
    code, _, err = run(["evaluate", train, test, "--device", "cpu"], capsys)
    assert "whole numbers" not in err          # with their records: read as features
