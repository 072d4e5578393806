"""The built site in a real headless Chromium: search, header search box, safety, layout.

The site is opened two ways a user opens it: served under a subpath (``/digest/``, as on a
project page) and straight from disk through ``file://``. One browser serves the session;
every test gets a fresh context, and every page it opens is watched for script errors,
console errors and failed requests.
"""

from __future__ import annotations

import io
import json
import re
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote_plus, urldefrag, urlsplit

import pytest

from digest.cli import main

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response

pytestmark = pytest.mark.browser

SUBPATH = "/digest/"
RESULTS = "#search-results[aria-busy='false'] li"  # every result shown
RESULT_LINKS = "#search-results li h3 a"
M3DM_TITLE = "Multi-3D-Memory (M3DM)"
WIDE, NARROW = 1280, 375
XSS_TITLE = '<img src=x onerror="window.__xss=1">Evil <b>bold</b> paper'
XSS_ABSTRACT = (
    "Zebrafish larvae are a model organism; zebrafish hearts regenerate and zebrafish "
    "screens scale. <script>window.__xss=2</script> We image zebrafish fins "
    '<img src=y onerror="window.__xss=3"> over weeks.'
)


# --- environment --------------------------------------------------------------------------


class _SubpathHandler(SimpleHTTPRequestHandler):
    """Serves the site folder at ``/digest/`` only: a root-absolute URL in the site 404s."""

    def send_head(self) -> io.BytesIO | BinaryIO | None:
        if not urlsplit(self.path).path.startswith(SUBPATH):
            self.send_error(HTTPStatus.NOT_FOUND, "outside the site's subpath")
            return None
        self.path = self.path[len(SUBPATH) - 1 :]
        return super().send_head()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: pytest shows failures, not access logs."""


@pytest.fixture(scope="session")
def subpath_base(seeds_site: Path) -> Iterator[str]:
    handler = partial(_SubpathHandler, directory=str(seeds_site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}{SUBPATH}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture(params=["subpath", "file"])
def site_base(request: pytest.FixtureRequest, seeds_site: Path) -> str:
    """The site's root URL, ending in ``/``: served under a subpath, or opened from disk."""
    if request.param == "subpath":
        return str(request.getfixturevalue("subpath_base"))
    return seeds_site.as_uri() + "/"


# --- a watched page -----------------------------------------------------------------------


@dataclass
class Tab:
    """A page plus everything that went wrong on it: what a user would see in devtools."""

    page: Page
    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        where = message.location.get("url") or self.page.url
        self.errors.append(f"console error on {where}: {message.text}")

    def on_page_error(self, error: Exception) -> None:
        self.errors.append(f"uncaught error on {self.page.url}: {error}")

    def on_request_failed(self, request: Request) -> None:
        self.failed.append(f"{request.url}: {request.failure}")

    def on_response(self, response: Response) -> None:
        if response.status >= 400:
            self.failed.append(f"{response.url}: HTTP {response.status}")

    def open(self, url: str) -> Page:
        response = self.page.goto(url)
        assert response is None or response.ok, f"{url}: HTTP {response.status}"
        return self.page

    def assert_clean(self) -> None:
        assert not self.errors, "\n".join(self.errors)
        assert not self.failed, "failed requests:\n" + "\n".join(self.failed)


