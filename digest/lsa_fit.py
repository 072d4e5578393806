"""Fitting an LSA model (TF-IDF weights, an SVD basis) and clustering, without scikit-learn.

An edit to a paper of the theme sample refits the themes, and on a corpus of up to 3,000 papers
every paper is in the sample. Importing scikit-learn took ~1 s of such a rebuild (of 3.6 s at
1,000 papers); scipy, which does the sparse products, ARPACK and Ward's tree here, ~0.3 s. The
arithmetic is scikit-learn's ``TfidfVectorizer`` (``sublinear_tf``, smooth idf, l2 rows),
``TruncatedSVD(algorithm="arpack")`` and ``AgglomerativeClustering(linkage="ward")``; the tests
compare them. k-means is Lloyd's, run until no paper changes cluster.
"""

from __future__ import annotations

import importlib.util
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from digest.lsa import Projection, unit_rows, words_of

KMEANS_ROUNDS = 300
# What fitting imports, each on first use: a rebuild that only places papers needs none of it.
FITTING_MODULES = ("scipy.sparse.linalg", "scipy.cluster.hierarchy", "scipy.cluster.vq")


@dataclass(frozen=True)
class FittedWords:
    """A vocabulary (word → column, in sorted order), its idf weights and the documents'
    TF-IDF rows (a scipy CSR matrix, l2-normalised)."""

    vocabulary: dict[str, int]
    idf: np.ndarray
    matrix: Any


def fit_words(
    docs: Sequence[Sequence[str]], min_df: int, max_df: float, dtype: type = np.float32
) -> FittedWords | None:
    """TF-IDF of documents given as their words; ``None`` when no word is in at least
    ``min_df`` and at most ``max_df`` (a share) of them."""
    from scipy.sparse import csr_matrix

    counts = [Counter(words) for words in docs]
    document_frequency: Counter[str] = Counter()
    for found in counts:
        document_frequency.update(found.keys())
    n = len(docs)
    kept = sorted(w for w, df in document_frequency.items() if min_df <= df <= max_df * n)
    if not kept:
        return None
    vocabulary = {word: column for column, word in enumerate(kept)}
    column_of = {word: vocabulary.get(word, -1) for word in document_frequency}
    columns = np.fromiter((column_of[w] for found in counts for w in found), dtype=np.int64)
    values = np.fromiter((c for found in counts for c in found.values()), dtype=dtype)
    rows = np.repeat(np.arange(n), [len(found) for found in counts])
    known = columns >= 0
    rows, columns, values = rows[known], columns[known], values[known]
    order = np.lexsort((columns, rows))
    rows = rows[order]
    indptr = np.concatenate(([0], np.cumsum(np.bincount(rows, minlength=n))))
    matrix = csr_matrix(
        (values[order], columns[order].astype(np.int32), indptr), shape=(n, len(kept))
    )
    df = np.array([document_frequency[w] for w in kept], dtype=dtype) + 1
    idf = np.log(dtype(n + 1) / df) + 1
    np.log(matrix.data, out=matrix.data)
    matrix.data += 1
    matrix.data *= idf[matrix.indices]
    # as scikit-learn's l2 rows: squares in the data's precision, summed and divided in float64
    norms = np.sqrt(np.bincount(rows, weights=matrix.data * matrix.data, minlength=n))
    matrix.data = (matrix.data / norms[rows]).astype(dtype)
    return FittedWords(vocabulary, idf.astype(np.float64), matrix)


