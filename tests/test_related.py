"""Related papers: the sparse, blocked and incremental computation against the definition,
written plainly."""

import math
import random
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from digest import related
from digest.cache import ContentCache
from digest.model import Paper, Source
from digest.related import related_papers

WORDS = [
    "graph",
    "neural",
    "network",
    "image",
    "model",
    "speech",
    "galaxy",
    "protein",
    "robot",
    "policy",
    "dark",
    "matter",
]


def _papers(n: int, seed: int) -> list[Paper]:
    rng = random.Random(seed)
    phrases = [" ".join(rng.sample(WORDS, rng.choice([1, 2]))) for _ in range(40)]
    return [
        Paper(
            id=f"p{rng.randrange(10**6):06d}-{i}",
            title=f"Paper {i}",
            title_derived=False,
            abstract="An abstract.",
            sources=(Source("x.txt", i + 1),),
            keyphrases=tuple(dict.fromkeys(rng.sample(phrases, rng.randint(0, 4)))),
            theme=rng.choice(["a", "b", "c", None]),
        )
        for i in range(n)
    ]


def _plainly(papers: list[Paper], count: int) -> dict[str, tuple[str, ...]]:
    """The definition: shared phrases weigh log(1 + n / their papers), phrases on more than
    MAX_POSTINGS papers are ignored; ties go to the same theme, then the smaller id; a short
    list is filled from the theme's first MAX_POSTINGS papers sharing the most words."""
    limit = related.MAX_POSTINGS_FOR_RELATED
    postings = defaultdict(list)
    for p in papers:
        for k in p.keyphrases:
            postings[k].append(p)
    words = {p.id: {w for k in p.keyphrases for w in k.lower().split()} for p in papers}
    out = {}
    for p in papers:
        scores: Counter[str] = Counter()
        for k in p.keyphrases:
            if len(postings[k]) <= limit:
                for o in postings[k]:
                    if o.id != p.id:
                        scores[o.id] += math.log(1 + len(papers) / len(postings[k]))
        theme = {o.id: o.theme for o in papers}
        ranked = sorted(scores, key=lambda o: (-round(scores[o], 9), theme[o] != p.theme, o))
        mates = [o for o in papers if o.theme == p.theme][:limit]
        free = [o for o in mates if o.id != p.id and o.id not in ranked]
        fill = sorted(free, key=lambda o: (-len(words[p.id] & words[o.id]), o.id))
        out[p.id] = tuple(ranked[:count]) + tuple(o.id for o in fill[: max(0, count - len(ranked))])
    return out


@pytest.mark.parametrize("few_rows", [0, 2_000], ids=["sparse product", "few rows"])
@pytest.mark.parametrize("seed", range(6))
def test_related_papers_follow_the_definition(
    monkeypatch: pytest.MonkeyPatch, seed: int, few_rows: int
) -> None:
    monkeypatch.setattr(related, "MAX_POSTINGS_FOR_RELATED", 12)
    monkeypatch.setattr(related, "RELATED_BLOCK", 7)
    monkeypatch.setattr(related, "FEW_ROWS", few_rows)
    papers = _papers(60, seed)
    expected = _plainly(papers, 5)
    assert any(len(v) == 5 for v in expected.values())
    assert related_papers(papers, 5) == expected


@pytest.mark.parametrize("seed", range(3))
def test_scores_for_a_few_rows_are_the_sparse_products_to_the_last_bit(
    monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """A rebuild scores its few rows without scipy, a first build all rows with it: a paper's
    list must not depend on which way it was scored."""
    monkeypatch.setattr(related, "MAX_POSTINGS_FOR_RELATED", 150)
    entries = related._Entries.of(_papers(400, seed))
    rows = list(range(400))
    few = list(entries.few_scorer()(rows))
    sparse = list(entries.block_scorer()(rows))
    assert sum(len(others) for others, _ in few) > 10_000
    for (few_others, few_scores), (others, scores) in zip(few, sparse, strict=True):
        assert few_others.tolist() == others.tolist()
        assert few_scores.tobytes() == scores.tobytes()


def test_no_related_papers_when_none_are_wanted() -> None:
    assert related_papers(_papers(5, 0), 0) == {}


@pytest.mark.parametrize("seed", range(8))
def test_after_an_edit_only_the_lists_it_reaches_are_ranked_again_and_all_are_right(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    monkeypatch.setattr(related, "MAX_POSTINGS_FOR_RELATED", 12)
    monkeypatch.setattr(related, "RELATED_BLOCK", 7)
    ranked_rows = related._ranked_rows
    rows_ranked: list[int] = []

    def counting(*args: Any) -> Any:
        rows_ranked.append(len(args[3]))
        return ranked_rows(*args)

    monkeypatch.setattr(related, "_ranked_rows", counting)
    cache = ContentCache(tmp_path / "cache")
    papers = _papers(80, seed)
    assert related_papers(papers, 5, cache=cache) == _plainly(papers, 5)
    rng = random.Random(seed)
    edited = list(papers)
    for i in rng.sample(range(len(papers)), 2):
        phrases = tuple(dict.fromkeys(k for p in rng.sample(papers, 2) for k in p.keyphrases))
        edited[i] = replace(papers[i], keyphrases=phrases, theme=rng.choice(["a", "b", None]))
    rows_ranked.clear()
    assert related_papers(edited, 5, cache=cache) == _plainly(edited, 5)
    assert 0 < rows_ranked[0] < len(papers)
    rows_ranked.clear()
    assert related_papers(edited, 5, cache=cache) == _plainly(edited, 5)
    assert rows_ranked == []
    moved = edited[1:] + edited[:1]
    assert related_papers(moved, 5, cache=cache) == _plainly(moved, 5)
    assert rows_ranked == [len(papers)]
