"""Related papers: for each paper, the papers sharing its most distinctive keyphrases.

An edit can only move the lists of papers that share a keyphrase the edited papers had or
have (their scores read those keyphrases' paper counts), and the short lists filled from the
edited papers' themes. So a rebuild ranks those again and takes every other list from the
last build's snapshot, kept in the cache: at 10,000 papers, ranking every paper took ~0.7 s
of a one-edit rebuild. The result is the one ranking everything gives (see the tests).
"""

from __future__ import annotations

import marshal
import math
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import NamedTuple

import numpy as np

from digest.cache import ContentCache, content_key
from digest.fingerprint import code_fingerprint
from digest.model import Paper

# A keyphrase on more papers than this says little about relatedness, and scanning its
# postings for every paper would make related-paper search quadratic at 100,000 papers.
MAX_POSTINGS_FOR_RELATED = 1000
RELATED_BLOCK = 512  # papers whose scores against every other paper are held at once
FEW_ROWS = 2_000  # rows ranked again without a sparse product (and without scipy)
INCREMENTAL_SHARE = 20  # the snapshot is updated when at most 1 paper in 20 changed
SNAPSHOT_VERSION = 1

PaperInputs = tuple[str, tuple[str, ...], str | None]  # what a list reads: id, phrases, theme
Progress = Callable[[int, int], None]
Scorer = Callable[[list[int]], Iterator[tuple["np.ndarray", "np.ndarray"]]]


class RelatedSnapshot(NamedTuple):
    """One build's lists, and what they were computed from."""

    inputs: tuple[PaperInputs, ...]  # in the digest's order
    ranked: dict[str, tuple[str, ...]]  # by shared keyphrases, before a short list's fill
    related: dict[str, tuple[str, ...]]


def related_papers(
    papers: Sequence[Paper],
    count: int,
    progress: Progress | None = None,
    cache: ContentCache | None = None,
) -> dict[str, tuple[str, ...]]:
    """Papers sharing the most distinctive keyphrases (rare shared phrases weigh more);
    ties go to the same theme, then to id order, so the lists are deterministic.

    Scores are one sparse product (papers × phrases, by their weights, times its transpose),
    a block of papers at a time: at 100,000 papers the whole product is billions of pairs."""
    if count <= 0:
        return {}
    inputs = tuple((p.id, p.keyphrases, p.theme) for p in papers)
    key = content_key(
        "related", SNAPSHOT_VERSION, count, MAX_POSTINGS_FOR_RELATED, code_fingerprint()
    )
    last = _loaded(cache.get_blob("related", key)) if cache is not None else None
    snapshot = _updated(papers, inputs, count, last, progress)
    if snapshot is None:
        snapshot = _computed(papers, inputs, count, range(len(papers)), None, (), progress)
    if cache is not None and snapshot is not last:
        cache.put_blob("related", key, marshal.dumps(tuple(snapshot)))
    return snapshot.related


def _loaded(stored: bytes | None) -> RelatedSnapshot | None:
    if stored is None:
        return None
    try:
        return RelatedSnapshot(*marshal.loads(stored))
    except (EOFError, ValueError, TypeError):
        return None


def _updated(
    papers: Sequence[Paper],
    inputs: tuple[PaperInputs, ...],
    count: int,
    last: RelatedSnapshot | None,
    progress: Progress | None,
) -> RelatedSnapshot | None:
    """``last`` moved on by the papers whose phrases or theme changed; ``None`` when papers
    came, went or moved (every weight or theme window may change) or too many changed."""
    if last is None or len(last.inputs) != len(inputs):
        return None
    changed = [
        i for i, (now, then) in enumerate(zip(inputs, last.inputs, strict=True)) if now != then
    ]
    if any(inputs[i][0] != last.inputs[i][0] for i in changed):
        return None
    if len(changed) * INCREMENTAL_SHARE > len(inputs):
        return None
    if not changed:
        if progress is not None:
            progress(len(inputs), len(inputs))
        return last
    touched = {k for i in changed for k in (*inputs[i][1], *last.inputs[i][1])}
    rows = set(changed)
    for i, paper in enumerate(papers):
        if not touched.isdisjoint(paper.keyphrases):
            rows.add(i)
    themes = {t for i in changed for t in (inputs[i][2], last.inputs[i][2])}
    return _computed(papers, inputs, count, sorted(rows), last, themes, progress)


