"""Digest → the client-side search index: lunr's index, split so the browser loads only what
a query needs.

lunr scores a document by the dot product of the query with the document's field vectors, and
each vector entry belongs to one term. So the index splits cleanly by term: each shard holds a
range of terms (sorted), their postings and exactly those entries of every field vector. The
browser reads a small manifest, loads the shards covering the query's terms, merges them into
one ``lunr.Index`` and searches it, with the same scores as the whole index. Result details
come from document shards loaded for the results shown.

Everything is written as scripts that call a global, because browsers refuse ``fetch`` from
file:// pages; ``<script src>`` works everywhere the site does.
"""

from __future__ import annotations

import hashlib
import json
import math
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

import lunr
import numpy as np

from digest.cache import ContentCache
from digest.model import Paper, Theme
from digest.output import Page
from digest.page_memo import PageMemo
from digest.parallel import Ready, ordered_map, worker_count
from digest.paths import paper_path
from digest.search_terms import (
    SEARCH_FIELDS,
    DocTerms,
    FieldTerms,
    numbered,
    numbered_terms,
)
from digest.titles import shorten

MANIFEST_PATH = "search/manifest.js"
EXCERPT_CHARS = 200
DOCS_PER_SHARD = 200
# Small shards: an edit rewrites every shard holding one of its ~100 terms (at 10,000 papers,
# 629 shards of ~32 kB: 9.5 MB, 0.8 s; 1,514 of ~16 kB: 0.5-0.65 s), and a query fetches fewer
# bytes. The manifest lists every shard (18 kB gzip at 10,000 papers). A small index keeps a
# few larger ones (one per 4 papers at most): an edit there rewrites nearly all of them.
MIN_SHARD_BYTES = 4_000
MAX_TERM_SHARDS = 9_600
PAPERS_PER_TERM_SHARD = 4
SHARD_KEY_CHARS = 12
POOL_SHARDS = 200  # shards to make: below this, starting worker processes costs more than it saves
TARGET_STEP = 2**0.25  # shard targets come in steps, so one edit's bytes never move them
MIN_SHARD_SHARE = 0.25  # of the target, before a shard may end
MAX_SHARD_SHARE = 4.0  # of the target, past which a shard must end
K1, B = 1.2, 0.75
PIPELINE = ["stemmer"]


def build_search_index(
    papers: Sequence[Paper],
    themes: Sequence[Theme],
    cache: ContentCache | None = None,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
    memo: PageMemo | None = None,
) -> Iterator[Page]:
    """The index's files; with ``memo``, a shard whose terms and entries are those of the last
    build keeps its file, so after one edit only the shards of its terms are serialised."""
    parts = numbered_index_parts(*numbered_terms(papers, cache, workers, progress))
    # Shards are made and written one at a time: at 100,000 papers the whole index as Python
    # objects, or as JSON text, is gigabytes.
    shards = list(split_by_term(parts))
    keys = shard_keys([parts.vocabulary[shard.first] for shard in shards])
    paths = [term_shard_path(key) for key in keys]
    fingerprints = [shard.fingerprint(parts) for shard in shards]
    kept = [memo.recorded(p, f) if memo else None for p, f in zip(paths, fingerprints, strict=True)]
    todo = sum(1 for record in kept if record is None)

    def pieces(parts: IndexParts) -> Iterator[ShardPiece | Ready]:
        for number, (shard, record) in enumerate(zip(shards, kept, strict=True)):
            page = memo.keep(paths[number], record) if memo and record else None
            yield Ready(page) if page else shard_piece(parts, shard, keys[number])

    if todo >= POOL_SHARDS and worker_count(workers) > 1:
        made = ordered_map(shard_script, pieces(parts), worker_count(workers))
    else:
        made = (p.value if isinstance(p, Ready) else shard_script(p) for p in pieces(parts))
    bounds = []
    for number, (shard, content) in enumerate(zip(shards, made, strict=True)):
        if isinstance(content, Page):
            page = content
        elif memo:
            page = memo.made(paths[number], fingerprints[number], content)
        else:
            page = Page(paths[number], content)
        yield page
        size = len(page.content) - len(shard_prefix(keys[number])) - len(SCRIPT_END)
        first, last = parts.vocabulary[shard.first], parts.vocabulary[shard.last]
        bounds.append([first, last, size, keys[number]])
    del parts
    shards.clear()
    yield from _doc_shard_pages(papers, {t.slug: t.short_name for t in themes}, memo)
    manifest = {
        "version": 4,
        "lunr": lunr.__TARGET_JS_VERSION__,
        "fields": [name for name, _ in SEARCH_FIELDS],
        "pipeline": PIPELINE,
        "docCount": len(papers),
        "docsPerShard": DOCS_PER_SHARD,
        "shards": bounds,
    }
    yield Page(MANIFEST_PATH, f"window.DIGEST_SEARCH={_json(manifest)};\n".encode())


