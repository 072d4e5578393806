"""Rendering a large site on all cores.

Jinja renders a page in about a millisecond and a 10,000-paper site has 17,000 pages, so
rendering is the largest stage after keyphrase extraction. The build process first sets aside
the pages whose records say they are unchanged (``page_memo``); workers start only for a
thousand pages or more left to render. Each worker gets the digest once and plans the pages as
the build process does, so a page travels as its path and its last record; the worker renders
it, and pages come back in plan order. A page a worker fails on is made again by the build
process, which then reports the error exactly as a build without workers would.
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from digest.build import FEWER_COLLECTIONS
from digest.config import Config
from digest.fingerprint import Fingerprinter
from digest.model import Digest
from digest.page_maker import PageMaker, PageRecord, Rendered
from digest.parallel import ordered_map, worker_count
from digest.render import (
    Page,
    PlannedPage,
    RenderJob,
    make_environment,
    page_plan,
    page_renderer,
    site_context,
)
from digest.tracked_site import TrackedSite

POOL_THRESHOLD = 1_000  # pages: below this, starting the workers costs more than it saves
CHUNK_PAPERS = 200  # papers shown by the pages of one batch: ~30 paper pages, or one list
KEPT = "kept"

Job = tuple[PlannedPage, PageRecord | None]
MakeHere = Callable[[PlannedPage, PageRecord | None], Rendered]


def render_in_workers(
    jobs: Iterable[Job], here: MakeHere, digest: Digest, config: Config, maker: PageMaker
) -> Generator[Rendered, None, None]:
    """Each job's page, in order; ``here`` makes a page in this process when a worker could
    not. Closing the iterator early (an interrupted build) stops the workers."""
    sent: deque[list[Job]] = deque()

    def chunks() -> Iterator[list[tuple[str, PageRecord | None]]]:
        for batch in _batches(jobs):
            sent.append(batch)
            yield [(planned.path, previous) for planned, previous in batch]

    workers = worker_count(config.workers)
    initargs = (digest, config, maker.out, maker.base, maker.trusted)
    for made in ordered_map(_make_chunk, chunks(), workers, _start_worker, initargs):
        for (planned, previous), page in zip(sent.popleft(), made, strict=True):
            if page == KEPT and previous is not None:  # a copy: it came through a pipe
                yield Rendered(Page(planned.path, b"", unchanged=True), previous, kept=True)
            elif isinstance(page, Rendered):
                yield page
            else:
                yield here(planned, previous)


def _batches(jobs: Iterable[Job]) -> Iterator[list[Job]]:
    """Consecutive jobs whose pages show about ``CHUNK_PAPERS`` papers in all."""
    batch: list[Job] = []
    work = 0
    for job in jobs:
        batch.append(job)
        work += job[0].papers
        if work >= CHUNK_PAPERS:
            yield batch
            batch, work = [], 0
    if batch:
        yield batch


class _Worker(NamedTuple):
    maker: PageMaker
    site: TrackedSite
    render: Callable[[RenderJob], Page]
    plan: dict[str, PlannedPage]


_worker: _Worker | None = None


def _start_worker(
    digest: Digest, config: Config, out: Path | None, base: bytes, trusted: bool
) -> None:
    """A worker's one piece of state, set once when the pool starts it: the same plan of
    pages as the build process's, so a page travels as its path."""
    global _worker
    gc.set_threshold(*FEWER_COLLECTIONS)  # see digest.build: a worker holds the whole digest
    site = TrackedSite(site_context(digest, config))
    render = page_renderer(make_environment(config), site)
    plan = {planned.path: planned for planned in page_plan(digest, config, site)}
    _worker = _Worker(PageMaker(out, base, Fingerprinter(), trusted), site, render, plan)


def _make_chunk(chunk: list[tuple[str, PageRecord | None]]) -> list[Rendered | str | None]:
    """Rendered pages, ``KEPT`` for a page whose last file stands (the build process has its
    record and needs not its bytes: most pages of a rebuild, which otherwise travelled back
    with their records), ``None`` for a page to make again in the build process."""
    assert _worker is not None
    made: list[Rendered | str | None] = []
    for path, previous in chunk:
        try:
            job = _worker.plan[path].job()
            page = _worker.maker.make(job, previous, _worker.site, _worker.render)
            made.append(KEPT if page.kept else page)
        except Exception:  # made again, and reported, by the build process
            made.append(None)
    return made
