"""The pipeline, in the order data flows: load → merge → keyphrases → themes → render → write."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from itertools import chain

from digest.assemble import assemble_digest
from digest.build_state import BuildState
from digest.cache import ContentCache, resolve_cache_dir
from digest.catalog import build_catalog
from digest.config import Config
from digest.diagnostics import WarningCounter
from digest.feeds import build_feeds
from digest.keyphrases import extract_keyphrases
from digest.merge import merge_records
from digest.output import write_site
from digest.render import Page, make_environment, render_site
from digest.resources import builtin_dir
from digest.search import build_search_index
from digest.sitemap import with_sitemap
from digest.sources import load_records
from digest.theme_map import layout_theme_map
from digest.themes import group_themes
from digest.up_to_date import (
    BuildRecord,
    input_fingerprint,
    output_fingerprint,
    remember_build,
    unchanged_build,
)

Progress = Callable[[str, int, int], None]


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
    state = state or BuildState()
    counter = WarningCounter()
    logger = logging.getLogger("digest")
    logger.addHandler(counter)
    cache = ContentCache(resolve_cache_dir(config.cache_dir))
    try:
        inputs = input_fingerprint(config)
        last = unchanged_build(config, cache, inputs) if stop_if_up_to_date else None
        if last is not None:
            state.skip()
            return _report(last, 0, last.files, counter.count, started, up_to_date=True)
        state.begin(config, cache)
        env = state.environment(config, make_environment)
        records = load_records(config.sources, config.max_abstract_chars, state.read_file)
        papers = merge_records(records)
        papers = extract_keyphrases(papers, config, cache, _stage(progress, "keyphrases"))
        grouping = partial(group_themes, progress=_stage(progress, "themes"), cache=cache)
        papers, themes = state.reuse_themes(papers, config.theme_count, grouping)
        theme_map = state.reuse_theme_map(papers, themes, partial(layout_theme_map, cache=cache))
        digest = assemble_digest(
            papers,
            themes,
            len(records),
            config.related_papers,
            theme_map,
            _stage(progress, "related"),
        )
        pages = chain(
            render_site(digest, config, env, state.pages, progress=_stage(progress, "render")),
            build_search_index(
                digest, cache, config.workers, _stage(progress, "search"), state.pages
            ),
            [build_catalog(digest)],
            build_feeds(digest, config),
        )
        pages = _then(with_sitemap(pages, config), pages_done)
        stats = write_site(config.out, pages, [builtin_dir("static")])
        state.commit(digest)
        last = BuildRecord(
            inputs=inputs,
            output=output_fingerprint(config.out),
            records=len(records),
            papers=len(digest.papers),
            themes=len(digest.themes),
            keyphrase_pages=len(digest.keyphrases),
            files=stats.written + stats.unchanged,
            warnings=tuple(counter.lines),
        )
        remember_build(config, cache, last)
    finally:
        cache.close()
        logger.removeHandler(counter)
    return _report(last, stats.written, stats.unchanged, counter.count, started)


def _then(pages: Iterable[Page], done: Callable[[], None] | None) -> Iterator[Page]:
    yield from pages
    if done is not None:
        done()


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


def _stage(progress: Progress | None, stage: str) -> Callable[[int, int], None] | None:
    if progress is None:
        return None
    return lambda done, total: progress(stage, done, total)
