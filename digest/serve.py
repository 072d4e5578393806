"""``digest serve``: build, serve the site, watch its inputs, rebuild each burst of changes once.

Builds run in the main thread, one at a time, so Ctrl-C always interrupts one cleanly (the
output swap leaves the previous site whole). The watcher only queues paths; the HTTP server
only reads the site folder and the status this module publishes. One ``BuildState`` lives for
the whole run, so a rebuild re-reads changed files only and re-renders changed pages only.
"""

from __future__ import annotations

import _thread
import errno
import importlib
import logging
import os
import secrets
import signal
import sys
import threading
import time
import traceback
import webbrowser
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType, TracebackType
from typing import NoReturn

from jinja2 import TemplateError, TemplateSyntaxError

from digest.build import BuildReport, build
from digest.build_state import BuildState
from digest.cache import resolve_cache_dir
from digest.config import DEFAULT_CONFIG_FILE, Config, ConfigError
from digest.output import OutputError
from digest.preview_server import EventHub, PreviewServer, PreviewStatus
from digest.quick_preview import preview_edits
from digest.render import make_environment
from digest.resources import builtin_dir, template_dirs
from digest.watch import Debouncer, IgnoreRules, SiteWatcher, WatchTarget

DEFAULT_DEBOUNCE_SECONDS = 0.1
BANNER_WARNINGS = 20
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

log = logging.getLogger("digest")


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    open_browser: bool = False
    debounce: float = DEFAULT_DEBOUNCE_SECONDS
    config_file: Path | None = None


class BuildCancelled(BaseException):
    """A newer change arrived during a full build: its result would be stale on arrival.
    A ``BaseException``, like ``KeyboardInterrupt``, so no ``except Exception`` on the way
    mistakes it for a failure."""


class CancelSwitch:
    """Lets a change stop the full build it makes stale, so the next save is previewed at
    once instead of after a build that takes minutes on a large corpus. The watcher thread
    asks; the main thread raises ``BuildCancelled`` (through a simulated SIGUSR1) only while a
    window is open: from the start of a build until its pages are made. Interrupting there
    is as safe as Ctrl-C: the old site stays whole and the cache valid."""

    def __init__(self) -> None:
        self._open = False
        self.usable = threading.current_thread() is threading.main_thread() and hasattr(
            signal, "SIGUSR1"
        )
        if self.usable:
            signal.signal(signal.SIGUSR1, self._interrupt)

    def request(self) -> None:
        """From any thread: cancel the running build if it can still be cancelled."""
        if self._open:
            _thread.interrupt_main(signal.SIGUSR1)

    @contextmanager
    def window(self) -> Iterator[None]:
        self._open = self.usable
        try:
            yield
        finally:
            self._open = False

    def close(self) -> None:
        self._open = False

    def _interrupt(self, signum: int, frame: FrameType | None) -> None:
        if self._open:
            self._open = False  # once: never again inside the cleanup this starts
            raise BuildCancelled


