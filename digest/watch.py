"""File watching for ``digest serve``: which changes count, and one batch per burst of them.

Editors and version control never change one file once: vim writes a probe file, a backup and
the file; ``git checkout`` touches dozens of files in a few milliseconds; the build itself
writes thousands of files into the output folder. The rules here keep only changes a build
reads, and the debouncer turns each burst into one batch, so each burst costs one rebuild.
"""

from __future__ import annotations

import fnmatch
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

EDITOR_TEMP_PATTERNS = ("*.swp", "*.swo", "*.swx", "*~", ".#*", "#*#", "4913", "*.tmp")
RELEVANT_EVENTS = frozenset({"created", "modified", "deleted", "moved"})


@dataclass(frozen=True)
class WatchTarget:
    """A folder to watch; ``only`` limits it to one file name (a config or single source file)."""

    folder: Path
    recursive: bool = True
    only: str | None = None

    @classmethod
    def for_path(cls, path: Path) -> WatchTarget:
        resolved = path.resolve()
        if resolved.is_dir():
            return cls(resolved)
        return cls(resolved.parent, recursive=False, only=resolved.name)


@dataclass(frozen=True)
class IgnoreRules:
    """Paths that never trigger a rebuild: build output, the cache, hidden and editor files."""

    output: Path
    ignored_folders: tuple[Path, ...] = ()

    @classmethod
    def for_site(cls, out: Path, cache_dir: Path) -> IgnoreRules:
        return cls(out.resolve(), (out.resolve(), cache_dir.resolve()))

    def ignores(self, path: Path, target: WatchTarget) -> bool:
        if target.only is not None:
            return path.name != target.only or path.parent != target.folder
        if any(path == folder or path.is_relative_to(folder) for folder in self.ignored_folders):
            return True
        if self._is_output_sibling(path):
            return True
        if not path.is_relative_to(target.folder):
            return True
        parts = path.relative_to(target.folder).parts
        # The loaders and output.py skip hidden entries, so a change to one cannot matter.
        return any(part.startswith(".") for part in parts) or is_editor_temp(path.name)

    def _is_output_sibling(self, path: Path) -> bool:
        """output.py stages into ``.site.new-*`` and retires ``.site.old-*``, beside ``site``."""
        stem = f".{self.output.name}."
        for candidate in (path, *path.parents):
            if candidate.parent == self.output.parent:
                name = candidate.name
                return name.startswith(stem) and name[len(stem) :].startswith(("new-", "old-"))
        return False


def is_editor_temp(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in EDITOR_TEMP_PATTERNS)


class Debouncer:
    """Collects changed paths from the watcher thread and hands them over as one batch once no
    change has arrived for ``quiet`` seconds (or ``max_wait`` after the first, so a file that
    is rewritten forever still gets built)."""

    def __init__(
        self,
        quiet: float,
        max_wait: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.quiet = quiet
        self.max_wait = max(max_wait, quiet)
        self._clock = clock
        self._cond = threading.Condition()
        self._pending: set[Path] = set()
        self._first = 0.0
        self._last = 0.0
        self._closed = False

    def add(self, path: Path) -> None:
        with self._cond:
            now = self._clock()
            if not self._pending:
                self._first = now
            self._pending.add(path)
            self._last = now
            self._cond.notify_all()

    def next_batch(self, timeout: float) -> frozenset[Path] | None:
        """The next settled batch, or ``None`` after ``timeout`` seconds (or once closed)."""
        give_up = self._clock() + timeout
        with self._cond:
            while not self._closed:
                now = self._clock()
                if self._pending:
                    due = min(self._last + self.quiet, self._first + self.max_wait)
                    if now >= due:
                        batch = frozenset(self._pending)
                        self._pending.clear()
                        return batch
                    wake = min(due, give_up)
                else:
                    wake = give_up
                if now >= give_up:
                    return None
                self._cond.wait(max(wake - now, 0.001))
        return None

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class _ChangeHandler(FileSystemEventHandler):
    def __init__(self, target: WatchTarget, rules: IgnoreRules, sink: Callable[[Path], None]):
        self.target = target
        self.rules = rules
        self.sink = sink

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in RELEVANT_EVENTS:
            return
        if event.is_directory and event.event_type == "modified":
            return
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            if not raw:
                continue
            path = Path(raw.decode() if isinstance(raw, bytes) else raw)
            if not self.rules.ignores(path, self.target):
                self.sink(path)


class SiteWatcher:
    """A watchdog observer over the build's inputs; re-targeted when the config changes."""

    def __init__(self, sink: Callable[[Path], None]) -> None:
        self._sink = sink
        self._observer = Observer()
        self._observer.daemon = True
        self._targets: tuple[WatchTarget, ...] = ()
        self._rules: IgnoreRules | None = None
        self._started = False

    def watch(self, targets: Iterable[WatchTarget], rules: IgnoreRules) -> None:
        wanted = tuple(dict.fromkeys(t for t in targets if t.folder.is_dir()))
        if wanted == self._targets and rules == self._rules:
            return
        self._observer.unschedule_all()
        for target in wanted:
            handler = _ChangeHandler(target, rules, self._sink)
            self._observer.schedule(handler, str(target.folder), recursive=target.recursive)
        self._targets, self._rules = wanted, rules
        if not self._started:
            self._observer.start()
            self._started = True

    @property
    def targets(self) -> tuple[WatchTarget, ...]:
        return self._targets

    def stop(self, wait: float = 0.2) -> None:
        """Stops watching, waiting at most ``wait`` seconds: watchdog joins each inotify
        thread without a timeout, and a thread whose watch vanished (a deleted folder) may
        never wake. The threads are daemons and serve exits right after."""
        if self._started:
            stopper = threading.Thread(target=self._observer.stop, daemon=True)
            stopper.start()
            stopper.join(timeout=wait)
            self._observer.join(timeout=0.1)
