"""The built book in a real browser, offline: every page's math is typeset by the MathJax
shipped with the book, and no page asks anything of the network.

Opens every page of the built HTML (``$RDSC_BOOK_HTML``, default the smoke build
``_build/smoke/_build/html``; build it first with ``make book PROFILE=smoke``) in headless
Chromium, through Playwright, with the network cut off three ways: DNS resolves nothing
(``--host-resolver-rules``), every request that is not file:/data:/blob:/about: is aborted
by a route, and every request is recorded, so one that tried to leave fails the test even
though it got nowhere. Per page it asserts

* no request left the machine and no local file the page asked for is missing;
* every ``.math`` element Sphinx wrote holds a typeset ``mjx-container``, no MathJax error
  (``mjx-merror``) is shown, and no raw TeX (``\\(``, ``\\[``, ``$$``, ``$...$``) is left in
  the text outside code;
* MathJax comes from the book's ``_static/mathjax/``, once;
* no script raises an uncaught error.

and, per chapter, that no code cell's line scrolls sideways at common window widths.

Chromium: ``$RDSC_CHROMIUM``, else ``chromium`` / ``chromium-browser`` / ``google-chrome``
on PATH (Debian: ``apt-get install -y chromium``); Playwright's own browser download is not
needed. Without a browser, Playwright or the built book the tests skip, except where
``RDSC_REQUIRE_BROWSER=1`` (CI), where that fails them.
"""
import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
HTML = Path(os.environ.get("RDSC_BOOK_HTML", ROOT / "_build" / "smoke" / "_build" / "html"))
REQUIRE = os.environ.get("RDSC_REQUIRE_BROWSER") == "1"
LOCAL_SCHEMES = {"file", "data", "blob", "about"}
CHROMIUM_ARGS = [
    "--host-resolver-rules=MAP * ~NOTFOUND",  # no name resolves: nothing can leave
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-domain-reliability",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-dev-shm-usage",
]
PAGE_TIMEOUT_MS = 30_000


def _unavailable(reason: str):
    if REQUIRE:
        pytest.fail(f"RDSC_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def book_pages(html: Path) -> list[Path]:
    """The book's pages: every .html except Sphinx's own (_static/ templates, _sources)."""
    return sorted(p for p in html.rglob("*.html")
                  if not any(part.startswith("_") for part in p.relative_to(html).parts))


PAGES = book_pages(HTML) if HTML.is_dir() else []
NO_BOOK = (f"no built book in {HTML} (build it with `make book PROFILE=smoke`, "
           f"or point RDSC_BOOK_HTML at an html folder)")


def find_chromium() -> str | None:
    env = os.environ.get("RDSC_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed (pip install -e '.[test]')")
    executable = find_chromium()
    if executable is None:
        _unavailable("no Chromium found (apt-get install -y chromium, or set RDSC_CHROMIUM)")
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=executable,
                                                  args=CHROMIUM_ARGS, headless=True)
        except Error as error:
            _unavailable(f"Chromium ({executable}) does not start: {error}")
        yield chromium
        chromium.close()


class Visit:
    """One page opened in a fresh, offline browser context, with what it asked for."""

    def __init__(self, browser, url: str, follow_refresh: bool = False):
        self.requests: list[str] = []
        self.external: list[str] = []
        self.failed: list[str] = []
        self.page_errors: list[str] = []
        self.context = browser.new_context(service_workers="block")
        self.context.set_default_timeout(PAGE_TIMEOUT_MS)
        self.context.on("request", self._request)
        self.context.on("requestfailed", self._failed)
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        self.page.on("websocket", lambda ws: self.external.append(ws.url))
        self.page.goto(url, wait_until="load")
        if follow_refresh:  # a <meta http-equiv="refresh"> page (index.html): check where it goes
            self.page.wait_for_url(lambda now: now != url, wait_until="load")

    @staticmethod
    def _is_local(url: str) -> bool:
        return urlsplit(url).scheme.lower() in LOCAL_SCHEMES

    def _request(self, request):
        self.requests.append(request.url)
        if not self._is_local(request.url):
            self.external.append(request.url)

    def _failed(self, request):
        if self._is_local(request.url):  # the external ones are aborted on purpose
            self.failed.append(f"{request.url} ({request.failure})")

    def _route(self, route):
        if self._is_local(route.request.url):
            route.continue_()
        else:
            route.abort("internetdisconnected")

    def close(self):
        self.context.close()


