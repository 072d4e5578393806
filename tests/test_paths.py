"""Site paths: relative links must be exactly what ``posixpath.relpath`` gives, only faster."""

from __future__ import annotations

import itertools
import posixpath

import pytest

from digest.paths import relative_url

SEGMENTS = ("", ".", "..", "papers", "index.html", "papers.html", "x.html")


def _paths() -> list[str]:
    found = {"/", "/papers.html", "//papers.html", "papers/"}
    for depth in range(1, 4):
        found.update("/".join(p) for p in itertools.product(SEGMENTS, repeat=depth))
    return sorted(found)


def _relpath(target: str, page: str) -> str:
    try:
        return posixpath.relpath(target, posixpath.dirname(page) or ".")
    except ValueError:
        return "<error>"


def _fast(target: str, page: str) -> str:
    try:
        return relative_url(target, page)
    except ValueError:
        return "<error>"


def test_relative_url_equals_relpath_for_every_pair_of_awkward_paths() -> None:
    paths = _paths()
    wrong = [(t, p) for t in paths for p in paths if _fast(t, p) != _relpath(t, p)]
    assert wrong == []


@pytest.mark.parametrize(
    ("target", "page", "expected"),
    [
        ("papers/a.html", "papers/b.html", "a.html"),
        ("index.html", "papers/b.html", "../index.html"),
        ("static/style.css", "index.html", "static/style.css"),
        ("themes/t.html", "keyphrases/k.html", "../themes/t.html"),
        ("papers", "papers/b.html", "."),
    ],
)
def test_site_links(target: str, page: str, expected: str) -> None:
    assert relative_url(target, page) == expected