class PreviewSession:
    """What the serve loop remembers between builds, and the status every page is told."""

    def __init__(self, load_config: Callable[[], Config], hub: EventHub) -> None:
        self.load_config = load_config
        self.hub = hub
        self.state = BuildState()
        self.config: Config | None = None
        self.status = PreviewStatus(session=secrets.token_hex(4))
        self.cancel = CancelSwitch()
        self._unfinished: frozenset[Path] = frozenset()  # changes of cancelled builds

    def site_root(self) -> Path:
        return self.config.out if self.config is not None else Config().out

    def current_status(self) -> PreviewStatus:
        return self.status

    def rebuild(self, changed: frozenset[Path]) -> bool:
        """One build; on failure the previous site stays served and pages show the error.
        Once a site is shown, a newer change cancels the build (``CancelSwitch``) and the
        next call builds both changes."""
        started = time.perf_counter()
        changed, self._unfinished = changed | self._unfinished, frozenset()
        self.status = replace(self.status, building=True)
        try:
            config = self.load_config()
        except ConfigError as err:
            return self._failed(str(err))
        previous, self.config = self.config, config
        if config == previous and self._only_sources(changed, config):
            self._preview(config, started)
        cancellable = self.state.digest is not None
        with _collected_warnings() as warnings:
            try:
                with self.cancel.window() if cancellable else nullcontext():
                    report = build(config, None, self.state, pages_done=self.cancel.close)
            except BuildCancelled:
                self._unfinished = changed
                log.info("newer changes arrived: build stopped, building again")
                return False
            except Exception as err:
                return self._failed(describe_build_error(err))
        self._succeeded(report, warnings, changed, time.perf_counter() - started)
        return True

    def prepare(self, preload: threading.Thread | None = None) -> None:
        """After a first build that found the site up to date, build once more without that
        shortcut, so the last digest is in memory and the first edit can be previewed; then
        wait for ``preload`` (libraries loading in the background) to finish."""
        if self.config is None or self.status.error:
            return
        started = time.perf_counter()
        if self.state.digest is None:
            try:
                build(self.config, None, self.state, stop_if_up_to_date=False)
            except Exception as err:  # the next save rebuilds and reports it
                log.debug("preparing fast previews failed: %s", err)
                return
        env = self.state.environment(self.config, make_environment)
        for name in env.list_templates(filter_func=lambda n: n.endswith(".html")):
            env.get_template(name)  # compiled now rather than on the first save
        if preload is not None:
            preload.join()
        log.info("ready for fast previews of edits (%.1f s)", time.perf_counter() - started)

    def _only_sources(self, changed: frozenset[Path], config: Config) -> bool:
        if not changed or self.state.digest is None or self.status.error is not None:
            return False
        sources = [s.resolve() for s in config.sources]
        others = [d.resolve() for d in (*template_dirs(config), builtin_dir("static"))]
        resolved = [p.resolve() for p in changed]
        inside = [any(p.is_relative_to(s) for s in sources) for p in resolved]
        outside = [not any(p.is_relative_to(o) for o in others) for p in resolved]
        return all(inside) and all(outside)

    def _preview(self, config: Config, started: float) -> None:
        """Show the edited papers' pages at once; the full build that follows replaces them."""
        assert self.state.digest is not None
        try:
            preview = preview_edits(config, self.state, self.state.digest)
        except Exception as err:  # the full build reports whatever is wrong
            log.debug("no preview: %s", err)
            return
        if preview is None or not preview.pages:
            return
        self.status = replace(self.status, build=self.status.build + 1, built_at=time.time())
        log.info(
            "preview in %.2f s: %d edited paper(s), %d page(s) refreshed; full build follows",
            time.perf_counter() - started,
            preview.papers,
            len(preview.pages),
        )
        self.hub.publish("reload", {**self.status.as_json(), "preview": True})

    def _failed(self, message: str) -> bool:
        log.error("%s", message)
        log.error("build failed; still serving the previous site (fix it and save again)")
        self.status = replace(
            self.status, error=message, attempts=self.status.attempts + 1, building=False
        )
        self.hub.publish("failed", self.status.as_json())
        return False

    def _succeeded(
        self, report: BuildReport, warnings: list[str], changed: frozenset[Path], seconds: float
    ) -> None:
        css_only = bool(changed) and all(p.suffix == ".css" for p in changed)
        recovered = self.status.error is not None
        self.status = replace(
            self.status,
            build=self.status.build + 1,
            built_at=time.time(),
            error=None,
            attempts=self.status.attempts + 1,
            building=False,
            warnings=tuple(warnings[:BANNER_WARNINGS]),
            warning_count=report.warnings,
        )
        pages = self.state.pages
        work = (
            "site up to date"
            if report.up_to_date
            else f"{pages.rendered} pages rendered, {pages.kept} unchanged; "
            f"{report.pages_written} files written"
        )
        log.info(
            "build %d in %.2f s: %s; %s%s",
            self.status.build,
            seconds,
            _changed_summary(changed),
            work,
            f"; {report.warnings} warning(s)" if report.warnings else "",
        )
        kind = "css" if css_only and not recovered else "reload"
        self.hub.publish(kind, self.status.as_json())


def serve(load_config: Callable[[], Config], options: ServeOptions) -> int:
    """Build, then serve and rebuild until Ctrl-C; returns the exit code (0 when stopped).

    The port is taken first, so a clash is reported before a long first build; the URL is
    printed once the first build is done.
    """
    config = load_config()
    hub = EventHub()
    session = PreviewSession(load_config, hub)
    session.config = config
    server = _bind(options, session, hub)
    debouncer = Debouncer(options.debounce)

    def changed(path: Path) -> None:
        debouncer.add(path)
        session.cancel.request()

    watcher = SiteWatcher(changed)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
    ).start()
    try:
        with _sigterm_as_interrupt():
            if not session.rebuild(frozenset()) and not config.out.is_dir():
                log.warning("no site to show yet; the first good build will appear")
            preload = threading.Thread(
                target=_preload_build_libraries, args=(session.config or config,), daemon=True
            )
            preload.start()
            watcher.watch(*_watch_plan(session.config or config, options))
            print(f"Serving {server.url} (Ctrl-C to stop)", flush=True)
            if options.open_browser:
                threading.Thread(target=webbrowser.open, args=(server.url,), daemon=True).start()
            session.prepare(preload)
            _rebuild_loop(session, debouncer, watcher, options)
    except KeyboardInterrupt:
        pass
    finally:
        hub.close()
        debouncer.close()
        watcher.stop()
        server.shutdown()
        server.server_close()
    print("Stopped.", file=sys.stderr, flush=True)
    return 0