# Wait for MathJax where the page loads it: its startup promise settles after the first
# typeset; then the web fonts. Returns why MathJax did not run, or null.
WAIT_FOR_MATHJAX = """async () => {
  const script = document.querySelector('script[src*="mathjax"]');
  if (!script) return null;
  const deadline = Date.now() + 30000;
  while (!(window.MathJax && MathJax.startup && MathJax.startup.promise) && Date.now() < deadline)
    await new Promise(r => setTimeout(r, 50));
  if (!(window.MathJax && MathJax.startup && MathJax.startup.promise))
    return 'MathJax did not start (' + script.src + ' missing or broken?)';
  await MathJax.startup.promise;
  await document.fonts.ready;
  return null;
}"""

# What the page shows: math elements, typeset ones, MathJax errors, and its text outside
# code and typeset math (hidden text too: a closed dropdown must be typeset as well).
INSPECT = """() => {
  const math = [...document.querySelectorAll('span.math, div.math')];
  const untypeset = math.filter(el => !el.querySelector('mjx-container'));
  const skip = 'pre, code, kbd, samp, script, style, noscript, template, textarea, '
             + 'mjx-container, .highlight';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const text = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (el && !el.closest(skip) && n.nodeValue.trim()) text.push(n.nodeValue);
  }
  return {
    math: math.length,
    untypeset: untypeset.slice(0, 5).map(el => el.textContent.trim().slice(0, 80)),
    n_untypeset: untypeset.length,
    containers: document.querySelectorAll('mjx-container').length,
    errors: [...document.querySelectorAll('mjx-merror')].slice(0, 5)
              .map(el => el.getAttribute('data-mjx-error') || el.textContent),
    scripts: [...document.querySelectorAll('script[src*="mathjax"]')].map(s => s.src),
    text: text,
  };
}"""

RAW_TEX = [
    (re.compile(r"\\\(|\\\)"), r"\( \) inline math"),
    (re.compile(r"\\\[|\\\]"), r"\[ \] display math"),
    (re.compile(r"\$\$"), "$$ display math"),
    (re.compile(r"(?<![\\$])\$(?=[^\s$])[^$\n]{0,200}?(?<=[^\s\\$])\$(?!\$)"), "$...$ inline math"),
]


def raw_tex(texts: list[str]) -> list[str]:
    """Snippets of text that look like TeX nobody typeset."""
    found = []
    for text in texts:
        for pattern, what in RAW_TEX:
            match = pattern.search(text)
            if match:
                start = max(0, match.start() - 30)
                found.append(f"{what}: ...{text[start:match.end() + 30].strip()}...")
    return found


def test_the_offline_guard_sees_and_stops_a_request_to_the_network(browser, tmp_path):
    """The check itself: a page that asks a CDN for a script and an image is caught."""
    page = tmp_path / "leaky.html"
    page.write_text('<html><body><p>x</p><img src="https://example.org/a.png">'
                    '<script src="http://cdn.example.org/b.js"></script></body></html>')
    visit = Visit(browser, page.as_uri())
    try:
        assert {"https://example.org/a.png", "http://cdn.example.org/b.js"} <= set(visit.external)
        assert visit.requests[0] == page.as_uri()
    finally:
        visit.close()
    assert raw_tex(["cost $k$ here"]) and raw_tex([r"\(k\)"]) and raw_tex(["$$x$$"])
    assert not raw_tex(["costs 5$ and 6 $ in total", r"escaped \$5", "$ alone"])


