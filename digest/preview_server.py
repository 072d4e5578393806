"""The HTTP side of ``digest serve``: the built site as files, plus live-reload events.

Only files inside the site folder are ever served: encoded slashes and ``..`` segments are
refused before the file system is touched, and the resolved path (symlinks followed) must still
lie inside the site. HTML responses get the live-reload script injected on the way out; the
files on disk never contain it. Build events reach pages over Server-Sent Events.
"""

from __future__ import annotations

import json
import mimetypes
import os
import re
import shutil
import socket
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

PREVIEW_PREFIX = "/__digest__/"
EVENTS_PATH = PREVIEW_PREFIX + "events"
STATUS_PATH = PREVIEW_PREFIX + "status"
LIVERELOAD_SCRIPT = Path(__file__).resolve().parent / "preview" / "livereload.js"
KEEPALIVE_SECONDS = 15.0
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".xml": "application/xml",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".webmanifest": "application/manifest+json",
}
# Percent-encoded "/", "\" and NUL: decoded, they would cross or end a path segment.
_ENCODED_SEPARATOR = re.compile(r"%(2f|5c|00)", re.IGNORECASE)
_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)


@dataclass(frozen=True)
class PreviewStatus:
    """What pages are told about the site: which build is served and what went wrong since."""

    session: str
    build: int = 0
    built_at: float = 0.0
    error: str | None = None
    warnings: tuple[str, ...] = ()
    warning_count: int = 0
    attempts: int = 0
    building: bool = False

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["warnings"] = list(self.warnings)
        return data


@dataclass(frozen=True)
class BuildEvent:
    number: int
    kind: str
    data: str


@dataclass
class EventHub:
    """Numbered build events that every open SSE stream follows; closing wakes them all."""

    keep: int = 64
    _events: list[BuildEvent] = field(default_factory=list)
    _count: int = 0
    _closed: bool = False
    _cond: threading.Condition = field(default_factory=threading.Condition)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def last_number(self) -> int:
        with self._cond:
            return self._count

    def publish(self, kind: str, payload: dict[str, Any]) -> None:
        with self._cond:
            self._count += 1
            self._events.append(BuildEvent(self._count, kind, json.dumps(payload)))
            del self._events[: -self.keep]
            self._cond.notify_all()

    def wait_after(self, number: int, timeout: float) -> list[BuildEvent]:
        """Events numbered above ``number``; waits up to ``timeout`` for one to arrive."""
        with self._cond:
            if self._count <= number and not self._closed:
                self._cond.wait(timeout)
            return [e for e in self._events if e.number > number]

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


def site_file(root: Path, url_path: str) -> Path | None:
    """The file (or folder) ``url_path`` names inside ``root``; ``None`` if it would leave it."""
    if _ENCODED_SEPARATOR.search(url_path):
        return None
    decoded = unquote(url_path, errors="replace")
    if "\\" in decoded or "\0" in decoded:
        return None
    parts = [part for part in decoded.split("/") if part not in ("", ".")]
    if ".." in parts:
        return None
    base = root.resolve()
    candidate = base.joinpath(*parts).resolve()
    return candidate if candidate == base or candidate.is_relative_to(base) else None


def content_type(path: Path) -> str:
    known = CONTENT_TYPES.get(path.suffix.lower())
    if known:
        return known
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


def inject_script(html: bytes, script: bytes) -> bytes:
    """``script`` just before the last ``</body>``, or at the end when there is none."""
    matches = list(_BODY_END.finditer(html))
    if not matches:
        return html + script
    at = matches[-1].start()
    return html[:at] + script + html[at:]


class PreviewServer(ThreadingHTTPServer):
    """A threaded server whose handler threads never hold up shutdown."""

    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        site_root: Callable[[], Path],
        status: Callable[[], PreviewStatus],
        hub: EventHub,
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, PreviewHandler)
        self.site_root = site_root
        self.status = status
        self.hub = hub
        self.script_source = LIVERELOAD_SCRIPT.read_text(encoding="utf-8")

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        shown = f"[{host}]" if ":" in str(host) else host
        return f"http://{shown}:{port}/"


