"""What a build can reuse from the builds before it, passed to ``build()`` as one object.

``digest serve`` keeps one ``BuildState`` for its whole run (Lektor-style): each input file's
records (re-read only when the file's size, times or inode change), the last themes, and the
page records that let unchanged pages skip rendering. A plain ``digest build`` starts empty and
fills the parts worth keeping between runs (themes, page records) from the on-disk cache.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from digest.cache import ContentCache, cached_value, content_key
from digest.config import Config
from digest.diagnostics import CapturedRecords, warned_at
from digest.fingerprint import Fingerprinter, code_fingerprint, folder_fingerprint
from digest.model import Digest, Paper, Record, Theme, amended
from digest.page_memo import STORED_VERSION, PageMemo
from digest.resources import template_dirs
from digest.sources import read_file
from digest.sources.jsonl import LineMemo
from digest.theme_map import ThemeMap, layout_theme_map, map_from_json, map_to_json
from digest.themes import grouping_keys


class ThemeGrouping(Protocol):
    """``themes.group_themes`` with its progress and cache given."""

    def __call__(
        self, papers: Sequence[Paper], theme_count: int | None, *, keys: Sequence[str]
    ) -> tuple[tuple[Paper, ...], tuple[Theme, ...]]: ...


_FileSignature = tuple[int, int, int, int]

log = logging.getLogger("digest")


@dataclass(frozen=True)
class FileRecords:
    """One input file as last read: its stat signature, its records and the warnings it gave."""

    signature: _FileSignature
    records: list[Record]
    warnings: list[logging.LogRecord]
    lines: dict[tuple[int, str], Record]


class BuildState:
    def __init__(self) -> None:
        self.pages = PageMemo()
        self.files_read = 0
        self.files_reused = 0
        self._files: dict[tuple[str, str], FileRecords] = {}
        self._seen_files: set[tuple[str, str]] = set()
        self._themes: tuple[str, tuple[tuple[Paper, ...], tuple[Theme, ...]]] | None = None
        self._themes_key = ""
        self._theme_map: tuple[str, ThemeMap] | None = None
        self._cache: ContentCache | None = None
        self._fingerprinter = Fingerprinter()
        self._pages_kind = ""
        self._pages_key = ""
        self._templates = ""
        self._environment: tuple[tuple[str, Config], Any] | None = None
        self.digest: Digest | None = None  # what the site on disk shows, once built here

    def begin(self, config: Config, cache: ContentCache) -> None:
        """Start one build: fresh per-build digests, page records for this output folder."""
        self._cache = cache
        self._fingerprinter = Fingerprinter()
        self._seen_files = set()
        self.files_read = self.files_reused = 0
        out = config.out.resolve()
        self._templates = folder_fingerprint(template_dirs(config))
        base = code_fingerprint() + self._templates + _rendering_config(config)
        had_records = self.pages.out == out and bool(self.pages.records)
        self.pages.begin(out, base, self._fingerprinter)
        self._pages_kind = f"page-records {out}"
        # Kept by the code, templates and config they were made with: when those change, every
        # page is made again, and the build runs as a first one (workers, no forked helpers).
        self._pages_key = f"{STORED_VERSION}-{hashlib.sha256(base.encode()).hexdigest()}"
        if not had_records:
            self.pages.load(cache.get_pickled(self._pages_kind, self._pages_key))

    def skip(self) -> None:
        """The build found the site up to date: nothing was read or rendered."""
        self.files_read = self.files_reused = 0
        self.pages.rendered = self.pages.kept = 0

    def commit(self, digest: Digest) -> None:
        """The new site is in place: keep what it was built from."""
        self.digest = digest
        changed = self.pages.commit()
        self._files = {k: v for k, v in self._files.items() if k in self._seen_files}
        if changed and self._cache is not None:
            self._cache.put_pickled(self._pages_kind, self._pages_key, self.pages.stored())

    def environment(self, config: Config, make: Callable[[Config], Any]) -> Any:
        """The Jinja environment of the last build while templates and config are unchanged,
        so templates are compiled once per change, not once per build."""
        key = (self._templates, config)
        if self._environment is None or self._environment[0] != key:
            self._environment = (key, make(config))
        return self._environment[1]

    def read_file(self, path: Path, display: str) -> list[Record]:
        """``digest.sources.read_file``, skipped for a file unchanged since it was last read;
        its warnings are given again, so every build reports the same problems."""
        key = (str(path), display)
        self._seen_files.add(key)
        signature = _signature(path)
        known = self._files.get(key)
        if known is not None and signature is not None and known.signature == signature:
            for warning in known.warnings:
                log.handle(warning)
            self.files_reused += 1
            return known.records
        memo = LineMemo(previous=known.lines if known is not None else {})
        with _captured_warnings() as warnings:
            records = read_file(path, display, memo)
        self.files_read += 1
        if signature is not None:
            warned = {source.line for w in warnings if (source := warned_at(w)) is not None}
            lines = {k: r for k, r in memo.current.items() if k[0] not in warned}
            self._files[key] = FileRecords(signature, records, warnings, lines)
        return records

    def reuse_themes(
        self, papers: Sequence[Paper], theme_count: int | None, compute: ThemeGrouping
    ) -> tuple[tuple[Paper, ...], tuple[Theme, ...]]:
        """``compute(papers, theme_count)``, unless papers with these exact ids, texts and
        keyphrases, in this order, were grouped before (in this process or, through the cache,
        another): the grouping is seeded, so it is equal."""
        keys = grouping_keys(papers)
        corpus = hashlib.sha256("".join(keys).encode()).hexdigest()
        key = content_key("themes", code_fingerprint(), theme_count, corpus)
        self._themes_key = key
        if self._themes is not None and self._themes[0] == key:
            return self._themes[1]
        result = cached_value(
            self._cache,
            "themes",
            key,
            lambda: compute(papers, theme_count, keys=keys),
            dump=lambda grouped: _themes_to_json(*grouped),
            load=partial(_themes_from_json, papers),
        )
        self._themes = (key, result)
        return result

    def reuse_theme_map(
        self, papers: Sequence[Paper], themes: Sequence[Theme], cache: ContentCache
    ) -> ThemeMap:
        """The map of the grouping ``reuse_themes`` just gave, unless it was laid out before:
        the layout is a function of that grouping, so it shares its key (seconds at 10,000
        papers, where hashing the corpus again would cost one more). ``cache`` is this
        process's: on a rebuild a forked second process lays the map out."""
        key = content_key("theme-map", self._themes_key)
        if self._theme_map is not None and self._theme_map[0] == key:
            return self._theme_map[1]
        found = cached_value(
            cache,
            "theme-map",
            key,
            lambda: layout_theme_map(papers, themes, cache=cache),
            dump=map_to_json,
            load=map_from_json,
        )
        self._theme_map = (key, found)
        return found


