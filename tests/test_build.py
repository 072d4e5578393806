"""End-to-end: the real seeds through the CLI, checked as a reader would see the site."""

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from digest.cli import main
from tests.conftest import SEEDS


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and name in ("href", "src") and tag != "base":
                self.links.append(value)


def _internal_links(page: Path) -> list[str]:
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return [link for link in parser.links if not urlparse(link).scheme and not link.startswith("#")]


def _page(site: Path, pattern: str) -> Path:
    return sorted(site.glob(pattern))[0]


def test_site_has_every_kind_of_page(seeds_site: Path) -> None:
    for name in ("index.html", "search.html", "404.html", "papers.html", "keyphrases.html"):
        assert (seeds_site / name).is_file(), name
    assert len(list((seeds_site / "papers").glob("*.html"))) == 77
    assert list((seeds_site / "themes").glob("*.html"))
    assert list((seeds_site / "keyphrases").glob("*.html"))
    assert (seeds_site / "static/vendor/lunr/lunr.min.js").is_file()
    assert (seeds_site / "search/manifest.js").is_file()


def test_every_internal_link_points_at_an_existing_file(seeds_site: Path) -> None:
    pages = sorted(p for p in seeds_site.rglob("*.html") if p.name != "404.html")
    checked = 0
    for page in pages:
        for link in _internal_links(page):
            path = unquote(urlparse(link).path)
            assert not path.startswith("/"), f"{page}: absolute link {link}"
            assert not path.endswith("/"), f"{page}: folder link {link}"
            target = (page.parent / path).resolve()
            assert target.is_file(), f"{page.relative_to(seeds_site)} links to missing {link}"
            checked += 1
    assert checked > 1000


def test_home_shows_themes_totals_and_newest_papers(seeds_site: Path) -> None:
    home = (seeds_site / "index.html").read_text(encoding="utf-8")
    catalog = json.loads((seeds_site / "papers.json").read_text())["papers"]
    themes = {p["theme"]["slug"]: p["theme"]["name"] for p in catalog}
    for slug, name in themes.items():
        assert f'href="themes/{slug}.html"' in home
        assert name.replace("&", "&amp;") in home
    assert "<dd>77</dd>" in home and "<dd>88</dd>" in home and "<dd>11</dd>" in home
    assert "Newest papers" in home
    assert "Relational Deep Learning" in home or "Dec 2024" in home or "2024" in home


def test_paper_page_shows_everything_about_the_paper(seeds_site: Path) -> None:
    catalog = json.loads((seeds_site / "papers.json").read_text())["papers"]
    m3dm = next(p for p in catalog if p["title"] == "Multi-3D-Memory (M3DM)")
    assert m3dm["title_derived"] is True
    assert len(m3dm["sources"]) >= 2
    html = (seeds_site / m3dm["path"]).read_text(encoding="utf-8")
    assert "derived title" in html
    assert "industrial anomaly detection" in html.lower()
    for source in m3dm["sources"]:
        assert f"{source['file']}:{source['line']}" in html
    assert f'href="../themes/{m3dm["theme"]["slug"]}.html"' in html
    related = re.search(r'<ol class="related">(.*?)</ol>', html, re.S)
    assert related and related.group(1).count("<li>") == 5
    relational = next(p for p in catalog if p["title"].startswith("Relational Deep Learning"))
    page = (seeds_site / relational["path"]).read_text(encoding="utf-8")
    assert "9 authors" in page and 'datetime="2023-12-07"' in page


def test_papers_json_lists_every_paper_with_its_fields(seeds_site: Path) -> None:
    catalog = json.loads((seeds_site / "papers.json").read_text())["papers"]
    assert len(catalog) == 77
    keys = {"id", "title", "title_derived", "abstract", "authors", "date", "url", "keyphrases"}
    for paper in catalog:
        assert keys | {"theme", "sources", "path"} <= paper.keys()
        assert 5 <= len(paper["keyphrases"]) <= 10
        assert paper["theme"]["slug"] and paper["theme"]["name"]
        assert (seeds_site / paper["path"]).is_file()
        assert paper["title"].strip()
    assert len({p["id"] for p in catalog}) == 77


def test_papers_json_has_one_paper_per_line(seeds_site: Path) -> None:
    lines = (seeds_site / "papers.json").read_text(encoding="utf-8").splitlines()
    assert (lines[0], lines[-1]) == ('{"papers": [', "]}")
    ids = [json.loads(line.removesuffix(","))["id"] for line in lines[1:-1]]
    assert ids == sorted(ids) and len(ids) == 77


