"""papers.json: one line per paper, and a rebuild keeps the lines of papers that did not change."""

from __future__ import annotations

import json
from pathlib import Path

from digest.catalog import CATALOG_PATH, build_catalog, kept_lines
from digest.model import Paper, Source, Theme


def _paper(n: int, theme: str = "otters") -> Paper:
    return Paper(
        id=f"2401.{n:05d}",
        title=f"Otters, part {n}",
        title_derived=False,
        abstract=f'We study otters ("river", \\n, é) for the {n}th time.',
        sources=(Source("papers/a.jsonl", n),),
        keyphrases=("otters", f"river {n}"),
        theme=theme,
    )


THEMES = (Theme("otters", "Otters & rivers", ("otters",), (), "Otters"),)


def test_a_catalog_reads_back_as_its_lines_by_paper_id(tmp_path: Path) -> None:
    papers = [_paper(n) for n in (3, 1, 2)]
    page = build_catalog(papers, THEMES)
    (tmp_path / CATALOG_PATH).write_bytes(page.content)
    kept = kept_lines(tmp_path)
    assert sorted(kept) == ["2401.00001", "2401.00002", "2401.00003"]
    assert [json.loads(line)["id"] for line in kept.values()] == sorted(kept)
    assert build_catalog(papers, THEMES, kept, lambda paper: True).content == page.content


def test_only_papers_said_unchanged_keep_their_lines(tmp_path: Path) -> None:
    before = [_paper(n) for n in range(5)]
    (tmp_path / CATALOG_PATH).write_bytes(build_catalog(before, THEMES).content)
    after = [*before[:2], _paper(2, theme="rivers"), *before[3:]]
    themes = (*THEMES, Theme("rivers", "Rivers", ("rivers",), (), "Rivers"))
    made = build_catalog(after, themes, kept_lines(tmp_path), lambda p: p.id != "2401.00002")
    assert made.content == build_catalog(after, themes).content
    assert json.loads(made.content)["papers"][2]["theme"]["name"] == "Rivers"


def test_a_catalog_not_made_here_keeps_nothing(tmp_path: Path) -> None:
    assert kept_lines(tmp_path) == {}
    (tmp_path / CATALOG_PATH).write_text('{"papers": [{"id": "x"}]}\n')
    assert kept_lines(tmp_path) == {}
    (tmp_path / CATALOG_PATH).write_text('{"papers": [\n{"title": "no id first"}\n]}\n')
    assert kept_lines(tmp_path) == {}
