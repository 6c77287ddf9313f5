"""rdsc.build_inputs: what makes `make book` run its chapters again."""
import os
import time
from pathlib import Path

from rdsc import build_inputs


def _book(tmp_path: Path) -> tuple[Path, Path]:
    root, data = tmp_path / "book", tmp_path / "data"
    (root / "rdsc").mkdir(parents=True)
    (root / "rdsc" / "m.py").write_text("x = 1\n")
    (root / "records" / "paper").mkdir(parents=True)
    (root / "records" / "paper" / "03.json").write_text("{}")
    for folder in ("toy/train/a", "cache/datasets", "results/03"):
        (data / folder).mkdir(parents=True)
    (data / "toy" / "train" / "a" / "0.png").write_bytes(b"abc")
    return root, data


def test_what_the_pages_depend_on_changes_the_digest(tmp_path):
    """With MNIST added to the data root, `make book` once kept chapter 3's page saying
    MNIST was not on the machine: its cache knew the chapters' code and rdsc alone."""
    root, data = _book(tmp_path)
    env = {"RDSC_ENGINE": "chain", "HOME": "/x"}

    def now(e=env):
        return build_inputs.digest(root, data, e)
    first = now()
    assert now() == first and len(first) == 16
    # written by the chapters themselves, or not a setting of the book: no rerun
    (data / "cache" / "datasets" / "k.npz").write_bytes(b"1")
    (data / "results" / "03" / "r.json").write_text("{}")
    assert now(dict(env, HOME="/y")) == first
    assert now(dict(env, RDSC_SHARED_DATA="/s")) == first
    # the progress bars' setting writes bars into the pages
    assert now(dict(env, RDSC_PROGRESS="1")) != first
    # a dataset added, a setting, a record, rdsc's code: rerun
    (data / "mnist").mkdir()
    (data / "mnist" / "t10k-images-idx3-ubyte").write_bytes(b"0")
    added = now()
    assert added != first
    assert now(dict(env, RDSC_ENGINE="fused")) != added
    (root / "records" / "paper" / "05.json").write_text("{}")
    recorded = now()
    assert recorded != added
    (root / "rdsc" / "m.py").write_text("x = 2\n")
    changed = now()
    assert changed != recorded
    # a broken link in a dataset folder does not stop the build
    (data / "toy" / "train" / "a" / "gone.png").symlink_to(tmp_path / "nowhere.png")
    assert now() != changed


def test_broken_links_and_loops_do_not_stop_the_build(tmp_path):
    """A broken link at the top of the data root, or an editor's lock link among rdsc's
    modules (Emacs's .#m.py), once stopped make book with a traceback; a link to a folder
    above walked it until the system refused."""
    root, data = _book(tmp_path)
    first = build_inputs.digest(root, data, {})
    (data / "gone.tar").symlink_to(tmp_path / "nowhere.tar")
    top = build_inputs.digest(root, data, {})
    (root / "rdsc" / ".#m.py").symlink_to("user@host.1234:1700000000")
    lock = build_inputs.digest(root, data, {})
    (root / "rdsc" / "gone.py").symlink_to(tmp_path / "nowhere.py")
    broken = build_inputs.digest(root, data, {})
    # the lock is no module (every chapter reran while a buffer was unsaved)
    assert top != first and lock == top and broken != lock
    (data / "toy" / "train" / "a" / "up").symlink_to(data / "toy")
    lines = []
    real_sha = build_inputs._sha
    build_inputs._sha = lambda ls: lines.append(list(ls)) or real_sha(ls)
    try:
        build_inputs._data_digest(data)
    finally:
        build_inputs._sha = real_sha
    assert sum("0.png" in line for line in lines[0]) == 1


def test_git_state_follows_commits_and_edits_to_tracked_files(tmp_path):
    import subprocess

    def git(*args):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)
    root, data = _book(tmp_path)
    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@t", "add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    clean = build_inputs._git_state(root)
    assert clean and build_inputs._git_state(tmp_path / "elsewhere") == ""
    (root / "rdsc" / "scratch.py").write_text("")  # untracked: not "+changes"
    assert build_inputs._git_state(root) == clean
    (root / "records" / "paper" / "03.json").write_text('{"a": 1}')
    edited = build_inputs._git_state(root)
    assert edited != clean
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "two")
    assert build_inputs._git_state(root) not in (clean, edited)


def test_an_image_rewritten_with_its_size_and_date_changes_the_digest(tmp_path):
    root, data = _book(tmp_path)
    image = data / "toy" / "train" / "a" / "0.png"
    before = image.stat()
    first = build_inputs.digest(root, data, {})
    time.sleep(0.01)
    image.write_bytes(b"abd")    # the same size, then its date restored, as tar does
    os.utime(image, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert build_inputs.digest(root, data, {}) != first


def test_make_book_compares_these_inputs():
    makefile = (Path(__file__).parents[1] / "Makefile").read_text()
    book = makefile.split("\nbook:")[1].split("\n\n")[0]
    assert "-m rdsc.build_inputs" in book and "rm -rf $(OUTDIR)/_build/.jupyter_cache" in book
