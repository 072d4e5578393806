import random
from dataclasses import replace

import numpy as np

from digest.model import Paper, Source
from digest.theme_names import GENERIC_NAMES
from digest.themes import auto_theme_count, group_themes

TOPICS = {
    "graph": ["graph neural network", "node classification", "message passing", "link prediction"],
    "vision": ["image segmentation", "object detection", "convolutional network", "pixel labels"],
    "speech": ["speech recognition", "acoustic model", "spoken language", "audio features"],
    "astro": ["galaxy morphology", "dark matter", "stellar population", "redshift survey"],
}
FILLER = ["model", "method", "results", "learning", "approach", "data"]


def _corpus(per_topic: int = 12, seed: int = 1) -> list[Paper]:
    rng = random.Random(seed)
    papers = []
    for topic, phrases in TOPICS.items():
        for i in range(per_topic):
            chosen = rng.sample(phrases, 3)
            words = " ".join(chosen * 3 + rng.sample(FILLER, 3))
            papers.append(
                Paper(
                    id=f"{topic}-{i:02d}",
                    title=f"{topic} paper {i}",
                    title_derived=True,
                    abstract=f"We study {words} in {topic} settings, paper {i}.",
                    sources=(Source("x.txt", len(papers) + 1),),
                    keyphrases=(*chosen, "model"),
                )
            )
    return papers


def test_every_paper_gets_exactly_one_theme_and_names_are_distinct() -> None:
    papers, themes = group_themes(_corpus())
    assert all(p.theme for p in papers)
    members = [pid for t in themes for pid in t.paper_ids]
    assert sorted(members) == sorted(p.id for p in papers)
    assert len({t.name.lower() for t in themes}) == len(themes)
    assert len({t.slug for t in themes}) == len(themes)


def test_clear_topics_are_recovered() -> None:
    _papers, themes = group_themes(_corpus(), theme_count=4)
    assert len(themes) == 4
    for theme in themes:
        topics = {pid.split("-")[0] for pid in theme.paper_ids}
        assert len(topics) == 1, theme


def test_names_are_keyphrases_and_never_a_generic_word_alone() -> None:
    _, themes = group_themes(_corpus(), theme_count=4)
    for theme in themes:
        assert theme.name.lower() not in GENERIC_NAMES
        assert "&" in theme.name or "," in theme.name
        first = theme.name.split(" & ")[0].lower()
        assert first in {k for ks in TOPICS.values() for k in ks}


def test_no_theme_holds_more_than_40_percent_with_30_or_more_papers() -> None:
    papers = _corpus(per_topic=30)[:45]  # two topics: k-means would split 30/15 at k=2
    _, themes = group_themes(papers, theme_count=2)
    assert max(len(t.paper_ids) for t in themes) <= 0.4 * len(papers)


def test_same_input_in_another_order_gives_the_same_themes() -> None:
    papers = _corpus()
    shuffled = papers[:]
    random.Random(7).shuffle(shuffled)
    _, first = group_themes(papers)
    _, second = group_themes(shuffled)
    assert first == second


def test_auto_theme_count_grows_slowly() -> None:
    assert auto_theme_count(3) == 1
    assert 4 <= auto_theme_count(77) <= 10
    assert auto_theme_count(100_000) <= 60


def test_tiny_corpora_work() -> None:
    _papers, themes = group_themes(_corpus(per_topic=1))
    assert len(themes) == 1 and len(themes[0].paper_ids) == 4
    assert group_themes([]) == ((), ())


def test_one_paper_more_keeps_every_other_paper_in_its_theme_and_url() -> None:
    papers = _corpus()
    extra = Paper(
        id="speech-99",
        title="speech paper 99",
        title_derived=True,
        abstract="We study speech recognition with an acoustic model of spoken language.",
        sources=(Source("y.txt", 1),),
        keyphrases=("speech recognition", "acoustic model", "spoken language"),
    )
    before, _ = group_themes(papers)
    after, _ = group_themes([*papers, extra])
    theme_after = {p.id: p.theme for p in after}
    assert all(theme_after[p.id] == p.theme for p in before)


