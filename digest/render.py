"""Digest → pages: one Jinja environment, one function per page kind, links made relative.

Pages are yielded one at a time so a 100,000-paper site never sits in memory at once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    pass_context,
    select_autoescape,
)

from digest import __version__
from digest.config import Config
from digest.model import Digest, Keyphrase, Paper, Theme
from digest.output import Page
from digest.paths import (
    PAPERS_PER_LIST_PAGE,
    absolute_url,
    all_papers_path,
    keyphrase_path,
    paper_path,
    relative_url,
    theme_feed_path,
    theme_path,
)
from digest.related import shared_keyphrases
from digest.resources import builtin_dir
from digest.theme_map import theme_class
from digest.titles import shorten
from digest.why_here import name_matches

if TYPE_CHECKING:
    from digest.page_memo import PageMemo

EXCERPT_CHARS = 280


def make_environment(config: Config) -> Environment:
    """Built-in templates overlaid by the user's folder: any built-in can be replaced."""
    loaders = [FileSystemLoader(str(builtin_dir("templates")))]
    if config.templates is not None:
        loaders.insert(0, FileSystemLoader(str(config.templates)))
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["excerpt"] = excerpt
    env.globals.update(
        url=_url,
        link=_link,
        absolute_url=absolute_url,
        theme_feed_path=theme_feed_path,
        theme_path=theme_path,
    )
    return env


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    return shorten(text, limit)


@pass_context
def _url(context: Any, target: str) -> str:
    return relative_url(target, context["page_path"])


@pass_context
def _link(context: Any, item: Paper | Theme | Keyphrase) -> str:
    match item:
        case Paper():
            target = paper_path(item.id)
        case Theme():
            target = theme_path(item.slug)
        case Keyphrase():
            target = keyphrase_path(item.slug)
    return relative_url(target, context["page_path"])