def test_built_html_has_no_cdn_and_loads_the_bundled_mathjax():
    """Without a browser: no page's <script>/<link>/<img> points off the machine, nothing
    refers to MathJax on a CDN, and pages with math load _static/mathjax/."""
    if not PAGES:
        _unavailable(NO_BOOK)
    assert (HTML / "_static" / "mathjax" / "tex-mml-chtml.js").is_file(), \
        "_static/mathjax/ missing from the html: run `python tools/fetch_mathjax.py`, rebuild"
    remote_asset = re.compile(
        r"<(?:script|link|img|iframe|source|video|audio|embed|object)\b[^>]*?"
        r"\b(?:src|href|data)\s*=\s*[\"']?((?:https?:)?//[^\"'\s>]+)", re.I)
    cdn_mathjax = re.compile(r"(?:https?:)?//[^\"'\s>]*mathjax", re.I)
    problems = []
    with_math = 0
    for page in PAGES:
        html = page.read_text(encoding="utf-8")
        rel = page.relative_to(HTML).as_posix()
        problems += [f"{rel}: loads {url}" for url in remote_asset.findall(html)]
        problems += [f"{rel}: refers to {m.group(0)}" for m in cdn_mathjax.finditer(html)]
        if 'class="math' in html:
            with_math += 1
            if not re.search(r'<script[^>]+src="[^"]*_static/mathjax/tex-mml-chtml\.js', html):
                problems.append(f"{rel}: has math but does not load _static/mathjax/")
    assert not problems, "\n".join(problems)
    assert with_math, "no page of the book has math: is this the rdsc book?"


def test_every_cell_of_the_intro_tables_is_filled():
    """Without a browser: the introduction's paper / record / this-build tables are pasted
    from the chapters ({glue:text} across pages); a key a chapter did not glue only warns
    in the build and leaves its cell empty, so no cell of those tables may be empty."""
    if not PAGES:
        _unavailable(NO_BOOK)
    html = (HTML / "intro.html").read_text(encoding="utf-8")
    tables = [t for t in re.findall(r"<table.*?</table>", html, re.S) if "this build" in t]
    assert len(tables) == 2, f"expected the intro's two tables, found {len(tables)}"
    empty = []
    for table in tables:
        for row in re.findall(r"<tr.*?</tr>", table, re.S)[1:]:
            cells = [re.sub(r"<[^>]+>", "", c).strip()
                     for c in re.findall(r"<td.*?</td>", row, re.S)]
            assert len(cells) == 4, f"a row of {len(cells)} cells: {cells}"
            empty += [cells[0][:40]] if not all(cells) else []
    assert not empty, f"empty cells in the intro's rows: {empty}"


@pytest.mark.parametrize("page", PAGES or [None],
                         ids=[p.relative_to(HTML).as_posix() for p in PAGES] or ["no-book"])
def test_page_typesets_its_math_offline(browser, page):
    if page is None:
        _unavailable(NO_BOOK)
    rel = page.relative_to(HTML).as_posix()
    refresh = re.search(r"<meta[^>]+http-equiv=[\"']?refresh", page.read_text(encoding="utf-8"),
                        re.I)
    visit = Visit(browser, page.as_uri(), follow_refresh=bool(refresh))
    try:
        not_started = visit.page.evaluate(WAIT_FOR_MATHJAX)
        seen = visit.page.evaluate(INSPECT)
        landed = visit.page.url
    finally:
        visit.close()
    if refresh:
        rel = f"{rel} -> {Path(urlsplit(landed).path).name}"
    print(f"{rel}: {seen['math']} math elements, {seen['containers']} typeset, "
          f"{len(visit.requests)} requests")

    assert not visit.external, f"{rel} asked the network for: {visit.external}"
    assert not visit.failed, f"{rel}: local files missing: {visit.failed}"
    assert not not_started, f"{rel}: {not_started}"
    # any uncaught script error (MathJax's, or a script the theme included twice)
    assert not visit.page_errors, f"{rel}: the page's scripts raised {visit.page_errors}"
    assert len(seen["scripts"]) <= 1, f"{rel} loads MathJax more than once: {seen['scripts']}"
    if seen["math"]:
        assert seen["scripts"] and "/_static/mathjax/" in seen["scripts"][0], \
            f"{rel} has math but loads MathJax from {seen['scripts']}"
        assert seen["containers"] > 0, f"{rel}: {seen['math']} math elements, none typeset"
    assert not seen["n_untypeset"], \
        f"{rel}: {seen['n_untypeset']} math elements not typeset, e.g. {seen['untypeset']}"
    assert not seen["errors"], f"{rel}: MathJax shows errors: {seen['errors']}"
    leftovers = raw_tex(seen["text"])
    assert not leftovers, f"{rel}: raw TeX in the page:\n" + "\n".join(leftovers[:10])


