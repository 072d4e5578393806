"""Fitting without scikit-learn gives scikit-learn's numbers, to the bit, and a rebuild that
refits the themes never imports it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

from digest.build import build
from digest.lsa import unit_rows, words_of
from digest.lsa_fit import english_stop_words, fit_basis, fit_words, kmeans, ward_clusters
from digest.merge import merge_records
from digest.sources import load_records
from tests.conftest import SEEDS, corpus_config, edit_seed


@pytest.fixture(scope="module")
def texts() -> list[str]:
    papers = sorted(merge_records(load_records([SEEDS])), key=lambda p: p.id)
    return [f"{p.title} {p.abstract}" for p in papers]


def test_stop_words_are_scikit_learns() -> None:
    assert english_stop_words() == frozenset(ENGLISH_STOP_WORDS)


@pytest.mark.parametrize(("min_df", "max_df"), [(2, 0.5), (1, 1.0)])
def test_tf_idf_and_basis_are_scikit_learns_to_the_bit(
    texts: list[str], min_df: int, max_df: float
) -> None:
    stop_words = english_stop_words()
    ours = fit_words([words_of(t, stop_words) for t in texts], min_df, max_df)
    theirs = TfidfVectorizer(
        stop_words="english", sublinear_tf=True, min_df=min_df, max_df=max_df, dtype=np.float32
    )
    matrix = theirs.fit_transform(texts)
    matrix.sort_indices()
    assert ours is not None
    assert ours.vocabulary == theirs.vocabulary_
    assert np.array_equal(ours.idf, theirs.idf_)
    assert np.array_equal(ours.matrix.indptr, matrix.indptr)
    assert np.array_equal(ours.matrix.indices, matrix.indices)
    assert np.array_equal(ours.matrix.data, matrix.data)
    coordinates, components = fit_basis(ours.matrix, 20, seed=0)
    svd = TruncatedSVD(n_components=20, algorithm="arpack", random_state=0)
    assert np.array_equal(coordinates, svd.fit_transform(matrix))
    assert np.array_equal(components, svd.components_)


def test_no_word_left_is_none_not_an_error() -> None:
    assert fit_words([["alpha"], ["beta"]], min_df=2, max_df=1.0) is None


def test_ward_and_k_means_give_scikit_learns_clusters(texts: list[str]) -> None:
    stop_words = english_stop_words()
    words = fit_words([words_of(t, stop_words) for t in texts], 2, 0.5)
    assert words is not None
    vectors = unit_rows(fit_basis(words.matrix, 20, seed=0)[0])
    for k in (2, 5, 9):
        ward = ward_clusters(vectors, k)
        expected = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(vectors)
        assert np.array_equal(ward, expected)
        centres = np.stack([vectors[ward == label].mean(axis=0) for label in range(k)])
        theirs = KMeans(n_clusters=k, init=centres, n_init=1).fit_predict(vectors)
        assert np.array_equal(kmeans(vectors, centres), theirs)


def test_a_rebuild_that_refits_the_themes_never_imports_scikit_learn(
    corpus: Path, tmp_path: Path
) -> None:
    """Importing it took ~1 s, most of the themes' time in a 1,000-paper rebuild (every edit
    of a corpus under 3,000 papers refits them)."""
    out = tmp_path / "site"
    build(corpus_config(corpus, out))
    edit_seed(corpus)
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from digest.build import build
        from digest.config import load_config
        config = load_config(None, sources=(Path({str(corpus)!r}),), out=Path({str(out)!r}))
        report = build(config)
        assert report.pages_written > 0, report
        print(sorted(m for m in sys.modules if m.startswith("sklearn")))
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
