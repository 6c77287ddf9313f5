"""The chapters' figures that take more than a few lines to draw.

Each function draws one figure from values its chapter has already computed and returns
the matplotlib figure (the chapter glues it, :func:`rdsc.book.glue`); none computes a
result. The caption beside each figure, in its chapter, says what it shows. Short figures
stay in their chapters.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from rdsc import book

#: one colour per attacked model, in chapter 7's figures
MODEL_COLOURS = {"random network + SVM": "C0", "trained CNN": "C1"}


def _bare(ax) -> None:
    """An image panel: no ticks, no grid."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


def _log_ticks(ax, values, axis: str = "x") -> None:
    """Ticks at exactly ``values`` (plain numbers with thousands separators) on a log axis."""
    ax.minorticks_off()
    values = list(values)
    getattr(ax, f"set_{axis}ticks")(values, [f"{int(v):,}" for v in values])


# --- chapter 2 -------------------------------------------------------------------------------

def feature_maps(images, row_labels, maps, channels):
    """Chapter 2: each image (a row) and, for each of ``channels``, its sign map after each
    layer. ``images``: ``R x 3 x H x W`` uint8; ``row_labels``: ``R`` names;
    ``maps``: one ``R x C x h x w`` tensor of signs per layer (``net.feature_maps``)."""
    import matplotlib.pyplot as plt
    n_rows = len(images)
    fig, axes = plt.subplots(n_rows, 1 + len(maps) * len(channels), figsize=(9, 4.4),
                             gridspec_kw={"wspace": 0.08, "hspace": 0.08}, squeeze=False)
    for r in range(n_rows):
        axes[r, 0].imshow(images[r].permute(1, 2, 0).numpy())
        axes[r, 0].set_ylabel(row_labels[r])
        col = 1
        for c in channels:
            for depth, m in enumerate(maps):
                axes[r, col].imshow(m[r, c].numpy(), cmap="gray", vmin=-1, vmax=1)
                if r == 0:
                    axes[r, col].set_title(f"channel {c}\nlayer {depth + 1}", fontsize=10)
                col += 1
    axes[0, 0].set_title("image", fontsize=10)
    for ax in axes.flat:
        _bare(ax)
    return fig


def extraction_cost(by_k: pd.DataFrame, by_size: pd.DataFrame, slopes, k_fixed: int):
    """Chapter 2: seconds against ``k`` (``by_k``: columns ``k``, ``seconds``) and against
    first-layer positions at ``k_fixed`` (``by_size``: ``positions``, ``seconds``), both
    log-log; ``slopes``: the two fitted exponents (None: too noisy to fit), in the titles.
    Sizes whose runs disagree (column ``runs agree`` "no", when present) get a black ring:
    a fit leaves them out."""
    import matplotlib.pyplot as plt
    fitted = ["too noisy to fit" if s is None else f"exponent {s:.2f}" for s in slopes]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.3))
    axes[0].loglog(by_k["k"], by_k["seconds"], "o-")
    axes[0].set(xlabel="k (CIFAR-size images)", ylabel="seconds (fastest run)",
                title=f"time against k: {fitted[0]}")
    axes[1].loglog(by_size["positions"], by_size["seconds"], "o-")
    axes[1].set(xlabel="first-layer positions per image", ylabel="seconds (fastest run)",
                title=f"k = {k_fixed:,}: {fitted[1]}")
    for ax, (frame, x) in zip(axes, [(by_k, "k"), (by_size, "positions")]):
        if "runs agree" in frame:
            noisy = frame[frame["runs agree"] == "no"]
            ax.loglog(noisy[x], noisy["seconds"], "o", mfc="none", mec="black", ms=11,
                      label="runs disagree (left out of a fit)")
            if len(noisy):
                ax.legend(fontsize=8)
    for ax, xs in zip(axes, [by_k["k"], by_size["positions"]]):
        book.readable_log_axis(ax, "y")
        _log_ticks(ax, xs)
    fig.tight_layout()
    return fig


# --- chapter 5 -------------------------------------------------------------------------------

