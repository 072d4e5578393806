"""One ``digest build``: skipped when the site is up to date, else the pipeline
(``digest.pipeline``), and a report of what it did."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from digest.cache import ContentCache, resolve_cache_dir
from digest.config import Config
from digest.diagnostics import WarningCounter
from digest.up_to_date import BuildRecord, input_fingerprint, unchanged_build

if TYPE_CHECKING:
    from digest.build_state import BuildState

Progress = Callable[[str, int, int], None]
FEWER_COLLECTIONS = (100_000, 50, 1000)  # gc thresholds while a build runs


@dataclass(frozen=True)
class BuildReport:
    records: int
    papers: int
    themes: int
    keyphrase_pages: int
    pages_written: int
    pages_unchanged: int
    warnings: int
    seconds: float
    up_to_date: bool = False

    @property
    def duplicates(self) -> int:
        return self.records - self.papers

    def summary(self) -> str:
        files = (
            f"site up to date, nothing changed since the last build ({self.pages_unchanged} files)"
            if self.up_to_date
            else f"{self.pages_written} files written, {self.pages_unchanged} unchanged"
        )
        return (
            f"Read {self.records} records, merged {self.duplicates} duplicates: "
            f"{self.papers} papers in {self.themes} themes; {files} in {self.seconds:.1f} s"
            + (
                f"; {self.warnings} warning{'s' if self.warnings != 1 else ''}"
                if self.warnings
                else ""
            )
        )


def build(
    config: Config,
    progress: Progress | None = None,
    state: BuildState | None = None,
    stop_if_up_to_date: bool = True,
    pages_done: Callable[[], None] | None = None,
) -> BuildReport:
    """One build; ``state`` carries what earlier builds in this process can lend (serve).
    ``pages_done`` is called once every page is made, before the new site replaces the old
    one: up to there, an interrupted build changes nothing (serve cancels stale builds)."""
    started = time.perf_counter()
    counter = WarningCounter()
    logger = logging.getLogger("digest")
    logger.addHandler(counter)
    cache = ContentCache(resolve_cache_dir(config.cache_dir))
    with _fewer_full_collections():
        try:
            inputs = input_fingerprint(config)
            last = unchanged_build(config, cache, inputs) if stop_if_up_to_date else None
            if last is not None:
                if state is not None:
                    state.skip()
                return _report(last, 0, last.files, counter.count, started, up_to_date=True)
            from digest.pipeline import run_pipeline  # see digest.pipeline: its imports are heavy

            last, stats = run_pipeline(config, cache, inputs, counter, state, progress, pages_done)
            cache.prune()
        finally:
            cache.close()
            logger.removeHandler(counter)
    return _report(last, stats.written, stats.unchanged, counter.count, started)


@contextmanager
def _fewer_full_collections() -> Iterator[None]:
    """A build holds millions of long-lived objects (papers, snapshots, page records), and
    each of Python's full collections walks them all: at the default thresholds, a rebuild of
    10,000 papers spent a quarter of its time there. Young objects are collected as before."""
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], FEWER_COLLECTIONS[0]), *FEWER_COLLECTIONS[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _report(
    last: BuildRecord,
    written: int,
    unchanged: int,
    warnings: int,
    started: float,
    up_to_date: bool = False,
) -> BuildReport:
    return BuildReport(
        records=last.records,
        papers=last.papers,
        themes=last.themes,
        keyphrase_pages=last.keyphrase_pages,
        pages_written=written,
        pages_unchanged=unchanged,
        warnings=warnings,
        seconds=time.perf_counter() - started,
        up_to_date=up_to_date,
    )
