"""Stage 2 of keyphrases: each paper's candidates ranked against the whole corpus.

What counts as generic depends on the corpus, so this runs on every build. A paper's ranking
reads its own candidates, the corpus size and the counts of its own words and phrases, nothing
else. The last build's ranking is kept as a snapshot (per paper: its phrases and words, the
counts it read and its keyphrases; and the corpus counts), so when a few abstracts changed only
the papers sharing a word or phrase whose count moved are ranked again, and no other paper's
candidates are even read (at 10,000 papers, reading them all took ~3 s of a rebuild). Adding
or removing a paper changes the corpus size every ranking reads, so that ranks every paper.
"""

from __future__ import annotations

import heapq
import marshal
import math
import sys
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from typing import TYPE_CHECKING, NamedTuple, cast

from digest.cache import ContentCache, content_key
from digest.fingerprint import code_fingerprint
from digest.phrase_cleaning import near_duplicates

if TYPE_CHECKING:
    from digest.keyphrases import Candidate

VERSION = "3"
MIN_KEYPHRASES = 5
DIVERSITY = 0.5  # how much a phrase loses for reusing words already chosen for the paper
GENERIC_SHARE = 0.05  # the share of the corpus at which a phrase's score halves
SHARE_PRIOR = 200  # pseudo-papers that stop a small corpus calling anything generic
SHARED_BOOST = 0.2  # bonus for a phrase other papers use too: it links them
INCREMENTAL_SHARE = 20  # the snapshot is updated when at most 1 paper in 20 is new
EXACT_COUNTS = 16  # corpus counts read exactly; larger ones in steps (see ``coarse``)
COUNT_STEPS = 8  # steps per doubling of a larger count

CandidatesOf = Callable[[Sequence[int]], list[list["Candidate"]]]


class PaperRank(NamedTuple):
    """One paper's ranking, with what it was read from (its distinct phrases and words)."""

    phrases: tuple[str, ...]
    words: tuple[str, ...]
    counts: tuple[int, ...]
    chosen: tuple[str, ...]


class StoredRank(NamedTuple):
    """A ranking as stored: its phrases, words and counts as arrays of unsigned ints (phrases
    and words by their number in the snapshot's ``terms``). Loading 10,000 of these is a
    third of the time their texts took, and an unchanged one is stored again as it came."""

    phrases: bytes
    words: bytes
    counts: bytes
    chosen: tuple[str, ...]


@dataclass(frozen=True)
class RankSnapshot:
    """The last build's rankings by candidate key, and the corpus counts they read; a ranking
    loaded from the cache stays in its stored form, numbered by ``terms``."""

    papers: dict[str, PaperRank | StoredRank]
    word_df: dict[str, int]
    phrase_df: dict[str, int]
    terms: tuple[str, ...] = ()

    def rank(self, key: str) -> PaperRank:
        found = self.papers[key]
        if isinstance(found, PaperRank):
            return found
        phrases, words = _named(self.terms, found.phrases), _named(self.terms, found.words)
        return PaperRank(phrases, words, tuple(array("I", found.counts)), found.chosen)

    def numbers(self) -> dict[str, int]:
        return {term: n for n, term in enumerate(self.terms)}


def _named(terms: Sequence[str], numbers: bytes) -> tuple[str, ...]:
    return tuple([terms[n] for n in array("I", numbers)])


def rank_keyphrases(
    keys: Sequence[str], candidates_of: CandidatesOf, per_paper: int, cache: ContentCache | None
) -> list[tuple[str, ...]]:
    """Each paper's keyphrases, best first (as ``rank_corpus``). ``keys`` name each paper's
    candidates; ``candidates_of(positions)`` reads the candidates of the papers at those
    positions, and is asked only for the papers that must be ranked again."""
    memo_key = content_key("keyphrase-ranking", VERSION, per_paper, code_fingerprint())
    last = _loaded(cache.get_blob("keyphrase-ranking", memo_key)) if cache is not None else None
    updated = _updated(keys, candidates_of, per_paper, last) if last is not None else None
    chosen, snapshot = updated or _ranked(keys, candidates_of(range(len(keys))), per_paper, last)
    if cache is not None and snapshot != last:
        cache.put_blob_later("keyphrase-ranking", memo_key, lambda: _stored(snapshot))
    if cache is not None and updated is not None:
        # the candidates the snapshot stood in for stay in the cache
        cache.note_needed(keys, "keyphrase-ranking")
    return chosen


