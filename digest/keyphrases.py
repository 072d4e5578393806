"""Keyphrases per paper: noun phrases scored by YAKE, then cleaned and ranked across the corpus.

Stage 1 is a pure function of one abstract (and title) and is the expensive part, since it runs
YAKE (python ``yake``'s scores, computed by ``digest.yake_scores`` in a third of its time, or
``yake-rust`` when configured: the same algorithm, faster again); its output is cached by
content and computed in worker processes for large corpora.
Stage 2 is cheap and runs over the whole corpus on every build, because what counts as generic
depends on the corpus.
"""

from __future__ import annotations

import heapq
import math
import sys
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache, cached_property, partial
from importlib import metadata
from typing import Any, NamedTuple

from digest.cache import ContentCache, content_key, content_keys, resolve_cache_dir
from digest.config import Config
from digest.fingerprint import code_fingerprint
from digest.model import Paper
from digest.parallel import cached_map
from digest.phrase_cleaning import (
    contextual_classes,
    is_boilerplate,
    is_fragment,
    near_duplicates,
    normalise_case,
    noun_phrase_spans,
    phrase_key,
    plain_text,
    proper_names,
    stopword_classes,
    strip_generic,
    tokens,
)

VERSION = "1"
MIN_KEYPHRASES = 5
MAX_WORDS = 4
MAX_CANDIDATES = 20  # per paper: twice the most tags shown, so overlaps and demotions have spares
# No YAKE de-duplication: stage 2 does its own, and skipping it makes YAKE faster.
YAKE_SETTINGS: dict[str, Any] = {"n": 3, "top": 100_000, "dedup_lim": 1.0, "window_size": 1}

# yake-rust 1.2's stop-word lists: python yake's, without its fallback for other languages.
YAKE_RUST_LANGUAGES = frozenset({
    "ar", "bg", "br", "cz", "da", "de", "el", "en", "es", "et", "fa", "fi", "fr", "hi", "hr",
    "hu", "hy", "id", "it", "ja", "lt", "lv", "nl", "no", "pl", "pt", "ro", "ru", "sk", "sl",
    "sv", "tr", "uk", "zh",
})  # fmt: skip

PHRASE_WEIGHT = 1.0  # how much YAKE's score of the whole phrase adds to its words' scores
DIVERSITY = 0.5  # how much a phrase loses for reusing words already chosen for the paper
GENERIC_SHARE = 0.05  # the share of the corpus at which a phrase's score halves
SHARE_PRIOR = 200  # pseudo-papers that stop a small corpus calling anything generic
SHARED_BOOST = 0.2  # bonus for a phrase other papers use too: it links them


class RawPhrase(NamedTuple):
    """A noun phrase as found in the text, before cleaning."""

    text: str
    count: int = 1
    first: float = 0.0
    yake_score: float | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    """One clean phrase of one paper, with the paper's own evidence for it."""

    key: str
    text: str
    first: float
    salience: float

    def row(self) -> list[Any]:
        return [self.key, self.text, self.first, round(self.salience, 4)]

    @classmethod
    def from_row(cls, row: list[Any]) -> Candidate:
        """Phrases recur across papers, so interning keeps 100,000 papers' worth small."""
        return cls(sys.intern(row[0]), sys.intern(row[1]), row[2], row[3])

    @property
    def own_score(self) -> float:
        """The paper's evidence alone: central words, used early."""
        return self.salience / (1.0 + self.first)


def extract_keyphrases(
    papers: Sequence[Paper],
    config: Config,
    cache: ContentCache | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Paper, ...]:
    """The papers in the same order, each with its keyphrases in rank order.

    Without a ``cache`` the configured cache folder is used, so a rebuild only runs YAKE on new
    or changed abstracts.
    """
    store = cache if cache is not None else ContentCache(resolve_cache_dir(config.cache_dir))
    try:
        keys = candidate_keys(papers, config)
        candidates = candidates_for(papers, config, store, keys, progress)
        chosen = ranked_with_memo(candidates, keys, config.keyphrases_per_paper, store)
    finally:
        if cache is None:
            store.close()
    return tuple(replace(p, keyphrases=k) for p, k in zip(papers, chosen, strict=True))


