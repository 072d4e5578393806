"""Where every page lives, and the one helper that makes links relative.

Flat, file-addressed URLs (``papers/x.html``) work at a domain root, under a subpath and
from file:// alike; changing one breaks readers' bookmarks, so they are defined only here.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from functools import lru_cache
from urllib.parse import quote

PAPERS_PER_LIST_PAGE = 500
FEED_PATH = "feed.xml"

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


def theme_feed_path(slug: str) -> str:
    return f"themes/{slug}.xml"


def absolute_url(base_url: str, path: str) -> str:
    """``path`` (a site path) under ``base_url``; the home page is the folder URL itself,
    the address people share and hosts serve."""
    return base_url if path == "index.html" else base_url + quote(path)


def relative_url(target: str, from_page: str) -> str:
    """``target`` (a site path) as seen from ``from_page`` (a site path).

    Exactly ``posixpath.relpath``, which costs a quarter of rendering when called for every
    link of 100,000 pages; only the (few) folder pairs go through it, each once.
    """
    start = posixpath.dirname(from_page) or "."
    folder, name = posixpath.split(target)
    prefix = _folder_prefix(folder, start)
    joined = f"{folder}/{name}" if folder not in ("", ".") else name
    if prefix is None or name in ("", ".", "..") or (start + "/").startswith(joined + "/"):
        return posixpath.relpath(target, start)
    return name if prefix == "." else f"{prefix}/{name}"


@lru_cache(maxsize=1024)
def _folder_prefix(folder: str, start: str) -> str | None:
    """``relpath(folder, start)`` for plain relative folders; ``None`` when a ``.``, ``..`` or
    empty segment (or an absolute path) needs the general case."""
    for path in (folder, start):
        if path != "." and (path.startswith("/") or _has_dot_or_empty_segment(path)):
            return None
    return posixpath.relpath(folder or ".", start)


def _has_dot_or_empty_segment(path: str) -> bool:
    return bool(path) and any(part in ("", ".", "..") for part in path.split("/"))
