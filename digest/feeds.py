"""Digest → Atom feeds: the newest dated papers of the whole site and of each theme.

Atom needs absolute ids and links, so feeds are written only when ``base_url`` is set; a feed
opened from disk could not be subscribed to anyway. Dating rule: a paper with a year is dated
at the first day of what is known (``2023-12`` → 2023-12-01, ``2023`` → 2023-01-01); a paper
without a year is never in a feed, because a year is never guessed. ``<updated>`` comes from
SOURCE_DATE_EPOCH, else from the newest paper, never from the clock: builds stay byte-identical.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from digest import __version__
from digest.config import Config
from digest.model import Paper, Theme
from digest.output import Page
from digest.paths import FEED_PATH, absolute_url, paper_path, theme_feed_path, theme_path

FEED_ENTRIES = 50
ATOM_NAMESPACE = "http://www.w3.org/2005/Atom"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_NOT_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_EPOCH = date(1970, 1, 1)


def build_feeds(papers: Sequence[Paper], themes: Sequence[Theme], config: Config) -> list[Page]:
    """``feed.xml`` and ``themes/<slug>.xml``, each with its FEED_ENTRIES newest dated papers."""
    if config.base_url is None:
        return []
    dated = newest_dated(papers)
    by_theme: dict[str, list[Paper]] = defaultdict(list)
    for paper in dated:
        if paper.theme:
            by_theme[paper.theme].append(paper)
    names = {t.slug: t.name for t in themes}
    site_updated = feed_date(dated[0]) if dated else _EPOCH
    site_head = FeedHead(FEED_PATH, "index.html", config.title, config.description)
    feeds = [_feed_page(site_head, dated, names, config, site_updated)]
    for theme in themes:
        head = _theme_head(theme, config)
        feeds.append(_feed_page(head, by_theme[theme.slug], names, config, site_updated))
    return feeds


def newest_dated(papers: Sequence[Paper]) -> list[Paper]:
    """Papers that have a feed date, newest first; equal dates keep the digest's order."""
    dated = [p for p in papers if feed_date(p) is not None]
    return sorted(dated, key=lambda p: feed_date(p) or _EPOCH, reverse=True)


def feed_date(paper: Paper) -> date | None:
    if paper.date is None or paper.date.year is None:
        return None
    try:
        return date(paper.date.year, paper.date.month or 1, paper.date.day or 1)
    except ValueError:
        return None


@dataclass(frozen=True)
class FeedHead:
    """What tells one feed apart: where it lives, the page it mirrors, its title and subtitle."""

    path: str
    page: str
    title: str
    subtitle: str


def _theme_head(theme: Theme, config: Config) -> FeedHead:
    return FeedHead(
        theme_feed_path(theme.slug),
        theme_path(theme.slug),
        f"{theme.name} · {config.title}",
        f"The newest papers on {theme.name}.",
    )


def _feed_page(
    head: FeedHead,
    papers: Sequence[Paper],
    theme_names: dict[str, str],
    config: Config,
    fallback_updated: date,
) -> Page:
    base = config.base_url or ""
    entries = papers[:FEED_ENTRIES]
    newest = feed_date(entries[0]) if entries else None
    feed = ET.Element("feed", {"xmlns": ATOM_NAMESPACE, _XML_LANG: config.language})
    _add_text(feed, "title", head.title)
    _add_text(feed, "subtitle", head.subtitle)
    _add_text(feed, "id", absolute_url(base, head.path))
    _add_link(feed, absolute_url(base, head.path), "self", "application/atom+xml")
    _add_link(feed, absolute_url(base, head.page), "alternate", "text/html")
    _add_text(feed, "updated", _feed_updated(newest or fallback_updated))
    author = ET.SubElement(feed, "author")
    _add_text(author, "name", config.title)
    generator = ET.SubElement(feed, "generator", {"version": __version__})
    generator.text = "digest"
    for paper in entries:
        feed.append(_entry(paper, theme_names, base))
    ET.indent(feed)
    xml = ET.tostring(feed, encoding="unicode")
    return Page(head.path, f'<?xml version="1.0" encoding="utf-8"?>\n{xml}\n'.encode())


def _entry(paper: Paper, theme_names: dict[str, str], base: str) -> ET.Element:
    url = absolute_url(base, paper_path(paper.id))
    stamp = _timestamp(feed_date(paper) or _EPOCH)
    entry = ET.Element("entry")
    _add_text(entry, "title", paper.title)
    _add_link(entry, url, "alternate", "text/html")
    if paper.url and paper.url.startswith(("https://", "http://")):
        _add_link(entry, paper.url, "related", None)
    _add_text(entry, "id", url)
    _add_text(entry, "published", stamp)
    _add_text(entry, "updated", stamp)
    for name in paper.authors:
        if name.strip():
            _add_text(ET.SubElement(entry, "author"), "name", name)
    if paper.theme:
        label = theme_names.get(paper.theme, paper.theme)
        ET.SubElement(entry, "category", {"term": paper.theme, "label": _xml_safe(label)})
    for phrase in paper.keyphrases:
        ET.SubElement(entry, "category", {"term": _xml_safe(phrase)})
    summary = _add_text(entry, "summary", paper.abstract)
    summary.set("type", "text")
    return entry


def _add_text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = _xml_safe(text)
    return element


def _add_link(parent: ET.Element, href: str, rel: str, kind: str | None) -> None:
    attributes = {"rel": rel, "href": _xml_safe(href)}
    if kind:
        attributes["type"] = kind
    ET.SubElement(parent, "link", attributes)


def _xml_safe(text: str) -> str:
    """XML 1.0 cannot carry most control characters even escaped; abstracts sometimes do."""
    return _NOT_XML_CHARS.sub("", text)


def _feed_updated(newest: date) -> str:
    fixed = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if fixed.isdigit():
        return datetime.fromtimestamp(int(fixed), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return _timestamp(newest)


def _timestamp(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"
