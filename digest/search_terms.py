"""Paper → the terms lunr would index for it, per field: the expensive, per-paper half of
building the search index, so it can be cached by content and run on all cores.

Terms come from lunr's own tokenizer rules and pipeline functions (trimmer, stop-word filter,
Porter stemmer), so the index we assemble is the one ``lunr.Builder`` would build.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import lunr
from lunr.stemmer import stemmer
from lunr.stop_word_filter import stop_word_filter
from lunr.token import Token
from lunr.trimmer import trimmer

from digest.cache import ContentCache, content_keys
from digest.model import Paper
from digest.parallel import cached_map

# (field, boost): titles and keyphrases say what a paper is about more than any abstract word.
SEARCH_FIELDS: tuple[tuple[str, int], ...] = (("title", 10), ("keyphrases", 5), ("abstract", 1))
TERMS_VERSION = f"lunr-{lunr.__TARGET_JS_VERSION__}-terms-2"
_SEPARATORS = str.maketrans({c: " " for c in "\t\n\r\f\v\xa0-"})
_PIPELINE = (trimmer, stop_word_filter, stemmer)

# Per field: (number of tokens after the pipeline, [(term, count), ...] sorted by term).
FieldTerms = tuple[int, list]
# Papers whose terms are looked up (or computed) at once: as Python lists, the terms of 100,000
# papers are gigabytes, so the caller folds each slice into compact arrays before the next.
SLICE = 10_000


def field_texts(paper: Paper) -> tuple[str, ...]:
    values = {"title": paper.title, "keyphrases": " ".join(paper.keyphrases)}
    return tuple(values.get(name, paper.abstract) for name, _ in SEARCH_FIELDS)


class DocTerms(NamedTuple):
    """One paper's terms by number (see ``numbered_terms``): compact enough to keep every
    paper's from one build to the next."""

    lengths: tuple[int, ...]  # per field: tokens after the pipeline
    sizes: tuple[int, ...]  # per field: distinct terms
    ids: bytes  # int32 term numbers, field after field, each field's in its term order
    tfs: bytes  # int32 counts of those terms


@dataclass(frozen=True)
class TermSnapshot:
    """The last build's papers' terms, by their cache key, and the numbering they use."""

    terms: tuple[str, ...]  # by number; may hold terms no paper uses any more
    docs: dict[str, DocTerms]
    fresh_terms: int  # how many terms it had when last numbered from scratch


SNAPSHOT_VERSION = f"{TERMS_VERSION}-snapshot-1"
REFRESH_SHARE = 20  # a snapshot is updated when at most 1 paper in 20 is new
STALE_TERMS = 2.0  # renumbered from scratch when it holds this many times its fresh terms


def numbered_terms(
    papers: Sequence[Paper],
    cache: ContentCache | None,
    workers: int,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[DocTerms], list[str]]:
    """Each paper's terms, numbered, and the terms by number. The last build's are kept in the
    cache, so a rebuild after a few edits reads and numbers only the new papers' terms (at
    10,000 papers, reading and numbering every paper's took ~2.5 s of a rebuild)."""
    keys = [key for start in range(0, len(papers), SLICE) for key in _keys(papers, start)]
    stored = cache.get_pickled("search-terms", SNAPSHOT_VERSION) if cache is not None else None
    last = stored if isinstance(stored, TermSnapshot) else None
    new = [i for i, key in enumerate(keys) if last is None or key not in last.docs]
    if last is not None and (
        len(new) * REFRESH_SHARE > len(keys) or len(last.terms) > STALE_TERMS * last.fresh_terms
    ):
        last = None  # numbered from scratch, as without a snapshot
    if last is None:
        new = list(range(len(keys)))
    numbering = {} if last is None else {t: n for n, t in enumerate(last.terms)}
    read = paper_terms([papers[i] for i in new], cache, workers, progress, [keys[i] for i in new])
    made = (number_doc(doc, numbering) for doc in read)
    if last is None:
        docs = list(made)
    else:
        added = dict(zip(new, made, strict=True))
        docs = [added[i] if i in added else last.docs[key] for i, key in enumerate(keys)]
    terms = list(numbering)
    if cache is not None and last is not None:
        # the terms the snapshot stood in for stay in the cache
        cache.note_needed(keys, "search-terms")
    if cache is not None and (last is None or new or len(keys) != len(last.docs)):
        counted = len(terms) if last is None else last.fresh_terms
        snapshot = TermSnapshot(tuple(terms), dict(zip(keys, docs, strict=True)), counted)
        cache.put_pickled("search-terms", SNAPSHOT_VERSION, snapshot)
    return docs, terms


