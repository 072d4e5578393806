"""Rendering in worker processes: the same bytes and records as one process, errors reported
the same way, and no worker left behind when a build stops early.

The seeds' 116 pages are below the size at which a build starts workers, so these tests lower
that threshold; the 2,000-paper browser test (``test_search_scale``) renders in workers as is.
"""

from __future__ import annotations

import multiprocessing
from dataclasses import replace
from pathlib import Path

import pytest

import digest.page_memo
from digest.build import build
from digest.build_state import BuildState
from digest.cli import EXIT_FAILED, main
from digest.fingerprint import Fingerprinter
from digest.page_maker import PageMaker
from digest.page_memo import PageMemo
from digest.render import make_environment, render_site
from tests.conftest import built_as_cold, corpus_config, edit_seed, site_files


@pytest.fixture
def in_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(digest.page_memo, "POOL_THRESHOLD", 0)


def test_workers_render_the_bytes_and_records_of_one_process(
    corpus: Path, tmp_path: Path, in_workers: None
) -> None:
    """Both builds write into the same folder (records cover it) with their own caches."""
    alone, pooled = BuildState(), BuildState()
    config = corpus_config(corpus, tmp_path / "site", workers=1)
    build(replace(config, cache_dir=tmp_path / "cache-1"), state=alone)
    (tmp_path / "site").rename(tmp_path / "alone")
    build(replace(config, cache_dir=tmp_path / "cache-2", workers=2), state=pooled)
    one, two = site_files(tmp_path / "alone"), site_files(tmp_path / "site")
    assert one.keys() == two.keys() and len(one) > 100
    assert [p for p in one if one[p] != two[p]] == []
    assert alone.pages.records == pooled.pages.records
    assert pooled.pages.rendered == alone.pages.rendered > 100


def test_workers_keep_unchanged_pages_and_a_rebuild_equals_a_cold_build(
    corpus: Path, tmp_path: Path, in_workers: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = BuildState()
    config = corpus_config(corpus, tmp_path / "site", workers=2)
    build(config, state=state)
    edit_seed(corpus)
    made_here: list[str] = []
    real_make = PageMaker.make
    monkeypatch.setattr(  # in this process only: the workers import their own
        PageMaker,
        "make",
        lambda self, job, *a: made_here.append(job.path) or real_make(self, job, *a),
    )
    build(config, state=state)
    monkeypatch.undo()
    assert state.pages.kept > 10 * state.pages.rendered > 0
    assert made_here == []  # pages were checked here, and rendered by the workers

    cold = replace(config, out=tmp_path / "cold", cache_dir=tmp_path / "cold-cache", workers=1)
    rebuilt = built_as_cold(tmp_path / "site", cold)
    assert any(b"Otters study conditions" in content for content in rebuilt.values())


def test_a_template_error_in_workers_is_reported_as_without_them(
    corpus: Path, tmp_path: Path, in_workers: None, capsys: pytest.CaptureFixture[str]
) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "paper.html").write_text(
        '{% extends "base.html" %}\n{% block main %}\n{{ paper.no_such_field }}\n{% endblock %}\n',
        encoding="utf-8",
    )
    errors = []
    for workers in (1, 2):
        out = tmp_path / f"site-{workers}"
        args = ["build", "--source", str(corpus), "--out", str(out), "--quiet"]
        config = tmp_path / f"digest-{workers}.toml"
        config.write_text(f'templates = "{templates}"\nworkers = {workers}\n', encoding="utf-8")
        assert main([*args, "--config", str(config)]) == EXIT_FAILED
        errors.append(capsys.readouterr().err.splitlines())
        assert not out.exists()
    assert errors[0] == errors[1]
    assert len(errors[0]) == 1 and "no_such_field" in errors[0][0]


def test_stopping_early_leaves_no_worker_running(
    corpus: Path, tmp_path: Path, in_workers: None
) -> None:
    """What an interrupted build or a cancelled serve rebuild does to the render stage."""
    config = corpus_config(corpus, tmp_path / "site", workers=2)
    state = BuildState()
    build(config, state=state)
    digest_shown = state.digest
    assert digest_shown is not None
    memo = PageMemo()  # no records: every page is left to the workers
    memo.begin(config.out.resolve(), "base", Fingerprinter())
    pages = render_site(digest_shown, config, make_environment(config), memo)
    first = [next(pages) for _ in range(5)]
    assert multiprocessing.active_children()
    pages.close()
    assert [p.path for p in first][:2] == ["index.html", "search.html"]
    assert multiprocessing.active_children() == []


def test_workers_start_only_when_enough_pages_are_left_to_render(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unchanged pages are found in the build process: a small edit renders its few pages
    there rather than sending the digest to workers (seconds at 10,000 papers)."""
    monkeypatch.setattr(digest.page_memo, "POOL_THRESHOLD", 50)
    pooled: list[int] = []
    real = digest.page_memo.render_in_workers

    def counted(jobs, *args):  # type: ignore[no-untyped-def]
        pooled.append(len(jobs))
        return real(jobs, *args)

    monkeypatch.setattr(digest.page_memo, "render_in_workers", counted)
    state = BuildState()
    config = corpus_config(corpus, tmp_path / "site", workers=2)
    build(config, state=state)
    assert len(pooled) == 1 and pooled[0] == state.pages.rendered > 100
    edit_seed(corpus)
    heard: list[tuple[str, int, int]] = []
    build(config, state=state, progress=lambda *report: heard.append(report))
    assert len(pooled) == 1
    pages = state.pages.kept + state.pages.rendered
    checks = [(done, total) for stage, done, total in heard if stage == "check pages"]
    assert checks[-1] == (pages, pages)  # reported before the first page comes out
    assert heard.index(("check pages", pages, pages)) < heard.index(("render", 1, pages))
    assert 50 > state.pages.rendered > 0 and state.pages.kept > 100
    cold = replace(config, out=tmp_path / "cold", cache_dir=tmp_path / "cold-cache", workers=1)
    built_as_cold(tmp_path / "site", cold)
