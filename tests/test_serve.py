"""``digest serve`` end to end: a real server process on a copy of the seeds, driven over HTTP.

One server runs for the module (starting one costs seconds); each test makes its own edits
and waits for the build they cause through ``/__digest__/status``. The server runs from a
copy of the code, templates and static files, so edits elsewhere in the working tree cannot
trigger builds here, and the browser test can change the built-in stylesheet. The last test
stops the server with Ctrl-C.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, browser_unavailable

REPO = Path(__file__).resolve().parents[1]
DEBOUNCE = "0.2"
STARTUP_SECONDS = 120
BUILD_SECONDS = 60
SECRET = "TOP-SECRET-NOT-PART-OF-THE-SITE"
CONFIG = """\
title = "Serve test digest"
sources = ["papers"]
out = "site"
templates = "mytemplates"
base_url = "https://example.org/digest/"
"""
BROKEN_TEMPLATE = """\
{% extends "base.html" %}
{% block main %}
<p>{{ site.title ) }}</p>
{% endblock %}
"""


# --- the server ---------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass
class Served:
    proc: subprocess.Popen[str]
    url: str
    project: Path
    checkout: Path
    log: Path
    startup_lines: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(urlsplit(self.url).port or 0)

    @property
    def papers(self) -> Path:
        return self.project / "papers"

    def request(self, path: str, method: str = "GET", headers: dict[str, str] | None = None):
        """``path`` is sent exactly as given: no client-side normalisation of ``..``."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            own_host = any(name.lower() == "host" for name in headers or {})
            conn.putrequest(method, path, skip_host=own_host, skip_accept_encoding=True)
            for name, value in (headers or {}).items():
                conn.putheader(name, value)
            conn.endheaders()
            raw = conn.getresponse()
            body = raw.read()
            return Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, body)
        finally:
            conn.close()

    def status(self) -> dict[str, Any]:
        response = self.request("/__digest__/status")
        assert response.status == 200
        data: dict[str, Any] = json.loads(response.body)
        return data

    def papers_json(self) -> list[dict[str, Any]]:
        papers: list[dict[str, Any]] = json.loads(self.request("/papers.json").body)["papers"]
        return papers

    def after_build(self, change: Callable[[], None]) -> dict[str, Any]:
        """Make ``change``, then wait for the build attempt it causes and return the status."""
        before = self.status()["attempts"]
        change()
        return wait_for(
            lambda: (s := self.status())["attempts"] > before and s,
            f"a build after the change (log: {self.log_text()[-2000:]})",
        )

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def wait_for(check: Callable[[], Any], what: str, timeout: float = BUILD_SECONDS) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """digest's code, templates and static files, as in a source checkout."""
    root = tmp_path_factory.mktemp("checkout")
    for name in ("digest", "templates", "static"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    return root


@pytest.fixture(scope="module")
def served(checkout: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    project = tmp_path_factory.mktemp("project")
    shutil.copytree(REPO / "seeds", project / "papers")
    (project / "mytemplates").mkdir()
    (project / "digest.toml").write_text(CONFIG, encoding="utf-8")
    (project / "secret.txt").write_text(SECRET, encoding="utf-8")
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    log = project / "serve.log"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(checkout), os.environ.get("PYTHONPATH")])),
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "-m", "digest", "serve", "--config", "digest.toml"]
    command += ["--port", str(busy.getsockname()[1]), "--debounce", DEBOUNCE]
    with log.open("w", encoding="utf-8") as log_file:
        proc = subprocess.Popen(
            command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=log_file, text=True
        )
        try:
            lines = _read_until_serving(proc.stdout, STARTUP_SECONDS)
            busy.close()
            url = lines[-1].split()[1]
            yield Served(proc, url, project, checkout, log, lines)
        finally:
            busy.close()
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


def _read_until_serving(stream: IO[str] | None, timeout: float) -> list[str]:
    assert stream is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in stream], daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            seen.append(lines.get(timeout=0.5).strip())
        except queue.Empty:
            continue
        if seen[-1].startswith("Serving http://"):
            return seen
    pytest.fail(f"digest serve did not start: {seen}")


