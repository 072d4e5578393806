import json
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from digest.output import MARKER, OutputError, Page, write_site


def _pages(version: str) -> list[Page]:
    return [
        Page("index.html", f"home {version}".encode()),
        Page("papers/a.html", b"paper a"),
    ]


def test_writes_pages_and_marks_the_folder(tmp_path: Path) -> None:
    out = tmp_path / "site"
    stats = write_site(out, _pages("1"), [])
    assert (out / "index.html").read_text() == "home 1"
    assert json.loads((out / MARKER).read_text())["files"] == ["index.html", "papers/a.html"]
    assert stats.written == 2


def test_unchanged_files_keep_their_inode_and_changed_ones_are_rewritten(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write_site(out, _pages("1"), [])
    before = (out / "papers/a.html").stat().st_ino
    stats = write_site(out, _pages("2"), [])
    assert (out / "papers/a.html").stat().st_ino == before
    assert (out / "index.html").read_text() == "home 2"
    assert (stats.written, stats.unchanged) == (1, 1)


def test_refuses_a_non_empty_folder_digest_did_not_create(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    with pytest.raises(OutputError, match="not created by digest"):
        write_site(out, _pages("1"), [])
    assert (out / "thesis.tex").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_files_the_user_added_to_the_site_are_kept(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write_site(out, _pages("1"), [])
    (out / "CNAME").write_text("papers.example.org")
    write_site(out, _pages("2"), [])
    assert (out / "CNAME").read_text() == "papers.example.org"


def test_user_folders_and_symlinks_in_the_site_are_kept_as_they_are(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write_site(out, _pages("1"), [])
    (out / "slides" / "2026").mkdir(parents=True)
    (out / "slides" / "2026" / "talk.pdf").write_bytes(b"%PDF")
    (out / "latest.pdf").symlink_to("slides/2026/talk.pdf")
    (out / "dangling").symlink_to("nowhere")
    write_site(out, _pages("2"), [])
    assert (out / "slides" / "2026" / "talk.pdf").read_bytes() == b"%PDF"
    assert (out / "latest.pdf").is_symlink() and (out / "latest.pdf").read_bytes() == b"%PDF"
    assert os.readlink(out / "dangling") == "nowhere"
    assert (out / "index.html").read_text() == "home 2"


def test_a_user_file_where_the_new_site_needs_one_stops_the_build(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write_site(out, [Page("index.html", b"x")], [])
    (out / "papers").mkdir()
    (out / "papers/a.html").write_text("mine")
    with pytest.raises(OutputError, match="was not written by digest"):
        write_site(out, _pages("1"), [])
    assert (out / "papers/a.html").read_text() == "mine"


def test_a_failing_build_leaves_the_previous_site_whole(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write_site(out, _pages("1"), [])

    def broken() -> "list[Page]":
        yield Page("index.html", b"half")
        raise RuntimeError("template exploded")

    with pytest.raises(RuntimeError):
        write_site(out, broken(), [])
    assert (out / "index.html").read_text() == "home 1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_static_files_are_copied_under_static(tmp_path: Path) -> None:
    static = tmp_path / "assets"
    (static / "css").mkdir(parents=True)
    (static / "css/site.css").write_text("body{}")
    write_site(tmp_path / "site", _pages("1"), [static])
    assert (tmp_path / "site/static/css/site.css").read_text() == "body{}"


def _site(version: str, removed: str = "") -> list[Page]:
    """Eight pages, one of which says ``version``: a rebuild that changes one page."""
    pages = [Page(f"papers/p{n}.html", f"paper {n}".encode()) for n in range(6)]
    pages += [Page("themes/t.html", b"theme"), Page("index.html", f"home {version}".encode())]
    return [p for p in pages if p.path != removed]


def _inodes(out: Path) -> dict[str, int]:
    return {p.relative_to(out).as_posix(): p.stat().st_ino for p in out.rglob("*") if p.is_file()}


def test_a_rebuild_changing_few_files_moves_just_those_in(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write_site(out, _site("1"), [])
    (out / "CNAME").write_text("papers.example.org")
    before = _inodes(out)
    stats = write_site(out, _site("2"), [])
    after = _inodes(out)
    assert (stats.written, stats.unchanged) == (1, 7)
    assert (out / "index.html").read_text() == "home 2"
    assert {rel for rel in after if after[rel] != before.get(rel)} == {"index.html", MARKER}
    assert (out / "CNAME").read_text() == "papers.example.org"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_a_page_gone_from_the_site_is_removed_with_its_empty_folder(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write_site(out, _site("1"), [])
    write_site(out, _site("1", removed="themes/t.html"), [])
    assert not (out / "themes").exists()
    assert "themes/t.html" not in json.loads((out / MARKER).read_text())["files"]
    assert (out / "papers/p0.html").read_text() == "paper 0"


def test_a_user_file_with_the_bytes_of_a_new_page_is_not_taken_over(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write_site(out, _site("1"), [])
    (out / "about.html").write_text("mine")
    with pytest.raises(OutputError, match="was not written by digest"):
        write_site(out, [*_site("2"), Page("about.html", b"mine")], [])
    assert (out / "index.html").read_text() == "home 1"
    assert "about.html" not in json.loads((out / MARKER).read_text())["files"]


def _second_build_with(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    before_rename: Callable[[int], None],
    raises: type[BaseException],
) -> Path:
    """Build ``_site("1")``, then ``_site("2")`` with ``before_rename(n)`` called before the
    commit's n-th rename; returns the site folder once that build raised ``raises``."""
    out = tmp_path / "site"
    write_site(out, _site("1"), [])
    real_replace = os.replace
    calls = 0

    def replace(source: object, target: object) -> None:
        nonlocal calls
        calls += 1
        before_rename(calls)
        real_replace(source, target)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(raises):
        write_site(out, _site("2"), [])
    monkeypatch.undo()
    return out


def test_an_error_while_moving_files_in_puts_the_old_ones_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail_fourth(n: int) -> None:
        if n == 4:  # the old index and marker are aside, the new index is in
            raise OSError("disk gone")

    out = _second_build_with(tmp_path, monkeypatch, fail_fourth, OSError)
    assert (out / "index.html").read_text() == "home 1"
    assert json.loads((out / MARKER).read_text())["files"] == sorted(p.path for p in _site("1"))
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".site.new")) == []


def test_ctrl_c_during_the_commit_waits_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def ctrl_c(n: int) -> None:
        os.kill(os.getpid(), signal.SIGINT)

    out = _second_build_with(tmp_path, monkeypatch, ctrl_c, KeyboardInterrupt)
    assert (out / "index.html").read_text() == "home 2"
    assert "index.html" in json.loads((out / MARKER).read_text())["files"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]  # nothing left beside it