def test_year_less_dates_stay_partial(seeds_site: Path) -> None:
    catalog = json.loads((seeds_site / "papers.json").read_text())["papers"]
    partial = [p for p in catalog if p["date"] and p["date"].startswith("--")]
    assert partial, "the Daily Papers dump has dates like 'Feb 21' without a year"
    page = (seeds_site / partial[0]["path"]).read_text(encoding="utf-8")
    assert "(year not given)" in page


def test_two_builds_are_byte_identical(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    first, second = tmp_path / "one", tmp_path / "two"
    assert main(["build", "--source", str(SEEDS), "--out", str(first), "--quiet"]) == 0
    assert main(["build", "--source", str(SEEDS), "--out", str(second), "--quiet"]) == 0
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for rel in files:
        assert (first / rel).read_bytes() == (second / rel).read_bytes(), rel
    assert "2023-11-14" in (first / "index.html").read_text()


def test_output_has_no_build_date_without_source_date_epoch(seeds_site: Path) -> None:
    assert " on 20" not in (seeds_site / "index.html").read_text().split("<footer")[1]


def test_user_templates_override_built_in_ones(tmp_path: Path) -> None:
    templates = tmp_path / "my-templates"
    templates.mkdir()
    (templates / "theme.html").write_text(
        '{% extends "base.html" %}{% block main %}<h1 class="custom">{{ theme.name }}</h1>'
        "{% endblock %}"
    )
    config = tmp_path / "digest.toml"
    config.write_text(f'title = "Lab <digest>"\ntemplates = "{templates.name}"\n')
    out = tmp_path / "site"
    assert main(["build", "--source", str(SEEDS), "--out", str(out), "--config", str(config)]) == 0
    theme_page = _page(out, "themes/*.html").read_text()
    assert '<h1 class="custom">' in theme_page
    assert "Lab &lt;digest&gt;" in theme_page


def test_theme_pages_chart_their_keyphrases_with_counts_within_the_theme(
    seeds_site: Path,
) -> None:
    catalog = json.loads((seeds_site / "papers.json").read_text())["papers"]
    site_counts: dict[str, int] = {}
    for paper in catalog:
        for phrase in paper["keyphrases"]:
            site_counts[phrase] = site_counts.get(phrase, 0) + 1
    row = re.compile(
        r'<li><span class="bar-label">(?:<a href="([^"]+)">)?([^<]+)(?:</a>)?</span>'
        r'.*?<span class="bar-count">(\d+)<'
    )
    for page in sorted((seeds_site / "themes").glob("*.html")):
        html = page.read_text(encoding="utf-8")
        members = [
            p for p in catalog if f"themes/{p['theme']['slug']}.html" == f"themes/{page.name}"
        ]
        chart = re.search(r'<ol class="bar-chart t\d+">(.*?)</ol>', html, re.S)
        assert chart, f"{page.name} has no keyphrase chart"
        rows = row.findall(chart.group(1))
        assert 3 <= len(rows) <= 10, page.name
        counts = [int(count) for _, _, count in rows]
        assert counts == sorted(counts, reverse=True), page.name
        for href, text, count in rows:
            phrase = text.replace("&amp;", "&")
            assert int(count) == sum(1 for p in members if phrase in p["keyphrases"]), phrase
            assert bool(href) == (site_counts[phrase] >= 2), f"{page.name}: {phrase} link {href!r}"
            if href:
                assert (page.parent / href).resolve().is_file()


def test_related_papers_show_the_keyphrases_they_share(seeds_site: Path) -> None:
    catalog = {
        p["path"].removeprefix("papers/"): p
        for p in json.loads((seeds_site / "papers.json").read_text())["papers"]
    }
    shown = 0
    for name, paper in sorted(catalog.items()):
        html = (seeds_site / "papers" / name).read_text(encoding="utf-8")
        related = re.search(r'<ol class="related">(.*?)</ol>', html, re.S)
        assert related, name
        for href, shares in re.findall(
            r'<li><a href="([^"]+)">.*?</a> <span class="shared">shares: ([^<]+)</span>',
            related.group(1),
        ):
            other = catalog[href]
            for phrase in shares.replace("&amp;", "&").split(", "):
                assert phrase in paper["keyphrases"] and phrase in other["keyphrases"], phrase
                shown += 1
    assert shown >= 50


def test_every_seed_theme_is_named_by_two_or_three_distinct_phrases(seeds_site: Path) -> None:
    from digest.theme_names import GENERIC_NAMES
    from digest.why_here import name_phrases

    catalog = json.loads((seeds_site / "papers.json").read_text())["papers"]
    names = {p["theme"]["name"] for p in catalog}
    phrases = [name_phrases(name) for name in names]
    assert all(2 <= len(ps) <= 3 for ps in phrases), names
    flat = [p.lower() for ps in phrases for p in ps]
    assert len(flat) == len(set(flat)) and not set(flat) & GENERIC_NAMES, names