def _stored(snapshot: RankSnapshot) -> bytes:
    """The snapshot in ``marshal``'s format (three times faster to load than pickle; the cache
    key holds the Python version, which the format depends on), each word and phrase once in a
    numbered list: at 10,000 papers it is read and written on every rebuild. New rankings are
    numbered after the old terms; the list is numbered afresh once it has doubled."""
    terms = list(snapshot.terms)
    live = len(snapshot.word_df) + len(snapshot.phrase_df)
    if len(terms) > 2 * live:
        snapshot = RankSnapshot(
            {key: snapshot.rank(key) for key in snapshot.papers},
            snapshot.word_df,
            snapshot.phrase_df,
        )
        terms = []
    numbers = snapshot.numbers() if terms else {}

    def numbered(texts: Iterable[str]) -> bytes:
        return array("I", [numbers.setdefault(t, len(numbers)) for t in texts]).tobytes()

    papers = {}
    for key, rank in snapshot.papers.items():
        if isinstance(rank, PaperRank):
            counts = array("I", rank.counts).tobytes()
            rank = StoredRank(numbered(rank.phrases), numbered(rank.words), counts, rank.chosen)
        papers[key] = tuple(rank)
    word_df = (numbered(snapshot.word_df), array("I", snapshot.word_df.values()).tobytes())
    phrase_df = (numbered(snapshot.phrase_df), array("I", snapshot.phrase_df.values()).tobytes())
    return marshal.dumps((list(numbers), papers, word_df, phrase_df))


def _loaded(stored: bytes | None) -> RankSnapshot | None:
    """What ``_stored`` wrote, or ``None`` (anything unreadable is ranked afresh)."""
    if stored is None:
        return None
    try:
        terms, papers, word_df, phrase_df = marshal.loads(stored)
        terms = tuple(terms)
        return RankSnapshot(
            {key: StoredRank(*rank) for key, rank in papers.items()},
            _counts(terms, *word_df),
            _counts(terms, *phrase_df),
            terms,
        )
    except (EOFError, ValueError, TypeError, IndexError):
        return None


def _counts(terms: Sequence[str], numbers: bytes, counts: bytes) -> dict[str, int]:
    return dict(zip(_named(terms, numbers), array("I", counts), strict=True))


def ranked_with_memo(
    papers: Sequence[Sequence[Candidate]],
    keys: Sequence[str],
    per_paper: int,
    cache: ContentCache | None,
) -> list[tuple[str, ...]]:
    """``rank_keyphrases`` for candidates already in hand."""
    return rank_keyphrases(
        keys, lambda positions: [list(papers[i]) for i in positions], per_paper, cache
    )


Ranked = tuple[list[tuple[str, ...]], RankSnapshot]


def _ranked(
    keys: Sequence[str],
    candidates: Sequence[Sequence[Candidate]],
    per_paper: int,
    last: RankSnapshot | None,
) -> Ranked:
    """Every paper's counts compared with those its last ranking read."""
    stats = CorpusStats.build(candidates)
    return _collected(keys, dict(enumerate(candidates)), stats, per_paper, last)


def _updated(
    keys: Sequence[str], candidates_of: CandidatesOf, per_paper: int, last: RankSnapshot
) -> Ranked | None:
    """The snapshot moved on by the papers that came and went (``None`` when the corpus size
    changed, keys repeat, or too much is new for this to pay)."""
    current = set(keys)
    new = [i for i, key in enumerate(keys) if key not in last.papers]
    gone = [key for key in last.papers if key not in current]
    if len(current) != len(keys) or len(new) != len(gone):
        return None
    if len(new) * INCREMENTAL_SHARE > len(keys):
        return None
    fresh = dict(zip(new, candidates_of(new) if new else [], strict=True))
    word_df, phrase_df = dict(last.word_df), dict(last.phrase_df)
    touched_words: set[str] = set()
    touched_phrases: set[str] = set()
    for rank in (last.rank(key) for key in gone):
        _count(phrase_df, rank.phrases, -1, touched_phrases)
        _count(word_df, rank.words, -1, touched_words)
    for paper in fresh.values():
        phrases, words = _terms(paper)
        _count(phrase_df, phrases, 1, touched_phrases)
        _count(word_df, words, 1, touched_words)
    moved_words = {w for w in touched_words if _moved(word_df, last.word_df, w)}
    moved_phrases = {p for p in touched_phrases if _moved(phrase_df, last.phrase_df, p)}
    moved = _Moved.of(last, moved_words, moved_phrases)
    stored = cast(dict[str, StoredRank], last.papers)
    stale = [i for i, key in enumerate(keys) if i not in fresh and moved.read_by(stored[key])]
    if stale:
        fresh.update(zip(stale, candidates_of(stale), strict=True))
    stats = CorpusStats(len(keys), word_df, phrase_df)
    return _collected(keys, fresh, stats, per_paper, last)