def _computed(
    papers: Sequence[Paper],
    inputs: tuple[PaperInputs, ...],
    count: int,
    rows: Sequence[int],
    last: RelatedSnapshot | None,
    refill: Collection[str | None],
    progress: Progress | None,
) -> RelatedSnapshot:
    """The lists of papers ``rows`` ranked, and short lists filled for those and for the
    papers of themes ``refill``; every other list is ``last``'s."""
    ranked = dict(last.ranked) if last is not None else {}
    related = dict(last.related) if last is not None else {}
    themes = _theme_numbers(papers)
    id_rank = _id_ranks(papers)
    position = {p.id: i for i, p in enumerate(papers)}
    for i, order in _ranked_rows(papers, themes, id_rank, rows, progress):
        ranked[papers[i].id] = tuple(papers[j].id for j in order[:count].tolist())
    rows_set = set(rows)
    short = [
        (i, np.array([position[pid] for pid in ranked[p.id]], dtype=np.int64))
        for i, p in enumerate(papers)
        if (i in rows_set or p.theme in refill) and len(ranked[p.id]) < count
    ]
    for i in rows:
        related[papers[i].id] = ranked[papers[i].id]
    for i, extra in _same_theme_fill(papers, themes, id_rank, short, count):
        related[papers[i].id] = ranked[papers[i].id] + extra
    return RelatedSnapshot(inputs, ranked, related)


