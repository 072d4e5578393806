from dataclasses import FrozenInstanceError, replace

import pytest

from digest.model import Paper, PaperDate, Source, amended


def _paper() -> Paper:
    return Paper(
        id="2504.00001",
        title="A title",
        title_derived=False,
        abstract="An abstract.",
        sources=(Source("papers.jsonl", 3),),
        date=PaperDate(2025, 4, 1),
        keyphrases=("old phrase",),
    )


def test_amended_equals_replace_and_leaves_the_original_alone() -> None:
    paper = _paper()
    new = amended(paper, keyphrases=("new phrase",), theme="a-theme")
    assert new == replace(paper, keyphrases=("new phrase",), theme="a-theme")
    assert repr(new) == repr(replace(paper, keyphrases=("new phrase",), theme="a-theme"))
    assert hash(new) == hash(replace(paper, keyphrases=("new phrase",), theme="a-theme"))
    assert paper.keyphrases == ("old phrase",) and paper.theme is None


def test_amended_paper_stays_frozen() -> None:
    new = amended(_paper(), theme="a-theme")
    with pytest.raises(FrozenInstanceError):
        new.theme = "other"  # type: ignore[misc]


def test_amended_rejects_a_field_paper_does_not_have() -> None:
    with pytest.raises(TypeError, match="themes"):
        amended(_paper(), themes="a-theme")