# --- Stage 1: per-abstract candidates (pure, cached, parallel) ---------------------------------


def candidates_for(
    papers: Sequence[Paper],
    config: Config,
    store: ContentCache | None,
    keys: Sequence[str],
    progress: Callable[[int, int], None] | None = None,
) -> list[list[Candidate]]:
    """Each paper's candidates (``keys``: their ``candidate_keys``), from the cache where
    possible, the rest on all cores."""
    inputs = [_paper_input(p) for p in papers]
    work = partial(_candidates_chunk, language=config.language, backend=config.keyphrase_backend)
    rows = cached_map(work, inputs, keys, store, config.workers, progress)
    return [[Candidate.from_row(r) for r in paper_rows] for paper_rows in rows]


def candidate_keys(papers: Sequence[Paper], config: Config) -> list[str]:
    """Each paper's cache key: its text and everything that shapes its candidates."""
    libraries = _library_versions(config.keyphrase_backend)
    settings = {"language": config.language, "yake": YAKE_SETTINGS, "libraries": libraries}
    inputs = (_paper_input(p) for p in papers)
    return content_keys(("keyphrase-candidates", VERSION, settings), ((t, a) for a, t in inputs))


def _paper_input(paper: Paper) -> tuple[str, str]:
    """A derived title repeats the abstract's first sentence, so it adds no evidence."""
    return paper.abstract, "" if paper.title_derived else paper.title


@cache
def _library_versions(backend: str) -> dict[str, str]:
    """Their data and scores are part of the output, so an upgrade or a switch of backend must
    not reuse old cache entries. The backend is named by its distribution, so the python yake
    backend's keys are the ones it had before there was a choice."""
    return {name: metadata.version(name) for name in (backend, "lemminflect")}


def _candidates_chunk(
    chunk: list[tuple[str, str]], language: str, backend: str
) -> list[list[list[Any]]]:
    return [[c.row() for c in candidate_phrases(a, t, language, backend)] for a, t in chunk]


class Scorer(NamedTuple):
    """What stage 1 needs from a YAKE implementation."""

    stopwords: Collection[str]
    scores: Callable[[str], dict[str, float]]  # text -> score (lower is better) by lower-cased key


@cache
def _scorer(language: str, backend: str) -> Scorer:
    """One per process and backend, since building one reads a stop-word list."""
    if backend == "yake-rust":
        return _yake_rust_scorer(language)
    from yake import KeywordExtractor

    from digest.yake_scores import yake_scores

    stopwords = frozenset(KeywordExtractor(lan=language).stopword_set)
    scores = partial(
        yake_scores,
        stopwords=stopwords,
        n=YAKE_SETTINGS["n"],
        window_size=YAKE_SETTINGS["window_size"],
    )
    return Scorer(stopwords, scores)


def _yake_rust_scorer(language: str) -> Scorer:
    """yake-rust panics on a language it has no list for (a Rust backtrace on stderr, then a
    PanicException), so that is refused here first; the config check says so before a build."""
    if problem := backend_problem("yake-rust", language):
        raise ValueError(problem)
    from yake_rust import Yake

    extractor = Yake(
        language=_yake_rust_language(language),
        ngrams=YAKE_SETTINGS["n"],
        window_size=YAKE_SETTINGS["window_size"],
        remove_duplicates=False,
    )
    return Scorer(extractor.stopwords, partial(_yake_rust_scores, extractor))


def _yake_rust_scores(extractor: Any, text: str) -> dict[str, float]:
    """yake-rust gives phrases as the authors wrote them ("PRIMA system"); python yake's keys
    are lower-cased, so fold them, keeping the best score should two spellings both appear."""
    scores: dict[str, float] = {}
    for phrase, score in extractor.get_n_best(text, n=YAKE_SETTINGS["top"]):
        scores.setdefault(phrase.lower(), score)
    return scores