class _Moved(NamedTuple):
    """The words and phrases whose corpus counts moved, by their number in the last snapshot's
    terms: ``last`` is always loaded from the cache, so its rankings are stored ones."""

    words: set[int]
    phrases: set[int]

    @classmethod
    def of(cls, last: RankSnapshot, words: set[str], phrases: set[str]) -> _Moved:
        numbers = last.numbers() if words or phrases else {}
        return cls(
            {numbers[w] for w in words if w in numbers},
            {numbers[p] for p in phrases if p in numbers},
        )

    def read_by(self, rank: StoredRank) -> bool:
        """Whether ``rank`` read the count of any of them."""
        return not (
            self.words.isdisjoint(array("I", rank.words))
            and self.phrases.isdisjoint(array("I", rank.phrases))
        )


def _collected(
    keys: Sequence[str],
    candidates: Mapping[int, Sequence[Candidate]],
    stats: CorpusStats,
    per_paper: int,
    last: RankSnapshot | None,
) -> Ranked:
    """Every paper's ranking: ranked (or checked) where its ``candidates`` were read, else the
    one ``last`` build's snapshot holds."""
    known = last.papers if last is not None else {}
    papers: dict[str, PaperRank | StoredRank] = {}
    chosen = []
    for i, key in enumerate(keys):
        rank = papers.get(key) or known.get(key)
        if i in candidates:
            rank = _rank(candidates[i], stats, per_paper, rank)
        assert rank is not None
        papers[key] = rank
        chosen.append(rank.chosen)
    terms = last.terms if last is not None else ()
    return chosen, RankSnapshot(papers, stats.word_df, stats.phrase_df, terms)


def _rank(
    candidates: Sequence[Candidate],
    stats: CorpusStats,
    per_paper: int,
    last: PaperRank | StoredRank | None,
) -> PaperRank | StoredRank:
    """The paper's last ranking if the counts it reads are the ones it read, else a new one."""
    counts = stats.counts_read_by(candidates)
    if isinstance(last, StoredRank) and last.counts == array("I", counts).tobytes():
        return last
    if isinstance(last, PaperRank) and last.counts == counts:
        return last
    chosen = select([(stats.score(c), c) for c in candidates], per_paper)
    return PaperRank(*_terms(candidates), counts, chosen)