def shard_keys(first_terms: Sequence[str]) -> list[str]:
    """Each term shard's name, from its first term: when an edit moves where one shard ends,
    the shards after it keep their names and files (numbered by position, every later one
    was renamed, and rewritten: 1,362 of 1,513 files after one edit at 10,000 papers)."""
    keys: list[str] = []
    taken: set[str] = set()
    for term in first_terms:
        key = hashlib.sha256(term.encode("utf-8", "surrogatepass")).hexdigest()[:SHARD_KEY_CHARS]
        while key in taken:  # ~1 in 10 million per pair of shards
            key += "x"
        taken.add(key)
        keys.append(key)
    return keys


def doc_ref(position: int) -> str:
    """Short refs (base 36) keep postings small: they repeat once per term per document."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        position, rest = divmod(position, 36)
        out = digits[rest] + out
        if position == 0:
            return out


@dataclass(frozen=True)
class IndexParts:
    """lunr's index before serialisation, as flat arrays with one entry per (field, document,
    term): at 100,000 papers that is tens of millions of entries, which as Python lists and
    dicts took gigabytes. Entries are in lunr's vector order (field, then document, then the
    document's term order); a vector is numbered ``field * documents + position``."""

    vocabulary: list[str]
    documents: int
    entry_vector: np.ndarray  # int32
    entry_term: np.ndarray  # int32, index into the sorted vocabulary
    entry_score: np.ndarray  # float64, rounded to 3 places only when written, as lunr does
    refs: list[str]

    def vector_name(self, vector: int) -> str:
        field, position = divmod(vector, self.documents)
        return f"{SEARCH_FIELDS[field][0]}/{self.refs[position]}"


def index_parts(terms: Iterable[Sequence[FieldTerms]]) -> IndexParts:
    """What ``lunr.Builder`` computes (BM25, k1=1.2, b=0.75, field boosts), from per-document
    term counts."""
    return numbered_index_parts(*numbered(terms))


def numbered_index_parts(docs: Iterable[DocTerms], terms: Sequence[str]) -> IndexParts:
    """``index_parts`` from numbered terms (``search_terms.numbered_terms``), read once and in
    order; ``terms`` may number terms no document uses (they are left out)."""
    n = 0
    fields = len(SEARCH_FIELDS)
    ids = [array("i") for _ in range(fields)]
    tfs = [array("i") for _ in range(fields)]
    sizes = [array("i") for _ in range(fields)]
    lengths = [array("d") for _ in range(fields)]
    for doc in docs:
        n += 1
        start = 0
        for f in range(fields):
            end = start + 4 * doc.sizes[f]
            lengths[f].append(doc.lengths[f])
            sizes[f].append(doc.sizes[f])
            ids[f].frombytes(doc.ids[start:end])
            tfs[f].frombytes(doc.tfs[start:end])
            start = end
    numbers = np.concatenate([np.frombuffer(a, dtype=np.int32) for a in ids])
    used = np.flatnonzero(np.bincount(numbers, minlength=len(terms))).tolist()
    used.sort(key=terms.__getitem__)
    vocabulary = [terms[number] for number in used]
    rank = np.zeros(len(terms), dtype=np.int32)
    rank[used] = np.arange(len(used), dtype=np.int32)
    entry_term = rank[numbers]
    del ids, rank, numbers
    documents_with = np.bincount(entry_term, minlength=len(vocabulary))
    idf = np.array([_idf(int(d), n) for d in documents_with], dtype=np.float64)
    scores, vectors = [], []
    start = 0
    for f, (_, boost) in enumerate(SEARCH_FIELDS):
        length = np.frombuffer(lengths[f], dtype=np.float64)
        average = _average_length(length.sum(), n)
        norm = K1 * (1 - B + B * (length / average)) if average else np.full(n, K1)
        per_entry = np.frombuffer(sizes[f], dtype=np.int32)
        vectors.append(np.repeat(np.arange(f * n, (f + 1) * n, dtype=np.int32), per_entry))
        tf = np.frombuffer(tfs[f], dtype=np.int32).astype(np.float64)
        term = entry_term[start : start + len(tf)]
        start += len(tf)
        scores.append(idf[term] * ((K1 + 1) * tf) / (np.repeat(norm, per_entry) + tf) * boost)
    return IndexParts(
        vocabulary=vocabulary,
        documents=n,
        entry_vector=np.concatenate(vectors),
        entry_term=entry_term,
        entry_score=np.concatenate(scores),
        refs=_refs(n),
    )


