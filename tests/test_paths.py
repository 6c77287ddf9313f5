"""Where files go, and how they are written: atomically, under unique temporary names."""
import os
import stat
from pathlib import Path

import numpy as np
import pytest
import torch

from rdsc import cnn, paths


def test_write_atomically_leaves_nothing_on_failure_and_keeps_the_umask(tmp_path):
    target = tmp_path / "out.json"

    def fails(f):
        f.write(b"half")
        raise RuntimeError("killed")
    with pytest.raises(RuntimeError):
        paths.write_atomically(target, fails)
    assert list(tmp_path.iterdir()) == []
    old = os.umask(0o022)
    try:
        paths.write_atomically(target, lambda f: f.write(b"{}"))
    finally:
        os.umask(old)
    assert target.read_bytes() == b"{}"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644  # readable by others, like any file


def test_trained_cnn_never_touches_another_runs_temporary_file(tmp_path):
    """Two runs training the same model once shared one fixed '.tmp' name."""
    x = torch.randint(0, 256, (16, 3, 8, 8), dtype=torch.uint8)
    y = np.arange(16) % 2
    key_probe = cnn.trained(x, y, epochs=1, width=4, cache=tmp_path, progress=False, device="cpu")
    saved, = tmp_path.glob("*.pt")
    saved.unlink()
    other = saved.with_suffix(".tmp")  # what the other run is writing
    other.write_bytes(b"another run's model, half written")
    cnn.trained(x, y, epochs=1, width=4, cache=tmp_path, progress=False, device="cpu")
    assert other.read_bytes() == b"another run's model, half written"
    assert saved.is_file() and key_probe is not None


def test_cache_dir_falls_back_when_the_data_root_is_read_only(tmp_path, monkeypatch):
    root, user = tmp_path / "root", tmp_path / "user"
    monkeypatch.setenv("RDSC_CACHE", str(user))
    monkeypatch.setattr(paths, "is_writable", lambda f: not str(f).startswith(str(root))
                        and f.mkdir(parents=True, exist_ok=True) is None)
    with pytest.warns(UserWarning, match="not writable"):
        assert paths.cache_dir("features", root) == user / "features"
    monkeypatch.setattr(paths, "is_writable", lambda f: False)
    with pytest.raises(PermissionError, match="RDSC_CACHE"):
        paths.cache_dir("features", root)


def test_cache_watch_tells_a_build_from_a_load(tmp_path, monkeypatch):
    monkeypatch.setenv("RDSC_DATA", str(tmp_path / "root"))
    monkeypatch.setenv("RDSC_CACHE", str(tmp_path / "user"))
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (8, 3, 8, 8), generator=gen, dtype=torch.uint8)
    y = np.arange(8) % 2
    with paths.CacheWatch() as first:
        cnn.trained(x, y, epochs=1, width=4, progress=False, device="cpu")
    with paths.CacheWatch() as second:  # the same model again: read, not trained
        cnn.trained(x, y, epochs=1, width=4, progress=False, device="cpu")
    assert first.wrote is True and second.wrote is False
    assert first.seconds > 0 and second.seconds > 0


def test_a_chapter_process_imports_its_own_checkouts_rdsc(tmp_path, monkeypatch):
    """With a shared venv, a clone's chapter once imported the editable install's rdsc
    (another checkout) while its record named the clone's commit."""
    clone = tmp_path / "clone"
    (clone / "rdsc").mkdir(parents=True)
    (clone / "rdsc" / "__init__.py").write_text("")
    (clone / "chapters").mkdir()
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    env = paths.checkout_env(clone / "chapters" / "03_x.md")
    assert env["PYTHONPATH"].split(os.pathsep) == [str(clone.resolve()), "/elsewhere"]
    monkeypatch.delenv("PYTHONPATH")
    loose = paths.checkout_env(tmp_path / "notes" / "x.md")   # not in a checkout: this rdsc
    assert loose["PYTHONPATH"] == str(Path(paths.__file__).resolve().parents[1])


def test_commit_marks_changes_and_roots_are_found(tmp_path, monkeypatch):
    """A commit without '+changes' for edited code, RDSC_COMMIT ignored, the book's own
    folder skipped, data/ of the book and XDG_CACHE_HOME ignored, and one cache folder
    listed twice all once passed these tests."""
    import subprocess
    for var in ("RDSC_COMMIT", "RDSC_DATA", "RDSC_CACHE"):
        monkeypatch.delenv(var, raising=False)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    (tmp_path / "_toc.yml").write_text("x")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(git + ["add", "_toc.yml"], cwd=tmp_path, check=True)
    subprocess.run(git + ["commit", "-qm", "c"], cwd=tmp_path, check=True)
    (tmp_path / "records").mkdir()
    (tmp_path / "records" / "paper.log").write_text("a\n")
    subprocess.run(git + ["add", "."], cwd=tmp_path, check=True)
    subprocess.run(git + ["commit", "-qm", "c"], cwd=tmp_path, check=True)
    sha = paths.book_commit(tmp_path)
    assert len(sha) == 40
    # the GPU runner's log grows as its chapters run: not a change to the code
    (tmp_path / "records" / "paper.log").write_text("a\nb\n")
    assert paths.book_commit(tmp_path) == sha
    (tmp_path / "records" / "run.sh").write_text("x")     # a script there is code
    subprocess.run(git + ["add", "records/run.sh"], cwd=tmp_path, check=True)
    assert paths.book_commit(tmp_path) == sha + "+changes"
    subprocess.run(git + ["commit", "-qm", "c"], cwd=tmp_path, check=True)
    sha = paths.book_commit(tmp_path).removesuffix("+changes")
    (tmp_path / "_toc.yml").write_text("y")
    assert paths.book_commit(tmp_path) == sha + "+changes"
    monkeypatch.setenv("RDSC_COMMIT", "abc")
    assert paths.book_commit(tmp_path) == "abc"
    monkeypatch.chdir(tmp_path)
    assert paths.book_root() == tmp_path.resolve()
    assert paths.data_root() == tmp_path.resolve() / "data"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert paths.user_cache_root() == tmp_path / "xdg" / "rdsc"
    monkeypatch.setenv("RDSC_CACHE", str(tmp_path.resolve() / "data" / "cache"))
    (tmp_path / "data" / "cache" / "k").mkdir(parents=True)
    assert paths.cache_dirs_to_read("k") == [tmp_path.resolve() / "data" / "cache" / "k"]