class EventStream:
    """A live ``/__digest__/events`` connection, parsed into (event, data) pairs."""

    def __init__(self, served: Served) -> None:
        self.events: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=60)
        self.conn.request("GET", "/__digest__/events")
        self.response = self.conn.getresponse()
        assert self.response.status == 200
        assert self.response.getheader("Content-Type", "").startswith("text/event-stream")
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        kind, data = "message", ""
        try:
            for raw in self.response:
                line = raw.decode("utf-8").rstrip("\n")
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    data += line[5:].strip()
                elif not line and data:
                    self.events.put((kind, json.loads(data)))
                    kind, data = "message", ""
        except (OSError, ValueError):
            return

    def next(self, timeout: float = BUILD_SECONDS) -> tuple[str, dict[str, Any]]:
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            pytest.fail("no server-sent event arrived")

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def events(served: Served) -> Iterator[EventStream]:
    stream = EventStream(served)
    kind, status = stream.next()
    assert kind == "status" and status["session"] == served.status()["session"]
    yield stream
    stream.close()


# --- starting -----------------------------------------------------------------------------


def test_a_taken_port_is_reported_and_a_free_one_used(served: Served) -> None:
    assert "is in use; using port" in served.log_text()
    assert served.url.startswith("http://127.0.0.1:")
    assert served.request("/").status == 200


def test_the_first_build_is_served_with_the_reload_script_only_over_http(served: Served) -> None:
    page = served.request("/index.html")
    assert page.status == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert "Serve test digest" in page.text
    assert "/__digest__/events" in page.text
    assert page.text.index("data-digest-build") < page.text.rindex("</body>")
    on_disk = (served.project / "site" / "index.html").read_text(encoding="utf-8")
    assert "__digest__" not in on_disk
    assert not list((served.project / "site").rglob("livereload*"))


# --- rebuilding ---------------------------------------------------------------------------


def test_an_edited_abstract_is_previewed_at_once_then_fully_rebuilt(
    served: Served, events: EventStream
) -> None:
    source = served.papers / "003_e5ba666f4ce3f3d9.txt"
    before = served.status()["build"]
    (shown,) = [p for p in served.papers_json() if "We study conditions" in p["abstract"]]
    text = source.read_text(encoding="utf-8")
    source.write_text(text.replace("We study conditions", "Quokkas study conditions", 1))
    kind, data = events.next()
    assert (kind, data["build"], data["error"]) == ("reload", before + 1, None)
    assert data["preview"] is True
    page = served.request("/" + shown["path"]).text
    assert "Quokkas study conditions" in page  # the page being read, refreshed in place
    assert shown["keyphrases"][0] in page
    kind, data = events.next()
    assert (kind, data["build"], data["error"]) == ("reload", before + 2, None)
    assert "preview" not in data
    edited = [p for p in served.papers_json() if p["abstract"].startswith("Quokkas study")]
    assert len(edited) == 1
    assert "Quokkas study conditions" in served.request("/" + edited[0]["path"]).text
    assert "Traceback" not in served.log_text()


def test_a_template_change_is_not_previewed(served: Served, events: EventStream) -> None:
    override = served.project / "mytemplates" / "search.html"
    before = served.status()["build"]
    builtin = (served.checkout / "templates" / "search.html").read_text(encoding="utf-8")
    changed = builtin.replace("<h1>Search</h1>", "<h1>Search</h1><p>Numbats</p>", 1)
    override.write_text(changed, encoding="utf-8")
    try:
        kind, data = events.next()
        assert (kind, data["build"]) == ("reload", before + 1) and "preview" not in data
        assert "Numbats" in served.request("/search.html").text
    finally:
        served.after_build(override.unlink)