def assemble_index(terms: Sequence[Sequence[FieldTerms]]) -> dict[str, Any]:
    """lunr's serialised index, whole (what ``lunr.Index.load`` reads): the tests' reference
    for the shards, built simply rather than fast."""
    parts = index_parts(terms)
    every = np.arange(len(parts.entry_term))
    found = dict(_shard_vectors(parts, every))
    names = [parts.vector_name(v) for v in range(len(SEARCH_FIELDS) * parts.documents)]
    return {
        "version": lunr.__TARGET_JS_VERSION__,
        "fields": [name for name, _ in SEARCH_FIELDS],
        "fieldVectors": [[name, found.get(name, [])] for name in names],
        "invertedIndex": _inverted_entries(parts, 0, len(parts.vocabulary) - 1, every),
        "pipeline": PIPELINE,
    }


def _average_length(total: float, documents: int) -> float:
    """BM25's average field length, rounded to a power-of-two step of about 1/1,000 of it:
    lunr's exact mean moves with every edited abstract and changes every document's scores,
    and so every shard's file; rounded, one edit at 10,000 papers moves it about once in a
    hundred, and it changes scores by 0.1% at most (seeds, against lunr's builder)."""
    if not documents or not total:
        return 0.0
    average = total / documents
    step = 2.0 ** (math.floor(math.log2(average)) - 10)
    return round(average / step) * step


def _idf(documents_with_term: int, n: int) -> float:
    return math.log(1 + abs((n - documents_with_term + 0.5) / (documents_with_term + 0.5)))


def _inverted_entries(parts: IndexParts, first: int, last: int, entries: np.ndarray) -> list:
    """lunr's ``[term, {field: {ref: {}}, "_index": i}]`` for terms first..last, from their
    entries (in vector order, so each field's refs come out in document order); ``_index``
    counts from ``first``."""
    fields = [name for name, _ in SEARCH_FIELDS]
    out = [
        [t, {**{f: {} for f in fields}, "_index": i}]
        for i, t in enumerate(parts.vocabulary[first : last + 1])
    ]
    by_term = entries[np.argsort(parts.entry_term[entries], kind="stable")]
    for term, vector in zip(
        parts.entry_term[by_term].tolist(), parts.entry_vector[by_term].tolist(), strict=True
    ):
        field, position = divmod(vector, parts.documents)
        out[term - first][1][fields[field]][parts.refs[position]] = {}
    return out


@dataclass(frozen=True)
class TermShard:
    """Terms ``first..last`` of the sorted vocabulary and their vector entries."""

    first: int
    last: int
    entries: np.ndarray  # positions in IndexParts' entry arrays, in vector order

    def fingerprint(self, parts: IndexParts) -> str:
        """A digest of everything the shard's file says, computed without writing it: terms
        are numbered from the shard's first, as in the file, so a term gained or lost before
        it leaves it alone."""
        digest = hashlib.sha256()
        digest.update("\0".join(parts.vocabulary[self.first : self.last + 1]).encode())
        digest.update(f"\0{parts.documents}\0".encode())
        digest.update(parts.entry_vector[self.entries].tobytes())
        digest.update((parts.entry_term[self.entries] - self.first).tobytes())
        digest.update(parts.entry_score[self.entries].tobytes())
        return digest.hexdigest()


