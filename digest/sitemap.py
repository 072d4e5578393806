"""The page stream → ``sitemap.xml`` and ``robots.txt``, so search engines find every page.

The sitemap lists exactly the HTML pages the build writes, noted as they stream past, so it
can never drift from the site. It needs absolute URLs, so it is written only with ``base_url``.
The protocol caps a sitemap at 50,000 URLs: a bigger site gets ``sitemaps/sitemap-N.xml`` files
and ``sitemap.xml`` becomes their index, so robots.txt and search consoles use one address.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterable, Iterator, Sequence

from digest.config import Config
from digest.output import Page
from digest.paths import absolute_url

SITEMAP_PATH = "sitemap.xml"
ROBOTS_PATH = "robots.txt"
MAX_URLS_PER_SITEMAP = 50_000
SITEMAP_NAMESPACE = "http://www.sitemaps.org/schemas/sitemap/0.9"
NOT_LISTED = frozenset({"404.html"})
NO_BASE_URL_NOTE = (
    "note: no base_url in the config, so feeds, sitemap.xml, robots.txt, canonical links and "
    "Open Graph URLs are left out (set base_url to the address the site is published at)"
)

log = logging.getLogger("digest")


def with_sitemap(pages: Iterable[Page], config: Config) -> Iterator[Page]:
    """Every page of ``pages``, then the sitemap(s) and robots.txt listing the HTML ones.

    Without ``base_url`` this is the one place that says, once per build, what was left out:
    an info line, not a warning, because a local build without it is perfectly valid.
    """
    if config.base_url is None:
        log.info(NO_BASE_URL_NOTE)
        yield from pages
        return
    listed: list[str] = []
    for page in pages:
        if page.path.endswith(".html") and page.path not in NOT_LISTED:
            listed.append(page.path)
        yield page
    yield from sitemap_pages(listed, config.base_url)
    yield robots_page(config.base_url)


def sitemap_pages(paths: Sequence[str], base_url: str) -> list[Page]:
    urls = [absolute_url(base_url, path) for path in paths]
    if len(urls) <= MAX_URLS_PER_SITEMAP:
        return [Page(SITEMAP_PATH, _urlset(urls))]
    chunks = [
        urls[start : start + MAX_URLS_PER_SITEMAP]
        for start in range(0, len(urls), MAX_URLS_PER_SITEMAP)
    ]
    parts = [Page(f"sitemaps/sitemap-{n}.xml", _urlset(c)) for n, c in enumerate(chunks, 1)]
    index = _document("sitemapindex", "sitemap", [absolute_url(base_url, p.path) for p in parts])
    return [Page(SITEMAP_PATH, index), *parts]


def robots_page(base_url: str) -> Page:
    text = f"User-agent: *\nAllow: /\n\nSitemap: {absolute_url(base_url, SITEMAP_PATH)}\n"
    return Page(ROBOTS_PATH, text.encode("utf-8"))


def _urlset(urls: Sequence[str]) -> bytes:
    return _document("urlset", "url", urls)


def _document(root: str, item: str, urls: Sequence[str]) -> bytes:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<{root} xmlns="{SITEMAP_NAMESPACE}">',
        *(f"<{item}><loc>{html.escape(url, quote=False)}</loc></{item}>" for url in urls),
        f"</{root}>",
        "",
    ]
    return "\n".join(lines).encode("utf-8")