def test_a_paper_that_says_its_theme_name_is_tagged_with_it() -> None:
    from digest.theme_names import CorpusPhrases, ThemeName, tag_with_name

    def paper(pid: str, abstract: str, keyphrases: tuple[str, ...]) -> Paper:
        return Paper(pid, pid, True, abstract, (Source("x.txt", 1),), keyphrases=keyphrases)

    carrier = paper("a", "Supermassive black holes.", ("supermassive black holes", "jets"))
    sayer = paper(
        "b",
        "Spin of Black Holes measured with X-ray reflection.",
        ("spin", "x-ray reflection", "black", "iron line", "disc", "corona"),
    )
    silent = paper("c", "Dust in galaxies.", ("dust", "galaxies", "extinction"))
    corpus = CorpusPhrases([carrier, sayer, silent])
    name = ThemeName("Black holes", ("black hole",), ())
    tagged = tag_with_name([carrier, sayer, silent], name, corpus)
    assert set(tagged) == {"b"}  # "a" carries it already, "c" never says it
    # The fragment "black" goes, the count stays, the weakest keyphrase makes room.
    assert tagged["b"] == ("spin", "x-ray reflection", "iron line", "disc", "corona", "black holes")


def test_a_theme_url_comes_from_its_leading_name_phrase() -> None:
    from digest.paths import slugify

    _, themes = group_themes(_corpus())
    for theme in themes:
        leading = theme.name.split(", ")[0].split(" & ")[0]
        assert theme.slug == slugify(leading)


def test_no_phrase_is_in_two_theme_names() -> None:
    from digest.theme_names import CorpusPhrases, name_groups

    def group(prefix: str, size: int, shared: str, own: str) -> list[Paper]:
        return [
            Paper(
                f"{prefix}-{i}",
                f"{prefix} {i}",
                True,
                "An abstract.",
                (Source("x.txt", i + 1),),
                keyphrases=(shared, own) if i % 2 else (shared,),
            )
            for i in range(size)
        ]

    groups = [
        group("speech", 8, "representation learning", "speech recognition"),
        group("vision", 6, "deep representation learning", "object detection"),
    ]
    names = name_groups(groups, CorpusPhrases([p for g in groups for p in g]))
    first, second = (set(n.keys) for n in names)
    assert "representation learning" in first
    assert second and not any("representation learning" in key for key in second)


