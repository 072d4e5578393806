"""Page records in their stored form: what is saved loads back as it was, and saving after an
edit re-encodes only the records that changed; checking by their numbers, and by sources."""

from __future__ import annotations

import hashlib
import itertools
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import digest.page_memo
from digest.build import BuildReport, build
from digest.config import Config
from digest.page_maker import PageMaker, PageRecord
from digest.page_memo import PageMemo
from tests.conftest import built_as_cold, corpus_config, edit_seed, site_files


def _record(n: int, deps: int = 30) -> PageRecord:
    shared = [("keyphrase_path_by_text", "item", f"phrase {(n + d) % 500}") for d in range(deps)]
    digest = hashlib.sha256(str(n).encode()).hexdigest()
    return PageRecord((("paper_count", "all", ""), *shared), digest, digest[::-1])


def _reloaded(memo: PageMemo) -> PageMemo:
    again = PageMemo()
    again.load(pickle.loads(pickle.dumps(memo.stored())))
    return again


def test_records_saved_after_edits_load_back_as_they_were() -> None:
    memo = PageMemo(records={f"papers/{n}.html": _record(n) for n in range(200)})
    memo = _reloaded(memo)
    for round_ in range(50):  # each edit brings dependencies no page had
        memo.records[f"papers/{round_}.html"] = _record(10_000 + round_, deps=40)
        expected = dict(memo.records)
        memo = _reloaded(memo)
        assert memo.records == expected


def test_saving_after_an_edit_keeps_the_other_records_bytes() -> None:
    memo = _reloaded(PageMemo(records={f"papers/{n}.html": _record(n) for n in range(200)}))
    before = memo.stored()
    memo.records["papers/7.html"] = _record(7_777)
    after = memo.stored()
    changed = [p for p in after.pages if after.pages[p] is not before.pages[p]]
    assert changed == ["papers/7.html"]
    assert after.deps[: len(before.deps)] == before.deps


def test_the_dependency_table_is_renumbered_once_it_has_doubled() -> None:
    """Each edit leaves 30 numbers no page uses; the table is renumbered before it holds more
    than twice the dependencies in use (plus the edit's own)."""
    memo = _reloaded(PageMemo(records={f"papers/{n}.html": _record(n) for n in range(50)}))
    sizes = [len(memo.stored().deps)]
    for round_ in range(200):
        memo.records["papers/0.html"] = PageRecord(
            tuple(("keyphrase_path_by_text", "item", f"new {round_} {d}") for d in range(30)),
            "ab",
            "cd",
        )
        memo = _reloaded(memo)
        used = {dep for record in memo.records.values() for dep in record.deps}
        sizes.append(len(memo.stored().deps))
        assert len(used) <= sizes[-1] <= 2 * (len(used) + 30) + 30
    assert sum(1 for a, b in itertools.pairwise(sizes) if b < a) >= 3


