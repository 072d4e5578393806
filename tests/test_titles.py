import pytest

from digest.titles import MAX_LEAD_CHARS, derive_title, shorten
from tests.conftest import SEEDS


def _seed_abstract(containing: str) -> str:
    for path in sorted(SEEDS.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if containing in line:
                return line
    raise AssertionError(containing)


@pytest.mark.parametrize(
    ("marker", "title"),
    [
        ("(M3DM)", "Multi-3D-Memory (M3DM)"),
        ("(DEMI)", "Decomposed Estimation of Mutual Information (DEMI)"),
        ("(KE-GCN)", "Knowledge Embedding based Graph Convolutional Network (KE-GCN)"),
        ("(EAI-LLM)", "Emotion-Action Interpreter powered by Large Language Model (EAI-LLM)"),
    ],
)
def test_named_method_becomes_the_title(marker: str, title: str) -> None:
    assert derive_title(_seed_abstract(marker)) == title


def test_background_definitions_are_not_mistaken_for_the_method() -> None:
    abstract = (
        "Named entity recognition (NER) is a core task. Long Short Term Memory (LSTM) models "
        "are common. We study their limits on noisy text."
    )
    assert derive_title(abstract) == "Named entity recognition (NER) is a core task"


def test_lead_sentence_is_shortened_at_a_word_boundary() -> None:
    abstract = (
        "Recurrent neural networks have been used for hydrological forecasting for many years "
        "with considerable success in practice. Second sentence."
    )
    title = derive_title(abstract)
    assert title.endswith("…")
    assert len(title) <= MAX_LEAD_CHARS + 1
    assert abstract.startswith(title[:-1])
    assert abstract[len(title) - 1] == " "


def test_never_empty() -> None:
    assert derive_title("") == "Untitled paper"
    assert derive_title("   ...   ")
    assert shorten("Short.") == "Short"