def test_a_burst_of_twenty_saves_is_one_rebuild(served: Served) -> None:
    source = served.papers / "001_f226d2ab07393558.txt"
    original = source.read_text(encoding="utf-8")
    before = served.status()["attempts"]
    started = time.monotonic()
    for n in range(20):
        source.write_text(original.replace("Human Activity", f"Human ({n}) Activity", 1))
        time.sleep(0.008)
    assert time.monotonic() - started < 0.5
    wait_for(lambda: served.status()["attempts"] > before, "the rebuild")
    time.sleep(float(DEBOUNCE) * 4)
    status = served.status()
    assert status["attempts"] == before + 1, served.log_text()[-2000:]
    assert any("Human (19) Activity" in p["abstract"] for p in served.papers_json())


def test_fifty_files_changed_at_once_are_one_rebuild(served: Served) -> None:
    checkout = served.papers / "checkout"

    def check_out() -> None:
        checkout.mkdir()
        for n in range(50):
            text = f"Checked-out abstract number {n} about lighthouse keepers and their lamps."
            (checkout / f"paper-{n:02d}.txt").write_text(text, encoding="utf-8")

    before = served.status()["attempts"]
    served.after_build(check_out)
    time.sleep(float(DEBOUNCE) * 4)
    assert served.status()["attempts"] == before + 1
    assert sum("lighthouse keepers" in p["abstract"] for p in served.papers_json()) == 50
    served.after_build(lambda: shutil.rmtree(checkout))
    time.sleep(float(DEBOUNCE) * 4)
    assert served.status()["attempts"] == before + 2
    assert not any("lighthouse keepers" in p["abstract"] for p in served.papers_json())


def test_a_template_error_keeps_the_old_site_and_reports_file_and_line(
    served: Served, events: EventStream
) -> None:
    good = served.request("/index.html").text
    paper = served.papers_json()[0]["path"]
    override = served.project / "mytemplates" / "paper.html"
    override.write_text(BROKEN_TEMPLATE, encoding="utf-8")
    kind, data = events.next()
    assert kind == "failed"
    assert "paper.html:3: template syntax error" in data["error"]
    assert "template syntax error" in served.status()["error"]
    assert (
        served.request("/index.html").text.split("<script data-digest")[0]
        == good.split("<script data-digest")[0]
    )
    assert served.request("/" + paper).status == 200
    assert "paper.html:3: template syntax error" in served.log_text()

    override.unlink()
    kind, data = events.next()
    assert kind == "reload" and data["error"] is None
    assert served.status()["error"] is None


def test_broken_front_matter_is_a_warning_and_the_build_goes_on(served: Served) -> None:
    note = served.papers / "note.md"
    status = served.after_build(
        lambda: note.write_text("---\ntitle: [unclosed\n---\nAn abstract about kites.\n")
    )
    assert status["error"] is None and status["warning_count"] >= 1
    assert any("note.md" in warning for warning in status["warnings"])
    status = served.after_build(note.unlink)
    assert status["error"] is None and status["warning_count"] == 0


def test_a_deleted_file_takes_its_papers_with_it(served: Served) -> None:
    doomed = served.papers / "004_07c1469059367f67.txt"
    from_doomed = {
        p["id"]
        for p in served.papers_json()
        if all(s["file"] == "papers/" + doomed.name for s in p["sources"])
    }
    assert from_doomed
    served.after_build(doomed.unlink)
    papers = served.papers_json()
    assert not from_doomed & {p["id"] for p in papers}
    assert not [s for p in papers for s in p["sources"] if s["file"] == "papers/" + doomed.name]


def test_a_renamed_file_keeps_its_paper_ids(served: Served) -> None:
    old = served.papers / "000_dbbf9264ffb9b8f8.txt"
    new = served.papers / "zz_renamed.txt"
    papers = served.papers_json()
    before = {p["id"] for p in papers}
    moved = {p["id"] for p in papers if _files(p) == {"papers/" + old.name}}
    assert moved
    served.after_build(lambda: old.rename(new))
    papers = served.papers_json()
    assert {p["id"] for p in papers} == before
    assert moved == {p["id"] for p in papers if _files(p) == {"papers/zz_renamed.txt"}}


