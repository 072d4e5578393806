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
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import lunr

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
    terms = paper_terms(papers, cache, workers, progress)
    bounds = []
    # Shards are made and written one at a time: at 100,000 papers the whole index as Python
    # objects, or as JSON text, is gigabytes.
    for number, shard in enumerate(split_by_term(index_parts(terms))):
        yield _script(f"search/terms-{number}.js", "digestSearchTerms", number, shard["text"])
        bounds.append([shard["first"], shard["last"], shard["bytes"]])
    del terms
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
    """lunr's index before serialisation, in compact form: postings as lists of refs (lunr's
    ``{ref: {}}`` objects are made per shard, when written)."""

    vocabulary: list[str]
    postings: dict[str, dict[str, list[str]]]  # term → field → refs
    vectors: list[tuple[str, list[float]]]  # "field/ref" → [term index, score, …]


def index_parts(terms: Sequence[Sequence[FieldTerms]]) -> IndexParts:
    """What ``lunr.Builder`` computes (BM25, k1=1.2, b=0.75, field boosts, scores rounded to 3
    places), from per-document term counts."""
    fields = [name for name, _ in SEARCH_FIELDS]
    postings: dict[str, dict[str, list[str]]] = defaultdict(lambda: {f: [] for f in fields})
    lengths = [0.0] * len(fields)
    for position, doc in enumerate(terms):
        ref = doc_ref(position)
        for f, (length, counts) in enumerate(doc):
            lengths[f] += length
            for term, _ in counts:
                postings[term][fields[f]].append(ref)
    n = len(terms)
    average = [total / n if n else 0.0 for total in lengths]
    vocabulary = sorted(postings)
    term_index = {term: i for i, term in enumerate(vocabulary)}
    idf = {t: _idf(sum(len(refs) for refs in postings[t].values()), n) for t in vocabulary}
    vectors = []
    for f, (name, boost) in enumerate(SEARCH_FIELDS):
        for position, doc in enumerate(terms):
            length, counts = doc[f]
            vectors.append(
                (
                    f"{name}/{doc_ref(position)}",
                    _vector(counts, length, average[f], boost, idf, term_index),
                )
            )
    return IndexParts(vocabulary, dict(postings), vectors)


def assemble_index(terms: Sequence[Sequence[FieldTerms]]) -> dict[str, Any]:
    """lunr's serialised index, whole (what ``lunr.Index.load`` reads)."""
    parts = index_parts(terms)
    return {
        "version": lunr.__TARGET_JS_VERSION__,
        "fields": [name for name, _ in SEARCH_FIELDS],
        "fieldVectors": [list(v) for v in parts.vectors],
        "invertedIndex": [_inverted_entry(parts, i) for i in range(len(parts.vocabulary))],
        "pipeline": PIPELINE,
    }


def _inverted_entry(parts: IndexParts, i: int) -> list[Any]:
    term = parts.vocabulary[i]
    by_field = parts.postings[term]
    return [term, {**{f: {r: {} for r in refs} for f, refs in by_field.items()}, "_index": i}]


def _idf(documents_with_term: int, n: int) -> float:
    return math.log(1 + abs((n - documents_with_term + 0.5) / (documents_with_term + 0.5)))


def _vector(
    counts: list[list],
    length: int,
    average: float,
    boost: int,
    idf: dict[str, float],
    term_index: dict[str, int],
) -> list[float]:
    norm = K1 * (1 - B + B * (length / average)) if average else K1
    elements: list[float] = []
    for term, tf in counts:
        score = idf[term] * ((K1 + 1) * tf) / (norm + tf) * boost
        elements.extend((term_index[term], round(score, 3)))
    return elements


def split_by_term(parts: IndexParts, max_shards: int = MAX_TERM_SHARDS) -> Iterator[dict[str, Any]]:
    """Consecutive term ranges of similar size, each with exactly its terms' vector entries,
    one at a time."""
    vocabulary = parts.vocabulary
    weights = [
        len(t) + 20 * sum(len(refs) for refs in parts.postings[t].values()) for t in vocabulary
    ]
    target = max(MIN_SHARD_BYTES, sum(weights) // max_shards + 1)
    shard_of: list[int] = []
    number, size = 0, 0
    for weight in weights:
        if size and size + weight > target:
            number, size = number + 1, 0
        shard_of.append(number)
        size += weight
    count = number + 1 if vocabulary else 0
    vectors: list[dict[str, list[float]]] = [{} for _ in range(count)]
    for field_ref, elements in parts.vectors:
        for j in range(0, len(elements), 2):
            vectors[shard_of[elements[j]]].setdefault(field_ref, []).extend(elements[j : j + 2])
    bounds: dict[int, list[int]] = {}
    for i, n in enumerate(shard_of):
        bounds.setdefault(n, [i, i])[1] = i
    for n in range(count):
        first, last = bounds[n]
        shard_vectors, vectors[n] = vectors[n], {}  # each shard's share is freed once written
        body = {
            "invertedIndex": [_inverted_entry(parts, i) for i in range(first, last + 1)],
            "fieldVectors": list(shard_vectors.items()),
        }
        text = _json(body)
        yield {
            "first": vocabulary[first],
            "last": vocabulary[last],
            "text": text,
            "bytes": len(text.encode()),
        }


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
