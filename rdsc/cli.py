"""The command line: ``python -m rdsc features ...`` and ``python -m rdsc evaluate ...``.

``features`` writes the ``N x k`` features of a dataset split (a named dataset or any
image folder) into one ``.npy`` file, with its labels and a description beside it, by
:func:`rdsc.feature_files.write_features`: resumable, and split across processes under
``torchrun``. ``evaluate`` trains the paper's linear SVM (:class:`rdsc.classify.LinearSVM`)
on training features and reports top-k accuracy on test features.

Errors are reported as one line, ``rdsc: error: ...``, with exit status 1 (2 for a
wrong command line); ``RDSC_DEBUG=1`` shows the traceback instead.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings
from dataclasses import asdict
from pathlib import Path

DESCRIPTION = """\
Random depthwise signed convolutional features (Xue & Roshan) from the command line.

  1. features: images -> an N x k matrix of random-network features in one .npy file
       python -m rdsc features cifar10 --split train --k 100000 --out train.npy
       python -m rdsc features cifar10 --split test  --k 100000 --out test.npy
  2. evaluate: the paper's linear SVM (C = 0.005) on train features, top-k on test
       python -m rdsc evaluate train.npy test.npy

Start small (--k 1000 takes minutes on a laptop CPU; the paper's k = 100,000 wants a GPU).
An interrupted `features` run resumes where it stopped when run again.
Several processes or GPUs, on one machine or several:
       torchrun --nproc_per_node=4 -m rdsc features cifar10 --split train --k 100000 --out train.npy
Run `python -m rdsc features --help` or `python -m rdsc evaluate --help` for every option.
(The chapters' reproduction records have their own command: python -m rdsc.record --help.)
"""

FEATURES_HELP = """\
Compute the features of one split of a dataset into FILE.npy (N rows, k columns).

SOURCE is a dataset name (cifar10, cifar100, stl10, mnist, miniimagenet10, corel...: the
keys of rdsc.data.DATASETS), looked for in the data root (./data of the book, or
$RDSC_DATA), or the path of an image folder laid out as SOURCE/SPLIT/CLASS/IMAGE (e.g.
photos/train/cat/001.jpg). Images are decoded batch by batch in --workers processes, so
folders larger than memory are fine.

Written beside FILE.npy: FILE.labels.npy (int64 class index per row) and FILE.json (the
network, the classes, the preprocessing, how the features are stored). Load them with
    numpy.load("FILE.npy", mmap_mode="r")               # --dtype float32 (default)
    rdsc.feature_files.load_features("FILE.npy")   # any --dtype: (features, labels, record)

Run the same command again after an interruption: finished rows are kept. On several
processes (CPU cores or GPUs): torchrun --nproc_per_node=N -m rdsc features ... ; on several
machines: the same torchrun command on each with --nnodes=M --node_rank=I
--rdzv_backend=c10d --rdzv_endpoint=HOST:29500, and FILE.npy on a file system they share.
"""

EVALUATE_HELP = """\
Train the paper's classifier, a one-vs-rest linear SVM (squared hinge, L2, C = 0.005, as
scikit-learn's LinearSVC(C=0.005, dual=False)), on TRAIN features and report the top-k
accuracy on TEST features: the fraction of test images whose true class is among the k
classes the SVM scores highest.

TRAIN and TEST are .npy files written by `python -m rdsc features` (their labels are read
from TRAIN.labels.npy and TEST.labels.npy), or any N x k arrays with --train-labels and
--test-labels. Their records (FILE.json) must agree on the network and the classes (label i
the same class in both); a different preprocessing is warned about. The default torch
solver reads the features in row blocks from the file, so feature files larger than memory
work (on the GPU when there is one).
"""


class CommandError(Exception):
    """A mistake in what was asked: reported as one line, exit status 1."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line with the usage, exit status 2
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The parser (it imports no torch: --help and usage errors answer at once)."""
    from rdsc.paper import PAPER_C, PAPER_SEED

    parser = _Parser(prog="python -m rdsc", description=DESCRIPTION,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    f = commands.add_parser("features", help="images -> features in one .npy file",
                            description=FEATURES_HELP,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    f.add_argument("source", metavar="SOURCE",
                   help="dataset name or image folder (SOURCE/SPLIT/CLASS/IMAGE)")
    f.add_argument("--out", required=True, metavar="FILE.npy", help="where to write the features")
    f.add_argument("--split", help="which split: a folder under SOURCE (default: the dataset's "
                   "first split, 'train', or the only one there is)")
    f.add_argument("--k", type=int, default=100_000, help="number of features (random blocks); "
                   "default %(default)s, the paper's")
    f.add_argument("--preset", metavar="DATASET", help="the paper's kernel size and depth for this "
                   "dataset (cifar10, stl10, miniimagenet10, corel...; default: SOURCE's own, else "
                   "cifar10's: K=5, L=1)")
    f.add_argument("--kernel-size", type=int, metavar="K",
                   help="kernel size K (overrides the preset)")
    f.add_argument("--blocks", type=int, metavar="L",
                   help="number of blocks L (overrides the preset)")
    f.add_argument("--seed", type=int, default=PAPER_SEED, help="seed of the random weights "
                   "(default %(default)s, the authors'); the same seed gives the same features")
    f.add_argument("--device", default="auto",
                   help="auto (a GPU when there is one), cpu, cuda or cuda:N")
    f.add_argument("--batch-size", type=int, metavar="B",
                   help="images per step (default: chosen for the device)")
    f.add_argument("--workers", type=int, default=2, metavar="W",
                   help="processes decoding images (default %(default)s; 0: decode in this "
                        "process)")
    f.add_argument("--resize", metavar="S|HxW", help="resize images: the shorter side to S pixels, "
                   "or exactly to HxW (needed where a folder's images differ in size)")
    f.add_argument("--crop", type=int, metavar="S", help="centre crop S x S after resizing")
    f.add_argument("--dtype", choices=("float32", "counts"), default="float32",
                   help="float32 (default): the features; counts: the exact integers (int16 where "
                   "they fit: half the disk; feature = count / denominator, in FILE.json)")
    f.add_argument("--overwrite", action="store_true",
                   help="replace FILE.npy if it exists with other settings, and discard "
                   "the rows an unfinished run of other settings left in it")
    f.add_argument("--no-progress", action="store_true",
                   help="no progress bar (shown only on a terminal)")
    f.set_defaults(run=run_features)

    e = commands.add_parser("evaluate", help="the paper's linear SVM: top-k accuracy",
                            description=EVALUATE_HELP,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("train", metavar="TRAIN", help="training features (.npy)")
    e.add_argument("test", metavar="TEST", help="test features (.npy)")
    e.add_argument("--train-labels", metavar="FILE",
                   help="labels of TRAIN (default: TRAIN.labels.npy)")
    e.add_argument("--test-labels", metavar="FILE",
                   help="labels of TEST (default: TEST.labels.npy)")
    e.add_argument("--C", type=float, default=PAPER_C,
                   help="SVM penalty (default %(default)s, the paper's)")
    e.add_argument("--top", type=int, nargs="+", default=[1, 2], metavar="K",
                   help="report top-K accuracy for each K (default: 1 2)")
    e.add_argument("--k", type=int, nargs="+", metavar="N", dest="columns",
                   help="also with only the first N features (the features of a network with N "
                   "blocks), for each N (default: all)")
    e.add_argument("--solver", choices=("torch", "liblinear"), default="torch",
                   help="torch (default: Newton-CG, reads row blocks, GPU if present) or "
                   "liblinear (scikit-learn's; needs all features in memory)")
    e.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    e.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    e.set_defaults(run=run_evaluate)
    return parser


# --- features ---------------------------------------------------------------------------------

def _preprocess(args, default):
    from rdsc.data import Preprocess
    if args.resize is None and args.crop is None:
        return default
    resize = default.resize
    if args.resize is not None:
        text = args.resize.lower()
        try:
            sizes = tuple(int(v) for v in text.split("x"))
        except ValueError:
            sizes = ()
        if len(sizes) not in (1, 2) or min(sizes) < 1:
            raise CommandError(f"--resize takes S or HxW with positive sizes (e.g. 128 or 96x128), "
                               f"not {args.resize!r}")
        resize = sizes if len(sizes) == 2 else sizes[0]
    crop = args.crop if args.crop is not None else default.crop
    if crop is not None and crop < 1:
        raise CommandError(f"--crop must be positive, got {crop}")
    return Preprocess(resize=resize, crop=crop)


def _choose_split(folder: Path, split: str | None) -> str:
    from rdsc.data import holds_images_directly, is_skipped, no_images_message
    if split is not None:
        return split
    found = sorted(p.name for p in folder.iterdir() if p.is_dir() and not is_skipped(p.name))
    if "train" in found:
        return "train"
    if any(holds_images_directly(folder / name) for name in found):
        # class folders straight under SOURCE were once called splits, and the advised
        # --split then found "no images"
        raise CommandError(no_images_message(folder, next(
            name for name in found if holds_images_directly(folder / name))))
    if len(found) == 1:
        return found[0]
    raise CommandError(f"{folder} has splits {found}: choose one with --split")


def open_source(args):
    """``(images or stream, labels, classes, description)`` for ``features``' SOURCE."""
    from rdsc import data
    from rdsc.streaming import ImageFolderStream
    if args.workers < 0:
        raise CommandError(f"--workers must be >= 0, got {args.workers}")
    if args.source in data.DATASETS:
        here, root = Path(args.source), data.data_root() / args.source
        if here.is_dir() and (not root.exists() or not here.samefile(root)):
            # a user's ./corel was once replaced by the data root's without a word
            _warn(f"{args.source} is read as the dataset in {root}, not the folder "
                  f"./{args.source} here: to use that folder, give it by a path "
                  f"(./{args.source})")
        spec = data.DATASETS[args.source]
        split = args.split or spec.splits[0]
        if split not in spec.splits:
            raise CommandError(f"{args.source} has splits {', '.join(spec.splits)}, not {split!r}")
        prep = _preprocess(args, spec.preprocess)
        folder = data.data_root() / args.source
        description = {"source": args.source, "split": split, "preprocess": asdict(prep)}
        if (folder / split).is_dir():  # an image folder: streamed
            stream = ImageFolderStream(folder, split, prep, num_workers=args.workers,
                                       splits=spec.splits, gray=getattr(spec, "channels", 3) == 1)
            data.check_complete(args.source, split, folder, len(stream.classes), len(stream))
            return stream, stream.labels, stream.classes, description
        # small binary formats
        images, labels, classes = data.load(args.source, split, preprocess=prep)
        return images, labels.numpy(), classes, description
    folder = Path(args.source).expanduser()
    if not folder.is_dir():
        raise CommandError(f"{args.source!r} is neither a dataset ({', '.join(data.DATASETS)}) "
                           "nor a folder")
    split = _choose_split(folder, args.split)
    prep = _preprocess(args, data.Preprocess())
    stream = ImageFolderStream(folder, split, prep, num_workers=args.workers)
    description = {"source": str(folder.resolve()), "split": split, "preprocess": asdict(prep)}
    return stream, stream.labels, stream.classes, description


def _preset(args) -> str:
    """The network preset ``args`` ask for (``--preset``, else the dataset's, else CIFAR-10's)."""
    from rdsc.network import PRESETS
    preset = args.preset or (args.source if args.source in PRESETS else "cifar10")
    if preset not in PRESETS:
        raise CommandError(f"--preset must be one of {', '.join(PRESETS)}, not {preset!r}")
    return preset


def make_network(args, in_channels: int, n_features: int | None = None):
    """The random network ``args`` describe, for images of ``in_channels`` channels (with
    ``n_features`` instead of ``--k``, if given)."""
    from rdsc.network import PRESETS, RandomDepthwiseSignNet
    settings = dict(PRESETS[_preset(args)])
    settings.pop("in_channels", None)  # the images' own
    if args.kernel_size is not None:
        settings["kernel_size"] = args.kernel_size
    if args.blocks is not None:
        settings["n_blocks"] = args.blocks
    return RandomDepthwiseSignNet(n_features or args.k, in_channels=in_channels, seed=args.seed,
                                  **settings)


def run_features(args) -> int:
    """``rdsc features``: the source's images -> features in ``--out``; the exit status."""
    out = Path(args.out).expanduser()
    if out.suffix != ".npy":
        raise CommandError(f"--out must name an .npy file, got {args.out!r}")
    if out.is_dir():
        raise CommandError(f"--out {args.out} is a folder: name a file in it, e.g. "
                           f"{out / 'features.npy'}")
    if args.k < 1:
        raise CommandError(f"--k must be a positive number of features, got {args.k}")
    if args.batch_size is not None and args.batch_size < 1:
        raise CommandError(f"--batch-size must be positive, got {args.batch_size}")
    from rdsc import feature_files
    _preset(args)  # before the images are listed and checked
    group, device = feature_files.init_from_env(args.device)
    images, labels, classes, description = open_source(args)
    shape = tuple(images.image_shape) if hasattr(images, "image_shape") else tuple(images.shape[1:])
    # before the network: drawing the weights of a huge --k would take the memory first
    _check_output_size(out, len(images), args.k, make_network(args, shape[0], 1), shape,
                       args.dtype)
    if hasattr(images, "check_files"):  # every broken or odd-sized file now, not mid-run
        images.check_files()
    net = make_network(args, shape[0])
    start = time.perf_counter()
    record = feature_files.write_features(
        net, images, out, dtype=args.dtype, labels=labels, group=group, device=device,
        batch_size=args.batch_size, progress=not args.no_progress, overwrite=args.overwrite,
        metadata={**description, "classes": list(classes)})
    seconds = time.perf_counter() - start
    if group.rank == 0:
        n, k = record["shape"]
        cfg = record["network"]
        print(f"{out}: {n} x {k} {record['dtype']} features of {description['source']}/"
              f"{description['split']} (K={cfg['kernel_size']}, L={cfg['n_blocks']}, "
              f"seed {cfg['seed']}; "
              f"{group.world} process{'es' if group.world > 1 else ''} on {device.type}, "
              f"{seconds:.1f} s); "
              f"labels in {out.with_suffix('').name}.labels.npy")
    return 0


def _check_output_size(out: Path, n_images: int, k: int, one_feature_net, shape,
                       dtype: str) -> None:
    """Refuse an output of ``n_images x k`` features the disk cannot hold, before any image
    is read (a huge --k ran silently until stopped); warn above ten times the paper's k.
    ``one_feature_net``: the network with one feature (its counts' dtype is the file's)."""
    import shutil

    import numpy as np

    from rdsc.features import count_dtype
    from rdsc.paper import PAPER_FEATURES
    item = (np.dtype(count_dtype(one_feature_net, shape[1], shape[2])).itemsize
            if dtype == "counts" else 4)
    needed = n_images * k * item
    # a resumed run's rows are on the disk already; a finished output is replaced (or kept)
    for there in (out.with_name(out.stem + ".partial.npy"), out):
        if there.is_file():
            needed -= there.stat().st_blocks * 512
    folder = next(p for p in (out.resolve().parent, *out.resolve().parents) if p.exists())
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise CommandError(f"{n_images:,} x {k:,} features need "
                           f"{_size(needed)}, but {folder} has {_size(free)} free: "
                           "a smaller --k, --dtype counts (half the size), or another --out")
    if k > 10 * PAPER_FEATURES:
        _warn(f"--k {k:,} is {k / PAPER_FEATURES:.0f} times the "
              f"paper's {PAPER_FEATURES:,}: {_size(n_images * k * item)} of features, and the time "
              "grows with k")


def _size(n_bytes: float) -> str:
    """``1.5 GB``, ``12 MB``, ``800 bytes``."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit}"
    return f"{max(n_bytes, 0):.0f} bytes"


# --- evaluate ---------------------------------------------------------------------------------

def _load(path: str, labels_path: str | None, role: str):
    """``(features, labels, record, own)``: ``own`` is True where the labels are those
    written with the features (their file beside them, or a given file whose digest is
    the record's), so the record's class list describes them."""
    from rdsc.checks import label_vector
    from rdsc.feature_files import labels_digest, load_features
    try:
        feats, labels, record = load_features(path, read_labels=labels_path is None)
    except (FileNotFoundError, ValueError) as err:
        raise CommandError(f"{role}: {err}") from None
    if labels_path is not None:
        import numpy as np
        try:
            labels = np.load(labels_path)
        except (OSError, ValueError) as err:
            raise CommandError(f"{role} labels: cannot read {labels_path} ({err})") from None
    if labels is None:
        raise CommandError(f"{role}: no labels beside {path} (expected {Path(path).with_suffix('')}"
                           f".labels.npy): pass --{role}-labels FILE.npy")
    try:
        labels = label_vector(labels)
    except ValueError as err:
        raise CommandError(f"{role}: {err}") from None
    if len(labels) != len(feats):
        raise CommandError(f"{role}: {len(labels)} labels for {len(feats)} rows of features")
    own = labels_path is None or (record.get("labels_digest") is not None
                                  and labels_digest(labels) == record["labels_digest"])
    if not record:  # a plain float file: counts saved as floats were read 225 times too large
        import numpy as np
        head = np.asarray(feats[:256], dtype=np.float64)
        top = float(np.abs(head).max()) if head.size else 0.0
        if top > 1 and np.isfinite(top) and np.array_equal(head, np.round(head)):
            _warn(f"{role} features {path} hold whole numbers up to {top:g}, where rdsc's "
                  "features lie in [-1, 1]: integer counts saved as floats? Keep their "
                  "FILE.json beside them, or divide them by the denominator (the last map's "
                  "size, 225 for CIFAR-10)")
    return feats, labels, record, own


def _writable_file(path: Path, option: str) -> None:
    """Create ``path``'s folder if needed; refuse a folder or an unwritable place now."""
    if path.is_dir():
        raise CommandError(f"{option} {path} is a folder: name a file in it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CommandError(f"{option} {path}: cannot create its folder ({err})") from None
    if not os.access(path.parent, os.W_OK):
        raise CommandError(f"{option} {path}: its folder is not writable")


def _warn(message: str) -> None:
    print(f"rdsc: warning: {message}", file=sys.stderr)


def _check_records(args, rec_train: dict, rec_test: dict, own=(True, True)) -> None:
    """Refuse train and test of the same images, or whose labels number different classes;
    warn where unsure. ``own``: for train and test, whether the labels are those written
    with the features (:func:`_load`), which the records' class lists describe."""
    for role, path, record in (("train", args.train, rec_train), ("test", args.test, rec_test)):
        if not record:
            _warn(f"no record {Path(path).with_suffix('.json')} beside {role} features {path}: "
                  "cannot check that train and test share network, classes and preprocessing")
    # both records name source and split (the command's do; a Python caller's may not)
    named = all(r.get(key) is not None for r in (rec_train, rec_test) for key in ("source",
                                                                                   "split"))
    if (named and all(rec_train[key] == rec_test[key] for key in ("source", "split"))
            or Path(args.train).resolve() == Path(args.test).resolve()):
        where = "/".join(str(rec_train.get(key, "?")) for key in ("source", "split"))
        raise CommandError(
            f"train and test features are of the same images ({where}): the test accuracy "
            "would be a training accuracy. Compute the test file from the other split: "
            "rdsc features SOURCE --split test ...")
    if named and (rec_train["split"], rec_test["split"]) == ("test", "train"):
        _warn(f"the train file holds the split 'test' and the test file the split 'train' "
              f"({args.train}, {args.test}): swapped? (evaluate TRAIN TEST)")
    # labels given on the command line that are the features' own (the same digest) keep
    # the check (naming the features' own labels file once switched it off, and classes
    # numbered differently scored 20% for 64%); others are the caller's to check
    for role, path, given, is_own, record in (
            ("train", args.train, args.train_labels, own[0], rec_train),
            ("test", args.test, args.test_labels, own[1], rec_test)):
        if given is not None and not is_own and record.get("classes") is not None:
            _warn(f"the {role} labels {given} are not those written with {path} (their "
                  "digest differs from its record's), so its record cannot tell which class "
                  "each label is: make sure label i means the same class in train and test")
    if all(own):
        a, b = rec_train.get("classes"), rec_test.get("classes")
        if a is not None and b is not None and list(a) != list(b):
            raise CommandError(
                f"train and test number their classes differently ({_class_difference(a, b)}), "
                "so a label means another class in each: compute both from one SOURCE holding "
                "both splits (SOURCE/train/CLASS, SOURCE/test/CLASS), whose classes are numbered "
                "together")
    a, b = rec_train.get("preprocess"), rec_test.get("preprocess")
    if a is not None and b is not None and a != b:
        _warn(f"train and test images were preprocessed differently (train: {a}, test: {b}): "
              "the features may not be comparable; compute both with the same --resize/--crop")


#: below this many features, different images share rows by chance (5,000 CIFAR-10 training
#: images: 60% of rows repeat at k = 4, 1.1% at k = 8, none at 16 or 32)
COARSE_K = 16


def _check_shared_rows(train, test) -> None:
    """Refuse test features most of whose rows are training rows (the same images reached
    by another name or a copied folder: this once printed a training accuracy, 70.8% for
    55.0%, as the test's); warn about a few (images in both splits). Rows compare by their
    values rounded to float16 (a counts file, a float file and a float16 or float64 copy of
    the same images match; a float16 copy once passed as held-out features). Below
    :data:`COARSE_K` features, too coarse to tell images apart (k = 1 to 4 once refused
    real held-out splits), shared rows count only where they are far more common than
    training rows repeating among themselves; from it on a repeat is a duplicated image,
    not chance (duplicated training files once raised that allowance past 90% and let a
    copied test set through)."""
    import hashlib
    from collections import Counter

    import numpy as np

    def digests(feats):  # one per row, read in blocks (a file may be memory-mapped)
        for lo in range(0, len(feats), 4096):
            block = np.ascontiguousarray(feats[lo:lo + 4096], dtype=np.float32)
            for row in block.astype(np.float16):
                yield hashlib.blake2b(row.tobytes(), digest_size=16).digest()
    seen = Counter(digests(train))
    repeated = sum(count for count in seen.values() if count > 1) / len(train)
    allowance = 5 * repeated if train.shape[1] < COARSE_K else 0.0
    shared = sum(digest in seen for digest in digests(test))
    share = shared / len(test)
    if not shared or share <= allowance + 0.02:
        return
    if share >= 0.5:
        raise CommandError(
            f"{shared:,} of the {len(test):,} test rows equal training rows: the test images "
            "are (mostly) training images, reached by another name or copied, and the test "
            "accuracy would be a training accuracy. Compute the test file from held-out "
            "images")
    _warn(f"{shared:,} of the {len(test):,} test rows equal training rows (images in both "
          "splits?): the accuracy on them is a training accuracy")


def _class_difference(train: list, test: list) -> str:
    for i, (a, b) in enumerate(zip(train, test)):
        if a != b:
            return f"label {i} is {a!r} in train, {b!r} in test"
    return f"train has {len(train)} classes, test {len(test)}"


def run_evaluate(args) -> int:
    """``rdsc evaluate``: fit the linear SVM on train features, report test top-k accuracy."""
    from rdsc.classify import LinearSVM, topk_accuracy
    from rdsc.feature_files import resolve_device
    train, y_train, rec_train, own_train = _load(args.train, args.train_labels, "train")
    test, y_test, rec_test, own_test = _load(args.test, args.test_labels, "test")
    if train.shape[1] != test.shape[1]:
        raise CommandError(f"train has {train.shape[1]} features per image, test {test.shape[1]}: "
                           "compute both with the same --k")
    if (rec_train.get("network") and rec_test.get("network")
            and rec_train["network"] != rec_test["network"]):
        diff = {key: (rec_train["network"].get(key), value)
                for key, value in rec_test["network"].items()
                if rec_train["network"].get(key) != value}
        raise CommandError(f"train and test features come from different networks ({diff}): "
                           "compute both with the same settings")
    _check_records(args, rec_train, rec_test, own=(own_train, own_test))
    _check_shared_rows(train, test)
    if not math.isfinite(args.C) or args.C <= 0 or any(t < 1 for t in args.top):
        raise CommandError("--C must be a finite positive number and --top values at least 1")
    columns = sorted(set(args.columns or [train.shape[1]]))
    if columns[0] < 1 or columns[-1] > train.shape[1]:
        raise CommandError(f"--k values must be between 1 and {train.shape[1]} (the features in "
                           "the files)")
    device = resolve_device(args.device)
    if args.json:  # before the fits (a missing folder once failed after them)
        _writable_file(Path(args.json).expanduser(), "--json")
    n_classes = len(set(y_train.tolist()))
    # top-n of n classes is 100% whatever the features (with 2
    # classes top-2 was once printed as 100.00%)
    if too_many := [t for t in args.top if t >= n_classes]:
        _warn(f"top-{', top-'.join(map(str, too_many))} {'is' if len(too_many) == 1 else 'are'} "
              f"not informative with {n_classes} classes (every class is among the top "
              f"{n_classes}): shown as -")
    print(f"train: {train.shape[0]} x {train.shape[1]}, test: {test.shape[0]} x {test.shape[1]}, "
          f"{len(set(y_train.tolist()))} classes; linear SVM C={args.C:g} "
          f"({args.solver}, {device.type})")
    header = f"{'k':>8}" + "".join(f"{f'top-{t}':>9}" for t in args.top) + f"{'fit s':>9}"
    print(header)
    rows, said = [], set()
    for k in columns:
        svm = LinearSVM(C=args.C, solver=args.solver, device=device)
        svm.fit(train.columns(k), y_train)
        scores = svm.decision_function(test.columns(k))
        with warnings.catch_warnings(record=True) as caught:  # as the command's other warnings
            warnings.simplefilter("always")
            acc = topk_accuracy(scores, y_test, args.top, classes=svm.classes_)
        for message in dict.fromkeys(str(w.message) for w in caught):
            if message not in said:
                said.add(message)
                _warn(message)
        acc = {t: value for t, value in acc.items() if t not in too_many}
        rows.append({"k": k, **{f"top-{t}": acc.get(t) for t in args.top},
                     "fit_seconds": svm.fit_seconds_})
        cells = "".join(f"{100 * acc[t]:8.2f}%" if t in acc else f"{'-':>9}" for t in args.top)
        print(f"{k:>8}{cells}{svm.fit_seconds_:9.1f}", flush=True)
    if args.json:
        Path(args.json).expanduser().write_text(json.dumps(
            {"train": args.train, "test": args.test, "C": args.C, "solver": args.solver,
             "results": rows}, indent=1))
    return 0


# --- entry point ------------------------------------------------------------------------------

def _one_line(err: BaseException) -> str:
    """The gist of an error: a DataLoader worker's error is its original last line."""
    text = str(err).strip() or type(err).__name__
    lines = [line for line in text.splitlines() if line.strip()]
    if "Original Traceback" in text and lines:
        return lines[-1].split(": ", 1)[-1]
    return " ".join(line.strip() for line in lines)


def main(argv=None) -> int:
    """The ``rdsc`` command: run a subcommand, an error as one line; the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    prefix = "rdsc"
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        prefix += f" [rank {os.environ.get('RANK', '?')}]"
    saved = warnings.showwarning

    def one_line(message, category, *_, **__):
        # a folder's warnings once came out as raw Python warnings quoting a line of
        # rdsc's code; the command's own are one "rdsc: warning:" line
        kind = "" if issubclass(category, UserWarning) else f" ({category.__name__})"
        print(f"{prefix}: warning{kind}: {message}", file=sys.stderr, flush=True)
    warnings.showwarning = one_line
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print(f"\n{prefix}: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except Exception as err:  # one clear line, no traceback (RDSC_DEBUG=1 shows it)
        if os.environ.get("RDSC_DEBUG") == "1":
            raise
        print(f"{prefix}: error: {_one_line(err)}", file=sys.stderr)
        return 1
    finally:
        warnings.showwarning = saved
        dist = sys.modules.get("torch.distributed")  # imported only if a run used it
        try:
            if dist is not None and dist.is_available() and dist.is_initialized():
                dist.destroy_process_group()
        except Exception:  # pragma: no cover - shutting down anyway
            pass
