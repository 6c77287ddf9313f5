"""rdsc.book's helpers, and the book's scholarly apparatus checked in the sources.

The source checks read the MyST files only (no build): every citation has an entry in
references.bib, every {doc}/{eq}/{numref} target exists, every glued figure has alt text
and a caption and is glued by its chapter, code lines stay within 100 characters, and
chapters are named by links, not by a number typed by hand.
"""
import re
import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from rdsc import book  # noqa: E402
from rdsc.chapters import chapter_files  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = chapter_files(ROOT)
SOURCES = [ROOT / "intro.md", *CHAPTERS]
CODE_CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
FENCE = re.compile(r"^(`{3,}|~{3,}).*?^\1[ \t]*$", re.S | re.M)


# --- helpers ---------------------------------------------------------------------------------

def test_results_name_their_commit_and_a_rerun_keeps_the_file_it_replaces(tmp_path, monkeypatch):
    """A rerun with other parameters used to overwrite the book's own results file, and no
    results file said which code made it."""
    from rdsc import strict_json
    monkeypatch.setenv("RDSC_RESULTS", str(tmp_path))
    monkeypatch.setenv("RDSC_COMMIT", "abc123")
    first = book.save_results("99_toy", "toy-quick", {"profile": "quick", "C": 0.005})
    assert strict_json.read(first)["commit"] == "abc123"
    monkeypatch.delenv("RDSC_COMMIT")
    second = book.save_results("99_toy", "toy-quick", {"profile": "quick", "C": 0.01})
    assert second == first and strict_json.read(second)["C"] == 0.01
    previous = tmp_path / "99_toy" / "toy-quick.previous.json"
    assert strict_json.read(previous)["C"] == 0.005
    # a second parameter run once lost the first (one version back was all that was
    # kept); every earlier run stays in history/, by its saved time
    book.save_results("99_toy", "toy-quick", {"profile": "quick", "C": 0.1})
    kept = sorted((tmp_path / "99_toy" / "history").glob("toy-quick.*.json"))
    assert [strict_json.read(p)["C"] for p in kept] == [0.005, 0.01]
    assert all(re.fullmatch(r"toy-quick\.\d{4}-\d\d-\d\dT\d{6}(_\d+)?\.json", p.name)
               for p in kept)
    assert strict_json.read(previous)["C"] == 0.01
    assert book.save_results("99_toy", "toy-quick", {"profile": "quick", "C": 0.01}) == second
    # a write that fails leaves the current file as it was (it was moved away first)
    def fail(path, write):
        if path.name == "toy-quick.json":
            raise OSError("disk full")
        return real_write(path, write)
    real_write = book.write_atomically
    monkeypatch.setattr(book, "write_atomically", fail)
    with pytest.raises(OSError, match="disk full"):
        book.save_results("99_toy", "toy-quick", {"profile": "quick", "C": 0.02})
    assert strict_json.read(second)["C"] == 0.01
    monkeypatch.setattr(book, "write_atomically", real_write)
    # this book's git commit (the tests run inside it), with +changes when edited
    assert re.fullmatch(r"[0-9a-f]{40}(\+changes)?|unknown", strict_json.read(second)["commit"])


def test_results_name_the_engine_they_were_made_with(tmp_path, monkeypatch):
    # the GPU runner falls back to the torch chain when the fused kernels fail
    # their tests; a record made so must say it
    monkeypatch.setenv("RDSC_RESULTS", str(tmp_path))
    monkeypatch.setenv("RDSC_ENGINE", "chain")
    from rdsc import strict_json
    saved = strict_json.read(book.save_results("99_toy", "toy-quick", {"C": 0.005}))
    assert saved["environment"]["engine"] == "chain"
    monkeypatch.delenv("RDSC_ENGINE")
    assert book.environment()["engine"] == "auto"