@contextmanager
def _watched_tab(browser: Browser) -> Iterator[Tab]:
    """A page in a fresh context (no shared cache or storage), closed afterwards."""
    context = browser.new_context(viewport={"width": WIDE, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        watched = Tab(page)
        page.on("console", watched.on_console)
        page.on("pageerror", watched.on_page_error)
        page.on("requestfailed", watched.on_request_failed)
        page.on("response", watched.on_response)
        yield watched
    finally:
        context.close()


@pytest.fixture
def tab(chromium: Browser) -> Iterator[Tab]:
    with _watched_tab(chromium) as watched:
        yield watched


# --- the site's content -------------------------------------------------------------------


def _papers(site: Path) -> list[dict[str, Any]]:
    papers: list[dict[str, Any]] = json.loads((site / "papers.json").read_text("utf-8"))["papers"]
    return papers


def _paper_path(site: Path, matches: Callable[[dict[str, Any]], bool]) -> str:
    """The page of the one paper that ``matches``, relative to the site root."""
    found = [p["path"] for p in _papers(site) if matches(p)]
    assert len(found) == 1, f"expected one matching paper in papers.json, found {found}"
    return str(found[0])


def _first(site: Path, pattern: str) -> str:
    found = sorted(site.glob(pattern))
    assert found, f"no {pattern} in the built site"
    return found[0].relative_to(site).as_posix()


def _shared_multiword_keyphrase(papers: list[dict[str, Any]]) -> str:
    """The most specific multi-word keyphrase that two papers share.

    Fewest carriers first (a phrase on half the site says little about any one paper), then
    most words, then alphabetical, so the choice is stable for a given build.
    """
    counts = Counter(k for p in papers for k in {k for k in p["keyphrases"] if " " in k})
    shared = [(n, -len(k.split()), k) for k, n in counts.items() if n >= 2]
    assert shared, "no multi-word keyphrase is shared by two papers"
    return min(shared)[2]


def _words(paper: dict[str, Any], part: str) -> list[str]:
    if part == "sources":
        return [f"{s['file']}:{s['line']}" for s in paper["sources"]]
    return re.split(r"[\s-]+", f"{paper['title']} {paper['abstract']}")  # browsers break at "-"


def _longest_word_paper(papers: list[dict[str, Any]], part: str) -> str:
    """The page of the paper with the longest unbreakable word (a URL, a file name) in ``part``."""
    paper = max(papers, key=lambda p: max(map(len, _words(p, part)), default=0))
    return str(paper["path"])


@pytest.fixture(scope="session")
def m3dm_page(seeds_site: Path) -> str:
    return _paper_path(seeds_site, lambda p: p["title"] == M3DM_TITLE)


@pytest.fixture(scope="session")
def site_pages(seeds_site: Path, m3dm_page: str) -> dict[str, str]:
    """One page of every kind, by name, as paths relative to the site root."""
    return {
        "home": "index.html",
        "theme": _first(seeds_site, "themes/*.html"),
        "paper": m3dm_page,
        "keyphrases": "keyphrases.html",
        "keyphrase": _first(seeds_site, "keyphrases/*.html"),
        "papers": "papers.html",
        "search": "search.html?q=anomaly+detection",
    }


# --- helpers ------------------------------------------------------------------------------


def _search(tab: Tab, base: str, query: str) -> list[tuple[str, str]]:
    """``(title, href)`` of the results shown for ``query``, in order."""
    return _shown_results(_visit(tab, base, f"search.html?q={quote_plus(query)}"))


def _visit(tab: Tab, base: str, path: str) -> Page:
    """Open a site page; on a search page, wait until the results are on screen."""
    page = tab.open(base + path)
    if path.startswith("search.html?"):
        page.wait_for_selector(RESULTS)
    return page


def _shown_results(page: Page) -> list[tuple[str, str]]:
    rows: list[list[str]] = page.eval_on_selector_all(
        RESULT_LINKS, "links => links.map(a => [a.textContent, a.getAttribute('href')])"
    )
    return [(title, href) for title, href in rows]


def _status(page: Page) -> str:
    page.wait_for_function("document.getElementById('search-status').textContent.trim() !== ''")
    return page.inner_text("#search-status").strip()


def _xss_marker(page: Page) -> str:
    return str(page.evaluate("typeof window.__xss"))


def _page_width(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def _fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        return err.code, ""


# --- search -------------------------------------------------------------------------------


def test_anomaly_detection_finds_m3dm(tab: Tab, site_base: str) -> None:
    results = _search(tab, site_base, "anomaly detection")
    titles = [title for title, _ in results]
    assert M3DM_TITLE in titles[:3], f"top results: {titles[:5]}"
    assert "result" in _status(tab.page)
    tab.assert_clean()


@pytest.mark.parametrize("query", ["covid:19", "a^", "+"], ids=["colon", "caret", "plus"])
def test_query_syntax_never_errors(tab: Tab, site_base: str, query: str) -> None:
    page = tab.open(f"{site_base}search.html?q={quote_plus(query)}")
    status = _status(page)
    assert "unavailable" not in status
    assert query in status, f"status does not echo the query: {status!r}"
    assert page.input_value("#search-query") == query
    tab.assert_clean()


@pytest.mark.parametrize("start", ["home", "keyphrase"])
def test_header_search_box_navigates_to_results(
    tab: Tab, site_base: str, site_pages: dict[str, str], start: str
) -> None:
    page = tab.open(site_base + site_pages[start])
    page.fill("#site-search", "anomaly detection")
    page.press("#site-search", "Enter")
    page.wait_for_url(lambda url: "/search.html?q=" in url)
    page.wait_for_selector(RESULTS)
    assert page.url.startswith(site_base + "search.html?q=anomaly+detection"), page.url
    assert page.input_value("#search-query") == "anomaly detection"
    assert M3DM_TITLE in [title for title, _ in _shown_results(page)]
    tab.assert_clean()


def test_multiword_keyphrase_is_findable(tab: Tab, seeds_site: Path, subpath_base: str) -> None:
    papers = _papers(seeds_site)
    phrase = _shared_multiword_keyphrase(papers)
    carriers = {p["path"] for p in papers if phrase in p["keyphrases"]}
    top = _search(tab, subpath_base, phrase)[:5]
    found = [href for _, href in top if href in carriers]
    assert found, f"{phrase!r}: top 5 {top}, carriers {sorted(carriers)}"
    chips = tab.page.locator(f'{RESULTS}:has(h3 a[href="{found[0]}"]) .keyphrases li')
    assert phrase in chips.all_inner_texts(), f"{found[0]} does not show {phrase!r}"
    tab.assert_clean()


# --- untrusted text stays text ------------------------------------------------------------


@pytest.fixture(scope="module")
def evil_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small site whose first paper's title and abstract carry HTML and script payloads."""
    src = tmp_path_factory.mktemp("evil-src")
    rows = [
        {"title": XSS_TITLE, "abstract": XSS_ABSTRACT},
        {
            "title": "Graph neural networks for molecules",
            "abstract": "We predict molecular properties with message passing graph "
            "neural networks and compare them to descriptor-based baselines on benchmarks.",
        },
        {
            "title": "Sparse attention for long documents",
            "abstract": "Transformers with sparse attention patterns read long documents; "
            "we study block, strided and random patterns for summarization quality.",
        },
        {
            "title": "Reinforcement learning for robot grasping",
            "abstract": "A robot arm learns grasping from trial and error in simulation, "
            "then transfers the policy to real objects with domain randomization.",
        },
    ]
    lines = [json.dumps(row) for row in rows]
    (src / "papers.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path_factory.mktemp("evil") / "site"
    assert main(["build", "--source", str(src), "--out", str(out), "--quiet"]) == 0
    return out


def _assert_nothing_injected(page: Page) -> None:
    assert _xss_marker(page) == "undefined", f"a payload ran on {page.url}"
    injected = page.eval_on_selector_all(
        "img, [onerror], b, script:not([src])", "els => els.map(e => e.outerHTML)"
    )
    assert injected == [], f"elements injected into {page.url}: {injected}"


def test_search_results_render_payloads_as_text(tab: Tab, evil_site: Path) -> None:
    results = _search(tab, evil_site.as_uri() + "/", "zebrafish")
    assert results, "no result for zebrafish"
    title = results[0][0]
    assert "<img src=x" in title and "<b>bold</b>" in title, title
    assert tab.page.locator("#search-results img").count() == 0
    assert "<script>" in tab.page.inner_text("#search-results"), "excerpt lost its text"
    _assert_nothing_injected(tab.page)
    tab.assert_clean()


def test_paper_and_list_pages_render_payloads_as_text(tab: Tab, evil_site: Path) -> None:
    base = evil_site.as_uri() + "/"
    page = tab.open(base + _paper_path(evil_site, lambda p: "Evil" in p["title"]))
    assert "<img src=x" in page.inner_text("h1")
    assert "<script>window.__xss=2</script>" in page.inner_text(".abstract")
    _assert_nothing_injected(page)
    page = tab.open(f"{base}papers.html")
    assert "<img src=x" in page.inner_text("main")
    _assert_nothing_injected(page)
    _assert_nothing_injected(tab.open(f"{base}index.html"))
    tab.assert_clean()


# --- every kind of page, served under a subpath ------------------------------------------


@dataclass
class Tour:
    """What a visit of one page of every kind, under the subpath, left behind."""

    errors: list[str]
    failed: list[str]
    links: set[str]


@pytest.fixture(scope="module")
def subpath_tour(chromium: Browser, subpath_base: str, site_pages: dict[str, str]) -> Tour:
    links: set[str] = set()
    with _watched_tab(chromium) as tab:
        for path in site_pages.values():
            page = _visit(tab, subpath_base, path)
            links.update(
                page.eval_on_selector_all(
                    "a[href]",  # SVG links (the theme map) have no string .href: resolve it
                    "ls => ls.map(a => new URL(a.getAttribute('href'), document.baseURI).href)",
                )
            )
    return Tour(tab.errors, tab.failed, links)


def test_pages_load_without_errors_under_subpath(subpath_tour: Tour) -> None:
    assert not subpath_tour.errors, "\n".join(subpath_tour.errors)
    assert not subpath_tour.failed, "failed requests:\n" + "\n".join(subpath_tour.failed)


def test_links_resolve_under_subpath(subpath_tour: Tour, subpath_base: str) -> None:
    assert any("/papers/" in link for link in subpath_tour.links), subpath_tour.links
    origin = subpath_base.removesuffix(SUBPATH)
    broken: list[str] = []
    bodies: dict[str, str] = {}
    for link in sorted(subpath_tour.links):
        if not link.startswith(origin + "/"):
            continue  # another site (a paper's own URL): not ours to check, and no network
        if not link.startswith(subpath_base):
            broken.append(f"{link}: leaves the site's subpath")
            continue
        url, fragment = urldefrag(link)
        if url not in bodies:
            status, bodies[url] = _fetch(url)
            if status != HTTPStatus.OK:
                broken.append(f"{url}: HTTP {status}")
        if fragment and f'id="{fragment}"' not in bodies[url]:
            broken.append(f"{link}: no element with id {fragment!r}")
    assert not broken, "broken links:\n" + "\n".join(broken)


# --- layout -------------------------------------------------------------------------------

SHOTS = ("home", "theme", "paper", "search")


@pytest.mark.parametrize("width", [WIDE, NARROW])
def test_screenshots(
    tab: Tab, subpath_base: str, site_pages: dict[str, str], artifacts: Path, width: int
) -> None:
    tab.page.set_viewport_size({"width": width, "height": 900})
    for name in SHOTS:
        page = _visit(tab, subpath_base, site_pages[name])
        shot = artifacts / f"{name}-{width}.png"
        shot.unlink(missing_ok=True)
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 5_000, f"{shot.name} is nearly empty"
    tab.assert_clean()


def test_no_horizontal_scroll_at_375px(
    tab: Tab, subpath_base: str, site_pages: dict[str, str]
) -> None:
    tab.page.set_viewport_size({"width": NARROW, "height": 800})
    wide: list[str] = []
    for name, path in site_pages.items():
        if (width := _page_width(_visit(tab, subpath_base, path))) > NARROW + 1:
            wide.append(f"{name} ({path}): {width} px")
    assert not wide, f"pages wider than {NARROW} px:\n" + "\n".join(wide)


@pytest.mark.parametrize(
    "part",
    [
        "abstract",  # a long URL (https://github.com/gidariss/…) must wrap
        "sources",  # so must a source label (seeds/002_7ee76e2b3f3ef4ab.txt:205)
    ],
)
def test_longest_word_paper_page_wraps_at_375px(
    tab: Tab, seeds_site: Path, subpath_base: str, part: str
) -> None:
    """Long words (URLs, file names, gene names) in an abstract or a source label must wrap."""
    tab.page.set_viewport_size({"width": NARROW, "height": 800})
    paper = _longest_word_paper(_papers(seeds_site), part)
    page = tab.open(subpath_base + paper)
    overflow = page.eval_on_selector(f".{part}", "e => e.scrollWidth - e.clientWidth")
    assert overflow <= 1, f".{part} on {paper} is {overflow} px wider than its box"
    assert _page_width(page) <= NARROW + 1, f"{paper} scrolls sideways"


def test_icon_stays_inside_the_subpath(tab: Tab, subpath_base: str) -> None:
    page = tab.open(subpath_base + "index.html")
    icons: list[str] = page.eval_on_selector_all('link[rel~="icon"]', "ls => ls.map(l => l.href)")
    assert icons, "no <link rel=icon>: the browser asks the host root for /favicon.ico"
    assert all(icon.startswith((subpath_base, "data:")) for icon in icons), icons


# --- the field at a glance: map, timeline, keyboard, accessibility ------------------------

MAP_LINKS = "svg.map a"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
_MONTH_DATED = re.compile(r"^\d{4}-\d{2}")
_BAR_TITLE = re.compile(r"^[A-Z][a-z]{2} \d{4}: (\d+) papers?$")


def _month_dated(papers: list[dict[str, Any]]) -> int:
    return sum(1 for p in papers if p["date"] and _MONTH_DATED.match(p["date"]))


def _bar_counts(page: Page) -> list[int]:
    """The count each timeline bar announces in its ``<title>`` ("Mar 2021: 2 papers")."""
    titles: list[str] = page.eval_on_selector_all(
        ".timeline .bars rect", "rects => rects.map(r => r.querySelector('title').textContent)"
    )
    counts = []
    for title in titles:
        match = _BAR_TITLE.match(title)
        assert match, f"bar title {title!r} does not name a month and a count"
        counts.append(int(match.group(1)))
    return counts


def test_map_has_one_link_per_paper_to_its_page(tab: Tab, seeds_site: Path, site_base: str) -> None:
    papers = _papers(seeds_site)
    page = tab.open(site_base + "index.html")
    points: list[list[str]] = page.eval_on_selector_all(
        MAP_LINKS,
        """links => links.map(a => [a.getAttribute('href'),
            (a.querySelector('title') || {}).textContent || '',
            String(a.querySelectorAll('circle').length)])""",
    )
    assert len(points) == len(papers) == 77
    hrefs = [href for href, _, _ in points]
    assert sorted(hrefs) == sorted(p["path"] for p in papers), "map links ≠ the papers' pages"
    assert all((seeds_site / href).is_file() for href in hrefs)
    title_of = {p["path"]: p["title"] for p in papers}
    for href, title, circles in points:
        assert circles == "1", f"{href}: {circles} circles"
        assert title and title_of[href].startswith(title.rstrip("…")), (href, title)
    tab.assert_clean()


def test_a_map_point_opens_its_paper_from_the_keyboard(tab: Tab, subpath_base: str) -> None:
    page = tab.open(subpath_base + "index.html")
    point = page.locator(MAP_LINKS).nth(5)
    href = point.get_attribute("href")
    point.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(subpath_base + str(href))
    assert page.locator("h1").inner_text().strip()
    tab.assert_clean()


@pytest.mark.parametrize("width", [NARROW, WIDE])
def test_map_labels_are_legible_and_never_overlap(tab: Tab, subpath_base: str, width: int) -> None:
    tab.page.set_viewport_size({"width": width, "height": 900})
    page = tab.open(subpath_base + "index.html")
    labels: list[dict[str, float]] = page.evaluate(
        """() => {
            const svg = document.querySelector('svg.map');
            const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
            return [...svg.querySelectorAll('.map-labels text')]
                .filter(t => getComputedStyle(t).display !== 'none')
                .map(t => { const b = t.getBBox();
                    return {x: b.x, y: b.y, w: b.width, h: b.height,
                            px: parseFloat(getComputedStyle(t).fontSize) * scale}; });
        }"""
    )
    assert len(labels) >= 3, f"only {len(labels)} theme names shown at {width} px"
    for label in labels:
        assert label["px"] >= 11, f"a theme name is {label['px']:.1f} px tall at {width} px"
    for i, a in enumerate(labels):
        for b in labels[i + 1 :]:
            apart = (
                a["x"] + a["w"] <= b["x"] + 1
                or b["x"] + b["w"] <= a["x"] + 1
                or a["y"] + a["h"] <= b["y"] + 1
                or b["y"] + b["h"] <= a["y"] + 1
            )
            assert apart, f"theme names overlap at {width} px: {a} {b}"
    tab.assert_clean()


def test_timelines_add_up_to_the_dated_papers(
    tab: Tab, seeds_site: Path, subpath_base: str
) -> None:
    papers = _papers(seeds_site)
    page = tab.open(subpath_base + "index.html")
    assert sum(_bar_counts(page)) == _month_dated(papers) > 0
    undated = sum(1 for p in papers if not p["date"] or p["date"].startswith("--"))
    assert f"{undated} undated" in page.inner_text("#timeline")
    by_theme: dict[str, list[dict[str, Any]]] = {}
    for paper in papers:
        by_theme.setdefault(paper["theme"]["slug"], []).append(paper)
    for slug, members in sorted(by_theme.items()):
        page = tab.open(f"{subpath_base}themes/{slug}.html")
        assert sum(_bar_counts(page)) == _month_dated(members), slug
    tab.assert_clean()


def test_keyboard_slash_focuses_search_and_arrows_walk_the_results(
    tab: Tab, site_base: str
) -> None:
    page = tab.open(site_base + "index.html")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "site-search"
    page.keyboard.type("a/b")  # once typing, "/" is just a character
    assert page.input_value("#site-search") == "a/b"

    page = tab.open(site_base + "search.html")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "search-query"
    page.keyboard.type("anomaly detection")
    page.wait_for_selector(RESULTS)
    hrefs = [href for _, href in _shown_results(page)]
    assert len(hrefs) >= 2
    focused = "document.activeElement.getAttribute('href')"
    page.keyboard.press("ArrowDown")
    assert page.evaluate(focused) == hrefs[0]
    page.keyboard.press("ArrowDown")
    assert page.evaluate(focused) == hrefs[1]
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    assert page.evaluate("document.activeElement.id") == "search-query"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: url.endswith(hrefs[1]))
    tab.assert_clean()


def _axe_violations(page: Page, axe_source: str) -> list[str]:
    page.add_script_tag(content=axe_source)
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"][:5])
        for v in result["violations"]
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_wcag_violation_on_any_kind_of_page(
    tab: Tab, subpath_base: str, site_pages: dict[str, str], axe_source: str, scheme: str
) -> None:
    tab.page.emulate_media(color_scheme=scheme)
    found: list[str] = []
    for name, path in {**site_pages, "404": "404.html"}.items():
        page = _visit(tab, subpath_base, path)
        found += [f"{name}: {v}" for v in _axe_violations(page, axe_source)]
    assert not found, f"axe ({scheme}):\n" + "\n".join(found)
    tab.assert_clean()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_home_screenshots_light_and_dark(
    tab: Tab, subpath_base: str, artifacts: Path, scheme: str
) -> None:
    tab.page.emulate_media(color_scheme=scheme)
    for width in (NARROW, WIDE):
        tab.page.set_viewport_size({"width": width, "height": 900})
        page = tab.open(subpath_base + "index.html")
        shot = artifacts / f"home-map-{scheme}-{width}.png"
        shot.unlink(missing_ok=True)
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 20_000, f"{shot.name} is nearly empty"
        assert _page_width(page) <= width + 1
    tab.assert_clean()


def test_axe_reports_a_planted_violation(tab: Tab, axe_source: str) -> None:
    """The accessibility check can fail: an image without alt text and faint text are caught."""
    tab.page.set_content(
        '<!doctype html><html lang="en"><title>t</title><body><main>'
        '<img src="data:,"><p style="color:#ccc;background:#fff">faint text</p>'
        "</main></body></html>"
    )
    found = " ".join(_axe_violations(tab.page, axe_source))
    assert "image-alt" in found and "color-contrast" in found, found


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_print_leaves_out_the_chrome_and_keeps_links_readable(
    tab: Tab, subpath_base: str, site_pages: dict[str, str], scheme: str
) -> None:
    tab.page.emulate_media(media="print", color_scheme=scheme)
    for name in ("home", "paper"):
        page = tab.open(subpath_base + site_pages[name])
        style = page.evaluate(
            """() => ({
                header: getComputedStyle(document.querySelector('.site-header')).display,
                search: getComputedStyle(document.querySelector('.search-form')).display,
                body: getComputedStyle(document.body).backgroundColor,
                link: getComputedStyle(document.querySelector('main a')).color,
                text: getComputedStyle(document.querySelector('main p')).color,
            })"""
        )
        assert style["header"] == "none" and style["search"] == "none", (name, style)
        assert style["body"] == "rgb(255, 255, 255)", (name, style)
        assert style["link"] == "rgb(0, 0, 0)", (name, style)
        assert style["text"] in ("rgb(0, 0, 0)", "rgb(51, 51, 51)"), (name, style)
    tab.assert_clean()