def _yake_rust_language(language: str) -> str:
    """The stop-word list python yake would pick: "en-GB" and "EN" read English's."""
    return language[:2].lower()


def backend_problem(backend: str, language: str) -> str | None:
    """Why this backend cannot extract keyphrases in this language, as one line for a config
    error; ``None`` when it can."""
    if backend != "yake-rust":
        return None
    try:
        import yake_rust  # noqa: F401
    except ImportError:
        return (
            "key 'keyphrase_backend' is 'yake-rust', but the yake-rust package is not "
            "installed: pip install yake-rust (or use keyphrase_backend = 'yake')"
        )
    if _yake_rust_language(language) not in YAKE_RUST_LANGUAGES:
        known = ", ".join(sorted(YAKE_RUST_LANGUAGES))
        return (
            f"key 'language' is {language!r}, which keyphrase_backend 'yake-rust' has no "
            f"stop words for (it knows {known}); use keyphrase_backend = 'yake'"
        )
    return None


def candidate_phrases(
    abstract: str, title: str, language: str, backend: str = "yake"
) -> list[Candidate]:
    """The clean noun phrases of a title and abstract, each with the paper's evidence for it.

    Noun-phrase boundaries decide what can be a keyphrase; YAKE, which scores words and short
    phrases from their statistics in this text alone, says how central each one is.
    """
    text = plain_text(f"{title}. {abstract}" if title.strip() else abstract)
    english = _is_english(language)
    scorer = _scorer(language, backend)
    phrases = _noun_phrases(tokens(text), english, scorer.stopwords)
    scores = scorer.scores(text)
    scored = [p._replace(yake_score=scores.get(p.text.lower())) for p in phrases]
    names = frozenset(proper_names(tokens(plain_text(abstract))) if english else ())
    candidates = clean_candidates(scored, scores, names, english)
    return sorted(candidates, key=lambda c: (-c.own_score, c.key))[:MAX_CANDIDATES]


def _noun_phrases(words: list[str], english: bool, stopwords: Collection[str]) -> list[RawPhrase]:
    """Each distinct phrase once, with its count and where it first appears (0 to 1)."""
    classes = contextual_classes(words) if english else stopword_classes(words, stopwords)
    found: dict[str, RawPhrase] = {}
    for start, end in noun_phrase_spans(words, classes):
        surface = " ".join(strip_generic(words[start:end])[-MAX_WORDS:])
        seen = found.get(surface)
        if seen:
            found[surface] = seen._replace(count=seen.count + 1)
        else:
            found[surface] = RawPhrase(surface, 1, start / len(words))
    return list(found.values())


def _is_english(language: str) -> bool:
    return language.lower().startswith("en")


def clean_candidates(
    phrases: Sequence[RawPhrase],
    word_scores: Mapping[str, float] | None = None,
    names: Collection[str] = (),
    english: bool = True,
) -> list[Candidate]:
    """One candidate per phrase, without fragments or boilerplate, with variants merged.

    Case, plural and hyphenation variants share a key; the shown form is the one the authors
    wrote most often ("attention mechanism" or "attention mechanisms"), the shorter on a tie.
    ``word_scores`` are YAKE's (lower is better) by lower-cased word. The fragment rules know
    English only; other languages keep what their stop words delimit.
    """
    groups: dict[str, list[RawPhrase]] = {}
    for phrase in phrases:
        if is_boilerplate(phrase.text) or (english and is_fragment(phrase.text)):
            continue
        groups.setdefault(phrase_key(phrase.text), []).append(phrase)
    scores = word_scores or {}
    return [_merge(key, group, scores, names) for key, group in groups.items()]


