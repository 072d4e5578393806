"""The search index: the same scores as lunr's own builder, split by term without loss."""

import itertools
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from lunr import lunr
from lunr.index import Index

from digest.cache import ContentCache
from digest.merge import merge_records
from digest.parallel import cached_map
from digest.search import assemble_index, doc_ref, index_parts, split_by_term
from digest.search_terms import SEARCH_FIELDS, field_texts, terms_of_chunk
from digest.sources import load_records
from tests.conftest import SEEDS


@pytest.fixture(scope="module")
def seed_texts() -> list[tuple[str, ...]]:
    papers = merge_records(load_records([SEEDS]))
    papers = [replace(p, keyphrases=tuple(p.abstract.split()[2:8])) for p in papers]
    return [field_texts(p) for p in papers]


@pytest.mark.parametrize(
    "query",
    ["anomaly detection", "graph neural", "title:memory", "emotion", "transform*", "grph~1"],
)
def test_scores_equal_lunr_builder(seed_texts: list[tuple[str, ...]], query: str) -> None:
    ours = Index.load(assemble_index(terms_of_chunk(seed_texts)))
    documents = [
        {"ref": doc_ref(i), **dict(zip([n for n, _ in SEARCH_FIELDS], t, strict=True))}
        for i, t in enumerate(seed_texts)
    ]
    fields = [{"field_name": name, "boost": boost} for name, boost in SEARCH_FIELDS]
    theirs = lunr(ref="ref", fields=fields, documents=documents)
    expected = [(r["ref"], round(r["score"], 6)) for r in theirs.search(query)]
    assert expected
    assert [(r["ref"], round(r["score"], 6)) for r in ours.search(query)] == expected


def test_shards_partition_terms_and_vector_entries(seed_texts: list[tuple[str, ...]]) -> None:
    terms = terms_of_chunk(seed_texts)
    index = assemble_index(terms)
    shards = list(split_by_term(index_parts(terms), max_shards=8))
    assert len(shards) > 3
    terms = [t for s in shards for t, _ in json.loads(s["text"])["invertedIndex"]]
    assert terms == [t for t, _ in index["invertedIndex"]]
    for before, after in itertools.pairwise(shards):
        assert before["last"] < after["first"]
    entries = sum(len(v) for s in shards for _, v in json.loads(s["text"])["fieldVectors"])
    assert entries == sum(len(v) for _, v in index["fieldVectors"])


def test_refs_are_short_and_unique() -> None:
    refs = [doc_ref(i) for i in range(100_000)]
    assert len(set(refs)) == 100_000
    assert refs[:3] == ["0", "1", "2"] and doc_ref(35) == "z" and len(doc_ref(99_999)) == 4


def test_cached_map_computes_each_item_once(tmp_path: Path) -> None:
    calls: list[str] = []

    def upper(chunk: list[str]) -> list[str]:
        calls.extend(chunk)
        return [x.upper() for x in chunk]

    cache = ContentCache(tmp_path)
    assert cached_map(upper, ["a", "b"], ["ka", "kb"], cache, 1) == ["A", "B"]
    assert cached_map(upper, ["a", "b", "c"], ["ka", "kb", "kc"], cache, 1) == ["A", "B", "C"]
    assert calls == ["a", "b", "c"]
    assert (tmp_path / ".gitignore").read_text().strip().endswith("*")


def test_site_search_files_cover_every_paper(seeds_site: Path) -> None:
    manifest_js = (seeds_site / "search/manifest.js").read_text()
    manifest = json.loads(re.match(r"window\.DIGEST_SEARCH=(.*);\s*$", manifest_js, re.S).group(1))
    assert manifest["docCount"] == 77
    for number in range(len(manifest["shards"])):
        assert (seeds_site / f"search/terms-{number}.js").is_file()
    docs = []
    for path in sorted(seeds_site.glob("search/docs-*.js"), key=lambda p: int(p.stem[5:])):
        payload = re.match(r"digestSearchDocs\(\d+,(.*)\);\s*$", path.read_text(), re.S).group(1)
        docs.extend(json.loads(payload))
    assert len(docs) == 77
    for doc in docs:
        assert (seeds_site / doc["p"]).is_file()
        assert doc["t"] and doc["k"]
