"""Digest → ``papers.json``: every paper, machine-readable, for scripts and other tools."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from digest.model import Paper, Theme
from digest.output import Page
from digest.paths import paper_path

CATALOG_PATH = "papers.json"
_ENCODER = json.JSONEncoder(ensure_ascii=False)  # json.dumps makes one per call with options


def build_catalog(papers: Sequence[Paper], themes: Sequence[Theme]) -> Page:
    """One paper per line: a diff of two builds shows the papers that changed, and the
    encoding stays in C (``indent`` sends ``json`` to its pure-Python encoder, 2.5 s at
    10,000 papers against 0.2 s)."""
    names = {t.slug: t.name for t in themes}
    ordered = sorted(papers, key=lambda p: p.id)
    lines = ",\n".join(_ENCODER.encode(_entry(p, names)) for p in ordered)
    text = '{"papers": [\n' + lines + "\n]}\n" if lines else '{"papers": []}\n'
    return Page(CATALOG_PATH, text.encode("utf-8"))


def _entry(paper: Paper, theme_names: dict[str, str]) -> dict[str, Any]:
    return {
        "id": paper.id,
        "title": paper.title,
        "title_derived": paper.title_derived,
        "abstract": paper.abstract,
        "authors": list(paper.authors),
        "author_count": paper.author_count or (len(paper.authors) or None),
        "date": paper.date.iso if paper.date else None,
        "url": paper.url,
        "tags": list(paper.tags),
        "keyphrases": list(paper.keyphrases),
        "theme": {"slug": paper.theme, "name": theme_names.get(paper.theme or "")},
        "sources": [{"file": s.file, "line": s.line} for s in paper.sources],
        "path": paper_path(paper.id),
    }