def build_date() -> str | None:
    """The date printed on pages: only from SOURCE_DATE_EPOCH, so builds stay reproducible."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not epoch.isdigit():
        return None
    return datetime.fromtimestamp(int(epoch), tz=UTC).strftime("%Y-%m-%d")


def render_site(
    digest: Digest,
    config: Config,
    env: Environment,
    memo: PageMemo | None = None,
    only: Collection[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    checking: Callable[[int, int], None] | None = None,
) -> Iterator[Page]:
    """Every page of the site (or those whose paths are in ``only``), the cheap ones first;
    with page records, a large site is rendered on all cores (see ``page_pool``), after the
    unchanged pages are found (``checking`` hears how many are checked)."""
    site = site_context(digest, config)

    def planned() -> Iterator[PlannedPage]:
        return (p for p in page_plan(digest, config, site) if only is None or p.path in only)

    # Counted on a second pass rather than held: 175,000 planned pages at 100,000 papers.
    total = sum(1 for _ in planned()) if progress is not None or memo is not None else 0
    if memo is None:
        render = page_renderer(env, site)
        pages = (render(p.job()) for p in planned())
    else:
        pages = memo.render_pages(planned(), total, env, site, digest, config, checking)
    for done, page in enumerate(pages, start=1):
        yield page
        if progress is not None:
            progress(done, total)


class RenderJob(NamedTuple):
    """A page as plain data, so a worker process can render it: its context is
    ``context_of(key)``, and ``key`` is what its fingerprint covers (for a paper page, the
    paper, its theme and related papers rather than the why-here matches computed from them).
    ``context_of`` is a module-level function, so it pickles by name."""

    template: str
    path: str
    key: Any
    context_of: Callable[[Any], dict[str, Any]]


def _as_context(key: dict[str, Any]) -> dict[str, Any]:
    return key


class PlannedPage(NamedTuple):
    """A page to render: its key (and so its context) is computed only if it is needed.
    ``papers`` is how many papers it shows, a measure of its work: a list of 500 papers costs
    a hundred paper pages, and workers take pages in batches of similar work. ``sources``, if
    given, names what its key is made of (see ``source_values``): a rebuild checks the page
    only when one of those, or a site entry it read, changed."""

    template: str
    path: str
    key: Callable[[], Any]
    context_of: Callable[[Any], dict[str, Any]] = _as_context
    papers: int = 1
    sources: Callable[[], tuple[str, ...]] | None = None

    def job(self) -> RenderJob:
        return RenderJob(self.template, self.path, self.key(), self.context_of)


def page_plan(digest: Digest, config: Config, site: dict[str, Any]) -> Iterator[PlannedPage]:
    """Each page's template and path, with its context computed only if it is rendered."""
    yield PlannedPage(
        "index.html",
        "index.html",
        lambda: {
            "newest": newest_papers(digest, config.newest_papers),
            "theme_map": digest.theme_map,
            "timeline": digest.timeline,
        },
    )
    yield PlannedPage("search.html", "search.html", dict)
    yield PlannedPage(
        "404.html", "404.html", lambda: {"inline_css": _inline_css(), "inline_js": _inline_js()}
    )
    yield PlannedPage("keyphrases.html", "keyphrases.html", dict)
    pages = _chunks(digest.papers, PAPERS_PER_LIST_PAGE)
    for number, chunk in enumerate(pages, start=1):
        yield PlannedPage(
            "papers.html",
            all_papers_path(number),
            lambda number=number, chunk=chunk: {
                "papers": chunk,
                "page_number": number,
                "page_count": len(pages),
                "page_links": [(n, all_papers_path(n)) for n in range(1, len(pages) + 1)],
            },
            papers=len(chunk),
            sources=lambda number=number, chunk=chunk: (
                "l:",
                f"l:{number}",
                *["p:" + paper.id for paper in chunk],
            ),
        )
    position = {p.id: i for i, p in enumerate(digest.papers)}
    for theme in digest.themes:
        yield PlannedPage(
            "theme.html",
            theme_path(theme.slug),
            lambda theme=theme: {
                "theme": theme,
                "papers": sorted(
                    (digest.paper(pid) for pid in theme.paper_ids), key=lambda p: position[p.id]
                ),
                "charts": digest.theme_charts.get(theme.slug),
            },
            papers=len(theme.paper_ids),
            sources=lambda theme=theme: (
                "T:" + theme.slug,
                "C:" + theme.slug,
                "o:" + theme.slug,
                *["p:" + pid for pid in theme.paper_ids],
            ),
        )
    for keyphrase in digest.keyphrases:
        yield PlannedPage(
            "keyphrase.html",
            keyphrase_path(keyphrase.slug),
            lambda keyphrase=keyphrase: {
                "keyphrase": keyphrase,
                "papers": [digest.paper(pid) for pid in keyphrase.paper_ids],
            },
            papers=len(keyphrase.paper_ids),
            sources=lambda keyphrase=keyphrase: (
                "k:" + keyphrase.slug,
                *["p:" + pid for pid in keyphrase.paper_ids],
            ),
        )
    for paper in digest.papers:
        yield PlannedPage(
            "paper.html",
            paper_path(paper.id),
            lambda paper=paper: _paper_inputs(digest, site, paper),
            _paper_context,
            papers=1 + len(digest.related.get(paper.id, ())),
            sources=lambda paper=paper: (
                *paper_sources(paper),
                "r:" + paper.id,
                *["p:" + pid for pid in digest.related.get(paper.id, ())],
            ),
        )


def paper_sources(paper: Paper) -> tuple[str, str]:
    """The sources (``source_values``) of what is shown of a paper wherever it is listed:
    the paper, and its theme as pages naming it see it."""
    return ("p:" + paper.id, "t:" + (paper.theme or ""))