def _terms(candidates: Sequence[Candidate]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Distinct, sorted and interned, so the snapshot holds (and stores) each word and phrase
    of the corpus once: at 10,000 papers it is saved and loaded on every rebuild."""
    phrases = sorted({c.key for c in candidates})
    words = sorted({w for key in phrases for w in key.split()})
    return tuple(map(sys.intern, phrases)), tuple(map(sys.intern, words))


def _moved(now: dict[str, int], then: dict[str, int], term: str) -> bool:
    """Whether the count a ranking reads of ``term`` moved (see ``coarse``)."""
    return coarse(now.get(term, 0)) != coarse(then.get(term, 0))


@cache
def coarse(count: int) -> int:
    """A corpus count as rankings read it: exact up to ``EXACT_COUNTS``, then to ~9% (eight
    steps per doubling). One edited abstract moves the counts of its ~100 words and phrases by
    one, and every paper reading a moved count is ranked again: exact counts of common words
    ("learning", "model") ranked most of a 10,000-paper corpus again after such an edit."""
    if count <= EXACT_COUNTS:
        return count
    return round(2 ** (round(math.log2(count) * COUNT_STEPS) / COUNT_STEPS))


def _count(counts: dict[str, int], terms: Iterable[str], step: int, touched: set[str]) -> None:
    for term in terms:
        value = counts.get(term, 0) + step
        if value:
            counts[term] = value
        else:
            del counts[term]
        touched.add(term)


def rank_corpus(papers: Sequence[Sequence[Candidate]], per_paper: int) -> list[tuple[str, ...]]:
    """Each paper's keyphrases, best first, scored against the whole corpus."""
    stats = CorpusStats.build(papers)
    return [select([(stats.score(c), c) for c in candidates], per_paper) for candidates in papers]


@dataclass(frozen=True)
class CorpusStats:
    """How many papers use each candidate word and phrase."""

    size: int
    word_df: dict[str, int]
    phrase_df: dict[str, int]

    @classmethod
    def build(cls, papers: Sequence[Sequence[Candidate]]) -> CorpusStats:
        word_df: Counter[str] = Counter()
        phrase_df: Counter[str] = Counter()
        for candidates in papers:
            phrases, words = _terms(candidates)
            phrase_df.update(phrases)
            word_df.update(words)
        return cls(len(papers), dict(word_df), dict(phrase_df))

    def counts_read_by(self, candidates: Sequence[Candidate]) -> tuple[int, ...]:
        """Every count ``score`` reads for these candidates (``coarse``): equal counts, equal
        scores."""
        words = [coarse(self.word_df.get(w, 0)) for c in candidates for w in c.key.split()]
        phrases = [coarse(self.phrase_df.get(c.key, 0)) for c in candidates]
        return (self.size, *words, *phrases)

    @cached_property
    def idf(self) -> dict[str, float]:
        size = self.size
        return {w: math.log((size + 1) / (coarse(df) + 1)) + 1.0 for w, df in self.word_df.items()}

    def score(self, candidate: Candidate) -> float:
        """The paper's own evidence, weighted by rare words, an early first use and sharing."""
        words = candidate.key.split()
        rarity = sum(self.idf.get(w, 1.0) for w in words) / len(words)
        position = 1.0 / (1.0 + candidate.first)
        return candidate.salience * rarity * position * self.sharing(candidate.key)

    def sharing(self, key: str) -> float:
        """Above 1 for a phrase a few papers share (it links them), well below 1 for one a large
        share of the corpus uses (it describes the corpus, not the paper)."""
        df = coarse(self.phrase_df.get(key, 0))
        share = df / (self.size + SHARE_PRIOR)
        boost = 1.0 + SHARED_BOOST if df >= 2 else 1.0
        return boost / (1.0 + (share / GENERIC_SHARE) ** 2)


def select(scored: Sequence[tuple[float, Candidate]], limit: int) -> tuple[str, ...]:
    """The best phrases that neither repeat nor contain one another, in rank order.

    A phrase inside a better one ("anomaly detection" in "industrial anomaly detection") is
    dropped, as is a spelling variant or an acronym of one; a phrase reusing words already
    chosen ranks lower, so six "unsafe ..." phrases do not crowd out the rest. If that leaves
    fewer than the minimum, the dropped overlaps come back rather than showing too few tags.
    """
    heap = [(-score, c.key, score, c) for score, c in scored]
    heapq.heapify(heap)
    kept: list[tuple[str, ...]] = []
    chosen: list[Candidate] = []
    dropped: list[Candidate] = []
    used: set[str] = set()
    while heap and len(chosen) < limit:
        bound, key, score, candidate = heapq.heappop(heap)
        words = tuple(key.split())
        adjusted = score * (1.0 - DIVERSITY * sum(w in used for w in words) / len(words))
        if heap and adjusted < -heap[0][0] and adjusted < -bound:
            heapq.heappush(heap, (-adjusted, key, score, candidate))
        elif any(near_duplicates(words, other) for other in kept):
            dropped.append(candidate)
        else:
            chosen.append(candidate)
            kept.append(words)
            used.update(words)
    chosen += dropped[: max(0, min(limit, MIN_KEYPHRASES) - len(chosen))]
    return tuple(c.text for c in chosen)
