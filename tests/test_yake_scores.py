"""Our YAKE arithmetic against python yake's own: equal scores for the same candidates."""

from __future__ import annotations

import random
from functools import cache

import pytest
from yake import KeywordExtractor

from digest.merge import merge_records
from digest.sources import load_records
from digest.yake_scores import yake_scores
from tests.conftest import SEEDS

EDGE_CASES = [
    "",
    " ",
    "\n\n",
    "...",
    "12 345 6.7",
    "the of and",
    "The state of the art in state of the art methods. State-of-the-art!",
    "GANs and GAN training: GANs beat VAEs; the VAE is a Variational Autoencoder.",
    "class classes glass glasses gas gases bus buses. Bass bass BASS.",
    "Very very very long long long words repeated repeated.\tTabs\tand\nnew lines\nCapital.",
    "ΟΔΟΣ ΟΔΟΣ αβγ. Σίσυφος and Σ-algebras with ς.",
    "x1 x2 3D 4-bit e.g. i.e. U.S.A. C++ C# .NET Node.js ok.",
    "Word.\n\nAnother paragraph starts here. And another one here; with (brackets) here.",
]


@cache
def extractor(language: str) -> KeywordExtractor:
    """One per language: each reads its stop-word file."""
    return KeywordExtractor(lan=language, n=3, top=100_000, dedup_lim=1.0, window_size=1)


def yake_library(text: str, language: str = "en") -> dict[str, float]:
    return dict(extractor(language).extract_keywords(text))


def ours(text: str, language: str = "en", **settings: int) -> dict[str, float]:
    return yake_scores(text, extractor(language).stopword_set, **settings)


def test_every_seed_abstract_scores_as_python_yake_scores_it() -> None:
    papers = merge_records(load_records([SEEDS]))
    assert len(papers) == 77
    for paper in papers:
        for text in (paper.abstract, f"{paper.title}. {paper.abstract}"):
            expected = yake_library(text)
            assert expected, paper.title
            assert ours(text) == expected, paper.title


@pytest.mark.parametrize("text", EDGE_CASES)
def test_edge_cases_score_as_python_yake_scores_them(text: str) -> None:
    assert ours(text) == yake_library(text)


def test_other_languages_and_settings_score_as_python_yake() -> None:
    german = "Die Netzwerke lernen die Darstellung der Daten. Die Daten sind groß und laut."
    assert ours(german, "de") == yake_library(german, "de")
    text = " ".join(EDGE_CASES[6:9]) * 2
    stopwords = KeywordExtractor(lan="en").stopword_set
    for n, window in ((1, 1), (2, 2), (4, 3)):
        extractor = KeywordExtractor(lan="en", n=n, top=100_000, dedup_lim=1.0, window_size=window)
        expected = dict(extractor.extract_keywords(text))
        assert yake_scores(text, stopwords, n=n, window_size=window) == expected


def test_random_text_scores_as_python_yake_scores_it() -> None:
    """Odd characters, stray punctuation and stop words in every order, as real input has."""
    pieces = [*"abcXYZ sS.,;:!?'\"-()[]\n\t0123456789Σσςéß‑—…", "the ", "of ", "Model ", "e.g. "]
    rng = random.Random(7)
    for _ in range(300):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 120)))
        assert ours(text) == yake_library(text), repr(text)
