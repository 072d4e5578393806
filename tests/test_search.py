"""The search index: lunr's own builder's scores (to 0.1%: average field lengths are rounded),
split by term without loss."""

import itertools
import json
import re
from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from lunr import lunr
from lunr.index import Index

from digest import search, search_terms
from digest.cache import ContentCache
from digest.fingerprint import Fingerprinter
from digest.merge import merge_records
from digest.model import Paper
from digest.page_memo import PageMemo
from digest.parallel import cached_map
from digest.search import (
    assemble_index,
    doc_ref,
    index_parts,
    shard_body,
    shard_piece,
    shard_script,
    split_by_term,
)
from digest.search_terms import (
    SEARCH_FIELDS,
    field_texts,
    numbered_terms,
    paper_terms,
    terms_of_chunk,
)
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
def test_scores_match_lunr_builder(seed_texts: list[tuple[str, ...]], query: str) -> None:
    ours = Index.load(assemble_index(terms_of_chunk(seed_texts)))
    documents = [
        {"ref": doc_ref(i), **dict(zip([n for n, _ in SEARCH_FIELDS], t, strict=True))}
        for i, t in enumerate(seed_texts)
    ]
    fields = [{"field_name": name, "boost": boost} for name, boost in SEARCH_FIELDS]
    theirs = lunr(ref="ref", fields=fields, documents=documents)
    expected = theirs.search(query)
    found = ours.search(query)
    assert expected
    assert [r["ref"] for r in found] == [r["ref"] for r in expected]
    for mine, lunrs in zip(found, expected, strict=True):
        assert mine["score"] == pytest.approx(lunrs["score"], rel=2e-3)


def test_terms_read_back_from_the_cache_are_the_ones_computed(tmp_path: Path) -> None:
    papers = merge_records(load_records([SEEDS]))
    papers = (*papers, replace(papers[0], title="", keyphrases=(), abstract="The of and."))
    computed = [
        [(length, [tuple(pair) for pair in counts]) for length, counts in doc]
        for doc in terms_of_chunk([field_texts(p) for p in papers])
    ]
    cache = ContentCache(tmp_path / "cache")
    assert list(paper_terms(papers, cache, workers=1)) == computed
    assert computed[-1] == [(0, []), (0, []), (0, [])]
    with_cache = list(paper_terms(papers, cache, workers=1))
    assert with_cache == computed


def _same_parts(a: search.IndexParts, b: search.IndexParts) -> bool:
    return (a.vocabulary, a.documents, a.refs) == (b.vocabulary, b.documents, b.refs) and all(
        np.array_equal(getattr(a, name), getattr(b, name))
        for name in ("entry_vector", "entry_term", "entry_score")
    )


