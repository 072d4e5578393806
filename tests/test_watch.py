"""The watcher's rules and debouncer: which changes count, and one batch per burst."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from digest.watch import Debouncer, IgnoreRules, SiteWatcher, WatchTarget, is_editor_temp


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for folder in ("seeds", "site", ".digest-cache", "templates"):
        (tmp_path / folder).mkdir()
    return tmp_path.resolve()


def _rules(project: Path) -> IgnoreRules:
    return IgnoreRules.for_site(project / "site", project / ".digest-cache")


@pytest.mark.parametrize(
    "name", ["paper.txt.swp", ".paper.txt.swp", "paper.txt~", ".#paper.txt", "4913", "#x#"]
)
def test_editor_temp_files_are_recognised(name: str) -> None:
    assert is_editor_temp(name)


@pytest.mark.parametrize("name", ["paper.txt", "papers.jsonl.gz", "notes.md", "49130", "a~b"])
def test_ordinary_files_are_not_editor_temp_files(name: str) -> None:
    assert not is_editor_temp(name)


def test_source_changes_count_but_editor_and_hidden_files_do_not(project: Path) -> None:
    rules, target = _rules(project), WatchTarget(project)
    assert not rules.ignores(project / "seeds" / "paper.txt", target)
    assert not rules.ignores(project / "templates" / "base.html", target)
    for ignored in ("seeds/paper.txt.swp", "seeds/4913", "seeds/.#paper.txt", ".git/index"):
        assert rules.ignores(project / ignored, target), ignored


def test_the_builds_own_output_and_the_cache_never_count(project: Path) -> None:
    rules, target = _rules(project), WatchTarget(project)
    for ignored in (
        "site",
        "site/index.html",
        "site/papers/x.html",
        ".site.new-1234/index.html",
        ".site.old-1234",
        ".digest-cache/cache.sqlite3-journal",
    ):
        assert rules.ignores(project / ignored, target), ignored
    assert not rules.ignores(project / "site-notes.txt", target)
    assert not rules.ignores(project / "seeds" / "site.new-1.txt", target)


def test_output_folder_inside_a_visible_source_folder_is_still_ignored(project: Path) -> None:
    rules = IgnoreRules.for_site(project / "seeds" / "site", project / ".digest-cache")
    target = WatchTarget(project / "seeds")
    assert rules.ignores(project / "seeds" / "site" / "index.html", target)
    assert rules.ignores(project / "seeds" / ".site.new-7" / "index.html", target)
    assert not rules.ignores(project / "seeds" / "paper.txt", target)


def test_a_hidden_parent_above_the_watched_folder_does_not_hide_everything(tmp_path: Path) -> None:
    root = (tmp_path / ".papers").resolve()
    rules = IgnoreRules.for_site(tmp_path / "site", tmp_path / "cache")
    assert not rules.ignores(root / "paper.txt", WatchTarget(root))


def test_a_single_file_target_only_sees_that_file(project: Path) -> None:
    config = project / "digest.toml"
    target = WatchTarget.for_path(config)
    assert (target.folder, target.recursive, target.only) == (project, False, "digest.toml")
    rules = _rules(project)
    assert not rules.ignores(config, target)
    assert rules.ignores(project / "other.toml", target)
    assert rules.ignores(project / "seeds" / "digest.toml", target)


def test_a_burst_of_changes_is_one_batch() -> None:
    debouncer = Debouncer(quiet=0.2)
    paths = [Path(f"/p/{i}.txt") for i in range(20)]
    for path in paths:
        debouncer.add(path)
        time.sleep(0.005)
    started = time.monotonic()
    batch = debouncer.next_batch(timeout=2.0)
    assert batch == frozenset(paths)
    assert time.monotonic() - started >= 0.1
    assert debouncer.next_batch(timeout=0.3) is None


def test_changes_arriving_while_waiting_extend_the_quiet_period() -> None:
    debouncer = Debouncer(quiet=0.3)

    def trickle() -> None:
        for i in range(5):
            debouncer.add(Path(f"/p/{i}"))
            time.sleep(0.1)

    thread = threading.Thread(target=trickle)
    thread.start()
    batch = debouncer.next_batch(timeout=3.0)
    thread.join()
    assert batch is not None and len(batch) == 5


def test_bursts_separated_by_quiet_time_are_separate_batches() -> None:
    debouncer = Debouncer(quiet=0.05)
    debouncer.add(Path("/a"))
    assert debouncer.next_batch(timeout=1.0) == {Path("/a")}
    debouncer.add(Path("/b"))
    assert debouncer.next_batch(timeout=1.0) == {Path("/b")}


def test_a_file_rewritten_forever_is_still_built_after_max_wait() -> None:
    now = [0.0]
    debouncer = Debouncer(quiet=0.5, max_wait=2.0, clock=lambda: now[0])
    for step in range(30):
        now[0] = step * 0.1
        debouncer.add(Path(f"/p/{step}"))
    now[0] = 2.95
    batch = debouncer.next_batch(timeout=0.0)
    assert batch is not None and len(batch) == 30


def test_next_batch_times_out_empty_and_close_wakes_a_waiter() -> None:
    debouncer = Debouncer(quiet=0.05)
    assert debouncer.next_batch(timeout=0.05) is None
    results: list[object] = []
    waiter = threading.Thread(target=lambda: results.append(debouncer.next_batch(timeout=10)))
    waiter.start()
    time.sleep(0.1)
    debouncer.close()
    waiter.join(timeout=1.0)
    assert not waiter.is_alive() and results == [None]


def test_watcher_reports_a_save_and_a_rename_into_place_but_not_output(project: Path) -> None:
    seen: list[Path] = []
    watcher = SiteWatcher(seen.append)
    watcher.watch([WatchTarget(project / "seeds"), WatchTarget(project)], _rules(project))
    try:
        (project / "seeds" / ".paper.txt.tmp").write_text("draft")
        (project / "seeds" / ".paper.txt.tmp").rename(project / "seeds" / "paper.txt")
        (project / "site" / "index.html").write_text("built")
        (project / "seeds" / "paper.txt.swp").write_text("swap")
        deadline = time.monotonic() + 3
        while project / "seeds" / "paper.txt" not in seen and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)
    finally:
        watcher.stop()
    assert project / "seeds" / "paper.txt" in seen
    assert all("site" not in p.parts and not p.name.endswith((".swp", ".tmp")) for p in seen)
