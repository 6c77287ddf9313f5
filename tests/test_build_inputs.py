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
    """Probe DB: with MNIST added to the data root, `make book` kept chapter 3's page saying
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
