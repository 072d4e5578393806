"""serve's first look at edited papers: which changes qualify, which pages it rewrites, and that
the full build after it leaves exactly the site a cold build gives."""

import shutil
from dataclasses import replace
from pathlib import Path

from digest.build import build
from digest.build_state import BuildState
from digest.config import Config
from digest.model import Paper, Source
from digest.quick_preview import MAX_EDITED, edited_papers, preview_edits
from tests.conftest import SEEDS


def _paper(pid: str, abstract: str, line: int) -> Paper:
    return Paper(pid, "", True, abstract, (Source("a.txt", line),))


def _built(pid: str, abstract: str, line: int) -> Paper:
    return replace(_paper(pid, abstract, line), keyphrases=(f"{pid} phrase",), theme="t")


def test_only_edits_of_existing_papers_qualify() -> None:
    before = [_built("a", "Alpha.", 1), _built("b", "Beta.", 2)]
    same = [_paper("a", "Alpha.", 1), _paper("b", "Beta.", 2)]
    assert edited_papers(before, same) == []

    (edit,) = edited_papers(before, [_paper("a", "Alpha, edited.", 1), _paper("b", "Beta.", 2)])
    assert (edit.id, edit.abstract, edit.keyphrases, edit.theme) == (
        "a",
        "Alpha, edited.",
        ("a phrase",),
        "t",
    )
    # A plain-text paper's id comes from its text: an edit is found by where it was read.
    (moved,) = edited_papers(before, [_paper("a", "Alpha.", 1), _paper("new-id", "Beta!", 2)])
    assert (moved.id, moved.abstract) == ("b", "Beta!")

    assert edited_papers(before, [_paper("a", "Alpha.", 1)]) is None
    added = [*same, _paper("c", "Gamma.", 3)]
    assert edited_papers(before, added) is None
    both_at_line_2 = [_paper("x", "One.", 2), _paper("y", "Two.", 2)]
    assert edited_papers(before, both_at_line_2) is None
    many_before = [_built(f"p{i}", "Text.", i) for i in range(MAX_EDITED + 1)]
    many_after = [_paper(f"p{i}", "New text.", i) for i in range(MAX_EDITED + 1)]
    assert edited_papers(many_before, many_after) is None


def _snapshot(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in site.rglob("*") if p.is_file()}


def test_preview_rewrites_the_pages_showing_the_paper_then_the_full_build_matches_a_cold_one(
    tmp_path: Path,
) -> None:
    sources = tmp_path / "papers"
    shutil.copytree(SEEDS, sources)
    config = Config(sources=(sources,), out=tmp_path / "site", cache_dir=tmp_path / "cache")
    state = BuildState()
    build(config, state=state)
    assert state.digest is not None
    (paper,) = [p for p in state.digest.papers if "We study conditions" in p.abstract]
    before = _snapshot(config.out)

    target = sources / "003_e5ba666f4ce3f3d9.txt"
    text = target.read_text(encoding="utf-8")
    target.write_text(text.replace("We study conditions", "Quokkas study conditions", 1))
    preview = preview_edits(config, state, state.digest)

    assert preview is not None and preview.papers == 1
    after = _snapshot(config.out)
    changed = {path for path in before if after[path] != before[path]}
    assert changed == set(preview.pages)
    own_page = f"papers/{paper.id}.html"
    assert own_page in changed and "papers.html" in changed
    assert f"themes/{paper.theme}.html" in changed
    assert "Quokkas study conditions" in after[own_page].decode()
    assert paper.keyphrases[0] in after[own_page].decode()
    assert set(after) == set(before)  # no page added, none removed

    build(config, state=state)
    cold = Config(sources=(sources,), out=tmp_path / "cold", cache_dir=tmp_path / "cold-cache")
    build(cold)
    final, expected = _snapshot(config.out), _snapshot(cold.out)
    assert final.keys() == expected.keys()
    assert [p for p in final if final[p] != expected[p]] == []


def test_nothing_is_previewed_when_a_paper_is_added(tmp_path: Path) -> None:
    sources = tmp_path / "papers"
    shutil.copytree(SEEDS, sources)
    config = Config(sources=(sources,), out=tmp_path / "site", cache_dir=tmp_path / "cache")
    state = BuildState()
    build(config, state=state)
    before = _snapshot(config.out)
    (sources / "new.txt").write_text("A new abstract about kites and their tails.\n")
    assert state.digest is not None
    assert preview_edits(config, state, state.digest) is None
    assert _snapshot(config.out) == before
