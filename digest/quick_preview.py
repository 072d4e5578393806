"""A first look at edited papers while the full rebuild runs (``digest serve`` only).

After an edit the full build re-extracts keyphrases and recomputes the themes, which takes
seconds on a large corpus; the writer meanwhile looks at the paper they changed. So serve first
re-renders the pages that show the edited papers against the last build's digest (their new
text, with the last build's keyphrases, theme and neighbours), reloads the browser, then runs
the full build, which writes the final pages and reloads again, as Hugo's fast render mode does.
Only edits qualify: a paper added or removed, or more than a handful edited, goes straight to
the full build. An edited paper keeps its URL here even if the full build gives it a new one
(plain-text papers are named by their text), so the page being read is the one refreshed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from operator import attrgetter
from pathlib import Path

from digest.build_state import BuildState
from digest.config import Config
from digest.merge import merge_records
from digest.model import Digest, Paper
from digest.output import Page
from digest.paths import (
    PAPERS_PER_LIST_PAGE,
    all_papers_path,
    keyphrase_path,
    paper_path,
    theme_path,
)
from digest.render import make_environment, newest_papers, render_site
from digest.sources import load_records

MAX_EDITED = 20
_DERIVED = {"keyphrases", "theme"}  # filled in by later stages, so not part of an edit


@dataclass(frozen=True)
class Preview:
    papers: int
    pages: tuple[str, ...]


def preview_edits(config: Config, state: BuildState, last: Digest) -> Preview | None:
    """The pages of papers edited since ``last`` was built, rewritten in place; ``None`` when
    the change is not a plain edit of a few papers (the full build will show it)."""
    with _handlers_muted():  # the full build that follows reports any problem, once
        records = load_records(config.sources, config.max_abstract_chars, state.read_file)
        papers = merge_records(records)
    edits = edited_papers(last.papers, papers)
    if not edits:
        return None
    digest = _with_edits(last, edits)
    wanted = _pages_showing(digest, [p.id for p in edits])
    if _home_shows(last, edits, config.newest_papers):
        wanted |= {"index.html"}
    env = state.environment(config, make_environment)
    written = _write_in_place(config.out, render_site(digest, config, env, only=wanted))
    return Preview(len(edits), written)


@contextmanager
def _handlers_muted() -> Iterator[None]:
    """Silence the handlers already listening, but not the one ``BuildState.read_file`` adds to
    remember each file's warnings: the full build gives those again."""
    handlers = [*logging.getLogger("digest").handlers, *logging.getLogger().handlers]
    levels = [h.level for h in handlers]
    for handler in handlers:
        handler.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for handler, level in zip(handlers, levels, strict=True):
            handler.setLevel(level)


def edited_papers(before: Sequence[Paper], after: Sequence[Paper]) -> list[Paper] | None:
    """The edited papers as the last build knew them but with their new text (old id, theme
    and keyphrases), or ``None`` unless the change is only edits of at most ``MAX_EDITED``."""
    if len(before) != len(after):
        return None
    old_by_id = {p.id: p for p in before}
    old_by_source = {p.sources[0]: p for p in before if p.sources}
    edits = []
    matched: set[str] = set()
    for paper in after:
        old = old_by_id.get(paper.id) or (paper.sources and old_by_source.get(paper.sources[0]))
        if not old or old.id in matched:
            return None
        matched.add(old.id)
        if _text_of(old) != _text_of(paper):
            edits.append(replace(paper, id=old.id, keyphrases=old.keyphrases, theme=old.theme))
            if len(edits) > MAX_EDITED:
                return None
    return edits


_text_of = attrgetter(*(f.name for f in fields(Paper) if f.name not in _DERIVED | {"id"}))


def _home_shows(last: Digest, edits: Sequence[Paper], newest: int) -> bool:
    """The home page shows titles and dates of all papers (map, timeline) and the abstracts of
    the newest: an edit elsewhere in an abstract leaves it as it is."""
    listed = {p.id for p in newest_papers(last, newest)}
    return any(
        p.id in listed or (p.title, p.date) != (last.paper(p.id).title, last.paper(p.id).date)
        for p in edits
    )


def _with_edits(last: Digest, edits: Iterable[Paper]) -> Digest:
    by_id = {p.id: p for p in edits}
    return replace(last, papers=tuple(by_id.get(p.id, p) for p in last.papers))


def _pages_showing(digest: Digest, ids: Sequence[str]) -> frozenset[str]:
    """Every page that shows one of these papers: its own, its theme's, its keyphrases', the
    list page it is on, and the pages listing it as related (the home page: ``_home_shows``)."""
    edited = set(ids)
    paths = {paper_path(pid) for pid in ids}
    for index, paper in enumerate(digest.papers):
        if paper.id in edited:
            paths.add(all_papers_path(index // PAPERS_PER_LIST_PAGE + 1))
            if paper.theme:
                paths.add(theme_path(paper.theme))
        if edited.intersection(digest.related.get(paper.id, ())):
            paths.add(paper_path(paper.id))
    paths.update(
        keyphrase_path(k.slug) for k in digest.keyphrases if edited.intersection(k.paper_ids)
    )
    return frozenset(paths)


def _write_in_place(out: Path, pages: Iterable[Page]) -> tuple[str, ...]:
    """Replace each existing page whose bytes changed (write beside it, then rename): the next
    full build checks every kept page's bytes, so it never mistakes these for its own."""
    written = []
    for page in pages:
        target = out / page.path
        try:
            if target.read_bytes() == page.content:
                continue
        except OSError:
            continue
        temporary = target.with_name(f".{target.name}.preview")
        temporary.write_bytes(page.content)
        os.replace(temporary, target)
        written.append(page.path)
    return tuple(written)