def margins(margins: pd.DataFrame, datasets):
    """Chapter 5: one panel per dataset, the mean SVM margin against ``k`` for the features
    (round: hard margin, cross: soft), Gaussian noise of the same dimension (triangles,
    bars over its draws), the features with shuffled labels (squares; hollow: soft) and
    pixels (dashed); a black ring around any fit the solver could not verify (``verified``
    False; rows without it count as verified). ``margins``: one row per dataset, space and
    dimension, with ``mean margin``, ``hard`` and, for noise, ``draw margins``."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.5 * len(datasets), 3.6),
                             squeeze=False)
    for ax, name in zip(axes[0], datasets):
        m = margins[margins.dataset == name]
        f = m[m.space == "features"]
        for hard, marker, label in ((True, "o", "features: hard margin"),
                                    (False, "X", "features: soft margin")):
            part = f[f.hard == hard]
            if len(part):  # no legend entry for a marker the plot does not show
                ax.scatter(part["dimension"], part["mean margin"], marker=marker, s=60,
                           label=label, color="C0" if hard else "C1")
        ax.plot(f["dimension"], f["mean margin"], color="grey", lw=1, zorder=0)
        z = m[m.space == "noise"]
        ax.plot(z["dimension"], z["mean margin"], color="C2", ls=":",
                label="Gaussian noise (control)")
        spread = [(r["mean margin"] - min(r["draw margins"]),
                   max(r["draw margins"]) - r["mean margin"]) for _, r in z.iterrows()]
        ax.errorbar(z["dimension"], z["mean margin"], yerr=list(zip(*spread)),
                    fmt="none", ecolor="C2", lw=1)  # the range of the noise draws
        _hollow_when_soft(ax, z, "^", 45, "C2")
        p = m[m.space == "shuffled labels"]
        ax.plot(p["dimension"], p["mean margin"], color="C4", ls="-.",
                label="features, labels shuffled (control)")
        _hollow_when_soft(ax, p, "s", 35, "C4")
        unverified = m[m["verified"].eq(False)] if "verified" in m else m.iloc[:0]
        pixels_unverified = bool((unverified.space == "pixels").any())
        ax.axhline(m[m.space == "pixels"]["mean margin"].item(), color="C3", ls="--",
                   label="pixels, fit not verified" if pixels_unverified else "pixels")
        ring = unverified[unverified.space != "pixels"]
        if len(ring):  # its margin may be off: the reader should see which
            ax.scatter(ring["dimension"], ring["mean margin"], marker="o", s=220,
                       facecolors="none", edgecolors="black", lw=1.2,
                       label="fit not verified (margin may be off)")
        ax.set(xscale="log", yscale="log", xlabel="k (random features)",
               ylabel="mean margin", title=name)
        book.readable_log_axis(ax, "y")
        _log_ticks(ax, f["dimension"])
    # one legend below the panels, where it covers no data
    handles = {label: h for ax in axes[0]
               for h, label in zip(*ax.get_legend_handles_labels())}
    # room for the legend's rows under the axis labels, added to the figure's height (a
    # share of a fixed height covered the x-axis labels; then it left panels
    # about 100 px tall)
    rows = -(-len(handles) // 2)
    legend_inches = 0.2 + 0.2 * rows
    width, height = fig.get_size_inches()
    fig.set_size_inches(width, height + legend_inches)
    fig.tight_layout(rect=(0, legend_inches / (height + legend_inches), 1, 1))
    fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=2, fontsize=9)
    return fig


def _hollow_when_soft(ax, rows: pd.DataFrame, marker: str, size: int, colour: str) -> None:
    for hard, face in ((True, colour), (False, "none")):  # hollow: a soft margin
        part = rows[rows.hard == hard]
        ax.scatter(part["dimension"], part["mean margin"], marker=marker, s=size,
                   facecolors=face, edgecolors=colour)


# --- chapter 4 -------------------------------------------------------------------------------

#: one colour scale per family of methods in chapter 4's top-k figure (rdsc in black)
FAMILY_SCALES = {"random deep net, final layer": "Blues", "trained": "Reds",
                 "unsupervised": "Greens", "peers": "Purples"}
#: the line of each final layer on a random-weight network (its caption names them)
HEAD_DASHES = {"SVM": "", "softmax SGD": (4, 2)}
#: dashes for heads a reader's own run adds, in order of appearance
EXTRA_DASHES = [(1, 1.5), (6, 1.5, 1, 1.5), (2, 3)]
#: colour scales for families the book does not name, in order of appearance
SPARE_SCALES = ["Oranges", "YlOrBr", "RdPu", "BuGn", "Greys"]


def method_styles(methods: pd.DataFrame) -> tuple[dict, dict]:
    """Colours and dashes for chapter 4's methods (``methods``: ``method``, ``family``).

    A family shares one colour scale. Its shades are spread over the darker part of the
    scale, one per network where methods are named ``"<network>, <weights>, <head>"``
    (the random-weight final layers), and each head of a network gets its own dash: six
    adjacent shades of blue could not be told apart. rdsc is black.
    Returns ``({method: colour}, {method: dash pattern, "" for solid})``.
    """
    import seaborn as sns
    colours, dashes = {}, {}
    # a family the book does not know takes the next unused scale (every
    # unknown family once shared one orange)
    spare = iter([c for c in SPARE_SCALES if c not in FAMILY_SCALES.values()])
    for family, part in methods.groupby("family", sort=False):
        names = list(dict.fromkeys(part["method"]))
        if family == "rdsc":
            colours.update(dict.fromkeys(names, "black"))
            dashes.update(dict.fromkeys(names, ""))
            continue
        # "vgg16, random, SVM": a network and one of its heads, in a family where some
        # name ends in a head of HEAD_DASHES (other names are whole: "k-means, K=1,600");
        # a head the book does not know gets a dash of its own (one such name
        # once made the whole family solid, against the caption)
        parts = {name: name.split(", ") for name in names}
        headed = any(len(p) == 3 and p[2] in HEAD_DASHES for p in parts.values())
        network = {name: p[0] if headed and len(p) == 3 else name
                   for name, p in parts.items()}
        unknown = dict.fromkeys(p[2] for name, p in parts.items()
                                if network[name] != name and p[2] not in HEAD_DASHES)
        head_dash = {**dict(zip(unknown, EXTRA_DASHES + [""] * len(unknown))),
                     **HEAD_DASHES}
        networks = list(dict.fromkeys(network.values()))
        cmap = FAMILY_SCALES.get(family) or next(spare, "Oranges")
        scale = sns.color_palette(cmap, as_cmap=True)
        spots = np.linspace(0.45, 0.95, len(networks)) if len(networks) > 1 else [0.8]
        shade = {net: scale(x) for net, x in zip(networks, spots)}
        for name in names:
            colours[name] = shade[network[name]]
            dashes[name] = "" if network[name] == name else head_dash[parts[name][2]]
    return colours, dashes


def topk_accuracy(long: pd.DataFrame, topk):
    """Chapter 4: top-k accuracy of every method, one panel per dataset (``long``:
    ``dataset``, ``method``, ``family``, ``top-k``, ``accuracy (%)``), colours and
    dashes from :func:`method_styles`, a marker per method, the legend below."""
    import seaborn as sns
    colours, dashes = method_styles(long[["method", "family"]])
    n_panels = long["dataset"].nunique()
    grid = sns.relplot(data=long, x="top-k", y="accuracy (%)", hue="method",
                       style="method", col="dataset", kind="line", markers=True,
                       dashes=dashes, height=3.6,
                       aspect=min(1.6, 8.6 / (3.6 * n_panels)),
                       palette=colours, facet_kws={"sharey": False})
    grid.set(xticks=list(topk))
    grid.set_titles("{col_name}")
    sns.move_legend(grid, "upper center", bbox_to_anchor=(0.5, 0.0), ncol=2, title=None,
                    frameon=False, fontsize=10, markerscale=1.3)
    return grid


# --- chapter 6 -------------------------------------------------------------------------------

def precision_and_map(curves: pd.DataFrame, chance_p1: float, k_rows: pd.DataFrame,
                      trained_ap: dict[str, float]):
    """Chapter 6: left, precision at n (``curves``: ``representation``, ``n``, ``P@n
    (%)``) with chance at n = 1 (``chance_p1``, %); right, the random features' mAP against
    ``k`` (``k_rows``: ``k``, ``distance``, ``AP`` and its ``AP low`` / ``AP high``,
    fractions) beside each trained network's mAP (``trained_ap``, fractions)."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    fig, axes = plt.subplots(1, 2, figsize=(9, 5.4),
                             gridspec_kw={"width_ratios": [1.25, 1]},
                             layout="constrained")  # room for the legends below
    sns.lineplot(data=curves, x="n", y="P@n (%)", hue="representation", ax=axes[0])
    axes[0].axhline(chance_p1, ls="--", color="grey", lw=1, label="chance")
    axes[0].set(xscale="log", xlabel="n (images retrieved)", title="precision at n")
    book.readable_log_axis(axes[0], "x")
    # cosine hollow and larger, drawn first: where it lies on the Euclidean curve (it
    # did at every k, and the caption pointed at a line no one could see) its
    # squares still show around the Euclidean dots
    for metric, style, marker in (("cosine", ":", dict(marker="s", ms=9, mfc="none")),
                                  ("euclidean", "-", dict(marker="o"))):
        part = k_rows[k_rows.distance == metric]
        axes[1].plot(part.k, 100 * part.AP, style, color="C0",
                     label=f"random features, {metric}", **marker)
        axes[1].fill_between(part.k, 100 * part["AP low"], 100 * part["AP high"],
                             alpha=0.15, color="C0")
    # dashes, dash-dots and dash-dot-dots: never the random features' solid or dotted
    # lines, so a reader who cannot tell colours apart still can
    styles = ("--", "-.", (0, (4, 1.5, 1, 1.5, 1, 1.5)))
    for i, (name, ap) in enumerate(trained_ap.items()):
        axes[1].axhline(100 * ap, lw=1.2, ls=styles[i % 3], color=f"C{2 + i}", label=name)
    axes[1].set(xscale="log", xlabel="k", ylabel="mAP (%)", title="mAP against k")
    axes[1].margins(y=0.1)  # a trained network's line sat on the top frame
    _log_ticks(axes[1], k_rows.k.unique())
    for ax in axes:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=1, fontsize=8,
                  frameon=False)
    return fig


