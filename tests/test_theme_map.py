"""The theme map's layout and SVG, the timeline's counting, keyphrase bars and "why here"."""

from __future__ import annotations

import itertools
import json
import math
import random
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from digest.charts import count_months, keyphrase_bars, timeline
from digest.config import load_config
from digest.model import Paper, PaperDate, Source, Theme
from digest.render import make_environment
from digest.theme_map import (
    CHAR_EM,
    LABEL_TIERS,
    PALETTE_SIZE,
    ThemeMap,
    layout_theme_map,
    map_from_json,
    map_to_json,
    place_labels,
)
from digest.why_here import name_matches, name_phrases
from tests.conftest import REPO

TOPICS = {
    "galaxies": (
        "Black holes, galaxies & dark matter",
        "galaxy black hole dark matter halo stellar cluster redshift telescope survey",
        ("supermassive black holes", "galaxy clusters", "dark matter halos"),
    ),
    "proteins": (
        "Protein folding",
        "protein folding structure residue enzyme binding molecular dynamics sequence",
        ("protein folding", "binding sites", "molecular dynamics"),
    ),
    "robots": (
        "Robot grasping & reinforcement learning",
        "robot grasping arm policy reinforcement learning simulation reward manipulation",
        ("robot grasping", "reinforcement learning", "sim-to-real transfer"),
    ),
}


def _paper(i: int, topic: str, rng: random.Random, **changes: object) -> Paper:
    _, words, phrases = TOPICS[topic]
    vocabulary = words.split()
    abstract = " ".join(rng.choice(vocabulary) for _ in range(40))
    paper = Paper(
        id=f"{topic[:3]}{i:04d}",
        title=f"On {rng.choice(vocabulary)} and {rng.choice(vocabulary)} number {i}",
        title_derived=False,
        abstract=abstract,
        sources=(Source("seeds/x.txt", i + 1),),
        keyphrases=tuple(rng.sample(phrases, 2)),
        theme=topic,
    )
    return replace(paper, **changes) if changes else paper


def _corpus(per_topic: int, seed: int = 1) -> tuple[list[Paper], list[Theme]]:
    rng = random.Random(seed)
    papers = [_paper(i, topic, rng) for topic in TOPICS for i in range(per_topic)]
    themes = [
        Theme(
            slug=topic,
            name=TOPICS[topic][0],
            keyphrases=TOPICS[topic][2],
            paper_ids=tuple(p.id for p in papers if p.theme == topic),
            short_name=TOPICS[topic][0],
        )
        for topic in TOPICS
    ]
    return papers, themes


def _svg(theme_map: ThemeMap) -> bytes:
    """The map exactly as the home page writes it."""
    env = make_environment(load_config(None))
    template = env.get_template("partials/theme_map.html")
    return template.render(theme_map=theme_map, page_path="index.html").encode("utf-8")


# --- layout -------------------------------------------------------------------------------


def test_same_input_gives_byte_identical_svg() -> None:
    papers, themes = _corpus(20)
    assert _svg(layout_theme_map(papers, themes)) == _svg(layout_theme_map(papers, themes))


def test_input_order_does_not_change_the_map() -> None:
    papers, themes = _corpus(20)
    shuffled = papers[:]
    random.Random(7).shuffle(shuffled)
    assert shuffled != papers
    assert _svg(layout_theme_map(shuffled, themes)) == _svg(layout_theme_map(papers, themes))