def fit_basis(matrix: Any, dims: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The documents' coordinates and the basis (``dims`` × columns) of the exact truncated
    SVD, signs fixed as scikit-learn fixes them (each basis row's largest entry positive)."""
    from scipy.sparse.linalg import svds

    start = np.random.RandomState(seed).uniform(-1, 1, min(matrix.shape))
    u, sigma, vt = svds(matrix, k=dims, v0=start)
    u, sigma, vt = u[:, ::-1], sigma[::-1], vt[::-1]
    signs = np.sign(vt[np.arange(len(vt)), np.abs(vt).argmax(axis=1)])
    return u * signs * sigma, vt * signs[:, np.newaxis]


def ward_clusters(vectors: np.ndarray, k: int) -> np.ndarray:
    """Ward's hierarchical clustering cut into ``k`` clusters, numbered as scikit-learn's
    ``_hc_cut`` numbers them (the same heap, built by the same pushes)."""
    from heapq import heappush, heappushpop

    from scipy.cluster.hierarchy import ward

    n = len(vectors)
    children = ward(vectors)[:, :2].astype(np.intp)
    nodes = [-(int(children[-1].max()) + 1)]
    for _ in range(k - 1):
        these = children[-nodes[0] - n]
        heappush(nodes, -int(these[0]))
        heappushpop(nodes, -int(these[1]))
    labels = np.zeros(n, dtype=np.intp)
    for label, node in enumerate(nodes):
        labels[_leaves(-node, children, n)] = label
    return labels


def kmeans(vectors: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Lloyd's k-means from ``centres`` until no vector changes cluster; a cluster left empty
    keeps its centre."""
    from scipy.cluster.vq import vq

    vectors = np.asarray(vectors, dtype=np.float64)
    centres = np.asarray(centres, dtype=np.float64).copy()
    labels = vq(vectors, centres, check_finite=False)[0]
    for _ in range(KMEANS_ROUNDS):
        sizes = np.bincount(labels, minlength=len(centres))
        sums = np.zeros_like(centres)
        np.add.at(sums, labels, vectors)
        filled = sizes > 0
        centres[filled] = sums[filled] / sizes[filled, np.newaxis]
        moved = vq(vectors, centres, check_finite=False)[0]
        if np.array_equal(moved, labels):
            break
        labels = moved
    return labels


def _leaves(node: int, children: np.ndarray, n: int) -> list[int]:
    found, stack = [], [node]
    while stack:
        top = stack.pop()
        if top < n:
            found.append(top)
        else:
            stack += children[top - n].tolist()
    return found


@cache
def english_stop_words() -> frozenset[str]:
    """scikit-learn's English stop words, read from its module file without importing the
    package (importing it is what this module avoids)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is not None and spec.origin is not None:
        path = Path(spec.origin).parent / "feature_extraction" / "_stop_words.py"
        words = importlib.util.spec_from_file_location("digest._stop_words", path)
        if words is not None and words.loader is not None:
            module = importlib.util.module_from_spec(words)
            words.loader.exec_module(module)
            return frozenset(module.ENGLISH_STOP_WORDS)
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


def fit_projection(
    texts: Sequence[str], max_dims: int, min_df: int, max_df: float, seed: int
) -> tuple[np.ndarray, Projection] | None:
    """The texts' unit-length LSA vectors and the projection that places other texts, which
    splits them into words (``words_of``, English stop words left out) as the fit did
    (TF-IDF alone when there are too few words or documents for 2 dimensions); ``None`` when
    no word is left. The SVD runs on one BLAS thread, so its sums are the same on every
    machine."""
    stop_words = english_stop_words()
    words = fit_words([words_of(text, stop_words) for text in texts], min_df, max_df)
    if words is None:
        return None
    matrix = words.matrix
    dims = min(max_dims, matrix.shape[0] - 1, matrix.shape[1] - 1)
    if dims < 2:
        tfidf = Projection(words.vocabulary, words.idf, None, stop_words)
        return unit_rows(matrix.toarray()), tfidf
    with threadpool_limits(limits=1):
        coordinates, components = fit_basis(matrix, dims, seed)
    basis = np.ascontiguousarray(np.asarray(components, dtype=np.float64).T)
    return unit_rows(coordinates), Projection(words.vocabulary, words.idf, basis, stop_words)
