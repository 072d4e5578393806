"""Where every page lives, and the one helper that makes links relative.

Flat, file-addressed URLs (``papers/x.html``) work at a domain root, under a subpath and
from file:// alike; changing one breaks readers' bookmarks, so they are defined only here.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata

PAPERS_PER_LIST_PAGE = 500

_NON_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str, max_length: int = 60) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = _NON_SLUG.sub("-", ascii_text.lower()).strip("-")
    if len(slug) > max_length:
        slug = slug[:max_length].rsplit("-", 1)[0]
    return slug or "x"


def paper_path(paper_id: str) -> str:
    return f"papers/{paper_id}.html"


def theme_path(slug: str) -> str:
    return f"themes/{slug}.html"


def keyphrase_path(slug: str) -> str:
    return f"keyphrases/{slug}.html"


def all_papers_path(page: int) -> str:
    return "papers.html" if page == 1 else f"papers-{page}.html"


def relative_url(target: str, from_page: str) -> str:
    """``target`` (a site path) as seen from ``from_page`` (a site path)."""
    start = posixpath.dirname(from_page) or "."
    return posixpath.relpath(target, start)