# --- chapter 7 -------------------------------------------------------------------------------

def _attack_style(name: str, attack: str) -> dict:
    """Colour: the model; line style: the attack (dotted: Boundary)."""
    return {"color": MODEL_COLOURS[name], "ls": ":" if attack == "boundary" else "-",
            "lw": 2}


def _attack_legend(fig) -> None:
    """One legend below both panels: colour = model, line style = attack."""
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], color=c, lw=2) for c in MODEL_COLOURS.values()]
    handles += [Line2D([], [], color="k", lw=2, ls=ls) for ls in ("-", ":")]
    labels = list(MODEL_COLOURS) + ["HopSkipJump", "Boundary"]
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=4,
               fontsize=10, frameon=False)


def attack_success(distances: dict, epsilon: float):
    """Chapter 7: the share of images fooled within a budget
    (:func:`rdsc.attacks.success_curve`), L2 attacks on the left, L-inf on the right (a
    dashed line at ``epsilon``). ``distances``: ``{(model, attack, norm): N minimal
    perturbations}`` (inf where the attack found none). Colour: the model
    (:data:`MODEL_COLOURS`); line style: the attack (dotted: Boundary)."""
    import matplotlib.pyplot as plt

    from rdsc.attacks import success_curve
    # each axis reaches the largest perturbation found, so every curve gets to its
    # final share
    reach = {"l2": 6.0, "linf": 0.15}
    for (_, _, norm), found in distances.items():
        found = np.asarray(found, dtype=float)
        found = found[np.isfinite(found)]
        if found.size:
            reach[norm] = max(reach[norm], 1.05 * found.max())
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for (name, attack, norm), found in distances.items():
        grid = np.linspace(0, reach[norm], 241)
        ax = axes[1] if norm == "linf" else axes[0]
        ax.plot(grid, 100 * success_curve(found, grid), **_attack_style(name, attack))
    axes[0].set(xlabel="L2 budget", ylabel="success (%)", title="L2 attacks")
    axes[1].set(xlabel="L-inf budget", ylabel="success (%)", title="HopSkipJump L-inf")
    axes[1].axvline(epsilon, ls="--", color="grey", lw=1)
    fig.tight_layout()
    _attack_legend(fig)
    return fig


