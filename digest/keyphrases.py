"""Keyphrases per paper: noun phrases scored by YAKE, then cleaned and ranked across the corpus.

Stage 1 is a pure function of one abstract (and title) and is the expensive part, since it runs
YAKE (python ``yake``'s scores, computed by ``digest.yake_scores`` in a third of its time, or
``yake-rust`` when configured: the same algorithm, faster again); its output is cached by
content and computed in worker processes for large corpora.
Stage 2 (``digest.ranking``) ranks each paper's candidates against the whole corpus, because
what counts as generic depends on the corpus.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, partial
from importlib import metadata
from typing import Any, NamedTuple

from digest.cache import ContentCache, content_keys, resolve_cache_dir
from digest.config import Config
from digest.forked_worker import ForkedWorker
from digest.model import Paper, amended
from digest.parallel import cached_map
from digest.phrase_cleaning import (
    contextual_classes,
    is_boilerplate,
    is_fragment,
    normalise_case,
    noun_phrase_spans,
    phrase_key,
    plain_text,
    proper_names,
    stopword_classes,
    strip_generic,
    tokens,
)
from digest.ranking import rank_keyphrases

VERSION = "1"
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
    forked: ForkedWorker | None = None,
) -> tuple[Paper, ...]:
    """The papers in the same order, each with its keyphrases in rank order.

    Without a ``cache`` the configured cache folder is used, so a rebuild only runs YAKE on new
    or changed abstracts (on ``forked``, if given and warmed up by ``warm_extraction``).
    """
    store = cache if cache is not None else ContentCache(resolve_cache_dir(config.cache_dir))
    try:
        keys = candidate_keys(papers, config)

        def candidates_of(positions: Sequence[int]) -> list[list[Candidate]]:
            chunk = [papers[i] for i in positions]
            chunk_keys = [keys[i] for i in positions]
            return candidates_for(chunk, config, store, chunk_keys, progress, forked)

        chosen = rank_keyphrases(keys, candidates_of, config.keyphrases_per_paper, store)
    finally:
        if cache is None:
            store.close()
    return tuple(amended(p, keyphrases=k) for p, k in zip(papers, chosen, strict=True))


# --- Stage 1: per-abstract candidates (pure, cached, parallel) ---------------------------------


def candidates_for(
    papers: Sequence[Paper],
    config: Config,
    store: ContentCache | None,
    keys: Sequence[str],
    progress: Callable[[int, int], None] | None = None,
    forked: ForkedWorker | None = None,
) -> list[list[Candidate]]:
    """Each paper's candidates (``keys``: their ``candidate_keys``), from the cache where
    possible, the rest on all cores."""
    inputs = [_paper_input(p) for p in papers]
    work = partial(_candidates_chunk, language=config.language, backend=config.keyphrase_backend)
    rows = cached_map(work, inputs, keys, store, config.workers, progress, forked)
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


def warm_extraction(language: str, backend: str) -> None:
    """Loads what extracting the first abstract loads: the scorer and the word lexicon."""
    candidate_phrases("Warming up keyphrase extraction models.", "", language, backend)


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
