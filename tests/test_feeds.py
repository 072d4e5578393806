"""Feeds, sitemap, robots.txt and the head of every page, as feed readers and crawlers see them."""

from __future__ import annotations

import json
import logging
import xml.etree.ElementTree as ET
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import feedparser
import pytest

from digest import sitemap
from digest.cli import main
from digest.config import Config
from digest.feeds import FEED_ENTRIES, build_feeds
from digest.model import Paper, PaperDate, Source, Theme
from tests.conftest import SEEDS

BASE = "https://lab.example.org/digest/"
SITEMAP_NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}


@pytest.fixture(scope="module")
def web_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeds built with base_url set in digest.toml, as a site meant for the web."""
    folder = tmp_path_factory.mktemp("web")
    config = folder / "digest.toml"
    config.write_text(f'base_url = "{BASE.rstrip("/")}"\n')
    out = folder / "site"
    args = ["--source", str(SEEDS), "--out", str(out), "--config", str(config), "--quiet"]
    assert main(["build", *args]) == 0
    return out


@pytest.fixture(scope="module")
def catalog(web_site: Path) -> list[dict]:
    return json.loads((web_site / "papers.json").read_text(encoding="utf-8"))["papers"]


def _feed_day(iso: str | None) -> date | None:
    """The README's rule, restated independently: no year → no feed; missing parts → first."""
    if not iso or iso.startswith("--"):
        return None
    parts = [int(x) for x in iso.split("-")] + [1, 1]
    return date(parts[0], parts[1], parts[2])


def _page_file(site: Path, url: str) -> Path:
    assert url.startswith(BASE), url
    rel = url.removeprefix(BASE) or "index.html"
    return site / rel


def _parse(path: Path) -> feedparser.FeedParserDict:
    feed = feedparser.parse(path.read_bytes())
    assert feed.bozo == 0, (path, feed.get("bozo_exception"))
    assert feed.version == "atom10"
    return feed


def test_main_feed_is_valid_atom_with_dated_papers_newest_first(
    web_site: Path, catalog: list[dict]
) -> None:
    feed = _parse(web_site / "feed.xml")
    dated = {p["id"]: _feed_day(p["date"]) for p in catalog if _feed_day(p["date"])}
    assert 0 < len(dated) <= FEED_ENTRIES
    entries = feed.entries
    assert len(entries) == len(dated)
    days = [date.fromisoformat(e.updated[:10]) for e in entries]
    assert days == sorted(days, reverse=True)
    by_path = {p["path"]: p for p in catalog}
    for entry, day in zip(entries, days, strict=True):
        paper = by_path[entry.link.removeprefix(BASE)]
        assert dated[paper["id"]] == day
        assert entry.id == entry.link == BASE + paper["path"]
        assert _page_file(web_site, entry.link).is_file()
        assert entry.title == paper["title"]
    assert feed.feed.link == BASE
    assert [link.href for link in feed.feed.links if link.rel == "self"] == [BASE + "feed.xml"]


def test_each_theme_feed_holds_exactly_that_themes_dated_papers(
    web_site: Path, catalog: list[dict]
) -> None:
    themes = {p["theme"]["slug"] for p in catalog}
    assert len(themes) > 1
    for slug in themes:
        feed = _parse(web_site / f"themes/{slug}.xml")
        expected = {
            BASE + p["path"] for p in catalog if p["theme"]["slug"] == slug and _feed_day(p["date"])
        }
        assert {e.link for e in feed.entries} == expected, slug
        html = (web_site / f"themes/{slug}.html").read_text(encoding="utf-8")
        assert 'type="application/atom+xml" title=' in html
        assert f'href="{slug}.xml"' in html and 'href="../feed.xml"' in html


def _paper(pid: str, abstract: str, when: PaperDate | None, theme: str = "t") -> Paper:
    return Paper(
        id=pid,
        title=f"Title {pid} <&>",
        title_derived=False,
        abstract=abstract,
        sources=(Source("x.txt", 1),),
        date=when,
        theme=theme,
        keyphrases=("a & b",),
    )


def _themes(papers: list[Paper]) -> tuple[Theme, ...]:
    return (Theme("t", "T & U", ("a & b",), tuple(p.id for p in papers), "T"),)


def test_feed_dates_follow_the_documented_rule_and_text_is_escaped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    nasty = "We show $\\alpha < \\beta$ & <b>bold</b> ]]> \x0bholds."
    papers = [
        _paper("full", nasty, PaperDate(2023, 12, 7)),
        _paper("month", "Month only.", PaperDate(2024, 2)),
        _paper("year", "Year only.", PaperDate(2022)),
        _paper("noyear", "No year.", PaperDate(None, 5, 13)),
        _paper("undated", "No date.", None),
    ]
    pages = {p.path: p.content for p in build_feeds(papers, _themes(papers), Config(base_url=BASE))}
    assert set(pages) == {"feed.xml", "themes/t.xml"}
    feed = feedparser.parse(pages["feed.xml"])
    assert feed.bozo == 0
    assert [(e.link, e.updated) for e in feed.entries] == [
        (BASE + "papers/month.html", "2024-02-01T00:00:00Z"),
        (BASE + "papers/full.html", "2023-12-07T00:00:00Z"),
        (BASE + "papers/year.html", "2022-01-01T00:00:00Z"),
    ]
    assert feed.feed.updated == "2024-02-01T00:00:00Z"
    assert feed.entries[1].summary == nasty.replace("\x0b", "")
    assert feed.entries[1].title == "Title full <&>"
    ET.fromstring(pages["themes/t.xml"])