def _merge(
    key: str, group: list[RawPhrase], word_scores: Mapping[str, float], names: Collection[str]
) -> Candidate:
    counts: Counter[str] = Counter()
    surfaces: dict[str, str] = {}
    for phrase in group:
        counts[phrase.text.lower()] += phrase.count
        surfaces.setdefault(phrase.text.lower(), phrase.text)
    form = max(counts, key=lambda f: (counts[f], -len(f), f))
    salience = sum(_word_weight(word_scores.get(w)) for w in form.split())
    phrase_scores = [p.yake_score for p in group if p.yake_score is not None]
    if phrase_scores and " " in form:
        salience *= 1.0 + PHRASE_WEIGHT * (_word_weight(min(phrase_scores)) - 1.0)
    first = round(min(p.first for p in group), 3)
    return Candidate(key, normalise_case(surfaces[form], names), first, salience)


def _word_weight(yake_score: float | None) -> float:
    """YAKE scores are lower-is-better and roughly log-normal; an unscored word counts 1."""
    if yake_score is None or yake_score <= 0:
        return 1.0
    return 1.0 + max(0.0, -math.log(yake_score))


# --- Stage 2: corpus-aware ranking (cheap, every build) -----------------------------------------


def rank_corpus(papers: Sequence[Sequence[Candidate]], per_paper: int) -> list[tuple[str, ...]]:
    """Each paper's keyphrases, best first, scored against the whole corpus."""
    stats = CorpusStats.build(papers)
    return [select([(stats.score(c), c) for c in candidates], per_paper) for candidates in papers]


def ranked_with_memo(
    papers: Sequence[Sequence[Candidate]],
    keys: Sequence[str],
    per_paper: int,
    cache: ContentCache | None,
) -> list[tuple[str, ...]]:
    """``rank_corpus``, re-ranking only papers whose counts changed since the last build.

    A paper's ranking reads its own candidates (named by ``keys``), the corpus size and the
    counts of its own words and phrases, nothing else; so after one edited abstract only the
    papers sharing a word whose count moved are ranked again (10,000 papers: 0.87 s, against
    3.1-3.9 s to rank them all). The memo holds the current papers only, so edits do not pile up.
    """
    stats = CorpusStats.build(papers)
    memo_key = content_key("keyphrase-ranking", VERSION, per_paper, code_fingerprint())
    stored = cache.get_pickled("keyphrase-ranking", memo_key) if cache is not None else None
    known: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = (
        stored if isinstance(stored, dict) else {}
    )
    memo: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = {}
    chosen: list[tuple[str, ...]] = []
    for key, candidates in zip(keys, papers, strict=True):
        counts = stats.counts_read_by(candidates)
        hit = memo.get(key) or known.get(key)
        if hit is None or hit[0] != counts:
            hit = (counts, select([(stats.score(c), c) for c in candidates], per_paper))
        memo[key] = hit
        chosen.append(hit[1])
    if cache is not None and memo != known:
        cache.put_pickled("keyphrase-ranking", memo_key, memo)
    return chosen


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
            phrase_df.update({c.key for c in candidates})
            word_df.update({w for c in candidates for w in c.key.split()})
        return cls(len(papers), dict(word_df), dict(phrase_df))

    def counts_read_by(self, candidates: Sequence[Candidate]) -> tuple[int, ...]:
        """Every count ``score`` reads for these candidates: equal counts, equal scores."""
        words = [self.word_df.get(w, 0) for c in candidates for w in c.key.split()]
        return (self.size, *words, *(self.phrase_df.get(c.key, 0) for c in candidates))

    @cached_property
    def idf(self) -> dict[str, float]:
        return {w: math.log((self.size + 1) / (df + 1)) + 1.0 for w, df in self.word_df.items()}

    def score(self, candidate: Candidate) -> float:
        """The paper's own evidence, weighted by rare words, an early first use and sharing."""
        words = candidate.key.split()
        rarity = sum(self.idf.get(w, 1.0) for w in words) / len(words)
        position = 1.0 / (1.0 + candidate.first)
        return candidate.salience * rarity * position * self.sharing(candidate.key)

    def sharing(self, key: str) -> float:
        """Above 1 for a phrase a few papers share (it links them), well below 1 for one a large
        share of the corpus uses (it describes the corpus, not the paper)."""
        df = self.phrase_df.get(key, 0)
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