def attack_progress(histories: dict):
    """Chapter 7: the median, over the attacked images, of the smallest perturbation found
    so far against the queries spent, L2 on the left and L-inf on the right.
    ``histories``: ``{(model, attack, norm): queries x N}`` smallest distances (inf until
    an image is fooled). A curve whose median is never finite (under half the images
    fooled) is left out, and a panel left empty says so."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for (name, attack, norm), history in histories.items():
        if len(history) == 0:
            continue
        # inf (not yet fooled) sorts last, so the median is finite once over half the
        # images are fooled (NaN for inf once made one image never fooled drop the
        # whole curve, and every curve start only when all images were fooled)
        median = np.median(np.asarray(history, dtype=float), axis=1)
        median = np.where(np.isfinite(median), median, np.nan)
        if not np.isfinite(median).any():  # under half the images ever fooled
            continue
        ax = axes[1] if norm == "linf" else axes[0]
        ax.plot(np.arange(1, len(median) + 1), median, **_attack_style(name, attack))
    for ax, norm in zip(axes, ["L2", "L-inf"]):
        ax.set(xscale="log", yscale="log", xlabel="queries per image",
               ylabel=f"median smallest {norm}")
        if not ax.lines:  # a small budget: no median is finite
            ax.text(0.5, 0.5, "fewer than half the images\nfooled within the budget",
                    ha="center", va="center", transform=ax.transAxes)
        else:
            book.readable_log_axis(ax, "x")
            book.readable_log_axis(ax, "y")
    fig.tight_layout()
    _attack_legend(fig)
    return fig


#: points of agreement from uniform guessing below which a pair's chance line is not drawn
#: in :func:`transfer` (it would lie on the uniform line)
CHANCE_APART = 2.0


def transfer(bars: pd.DataFrame, title: str, rounds: pd.DataFrame, n_classes: int):
    """Chapter 7: left, each target's accuracy on clean, random-sign and FGSM inputs
    (``bars``: ``target``, ``input``, ``accuracy (%)``); right, the substitute's agreement
    with each target over the training rounds (``rounds``: ``target``, ``round``,
    ``agreement`` in %, and ``holdout_chance`` as a fraction when known), beside uniform
    guessing over ``n_classes``."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), gridspec_kw={"width_ratios": [1.2, 1]})
    # greys for the kinds of input: the chapter's colours name the models (once
    # orange meant the trained CNN in every other figure and "random signs" here)
    sns.barplot(data=bars, x="target", y="accuracy (%)", hue="input", ax=axes[0],
                palette="Greys", edgecolor="black", linewidth=0.6)
    axes[0].set(xlabel="", title=title)
    # below the bars, where it covers none of them
    axes[0].legend(fontsize=9, title=None, loc="upper center", bbox_to_anchor=(0.5, -0.12),
                   ncol=3, frameon=False)
    uniform = 100 / n_classes
    # chance for each pair's class shares: drawn only at the rounds where it stands apart
    # from uniform guessing (else lines on one level, a legend naming lines one cannot
    # see; once a pair 0.3 points from uniform was drawn because another pair was apart)
    chance = (100 * rounds["holdout_chance"] if "holdout_chance" in rounds
              else pd.Series(np.nan, index=rounds.index))
    shown = chance.where((chance - uniform).abs() >= CHANCE_APART)
    for name, part in rounds.groupby("target", sort=False):
        axes[1].plot(part["round"], part["agreement"], "o-", color=MODEL_COLOURS[name],
                     label=name)
        if shown[part.index].notna().any():
            # a dot per round: a round apart between two that are not is still seen
            axes[1].plot(part["round"], shown[part.index], ":", marker=".",
                         color=MODEL_COLOURS[name], label=f"chance, {name}")
    apart = bool(shown.notna().any())
    axes[1].set(xlabel="round", ylabel="agreement with target (%)",
                title="substitute training rounds")
    axes[1].set_xticks(sorted(rounds["round"].unique()))
    within = ("" if apart or chance.isna().all() else
              f";\neach pair's chance within {CHANCE_APART:g} points of it")
    axes[1].axhline(uniform, ls="--", color="grey", lw=1,
                    label=f"uniform guessing ({n_classes} classes){within}")
    axes[1].set_ylim(0, 100)
    # below the panel: inside, its five lines covered the curves
    axes[1].legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2,
                   frameon=False)
    fig.tight_layout()
    return fig