def split_by_term(
    parts: IndexParts, max_shards: int | None = None, min_bytes: int = MIN_SHARD_BYTES
) -> Iterator[TermShard]:
    """Consecutive term ranges of similar size, each with exactly its terms' entries, one at a
    time. Where a shard ends depends on its own terms only (content-defined, like rsync's
    chunks), so an edit that changes some terms' postings changes the shards holding them,
    not the numbering and contents of every shard after."""
    if max_shards is None:
        max_shards = max(1, min(MAX_TERM_SHARDS, parts.documents // PAPERS_PER_TERM_SHARD))
    vocabulary = parts.vocabulary
    postings = np.bincount(parts.entry_term, minlength=len(vocabulary)).tolist()
    weights = [len(t) + 20 * p for t, p in zip(vocabulary, postings, strict=True)]
    target = _shard_target(sum(weights), max_shards, min_bytes)
    shard_of = _content_defined_cuts(vocabulary, weights, target)
    count = shard_of[-1] + 1 if vocabulary else 0
    shard_array = np.frombuffer(shard_of, dtype=np.int32)
    entry_shard = shard_array[parts.entry_term]
    order = np.argsort(entry_shard, kind="stable")
    ends = np.searchsorted(entry_shard[order], np.arange(count), side="right").tolist()
    firsts = np.searchsorted(shard_array, np.arange(count), side="left").tolist()
    del entry_shard
    start = 0
    for n in range(count):
        last = (firsts[n + 1] if n + 1 < count else len(vocabulary)) - 1
        yield TermShard(firsts[n], last, order[start : ends[n]])
        start = ends[n]


def _shard_target(total_weight: int, max_shards: int, min_bytes: int) -> float:
    """The mean shard weight aimed at: about ``total / max_shards``, rounded up to a step of
    ``TARGET_STEP`` so that small changes to the corpus leave it where it was."""
    wanted = max(min_bytes, total_weight / max_shards)
    return float(TARGET_STEP ** math.ceil(math.log(wanted, TARGET_STEP)))


def _content_defined_cuts(
    vocabulary: Sequence[str], weights: Sequence[int], target: float
) -> array:
    """Each term's shard number. A shard ends after a term with a chance of its weight over
    the target (decided by the term's hash), once the shard holds ``MIN_SHARD_SHARE`` of the
    target; a term that would take it past ``MAX_SHARD_SHARE`` starts the next one."""
    spread = (1 - MIN_SHARD_SHARE) * target
    shard_of = array("i")
    number, size = 0, 0
    for term, weight in zip(vocabulary, weights, strict=True):
        if size and size + weight > MAX_SHARD_SHARE * target:
            number, size = number + 1, 0
        shard_of.append(number)
        size += weight
        chance = weight / spread
        if size >= MIN_SHARD_SHARE * target and zlib.crc32(term.encode()) < chance * 2**32:
            number, size = number + 1, 0
    return shard_of


def shard_body(parts: IndexParts, shard: TermShard) -> str:
    """The shard as JSON; term indices count from its first term, and the browser offsets them
    by the shards it loaded before (they need only be distinct and in term order)."""
    inverted = _json(_inverted_entries(parts, shard.first, shard.last, shard.entries))
    vectors = shard_vectors_json(parts, shard.entries, shard.first)
    return f'{{"invertedIndex":{inverted},"fieldVectors":{vectors}}}'


def merge_shards(bodies: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """What ``indexOver`` in static/search.js makes of term shards loaded in shard order: one
    invertedIndex and fieldVectors, each shard's term numbers offset by the terms of the shards
    before it (for benchmarks and tests that rank as the browser does)."""
    inverted: list[Any] = []
    vectors: dict[str, list[float]] = {}
    offset = 0
    for body in bodies:
        for term, posting in body["invertedIndex"]:
            inverted.append([term, {**posting, "_index": posting["_index"] + offset}])
        for ref, elements in body["fieldVectors"]:
            target = vectors.setdefault(ref, [])
            for i in range(0, len(elements), 2):
                target.extend((elements[i] + offset, elements[i + 1]))
        offset += len(body["invertedIndex"])
    return {"invertedIndex": inverted, "fieldVectors": list(vectors.items())}


class ShardPiece(NamedTuple):
    """What one term shard's file is made from, and nothing else, so a worker process can
    make it: its terms, and its entries with term numbers counted from its first term."""

    key: str
    vocabulary: list[str]
    documents: int
    entry_vector: np.ndarray
    entry_term: np.ndarray
    entry_score: np.ndarray


def shard_piece(parts: IndexParts, shard: TermShard, key: str) -> ShardPiece:
    return ShardPiece(
        key,
        parts.vocabulary[shard.first : shard.last + 1],
        parts.documents,
        parts.entry_vector[shard.entries],
        parts.entry_term[shard.entries] - shard.first,
        parts.entry_score[shard.entries],
    )


def shard_script(piece: ShardPiece) -> bytes:
    """The shard's file: the same bytes ``shard_body`` gives for it in the whole index."""
    parts = IndexParts(
        vocabulary=piece.vocabulary,
        documents=piece.documents,
        entry_vector=piece.entry_vector,
        entry_term=piece.entry_term,
        entry_score=piece.entry_score,
        refs=_refs(piece.documents),
    )
    shard = TermShard(0, len(piece.vocabulary) - 1, np.arange(len(piece.entry_term)))
    return shard_prefix(piece.key) + shard_body(parts, shard).encode() + SCRIPT_END


@lru_cache(maxsize=1)
def _refs(documents: int) -> list[str]:
    return [doc_ref(i) for i in range(documents)]


def term_shard_path(key: str) -> str:
    return f"search/terms-{key}.js"


def shard_prefix(key: str) -> bytes:
    """What a term shard's file says before its JSON body (the callback and the shard's key)."""
    return f'digestSearchTerms("{key}",'.encode()


def _shard_vectors(parts: IndexParts, entries: np.ndarray, first: int = 0) -> list[list[Any]]:
    """``[field/ref, [term, score, …]]`` for each vector with entries among ``entries``, term
    indices counted from ``first``."""
    vectors: list[list[Any]] = []
    current = -1
    elements: list[float] = []
    for vector, term, score in _vector_entries(parts, entries, first):
        if vector != current:
            current, elements = vector, []
            vectors.append([parts.vector_name(vector), elements])
        elements.extend((term, round(score, 3)))
    return vectors


def shard_vectors_json(parts: IndexParts, entries: np.ndarray, first: int = 0) -> str:
    """``_json(_shard_vectors(parts, entries, first))``, written directly: most vectors have
    one entry in a shard, and building then encoding a list per entry was half the time of
    remaking a shard (~100 of them after one edit at 10,000 papers). Vector names need no
    escaping: field names and base-36 refs."""
    fields = [name for name, _ in SEARCH_FIELDS]
    refs, documents = parts.refs, parts.documents
    out: list[str] = []
    current = -1
    for vector, term, score in _vector_entries(parts, entries, first):
        if vector != current:
            field, position = divmod(vector, documents)
            opening = f'["{fields[field]}/{refs[position]}",[{term},{round(score, 3)!r}'
            out.append(opening if current == -1 else "]]," + opening)
            current = vector
        else:
            out.append(f",{term},{round(score, 3)!r}")
    return "[" + "".join(out) + ("]]]" if out else "]")


def _vector_entries(
    parts: IndexParts, entries: np.ndarray, first: int
) -> Iterator[tuple[int, int, float]]:
    """Each entry's vector, term (counted from ``first``) and score, in vector order."""
    return zip(
        parts.entry_vector[entries].tolist(),
        (parts.entry_term[entries] - first).tolist(),
        parts.entry_score[entries].tolist(),
        strict=True,
    )


def _doc_shard_pages(
    papers: Sequence[Paper], themes: dict[str, str], memo: PageMemo | None
) -> Iterator[Page]:
    """What results show, ``DOCS_PER_SHARD`` papers a file; with ``memo``, a file whose papers
    show the same as in the last build is kept rather than made again."""
    for number, start in enumerate(range(0, len(papers), DOCS_PER_SHARD)):
        chunk = papers[start : start + DOCS_PER_SHARD]
        path = f"search/docs-{number}.js"
        shown = [
            (p.id, p.title, themes.get(p.theme or "", ""), p.keyphrases, p.abstract) for p in chunk
        ]
        fingerprint = hashlib.sha256(repr(shown).encode("utf-8", "surrogatepass")).hexdigest()
        record = memo.recorded(path, fingerprint) if memo else None
        kept = memo.keep(path, record) if memo and record else None
        if kept is not None:
            yield kept
            continue
        content = _script(path, "digestSearchDocs", number, _json(_docs(chunk, themes))).content
        yield memo.made(path, fingerprint, content) if memo else Page(path, content)


def _docs(papers: Sequence[Paper], themes: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "t": p.title,
            "h": themes.get(p.theme or "", ""),
            "k": list(p.keyphrases),
            "e": shorten(p.abstract, EXCERPT_CHARS),
            "p": paper_path(p.id),
        }
        for p in papers
    ]


SCRIPT_END = b");\n"


def _script(path: str, callback: str, number: int, payload_json: str) -> Page:
    return Page(path, f"{callback}({number},{payload_json}".encode() + SCRIPT_END)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
