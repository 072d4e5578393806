"""Papers and themes → the ``Digest`` the templates read: keyphrase pages and related papers."""

from __future__ import annotations

import heapq
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence

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
from digest.theme_map import ThemeMap, layout_theme_map

# A keyphrase on more papers than this says little about relatedness, and scanning its
# postings for every paper would make related-paper search quadratic at 100,000 papers.
MAX_POSTINGS_FOR_RELATED = 1000


def assemble_digest(
    papers: Sequence[Paper],
    themes: Sequence[Theme],
    record_count: int,
    related_count: int,
    theme_map: ThemeMap | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Digest:
    """``theme_map`` may come from a cache (the layout is the one costly chart); it is laid
    out here otherwise."""
    ordered = tuple(sorted(papers, key=_newest_first))
    counts = count_months(ordered)
    return Digest(
        papers=ordered,
        themes=tuple(themes),
        keyphrases=keyphrase_pages(ordered),
        related=related_papers(ordered, related_count, progress),
        record_count=record_count,
        theme_map=theme_map if theme_map is not None else layout_theme_map(ordered, themes),
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


def related_papers(
    papers: Sequence[Paper], count: int, progress: Callable[[int, int], None] | None = None
) -> dict[str, tuple[str, ...]]:
    """Papers sharing the most distinctive keyphrases (rare shared phrases weigh more);
    ties go to the same theme, then to id order, so the lists are deterministic."""
    if count <= 0:
        return {}
    postings: dict[str, list[Paper]] = defaultdict(list)
    for paper in papers:
        for phrase in paper.keyphrases:
            postings[phrase].append(paper)
    n = len(papers)
    weight = {k: math.log(1 + n / len(v)) for k, v in postings.items()}
    by_theme: dict[str | None, list[Paper]] = defaultdict(list)
    for paper in papers:
        by_theme[paper.theme].append(paper)
    related: dict[str, tuple[str, ...]] = {}
    words_of: dict[str, frozenset[str]] = {}
    for done, paper in enumerate(papers, start=1):
        if progress is not None:
            progress(done, n)
        scores: Counter[str] = Counter()
        theme_of: dict[str, str | None] = {}
        for phrase in paper.keyphrases:
            others = postings[phrase]
            if len(others) > MAX_POSTINGS_FOR_RELATED:
                continue
            for other in others:
                if other.id != paper.id:
                    scores[other.id] += weight[phrase]
                    theme_of[other.id] = other.theme
        ranked = sorted(
            scores,
            key=lambda pid: (-round(scores[pid], 9), theme_of[pid] != paper.theme, pid),
        )
        related[paper.id] = tuple(ranked[:count]) + _same_theme_fill(
            paper, by_theme[paper.theme], ranked, count, words_of
        )
    return related


def _same_theme_fill(
    paper: Paper,
    theme_mates: Sequence[Paper],
    ranked: list[str],
    count: int,
    words_of: dict[str, frozenset[str]],
) -> tuple[str, ...]:
    """When too few papers share a keyphrase, the same theme's papers sharing the most
    keyphrase words fill the list, so every paper page offers somewhere to go next."""
    missing = count - len(ranked)
    if missing <= 0:
        return ()
    taken = {paper.id, *ranked}
    words = _keyphrase_words(paper, words_of)
    mates = [p for p in theme_mates[:MAX_POSTINGS_FOR_RELATED] if p.id not in taken]
    best = heapq.nsmallest(
        missing, mates, key=lambda p: (-len(words & _keyphrase_words(p, words_of)), p.id)
    )
    return tuple(p.id for p in best)


def _keyphrase_words(paper: Paper, memo: dict[str, frozenset[str]]) -> frozenset[str]:
    """Computed once per paper: the fill compares each paper with up to 1000 theme mates."""
    found = memo.get(paper.id)
    if found is None:
        found = memo[paper.id] = frozenset(w for k in paper.keyphrases for w in k.lower().split())
    return found


def shared_keyphrases(a: Paper, b: Paper) -> tuple[str, ...]:
    other = set(b.keyphrases)
    return tuple(k for k in a.keyphrases if k in other)
