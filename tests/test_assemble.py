"""Related papers: the sparse, blocked computation against the definition, written plainly."""

import math
import random
from collections import Counter, defaultdict

import pytest

from digest import assemble
from digest.assemble import related_papers
from digest.model import Paper, Source

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
    limit = assemble.MAX_POSTINGS_FOR_RELATED
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


@pytest.mark.parametrize("seed", range(6))
def test_related_papers_follow_the_definition(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    monkeypatch.setattr(assemble, "MAX_POSTINGS_FOR_RELATED", 12)
    monkeypatch.setattr(assemble, "RELATED_BLOCK", 7)
    papers = _papers(60, seed)
    expected = _plainly(papers, 5)
    assert any(len(v) == 5 for v in expected.values())
    assert related_papers(papers, 5) == expected


def test_no_related_papers_when_none_are_wanted() -> None:
    assert related_papers(_papers(5, 0), 0) == {}
