"""A rebuild lays out the theme map and makes the search index, catalog and feeds in a forked
process while it renders, and extracts new abstracts' keyphrases on a worker forked when it
starts."""

from __future__ import annotations

import logging
import multiprocessing
import sqlite3
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import digest.catalog
import digest.pipeline
from digest import ranking
from digest.build import build
from digest.forked_pages import ForkedPages
from digest.forked_worker import ForkedWorker, can_fork
from tests.conftest import built_as_cold, corpus_config, edit_seed, site_files


def _stored_ranking(cache_dir: Path) -> bytes:
    with sqlite3.connect(cache_dir / "cache.sqlite3") as conn:
        sql = "SELECT value FROM blobs WHERE kind = 'keyphrase-ranking'"
        return bytes(conn.execute(sql).fetchone()[0])


class _Spy:
    def __init__(self) -> None:
        self.made: list[ForkedPages] = []

    def __call__(self, *args: Any, **kwargs: Any) -> ForkedPages:
        forked = ForkedPages(*args, **kwargs)
        self.made.append(forked)
        return forked


def test_a_rebuild_makes_the_same_site_with_the_search_index_made_in_a_second_process(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert threading.active_count() == 1, threading.enumerate()
    spy = _Spy()
    monkeypatch.setattr(digest.pipeline, "ForkedPages", spy)
    config = corpus_config(corpus, tmp_path / "site", cache_dir=tmp_path / "cache", workers=2)
    build(config)
    assert spy.made == []  # a cold build renders on every core already
    ranking_before = _stored_ranking(tmp_path / "cache")
    edit_seed(corpus)
    heard: list[str] = []
    report = build(config, progress=lambda stage, done, total: heard.append(stage))
    assert len(spy.made) == 1
    assert not spy.made[0]._process.is_alive()
    assert spy.made[0]._first is not None  # the theme map, laid out by the child
    # the keyphrase ranking's snapshot, left for later, was written by the child
    ranking_after = _stored_ranking(tmp_path / "cache")
    assert ranking_after != ranking_before and ranking._loaded(ranking_after) is not None
    assert {"render", "search"} <= set(heard)  # the child's progress reached this process
    assert 0 < report.pages_written < 30  # of 136: its pages and most of the 12 term shards
    cold = corpus_config(corpus, tmp_path / "cold", cache_dir=tmp_path / "cold-cache")
    site = built_as_cold(tmp_path / "site", cold)
    assert "Otters study conditions" in site["papers.json"].decode()
    assert multiprocessing.active_children() == []


def test_an_error_in_the_second_process_fails_the_build_and_leaves_the_site(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = corpus_config(corpus, tmp_path / "site", cache_dir=tmp_path / "cache", workers=2)
    build(config)
    before = site_files(tmp_path / "site")

    def broken(*args: Any) -> Any:
        raise ValueError("the catalog broke")

    monkeypatch.setattr(digest.pipeline, "build_catalog", broken)
    edit_seed(corpus)
    with pytest.raises(ValueError, match="the catalog broke"):
        build(config)
    assert site_files(tmp_path / "site") == before
    assert multiprocessing.active_children() == []
    monkeypatch.setattr(digest.pipeline, "build_catalog", digest.catalog.build_catalog)
    build(config)
    assert "Otters study conditions" in (tmp_path / "site" / "papers.json").read_text()


def test_no_fork_beside_other_threads_or_with_one_worker(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert can_fork(2)
    assert not can_fork(1)
    spy = _Spy()
    monkeypatch.setattr(digest.pipeline, "ForkedPages", spy)
    config = corpus_config(corpus, tmp_path / "site", cache_dir=tmp_path / "cache", workers=2)
    build(config)
    edit_seed(corpus)
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert not can_fork(2)
        build(config)
    finally:
        release.set()
        other.join()
    assert spy.made == []


def test_a_rebuild_extracts_the_edited_abstract_on_a_worker_forked_at_the_start(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[int] = []
    run = ForkedWorker.run

    def noted(self: ForkedWorker, fn: Any, chunks: Any) -> Any:
        ran.append(sum(len(chunk) for chunk in chunks))
        return run(self, fn, chunks)

    monkeypatch.setattr(ForkedWorker, "run", noted)
    assert threading.active_count() == 1, threading.enumerate()
    config = corpus_config(corpus, tmp_path / "site", cache_dir=tmp_path / "cache", workers=2)
    build(config)
    assert ran == []
    edit_seed(corpus)
    build(config)
    assert ran == [1]
    assert multiprocessing.active_children() == []
    cold = corpus_config(corpus, tmp_path / "cold", cache_dir=tmp_path / "cold-cache")
    built_as_cold(tmp_path / "site", cold)


def test_an_error_on_the_forked_worker_reaches_the_build_process() -> None:
    worker = ForkedWorker(lambda: None)
    try:
        assert list(worker.run(_lengths, [["ab", "c"], ["def"]])) == [[2, 1], [3]]
        with pytest.raises(ZeroDivisionError):
            list(worker.run(_divided, [[1, 0]]))
        assert list(worker.run(_lengths, [["again"]])) == [[5]]
    finally:
        worker.close()
    assert multiprocessing.active_children() == []


def _lengths(chunk: list[str]) -> list[int]:
    return [len(text) for text in chunk]


def _divided(chunk: list[int]) -> list[float]:
    return [1 / n for n in chunk]


def test_a_rebuild_after_a_config_change_makes_every_page_as_a_first_build_does(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every page changes, so the page records are not even read, and no helper is forked:
    pages render on every core as in a first build (a forked helper beside them would only
    add memory)."""
    assert threading.active_count() == 1, threading.enumerate()
    spy = _Spy()
    monkeypatch.setattr(digest.pipeline, "ForkedPages", spy)
    config = corpus_config(corpus, tmp_path / "site", cache_dir=tmp_path / "cache", workers=2)
    build(config)
    retitled = replace(config, title="Otter papers")
    report = build(retitled)
    assert spy.made == []
    assert report.pages_written > 100
    cold = replace(retitled, out=tmp_path / "cold", cache_dir=tmp_path / "cold-cache")
    site = built_as_cold(tmp_path / "site", cold)
    assert "Otter papers" in site["index.html"].decode()
    edit_seed(corpus)
    build(retitled)
    assert len(spy.made) == 1


def test_a_warning_in_the_second_process_is_reported_and_counted_once(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """``--strict`` counts the warnings of the build process: the child's come back to it."""
    assert threading.active_count() == 1, threading.enumerate()
    config = corpus_config(corpus, tmp_path / "site", cache_dir=tmp_path / "cache", workers=2)
    build(config)
    feeds = digest.pipeline.build_feeds

    def warning_feeds(*args: Any) -> Any:
        logging.getLogger("digest").warning("feeds: otters %s", "everywhere")
        return feeds(*args)

    spy = _Spy()
    monkeypatch.setattr(digest.pipeline, "ForkedPages", spy)
    monkeypatch.setattr(digest.pipeline, "build_feeds", warning_feeds)
    edit_seed(corpus)
    with caplog.at_level(logging.WARNING, logger="digest"):
        report = build(config)
    assert len(spy.made) == 1
    assert report.warnings == 1
    assert [r.getMessage() for r in caplog.records] == ["feeds: otters everywhere"]
