"""A crawler's walk over one build, served under a subpath over HTTP and opened from disk.

The site is built with ``base_url`` pointing at a local server that maps ``/digest/`` to the
site folder and answers anything else with the site's 404 page, as GitHub Pages does.
"""

from __future__ import annotations

import mimetypes
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

import pytest

from digest.cli import main
from tests.conftest import SEEDS

PREFIX = "/digest/"
_CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)")
_XML_LINK = re.compile(r'href="([^"]+)"|<loc>([^<]+)</loc>')


@dataclass(frozen=True)
class Served:
    site: Path
    base: str


def _handler(site: Path) -> type[BaseHTTPRequestHandler]:
    class SubpathHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = unquote(urlsplit(self.path).path)
            target = self._file(path)
            if target is None:
                self._send(404, (site / "404.html").read_bytes(), "text/html")
            else:
                kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
                self._send(200, target.read_bytes(), kind)

        def _file(self, path: str) -> Path | None:
            if not path.startswith(PREFIX):
                return None
            rel = path.removeprefix(PREFIX)
            if rel == "" or rel.endswith("/"):
                rel += "index.html"
            target = (site / rel).resolve()
            inside = target.is_relative_to(site.resolve())
            return target if inside and target.is_file() else None

        def _send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return SubpathHandler


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    site = tmp_path_factory.mktemp("crawl") / "site"
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    base = f"http://127.0.0.1:{server.server_address[1]}{PREFIX}"
    args = ["--source", str(SEEDS), "--out", str(site), "--base-url", base, "--quiet"]
    assert main(["build", *args]) == 0
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield Served(site, base)
    finally:
        server.shutdown()
        server.server_close()


class _Links(HTMLParser):
    """Every href, src and form action, and the <base href> that resolves them."""

    def __init__(self) -> None:
        super().__init__()
        self.base: str | None = None
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if not value:
                continue
            if tag == "base" and name == "href":
                self.base = value
            elif name in ("href", "src") or (tag == "form" and name == "action"):
                self.links.append(value)


def _links_in(body: str, kind: str, url: str) -> list[str]:
    """Absolute URLs a document refers to, resolved as a browser would."""
    if kind == "text/html":
        parser = _Links()
        parser.feed(body)
        base = urljoin(url, parser.base) if parser.base else url
        return [urldefrag(urljoin(base, link)).url for link in parser.links]
    if kind == "text/css":
        return [urldefrag(urljoin(url, link)).url for link in _CSS_URL.findall(body)]
    if kind in ("application/xml", "text/xml"):
        return [urljoin(url, a or b) for a, b in _XML_LINK.findall(body)]
    return []


def _fetch(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            kind = response.headers.get_content_type()
            return response.status, kind, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get_content_type(), err.read()


def test_crawl_under_a_subpath_finds_no_broken_link(served: Served) -> None:
    seen: set[str] = set()
    queue = [served.base]
    broken: list[str] = []
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        status, kind, body = _fetch(url)
        if status != 200:
            broken.append(f"{url}: {status}")
            continue
        for link in _links_in(body.decode("utf-8"), kind, url):
            if link.startswith(served.base) and link.split("?")[0] not in seen:
                queue.append(link.split("?")[0])
    assert broken == []
    pages = {served.base + p.relative_to(served.site).as_posix() for p in served.site.rglob("*")}
    reached = {url if url != served.base else served.base + "index.html" for url in seen}
    html = {p for p in pages if p.endswith(".html") and not p.endswith("/404.html")}
    assert html <= reached, sorted(html - reached)[:5]
    assert served.base + "static/style.css" in reached and served.base + "feed.xml" in reached


def test_crawl_from_disk_finds_no_broken_link(served: Served) -> None:
    checked = 0
    for page in sorted(served.site.rglob("*")):
        kind = mimetypes.guess_type(page.name)[0]
        if kind not in ("text/html", "text/css") or not page.is_file():
            continue
        for link in _links_in(page.read_text(encoding="utf-8"), kind, page.as_uri()):
            path = _on_disk(link, served)
            if path is None:
                continue
            assert path.is_file(), f"{page.relative_to(served.site)} links to missing {link}"
            checked += 1
    assert checked > 1000


def _on_disk(url: str, served: Served) -> Path | None:
    """The file a link opens from disk; links under base_url count as the site's own."""
    url = url.split("?")[0]
    if url.startswith(served.base):
        return served.site / unquote(url.removeprefix(served.base) or "index.html")
    if url.startswith("file:"):
        return Path(unquote(urlsplit(url).path))
    return None


def test_the_404_page_is_styled_and_its_links_work_at_any_depth(served: Served) -> None:
    url = served.base + "some/deep/missing/page.html"
    status, kind, body = _fetch(url)
    assert (status, kind) == (404, "text/html")
    html = body.decode("utf-8")
    assert "<style>" in html and "--accent" in html, "the stylesheet is not inline"
    assert 'rel="stylesheet"' not in html
    assert f'<base href="{served.base}">' in html
    links = [link for link in _links_in(html, kind, url) if link.startswith(served.base)]
    assert served.base + "index.html" in links and served.base + "search.html" in links
    for link in links:
        assert _fetch(link.split("?")[0])[0] == 200, link