def test_feed_updated_comes_from_source_date_epoch_and_feeds_are_capped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    count = FEED_ENTRIES + 10
    papers = [
        _paper(f"p{n:03d}", "A.", PaperDate(2000 + n // 12, n % 12 + 1)) for n in range(count)
    ]
    pages = build_feeds(papers, _themes(papers), Config(base_url=BASE))
    for page in pages:
        feed = feedparser.parse(page.content)
        assert feed.bozo == 0
        assert feed.feed.updated == "2023-11-14T22:13:20Z"
        assert len(feed.entries) == FEED_ENTRIES
        assert feed.entries[0].link == BASE + f"papers/p{count - 1:03d}.html"


def test_no_feeds_without_base_url() -> None:
    papers = [_paper("full", "Abstract.", PaperDate(2023, 12, 7))]
    assert build_feeds(papers, _themes(papers), Config()) == []


def _html_pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def test_sitemap_lists_every_page_by_absolute_url_and_robots_points_at_it(
    web_site: Path,
) -> None:
    root = ET.parse(web_site / "sitemap.xml").getroot()
    assert root.tag == "{http://www.sitemaps.org/schemas/sitemap/0.9}urlset"
    urls = [loc.text or "" for loc in root.findall("s:url/s:loc", SITEMAP_NS)]
    assert len(urls) == len(set(urls))
    listed = set()
    for url in urls:
        path = _page_file(web_site, url)
        assert path.is_file(), url
        listed.add(path.relative_to(web_site).as_posix())
    pages = {p.relative_to(web_site).as_posix() for p in _html_pages(web_site)}
    assert listed == pages - {"404.html"}
    robots = (web_site / "robots.txt").read_text(encoding="utf-8")
    assert f"Sitemap: {BASE}sitemap.xml" in robots.splitlines()


def test_a_site_over_the_protocol_limit_gets_a_sitemap_index(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sitemap, "MAX_URLS_PER_SITEMAP", 10)
    paths = [f"papers/p{n}.html" for n in range(25)]
    pages = {p.path: ET.fromstring(p.content) for p in sitemap.sitemap_pages(paths, BASE)}
    index = pages.pop("sitemap.xml")
    assert index.tag == "{http://www.sitemaps.org/schemas/sitemap/0.9}sitemapindex"
    parts = [loc.text for loc in index.findall("s:sitemap/s:loc", SITEMAP_NS)]
    assert parts == [BASE + path for path in pages] and len(parts) == 3
    listed = []
    for part in pages.values():
        urls = [loc.text for loc in part.findall("s:url/s:loc", SITEMAP_NS)]
        assert 0 < len(urls) <= 10
        listed += urls
    assert listed == [BASE + path for path in paths]


class _Head(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.lang: str | None = None
        self.title = ""
        self.in_title = False
        self.meta: dict[str, str] = {}
        self.links: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.lang = values.get("lang")
        elif tag == "title":
            self.in_title = True
        elif tag == "meta":
            key = values.get("name") or values.get("property")
            if key:
                self.meta[key] = values.get("content", "")
        elif tag == "link":
            self.links.append(values)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title += data


def _head(page: Path) -> _Head:
    parser = _Head()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def test_pages_carry_canonical_and_open_graph_tags_with_base_url(web_site: Path) -> None:
    for page in _html_pages(web_site):
        head = _head(page)
        rel = page.relative_to(web_site).as_posix()
        canonical = [link["href"] for link in head.links if link.get("rel") == "canonical"]
        feeds = [link for link in head.links if link.get("type") == "application/atom+xml"]
        assert feeds and all(link.get("rel") == "alternate" for link in feeds), rel
        for key in ("og:title", "og:description", "og:type"):
            assert head.meta.get(key), (rel, key)
        if rel == "404.html":
            assert not canonical and "og:url" not in head.meta
            continue
        assert canonical == [head.meta["og:url"]], rel
        assert _page_file(web_site, canonical[0]) == page
    home = _head(web_site / "index.html")
    assert home.meta["og:url"] == BASE and home.meta["og:type"] == "website"
    paper = _head(next((web_site / "papers").glob("*.html")))
    assert paper.meta["og:type"] == "article"


def test_without_base_url_nothing_needs_absolute_urls(seeds_site: Path) -> None:
    for name in ("feed.xml", "sitemap.xml", "robots.txt"):
        assert not (seeds_site / name).exists(), name
    assert not list((seeds_site / "themes").glob("*.xml"))
    for page in _html_pages(seeds_site):
        head = _head(page)
        assert not any(link.get("rel") in ("canonical", "alternate") for link in head.links)
        assert not any(key.startswith("og:") for key in head.meta), page


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_without_base_url_the_build_says_so_once_as_info() -> None:
    logger = logging.getLogger("digest")
    seen, level = _Records(), logger.level
    logger.addHandler(seen)
    logger.setLevel(logging.INFO)
    try:
        assert list(sitemap.with_sitemap(iter([]), Config())) == []
        assert list(sitemap.with_sitemap(iter([]), Config(base_url=BASE)))
    finally:
        logger.removeHandler(seen)
        logger.setLevel(level)
    assert [(r.levelno, "base_url" in r.getMessage()) for r in seen.records] == [
        (logging.INFO, True)
    ]


@pytest.mark.parametrize("fixture", ["web_site", "seeds_site"])
def test_every_page_has_title_description_and_language(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    site: Path = request.getfixturevalue(fixture)
    for page in _html_pages(site):
        head = _head(page)
        assert head.lang == "en", page
        assert head.title.strip(), page
        assert head.meta.get("description", "").strip(), page
