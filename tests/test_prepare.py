"""rdsc.prepare: the data set-up that `make book` and `make test` run."""
import io
import tarfile

import pytest

from rdsc import prepare


def _tarball(path, members):
    """Write a tarball holding ``{name: bytes}``."""
    with tarfile.open(path, "w") as tar:
        for name, payload in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return path


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    root, shared = tmp_path / "data", tmp_path / "shared"
    root.mkdir()
    shared.mkdir()
    monkeypatch.setenv("RDSC_DATA", str(root))
    monkeypatch.setenv("RDSC_SHARED_DATA", str(shared))
    return root, shared


def test_extracts_the_shared_tarball_into_place_and_leaves_no_temporary_folder(dirs):
    root, shared = dirs
    _tarball(shared / "corel.tar", {"corel/database/beach/a.jpg": b"x" * 10,
                                    "corel/queries/beach/q.jpg": b"y"})
    assert prepare.prepare("corel") == f"extracted from {shared / 'corel.tar'}"
    assert (root / "corel/database/beach/a.jpg").read_bytes() == b"x" * 10
    # the dataset, and beside it the note of the tarball it came from
    assert sorted(p.name for p in root.iterdir()) == [".prepared", "corel"]
    # a second call finds it and does not extract again
    (shared / "corel.tar").unlink()
    assert prepare.prepare("corel") == "present"


def test_a_changed_tarball_is_extracted_again_in_place_of_the_old_images(dirs):
    """A corrected tarball once left the old images in the data root, called present."""
    import os
    root, shared = dirs
    _tarball(shared / "corel.tar", {"corel/database/c/a.jpg": b"old", "corel/old.jpg": b"o"})
    prepare.prepare("corel")
    assert prepare.prepare("corel") == "present"          # unchanged: left alone
    _tarball(shared / "corel.tar", {"corel/database/c/a.jpg": b"new!"})
    os.utime(shared / "corel.tar", ns=(1, 1))              # dated as an old copy may be
    assert prepare.prepare("corel").startswith("extracted again from")
    assert (root / "corel/database/c/a.jpg").read_bytes() == b"new!"
    assert not (root / "corel/old.jpg").exists()           # replaced, not merged
    assert sorted(p.name for p in root.iterdir()) == [".prepared", "corel"]
    assert prepare.prepare("corel") == "present"
    # a folder extracted before notes were kept (or by hand) is left as it is
    (root / ".prepared" / "corel.txt").unlink()
    _tarball(shared / "corel.tar", {"corel/database/c/a.jpg": b"newer"})
    assert prepare.prepare("corel") == "present"
    assert (root / "corel/database/c/a.jpg").read_bytes() == b"new!"


def test_a_corrupt_tarball_is_named_and_leaves_nothing_half_extracted(dirs):
    root, shared = dirs
    good = _tarball(shared / "good.tar",
                    {f"corel/database/c/{i}.jpg": b"z" * 5000 for i in range(4)})
    (shared / "corel.tar").write_bytes(good.read_bytes()[:6000])  # cut mid-archive
    with pytest.raises(prepare.PrepareError, match="corel.*corel.tar"):
        prepare.prepare("corel")
    assert list(root.iterdir()) == []


def test_a_tarball_escaping_the_data_root_is_refused(dirs):
    root, shared = dirs
    _tarball(shared / "corel.tar", {"corel/database/c/a.jpg": b"a", "../evil.txt": b"b"})
    with pytest.raises(prepare.PrepareError):
        prepare.prepare("corel")
    assert not (root.parent / "evil.txt").exists()
    assert not (root / "corel").exists()


def test_a_tarball_without_the_dataset_folder_is_refused(dirs):
    root, shared = dirs
    _tarball(shared / "corel.tar", {"other/a.jpg": b"a"})
    with pytest.raises(prepare.PrepareError, match="top-level folder corel/"):
        prepare.prepare("corel")
    assert list(root.iterdir()) == []


def test_missing_everywhere_stops_with_one_line_saying_how_to_get_it(dirs, capsys):
    with pytest.raises(prepare.PrepareError,
                       match="'miniimagenet10' is missing.*miniimagenet10.tar"):
        prepare.prepare("miniimagenet10")
    assert prepare.main(["miniimagenet10"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: dataset 'miniimagenet10'")
    # --optional: a note, and the command goes on
    assert prepare.main(["--optional", "miniimagenet10", "corel"]) == 0
    assert capsys.readouterr().err.count("note:") == 2


def test_a_failed_download_is_one_line(dirs, monkeypatch):
    import torchvision.datasets as tvd

    def offline(*args, **kwargs):
        raise OSError("[Errno -3] Temporary failure in name resolution")
    monkeypatch.setattr(tvd, "CIFAR10", offline)
    with pytest.raises(prepare.PrepareError, match="'cifar10' is missing.*download failed") as err:
        prepare.prepare("cifar10")
    assert "\n" not in str(err.value)


def test_the_torchvision_folder_counts_as_present(dirs):
    root, _ = dirs
    (root / "cifar-10-batches-py").mkdir()
    (root / "cifar-10-batches-py" / "data_batch_1").write_bytes(b"x")
    assert prepare.is_present("cifar10", root)
    assert not prepare.is_present("corel", root)
    (root / "corel").mkdir()  # an empty folder is not a dataset
    assert not prepare.is_present("corel", root)
