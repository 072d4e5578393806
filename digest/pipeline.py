"""The pipeline, in the order data flows: load → merge → keyphrases → themes → render → write.

``digest.build`` imports this only once it knows the site is out of date: the stages bring
numpy, scikit-learn and Jinja (~0.5 s of imports), which a no-change build does not need.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from itertools import chain

from digest.assemble import assemble_digest, newest_first
from digest.build import Progress
from digest.build_state import BuildState
from digest.cache import ContentCache
from digest.catalog import build_catalog, kept_lines
from digest.config import Config
from digest.diagnostics import WarningCounter
from digest.feeds import build_feeds
from digest.forked_pages import ForkedPages
from digest.forked_worker import can_fork, forked_worker
from digest.keyphrases import extract_keyphrases, warm_extraction
from digest.merge import merge_records
from digest.model import Paper, Theme
from digest.output import Page, WriteStats, write_site
from digest.page_memo import PageMemo
from digest.parallel import worker_count
from digest.render import make_environment, paper_sources, render_site
from digest.resources import builtin_dir
from digest.search import build_search_index
from digest.sitemap import with_sitemap
from digest.sources import load_records
from digest.themes import group_themes
from digest.up_to_date import (
    BuildRecord,
    output_after_write,
    output_intact,
    remember_build,
    site_files,
)


def run_pipeline(
    config: Config,
    cache: ContentCache,
    inputs: str,
    counter: WarningCounter,
    state: BuildState | None = None,
    progress: Progress | None = None,
    pages_done: Callable[[], None] | None = None,
) -> tuple[BuildRecord, WriteStats]:
    """Every stage once, then the new site swapped in and remembered for the next build."""
    state = state or BuildState()
    state.begin(config, cache)
    env = state.environment(config, make_environment)
    warm = partial(warm_extraction, config.language, config.keyphrase_backend)
    # On a rebuild, helper processes use the second core (see forked_worker, forked_pages).
    helpers = bool(state.pages.records) and can_fork(worker_count(config.workers))
    cache.deferring = helpers  # the second process will make the snapshot writes
    with forked_worker(warm, helpers) as extractor:
        records = load_records(config.sources, config.max_abstract_chars, state.read_file)
        papers = merge_records(records)
        papers = extract_keyphrases(
            papers, config, cache, _stage(progress, "keyphrases"), extractor
        )
    grouping = partial(group_themes, progress=_stage(progress, "themes"), cache=cache)
    papers, themes = state.reuse_themes(papers, config.theme_count, grouping)
    ordered = newest_first(papers)
    beside = partial(_pages_beside_render, ordered, themes, config, state.pages)
    lay_out_map = partial(state.reuse_theme_map, papers, themes)
    forked = None
    if helpers:
        forked = ForkedPages(beside, state.pages, cache, progress, first=lay_out_map)
        progress = forked.relaying(progress)
    try:
        # Done here, not at the start, so that on a rebuild they overlap the second process
        # laying out the map: listing the site folder (the child reads no kept page on
        # trust), and digesting the papers for the page check (a first build renders in
        # workers, which digest them themselves).
        found = site_files(config.out)
        state.pages.trust(output_intact(config, cache, found))
        if state.pages.records:
            state.pages.digest_ahead(ordered)
        theme_map = forked.first if forked is not None else partial(lay_out_map, cache)
        digest = assemble_digest(
            ordered,
            themes,
            len(records),
            config.related_papers,
            theme_map,
            _stage(progress, "related"),
            cache,
        )
        pages = chain(
            render_site(
                digest,
                config,
                env,
                state.pages,
                progress=_stage(progress, "render"),
                checking=_stage(progress, "check pages"),
            ),
            _catalog_and_feeds(ordered, themes, config, state.pages),
            forked.pages() if forked is not None else beside(cache, progress),
        )
        pages = _then(with_sitemap(pages, config), pages_done)
        stats = write_site(config.out, pages, [builtin_dir("static")])
    except BaseException:
        if forked is not None:
            forked.close()
        raise
    state.commit(digest)
    record = BuildRecord(
        inputs=inputs,
        output=output_after_write(config.out, found, stats),
        records=len(records),
        papers=len(digest.papers),
        themes=len(digest.themes),
        keyphrase_pages=len(digest.keyphrases),
        files=stats.written + stats.unchanged,
        warnings=tuple(counter.lines),
    )
    remember_build(config, cache, record)
    if forked is not None:
        cache.write_later()  # while the second process makes the writes it was left
        forked.close()
    return record, stats


def _pages_beside_render(
    papers: Sequence[Paper],
    themes: Sequence[Theme],
    config: Config,
    memo: PageMemo,
    cache: ContentCache,
    progress: Progress | None,
) -> Iterator[Page]:
    """The search index, made from the papers and themes alone: on a rebuild, in a second
    process while this one relates papers and renders (see ``digest.forked_pages``)."""
    search = _stage(progress, "search")
    yield from build_search_index(papers, themes, cache, config.workers, search, memo)


def _catalog_and_feeds(
    papers: Sequence[Paper], themes: Sequence[Theme], config: Config, memo: PageMemo
) -> Iterator[Page]:
    """Made here, after the pages: the second process, with the map and the search index,
    has the longer share of a rebuild. The page check has then found which papers and
    themes are as the last build stored them, and those papers keep their catalog lines."""

    def unchanged(paper: Paper) -> bool:
        return all(memo.source_unchanged(name) for name in paper_sources(paper))

    kept = kept_lines(config.out) if memo.trusted and memo.tells_sources else None
    yield build_catalog(papers, themes, kept, unchanged)
    yield from build_feeds(papers, themes, config)


def _then(pages: Iterable[Page], done: Callable[[], None] | None) -> Iterator[Page]:
    yield from pages
    if done is not None:
        done()


def _stage(progress: Progress | None, stage: str) -> Callable[[int, int], None] | None:
    if progress is None:
        return None
    return lambda done, total: progress(stage, done, total)