def test_shown_path_never_shows_the_machines_absolute_path(tmp_path, monkeypatch):
    data, elsewhere = tmp_path / "data", tmp_path / "results-elsewhere"
    monkeypatch.setenv("RDSC_DATA", str(data))
    monkeypatch.delenv("RDSC_RESULTS", raising=False)
    saved = book.save_results("99_toy", "toy-smoke", {"profile": "smoke"})
    assert saved.is_file() and saved.is_absolute()  # the path itself still opens
    assert book.shown_path(saved) == "$RDSC_DATA/results/99_toy/toy-smoke.json"
    monkeypatch.setenv("RDSC_RESULTS", str(elsewhere))
    saved = book.save_results("99_toy", "toy-smoke", {"profile": "smoke"})
    assert book.shown_path(saved) == "$RDSC_RESULTS/99_toy/toy-smoke.json"
    assert book.shown_path("/somewhere/else/entirely.json") == "entirely.json"
    assert str(tmp_path) not in book.shown_path(saved)
    # inside the book, the path the introduction names (data/results/...)
    monkeypatch.delenv("RDSC_RESULTS")
    monkeypatch.delenv("RDSC_DATA")
    monkeypatch.setattr(book, "book_root", lambda: tmp_path)
    monkeypatch.setattr(book, "data_root", lambda: tmp_path / "data")
    assert book.shown_path(tmp_path / "data" / "results" / "x" / "y.json") == \
        "data/results/x/y.json"


@pytest.fixture
def no_myst_nb(monkeypatch):
    monkeypatch.setitem(sys.modules, "myst_nb", None)  # import myst_nb -> ImportError


def test_glue_without_myst_nb_prints_values_and_closes_figures(no_myst_nb, capsys):
    book.glue("answer", "42%")
    fig, _ = plt.subplots(figsize=(9, 3))
    book.glue("fig_toy", fig)
    out = capsys.readouterr().out
    assert "[answer] 42%" in out and "[fig_toy] figure, 9.0 x 3.0 in" in out
    assert not plt.fignum_exists(fig.number)


def test_glue_hands_figures_and_seaborn_grids_to_myst_nb_and_closes_them(monkeypatch):
    import myst_nb
    import seaborn as sns
    glued = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display=True:
                        glued.setdefault(name, (value, display)))
    fig, _ = plt.subplots()
    book.glue("fig_plain", fig)
    grid = sns.FacetGrid(data=__import__("pandas").DataFrame({"a": [1, 2], "b": [0, 1]}),
                         col="b")
    book.glue("fig_grid", grid)
    book.glue("text", "*emphasis*")
    assert glued["fig_plain"] == (fig, False) and glued["fig_grid"][0] is grid.figure
    assert not plt.fignum_exists(fig.number) and not plt.fignum_exists(grid.figure.number)
    from IPython.display import Markdown
    assert isinstance(glued["text"][0], Markdown)
    # its plain-text form, which {glue:text} pastes, is the text
    from IPython.core.formatters import PlainTextFormatter
    assert PlainTextFormatter()(glued["text"][0]) == "*emphasis*"


def test_readable_log_axis_labels_a_few_plain_numbers():
    fig, ax = plt.subplots()
    ax.set_yscale("log")
    ax.set_ylim(0.0302, 0.0468)  # less than a decade: matplotlib would label nothing
    ticks = book.readable_log_axis(ax, "y")
    assert 2 <= len(ticks) <= 6 and all(0.0302 <= t <= 0.0468 for t in ticks)
    ax.set_ylim(1.2, 4.5)  # 2 alone once, then 2, 3, 4: curves at 1.3 sat below every label
    assert book.readable_log_axis(ax, "y") == [1.5, 2.0, 3.0, 4.0]
    ax.set_ylim(0.04, 0.25)
    assert book.readable_log_axis(ax, "y") == [0.05, 0.1, 0.2]
    ax.set_ylim(1e-3, 10)
    assert book.readable_log_axis(ax, "y") == [0.001, 0.01, 0.1, 1.0, 10.0]
    assert ax.yaxis.get_major_formatter()(0.5, 0) == "0.5"
    with pytest.raises(ValueError):
        book.readable_log_axis(ax, "z")
    plt.close(fig)


