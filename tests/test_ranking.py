"""Ranking candidates against the corpus, and the snapshot that re-ranks only what moved."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import pytest

from digest import ranking
from digest.cache import ContentCache
from digest.keyphrases import Candidate
from digest.ranking import CorpusStats, rank_corpus

# --- corpus awareness -----------------------------------------------------------------------


def test_a_phrase_most_of_the_corpus_uses_is_demoted() -> None:
    common = Candidate("language model", "language model", 0.0, 10.0)
    own = Candidate("speech tokenizer", "speech tokenizer", 0.0, 8.0)
    filler = [[Candidate(f"topic {i}", f"topic {i}", 0.0, 5.0), common] for i in range(200)]
    ranked = rank_corpus([[common, own], *filler], per_paper=5)
    assert ranked[0][0] == "speech tokenizer"
    alone = rank_corpus([[common, own]], per_paper=5)
    assert alone[0][0] == "language model"


def test_a_phrase_a_few_papers_share_is_promoted() -> None:
    shared = Candidate("contrastive loss", "contrastive loss", 0.0, 9.0)
    unique = Candidate("mixup schedule", "mixup schedule", 0.0, 10.0)
    words_elsewhere = [Candidate("mixup", "mixup", 0.0, 1.0), Candidate("schedule", "s", 0.0, 1.0)]
    filler = [[Candidate(f"topic {i}", f"topic {i}", 0.0, 5.0)] for i in range(20)]
    corpus = [[shared, unique], [shared], words_elsewhere, *filler]
    assert rank_corpus(corpus, per_paper=5)[0][0] == "contrastive loss"
    assert rank_corpus([[shared, unique], *filler], per_paper=5)[0][0] == "mixup schedule"


def test_the_ranking_memo_reranks_exactly_the_papers_whose_counts_moved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = Candidate("contrastive loss", "contrastive loss", 0.0, 9.0)
    unique = Candidate("mixup schedule", "mixup schedule", 0.0, 10.5)
    words_elsewhere = [Candidate("mixup", "mixup", 0.0, 1.0), Candidate("schedule", "s", 0.0, 1.0)]
    filler = [[Candidate(f"topic {i}", f"topic {i}", 0.0, 5.0)] for i in range(20)]
    before = [[shared, unique], [shared], words_elsewhere, *filler]
    same_words = [
        Candidate("contrastive", "contrastive", 0.0, 3.0),
        Candidate("loss", "l", 0.0, 3.0),
    ]
    after = [[shared, unique], same_words, *before[2:]]
    keys = [f"paper {i}" for i in range(len(before))]
    edited = [keys[0], "paper 1, edited", *keys[2:]]
    calls: list[int] = []
    real_select = ranking.select
    monkeypatch.setattr(
        ranking,
        "select",
        lambda *a: calls.append(1) or real_select(*a),  # type: ignore[func-returns-value]
    )
    cache = ContentCache(tmp_path / "cache")

    first = ranking.ranked_with_memo(before, keys, 5, cache)
    assert first == rank_corpus(before, per_paper=5) and first[0][0] == "contrastive loss"
    calls.clear()
    assert ranking.ranked_with_memo(before, keys, 5, cache) == first
    assert calls == []
    # Paper 0 is unchanged, but the count of its shared phrase fell (its words' counts did
    # not): it must be ranked again.
    second = ranking.ranked_with_memo(after, edited, 5, cache)
    assert len(calls) == 2  # paper 0 and the edited paper 1; the filler kept its ranking
    assert second == rank_corpus(after, per_paper=5) and second[0][0] == "mixup schedule"


def test_sharing_factor_by_corpus_share() -> None:
    stats = CorpusStats(10_000, {}, {"a": 1, "b": 2, "c": 3_000})
    assert stats.sharing("b") > stats.sharing("a") > 0.99
    assert stats.sharing("c") < 0.1
    tiny = CorpusStats(5, {}, {"a": 4})
    assert tiny.sharing("a") > 0.5


def _random_corpus(rng: random.Random, papers: int) -> list[list[Candidate]]:
    return [_random_paper(rng) for _ in range(papers)]


def _random_paper(rng: random.Random) -> list[Candidate]:
    words = [f"w{n}" for n in range(5_000)]
    keys = {" ".join(rng.sample(words, rng.randint(1, 3))) for _ in range(rng.randint(3, 12))}
    return [Candidate(k, k, round(rng.random(), 3), rng.uniform(1, 9)) for k in sorted(keys)]


def test_the_snapshot_ranks_as_a_fresh_ranking_through_edits_and_additions(tmp_path: Path) -> None:
    """Random edits (one or two papers at a time), then an added and a removed paper: each
    ranking equals ``rank_corpus`` of the whole corpus and the snapshot equals a fresh one, while
    an edit reads the candidates of the changed papers and of those sharing a moved count only."""
    rng = random.Random(7)
    corpus = _random_corpus(rng, 300)
    keys = [f"paper {i}" for i in range(len(corpus))]
    cache = ContentCache(tmp_path / "cache")
    read: list[int] = []

    def candidates_of(positions: Sequence[int]) -> list[list[Candidate]]:
        read.extend(positions)
        return [corpus[i] for i in positions]

    assert ranking.rank_keyphrases(keys, candidates_of, 5, cache) == rank_corpus(corpus, 5)
    for round_ in range(12):
        read.clear()
        for i in rng.sample(range(len(corpus)), rng.randint(1, 2)):
            corpus[i] = _random_paper(rng)
            keys[i] = f"paper {i}, edit {round_}"
        ranked = ranking.rank_keyphrases(keys, candidates_of, 5, cache)
        assert ranked == rank_corpus(corpus, 5)
        assert len(read) < len(corpus) / 3
    for change in ("add", "remove"):
        if change == "add":
            corpus.append(_random_paper(rng))
            keys.append("a new paper")
        else:
            del corpus[3], keys[3]
        read.clear()
        assert ranking.rank_keyphrases(keys, candidates_of, 5, cache) == rank_corpus(corpus, 5)
        assert len(read) == len(corpus)  # the corpus size moved: every paper is ranked again
    kept = ranking._loaded(cache.get_blob("keyphrase-ranking", _memo_key(5)))
    fresh = ContentCache(tmp_path / "fresh")
    ranking.ranked_with_memo(corpus, keys, 5, fresh)
    assert kept is not None
    assert _content(kept) == _content(
        ranking._loaded(fresh.get_blob("keyphrase-ranking", _memo_key(5)))
    )


def _content(snapshot: ranking.RankSnapshot | None) -> object:
    """A snapshot as texts: the numbering of its stored terms depends on its history."""
    assert snapshot is not None
    ranks = {key: snapshot.rank(key) for key in snapshot.papers}
    return ranks, snapshot.word_df, snapshot.phrase_df


def test_a_snapshot_whose_terms_mostly_left_is_numbered_afresh(tmp_path: Path) -> None:
    """Whole new corpora, one after another: the stored term list grows past twice the live
    terms and is numbered again; rankings and snapshot still equal fresh ones."""
    rng = random.Random(11)
    cache = ContentCache(tmp_path / "cache")
    sizes = []
    for round_ in range(4):
        corpus = _random_corpus(rng, 60)
        keys = [f"round {round_}, paper {i}" for i in range(len(corpus))]
        assert ranking.ranked_with_memo(corpus, keys, 5, cache) == rank_corpus(corpus, 5)
        kept = ranking._loaded(cache.get_blob("keyphrase-ranking", _memo_key(5)))
        assert kept is not None
        sizes.append(len(kept.terms))
    fresh = ContentCache(tmp_path / "fresh")
    ranking.ranked_with_memo(corpus, keys, 5, fresh)
    assert _content(kept) == _content(
        ranking._loaded(fresh.get_blob("keyphrase-ranking", _memo_key(5)))
    )
    assert sizes[1] > sizes[0] and min(sizes[2:]) < max(sizes)  # it grew, then started over


def test_an_unreadable_snapshot_is_ranked_afresh(tmp_path: Path) -> None:
    corpus = _random_corpus(random.Random(5), 50)
    keys = [f"paper {i}" for i in range(len(corpus))]
    cache = ContentCache(tmp_path / "cache")
    first = ranking.ranked_with_memo(corpus, keys, 5, cache)
    stored = cache.get_blob("keyphrase-ranking", _memo_key(5))
    assert stored is not None and ranking._loaded(stored) is not None
    cache.put_blob("keyphrase-ranking", _memo_key(5), stored[: len(stored) // 2])
    assert ranking._loaded(cache.get_blob("keyphrase-ranking", _memo_key(5))) is None
    assert ranking.ranked_with_memo(corpus, keys, 5, cache) == first


def test_an_unchanged_corpus_reads_no_candidates(tmp_path: Path) -> None:
    corpus = _random_corpus(random.Random(3), 50)
    keys = [f"paper {i}" for i in range(len(corpus))]
    cache = ContentCache(tmp_path / "cache")
    first = ranking.ranked_with_memo(corpus, keys, 5, cache)

    def nothing(positions: Sequence[int]) -> list[list[Candidate]]:
        raise AssertionError(f"read {list(positions)}")

    assert ranking.rank_keyphrases(keys, nothing, 5, cache) == first


def _memo_key(per_paper: int) -> str:
    from digest.cache import content_key
    from digest.fingerprint import code_fingerprint

    return content_key("keyphrase-ranking", ranking.VERSION, per_paper, code_fingerprint())


def test_large_corpus_counts_are_read_in_steps_so_one_edit_rarely_moves_them() -> None:
    from digest.ranking import coarse

    assert [coarse(n) for n in range(17)] == list(range(17))
    large = [coarse(n) for n in range(17, 20_000)]
    assert large == sorted(large)
    assert all(abs(coarse(n) - n) <= 0.06 * n for n in range(17, 20_000))
    moved = sum(coarse(n) != coarse(n + 1) for n in range(100, 20_000))
    assert moved < 0.01 * 19_900