def _ranked_rows(
    papers: Sequence[Paper],
    themes: np.ndarray,
    id_rank: np.ndarray,
    rows: Sequence[int],
    progress: Progress | None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Each of ``rows`` with every paper sharing a counted phrase with it, best first."""
    n = len(papers)
    entries = _Entries.of(papers)
    every = list(rows)
    scored = entries.few_scorer() if len(every) <= FEW_ROWS else entries.block_scorer()
    for start in range(0, len(every), RELATED_BLOCK):
        chosen = every[start : start + RELATED_BLOCK]
        for i, (others, scores) in zip(chosen, scored(chosen), strict=True):
            mask = others != i
            others, scores = others[mask], scores[mask]
            order = np.lexsort((id_rank[others], themes[others] != themes[i], -np.round(scores, 9)))
            yield i, others[order]
        if progress is not None:
            progress(n - len(every) + min(len(every), start + RELATED_BLOCK), n)
    if progress is not None and not every:
        progress(n, n)


class _Entries(NamedTuple):
    """Which paper has which counted phrase (distinct pairs, papers ascending), and the
    phrases' weights: a paper's score against another is the sum of the weights of the phrases
    they share, added in phrase-number order."""

    paper: np.ndarray
    phrase: np.ndarray
    papers: int
    weight: np.ndarray

    @classmethod
    def of(cls, papers: Sequence[Paper]) -> _Entries:
        """Phrases on more than ``MAX_POSTINGS_FOR_RELATED`` papers are not counted."""
        n = len(papers)
        phrases: dict[str, int] = {}
        entry_rows, cols = [], []
        for i, paper in enumerate(papers):
            for phrase in dict.fromkeys(paper.keyphrases):
                entry_rows.append(i)
                cols.append(phrases.setdefault(phrase, len(phrases)))
        phrase_of = np.asarray(cols, dtype=np.int64)
        postings = np.bincount(phrase_of, minlength=len(phrases))
        weight = np.array([math.log(1 + n / d) for d in postings.tolist()], dtype=np.float64)
        kept = postings[phrase_of] <= MAX_POSTINGS_FOR_RELATED
        return cls(np.asarray(entry_rows, dtype=np.int64)[kept], phrase_of[kept], n, weight)

    def block_scorer(self) -> Scorer:
        """For each of a block of papers, the papers with a score (ascending) and their
        scores: one sparse product per block (papers × phrases, weighted, times its
        transpose)."""
        from scipy.sparse import csr_matrix

        shape = (self.papers, len(self.weight))
        pairs = (self.paper, self.phrase)
        shared = csr_matrix((np.ones(len(self.paper)), pairs), shape=shape).T.tocsr()
        weighted = csr_matrix((self.weight[self.phrase], pairs), shape=shape)

        def scores(chosen: list[int]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
            block = (weighted[chosen] @ shared).tocsr()
            block.sort_indices()
            for offset in range(len(chosen)):
                lo, hi = block.indptr[offset], block.indptr[offset + 1]
                yield block.indices[lo:hi], block.data[lo:hi]

        return scores

    def few_scorer(self) -> Scorer:
        """``block_scorer`` for a few papers (a rebuild's), without importing scipy (0.15 s):
        each score is the same sum, added in the same order (the sparse product adds a row's
        phrases in phrase order), so the same to the last bit."""
        by_phrase, starts = _groups(self.phrase, len(self.weight))  # papers ascending in each
        own = np.searchsorted(self.paper, np.arange(self.papers + 1))

        def scores(chosen: list[int]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
            for i in chosen:
                mine = np.sort(self.phrase[own[i] : own[i + 1]]).tolist()
                spans = [by_phrase[starts[c] : starts[c + 1]] for c in mine]
                if not spans:
                    yield np.empty(0, dtype=np.int32), np.empty(0, dtype=np.float64)
                    continue
                others = self.paper[np.concatenate(spans)]
                added = np.repeat(self.weight[mine], [len(span) for span in spans])
                sums = np.bincount(others, weights=added, minlength=self.papers)
                found = np.unique(others)
                yield found, sums[found]

        return scores


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
    by_theme: dict[int, list[tuple[int, np.ndarray]]] = defaultdict(list)
    for i, ranked in short:
        by_theme[int(themes[i])].append((i, ranked))
    first_mates = {t: np.flatnonzero(themes == t)[:MAX_POSTINGS_FOR_RELATED] for t in by_theme}
    # Words of the papers compared only: after an edit, those of one or two themes.
    compared = sorted({i for i, _ in short}.union(*(m.tolist() for m in first_mates.values())))
    row_of = {paper: row for row, paper in enumerate(compared)}
    words: dict[str, int] = {}
    rows, cols = [], []
    for row, i in enumerate(compared):
        for word in {w for k in papers[i].keyphrases for w in k.lower().split()}:
            rows.append(row)
            cols.append(words.setdefault(word, len(words)))
    overlaps = (_counted_overlaps if len(short) <= FEW_ROWS else _sparse_overlaps)(
        np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64), len(compared)
    )
    for theme, wanting in by_theme.items():
        mates = first_mates[theme]
        wanting_rows = [row_of[i] for i, _ in wanting]
        mate_rows = [row_of[i] for i in mates.tolist()]
        shared = overlaps(wanting_rows, mate_rows)
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


Overlaps = Callable[[list[int], list[int]], np.ndarray]


def _sparse_overlaps(rows: np.ndarray, words: np.ndarray, row_count: int) -> Overlaps:
    """How many words each of some rows shares with each of others (rows × words, a one for
    each of a row's distinct words, times its transpose); ``rows`` ascending."""
    from scipy.sparse import csr_matrix

    shape = (row_count, int(words.max(initial=-1)) + 1)
    has_word = csr_matrix((np.ones(len(rows)), (rows, words)), shape=shape)

    def overlaps(wanting: list[int], mates: list[int]) -> np.ndarray:
        return (has_word[wanting] @ has_word[mates].T).toarray().astype(np.int64)

    return overlaps


def _counted_overlaps(rows: np.ndarray, words: np.ndarray, row_count: int) -> Overlaps:
    """``_sparse_overlaps`` for a few rows, without importing scipy: each wanting row's words'
    mates, counted (whole numbers, so equal however they are added)."""
    starts = np.searchsorted(rows, np.arange(row_count + 1))
    word_count = int(words.max(initial=-1)) + 1

    def overlaps(wanting: list[int], mates: list[int]) -> np.ndarray:
        position = np.full(row_count, -1, dtype=np.int64)
        position[mates] = np.arange(len(mates))
        is_mate = position[rows] >= 0
        order, bounds = _groups(words[is_mate], word_count)
        mate_at = position[rows[is_mate]][order]
        counted = np.zeros((len(wanting), len(mates)), dtype=np.int64)
        for n, row in enumerate(wanting):
            own = words[starts[row] : starts[row + 1]].tolist()
            having = [mate_at[bounds[w] : bounds[w + 1]] for w in own]
            if having:
                counted[n] = np.bincount(np.concatenate(having), minlength=len(mates))
        return counted

    return overlaps


def _groups(keys: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The positions of ``keys`` grouped by key (in their order within a key), and where each
    key 0..count-1 starts among them (the last bound is the end)."""
    order = np.argsort(keys, kind="stable")
    return order, np.searchsorted(keys[order], np.arange(count + 1))


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