def test_extraction_cost_takes_the_fastest_of_repeats_and_sizes_the_output():
    from rdsc.measure import extraction_cost
    from rdsc.network import RandomDepthwiseSignNet
    x = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    cost = extraction_cost(RandomDepthwiseSignNet(64), x, device="cpu", repeats=3)
    assert len(cost["all_seconds"]) == 3 and cost["seconds"] == min(cost["all_seconds"]) > 0
    assert cost["output_bytes"] == 16 * 64 * 2  # int16 counts
    with pytest.raises(ValueError):
        extraction_cost(RandomDepthwiseSignNet(8), x, device="cpu", repeats=0)


# --- the sources -----------------------------------------------------------------------------

def bib_keys() -> set[str]:
    return set(re.findall(r"^@\w+\{([^,\s]+),", (ROOT / "references.bib").read_text(), re.M))


def prose(text: str) -> str:
    """The markdown of a MyST source without its fenced blocks (code cells, directives)."""
    return FENCE.sub("", text)


def roles(text: str, name: str) -> list[str]:
    return re.findall(r"\{" + re.escape(name) + r"\}`([^`]+)`", text)


def test_references_bib_has_unique_complete_entries():
    text = (ROOT / "references.bib").read_text()
    keys = re.findall(r"^@\w+\{([^,\s]+),", text, re.M)
    assert len(keys) == len(set(keys)), "duplicate keys in references.bib"
    for entry in re.split(r"^@", text, flags=re.M)[1:]:
        assert re.search(r"\btitle\s*=", entry) and re.search(r"\bauthor\s*=", entry), entry[:80]
    assert {"xue2019random", "papernot2017practical", "goodfellow2015explaining",
            "chen2020hopskipjump", "brendel2018decision", "coates2011analysis"} <= set(keys)


def test_no_two_references_share_an_author_year_label():
    """The text cites "[Xue and Roshan, 2019]" without a or b, while the References page
    labels a second entry of the same authors and year "2019b": a citation would then name
    two entries (the authors' code, once cited under their names, did)."""
    import sys

    from pybtex.database import parse_file
    sys.path.insert(0, str(ROOT / "tools"))
    from bibliography_labels import author_year
    labels = [author_year(e) for e in parse_file(ROOT / "references.bib").entries.values()]
    twice = sorted({label for label in labels if labels.count(label) > 1})
    assert not twice, f"references sharing a label the text cannot tell apart: {twice}"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_every_citation_is_in_references_bib(source):
    text = source.read_text()
    cited = {key.strip() for role in ("cite", "cite:p", "cite:t", "cite:ps", "cite:ts")
             for keys in roles(text, role) for key in keys.split(",")}
    missing = cited - bib_keys()
    assert not missing, f"{source.name} cites keys missing from references.bib: {missing}"


def test_the_references_page_has_the_bibliography_and_the_intro_links_every_chapter():
    assert "```{bibliography}" in (ROOT / "references.md").read_text()
    assert "references" in (ROOT / "_toc.yml").read_text()
    text = (ROOT / "intro.md").read_text()
    linked = roles(text, "doc")
    for chapter in CHAPTERS:
        assert f"chapters/{chapter.stem}" in linked, f"intro does not link {chapter.stem}"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_doc_eq_and_numref_targets_exist(source):
    text = source.read_text()
    for target in roles(text, "doc"):
        target = re.sub(r"^.*<(.*)>$", r"\1", target)
        assert (source.parent / f"{target}.md").is_file(), f"{source.name}: no doc {target}"
    book_text = "\n".join(p.read_text() for p in SOURCES)
    labels = set(re.findall(r"^\$\$[ \t]*\(([\w-]+)\)[ \t]*$", book_text, re.M))
    labels |= set(re.findall(r"^:label:\s*(\S+)", book_text, re.M))  # {math} directives
    for label in roles(text, "eq"):
        assert label in labels, f"{source.name}: equation label {label!r} is not defined"
    names = set(re.findall(r"^:name:\s*(\S+)", book_text, re.M))
    names |= set(re.findall(r"^\(([\w-]+)\)=\s*$", book_text, re.M))
    for role in ("numref", "ref"):
        for target in roles(text, role):
            target = re.sub(r"^.*<(.*)>$", r"\1", target)
            assert target in names, f"{source.name}: no figure or section named {target!r}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_glued_figures_have_alt_text_a_caption_and_a_glue(chapter):
    text = chapter.read_text()
    code = "\n".join(CODE_CELL.findall(text))
    for block in re.findall(r"^```\{glue:figure\}[ \t]*(\S+)\n(.*?)^```", text, re.S | re.M):
        name, body = block
        lines = body.splitlines()
        n_options = next((i for i, ln in enumerate(lines) if not re.match(r"^:\w+:", ln)),
                         len(lines))
        options = [re.match(r"^:(\w+):", ln).group(1) for ln in lines[:n_options]]
        # MyST reads options up to the first line that is not one: a wrapped :alt: would
        # end them there and turn the rest (and :name:) into caption text
        assert n_options == len(lines) or not lines[n_options].strip(), \
            f"{chapter.name}: {name}'s options must be one line each, then a blank line"
        caption = "\n".join(lines[n_options:])
        assert "alt" in options and "name" in options, f"{chapter.name}: {name} lacks :alt:/:name:"
        assert caption.strip(), f"{chapter.name}: figure {name} has no caption"
        assert re.search(r"glue\(\s*[\"']" + re.escape(name) + r"[\"']", code), \
            f"{chapter.name}: figure {name} is never glued"