def test_the_terms_snapshot_indexes_as_from_scratch_and_reads_only_new_papers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Edits (with words no paper had), a removal, a mass edit, then enough edits that the
    snapshot's numbering is mostly terms nobody uses and it is renumbered: every index equals
    the one built from all the papers' terms, and each edit reads the edited papers' only."""
    papers = list(merge_records(load_records([SEEDS])))
    cache = ContentCache(tmp_path / "cache")
    asked: list[int] = []
    real_paper_terms = search_terms.paper_terms

    def counted(chosen: Sequence[Paper], *args: object, **kwargs: object) -> object:
        asked.append(len(chosen))
        return real_paper_terms(chosen, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(search_terms, "paper_terms", counted)

    def check() -> None:
        from_scratch = index_parts(terms_of_chunk([field_texts(p) for p in papers]))
        built = search.numbered_index_parts(*numbered_terms(papers, cache, workers=1))
        assert _same_parts(built, from_scratch)

    check()
    assert asked == [len(papers)]
    renumbered = 0
    for round_ in range(40):
        asked.clear()
        if round_ == 3:
            del papers[5]
        elif round_ == 5:  # more than 1 paper in 20: numbered from scratch
            for i in range(10):
                papers[i] = replace(papers[i], abstract=f"Mass edit {i}. {papers[i].abstract}")
        else:
            i = (round_ * 7) % len(papers)
            words = " ".join(f"zyx{round_}w{n}" for n in range(200))
            papers[i] = replace(papers[i], abstract=f"{words} {papers[i].abstract}")
        check()
        assert asked == [{3: 0, 5: len(papers)}.get(round_, 1)] or asked == [len(papers)]
        renumbered += asked == [len(papers)]
        if round_ < 3:
            assert asked == [1]
    assert renumbered >= 1
    snapshot = cache.get_pickled("search-terms", search_terms.SNAPSHOT_VERSION)
    assert len(snapshot.terms) <= search_terms.STALE_TERMS * snapshot.fresh_terms


def test_shard_vectors_are_written_as_json_would_write_them(
    seed_texts: list[tuple[str, ...]],
) -> None:
    parts = index_parts(terms_of_chunk(seed_texts))
    shards = list(split_by_term(parts, max_shards=8))
    for shard in shards:
        expected = json.dumps(
            search._shard_vectors(parts, shard.entries, shard.first),
            ensure_ascii=False,
            separators=(",", ":"),
        )
        assert search.shard_vectors_json(parts, shard.entries, shard.first) == expected
    assert search.shard_vectors_json(parts, shards[0].entries[:0]) == "[]"


def test_shards_partition_terms_and_vector_entries(seed_texts: list[tuple[str, ...]]) -> None:
    terms = terms_of_chunk(seed_texts)
    index = assemble_index(terms)
    parts = index_parts(terms)
    shards = list(split_by_term(parts, max_shards=8))
    assert len(shards) > 3
    bodies = [json.loads(shard_body(parts, s)) for s in shards]
    assert [t for b in bodies for t, _ in b["invertedIndex"]] == [
        t for t, _ in index["invertedIndex"]
    ]
    for body in bodies:
        assert [p["_index"] for _, p in body["invertedIndex"]] == list(
            range(len(body["invertedIndex"]))
        )
    for before, after in itertools.pairwise(shards):
        assert before.last + 1 == after.first
    entries = sum(len(v) for b in bodies for _, v in b["fieldVectors"])
    assert entries == sum(len(v) for _, v in index["fieldVectors"])


def test_an_edit_changes_only_the_shards_of_its_terms(seed_texts: list[tuple[str, ...]]) -> None:
    """Shard ends are content-defined, so an edit that leaves the abstract's length as it was
    leaves every shard without its old or new terms byte-identical, numbering included."""
    edited = list(seed_texts)
    title, keyphrases, abstract = edited[40]
    word = abstract.split()[5]
    edited[40] = (title, keyphrases, abstract.replace(word, "zebrafish", 1))

    def shard_files(texts: list[tuple[str, ...]]) -> list[tuple[str, str, str]]:
        parts = index_parts(terms_of_chunk(texts))
        return [
            (parts.vocabulary[s.first], parts.vocabulary[s.last], shard_body(parts, s))
            for s in split_by_term(parts, max_shards=40, min_bytes=1000)
        ]

    before, after = shard_files(seed_texts), shard_files(edited)
    assert len(before) == len(after) > 20
    old_terms, new_terms = (
        {tuple(t) for t in terms_of_chunk([texts[40]])[0][2][1]} for texts in (seed_texts, edited)
    )
    touched = {term for term, _ in old_terms ^ new_terms}
    assert "zebrafish" in touched
    changed = [(b[0], b[1]) for b, a in zip(before, after, strict=True) if b != a]
    assert 0 < len(changed) <= len(touched)
    assert all(any(first <= t <= last for t in touched) for first, last in changed)


def test_a_new_first_term_changes_no_other_shards_fingerprint(
    seed_texts: list[tuple[str, ...]],
) -> None:
    """A shard's fingerprint decides whether its file is made again: a term added near the start
    of the vocabulary renumbers every later term, but no later shard's file, so it must not
    change their fingerprints either (it did: every later shard was made again)."""
    edited = list(seed_texts)
    title, keyphrases, abstract = edited[40]
    word = abstract.split()[5]
    edited[40] = (title, keyphrases, abstract.replace(word, "aardvark", 1))  # the same length

    def shards(texts: list[tuple[str, ...]]) -> dict[tuple[str, str], tuple[str, str]]:
        parts = index_parts(terms_of_chunk(texts))
        return {
            (parts.vocabulary[s.first], parts.vocabulary[s.last]): (
                s.fingerprint(parts),
                shard_body(parts, s),
            )
            for s in split_by_term(parts, max_shards=40, min_bytes=1000)
        }

    before, after = shards(seed_texts), shards(edited)
    assert all(first > "aardvark" for first, _ in before.keys() - after.keys())
    same_bodies = {k for k in before.keys() & after.keys() if before[k][1] == after[k][1]}
    same_fingerprints = {k for k in before.keys() & after.keys() if before[k][0] == after[k][0]}
    assert len(same_bodies) > len(before) // 2
    assert same_fingerprints == same_bodies


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
    keys = [shard[3] for shard in manifest["shards"]]
    assert len(set(keys)) == len(keys)
    assert {p.name for p in seeds_site.glob("search/terms-*.js")} == {f"terms-{k}.js" for k in keys}
    docs = []
    for path in sorted(seeds_site.glob("search/docs-*.js"), key=lambda p: int(p.stem[5:])):
        payload = re.match(r"digestSearchDocs\(\d+,(.*)\);\s*$", path.read_text(), re.S).group(1)
        docs.extend(json.loads(payload))
    assert len(docs) == 77
    for doc in docs:
        assert (seeds_site / doc["p"]).is_file()
        assert doc["t"] and doc["k"]


def test_a_shard_made_from_its_piece_is_the_shard_of_the_whole_index(
    seed_texts: list[tuple[str, ...]],
) -> None:
    """What a worker process gets is the piece, and it must write the same bytes."""
    parts = index_parts(terms_of_chunk(seed_texts))
    shards = list(split_by_term(parts, max_shards=40, min_bytes=1000))
    assert len(shards) > 20
    for shard in shards:
        expected = f'digestSearchTerms("k1",{shard_body(parts, shard)});\n'.encode()
        assert shard_script(shard_piece(parts, shard, "k1")) == expected


def test_the_index_made_on_worker_processes_is_the_one_made_in_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    papers = merge_records(load_records([SEEDS]))
    papers = tuple(replace(p, keyphrases=tuple(p.abstract.split()[2:8])) for p in papers)
    small = partial(search.split_by_term, max_shards=200, min_bytes=500)
    monkeypatch.setattr(search, "split_by_term", small)
    alone = [(p.path, p.content) for p in search.build_search_index(papers, (), workers=1)]
    monkeypatch.setattr(search, "POOL_SHARDS", 0)
    pooled = [(p.path, p.content) for p in search.build_search_index(papers, (), workers=2)]
    assert sum(path.startswith("search/terms-") for path, _ in alone) > 20
    assert pooled == alone


def test_document_shards_whose_papers_show_the_same_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "DOCS_PER_SHARD", 10)
    papers = tuple(merge_records(load_records([SEEDS])))
    memo = PageMemo()
    memo.begin(tmp_path, "base", Fingerprinter())
    for page in search.build_search_index(papers, (), memo=memo):
        (tmp_path / page.path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / page.path).write_bytes(page.content)
    memo.commit()
    edited = (*papers[:25], replace(papers[25], title="Otters in the title"), *papers[26:])
    memo.begin(tmp_path, "base", Fingerprinter())
    pages = {page.path: page for page in search.build_search_index(edited, (), memo=memo)}
    fresh = {page.path: page.content for page in search.build_search_index(edited, ())}
    docs = sorted(path for path in pages if path.startswith("search/docs-"))
    assert len(docs) == 8
    assert [path for path in docs if not pages[path].unchanged] == ["search/docs-2.js"]
    assert b"Otters in the title" in pages["search/docs-2.js"].content
    assert {path: pages[path].content for path in docs} == {path: fresh[path] for path in docs}
