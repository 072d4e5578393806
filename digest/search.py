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

import json
import math
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import lunr
import numpy as np

from digest.cache import ContentCache
from digest.model import Digest, Paper
from digest.paths import paper_path
from digest.render import Page
from digest.search_terms import SEARCH_FIELDS, FieldTerms, paper_terms
from digest.titles import shorten

MANIFEST_PATH = "search/manifest.js"
EXCERPT_CHARS = 200
DOCS_PER_SHARD = 200
MIN_SHARD_BYTES = 32_000
MAX_TERM_SHARDS = 1200
K1, B = 1.2, 0.75
PIPELINE = ["stemmer"]


def build_search_index(
    digest: Digest,
    cache: ContentCache | None = None,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[Page]:
    papers = digest.papers
    parts = index_parts(paper_terms(papers, cache, workers, progress))
    bounds = []
    # Shards are made and written one at a time: at 100,000 papers the whole index as Python
    # objects, or as JSON text, is gigabytes.
    for number, shard in enumerate(split_by_term(parts)):
        yield _script(f"search/terms-{number}.js", "digestSearchTerms", number, shard["text"])
        bounds.append([shard["first"], shard["last"], shard["bytes"]])
    del parts
    doc_shards = _doc_shards(papers, {t.slug: t.name for t in digest.themes})
    for number, docs in enumerate(doc_shards):
        yield _script(f"search/docs-{number}.js", "digestSearchDocs", number, _json(docs))
    manifest = {
        "version": 2,
        "lunr": lunr.__TARGET_JS_VERSION__,
        "fields": [name for name, _ in SEARCH_FIELDS],
        "pipeline": PIPELINE,
        "docCount": len(papers),
        "docsPerShard": DOCS_PER_SHARD,
        "shards": bounds,
    }
    yield Page(MANIFEST_PATH, f"window.DIGEST_SEARCH={_json(manifest)};\n".encode())


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
    term counts, read once and in order (so a stream of them is never held whole)."""
    n = 0
    fields = len(SEARCH_FIELDS)
    first_seen: dict[str, int] = {}
    ids = [array("i") for _ in range(fields)]
    tfs = [array("i") for _ in range(fields)]
    sizes = [array("i") for _ in range(fields)]
    lengths = [array("d") for _ in range(fields)]
    for doc in terms:
        n += 1
        for f, (length, counts) in enumerate(doc):
            lengths[f].append(length)
            sizes[f].append(len(counts))
            ids[f].extend([first_seen.setdefault(term, len(first_seen)) for term, _ in counts])
            tfs[f].extend([tf for _, tf in counts])
    vocabulary = sorted(first_seen)
    rank = np.empty(len(first_seen), dtype=np.int32)
    rank[[first_seen[t] for t in vocabulary]] = np.arange(len(vocabulary), dtype=np.int32)
    del first_seen
    entry_term = rank[np.concatenate([np.frombuffer(a, dtype=np.int32) for a in ids])]
    del ids, rank
    documents_with = np.bincount(entry_term, minlength=len(vocabulary))
    idf = np.array([_idf(int(d), n) for d in documents_with], dtype=np.float64)
    scores, vectors = [], []
    start = 0
    for f, (_, boost) in enumerate(SEARCH_FIELDS):
        length = np.frombuffer(lengths[f], dtype=np.float64)
        average = length.sum() / n if n else 0.0
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
        refs=[doc_ref(i) for i in range(n)],
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


def _idf(documents_with_term: int, n: int) -> float:
    return math.log(1 + abs((n - documents_with_term + 0.5) / (documents_with_term + 0.5)))


def _inverted_entries(parts: IndexParts, first: int, last: int, entries: np.ndarray) -> list:
    """lunr's ``[term, {field: {ref: {}}, "_index": i}]`` for terms first..last, from their
    entries (in vector order, so each field's refs come out in document order)."""
    fields = [name for name, _ in SEARCH_FIELDS]
    out = [
        [t, {**{f: {} for f in fields}, "_index": i}]
        for i, t in enumerate(parts.vocabulary[first : last + 1], first)
    ]
    by_term = entries[np.argsort(parts.entry_term[entries], kind="stable")]
    for term, vector in zip(
        parts.entry_term[by_term].tolist(), parts.entry_vector[by_term].tolist(), strict=True
    ):
        field, position = divmod(vector, parts.documents)
        out[term - first][1][fields[field]][parts.refs[position]] = {}
    return out


def split_by_term(parts: IndexParts, max_shards: int = MAX_TERM_SHARDS) -> Iterator[dict[str, Any]]:
    """Consecutive term ranges of similar size, each with exactly its terms' vector entries,
    one at a time."""
    vocabulary = parts.vocabulary
    postings = np.bincount(parts.entry_term, minlength=len(vocabulary)).tolist()
    weights = [len(t) + 20 * p for t, p in zip(vocabulary, postings, strict=True)]
    target = max(MIN_SHARD_BYTES, sum(weights) // max_shards + 1)
    shard_of = array("i")
    number, size = 0, 0
    for weight in weights:
        if size and size + weight > target:
            number, size = number + 1, 0
        shard_of.append(number)
        size += weight
    count = number + 1 if vocabulary else 0
    shard_array = np.frombuffer(shard_of, dtype=np.int32)
    entry_shard = shard_array[parts.entry_term]
    order = np.argsort(entry_shard, kind="stable")
    ends = np.searchsorted(entry_shard[order], np.arange(count), side="right").tolist()
    firsts = np.searchsorted(shard_array, np.arange(count), side="left").tolist()
    del entry_shard
    start = 0
    for n in range(count):
        entries = order[start : ends[n]]
        start = ends[n]
        first = firsts[n]
        last = (firsts[n + 1] if n + 1 < count else len(vocabulary)) - 1
        body = {
            "invertedIndex": _inverted_entries(parts, first, last, entries),
            "fieldVectors": _shard_vectors(parts, entries),
        }
        text = _json(body)
        yield {
            "first": vocabulary[first],
            "last": vocabulary[last],
            "text": text,
            "bytes": len(text.encode()),
        }


def _shard_vectors(parts: IndexParts, entries: np.ndarray) -> list[list[Any]]:
    """``[field/ref, [term, score, …]]`` for each vector with entries among ``entries``."""
    vectors: list[list[Any]] = []
    current = -1
    elements: list[float] = []
    for vector, term, score in zip(
        parts.entry_vector[entries].tolist(),
        parts.entry_term[entries].tolist(),
        parts.entry_score[entries].tolist(),
        strict=True,
    ):
        if vector != current:
            current, elements = vector, []
            vectors.append([parts.vector_name(vector), elements])
        elements.extend((term, round(score, 3)))
    return vectors


def _doc_shards(papers: Sequence[Paper], themes: dict[str, str]) -> list[list[dict[str, Any]]]:
    docs = [
        {
            "t": p.title,
            "h": themes.get(p.theme or "", ""),
            "k": list(p.keyphrases),
            "e": shorten(p.abstract, EXCERPT_CHARS),
            "p": paper_path(p.id),
        }
        for p in papers
    ]
    return [docs[i : i + DOCS_PER_SHARD] for i in range(0, len(docs), DOCS_PER_SHARD)]


def _script(path: str, callback: str, number: int, payload_json: str) -> Page:
    return Page(path, f"{callback}({number},{payload_json});\n".encode())


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