def _preload_build_libraries(config: Config) -> None:
    """A build that found the site up to date never imported scipy's fitting parts or YAKE;
    import them now, and load YAKE's and the lexicon's tables with one throwaway extraction,
    while the writer reads the page, so the first save does not wait seconds for them."""
    from digest.lsa_fit import FITTING_MODULES

    for name in FITTING_MODULES:
        importlib.import_module(name)
    from digest.keyphrases import candidate_phrases

    text = "Warm caches make the first rebuild as fast as the next ones."
    candidate_phrases(text, "", config.language, config.keyphrase_backend)


def exit_now(code: int) -> NoReturn:
    """End the process without interpreter teardown: unloading numpy and scikit-learn takes up
    to a second, and Ctrl-C must stop the server at once. ``serve`` has closed everything it
    opened by the time it returns, so only the streams need flushing."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _rebuild_loop(
    session: PreviewSession, debouncer: Debouncer, watcher: SiteWatcher, options: ServeOptions
) -> None:
    while True:
        batch = debouncer.next_batch(timeout=1.0)
        if batch:
            session.rebuild(batch)
            if session.config is not None:
                watcher.watch(*_watch_plan(session.config, options))


def _bind(options: ServeOptions, session: PreviewSession, hub: EventHub) -> PreviewServer:
    def make(port: int) -> PreviewServer:
        return PreviewServer((options.host, port), session.site_root, session.current_status, hub)

    if options.host not in LOOPBACK_HOSTS and not options.host.startswith("127."):
        log.warning("serving on %s: other machines on the network can see the site", options.host)
    try:
        return make(options.port)
    except OSError as err:
        if err.errno != errno.EADDRINUSE or options.port == 0:
            raise
    server = make(0)
    log.warning("port %d is in use; using port %d instead", options.port, server.server_port)
    return server


def _watch_plan(config: Config, options: ServeOptions) -> tuple[list[WatchTarget], IgnoreRules]:
    """Everything a build reads: sources, templates, static files and the config file."""
    folders = [*config.sources, *template_dirs(config), builtin_dir("static")]
    targets = [WatchTarget.for_path(path) for path in folders if path.exists()]
    config_file = (options.config_file or Path(DEFAULT_CONFIG_FILE)).resolve()
    targets.append(WatchTarget(config_file.parent, recursive=False, only=config_file.name))
    rules = IgnoreRules.for_site(config.out, resolve_cache_dir(config.cache_dir))
    return targets, rules


def describe_build_error(err: BaseException) -> str:
    """One line a person can act on: the template file and line when a template is at fault."""
    if isinstance(err, TemplateSyntaxError):
        where = err.filename or err.name
        return f"{_shown(where)}:{err.lineno}: template syntax error: {err.message}"
    if isinstance(err, TemplateError):
        where = _template_frame(err.__traceback__)
        return f"{where}: template error: {err}" if where else f"template error: {err}"
    if isinstance(err, (OutputError, OSError)):
        return str(err)
    return f"internal error: {type(err).__name__}: {err}"


def _template_frame(tb: TracebackType | None) -> str | None:
    """Jinja rewrites tracebacks so template code shows as its file and line; the last one
    is where the template failed."""
    found = None
    for frame, line in traceback.walk_tb(tb):
        if _is_template(frame):
            found = f"{_shown(frame.f_code.co_filename)}:{line}"
    return found


def _is_template(frame: FrameType) -> bool:
    name = frame.f_code.co_filename
    return not name.endswith(".py") and not name.startswith("<")


def _shown(path: str | None) -> str:
    if not path:
        return "<template>"
    try:
        return os.path.relpath(path)
    except ValueError:
        return path


def _changed_summary(changed: frozenset[Path]) -> str:
    if not changed:
        return "initial build"
    names = sorted(_shown(str(p)) for p in changed)
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    return "changed " + ", ".join(names[:3]) + more


class _WarningLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextmanager
def _collected_warnings() -> Iterator[list[str]]:
    """The build's warning lines, for the browser banner (the terminal gets them as usual)."""
    handler = _WarningLines()
    log.addHandler(handler)
    try:
        yield handler.lines
    finally:
        log.removeHandler(handler)


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """A terminated server stops the way Ctrl-C stops it: cleanly."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, interrupt)
    # A shell starts background jobs with SIGINT ignored, and Python keeps an inherited
    # "ignore": serve must still stop on Ctrl-C (or a SIGINT sent to it).
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