CODE_OVERFLOW = """() => [...document.querySelectorAll('div.cell_input pre')]
  .filter(p => p.scrollWidth > p.clientWidth + 1)
  .map(p => p.textContent.split('\\n').reduce((a, b) => a.length >= b.length ? a : b))"""
CHAPTERS = [p for p in PAGES if p.parent.name == "chapters"]


@pytest.mark.parametrize("page", CHAPTERS or [None],
                         ids=[p.name for p in CHAPTERS] or ["no-book"])
def test_code_lines_fit_the_column_at_common_window_widths(browser, page):
    """From 1200 px the theme's right sidebar took the room of 85-character lines: at
    1200 px 122 of the quick book's 137 code cells scrolled sideways, at 1280 px 73
    (_theme/rdsc.css narrows the sidebar in that range)."""
    if page is None:
        _unavailable(NO_BOOK)
    visit = Visit(browser, page.as_uri())
    try:
        wide = {}
        for width in (1024, 1200, 1280, 1366, 1440, 1920):
            visit.page.set_viewport_size({"width": width, "height": 900})
            lines = visit.page.evaluate(CODE_OVERFLOW)
            if lines:
                wide[width] = lines
    finally:
        visit.close()
    assert not wide, (f"{page.name}: code cells scroll sideways at window widths "
                      f"{sorted(wide)}, e.g. {next(iter(wide.values()))[:2]}")


# The output tables of a page: the vertical gap, in px, between each two tables one code
# cell displays one after the other; per table, the text-align of its header cells and of
# its body's value cells (left to right, "start" is "left").
OUTPUT_TABLES = """() => {
  const align = el => ({start: 'left', end: 'right'})[getComputedStyle(el).textAlign]
                      || getComputedStyle(el).textAlign;
  const outputs = [...document.querySelectorAll('div.cell_output')];
  return {
    gaps: outputs.flatMap(out => {
      const tables = [...out.querySelectorAll(':scope > div.output table')];
      return tables.slice(1).map((t, i) =>
        t.getBoundingClientRect().top - tables[i].getBoundingClientRect().bottom);
    }),
    alignment: [...document.querySelectorAll('div.cell_output table')].map(t => ({
      head: [...t.querySelectorAll('thead th')].filter(th => th.textContent.trim())
              .map(align),
      body: [...t.querySelectorAll('tbody td')].map(align),
    })),
  };
}"""


@pytest.mark.parametrize("page", CHAPTERS or [None],
                         ids=[p.name for p in CHAPTERS] or ["no-book"])
def test_output_tables_are_set_apart_and_headed_over_their_values(browser, page):
    """Chapter 7 shows its L2 and L-inf attack tables from one cell: they sat flush, and
    read as one table with its header repeated. pandas right-aligned the headers over
    left-aligned values: a header read as the next column's (chapter 2's record table,
    chapter 3's "k" over the C column). _theme/rdsc.css mends both."""
    if page is None:
        _unavailable(NO_BOOK)
    visit = Visit(browser, page.as_uri())
    try:
        tables = visit.page.evaluate(OUTPUT_TABLES)
    finally:
        visit.close()
    gaps = tables["gaps"]
    assert all(g >= 16 for g in gaps), f"{page.name}: tables {gaps} px apart"
    mixed = [t for t in tables["alignment"] if t["body"] and set(t["head"]) - set(t["body"])]
    assert not mixed, f"{page.name}: headers {mixed[0]['head'][:3]} over values " \
                      f"{sorted(set(mixed[0]['body']))}"