def source_values(digest: Digest, site: dict[str, Any]) -> Callable[[str], object]:
    """The value a source name of ``page_plan`` stands for in this digest (``None`` if gone):
    a paper (``p:``), its related papers' ids (``r:``), a theme as pages naming it see it
    (``t:``), a theme with its papers (``T:``), their order on its page (``o:``) and its
    charts (``C:``), a keyphrase with its papers (``k:``), how many pages list all papers
    (``l:``) and the papers' ids on one of them (``l:2``). A page's key is made of its
    sources' values alone."""
    keyphrases: dict[str, Keyphrase] = {}
    lists: list[tuple[str, ...]] = []
    themes = {t.slug: t for t in digest.themes}
    position: dict[str, int] = {}

    def value(name: str) -> object:
        kind, ident = name[:2], name[2:]
        if kind == "p:":
            return digest.find_paper(ident)
        if kind == "r:":
            return digest.related.get(ident, ())
        if kind == "t:":
            return site["theme_by_slug"].get(ident)
        if kind == "T:":
            return themes.get(ident)
        if kind == "C:":
            return digest.theme_charts.get(ident)
        if kind == "o:":
            if not position:
                position.update((p.id, i) for i, p in enumerate(digest.papers))
            theme = themes.get(ident)
            return tuple(sorted(theme.paper_ids, key=position.__getitem__)) if theme else None
        if kind == "l:":
            if not lists:
                chunks = _chunks(digest.papers, PAPERS_PER_LIST_PAGE)
                lists.extend(tuple(p.id for p in chunk) for chunk in chunks)
            if not ident:
                return len(lists)
            number = int(ident)
            return lists[number - 1] if 0 < number <= len(lists) else None
        if not keyphrases:
            keyphrases.update((k.slug, k) for k in digest.keyphrases)
        return keyphrases.get(ident)

    return value


def _paper_inputs(
    digest: Digest, site: dict[str, Any], paper: Paper
) -> tuple[Paper, Theme | None, tuple[Paper, ...]]:
    related = tuple(digest.paper(pid) for pid in digest.related.get(paper.id, ()))
    return (paper, site["theme_by_slug"].get(paper.theme), related)


def _paper_context(inputs: tuple[Paper, Theme | None, tuple[Paper, ...]]) -> dict[str, Any]:
    paper, theme, related = inputs
    return {
        "paper": paper,
        "theme": theme,
        "why": name_matches(paper.keyphrases, theme.name) if theme else (),
        "related": [(r, shared_keyphrases(r, paper)) for r in related],
    }


def page_renderer(env: Environment, site: dict[str, Any]) -> Callable[[RenderJob], Page]:
    def render(job: RenderJob) -> Page:
        context = job.context_of(job.key)
        html = env.get_template(job.template).render(site=site, page_path=job.path, **context)
        return Page(job.path, html.encode("utf-8"))

    return render


def site_context(digest: Digest, config: Config) -> dict[str, Any]:
    return {
        "title": config.title,
        "description": config.description,
        "base_url": config.base_url,
        "language": config.language,
        "version": __version__,
        "build_date": build_date(),
        "digest": digest,
        "themes": digest.themes,
        # Pages that only name or link a theme or keyphrase must not change (nor be checked
        # against its thousands of papers) when its membership does.
        "theme_by_slug": {t.slug: replace(t, paper_ids=()) for t in digest.themes},
        "theme_class": {t.slug: theme_class(i) for i, t in enumerate(digest.themes)},
        # What a paper in a list shows of its theme: a text entry, so a list page changes only
        # when that text does, not when the theme's trailing name phrases shift.
        "theme_short_name": {t.slug: t.short_name for t in digest.themes},
        "keyphrases": digest.keyphrases,
        # A path, not the keyphrase: ~60,000 of these are checked on a 10,000-paper rebuild,
        # and text digests three times faster than a dataclass's repr.
        "keyphrase_path_by_text": {k.text: keyphrase_path(k.slug) for k in digest.keyphrases},
        "paper_count": len(digest.papers),
        "record_count": digest.record_count,
        "duplicate_count": digest.record_count - len(digest.papers),
        "dated_count": sum(1 for p in digest.papers if p.date and p.date.year),
    }


def newest_papers(digest: Digest, count: int) -> list[Paper]:
    """The dated papers the home page lists, newest first."""
    dated = [p for p in digest.papers if p.date and p.date.year]
    return dated[:count]


def _chunks(items: tuple[Paper, ...], size: int) -> list[tuple[Paper, ...]]:
    return [items[i : i + size] for i in range(0, len(items), size)] or [()]


def _inline_css() -> str:
    """The 404 page is served at any depth, where relative stylesheet links break."""
    return (builtin_dir("static") / "style.css").read_text(encoding="utf-8")


def _inline_js() -> str:
    """The keyboard shortcuts, inline on the 404 page for the same reason as its CSS."""
    return (builtin_dir("static") / "site.js").read_text(encoding="utf-8")
