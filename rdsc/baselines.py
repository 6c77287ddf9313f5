"""Chapter 4's comparison: classifiers on fixed features, table rows and summaries.

Every method is reduced to ``N_test x classes`` scores on the same test images; a *row*
(:func:`row`) holds its top-1..5 accuracy (%), feature dimension, seconds and seed.
:func:`summary` averages rows over seeds with a t-interval; :func:`compare` sets rdsc
against a family of methods; :mod:`rdsc.baselines_words` turns the numbers into the
chapter's sentences.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from rdsc.checks import plural, seed_number, whole_number
from rdsc.classify import LinearSVM, topk_hits
from rdsc.data import Split, class_indices
from rdsc.intervals import paired_noise
from rdsc.rng import restores_global_rng

TOPK = (1, 2, 3, 4, 5)
RDSC = "rdsc (random depthwise sign) + SVM"  # the method this book is about


def standardize(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """z-scores with the training mean and std per feature (constant features: std 1):
    ``train`` (``N x d``) and each of ``others`` (``M x d``), as float32 of the same shapes."""
    train = np.asarray(train, np.float32)
    mean, std = train.mean(0), train.std(0)
    std = np.where(std > 1e-8, std, 1.0).astype(np.float32)
    return [(np.asarray(x, np.float32) - mean) / std for x in (train, *others)]


def svm_scores(train_X, train_y, test_X, *, C: float = 0.005, scale: bool = False,
               device=None) -> tuple[np.ndarray, float]:
    """The paper's LinearSVM fitted on ``train_X`` -> (test scores, fit seconds).

    ``train_y``: integer labels ``0..n-1``. Column ``j`` of the scores is label ``j`` (as
    :func:`softmax_scores`' logits), ``N x (max label + 1)``: a label absent from training
    gets a column below every score, so top-k never puts it ahead of a trained class (the
    SVM's own columns follow its ``classes_``, which skip it: scored by position, every
    later label was shifted onto its neighbour's column).
    ``scale``: z-score the features first (for features without a natural scale).
    """
    train_y = class_indices(train_y, "train_y")
    if scale:
        train_X, test_X = standardize(train_X, test_X)
    svm = LinearSVM(C=C, device=device).fit(train_X, train_y)
    raw = svm.decision_function(test_X)
    scores = np.full((len(raw), int(svm.classes_.max()) + 1),
                     raw.min() - 1 if raw.size else 0, dtype=raw.dtype)
    scores[:, svm.classes_] = raw
    return scores, svm.fit_seconds_


def chosen_c_scores(train_X, train_y, test_X, *, grid, scale: bool = False,
                    device=None) -> tuple[np.ndarray, float, float]:
    """:func:`svm_scores` with C chosen for these features on a validation split of the
    training rows (:func:`rdsc.choose_c.choose_C`, the test set unseen) instead of the
    paper's C, which was set for rdsc's raw features: ``(test scores, chosen C, fit
    seconds of every fit)``."""
    from rdsc.choose_c import choose_C
    train_y = class_indices(train_y, "train_y")
    if scale:
        train_X, test_X = standardize(train_X, test_X)
    best, table = choose_C(train_X, train_y, grid, device=device)
    scores, fit_s = svm_scores(train_X, train_y, test_X, C=best, device=device)
    return scores, best, fit_s + sum(r["fit s"] for r in table)


@restores_global_rng
def softmax_scores(train_X, train_y, test_X, *, epochs: int = 100, lr: float = 0.1,
                   batch_size: int = 256, weight_decay: float = 5e-4,
                   seed: int = 0) -> tuple[np.ndarray, float]:
    """A softmax (linear + cross-entropy) layer trained by SGD on z-scored ``train_X``.

    SGD with momentum 0.9, cosine learning rate, mini-batches of ``batch_size``.
    Returns (test logits ``N x classes``, seconds). On precomputed features of a frozen
    network in eval mode this is exactly training that network's final layer.
    """
    train_X, test_X = standardize(train_X, test_X)
    y = torch.as_tensor(np.asarray(train_y), dtype=torch.long)
    if len(y) != len(train_X):
        raise ValueError(f"train_X has {len(train_X)} rows but train_y has {len(y)} labels")
    start = time.perf_counter()
    gen = torch.Generator().manual_seed(seed_number(seed))
    torch.manual_seed(seed_number(seed))
    x = torch.from_numpy(train_X)
    layer = torch.nn.Linear(x.shape[1], int(y.max()) + 1)
    opt = torch.optim.SGD(layer.parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay)
    steps = epochs * -(-len(x) // batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=gen)
        for lo in range(0, len(x), batch_size):
            idx = order[lo:lo + batch_size]
            loss = F.cross_entropy(layer(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    with torch.no_grad():
        scores = layer(torch.from_numpy(test_X)).numpy()
    return scores, time.perf_counter() - start


def row(method: str, family: str, scores, labels, *, dim: int, seconds_features: float,
        seconds_fit: float, seed=None, note: str = "") -> dict:
    """One table row: top-1..5 accuracy (%) of ``scores`` (``N x classes``) on ``labels``
    (``N``), the method's cost, and ``right``: each image's top-1 and top-2 hits (``{1: N
    bool, 2: N bool}``), which :func:`summary` pairs with rdsc's; leave it out of JSON
    (:func:`for_json`)."""
    hits = topk_hits(scores, labels, TOPK)
    return {"method": method, "family": family, "dim": int(dim), "seed": seed,
            **{f"top-{k}": 100 * float(hit.mean()) for k, hit in hits.items()},
            "features s": float(seconds_features), "fit s": float(seconds_fit), "note": note,
            "right": {k: hits[k] for k in PAIRED_K if k in hits}}


#: the top-k whose differences with rdsc are paired over images
PAIRED_K = (1, 2)


def for_json(rows: list[dict]) -> list[dict]:
    """``rows`` without their per-image hits (N booleans each: the paper profile's 10,000
    test images would make the results file large)."""
    return [{k: v for k, v in r.items() if k != "right"} for r in rows]


def _t_halfwidth(values: np.ndarray, level: float = 0.95) -> float:
    """Half-width of the t-interval of the mean over seeds (NaN for one seed)."""
    from rdsc.intervals import spread
    if len(values) < 2:
        return float("nan")
    s = spread(values, level)
    return (s["mean_high"] - s["mean_low"]) / 2


def summary(rows: list[dict]) -> pd.DataFrame:
    """Rows averaged over seeds per method: top-k means, ``top-1 ±`` (95% t-interval
    half-width over seeds, NaN for one seed), seeds, summed seconds, and ``noise top-1`` /
    ``noise top-2``: the half-width of the paired 95% interval of rdsc minus the method
    (:func:`rdsc.intervals.paired_noise` on the same images, each image's hits averaged
    over the method's seeds; NaN for rdsc itself, or rows without per-image hits)."""
    df = pd.DataFrame(rows)
    if df.empty:
        raise ValueError("summary needs at least one row")
    if "dataset" in df and df["dataset"].nunique() > 1:  # one mean over two datasets
        raise ValueError("summary averages one dataset's rows, got "
                         f"{sorted(df['dataset'].unique())}")
    if "seed" in df and df.duplicated(["method", "seed"]).any():  # narrows the interval
        repeated = df[df.duplicated(["method", "seed"])][["method", "seed"]]
        raise ValueError(f"a method's seed appears twice: {repeated.to_dict('records')}")
    out = []
    for method, g in df.groupby("method", sort=False):
        rec = {"method": method, "family": g["family"].iloc[0], "dim": int(g["dim"].iloc[0]),
               "seeds": len(g)}
        for k in TOPK:
            if f"top-{k}" in g:
                rec[f"top-{k}"] = g[f"top-{k}"].mean()
        rec["top-1 ±"] = _t_halfwidth(g["top-1"].to_numpy())
        rec["top-1 min"], rec["top-1 max"] = g["top-1"].min(), g["top-1"].max()
        rec["features s"] = g["features s"].mean()
        rec["fit s"] = g["fit s"].mean()
        rec["right"] = _mean_hits(g)
        out.append(rec)
    ours = next((r["right"] for r in out if r["family"] == "rdsc"), None)
    for rec in out:
        right = rec.pop("right")
        for k in PAIRED_K:
            rec[f"noise top-{k}"] = (
                paired_noise(ours[k], right[k]) if rec["family"] != "rdsc" and ours
                and right and k in ours and k in right and len(ours[k]) == len(right[k]) >= 2
                else float("nan"))   # NaN: the unpaired noise (baselines_words.noise_of)
    return pd.DataFrame(out)


def chosen_c_table(paper_table: pd.DataFrame, chosen_rows: list[dict]) -> pd.DataFrame:
    """Per method with C chosen (``chosen_rows``, each with its ``C``): the chosen C and
    top-1 / top-2 with the paper's C (``paper_table``, :func:`summary`) and with it,
    rounded to 0.1 as the other tables show them."""
    chosen = summary(chosen_rows).set_index("method")
    paper = paper_table.set_index("method")
    c = {r["method"]: r["C"] for r in chosen_rows}
    return pd.DataFrame({
        "C chosen": [c[m] for m in chosen.index],
        **{f"top-{k}, {which}": [round(t.loc[m, f"top-{k}"], 1) for m in chosen.index]
           for k in (1, 2) for which, t in (("paper's C", paper), ("C chosen", chosen))}},
        index=chosen.index)


def _mean_hits(g: pd.DataFrame) -> dict | None:
    """Each image's share of right answers over a method's seeds (``{k: N floats}``), or
    None when a row has no per-image hits (rows read back from an older results file)."""
    if "right" not in g or g["right"].isna().any():
        return None
    return {k: np.mean([np.asarray(r[k], float) for r in g["right"]], axis=0)
            for k in PAIRED_K if all(k in r for r in g["right"])}


#: the columns of a section's table (:func:`rows_table`): top-2..4 are in the summary and
#: the top-k figure; seven columns fit the rendered page without scrolling
SECTION_COLUMNS = ["dataset", "method", "seed", "top-1", "top-5", "features s", "fit s"]


def rows_table(rows: dict[str, list[dict]], family: str | None = None) -> pd.DataFrame:
    """``{dataset: rows}`` as one table of :data:`SECTION_COLUMNS` (accuracies in %,
    seconds), only ``family``'s rows when given, rounded, indexed by dataset and method."""
    df = pd.DataFrame([{"dataset": d, **r} for d in rows for r in rows[d]
                       if family is None or r["family"] == family])
    if df.empty:
        return df
    shown = df[[c for c in SECTION_COLUMNS if c in df]].round(1)
    return shown.set_index(["dataset", "method"])


def side_by_side(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The :func:`summary` tables of every dataset in one, indexed by dataset and method;
    ``top-1 ±`` shows "–" for a method run with one seed (no interval). The paired noise
    of each difference with rdsc is left to the sentences that compare (its
    columns were once unexplained here, and empty on rdsc's row). ``features``: each method's
    feature dimension (k-means's 6,400 beside rdsc's 4,000 once showed nowhere)."""
    both = pd.concat({d: t.set_index("method") for d, t in tables.items()}, names=["dataset"])
    hidden = ["top-1 min", "top-1 max"] + [f"noise top-{k}" for k in PAIRED_K]
    both = both.drop(columns=hidden, errors="ignore").round(1)
    both["top-1 ±"] = both["top-1 ±"].map(lambda v: "–" if pd.isna(v) else f"{v:.1f}")
    first = ["family", "top-1", "top-1 ±"]  # the comparison first: the table is wide
    if "dim" in both:
        both = both.rename(columns={"dim": "features"})
        first.append("features")
    return both[first + [c for c in both.columns if c not in first]]


def compare(table: pd.DataFrame, ours: str, family: str) -> pd.DataFrame:
    """``ours`` minus every method of ``family`` at top-1 and top-2: the mean differences, the
    baseline's 95% interval over seeds, whether ``ours`` beats its best seed and whether it
    is below its worst seed at top-1, and the paired test-set noise of the top-1 difference
    (:func:`summary`)."""
    me = table.set_index("method").loc[ours]
    rows = []
    for _, r in table[table["family"] == family].iterrows():
        rows.append({"baseline": r["method"], "difference top-1": me["top-1"] - r["top-1"],
                     "± (seeds)": r["top-1 ±"], "difference top-2": me["top-2"] - r["top-2"],
                     "beats every seed": bool(me["top-1"] > r["top-1 max"]),
                     "below every seed": bool(me["top-1"] < r["top-1 min"]),
                     "noise top-1": r.get("noise top-1", float("nan"))})
    return pd.DataFrame(rows)


#: Published accuracies (%) on CIFAR-10 for the full recipes, quoted (not computed here).
PUBLISHED_CIFAR10 = [
    {"method": "VGG16, trained (kuangliu/pytorch-cifar README)", "family": "trained",
     "top-1": 92.64},
    {"method": "ResNet18, trained (kuangliu/pytorch-cifar README)", "family": "trained",
     "top-1": 93.02},
    {"method": "DenseNet depth 40, growth rate 12, not BC, trained (Huang et al. 2017, C10+)",
     "family": "trained", "top-1": 94.76},
    {"method": "k-means, 1,600 centroids (Coates, Lee & Ng 2011)", "family": "unsupervised",
     "top-1": 77.9},
    {"method": "random filters, same pipeline (Coates, Lee & Ng 2011)", "family": "unsupervised",
     "top-1": 70.0, "note": "given as about 70%"},
    {"method": "scattering J=2 + linear (kymatio example)", "family": "peers", "top-1": 70.0,
     "note": "given as about 70%"},
]


def as_published(row: dict) -> str:
    """A quoted accuracy with the precision its source gave: ``"76.36"``, ``"77.9"``, and
    ``"about 70"`` where the source says about ("70.00" claimed two decimals no
    source gave)."""
    value = f"{row['top-1']:g}"
    return f"about {value}" if "about" in row.get("note", "") else value


def calibration_subset(n_images: int, n: int, seed: int = 0) -> torch.Tensor:
    """``n`` random indices among ``n_images`` (subsets are stored class by class: never the
    first ``n``)."""
    whole_number("n", n)  # -3 took all but the last three, 0 none
    gen = torch.Generator().manual_seed(seed_number(seed))
    return torch.randperm(n_images, generator=gen)[:min(n, n_images)]


def final_layer_rows(arch: str, train_images, train_labels, test_images, test_labels, *,
                     seeds, n_calibration: int, C: float = 0.005, softmax_epochs: int = 100,
                     device=None) -> list[dict]:
    """For each seed: a frozen random-weight ``arch`` (batch norm recalibrated on
    ``n_calibration`` training images), then its final layer trained two ways, the
    paper's LinearSVM and a softmax layer by SGD (both on z-scored features).
    Returns two rows per seed."""
    from rdsc.deepnets import random_embeddings
    rows = []
    for seed in seeds:
        start = time.perf_counter()
        calib = train_images[calibration_subset(len(train_images), n_calibration, seed)]
        train_f, test_f = random_embeddings(arch, calib, [train_images, test_images], seed=seed,
                                            n_classes=int(np.max(train_labels)) + 1, device=device)
        seconds = time.perf_counter() - start
        scores, fit_s = svm_scores(train_f, train_labels, test_f, C=C, scale=True, device=device)
        rows.append(row(f"{arch}, random, SVM", "random deep net, final layer", scores,
                        test_labels, dim=train_f.shape[1], seconds_features=seconds,
                        seconds_fit=fit_s, seed=seed))
        scores, fit_s = softmax_scores(train_f, train_labels, test_f, epochs=softmax_epochs,
                                       seed=seed)
        rows.append(row(f"{arch}, random, softmax SGD", "random deep net, final layer", scores,
                        test_labels, dim=train_f.shape[1], seconds_features=seconds,
                        seconds_fit=fit_s, seed=seed))
    return rows


# --- every method on one split: what the chapter calls, one function per family ---------------

def rdsc_rows(split: Split, *, n_features: int, seed: int, C: float = 0.005,
              device=None, c_grid=None, chosen: list | None = None) -> list[dict]:
    """The random depthwise sign network of ``split.dataset`` (chapter 3's, features cached)
    and the paper's LinearSVM on its raw features: one row. With ``c_grid``, the same
    features' row with C chosen on a validation split (:func:`chosen_c_scores`) is
    appended to ``chosen``."""
    from rdsc.features import extract
    from rdsc.network import RandomDepthwiseSignNet
    from rdsc.paths import CacheWatch
    net = RandomDepthwiseSignNet.for_dataset(split.dataset, n_features, seed=seed)
    with CacheWatch() as watch:
        f_train, f_test = (extract(net, images, cache=True, name=f"{split.dataset}-{part}",
                                   device=device, progress=False)
                           for images, part in ((split.train_images, "train"),
                                                (split.test_images, "test")))
    scores, fit_s = svm_scores(f_train, split.train_labels, f_test, C=C, device=device)
    note = "" if watch.wrote else "features read from the cache"
    _chosen_row(chosen, c_grid, f_train, split, f_test, RDSC, "rdsc", dim=net.n_features,
                seconds_features=watch.seconds, seed=seed, note=note, device=device)
    # read from the cache, its seconds are not the cost of computing the features
    return [row(RDSC, "rdsc", scores, split.test_labels, dim=net.n_features,
                seconds_features=watch.seconds, seconds_fit=fit_s, seed=seed, note=note)]


def _chosen_row(chosen: list | None, c_grid, train_X, split: Split, test_X, method: str,
                family: str, *, dim: int, seconds_features: float, seed=None,
                note: str = "", scale: bool = False, device=None) -> None:
    """Append to ``chosen`` the row of ``method`` with C chosen for its features
    (:func:`chosen_c_scores`); its ``C`` key holds the chosen C. Nothing without
    ``c_grid``."""
    if c_grid is None:
        return
    if chosen is None:
        raise ValueError("c_grid needs a list `chosen` to put the rows with C chosen in")
    scores, best, fit_s = chosen_c_scores(train_X, split.train_labels, test_X, grid=c_grid,
                                          scale=scale, device=device)
    chosen.append({**row(method, family, scores, split.test_labels, dim=dim,
                         seconds_features=seconds_features, seconds_fit=fit_s, seed=seed,
                         note=note), "C": best})


def trained_rows(split: Split, *, archs, epochs: int | None, cnn_epochs: int | None,
                 device=None) -> list[dict]:
    """Networks trained end to end on ``split``: each of ``archs`` for ``epochs`` with the
    authors' recipe (``rdsc.deepnets``, cached for other chapters), and the small CNN of
    ``rdsc.cnn`` for ``cnn_epochs`` (None: not run). One row each."""
    from rdsc import cnn, deepnets
    rows = []
    for arch in archs:
        model = deepnets.trained(arch, split.train_images, split.train_labels, epochs=epochs,
                                 seed=deepnets.SHARED_SEED, device=device, progress=False)
        rows.append(row(f"{arch}, trained {plural(epochs, 'epoch')}", "trained",
                        cnn.logits(model, split.test_images).numpy(), split.test_labels,
                        dim=model.embed_dim, seconds_features=0,
                        seconds_fit=model.train_seconds, seed=0,
                        note=_trained_note("authors' recipe", model)))
    if cnn_epochs:
        small = cnn.trained(split.train_images, split.train_labels, epochs=cnn_epochs, seed=0,
                            device=device, progress=False)
        rows.append(row(f"small CNN, trained {plural(cnn_epochs, 'epoch')}", "trained",
                        cnn.logits(small, split.test_images).numpy(), split.test_labels,
                        dim=small.config["hidden"], seconds_features=0,
                        seconds_fit=small.train_seconds, seed=0,
                        note=_trained_note("rdsc.cnn (AdamW)", small)))
    return rows


#: how a row of a trained network read from the model cache is noted (its seconds are
#: those of the run that trained it, possibly on another machine)
MODEL_FROM_CACHE = "model read from the cache"
#: how a row of a trained network trained in this run names its device
TRAINED_HERE = "trained in this run on"


def trained_words(rows: dict[str, list[dict]]) -> str:
    """The trained networks of ``{dataset: rows}`` in words, each read from the model cache
    said so with its device (and its dataset, where several ran): its seconds are those of
    the run that trained it; one trained in this run names this run's device."""
    words: dict[str, dict[str, str]] = {}
    here: dict[str, dict[str, str]] = {}  # trained in this run: its device
    for dataset, dataset_rows in rows.items():
        for r in dataset_rows:
            if r["family"] != "trained":
                continue
            note = r.get("note", "")
            cached = note[note.index(MODEL_FROM_CACHE):] if MODEL_FROM_CACHE in note else ""
            words.setdefault(r["method"], {})[dataset] = cached
            if TRAINED_HERE in note:
                here.setdefault(r["method"], {})[dataset] = note[note.index(TRAINED_HERE):]
    out = []
    for method in sorted(words):
        by_dataset = words[method]
        cached = {d: w for d, w in by_dataset.items() if w}
        if not cached:
            fresh = set(here.get(method, {}).values())
            # the device it trained on (the figure's caption promises it)
            out.append(f"{method} ({fresh.pop()})" if len(fresh) == 1 else method)
            continue
        if len(by_dataset) == 1 or (len(set(cached.values())) == 1
                                    and len(cached) == len(by_dataset)):
            said = next(iter(cached.values()))
        else:
            said = ", ".join(f"{d}: {w}" for d, w in cached.items())
        out.append(f"{method} ({said}: its seconds are that training's)")
    return "; ".join(out) or "none"


def _trained_note(recipe: str, model) -> str:
    """``recipe``, and where ``model`` was read from the cache, that it was, with the device
    it was trained on (its training seconds are that run's, not this one's)."""
    if not getattr(model, "from_cache", False):  # its device named too
        on = getattr(model, "trained_on", None)
        return f"{recipe}; {TRAINED_HERE} {on}" if on else recipe
    where = f", trained on {model.trained_on}" if getattr(model, "trained_on", None) else ""
    return f"{recipe}; {MODEL_FROM_CACHE}{where}"


KMEANS = "k-means (Coates et al. 2011)"
RANDOM_FILTERS = "random filters, same pipeline"


def unsupervised_rows(split: Split, *, n_filters: int, n_patches: int, C: float = 0.005,
                      device=None, c_grid=None, chosen: list | None = None) -> list[dict]:
    """Coates, Lee & Ng's single-layer pipeline with k-means centroids, and with random
    filters (their control), each followed by the LinearSVM on z-scored features. With
    ``c_grid``, each one's row with C chosen on a validation split is appended to
    ``chosen`` (:func:`rdsc_rows`)."""
    from rdsc.unsupervised import KMeansFeatures
    rows = []
    for filters, label in (("kmeans", KMEANS), ("random", RANDOM_FILTERS)):
        start = time.perf_counter()
        km = KMeansFeatures(n_filters, filters=filters, n_patches=n_patches,
                            seed=0).fit(split.train_images)
        k_train = km.transform(split.train_images, device=device)
        k_test = km.transform(split.test_images, device=device)
        seconds = time.perf_counter() - start
        scores, fit_s = svm_scores(k_train, split.train_labels, k_test, C=C, scale=True,
                                   device=device)
        rows.append(row(f"{label}, K={km.n_filters}", "unsupervised", scores, split.test_labels,
                        dim=km.n_features, seconds_features=seconds, seconds_fit=fit_s, seed=0))
        _chosen_row(chosen, c_grid, k_train, split, k_test, rows[-1]["method"],
                    "unsupervised", dim=km.n_features, seconds_features=seconds, seed=0,
                    scale=True, device=device)
    return rows


SCATTERING = "scattering J=2 (kymatio)"
RCF_NAME = "random conv. features (MOSAIKS/RCF)"


def peer_rows(split: Split, *, n_features: int, C: float = 0.005, device=None) -> list[dict]:
    """Other fixed features + the LinearSVM (z-scored): the scattering transform (J = 2) and
    random convolutional features (RCF) with ``n_features`` features."""
    from rdsc.peers import RCF, scattering_features
    rows = []
    start = time.perf_counter()
    s_train = scattering_features(split.train_images, J=2, device=device)
    s_test = scattering_features(split.test_images, J=2, device=device)
    seconds = time.perf_counter() - start
    scores, fit_s = svm_scores(s_train, split.train_labels, s_test, C=C, scale=True,
                               device=device)
    rows.append(row(SCATTERING, "peers", scores, split.test_labels, dim=s_train.shape[1],
                    seconds_features=seconds, seconds_fit=fit_s, seed=0))
    del s_train, s_test
    start = time.perf_counter()
    rcf = RCF(3, features=n_features, seed=0)
    r_train = rcf(split.train_images, device=device)
    r_test = rcf(split.test_images, device=device)
    seconds = time.perf_counter() - start
    scores, fit_s = svm_scores(r_train, split.train_labels, r_test, C=C, scale=True,
                               device=device)
    rows.append(row(RCF_NAME, "peers", scores, split.test_labels, dim=rcf.n_features,
                    seconds_features=seconds, seconds_fit=fit_s, seed=0))
    return rows