def test_checking_by_stored_dependency_numbers_finds_the_pages_looking_up_deps_finds(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large site's check reads each dependency's digest by its number in the stored table;
    the pages it finds unchanged are exactly those found by looking each one up."""
    monkeypatch.setattr(digest.page_memo, "POOL_THRESHOLD", 60)  # pages checked, not rendered
    checked: list[int] = []
    stored_digests = PageMemo._stored_dep_digests

    def counted(self: PageMemo, site: Any) -> Any:
        found = stored_digests(self, site)
        checked.append(0 if found is None else len(self.records))
        return found

    monkeypatch.setattr(PageMemo, "_stored_dep_digests", counted)
    rendered = _paths_through(monkeypatch, "_render")
    monkeypatch.setattr(PageMemo, "_unchanged_by_sources", lambda self: None)  # every page
    config = corpus_config(corpus, tmp_path / "site", cache_dir=tmp_path / "cache")
    build(config)
    edit_seed(corpus)
    rendered.clear()
    fast_rendered: list[str] = []

    def by_lookup() -> None:
        assert checked[-1] > 100
        fast_rendered.extend(rendered)
        monkeypatch.setattr(PageMemo, "_stored_dep_digests", lambda self, site: None)
        checked.clear()
        rendered.clear()

    fast, fast_site, slow = _rebuilt_both_ways(tmp_path, config, by_lookup)
    assert checked == []
    assert 0 < len(rendered) < 40
    assert rendered == fast_rendered
    # of 136 files: the edited paper's pages and most of the 12 term shards
    assert 0 < fast.pages_written == slow.pages_written < 30
    assert fast.pages_unchanged == slow.pages_unchanged
    assert site_files(tmp_path / "site") == fast_site


def _paths_through(monkeypatch: pytest.MonkeyPatch, method: str) -> list[str]:
    """The paths of the pages ``PageMaker.<method>`` is called for, from now on."""
    paths: list[str] = []
    original = getattr(PageMaker, method)

    def noted(self: PageMaker, job: Any, *args: Any) -> Any:
        paths.append(job.path)
        return original(self, job, *args)

    monkeypatch.setattr(PageMaker, method, noted)
    return paths


def _rebuilt_both_ways(
    tmp_path: Path, config: Config, between: Callable[[], None]
) -> tuple[BuildReport, dict[str, bytes], BuildReport]:
    """A build of ``config`` (its output and cache under ``tmp_path``) with its site's files,
    then, after ``between``, the same build again from the folder as it was before the first."""
    saved = tmp_path.with_name(tmp_path.name + "-saved")
    shutil.copytree(tmp_path, saved, copy_function=shutil.copy2)
    first = build(config)
    first_site = site_files(config.out)
    shutil.rmtree(tmp_path)
    shutil.copytree(saved, tmp_path, copy_function=shutil.copy2)
    between()
    return first, first_site, build(config)


def _drop_last_abstract(corpus: Path) -> None:
    path = corpus / "001_f226d2ab07393558.txt"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:-1]))


def _add_abstract(corpus: Path) -> None:
    (corpus / "zz_new.txt").write_text(
        "Otters use graph neural networks to find fish; we show that diffusion models of the "
        "river help large language models plan a dive.\n"
    )


@pytest.mark.parametrize("edit", [_drop_last_abstract, _add_abstract])
def test_a_rebuild_checks_only_the_pages_whose_sources_changed(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: Any
) -> None:
    """Paper and keyphrase pages none of whose sources (papers, related lists, themes,
    keyphrases) nor site entries changed are kept without a check, after a first build and
    after a rebuild; after a rebuild that adds or drops a paper, the site is byte for byte the
    one checking every page gives, and the one a cold build gives."""
    monkeypatch.setattr(digest.page_memo, "POOL_THRESHOLD", 60)  # the check of large sites
    checks = _paths_through(monkeypatch, "fresh")
    config = corpus_config(corpus, tmp_path / "site", cache_dir=tmp_path / "cache")
    build(config)
    edit_seed(corpus)
    checks.clear()
    build(config)
    assert 0 < len(checks) < 40  # of 118 pages
    edit(corpus)
    checks.clear()
    checked_by_sources: list[str] = []

    def every_page_checked() -> None:
        checked_by_sources.extend(checks)
        monkeypatch.setattr(PageMemo, "_unchanged_by_sources", lambda self: None)
        checks.clear()

    by_sources, site, every_page = _rebuilt_both_ways(tmp_path, config, every_page_checked)
    assert len(checks) > 100
    # all 77 papers are in the theme sample: adding or dropping one fits the themes again
    assert 0 < len(checked_by_sources) < len(checks)
    assert by_sources.pages_written == every_page.pages_written > 0
    assert site_files(tmp_path / "site") == site
    cold = corpus_config(corpus, tmp_path / "cold", cache_dir=tmp_path / "cold-cache")
    assert built_as_cold(tmp_path / "site", cold) == site


def test_a_text_entry_the_page_read_makes_it_stale_when_it_changes() -> None:
    """Text entries are joined as they are, not hashed: ones that would run together if
    joined plainly stay apart, and any change to the text is seen."""
    from digest.render import RenderJob, _as_context
    from digest.tracked_site import TrackedSite

    deps = (("paths", "item", "a"), ("paths", "item", "b"))
    job = RenderJob("page.html", "page.html", {"n": 1}, _as_context)

    def fingerprint(paths: dict[str, str]) -> str:
        maker = PageMaker(None, b"base")
        return maker._fingerprint(TrackedSite({"paths": paths}), job, deps)

    first = fingerprint({"a": "x", "b": "yz"})
    assert fingerprint({"a": "x", "b": "yz"}) == first
    assert fingerprint({"a": "xy", "b": "z"}) != first
    assert fingerprint({"a": "x", "b": "y"}) != first
    assert fingerprint({"a": "x"}) != first  # an entry gone
    assert fingerprint({"a": "x"}) == fingerprint({"a": "x"})
    assert fingerprint({"a": "x"}) != fingerprint({"b": "x"})
    assert fingerprint({"a": "x", "b": ""}) != fingerprint({"a": "x"})
    assert fingerprint({"a": "x", "b": ("yz",)}) != first  # not text: digested


def test_a_stored_form_naming_a_dependency_it_lacks_is_not_loaded() -> None:
    """A damaged cache entry is ignored as a whole (pages are made again), not read halfway."""
    memo = PageMemo(records={f"papers/{n}.html": _record(n) for n in range(20)})
    stored = memo.stored()
    damaged = stored._replace(deps=stored.deps[:5])
    again = PageMemo()
    again.load(damaged)
    assert again.records == {}
    again.load(pickle.loads(pickle.dumps(stored)))
    assert again.records == memo.records
    assert all(type(r.deps) is not tuple for r in again.records.values())  # read when asked
    sent = pickle.loads(pickle.dumps(again.records["papers/3.html"]))  # as to a worker
    assert sent == memo.records["papers/3.html"]
    assert type(sent.deps) is tuple