class PreviewHandler(BaseHTTPRequestHandler):
    server: PreviewServer
    server_version = "digest-serve"

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def log_message(self, format: str, *args: Any) -> None:
        """Requests are not logged: the terminal is for build results."""

    def _respond(self, send_body: bool) -> None:
        if not self._host_allowed():
            self._plain(HTTPStatus.FORBIDDEN, "Forbidden: unexpected Host header\n", send_body)
            return
        url_path = urlsplit(self.path).path or "/"
        if url_path == EVENTS_PATH:
            self._events(send_body)
        elif url_path == STATUS_PATH:
            body = json.dumps(self.server.status().as_json()).encode()
            self._send(HTTPStatus.OK, body, "application/json", send_body, cache="no-store")
        elif url_path.startswith(PREVIEW_PREFIX):
            self._not_found(send_body)
        else:
            self._site(url_path, send_body)

    def _host_allowed(self) -> bool:
        """On loopback, only loopback names: a DNS-rebinding page cannot read the preview."""
        bound = str(self.server.server_address[0])
        if bound not in LOOPBACK_NAMES and not bound.startswith("127."):
            return True
        host = self.headers.get("Host", "")
        name = host.rsplit(":", 1)[0] if not host.startswith("[") else host[1:].split("]")[0]
        return name in LOOPBACK_NAMES or name.startswith("127.") or name == bound

    def _site(self, url_path: str, send_body: bool) -> None:
        root = self.server.site_root()
        target = site_file(root, url_path)
        if target is None:
            self._plain(HTTPStatus.FORBIDDEN, "Forbidden\n", send_body)
            return
        if target.is_dir():
            if not url_path.endswith("/"):
                self._redirect(url_path + "/")
                return
            index = site_file(root, url_path + "index.html")
            if index is None:
                self._plain(HTTPStatus.FORBIDDEN, "Forbidden\n", send_body)
                return
            target = index
        if not target.is_file():
            self._not_found(send_body)
            return
        self._file(target, HTTPStatus.OK, send_body)

    def _file(self, path: Path, status: HTTPStatus, send_body: bool) -> None:
        try:
            handle = path.open("rb")
        except OSError:
            self._plain(HTTPStatus.NOT_FOUND, "Not found\n", send_body)
            return
        with handle:
            stat = os.fstat(handle.fileno())
            kind = content_type(path)
            if kind.startswith("text/html"):
                self._html(handle.read(), stat, status, send_body)
                return
            etag = f'"{stat.st_ino:x}-{stat.st_size:x}-{stat.st_mtime_ns:x}"'
            if status == HTTPStatus.OK and self._not_modified(etag, stat.st_mtime):
                self._send_not_modified(etag, stat.st_mtime)
                return
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(stat.st_size))
            self._validators(etag, stat.st_mtime)
            self.end_headers()
            if send_body:
                shutil.copyfileobj(handle, self.wfile)

    def _html(self, html: bytes, stat: Any, status: HTTPStatus, send_body: bool) -> None:
        """HTML carries the reload script, which names the build, so its validators do too."""
        current = self.server.status()
        modified = max(stat.st_mtime, current.built_at)
        etag = (
            f'"{stat.st_ino:x}-{stat.st_size:x}-{stat.st_mtime_ns:x}'
            f'-{current.session}-{current.build}"'
        )
        if status == HTTPStatus.OK and self._not_modified(etag, modified, by_date=False):
            self._send_not_modified(etag, modified)
            return
        script = (
            f'<script data-digest-session="{current.session}" '
            f'data-digest-build="{current.build}">\n{self.server.script_source}</script>\n'
        )
        body = inject_script(html, script.encode("utf-8"))
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self._validators(etag, modified)
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def _not_modified(self, etag: str, modified: float, by_date: bool = True) -> bool:
        """Whether the browser's copy is current. ``by_date``: whether If-Modified-Since may say
        so when no If-None-Match came; not for HTML, which names the build it was served in:
        a preview and the full build after it fall within the one second a date can tell, and
        the page then came back from the browser's cache still at the preview's build."""
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            return etag in [tag.strip() for tag in if_none_match.split(",")] or (
                if_none_match.strip() == "*"
            )
        if_modified_since = self.headers.get("If-Modified-Since")
        if not if_modified_since or not by_date:
            return False
        try:
            since = parsedate_to_datetime(if_modified_since).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return False
        return int(modified) <= since

    def _send_not_modified(self, etag: str, modified: float) -> None:
        self.send_response(HTTPStatus.NOT_MODIFIED)
        self._validators(etag, modified)
        self.end_headers()

    def _validators(self, etag: str, modified: float) -> None:
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", formatdate(modified, usegmt=True))
        # Always revalidate: a preview that shows a stale page after a rebuild is broken.
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")

    def _not_found(self, send_body: bool) -> None:
        page = self.server.site_root() / "404.html"
        if page.is_file():
            self._file(page, HTTPStatus.NOT_FOUND, send_body)
        else:
            self._plain(HTTPStatus.NOT_FOUND, "Not found\n", send_body)

    def _redirect(self, location: str) -> None:
        query = urlsplit(self.path).query
        self.send_response(HTTPStatus.MOVED_PERMANENTLY)
        self.send_header("Location", location + (f"?{query}" if query else ""))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _plain(self, status: HTTPStatus, text: str, send_body: bool) -> None:
        self._send(status, text.encode(), "text/plain; charset=utf-8", send_body)

    def _send(
        self, status: HTTPStatus, body: bytes, kind: str, send_body: bool, cache: str = "no-cache"
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def _events(self, send_body: bool) -> None:
        """One Server-Sent Events stream: the current status, then every build event."""
        hub = self.server.hub
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.close_connection = True
        if not send_body:
            return
        seen = hub.last_number
        status = json.dumps(self.server.status().as_json())
        try:
            self._write_event("status", status, retry_ms=1000)
            while not hub.closed:
                events = hub.wait_after(seen, KEEPALIVE_SECONDS)
                if hub.closed:
                    break
                if not events:
                    self.wfile.write(b": keep-alive\n\n")
                    self.wfile.flush()
                for event in events:
                    self._write_event(event.kind, event.data)
                    seen = event.number
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            return

    def _write_event(self, kind: str, data: str, retry_ms: int | None = None) -> None:
        retry = f"retry: {retry_ms}\n" if retry_ms is not None else ""
        self.wfile.write(f"{retry}event: {kind}\ndata: {data}\n\n".encode())
        self.wfile.flush()
