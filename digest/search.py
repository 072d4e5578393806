"""Digest → the client-side search index: a prebuilt lunr index and a small document store.

Both are written as a script that sets a global, because browsers refuse ``fetch`` from
file:// pages; a ``<script src>`` works everywhere the site does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from lunr import lunr

from digest.model import Digest, Paper
from digest.paths import paper_path
from digest.render import Page
from digest.titles import shorten

INDEX_PATH = "search/index.js"
EXCERPT_CHARS = 200
FIELDS = (
    {"field_name": "title", "boost": 10},
    {"field_name": "keyphrases", "boost": 5},
    {"field_name": "abstract", "boost": 1},
)


def build_search_index(digest: Digest) -> Page:
    themes = {t.slug: t.name for t in digest.themes}
    papers = digest.papers
    index = lunr(ref="ref", fields=list(FIELDS), documents=_documents(papers))
    payload = {
        "version": 1,
        "index": index.serialize(),
        "docs": [_stored(p, themes) for p in papers],
    }
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return Page(INDEX_PATH, f"window.DIGEST_SEARCH={text};\n".encode())


def _documents(papers: Sequence[Paper]) -> list[dict[str, str]]:
    return [
        {
            "ref": str(i),
            "title": p.title,
            "keyphrases": " ".join(p.keyphrases),
            "abstract": p.abstract,
        }
        for i, p in enumerate(papers)
    ]


def _stored(paper: Paper, themes: dict[str, str]) -> dict[str, Any]:
    """What a result shows; short keys because 100,000 of these ship to the browser."""
    return {
        "t": paper.title,
        "h": themes.get(paper.theme or "", ""),
        "k": list(paper.keyphrases),
        "e": shorten(paper.abstract, EXCERPT_CHARS),
        "p": paper_path(paper.id),
    }