def test_a_single_word_names_a_theme_only_where_most_papers_saying_it_are() -> None:
    from digest.theme_names import CorpusPhrases, name_groups

    def group(prefix: str, texts: list[tuple[str, tuple[str, ...]]]) -> list[Paper]:
        return [
            Paper(f"{prefix}-{i}", "", True, text, (Source("x.txt", i + 1),), keyphrases=kps)
            for i, (text, kps) in enumerate(texts * (10 // len(texts)))
        ]

    games = group(
        "games",
        [
            ("Bayesian games with regret guarantees.", ("bayesian games", "regret guarantees")),
            (
                "Markov games reach Nash equilibria, with guarantees.",
                ("markov games", "nash equilibria"),
            ),
        ],
    )
    bandits = group(
        "bandits",
        [
            (f"{topic} for bandits, with {kind} guarantees.", (topic, f"{kind} guarantees"))
            for topic, kind in [
                ("arm elimination", "regret"),
                ("thompson sampling", "theoretical"),
                ("upper confidence bounds", "sample"),
                ("bandit feedback", "convergence"),
                ("best arm identification", "optimality"),
            ]
        ],
    )
    names = name_groups([games, bandits], CorpusPhrases([*games, *bandits]))
    assert names[0].keys[0] == "game"  # every games paper says it, and no other paper does
    assert all("guarantee" not in n.keys for n in names)  # said all over the corpus
    assert all(len(n.keys) >= 2 for n in names)


def test_a_large_corpus_is_grouped_by_a_model_fitted_on_an_id_hash_sample(monkeypatch) -> None:
    from digest import themes as themes_module

    monkeypatch.setattr(themes_module, "THEME_SAMPLE", 40)
    papers = _corpus(per_topic=25)
    sample = _sampled(papers)
    assert len(sample) == 40
    reversed_text = [replace(p, abstract=p.abstract[::-1]) for p in papers]
    assert _sampled(reversed_text) == sample  # the text never decides
    themed, themes = group_themes(papers, theme_count=4)
    for theme in themes:  # papers outside the sample join the right topic all the same
        assert len({pid.split("-")[0] for pid in theme.paper_ids}) == 1, theme
    assert len({p.theme for p in themed if p.id not in sample}) == 4


def test_editing_a_paper_outside_the_sample_moves_no_other_paper_nor_renames_a_theme(
    monkeypatch,
) -> None:
    from digest import themes as themes_module

    monkeypatch.setattr(themes_module, "THEME_SAMPLE", 40)
    papers = _corpus(per_topic=25)
    sample = _sampled(papers)
    before, themes_before = group_themes(papers)
    edited_ids = [p.id for p in papers if p.id not in sample][:5]
    for edited_id in edited_ids:
        edited = [
            replace(p, abstract="Dark matter halos and a redshift survey of galaxy morphology.")
            if p.id == edited_id
            else p
            for p in papers
        ]
        after, themes_after = group_themes(edited)
        assert [(t.slug, t.name, t.keyphrases) for t in themes_after] == [
            (t.slug, t.name, t.keyphrases) for t in themes_before
        ]
        changed = {a.id for a, b in zip(before, after, strict=True) if a != b}
        assert changed <= {edited_id}
    # The edited papers now read as astronomy, and follow: the assignment is not frozen.
    astro = {t.slug for t in themes_before if t.paper_ids[0].startswith("astro")}
    moved = [pid for pid in edited_ids if not pid.startswith("astro")]
    assert moved, "every edited paper was astronomy already"
    last, _ = group_themes(
        [
            replace(
                p,
                abstract="Dark matter halos and a redshift survey of galaxy morphology.",
                keyphrases=("dark matter", "redshift survey", "galaxy morphology"),
            )
            if p.id == moved[0]
            else p
            for p in papers
        ]
    )
    assert next(p.theme for p in last if p.id == moved[0]) in astro


def _sampled(papers: list[Paper]) -> frozenset[str]:
    from digest.themes import sampled_ids

    return sampled_ids(p.id for p in papers)


def test_a_cached_grouping_equals_a_fresh_one_and_an_edit_outside_the_sample_places_one_paper(
    monkeypatch, tmp_path
) -> None:
    from digest import themes as themes_module
    from digest.cache import ContentCache

    monkeypatch.setattr(themes_module, "THEME_SAMPLE", 40)
    papers = _corpus(per_topic=25)
    sample = _sampled(papers)
    cache = ContentCache(tmp_path)
    fresh = group_themes(papers)
    assert group_themes(papers, cache=cache) == fresh
    fits, placed = [], []
    real_fit, real_assign = themes_module.fit_theme_model, themes_module.ThemeModel.assign
    monkeypatch.setattr(themes_module, "fit_theme_model", lambda *a: fits.append(1) or real_fit(*a))
    monkeypatch.setattr(
        themes_module.ThemeModel,
        "assign",
        lambda self, ps: placed.extend(p.id for p in ps) or real_assign(self, ps),
    )
    assert group_themes(papers, cache=cache) == fresh
    assert (fits, placed) == ([], [])
    outside = next(p for p in papers if p.id not in sample)
    edited = [
        replace(p, abstract="Dark matter halos and a redshift survey of galaxy morphology.")
        if p.id == outside.id
        else p
        for p in papers
    ]
    cached = group_themes(edited, cache=cache)
    assert (fits, placed) == ([], [outside.id])
    assert cached == group_themes(edited)
    inside = next(p for p in papers if p.id in sample)
    moved = [replace(p, abstract="Renamed.") if p.id == inside.id else p for p in papers]
    fits.clear()
    assert group_themes(moved, cache=cache) == group_themes(moved)
    assert fits == [1, 1]  # a sample paper's edit refits, cached or not


def test_keyphrases_re_ranked_in_the_sample_rename_at_most_and_never_regroup(
    monkeypatch, tmp_path
) -> None:
    """An edit anywhere moves the corpus counts keyphrase ranking reads, so sample papers'
    keyphrases can change without their text: the clusters come from the text alone."""
    from digest import themes as themes_module
    from digest.cache import ContentCache

    monkeypatch.setattr(themes_module, "THEME_SAMPLE", 40)
    papers = _corpus(per_topic=25)
    sample = _sampled(papers)
    cache = ContentCache(tmp_path)
    _, themes = group_themes(papers, cache=cache)
    fits = []
    real_fit = themes_module.fit_theme_model
    monkeypatch.setattr(themes_module, "fit_theme_model", lambda *a: fits.append(1) or real_fit(*a))
    reranked = [
        replace(p, keyphrases=(*p.keyphrases[:2], "learning approach")) if p.id in sample else p
        for p in papers
    ]
    cached, regrouped = group_themes(reranked, cache=cache)
    assert fits == []
    assert [t.paper_ids for t in regrouped] == [t.paper_ids for t in themes]
    assert (cached, regrouped) == group_themes(reranked)
    assert fits == [1]


def test_sample_keyphrases_re_ranked_without_renaming_place_no_other_paper_again(
    monkeypatch, tmp_path
) -> None:
    """Placing a paper reads the model, the names and how name phrases are written: when a
    sample paper's re-ranked keyphrases name the themes as before, the other papers keep
    their places (at 10,000 papers, re-placing 7,000 took ~3 s of such a rebuild)."""
    from digest import themes as themes_module
    from digest.cache import ContentCache

    monkeypatch.setattr(themes_module, "THEME_SAMPLE", 40)
    papers = _corpus(per_topic=25)
    sample = _sampled(papers)
    cache = ContentCache(tmp_path)
    group_themes(papers, cache=cache)
    named, placed = [], []
    real_named, real_assign = themes_module._named_sample, themes_module.ThemeModel.assign
    monkeypatch.setattr(
        themes_module, "_named_sample", lambda *a: named.append(1) or real_named(*a)
    )
    monkeypatch.setattr(
        themes_module.ThemeModel,
        "assign",
        lambda self, ps: placed.extend(p.id for p in ps) or real_assign(self, ps),
    )
    first = next(p for p in papers if p.id in sample)
    reranked = [
        replace(p, keyphrases=(*p.keyphrases, "zymurgy")) if p.id == first.id else p for p in papers
    ]
    assert group_themes(reranked, cache=cache) == group_themes(reranked)
    assert named == [1, 1]  # named again, cached and fresh
    assert len(placed) == len(papers) - len(sample)  # only by the fresh grouping


def test_blending_follows_a_neighbour_smoothly_when_it_overtakes_another() -> None:
    """A paper's blended vector must not jump when another paper's tiny change makes it
    overtake a neighbour: with a cut at the ten nearest, one edit in the sample swapped
    neighbours and moved hundreds of papers between themes."""
    from digest.lsa import unit_rows
    from digest.themes import _smooth

    rng = np.random.default_rng(0)
    among = unit_rows(rng.normal(size=(40, 12)) + 2.0 * rng.normal(size=(1, 12)))
    paper = among[:1]
    order = np.argsort(-(among @ paper[0]))  # order[0] is the paper itself
    tenth, eleventh = among[order[10]], among[order[11]]
    nudged = among.copy()
    # the eleventh moves just past the tenth: its similarity to the paper rises by the gap
    # between the two and a little more
    gap = float((tenth - eleventh) @ paper[0]) + 1e-4
    nudged[order[11]] = unit_rows((eleventh + 1.05 * gap * paper[0])[np.newaxis])[0]
    moved = np.abs(nudged[order[11]] - eleventh).max()
    assert nudged[order[11]] @ paper[0] > tenth @ paper[0]
    before = _smooth(paper, among, exclude_self=True)
    after = _smooth(paper, nudged, exclude_self=True)
    assert np.abs(after - before).max() < moved


def test_a_sentence_added_to_one_seed_abstract_seldom_moves_other_papers() -> None:
    """The seeds' themes are fitted on every paper, so each edit refits them. With a randomized
    SVD and a cut at the ten nearest neighbours, the first 30 such edits (in id order) moved 188
    other papers in all; now 52."""
    from scipy.optimize import linear_sum_assignment

    from digest.merge import merge_records
    from digest.sources import load_records
    from digest.themes import auto_theme_count, fit_theme_model
    from tests.conftest import SEEDS

    papers = sorted(merge_records(load_records([SEEDS])), key=lambda p: p.id)
    k = auto_theme_count(len(papers))
    before, _ = fit_theme_model(papers, k)
    moved = 0
    for i in range(30):
        sentence = replace(papers[i], abstract=papers[i].abstract + " We also release our code.")
        after, _ = fit_theme_model([*papers[:i], sentence, *papers[i + 1 :]], k)
        others = np.delete(np.arange(len(papers)), i)
        size = max(before.max(), after.max()) + 1
        table = np.zeros((size, size))
        np.add.at(table, (before[others], after[others]), 1)
        rows, columns = linear_sum_assignment(-table)
        moved += len(others) - int(table[rows, columns].sum())
    assert moved <= 100