def _files(paper: dict[str, Any]) -> set[str]:
    return {source["file"] for source in paper["sources"]}


def test_a_stylesheet_change_is_a_css_event_not_a_reload(
    served: Served, events: EventStream
) -> None:
    style = served.checkout / "static" / "style.css"
    original = style.read_text(encoding="utf-8")
    try:
        style.write_text(original + "\n.serve-test { color: red; }\n", encoding="utf-8")
        kind, data = events.next()
        assert kind == "css" and data["error"] is None
        assert ".serve-test" in served.request("/static/style.css").text
    finally:
        style.write_text(original, encoding="utf-8")
        assert events.next()[0] == "css"


# --- HTTP ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/%2e%2e/secret.txt",
        "/static/..%2f..%2fsecret.txt",
        "/static/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/papers/../../secret.txt",
        "/..%5csecret.txt",
        "//../secret.txt",
        "/leak.txt",
        "/up/secret.txt",
    ],
)
def test_nothing_outside_the_site_is_served(served: Served, path: str) -> None:
    site = served.project / "site"
    for link, target in (("leak.txt", "../secret.txt"), ("up", "..")):
        if not (site / link).is_symlink():
            (site / link).symlink_to(target)
    response = served.request(path)
    assert response.status in (403, 404), path
    assert SECRET not in response.text


def test_content_types(served: Served) -> None:
    (served.project / "site" / "logo.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    expected = {
        "/index.html": "text/html",
        "/static/style.css": "text/css",
        "/static/search.js": ("text/javascript", "application/javascript"),
        "/papers.json": "application/json",
        "/feed.xml": "application/xml",
        "/sitemap.xml": "application/xml",
        "/logo.svg": "image/svg+xml",
    }
    for path, kind in expected.items():
        response = served.request(path)
        assert response.status == 200, path
        assert response.headers["content-type"].split(";")[0] in (
            kind if isinstance(kind, tuple) else (kind,)
        ), path


def test_head_sends_the_headers_of_get_without_a_body(served: Served) -> None:
    get = served.request("/static/style.css")
    head = served.request("/static/style.css", method="HEAD")
    assert head.status == 200 and head.body == b""
    assert head.headers["content-length"] == get.headers["content-length"] == str(len(get.body))
    assert head.headers["last-modified"] == get.headers["last-modified"]


def test_if_modified_since_gives_304(served: Served) -> None:
    first = served.request("/static/search.js")
    since = first.headers["last-modified"]
    again = served.request("/static/search.js", headers={"If-Modified-Since": since})
    assert again.status == 304 and again.body == b""
    older = served.request(
        "/static/search.js", headers={"If-Modified-Since": "Mon, 01 Jan 1990 00:00:00 GMT"}
    )
    assert older.status == 200 and older.body == first.body
    etag = served.request("/index.html").headers["etag"]
    assert served.request("/index.html", headers={"If-None-Match": etag}).status == 304


def test_a_page_is_not_taken_as_current_by_its_date_alone(served: Served) -> None:
    """A page names the build it was served in, and two builds can fall within the one second
    a date tells: a browser asking by date alone (Chromium did, reloading) gets the page again."""
    page = served.request("/index.html")
    since = page.headers["last-modified"]
    again = served.request("/index.html", headers={"If-Modified-Since": since})
    assert again.status == 200 and again.body == page.body


def test_missing_pages_get_the_sites_404_page_with_status_404(served: Served) -> None:
    response = served.request("/no/such/page.html")
    assert response.status == 404
    assert "Page not found" in response.text and "text/html" in response.headers["content-type"]
    assert served.request("/__digest__/nothing").status == 404


def test_a_folder_serves_its_index_and_a_bare_folder_name_redirects(served: Served) -> None:
    root = served.request("/")
    assert root.status == 200 and "Serve test digest" in root.text
    moved = served.request("/static?x=1")
    assert moved.status == 301 and moved.headers["location"] == "/static/?x=1"
    assert served.request("/static/").status == 404