CODE_COLUMN = 85  # characters of 13px code in the rendered page's column at 1280 px


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_code_lines_fit_the_rendered_column(chapter):
    # a longer line wraps at the column's left edge, under the indentation, and reads badly
    long, in_cell = [], False
    for number, line in enumerate(chapter.read_text().splitlines(), 1):
        if in_cell and re.match(r"^```[ \t]*$", line):
            in_cell = False
        elif in_cell and len(line) > CODE_COLUMN:
            long.append(number)
        elif line.startswith("```{code-cell}"):
            in_cell = True
    assert not long, (f"{chapter.name}: code lines over {CODE_COLUMN} characters, at lines "
                      f"{long}")


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_chapters_are_named_by_links_not_typed_numbers(source):
    typed = re.findall(r"\b[Cc]hapters? \d+", prose(source.read_text()))
    assert not typed, f"{source.name} names chapters by number ({typed}): use {{doc}} links"


def test_start_gives_settings_device_seed_theme_and_one_line():
    import seaborn as sns
    import torch
    table = {"smoke": {"n": 10, "k": 4}, "quick": {"n": 100, "k": 40}}
    sns.set_theme(style="dark")
    chapter = book.start("smoke", table, seed=7, device="cpu", k=None, n=3)
    assert chapter.cfg == {"n": 3, "k": 4} and chapter.device == torch.device("cpu")
    assert chapter.summary(dataset="toy") == "profile smoke on cpu, seed 7: n=3, k=4, dataset=toy"
    # tables of settings read one per line, not as Python dicts
    assert chapter.summary(k_of={"cifar10": 100_000, "corel": 8}, nets=["vgg16"],
                           seeds=[2018, 2019]) == (
        "profile smoke on cpu, seed 7: n=3, k=4, nets=[vgg16], seeds=[2018, 2019]\n"
        "  k_of: cifar10 100,000, corel 8")
    # an image count of None is every image; another None is none (once Python's "None")
    assert chapter.summary(n_train=None, model=None).endswith("n_train=all, model=none")
    assert chapter.summary(cifar_train=None, c_images=None, trained_epochs=None,
                           lossless={"train": None, "test": 5}).endswith(
        "cifar_train=all, c_images=all, trained_epochs=none\n  lossless: train all, test 5")
    # inside a per-dataset table too, and a table of tables keeps its datasets
    # apart; no dangling colon without flat settings
    bare = book.Chapter("paper", {"n_train": {"cifar10": None, "mini": 500}}, "cpu")
    assert bare.summary() == "profile paper on cpu\n  n_train: cifar10 all, mini 500"
    assert bare.summary(sizes={"a": {"n_test": None, "k": 10_000}, "b": {"n_test": 5}}
                        ).endswith("sizes: a (n_test all, k 10,000), b (n_test 5)")
    first = torch.rand(3)
    book.start("smoke", table, seed=7)
    assert torch.equal(first, torch.rand(3))  # torch seeded again: the same draw
    import matplotlib as mpl
    assert mpl.rcParams["axes.grid"]  # seaborn's whitegrid, not the dark theme set before
    with pytest.raises(ValueError, match="profile must be one of smoke, quick"):
        book.start("paper", table, seed=0)
    # a paper run on a CPU once started hours of work without a word
    paper = {**table, "paper": table["quick"]}
    with pytest.warns(UserWarning, match="profile paper on the CPU.*meant for a GPU.*hours"):
        book.start("paper", paper, seed=0, device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        book.start("quick", paper, seed=0, device="cpu")
    for bad in (1.5, -1, True):
        with pytest.raises(ValueError, match="seed must be a whole number of at least 0"):
            book.start("smoke", table, seed=bad)
    assert book.start("smoke", table, seed=np.int64(7)).seed == 7  # as rdsc's functions take


def test_counts_in_the_settings_take_only_whole_numbers():
    table = {"smoke": {"n": 10, "arch": "small", "k": None, "ks": [1, 2], "zero": 0},
             "quick": {"n": 100, "arch": None, "k": 5, "ks": [3], "zero": 2}}
    assert book.settings("smoke", table, n=3, k=7, zero=0)["zero"] == 0
    for key, bad in (("n", 2.5), ("n", 0), ("n", -5), ("n", True), ("n", "3"), ("k", 0),
                     ("zero", -1)):
        with pytest.raises(ValueError, match=f"{key} must be a whole number of at least"):
            book.settings("smoke", table, **{key: bad})
    assert book.settings("smoke", table, arch="vgg", ks=[4])["ks"] == [4]  # not counts
    # 2.0 folds were once told 'at least 1', 1 fold 'at least 2'
    for bad in (2.0, 1):
        with pytest.raises(ValueError, match=r"n must be a whole number of at least 2, got"):
            book.settings("smoke", table, least={"n": 2}, n=bad)
    assert book.settings("smoke", table, least={"n": 2}, n=2)["n"] == 2
    for typo in ("nn", "arch"):
        with pytest.raises(ValueError, match=f"least names '{typo}', which is not a count"):
            book.settings("smoke", table, least={typo: 2}, n=1)


def test_parameter_checks_name_the_parameter():
    assert book.whole_number("n", np.int64(3)) == 3
    assert book.positive_number("C", 0.005) == 0.005
    for bad in (0, -1, float("nan"), float("inf"), "1", True):
        with pytest.raises(ValueError, match="C must be a positive number"):
            book.positive_number("C", bad)
    # `-r C 0.005` passes the text '0.005', once refused without saying so
    with pytest.raises(ValueError, match=r"got '0.005' \(text, not a number: with papermill, "
                                         r"-p C 0.005; -r passes the text\)"):
        book.positive_number("C", "0.005")
    with pytest.raises(ValueError, match=r"'100' \(text, not a number: .*-p n_features 100"):
        book.whole_number("n_features", "100")
    # `-p C nan` arrives as text; the hint once told the user to type just that
    with pytest.raises(ValueError, match=r"got 'nan' \(not a finite number: C cannot be "
                                         r"nan\)"):
        book.positive_number("C", "nan")
    # a list given to plain papermill's -p arrives as text
    for check in (lambda v: book.seed_list("seeds", v),
                  lambda v: book.chosen_from("seeds", v, [2018, 2019])):
        with pytest.raises(ValueError, match=r"got '\[2018, 2019\]' \(a list given as "
                                             r"text: .* use -y 'seeds: \[2018, 2019\]'"):
            check("[2018, 2019]")
    # seed 2**64 once met torch's "Overflow when unpacking long long"
    assert book.seed_number(2**64 - 1) == 2**64 - 1
    with pytest.raises(ValueError, match=r"seed must be below 2\*\*64"):
        book.seed_number(2**64)
    assert book.seed_list("seeds", [0, 3]) == [0, 3]
    for bad in ([], [1, 1], "2018", 2018, [-1], [1.5]):
        with pytest.raises(ValueError, match="seeds"):
            book.seed_list("seeds", bad)
    assert book.one_of("arch", "b", ("a", "b")) == "b"
    with pytest.raises(ValueError, match=r"arch must be one of \['a', 'b'\], got 'B'"):
        book.one_of("arch", "B", ("a", "b"))
    assert book.chosen_from("datasets", ["b"], ["a", "b"]) == ["b"]
    for bad in ([], "a", ["c"], ["a", "a"]):
        with pytest.raises(ValueError, match=r"datasets must be a non-empty list of distinct "
                                             r"names among \['a', 'b'\]"):
            book.chosen_from("datasets", bad, ["a", "b"])


def test_sentence_helpers_count_and_list():
    from rdsc.checks import listed, plural
    assert (plural(1, "epoch"), plural(1200, "image")) == ("1 epoch", "1,200 images")
    assert [listed(x) for x in ([], ["a"], ["a", "b"], ["a", "b", "c"])] == [
        "", "a", "a and b", "a, b and c"]


def test_chapter_split_loads_each_split_once(monkeypatch):
    from rdsc import data
    calls = []
    monkeypatch.setattr(data.Split, "load", classmethod(
        lambda cls, d, n_train, n_test: calls.append((d, n_train, n_test)) or len(calls)))
    chapter = book.start("smoke", {"smoke": {}})   # a chapter with a list of seeds
    assert chapter.split("cifar10", 10, 5) == chapter.split("cifar10", 10, 5) == 1
    assert chapter.split("cifar10", 20, 5) == 2
    assert calls == [("cifar10", 10, 5), ("cifar10", 20, 5)]


def test_flag_refuses_strings_that_python_reads_as_true():
    import numpy as np
    assert book.flag("mnist_download", True) is True
    assert book.flag("mnist_download", np.bool_(False)) is False
    # papermill's -r mnist_download False passed "False", truthy: a download began
    for bad in ("False", 0, None, np.array([True])):
        with pytest.raises(ValueError, match="mnist_download must be True or False"):
            book.flag("mnist_download", bad)


def test_flag_refuses_numpy_integers_and_shown_path_names_the_data_root(monkeypatch, tmp_path):
    with pytest.raises(ValueError):
        book.flag("x", np.int64(1))
    monkeypatch.delenv("RDSC_RESULTS", raising=False)
    monkeypatch.delenv("RDSC_DATA", raising=False)
    monkeypatch.setattr(book, "book_root", lambda: None)
    monkeypatch.setattr(book, "data_root", lambda: tmp_path / "d")
    assert book.shown_path(tmp_path / "d" / "results" / "y.json") == "data/results/y.json"


def test_refuse_unused_names_the_parameter_and_why():
    book.refuse_unused("deep_epochs", None, True, "never seen")  # not set: nothing to refuse
    book.refuse_unused("deep_epochs", 5, False, "never seen")  # set and used
    with pytest.raises(ValueError, match=r"^deep_epochs = 5 would have no effect: no deep net$"):
        book.refuse_unused("deep_epochs", 5, True, "no deep net")


def test_setting_words_say_the_papers_only_when_it_is():
    from rdsc import paper
    assert paper.setting_words("C", 0.005, paper.PAPER_C) == "the paper's C = 0.005"
    assert paper.setting_words("C", 0.05, paper.PAPER_C) == "C = 0.05, not the paper's 0.005"
    assert paper.setting_words("ε", 0.03, paper.PAPER_EPSILON) == (
        "ε = 0.03, not the paper's 0.0625")
    # a C that :g rounds to the paper's once read "C = 0.005, not the paper's 0.005"
    assert paper.setting_words("C", 0.0050000001, paper.PAPER_C) == (
        "C = 0.0050000001, not the paper's 0.005")
    assert paper.apart_from(999.9999, 1000) == "999.9999"
    assert paper.apart_from(0.05, 0.005) == "0.05" and paper.apart_from(2, 2) == "2"


def test_unsupervised_claim_is_said_per_dataset_run():
    # chapter 4 run on miniimagenet10 read "the paper: comparable on CIFAR-10"
    from rdsc import paper
    assert paper.unsupervised_claim_words(["cifar10"]) == "comparable on cifar10"
    assert paper.unsupervised_claim_words(["stl10", "miniimagenet10"]) == (
        "better on stl10; no comparison on miniimagenet10")


def test_profile_note_names_the_parameters_that_changed_the_profile():
    # quick with -p n_features 100000 still read "fewer features than the paper"
    table = {"quick": dict(n_features=2000, n_images=512)}
    assert book.profile_note("quick", table, {"n_features": None}) == book.PROFILE_NOTES["quick"]
    assert book.profile_note("quick", table, {"n_features": 2000}) == book.PROFILE_NOTES["quick"]
    assert book.profile_note("quick", table, {"n_features": 100_000, "seed": None}).endswith(
        "Parameters given to this run that change the profile's settings: "
        "n_features = 100000.")
    # one the table lacks (chapter 7 sets trained_arch after the table) is named as given,
    # not as a change: it may equal what the chapter would have used
    assert book.profile_note("quick", table, {"trained_arch": "vgg16"}).endswith(
        " Also given to this run (the settings line shows the values used): "
        "trained_arch = 'vgg16'.")
    both = book.profile_note("quick", table, {"n_features": 4000, "trained_arch": "vgg16"})
    assert "change the profile's settings: n_features = 4000. Also given" in both


def test_start_names_noted_parameters_but_keeps_them_out_of_the_settings(monkeypatch):
    # chapters 4 and 8 apply n_features to a per-dataset table themselves, so
    # book.start never saw it and a rerun at k = 100,000 still read as the quick profile
    notes = {}
    monkeypatch.setattr(book, "glue_text", lambda name, text: notes.update({name: text}))
    table = {"quick": {"k": {"cifar10": 800}}}
    chapter = book.start("quick", table, device="cpu", noted=dict(n_features=100_000))
    assert chapter.cfg == {"k": {"cifar10": 800}}
    assert notes["profile_note_text"].endswith(
        "Also given to this run (the settings line shows the values used): "
        "n_features = 100000.")
    assert "change the profile's settings" not in notes["profile_note_text"]
    book.start("quick", table, device="cpu", noted=dict(n_features=None))
    assert notes["profile_note_text"] == book.PROFILE_NOTES["quick"]


def test_start_names_value_parameters_that_differ_from_the_chapters_defaults(
        monkeypatch, tmp_path):
    # -p seeds '[7]' -p datasets '["miniimagenet10"]' once left chapter 8's note the
    # plain profile note, while -p n_features 1 was named: parameters whose default is a
    # value (not None) never reached book.start
    (tmp_path / "_toc.yml").write_text("root: intro\n")
    (tmp_path / "chapters").mkdir()
    (tmp_path / "chapters" / "09_x.md").write_text(
        "# X\n\n```{code-cell} ipython3\n:tags: [parameters]\nimport os\n"
        "profile = os.environ.get('RDSC_PROFILE', 'quick')\n"
        "datasets = ['cifar10', 'miniimagenet10']\nC = 1e6\nseed = 2018\n```\n")
    monkeypatch.chdir(tmp_path / "chapters")
    assert book.parameter_defaults("09_x") == {
        "datasets": ["cifar10", "miniimagenet10"], "C": 1e6, "seed": 2018}
    assert book.parameter_defaults("missing") == {}
    notes = {}
    monkeypatch.setattr(book, "glue_text", lambda name, text: notes.update({name: text}))
    table = {"quick": {"k": 3000}}
    book.start("quick", table, device="cpu", seed=2018, chapter="09_x",
               valued=dict(datasets=("cifar10", "miniimagenet10"), C=1000000))
    assert notes["profile_note_text"] == book.PROFILE_NOTES["quick"]  # the defaults
    book.start("quick", table, device="cpu", seed=7, chapter="09_x",
               valued=dict(datasets=["miniimagenet10"], C=1e6))
    assert notes["profile_note_text"].endswith(
        "Also given to this run (the settings line shows the values used): "
        "datasets = ['miniimagenet10'], seed = 7.")


def test_every_chapter_names_its_own_parameters_to_book_start(monkeypatch):
    """Each chapter's book.start call gives its own file name as ``chapter=`` and only
    value parameters of its parameters cell as ``valued=``: a typo there would silently
    drop a parameter from the profile note."""
    import re
    monkeypatch.chdir(ROOT / "chapters")
    for path in sorted((ROOT / "chapters").glob("0*.md")):
        call = re.search(r"^chapter = book\.start\(profile, (.*?)^cfg", path.read_text(),
                         re.S | re.M)
        assert call, path.name
        assert f'chapter="{path.stem}"' in call.group(1), path.name
        defaults = book.parameter_defaults(path.stem)
        assert defaults, path.name
        valued = re.search(r"valued=dict\((.*?)\)\)", call.group(1), re.S)
        for name in re.findall(r"(\w+)=", valued.group(1)) if valued else []:
            assert defaults.get(name) is not None, (path.name, name)


def test_only_papermills_cell_after_the_parameters_cell_counts_as_injected(monkeypatch):
    """A reader's own cell starting with "# Parameters" was once read as papermill's,
    and papermill's --inject-paths names as misspelt parameters."""
    import builtins
    from types import SimpleNamespace

    from rdsc import book as B
    cell = 'profile = "quick"\nseed = 2018\n'
    history = []
    monkeypatch.setattr(builtins, "get_ipython",
                        lambda: SimpleNamespace(user_ns={"In": history}), raising=False)
    history[:] = ["", cell, '# Parameters\nn_featurs = 50\nPAPERMILL_INPUT_PATH = "a"\n']
    assert B.injected_parameters(cell) == ["n_featurs"]
    history[:] = ["", cell, "import os", "# Parameters\nmine = 1\n"]   # the reader's cell
    assert B.injected_parameters(cell) == []
    monkeypatch.delattr(builtins, "get_ipython")
    assert B.injected_parameters(cell) == []                          # a plain script


def test_checks_bounds_percents_and_label_columns():
    """number_between taking its endpoints, percents above 100 or given as fractions, and
    N x 2 labels read as a column all once passed these tests."""
    from rdsc import checks
    for bad in (0.0, 1.0):
        with pytest.raises(ValueError, match="between 0 and 1"):
            checks.number_between("p", bad, 0, 1)
    with pytest.raises(ValueError, match="percentages in 0..100"):
        checks.percents("acc", [50.0, 150.0])
    with pytest.raises(ValueError, match="look like fractions"):
        checks.percents("acc", [0.85, 0.9], far_above_one=True)
    assert checks.label_vector(np.array([[1], [2]])).tolist() == [1, 2]
    with pytest.raises(ValueError, match="one per image"):
        checks.label_vector(np.zeros((3, 2)))


def test_log_axis_thins_and_refines_and_note_bolds_profile(monkeypatch):
    """7 ticks left unthinned, two round ticks not refined, and the glued profile note
    without the bold profile name all once passed these tests."""
    fig, ax = plt.subplots()
    ax.set_yscale("log")
    ax.set_ylim(1, 100)     # 1, 2, 5, 10, 20, 50, 100: one more than max_ticks
    assert book.readable_log_axis(ax, "y") == [1.0, 5.0, 20.0, 100.0]
    ax.set_ylim(1.6, 5.5)   # 2 and 5 alone: finer values
    assert book.readable_log_axis(ax, "y") == [2.0, 3.0, 4.0, 5.0]
    plt.close(fig)
    glued = {}
    monkeypatch.setattr(book, "glue", lambda name, value, display=False: glued.update(
        {name: value}))
    monkeypatch.setattr(book, "glue_text", lambda name, text: None)
    book.start("smoke", {"smoke": {"n": 1}}, device="cpu")
    assert glued["profile_note"].startswith("This page was built at the **smoke** profile")


def test_a_chapter_run_from_another_checkout_says_whose_code_it_runs(tmp_path, monkeypatch):
    """A second clone sharing a venv once ran the first clone's rdsc under papermill,
    and its results named the second clone's commit."""
    import warnings

    from rdsc import book
    (tmp_path / "_toc.yml").write_text("root: intro\n")
    (tmp_path / "rdsc").mkdir()   # a checkout of its own
    monkeypatch.chdir(tmp_path)
    with pytest.warns(UserWarning, match="this chapter imports rdsc from .*, not from the "
                      "book it sits in"):
        book._warn_if_other_checkout()
    monkeypatch.chdir(Path(book.__file__).resolve().parents[1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        book._warn_if_other_checkout()
