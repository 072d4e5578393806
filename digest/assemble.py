"""Papers and themes → the ``Digest`` the templates read: keyphrase pages and related papers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

from digest.cache import ContentCache
from digest.charts import (
    Month,
    ThemeCharts,
    count_months,
    keyphrase_bars,
    month_span,
    timeline,
)
from digest.model import Digest, Keyphrase, Paper, Theme
from digest.paths import slugify
from digest.related import related_papers
from digest.theme_map import ThemeMap, layout_theme_map


def assemble_digest(
    papers: Sequence[Paper],
    themes: Sequence[Theme],
    record_count: int,
    related_count: int,
    theme_map: Callable[[], ThemeMap] | None = None,
    progress: Callable[[int, int], None] | None = None,
    cache: ContentCache | None = None,
) -> Digest:
    """``papers`` come newest first (``newest_first``: the pipeline needs that order before
    this). ``theme_map()`` gives the map (the one costly chart: cached, and laid out by a
    second process on a rebuild), asked for once the rest is assembled; laid out here
    without it."""
    ordered = tuple(papers)
    counts = count_months(ordered)
    return Digest(
        papers=ordered,
        themes=tuple(themes),
        keyphrases=keyphrase_pages(ordered),
        related=related_papers(ordered, related_count, progress, cache),
        record_count=record_count,
        theme_map=theme_map() if theme_map is not None else layout_theme_map(ordered, themes),
        timeline=timeline(counts),
        theme_charts=theme_charts(ordered, themes, month_span(counts)),
    )


def theme_charts(
    papers: Sequence[Paper], themes: Sequence[Theme], span: tuple[Month, Month] | None
) -> dict[str, ThemeCharts]:
    """Per theme: its timeline on the site's month axis ``span`` (so theme timelines line up
    with the home page's) and its keyphrases by paper count."""
    by_id = {p.id: p for p in papers}
    charts: dict[str, ThemeCharts] = {}
    for theme in themes:
        members = [by_id[pid] for pid in theme.paper_ids if pid in by_id]
        charts[theme.slug] = ThemeCharts(
            timeline=timeline(count_months(members), span),
            keyphrases=keyphrase_bars(theme, members),
        )
    return charts


def newest_first(papers: Sequence[Paper]) -> tuple[Paper, ...]:
    """The digest's order of papers (search results refer to papers by position in it)."""
    return tuple(sorted(papers, key=_newest_first))


def _newest_first(paper: Paper) -> tuple:
    key = paper.date.sort_key if paper.date and paper.date.year else (0, 0, 0)
    return (tuple(-x for x in key), paper.title.lower(), paper.id)


def keyphrase_pages(papers: Sequence[Paper]) -> tuple[Keyphrase, ...]:
    """Keyphrases shared by two or more papers, each with a unique, stable slug."""
    postings: dict[str, list[str]] = defaultdict(list)
    for paper in papers:
        for phrase in paper.keyphrases:
            postings[phrase].append(paper.id)
    shared = sorted((p for p, ids in postings.items() if len(ids) >= 2), key=str.lower)
    pages: list[Keyphrase] = []
    slugs: set[str] = set()
    for phrase in shared:
        slug = slugify(phrase)
        while slug in slugs:
            slug += "-x"
        slugs.add(slug)
        pages.append(Keyphrase(slug=slug, text=phrase, paper_ids=tuple(postings[phrase])))
    return tuple(pages)
