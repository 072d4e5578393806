"""The plain-array projection gives what scikit-learn's fitted vectorizer and SVD give."""

from __future__ import annotations

import pickle
import random

import numpy as np
import pytest
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from digest import lsa
from digest.lsa import Projection, unit_rows, words_of
from tests.conftest import SEEDS

TOPICS = [
    "galaxy cluster redshift survey dark matter halo lensing",
    "graph neural network message passing node embedding",
    "protein folding structure prediction residue contact",
    "reinforcement learning policy gradient reward agent",
]


def _texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        words = rng.choice(TOPICS).split()
        picked = [rng.choice(words) for _ in range(12)] + ["the", "of", "We", "a", "UPPER"]
        rng.shuffle(picked)
        texts.append(" ".join(picked) + ", with 3D-data and naïve café results.")
    return texts


def _projection(
    words: TfidfVectorizer, basis: TruncatedSVD | None, stop_words: frozenset[str]
) -> Projection:
    """The projection of a fitted scikit-learn vectorizer and SVD (or ``None``)."""
    components = None
    if basis is not None:
        components = np.ascontiguousarray(np.asarray(basis.components_, dtype=np.float64).T)
    vocabulary = {term: int(column) for term, column in words.vocabulary_.items()}
    idf = np.asarray(words.idf_, dtype=np.float64)
    return Projection(vocabulary, idf, components, frozenset(stop_words))


@pytest.fixture(scope="module")
def fitted() -> tuple[TfidfVectorizer, TruncatedSVD]:
    words = TfidfVectorizer(stop_words="english", sublinear_tf=True, min_df=2, max_df=0.5)
    matrix = words.fit_transform(_texts(200, seed=1))
    return words, TruncatedSVD(n_components=8, random_state=0).fit(matrix)


def test_projected_vectors_match_scikit_learn(fitted: tuple[TfidfVectorizer, TruncatedSVD]) -> None:
    words, basis = fitted
    texts = [*_texts(50, seed=2), "", "nothing known here", "the of and"]
    expected = normalize(basis.transform(words.transform(texts)))
    projection = _projection(words, basis, words.get_stop_words())
    got = projection.vectors(texts)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() < 1e-9
    assert not got[-3:].any()  # no known word: a zero vector, not NaN


def test_without_a_basis_the_rows_are_scikit_learns_tf_idf(
    fitted: tuple[TfidfVectorizer, TruncatedSVD],
) -> None:
    words, _ = fitted
    texts = _texts(20, seed=3)
    projection = _projection(words, None, words.get_stop_words())
    assert np.abs(projection.vectors(texts) - words.transform(texts).toarray()).max() < 1e-12


def test_words_are_scikit_learns(fitted: tuple[TfidfVectorizer, TruncatedSVD]) -> None:
    words, _ = fitted
    analyze = words.build_analyzer()
    odd = "Ünïcode ÉCOLE x y 42 4242 a_b don't e\u0301cole __ _a ﬁne x2 ½½ 日本語 a-b-c"
    seeds = [path.read_text(encoding="utf-8") for path in sorted(SEEDS.iterdir())]
    for text in [*_texts(20, seed=4), odd, *seeds]:
        assert words_of(text, words.get_stop_words()) == analyze(text)


def test_a_pickled_projection_is_plain_data(fitted: tuple[TfidfVectorizer, TruncatedSVD]) -> None:
    """It is what the cache stores; loading it must not need scikit-learn's classes."""
    words, basis = fitted
    data = pickle.dumps(_projection(words, basis, words.get_stop_words()))
    assert b"sklearn" not in data
    texts = _texts(5, seed=5)
    assert np.array_equal(
        pickle.loads(data).vectors(texts),
        _projection(words, basis, words.get_stop_words()).vectors(texts),
    )


def test_unit_rows_is_scikit_learns_normalize() -> None:
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(30, 7)).astype(np.float32)
    matrix[3] = 0.0
    assert np.array_equal(unit_rows(matrix), normalize(matrix))


def test_a_text_projects_to_the_same_bits_alone_as_among_others(
    fitted: tuple[TfidfVectorizer, TruncatedSVD], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild projects an edited paper alone, a first build projects it among thousands:
    the vectors must be equal to the last bit, and are what scipy's sparse product of the
    same weights gives."""
    words, basis = fitted
    texts = [*_texts(60, seed=4), "", "galaxy", "the of and"]
    projection = _projection(words, basis, words.get_stop_words())
    together = projection.vectors(texts)
    alone = np.vstack([projection.vectors([text]) for text in texts])
    assert np.array_equal(together, alone)
    shuffled = list(reversed(texts))
    assert np.array_equal(projection.vectors(shuffled)[::-1], together)
    assert np.array_equal(unit_rows(_sparse_product(projection, texts)), together)
    monkeypatch.setattr(lsa, "PROJECTED_ROWS", 7)  # a first build's 100,000, a block at a time
    assert np.array_equal(projection.vectors(texts), together)


def _sparse_product(projection: Projection, texts: list[str]) -> np.ndarray:
    """The projection as digest computed it with scipy: sublinear tf-idf, unit rows, each row's
    terms in column order, times the basis."""
    from collections import Counter

    from scipy.sparse import csr_matrix

    data, columns, indptr = [], [], [0]
    for text in texts:
        found = Counter(
            projection.vocabulary[w]
            for w in words_of(text, projection.stop_words)
            if w in projection.vocabulary
        )
        ordered = sorted(found)
        weights = (np.log(np.array([found[c] for c in ordered], dtype=np.float64)) + 1.0) * (
            projection.idf[ordered]
        )
        if ordered:
            weights /= np.sqrt(np.bincount(np.zeros(len(ordered), int), weights=weights**2))
        data += weights.tolist()
        columns += ordered
        indptr.append(len(columns))
    matrix = csr_matrix((data, columns, indptr), shape=(len(texts), len(projection.idf)))
    assert projection.basis is not None
    return np.asarray(matrix @ projection.basis)