# --- chapter 8 -------------------------------------------------------------------------------

#: the colour of each outcome word under chapter 8's example images
OUTCOME_COLOURS = {"right": "green", "donor's": "darkorange", "wrong": "red"}


def condition_examples(rows: list[dict], conditions):
    """Chapter 8: one row per example image, one column per condition, each image with the
    two classifiers' outcome under it. ``rows``: per example, ``images`` (``{condition:
    3 x H x W`` uint8``}``), ``label`` (the row's label) and ``outcomes`` (``{condition:
    [(who, word), ...]}``, word a key of :data:`OUTCOME_COLOURS`)."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(rows), len(conditions), figsize=(9, 1.35 * len(rows)),
                             squeeze=False)
    fig.subplots_adjust(left=0.17, right=0.99, wspace=0.12, hspace=0.7)
    for r, row in enumerate(rows):
        for col, cond in enumerate(conditions):
            ax = axes[r, col]
            ax.imshow(row["images"][cond].permute(1, 2, 0).numpy())
            for y, (who, word) in zip((-0.14, -0.4), row["outcomes"][cond]):
                ax.text(0.5, y, f"{who}: {word}", transform=ax.transAxes, fontsize=8,
                        ha="center", va="center", color=OUTCOME_COLOURS[word])
            _bare(ax)
            if r == 0:
                ax.set_title(cond.replace(",", "").replace(" ", "\n", 1), fontsize=8)
        axes[r, 0].set_ylabel(row["label"], fontsize=8, rotation=0, ha="right",
                              va="center")
    return fig