def test_a_cached_map_equals_a_fresh_one_and_an_edit_vectorises_one_paper(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from digest import theme_map as map_module
    from digest import themes as themes_module
    from digest.cache import ContentCache

    monkeypatch.setattr(themes_module, "THEME_SAMPLE", 30)
    papers, themes = _corpus(20)
    cache = ContentCache(tmp_path)
    fresh = _svg(layout_theme_map(papers, themes))
    assert _svg(layout_theme_map(papers, themes, cache)) == fresh
    vectorised: list[int] = []
    real = map_module.MapModel.vectors
    monkeypatch.setattr(
        map_module.MapModel, "vectors", lambda self, t: vectorised.append(len(t)) or real(self, t)
    )
    assert _svg(layout_theme_map(papers, themes, cache)) == fresh
    assert vectorised == []
    sample = themes_module.sampled_ids(p.id for p in papers)
    outside = next(i for i, p in enumerate(papers) if p.id not in sample)
    edited = list(papers)
    edited[outside] = replace(papers[outside], abstract="enzyme binding " * 20)
    assert _svg(layout_theme_map(edited, themes, cache)) == _svg(layout_theme_map(edited, themes))
    assert vectorised[0] == 1


def test_one_linked_point_per_paper_inside_the_view_box() -> None:
    papers, themes = _corpus(25)
    theme_map = layout_theme_map(papers, themes)
    paths = [p.path for t in theme_map.themes for p in t.points]
    assert sorted(paths) == sorted(f"papers/{p.id}.html" for p in papers)
    for theme in theme_map.themes:
        for point in theme.points:
            assert isinstance(point.x, int) and isinstance(point.y, int)
            assert 0 <= point.x <= theme_map.width and 0 <= point.y <= theme_map.height
    svg = _svg(theme_map).decode()
    assert svg.count("<a href=") == svg.count("<circle") == svg.count("<title") - 1 == 75
    assert 'href="papers/' in svg and 'href="/' not in svg


def test_themes_form_separate_clusters() -> None:
    """Every paper is closer to its own theme's centre than to any other theme's."""
    papers, themes = _corpus(30)
    theme_map = layout_theme_map(papers, themes)
    centres = {
        t.slug: (
            sum(p.x for p in t.points) / len(t.points),
            sum(p.y for p in t.points) / len(t.points),
        )
        for t in theme_map.themes
    }
    for theme in theme_map.themes:
        for point in theme.points:
            nearest = min(centres, key=lambda s: math.dist(centres[s], (point.x, point.y)))
            assert nearest == theme.slug, f"{point.path} sits in {nearest}, not {theme.slug}"


def test_no_per_point_styles_and_few_bytes_per_paper() -> None:
    papers, themes = _corpus(100)
    theme_map = layout_theme_map(papers, themes)
    svg = _svg(theme_map).decode()
    assert "style=" not in svg
    assert svg.count("class=") <= len(theme_map.themes) + len(theme_map.labels) + 3
    points = re.findall(r"<a href=.*?</a>", svg)
    assert len(points) == 300
    overhead = sum(len(p) for p in points) - sum(
        len(p.title) for t in theme_map.themes for p in t.points
    )
    assert overhead / len(points) < 90, (
        f"{overhead / len(points):.0f} bytes per point besides the title"
    )


@pytest.mark.parametrize("count", [1, 2, 5])
def test_tiny_corpora_one_theme(count: int) -> None:
    rng = random.Random(3)
    papers = [_paper(i, "proteins", rng) for i in range(count)]
    themes = [Theme("proteins", "Protein folding", (), tuple(p.id for p in papers), "Protein")]
    theme_map = layout_theme_map(papers, themes)
    assert theme_map.point_count == count
    assert [label.tier for label in theme_map.labels] == [tier.name for tier in LABEL_TIERS]
    for point in theme_map.themes[0].points:
        assert 0 <= point.x <= theme_map.width and 0 <= point.y <= theme_map.height
    assert _svg(theme_map).count(b"<circle") == count


def test_degenerate_corpora_still_give_a_map() -> None:
    """No papers; stop words only (an empty vocabulary); a paper with an unknown theme."""
    assert layout_theme_map([], []).point_count == 0
    rng = random.Random(5)
    empty = [
        _paper(i, "robots", rng, abstract="the of and", title="The", keyphrases=())
        for i in range(3)
    ]
    themes = [Theme("robots", "Robots", (), tuple(p.id for p in empty), "Robots")]
    assert layout_theme_map(empty, themes).point_count == 3
    stray = _paper(9, "galaxies", rng, theme="nowhere")
    assert layout_theme_map([*empty, stray], themes).point_count == 4


def test_colours_cycle_beyond_the_palette() -> None:
    rng = random.Random(11)
    papers = [_paper(i, "robots", rng, theme=f"theme-{i}") for i in range(PALETTE_SIZE + 3)]
    themes = [
        Theme(p.theme or "", f"Theme {i}", (), (p.id,), f"Theme {i}") for i, p in enumerate(papers)
    ]
    theme_map = layout_theme_map(papers, themes)
    classes = [t.css_class for t in theme_map.themes]
    assert classes[:PALETTE_SIZE] == [f"t{i}" for i in range(PALETTE_SIZE)]
    assert classes[PALETTE_SIZE:] == ["t0", "t1", "t2"]


def test_placed_labels_never_overlap_within_a_tier() -> None:
    """Twenty themes crowded together: every label shown is clear of every other and inside
    the map (boxes as the layout estimates them; the browser test measures real text)."""
    named = [
        (f"Theme number {i} with a long name", np.array([500.0 + 9 * i, 300.0]), 40.0, 30 - i)
        for i in range(20)
    ]
    labels = place_labels(named, 1000, 600)
    for tier_spec in LABEL_TIERS:
        tier, font = tier_spec.name, tier_spec.font
        boxes = []
        for label in (lb for lb in labels if lb.tier == tier):
            width = max(len(line.text) for line in label.lines) * CHAR_EM * font
            height = len(label.lines) * 1.2 * font
            boxes.append((label.x - width / 2, label.y - height / 2, width, height))
            assert label.x - width / 2 >= 0 and label.x + width / 2 <= 1000
            assert label.y - height / 2 >= 0 and label.y + height / 2 <= 600
        assert boxes, tier
        for a, b in itertools.combinations(boxes, 2):
            apart = (
                a[0] + a[2] <= b[0]
                or b[0] + b[2] <= a[0]
                or a[1] + a[3] <= b[1]
                or b[1] + b[3] <= a[1]
            )
            assert apart, (tier, a, b)


# --- palette ------------------------------------------------------------------------------


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _variables(block: str) -> dict[str, str]:
    return dict(re.findall(r"--([a-z0-9-]+):\s*(#[0-9a-f]{6})", block))


def test_theme_palette_has_contrast_in_light_and_dark_mode() -> None:
    css = (REPO / "static" / "style.css").read_text(encoding="utf-8")
    light = _variables(css.split("@media (prefers-color-scheme: dark)")[0])
    dark = _variables(css.split("@media (prefers-color-scheme: dark)")[1].split("}\n}")[0])
    for mode in (light, dark):
        palette = [mode[f"c{i}"] for i in range(PALETTE_SIZE)]
        assert len(set(palette)) == PALETTE_SIZE
        for colour in palette:
            for background in (mode["bg"], mode["card"]):
                assert _contrast(colour, background) >= 3, (colour, background)


# --- timeline -----------------------------------------------------------------------------


def _dated(i: int, date: PaperDate | None) -> Paper:
    return Paper(id=f"p{i}", title="t", title_derived=False, abstract="a", sources=(), date=date)


def test_timeline_counts_dated_papers_and_keeps_the_rest_apart() -> None:
    papers = [
        _dated(1, PaperDate(2021, 3, 4)),
        _dated(2, PaperDate(2021, 3)),
        _dated(3, PaperDate(2022, 1, 1)),
        _dated(4, PaperDate(2022)),  # year only: not a month
        _dated(5, PaperDate(None, 5, 13)),  # "May 13": no year, undated
        _dated(6, None),
        _dated(7, PaperDate(2020, 12, 31)),
    ]
    counts = count_months(papers)
    assert counts.months == (((2020, 12), 1), ((2021, 3), 2), ((2022, 1), 1))
    assert (counts.dated, counts.undated, counts.year_only) == (4, 2, 1)
    chart = timeline(counts)
    assert sum(bar.count for bar in chart.bars) == counts.dated == 4
    assert [bar.label for bar in chart.bars] == [
        "Dec 2020: 1 paper",
        "Mar 2021: 2 papers",
        "Jan 2022: 1 paper",
    ]
    assert (chart.first, chart.last, chart.peak) == ("Dec 2020", "Jan 2022", "Mar 2021 (2 papers)")
    tallest = max(chart.bars, key=lambda bar: bar.height)
    assert tallest.count == 2 and tallest.y + tallest.height == chart.baseline
    xs = [bar.x for bar in chart.bars]
    assert xs == sorted(xs) and all(0 <= x < chart.width for x in xs)


def test_timeline_without_dated_papers_has_no_bars_but_counts_the_undated() -> None:
    chart = timeline(count_months([_dated(1, None), _dated(2, PaperDate(None, 2, 20))]))
    assert chart.bars == () and chart.counts.undated == 2


def test_theme_timeline_shares_the_sites_axis() -> None:
    everything = count_months([_dated(1, PaperDate(2020, 1)), _dated(2, PaperDate(2024, 12))])
    span = (everything.months[0][0], everything.months[-1][0])
    one = timeline(count_months([_dated(3, PaperDate(2020, 1))]), span)
    last = timeline(count_months([_dated(4, PaperDate(2024, 12))]), span)
    assert one.bars[0].x < 20 and last.bars[0].x > 970


# --- keyphrase bars and "why here" --------------------------------------------------------


def test_keyphrase_bars_count_papers_within_the_theme() -> None:
    papers, themes = _corpus(12)
    theme = themes[0]
    members = [p for p in papers if p.theme == theme.slug]
    bars = keyphrase_bars(theme, members)
    for bar in bars:
        assert bar.count == sum(1 for p in members if bar.text in p.keyphrases)
    assert [b.count for b in bars] == sorted((b.count for b in bars), reverse=True)
    assert bars[0].percent == 100


def test_why_here_matches_name_phrases_as_word_sequences() -> None:
    name = "Black holes, galaxies & dark matter"
    assert name_phrases(name) == ("Black holes", "galaxies", "dark matter")
    assert name_phrases("Protein folding (2)") == ("Protein folding",)
    keyphrases = (
        "supermassive black holes",  # contains "black holes"
        "galaxy clusters",  # "galaxy" is "galaxies", plural folded
        "Dark-Matter halo",  # case and hyphen folded
        "blackboard holes",  # not the words "black holes"
        "matter dark",  # words in the wrong order
    )
    found = {(m.keyphrase, m.name_phrase) for m in name_matches(keyphrases, name)}
    assert [m.exact for m in name_matches(("black hole", "black holes disk"), name)] == [
        True,
        False,
    ]
    assert found == {
        ("supermassive black holes", "Black holes"),
        ("galaxy clusters", "galaxies"),
        ("Dark-Matter halo", "dark matter"),
    }


def test_paper_pages_explain_why_here(seeds_site: Path) -> None:
    marked = 0
    for page in sorted((seeds_site / "papers").glob("*.html")):
        html = page.read_text(encoding="utf-8")
        assert 'class="why-here"' in html, page.name
        marked += html.count('<li class="marked">')
    assert marked >= 20, f"only {marked} keyphrases marked as part of a theme name"


def test_the_cached_map_reads_back_equal_and_bad_data_is_ignored() -> None:
    papers, themes = _corpus(10)
    theme_map = layout_theme_map(papers, themes)
    assert map_from_json(json.loads(json.dumps(map_to_json(theme_map)))) == theme_map
    assert map_from_json({"size": [1, 2]}) is None
    assert map_from_json(None) is None


@pytest.mark.parametrize(
    ("first", "last"),
    [
        ((2025, 3), (2025, 5)),
        ((2024, 6), (2025, 5)),
        ((2016, 11), (2024, 11)),
        ((1991, 8), (2025, 5)),
    ],
)
def test_timeline_axis_labels_name_the_year_and_never_touch(
    first: tuple[int, int], last: tuple[int, int]
) -> None:
    papers = [_dated(1, PaperDate(*first)), _dated(2, PaperDate(*last))]
    chart = timeline(count_months(papers))
    texts = [tick.text for tick in chart.ticks]
    assert any(re.fullmatch(r"\d{4}", text) for text in texts), texts
    xs = [tick.x for tick in chart.ticks]
    assert all(b - a >= 100 for a, b in itertools.pairwise(xs)), xs  # 4 chars at 34 units
    assert all(40 <= x <= chart.width - 40 for x in xs), xs
