"""The built site in a real headless Chromium: search, header search box, safety, layout.

The site is opened two ways a user opens it: served under a subpath (``/digest/``, as on a
project page) and straight from disk through ``file://``. One browser serves the session;
every test gets a fresh context, and every page it opens is watched for script errors,
console errors and failed requests.
"""

from __future__ import annotations

import io
import json
import os
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, NoReturn
from urllib.parse import quote_plus, urldefrag, urlsplit

import pytest

from digest.cli import main

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SUBPATH = "/digest/"
RESULTS = "#search-results li"
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


def _unavailable(reason: str) -> NoReturn:
    """Skip locally, but fail in CI: there a skipped browser suite would prove nothing."""
    if os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}:
        pytest.fail(f"{reason} (CI is set, so the browser tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} not found: install Debian's chromium to run browser tests")
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        except Error as err:
            _unavailable(f"{CHROMIUM} did not start: {err.message.splitlines()[0]}")
        yield browser
        browser.close()


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
        if message.type == "error":
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


@pytest.fixture
def tab(chromium: Browser) -> Iterator[Tab]:
    context = chromium.new_context(viewport={"width": WIDE, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    watched = Tab(page)
    page.on("console", watched.on_console)
    page.on("pageerror", watched.on_page_error)
    page.on("requestfailed", watched.on_request_failed)
    page.on("response", watched.on_response)
    yield watched
    context.close()


# --- the site's content -------------------------------------------------------------------


def _papers(site: Path) -> list[dict[str, Any]]:
    papers: list[dict[str, Any]] = json.loads((site / "papers.json").read_text("utf-8"))["papers"]
    return papers


def _paper_id(site: Path, matches: Callable[[dict[str, Any]], bool]) -> str:
    found = [p["id"] for p in _papers(site) if matches(p)]
    assert len(found) == 1, f"expected one matching paper in papers.json, found {found}"
    return str(found[0])


def _first(site: Path, pattern: str) -> str:
    found = sorted(site.glob(pattern))
    assert found, f"no {pattern} in the built site"
    return found[0].relative_to(site).as_posix()


def _shared_multiword_keyphrase(papers: list[dict[str, Any]]) -> str:
    """The multi-word keyphrase carried by the most papers (ties: alphabetical)."""
    counts = Counter(k for p in papers for k in {k for k in p["keyphrases"] if " " in k})
    shared = [(-n, k) for k, n in counts.items() if n >= 2]
    assert shared, "no multi-word keyphrase is shared by two papers"
    return min(shared)[1]


@pytest.fixture(scope="session")
def m3dm_page(seeds_site: Path) -> str:
    return f"papers/{_paper_id(seeds_site, lambda p: p['title'] == M3DM_TITLE)}.html"


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
    tab.open(f"{base}search.html?q={quote_plus(query)}")
    tab.page.wait_for_selector(RESULTS)
    return _shown_results(tab.page)


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
    carriers = {f"papers/{p['id']}.html" for p in papers if phrase in p["keyphrases"]}
    top = _search(tab, subpath_base, phrase)[:5]
    assert carriers & {href for _, href in top}, f"{phrase!r}: top 5 {top}, carriers {carriers}"
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
    paper = _paper_id(evil_site, lambda p: "Evil" in p["title"])
    page = tab.open(f"{base}papers/{paper}.html")
    assert "<img src=x" in page.inner_text("h1")
    assert "<script>window.__xss=2</script>" in page.inner_text(".abstract")
    _assert_nothing_injected(page)
    page = tab.open(f"{base}papers.html")
    assert "<img src=x" in page.inner_text("main")
    _assert_nothing_injected(page)
    _assert_nothing_injected(tab.open(f"{base}index.html"))
    tab.assert_clean()


# --- every kind of page, served under a subpath ------------------------------------------


def test_pages_load_without_errors_under_subpath(
    tab: Tab, subpath_base: str, site_pages: dict[str, str]
) -> None:
    for path in site_pages.values():
        tab.open(subpath_base + path)
    tab.page.wait_for_selector(RESULTS)
    tab.assert_clean()


def test_links_resolve_under_subpath(
    tab: Tab, subpath_base: str, site_pages: dict[str, str]
) -> None:
    links: set[str] = set()
    for path in site_pages.values():
        page = tab.open(subpath_base + path)
        if path.startswith("search.html"):
            page.wait_for_selector(RESULTS)
        links.update(page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"))
    assert any("/papers/" in link for link in links)
    broken: list[str] = []
    bodies: dict[str, str] = {}
    for link in sorted(links):
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
        page = tab.open(subpath_base + site_pages[name])
        if name == "search":
            page.wait_for_selector(RESULTS)
        shot = artifacts / f"{name}-{width}.png"
        shot.unlink(missing_ok=True)
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 5_000, f"{shot.name} is nearly empty"
    tab.assert_clean()


@pytest.mark.parametrize("name", ["home", "paper", "theme", "search", "keyphrases", "papers"])
def test_no_horizontal_scroll_at_375px(
    tab: Tab, subpath_base: str, site_pages: dict[str, str], name: str
) -> None:
    tab.page.set_viewport_size({"width": NARROW, "height": 800})
    page = tab.open(subpath_base + site_pages[name])
    if name == "search":
        page.wait_for_selector(RESULTS)
    assert _page_width(page) <= NARROW + 1, f"{name} scrolls sideways at {NARROW} px"


def test_no_paper_page_scrolls_sideways_at_375px(
    tab: Tab, seeds_site: Path, subpath_base: str
) -> None:
    """Long words (URLs, formulas, gene names) in any title or abstract must wrap."""
    tab.page.set_viewport_size({"width": NARROW, "height": 800})
    wide: list[str] = []
    for paper in _papers(seeds_site):
        page = tab.open(f"{subpath_base}papers/{paper['id']}.html")
        if (width := _page_width(page)) > NARROW + 1:
            wide.append(f"{paper['id']} ({paper['title']!r}): {width} px")
    assert not wide, f"paper pages wider than {NARROW} px:\n" + "\n".join(wide)
