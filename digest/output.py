"""Writing the site: changed files into a folder beside the target, then one commit.

A failed or interrupted build leaves the previous site whole: nothing in the site folder moves
until every page is made. Then a rebuild that changed few files moves just those in (the old
ones set aside until all are in, so an error puts them back, and Ctrl-C waits for the few
renames); otherwise unchanged files are hard-linked beside the changed ones and the whole folder
is swapped. Either way unchanged files keep their inode, so readers' caches and file watchers
see only real changes. A marker file lists what digest wrote, so it never deletes a file it did
not write.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MARKER = ".digest-site.json"
IN_PLACE_SHARE = 4  # a commit moves files in when at most 1 in 4 files changed or went away


@dataclass(frozen=True)
class Page:
    """One file of the site, as the stages hand it to ``write_site``."""

    path: str
    content: bytes
    # The bytes are those of the file at ``path`` in the site being replaced, as checked by the
    # page records, so writing can link that file without reading it again.
    unchanged: bool = False


class OutputError(Exception):
    """The output folder cannot be safely replaced; nothing was touched."""


@dataclass
class WriteStats:
    written: int = 0
    unchanged: int = 0
    files: list[str] = field(default_factory=list)
    # The same paths as ``files``: membership in a list made 100,000 writes quadratic.
    seen: set[str] = field(default_factory=set, repr=False)
    folders: set[Path] = field(default_factory=set, repr=False)
    staged: list[str] = field(default_factory=list, repr=False)  # written into the stage
    removed: list[str] = field(default_factory=list, repr=False)  # the last build's, not made


def check_output_folder(out: Path) -> set[str]:
    """Files digest wrote last time; refuses a non-empty folder digest did not create."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise OutputError(f"{out}: exists and is not a folder; refusing to replace it")
    if not out.exists() or not any(out.iterdir()):
        return set()
    marker = out / MARKER
    try:
        owned = json.loads(marker.read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        raise OutputError(
            f"{out}: folder is not empty and was not created by digest; "
            "refusing to replace it (choose another --out or empty it yourself)"
        ) from None
    return set(owned)


def write_site(out: Path, pages: Iterable[Page], static_dirs: Iterable[Path]) -> WriteStats:
    """Write every new or changed page and static file into a folder beside ``out``, then
    commit them: moved in when few changed, else swapped in as a whole new folder."""
    owned = check_output_folder(out)
    stage = out.with_name(f".{out.name}.new-{os.getpid()}")
    _remove_tree(stage)
    stage.mkdir(parents=True)
    stats = WriteStats()
    old = out if out.is_dir() else None  # a first build has no files to compare with
    try:
        for page in pages:
            _write(stage, old, page.path, page.content, stats, page.unchanged)
        for static_dir in static_dirs:
            for source in sorted(static_dir.rglob("*")):
                if source.is_file() and not source.name.startswith("."):
                    rel = "static/" + source.relative_to(static_dir).as_posix()
                    _write(stage, old, rel, source.read_bytes(), stats)
        marker = {"generator": "digest", "files": sorted(stats.files)}
        (stage / MARKER).write_text(json.dumps(marker, indent=0) + "\n", encoding="utf-8")
        _check_new_paths(out, owned, stats.files)
        gone = stats.removed = sorted(owned - stats.seen)
        if owned and (len(stats.staged) + len(gone)) * IN_PLACE_SHARE <= len(stats.files):
            _move_in(stage, out, [*stats.staged, MARKER], gone)
            _remove_tree(stage)
        else:
            _link_unchanged(stage, out, stats)
            _keep_foreign_files(out, stage, owned)
            _swap(stage, out)
    except BaseException:
        _remove_tree(stage)
        raise
    return stats


def _write(
    stage: Path,
    old: Path | None,
    rel: str,
    content: bytes,
    stats: WriteStats,
    unchanged: bool = False,
) -> None:
    if rel in stats.seen:
        return
    stats.seen.add(rel)
    stats.files.append(rel)
    if unchanged or (old is not None and _same_bytes(old / rel, content)):
        stats.unchanged += 1
        return
    target = stage / rel
    if target.parent not in stats.folders:
        target.parent.mkdir(parents=True, exist_ok=True)
        stats.folders.add(target.parent)
    target.write_bytes(content)
    stats.written += 1
    stats.staged.append(rel)


def _link_unchanged(stage: Path, out: Path, stats: WriteStats) -> None:
    """Complete the stage into a whole site: the unchanged files, linked from the old one
    (copied where the file system has no hard links)."""
    staged = set(stats.staged)
    for rel in stats.files:
        if rel in staged:
            continue
        target = stage / rel
        if target.parent not in stats.folders:
            target.parent.mkdir(parents=True, exist_ok=True)
            stats.folders.add(target.parent)
        try:
            os.link(out / rel, target)
        except OSError:
            shutil.copyfile(out / rel, target)


def _check_new_paths(out: Path, owned: set[str], files: Iterable[str]) -> None:
    """A file of the new site where the user has one (even with the same bytes) stops the
    build, whichever way it is committed: it would become digest's to replace or delete."""
    for rel in files:
        if rel not in owned and os.path.lexists(out / rel):
            raise OutputError(
                f"{out / rel}: was not written by digest and the new site has a file there; "
                "move it away and build again"
            )


def _move_in(stage: Path, out: Path, staged: list[str], gone: list[str]) -> None:
    """Each staged file renamed over its old one, the old ones moved aside first and removed
    files with them, so an error puts every old file back. Ctrl-C (and SIGTERM) wait until the
    renames and the clean-up are done: they take milliseconds, and half a commit is not the
    previous site."""
    aside = out.with_name(f".{out.name}.old-{os.getpid()}")
    _remove_tree(aside)
    moved: list[tuple[Path, Path]] = []  # (from, to), in the order done
    with _signals_held():
        try:
            for rel in [*staged, *gone]:
                target = out / rel
                if os.path.lexists(target):
                    _rename(target, aside / rel, moved)
            for rel in staged:
                _rename(stage / rel, out / rel, moved)
        except BaseException:
            for done_from, done_to in reversed(moved):
                with contextlib.suppress(OSError):
                    os.replace(done_to, done_from)
            raise
        _remove_tree(aside)
        for rel in gone:
            _remove_empty_parents(out, out / rel)


def _rename(source: Path, target: Path, moved: list[tuple[Path, Path]]) -> None:
    try:
        os.replace(source, target)
    except FileNotFoundError:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
    moved.append((source, target))


def _remove_empty_parents(out: Path, path: Path) -> None:
    folder = path.parent
    while folder != out and out in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM noted, not acted on, during the block, then handled as they would
    have been. A handler rather than a signal mask: a mask holds for one thread, and the signal
    may reach another (a pool's), Python then running the handler in the main thread anyway.
    Only the main thread can set handlers; elsewhere this does nothing."""
    caught: list[int] = []
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for number in HELD_SIGNALS:
            if signal.getsignal(number) is not None:  # None: set outside Python, not restorable
                previous[number] = signal.signal(number, lambda n, _: caught.append(n))
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for number in caught:
            if callable(handler := previous[number]):
                handler(number, None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(number)


def _same_bytes(path: Path, content: bytes) -> bool:
    try:
        if path.stat().st_size != len(content):
            return False
        return path.read_bytes() == content
    except OSError:
        return False


def _keep_foreign_files(out: Path, stage: Path, owned: set[str]) -> None:
    """Files the user put in the output folder move along with the site, never deleted (none
    is where the new site has a file: ``_check_new_paths``)."""
    if not out.is_dir():
        return
    for rel, entry in sorted(folder_entries(out), key=lambda found: found[0]):
        if rel == MARKER or rel in owned:
            continue
        target = stage / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if entry.is_symlink():
            os.symlink(os.readlink(entry.path), target)
        else:
            os.link(entry.path, target)


def folder_entries(folder: Path | str, prefix: str = "") -> Iterator[tuple[str, os.DirEntry[str]]]:
    """Every file (or symlink) under ``folder`` with its path relative to it, folders entered
    but not followed through symlinks. ``os.scandir`` rather than ``Path.rglob``: a rebuild of
    10,000 papers walks 17,000 files three times, and pathlib took ~0.9 s a walk."""
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                yield from folder_entries(entry.path, f"{prefix}{entry.name}/")
            elif entry.is_file() or entry.is_symlink():
                yield f"{prefix}{entry.name}", entry


def _swap(stage: Path, out: Path) -> None:
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        out.rename(old)
    try:
        stage.rename(out)
    except OSError:
        if old.exists():
            old.rename(out)
        raise
    _remove_tree(old)


def _remove_tree(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