def _rendering_config(config: Config) -> str:
    """The config as pages could see it: settings that only steer the build are left out, so
    ``--quiet`` or another worker count does not re-render a site, and paths are absolute, so
    neither does building from another folder (``--out site`` or ``--out /abs/site``)."""
    steering = replace(
        config,
        strict=False,
        quiet=False,
        workers=0,
        cache_dir=None,
        sources=tuple(path.resolve() for path in config.sources),
        out=config.out.resolve(),
    )
    return Fingerprinter().digest(steering).hex()


def _signature(path: Path) -> _FileSignature | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_ctime_ns, stat.st_size, stat.st_ino)


@contextmanager
def _captured_warnings() -> Iterator[list[logging.LogRecord]]:
    capture = CapturedRecords()
    log.addHandler(capture)
    try:
        yield capture.records
    finally:
        log.removeHandler(capture)


def _themes_to_json(papers: Sequence[Paper], themes: Sequence[Theme]) -> dict[str, Any]:
    return {
        "themes": [
            [t.slug, t.name, list(t.keyphrases), list(t.paper_ids), t.short_name] for t in themes
        ],
        "theme_of": [p.theme for p in papers],
        "keyphrases_of": [list(p.keyphrases) for p in papers],
    }


def _themes_from_json(
    papers: Sequence[Paper], data: Any
) -> tuple[tuple[Paper, ...], tuple[Theme, ...]] | None:
    try:
        themes = tuple(
            Theme(slug=s, name=n, keyphrases=tuple(k), paper_ids=tuple(i), short_name=short)
            for s, n, k, i, short in data["themes"]
        )
        theme_of = data["theme_of"]
        keyphrases_of = data["keyphrases_of"]
        if len(theme_of) != len(papers) or len(keyphrases_of) != len(papers):
            return None
        themed = tuple(
            amended(p, theme=t, keyphrases=tuple(k))
            for p, t, k in zip(papers, theme_of, keyphrases_of, strict=True)
        )
    except (KeyError, TypeError, ValueError):
        return None
    return themed, themes