def number_doc(doc: Sequence[FieldTerms], numbering: dict[str, int]) -> DocTerms:
    """``doc``'s terms by number, new terms numbered in order of first use (``numbering``
    grows; ``list(numbering)`` is the terms by number)."""
    ids = array("i")
    tfs = array("i")
    for _, counts in doc:
        ids.extend([numbering.setdefault(term, len(numbering)) for term, _ in counts])
        tfs.extend([tf for _, tf in counts])
    lengths = tuple(length for length, _ in doc)
    sizes = tuple(len(counts) for _, counts in doc)
    return DocTerms(lengths, sizes, ids.tobytes(), tfs.tobytes())


def numbered(terms: Iterable[Sequence[FieldTerms]]) -> tuple[list[DocTerms], list[str]]:
    """``numbered_terms`` for terms in hand, without a cache."""
    numbering: dict[str, int] = {}
    docs = [number_doc(doc, numbering) for doc in terms]
    return docs, list(numbering)


def _keys(papers: Sequence[Paper], start: int) -> list[str]:
    texts = (field_texts(p) for p in papers[start : start + SLICE])
    return content_keys(("search-terms", TERMS_VERSION), ((t,) for t in texts))


def paper_terms(
    papers: Sequence[Paper],
    cache: ContentCache | None,
    workers: int,
    progress: Callable[[int, int], None] | None = None,
    keys: Sequence[str] | None = None,
) -> Iterator[list[FieldTerms]]:
    """Each paper's terms, in order, computed (or read) SLICE papers at a time; ``keys``, when
    given, are the papers' cache keys (``_keys``)."""
    for start in range(0, len(papers), SLICE):
        texts = [field_texts(p) for p in papers[start : start + SLICE]]
        chunk_keys = list(keys[start : start + SLICE]) if keys is not None else _keys(papers, start)
        stored = cached_map(
            stored_terms_of_chunk,
            texts,
            chunk_keys,
            cache,
            workers,
            _offset(progress, start, len(papers)),
        )
        yield from map(_from_stored, stored)


def _offset(
    progress: Callable[[int, int], None] | None, start: int, total: int
) -> Callable[[int, int], None] | None:
    if progress is None:
        return None
    return lambda done, _: progress(start + done, total)


def terms_of_chunk(chunk: Sequence[tuple[str, ...]]) -> list[list[FieldTerms]]:
    return [[_field_terms(text) for text in texts] for texts in chunk]


def stored_terms_of_chunk(chunk: Sequence[tuple[str, ...]]) -> list[str]:
    """The terms as the cache keeps them: one line per field, "length term count term count
    …" (terms never hold whitespace). Every build reads every paper's terms, and this decodes
    in under half the time JSON lists of pairs took (3,000 papers: 0.26 s against 0.51-0.71 s)."""
    return [
        "\n".join(
            " ".join([str(length), *(f"{t} {c}" for t, c in counts)]) for length, counts in doc
        )
        for doc in terms_of_chunk(chunk)
    ]


def _from_stored(text: str) -> list[FieldTerms]:
    fields: list[FieldTerms] = []
    for line in text.split("\n"):
        parts = line.split(" ")
        fields.append((int(parts[0]), list(zip(parts[1::2], map(int, parts[2::2]), strict=True))))
    return fields


def _field_terms(text: str) -> FieldTerms:
    terms = [t for t in map(pipeline_term, text.lower().translate(_SEPARATORS).split()) if t]
    return len(terms), sorted([term, count] for term, count in Counter(terms).items())


@lru_cache(maxsize=500_000)
def pipeline_term(token: str) -> str | None:
    """One token through lunr's indexing pipeline; memoised, as vocabularies repeat."""
    current: Token | None = Token(token, {})
    for step in _PIPELINE:
        current = step(current, 0, [current])
        if not current or not str(current):
            return None
    return str(current)
