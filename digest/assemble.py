"""Papers and themes → the ``Digest`` the templates read: keyphrase pages and related papers."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence

import numpy as np

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
RELATED_BLOCK = 512  # papers whose scores against every other paper are held at once


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
    ties go to the same theme, then to id order, so the lists are deterministic.

    Scores are one sparse product (papers × phrases, by their weights, times its transpose),
    a block of papers at a time: at 100,000 papers the whole product is billions of pairs."""
    if count <= 0:
        return {}
    from scipy.sparse import csr_matrix

    n = len(papers)
    phrases: dict[str, int] = {}
    rows, cols = [], []
    for i, paper in enumerate(papers):
        for phrase in paper.keyphrases:
            rows.append(i)
            cols.append(phrases.setdefault(phrase, len(phrases)))
    phrase_of = np.asarray(cols, dtype=np.int64)
    postings = np.bincount(phrase_of, minlength=len(phrases))
    weight = np.array([math.log(1 + n / d) for d in postings.tolist()], dtype=np.float64)
    kept = postings[phrase_of] <= MAX_POSTINGS_FOR_RELATED
    r = np.asarray(rows, dtype=np.int64)[kept]
    c = phrase_of[kept]
    shape = (n, len(phrases))
    has = csr_matrix((np.ones(len(r)), (r, c)), shape=shape)
    weighted = csr_matrix((weight[c], (r, c)), shape=shape)
    shared = has.T.tocsr()
    themes = _theme_numbers(papers)
    id_rank = _id_ranks(papers)
    related: dict[str, tuple[str, ...]] = {}
    short: list[tuple[int, np.ndarray]] = []
    for start in range(0, n, RELATED_BLOCK):
        block = (weighted[start : start + RELATED_BLOCK] @ shared).tocsr()
        block.sort_indices()
        for offset in range(block.shape[0]):
            i = start + offset
            lo, hi = block.indptr[offset], block.indptr[offset + 1]
            others, scores = block.indices[lo:hi], block.data[lo:hi]
            mask = others != i
            others, scores = others[mask], scores[mask]
            order = np.lexsort((id_rank[others], themes[others] != themes[i], -np.round(scores, 9)))
            ranked = others[order]
            related[papers[i].id] = tuple(papers[j].id for j in ranked[:count].tolist())
            if len(ranked) < count:
                short.append((i, ranked))
        if progress is not None:
            progress(min(n, start + RELATED_BLOCK), n)
    for i, extra in _same_theme_fill(papers, themes, id_rank, short, count):
        related[papers[i].id] += extra
    return related


def _same_theme_fill(
    papers: Sequence[Paper],
    themes: np.ndarray,
    id_rank: np.ndarray,
    short: list[tuple[int, np.ndarray]],
    count: int,
) -> Iterator[tuple[int, tuple[str, ...]]]:
    """When too few papers share a keyphrase, the same theme's papers sharing the most
    keyphrase words fill the list, so every paper page offers somewhere to go next. Each
    theme's short papers are compared with its first ``MAX_POSTINGS_FOR_RELATED`` papers at once."""
    if not short:
        return
    from scipy.sparse import csr_matrix

    words: dict[str, int] = {}
    rows, cols = [], []
    for i, paper in enumerate(papers):
        for word in {w for k in paper.keyphrases for w in k.lower().split()}:
            rows.append(i)
            cols.append(words.setdefault(word, len(words)))
    has_word = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(papers), len(words)))
    by_theme: dict[int, list[tuple[int, np.ndarray]]] = {}
    for i, ranked in short:
        by_theme.setdefault(int(themes[i]), []).append((i, ranked))
    for theme, wanting in by_theme.items():
        mates = np.flatnonzero(themes == theme)[:MAX_POSTINGS_FOR_RELATED]
        shared = (has_word[[i for i, _ in wanting]] @ has_word[mates].T).toarray()
        for (i, ranked), overlap in zip(wanting, shared, strict=True):
            free = mates != i
            for taken in ranked.tolist():
                free &= mates != taken
            yield (
                i,
                tuple(
                    papers[j].id
                    for j in _most_words(mates[free], overlap[free], id_rank, count - len(ranked))
                ),
            )


def _most_words(
    candidates: np.ndarray, overlap: np.ndarray, id_rank: np.ndarray, want: int
) -> list[int]:
    """The ``want`` candidates sharing the most words, ties to the smaller id: one sort key
    (overlaps are whole numbers, ranks below the paper count), partitioned rather than sorted
    whole (2,500 short lists a theme's 1,000 papers long at 10,000 papers)."""
    key = -overlap.astype(np.int64) * (len(id_rank) + 1) + id_rank[candidates]
    if want < len(key):
        top = np.argpartition(key, want - 1)[:want]
        top = top[np.argsort(key[top])]
    else:
        top = np.argsort(key)
    return candidates[top].tolist()


def _theme_numbers(papers: Sequence[Paper]) -> np.ndarray:
    numbers: dict[str | None, int] = {}
    return np.array([numbers.setdefault(p.theme, len(numbers)) for p in papers], dtype=np.int64)


def _id_ranks(papers: Sequence[Paper]) -> np.ndarray:
    ranks = np.empty(len(papers), dtype=np.int64)
    ranks[sorted(range(len(papers)), key=lambda i: papers[i].id)] = np.arange(len(papers))
    return ranks


def shared_keyphrases(a: Paper, b: Paper) -> tuple[str, ...]:
    other = set(b.keyphrases)
    return tuple(k for k in a.keyphrases if k in other)
