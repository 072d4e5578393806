"""A fitted TF-IDF weighting and SVD basis as plain arrays, so placing papers needs no
scikit-learn.

Themes and the map are fitted with scikit-learn (``TfidfVectorizer``, ``TruncatedSVD``) on the
theme sample; every other paper is then projected with the fitted model. Projecting is a word
lookup and one small product per paper, and importing scikit-learn to do it took 1.4 s of a
rebuild that places one edited paper. The arithmetic is scikit-learn's (sublinear tf, idf,
unit rows, then the basis), done in float64 row by row, on cold builds and rebuilds alike.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

# scikit-learn's default token pattern, r"(?u)\b\w\w+\b", without its word boundaries: a
# maximal run of two or more word characters is bounded anyway, and matching it without the
# checks is a fifth faster (10,000 abstracts: 0.48 s against 0.59 s)
WORD = re.compile(r"\w\w+")
PROJECTED_ROWS = 4096  # rows projected at once (see ``_project``)


def words_of(text: str, stop_words: Collection[str]) -> list[str]:
    """scikit-learn's default analyzer: lower case, words of two or more characters, no stop
    words."""
    return [w for w in WORD.findall(text.lower()) if w not in stop_words]


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, zero rows left zero: ``sklearn.preprocessing.normalize``
    on a dense array, with the same sums in the same order."""
    norms = np.sqrt(np.einsum("ij,ij->i", matrix, matrix))
    norms[norms == 0.0] = 1.0
    return matrix / norms[:, np.newaxis]


@dataclass(frozen=True)
class Projection:
    """What a fitted ``TfidfVectorizer`` (``sublinear_tf``, l2 rows) and, when there is one, a
    ``TruncatedSVD`` do to a new text."""

    vocabulary: dict[str, int]
    idf: np.ndarray  # float64, one per vocabulary column
    basis: np.ndarray | None  # float64 (columns, dims): the SVD's components, transposed
    stop_words: frozenset[str]

    @property
    def width(self) -> int:
        return len(self.idf) if self.basis is None else self.basis.shape[1]

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length vectors (zero for a text with no known word). On one BLAS thread, so
        the sums are the same on every machine."""
        with threadpool_limits(limits=1):
            return unit_rows(self._rows(texts))

    def _rows(self, texts: Sequence[str]) -> np.ndarray:
        """Term counts gathered for all texts, then weighted and projected as whole arrays
        (per-row numpy calls cost more than the arithmetic)."""
        columns: list[int] = []
        counts: list[int] = []
        sizes: list[int] = []
        vocabulary = self.vocabulary
        for text in texts:
            found = Counter(
                [
                    column
                    for word in words_of(text, self.stop_words)
                    if (column := vocabulary.get(word)) is not None
                ]
            )
            ordered = sorted(found)
            columns += ordered
            counts += [found[c] for c in ordered]
            sizes.append(len(ordered))
        n = len(texts)
        column = np.array(columns, dtype=np.intp)
        row_of = np.repeat(np.arange(n), sizes)
        weights = (np.log(np.array(counts, dtype=np.float64)) + 1.0) * self.idf[column]
        norms = np.sqrt(np.bincount(row_of, weights=weights * weights, minlength=n))
        weights /= norms[row_of]
        rows = np.zeros((n, self.width), dtype=np.float64)
        if self.basis is None:
            rows[row_of, column] = weights
            return rows
        _project(rows, np.array(sizes, dtype=np.intp), weights, column, self.basis)
        return rows


def _project(
    rows: np.ndarray, sizes: np.ndarray, weights: np.ndarray, column: np.ndarray, basis: np.ndarray
) -> None:
    """Adds to each row its terms' rows of ``basis`` (``column``, in row order), weighted,
    one term at a time in each row's order: the sums scipy's sparse product makes, to the last
    bit, without importing scipy (0.15 s of a rebuild that places one paper), and the same
    arithmetic for one paper as for ten thousand, so a paper's vector never depends on which
    others came with it. All rows' k-th terms are added at once, longest rows first so that
    those are a slice; ``PROJECTED_ROWS`` rows at a time, so that the arrays added stay small
    (a first build projects 100,000 papers)."""
    starts = np.cumsum(sizes) - sizes
    for first in range(0, len(sizes), PROJECTED_ROWS):
        block = slice(first, first + PROJECTED_ROWS)
        order = np.argsort(-sizes[block], kind="stable")
        begin = starts[block][order]
        longest = sizes[block][order]
        sums = np.zeros((len(order), rows.shape[1]), dtype=rows.dtype)
        for k in range(int(longest.max(initial=0))):
            having = int(np.searchsorted(-longest, -k, side="left"))
            at = begin[:having] + k
            sums[:having] += weights[at, np.newaxis] * basis[column[at]]
        rows[first : first + len(order)][order] = sums