def test_many_clients_at_once(served: Served) -> None:
    streams = [EventStream(served) for _ in range(8)]
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(served.request("/index.html").status))
        for _ in range(24)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert results == [200] * 24
    for stream in streams:
        stream.close()


def test_a_foreign_host_header_is_refused(served: Served) -> None:
    rebinding = served.request("/index.html", headers={"Host": f"evil.example:{served.port}"})
    assert rebinding.status == 403
    assert served.request("/index.html", headers={"Host": f"localhost:{served.port}"}).status == 200


# --- the browser --------------------------------------------------------------------------


@pytest.mark.browser
def test_an_open_page_reloads_itself_swaps_css_and_shows_errors(served: Served) -> None:
    if not CHROMIUM.exists():
        browser_unavailable(f"{CHROMIUM} not found")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        browser_unavailable("the playwright package is not installed")
    style = served.checkout / "static" / "style.css"
    original_style = style.read_text(encoding="utf-8")
    try:
        _in_own_thread(lambda: _drive_browser(served, style))
    except Exception as err:
        tail = served.log.read_text(encoding="utf-8").splitlines()[-12:]
        raise AssertionError("serve log ends:\n" + "\n".join(tail)) from err
    finally:
        style.write_text(original_style, encoding="utf-8")


def _in_own_thread(action: Callable[[], None]) -> None:
    """Playwright's sync API runs one instance per thread, and the browser suite keeps one
    open in this thread for the whole session."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            action()
        except BaseException as err:
            failures.append(err)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failures:
        raise failures[0]


def _drive_browser(served: Served, style: Path) -> None:
    from playwright.sync_api import sync_playwright

    source = served.papers / "003_e5ba666f4ce3f3d9.txt"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        seen: list[str] = []
        try:
            page = browser.new_page()
            page.set_default_timeout(BUILD_SECONDS * 1000)
            page.on("console", lambda m: seen.append(f"console {m.type}: {m.text}"))
            page.on(
                "response",
                lambda r: seen.append(f"{r.status} {r.url} {r.headers.get('etag', '')}"),
            )
            page.goto(served.url + "papers.html")
            page.evaluate("window.__sameDocument = true")
            page.wait_for_timeout(500)

            text = source.read_text(encoding="utf-8")
            source.write_text(text.replace("study conditions", "Wombats reconsider", 1))
            page.wait_for_function("() => document.body.innerText.includes('Wombats reconsider')")
            assert page.evaluate("window.__sameDocument") is None, "the page did not reload"
            # The first reload shows the preview; the full build's reload follows.
            wait_for(lambda: not served.status()["building"], "the full build")
            page.wait_for_function(
                "b => document.querySelector('script[data-digest-build]')"
                ".getAttribute('data-digest-build') === String(b)",
                arg=served.status()["build"],
            )
            assert "Wombats reconsider" in page.inner_text("body")

            page.evaluate("window.__sameDocument = true")
            page.wait_for_timeout(300)
            style.write_text(style.read_text() + "\nbody { outline: 7px solid rgb(1, 2, 3); }\n")
            page.wait_for_function("() => getComputedStyle(document.body).outlineWidth === '7px'")
            assert page.evaluate("window.__sameDocument") is True, "a CSS change reloaded"

            override = served.project / "mytemplates" / "papers.html"
            override.write_text(BROKEN_TEMPLATE, encoding="utf-8")
            banner = page.locator("#digest-serve-banner")
            banner.wait_for()
            assert "papers.html:3: template syntax error" in banner.inner_text()
            override.unlink()
            banner.wait_for(state="detached")
            assert "Wombats reconsider" in page.inner_text("body")

            hostile = served.papers / "<img src=x onerror=window.__xss=1>.md"
            hostile.write_text("---\ntitle: [unclosed\n---\nAn abstract about kites.\n")
            banner.wait_for()
            assert "<img src=x onerror=window.__xss=1>.md" in banner.inner_text()
            assert banner.locator("img").count() == 0
            assert page.evaluate("window.__xss") is None
            hostile.unlink()
            banner.wait_for(state="detached")
        except Exception as err:
            raise AssertionError("the page saw:\n" + "\n".join(seen[-30:])) from err
        finally:
            browser.close()


# --- stopping (last: it ends the module's server) ------------------------------------------


def test_a_save_during_a_full_build_stops_it_and_is_previewed_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session as serve drives it, in this process: the themes stage is made to take
    20 s, a second save arrives inside it, and the build gives way within a second."""
    import digest.pipeline as pipeline_module
    from digest.build import build
    from digest.config import load_config
    from digest.preview_server import EventHub
    from digest.serve import PreviewSession

    corpus = tmp_path / "papers"
    shutil.copytree(REPO / "seeds", corpus)
    config = load_config(
        None, sources=(corpus,), out=tmp_path / "site", cache_dir=tmp_path / "cache", quiet=True
    )
    hub = EventHub()
    session = PreviewSession(lambda: config, hub)
    assert session.rebuild(frozenset())
    first, second = corpus / "003_e5ba666f4ce3f3d9.txt", corpus / "000_dbbf9264ffb9b8f8.txt"
    assert first.exists() and second.exists()

    real_grouping, in_themes = pipeline_module.group_themes, threading.Event()

    def slow_grouping(*args: Any, **kwargs: Any) -> Any:
        in_themes.set()
        for _ in range(2000):
            time.sleep(0.01)
        return real_grouping(*args, **kwargs)

    def save_again() -> None:
        in_themes.wait(30)
        _replace_first_word(second, "Badgers")
        session.cancel.request()  # what the watcher does for every change

    monkeypatch.setattr(pipeline_module, "group_themes", slow_grouping)
    _replace_first_word(first, "Otters")
    threading.Thread(target=save_again, daemon=True).start()
    seen = hub.last_number
    started = time.monotonic()
    assert session.rebuild(frozenset({first})) is False
    assert time.monotonic() - started < 10
    kinds = [(e.kind, json.loads(e.data).get("preview")) for e in hub.wait_after(seen, 0)]
    assert kinds == [("reload", True)]  # the first save's preview; no full-build reload

    monkeypatch.setattr(pipeline_module, "group_themes", real_grouping)
    seen = hub.last_number
    assert session.rebuild(frozenset({second}))
    kinds = [(e.kind, json.loads(e.data).get("preview")) for e in hub.wait_after(seen, 0)]
    assert kinds == [("reload", True), ("reload", None)]
    site = _texts(tmp_path / "site")
    assert any("Otters" in t for t in site.values()) and any("Badgers" in t for t in site.values())
    cold = replace(config, out=tmp_path / "cold", cache_dir=tmp_path / "cold-cache")
    build(cold)
    assert site == _texts(tmp_path / "cold")


def _replace_first_word(path: Path, word: str) -> None:
    text = path.read_text()
    path.write_text(word + text[text.index(" ") :])


def _texts(site: Path) -> dict[str, str]:
    return {
        p.relative_to(site).as_posix(): p.read_text(errors="replace")
        for p in site.rglob("*")
        if p.is_file()
    }


def test_ctrl_c_stops_the_server_within_a_second(served: Served) -> None:
    _wait_until_idle(served)
    stream = EventStream(served)
    stream.next()
    started = time.monotonic()
    served.proc.send_signal(signal.SIGINT)
    code = served.proc.wait(timeout=10)
    elapsed = time.monotonic() - started
    assert elapsed < 1.0, f"took {elapsed:.2f} s"
    assert code in (0, 130)
    assert "Traceback" not in served.log_text()
    stream.close()


def _wait_until_idle(served: Served) -> None:
    """No build running and none for a few debounce periods: earlier tests' edits are done."""

    def idle() -> bool:
        before = served.status()
        time.sleep(float(DEBOUNCE) * 3)
        after = served.status()
        return not after["building"] and after["attempts"] == before["attempts"]

    wait_for(idle, "the server to be idle")
