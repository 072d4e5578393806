"""Papers → a 2-D theme map: every paper a dot near similar papers, coloured by its theme.

The map is geometry computed once at build time and written as static SVG by a template, so
it reads without JavaScript and costs the browser nothing but parsing. Layout:

1. Vectors: TF-IDF of title, abstract and keyphrases, exact truncated SVD (ARPACK) to at most
   50 dimensions (start vector seeded, one BLAS thread, fitted on the theme sample's titles and
   abstracts), unit length. Papers are sorted by id first, so the input order never changes a
   coordinate.
2. Themes: each theme's centroid is placed in 2-D by classical MDS of the centroids (PCA of
   the centred centroids, signs fixed); discs with area proportional to paper count are then
   drawn towards the middle and pushed apart until they touch without overlapping, so themes
   form visibly separate clusters, similar themes stay side by side and one far-off field does
   not squash the rest into a corner.
3. Papers: inside its theme's disc, each paper keeps the direction of its own offset from the
   centroid (projected on the same 2-D axes, so a paper leaning towards a neighbouring theme
   sits on that side) and its rank of distance from it; slots on concentric rings spread the
   dots evenly, so no two papers of a theme hide each other.
4. Everything is scaled to a fixed 1000-unit-wide viewBox with integer coordinates.

Why it stays light at 10,000 papers: a dot is one ``<a>`` with the paper's relative link, its
title (shortened) as ``<title>`` and a ``<circle>`` with integer ``cx``/``cy``; colour comes
from one CSS class on each theme's ``<g>`` (no per-dot style or class); labels are a few
dozen ``<text>`` elements. Measured: 169 bytes a paper before compression, about half of it
the title (README, "Visuals").

Labels: each theme's name is wrapped and placed over its disc, centre first; one that would
overlap a label already placed (larger themes first) is left out. Two label sets are laid out,
one for wide screens and one with larger text for phones (which may also sit just beside the
disc), and CSS shows one; the theme list below the map is the legend, naming every theme.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from digest.cache import ContentCache, cached_rows, cached_value, content_key, content_keys
from digest.fingerprint import code_fingerprint
from digest.lsa import Projection
from digest.lsa_fit import fit_projection
from digest.model import Paper, Theme
from digest.paths import paper_path
from digest.themes import theme_sample
from digest.titles import shorten

SEED = 0
SVD_DIMS = 50
WIDTH = 1000
MIN_HEIGHT = 360
MAX_HEIGHT = 680
MARGIN = 14
GAP = 2.5  # between theme discs, in dot spacings
SEPARATION_ROUNDS = 400
COMPACT_ROUNDS = 40
MAX_WIDEN = 1.6
PALETTE_SIZE = 12
MAX_SPACING = 60  # viewBox units between neighbouring dots: one paper is a dot, not a planet
MAX_DOT = 8
TITLE_CHARS = 120
# Label text sizes in viewBox units, as set in style.css: 15 units is ~17 px on a wide screen,
# 34 units is ~11.7 px on a 375 px phone. Boxes are estimated from these (bold, up to 0.7 em
# per character in DejaVu Sans Bold, the widest common fallback; 1.2 em lines), so placement
# never lets two shown labels collide.


@dataclass(frozen=True)
class LabelTier:
    """One screen size's labels: text size (viewBox units), wrap width (characters), and
    whether a name may sit beside its disc when nothing over the disc is free."""

    name: str
    font: int
    wrap: int
    beside: bool


LABEL_TIERS = (LabelTier("wide", 15, 24, False), LabelTier("narrow", 34, 20, True))
CHAR_EM = 0.7
BESIDE_DIRECTIONS = 16
LINE_EM = 1.2


@dataclass(frozen=True)
class MapPoint:
    """One paper: integer position, its page (a site path) and its title for the tooltip."""

    x: int
    y: int
    path: str
    title: str


@dataclass(frozen=True)
class LabelLine:
    text: str
    dy: str  # em offset from the previous line, so the block is centred on the anchor


@dataclass(frozen=True)
class MapLabel:
    """A theme name at one screen size (``tier``): anchor point and wrapped lines."""

    x: int
    y: int
    tier: str
    lines: tuple[LabelLine, ...]


@dataclass(frozen=True)
class MapTheme:
    slug: str
    name: str
    css_class: str
    points: tuple[MapPoint, ...]


@dataclass(frozen=True)
class ThemeMap:
    width: int
    height: int
    point_radius: int
    themes: tuple[MapTheme, ...]
    labels: tuple[MapLabel, ...]

    @property
    def point_count(self) -> int:
        return sum(len(t.points) for t in self.themes)


@dataclass(frozen=True)
class _Layout:
    """Positions in "dot spacing" units before scaling to the viewBox."""

    centres: np.ndarray  # themes × 2
    radii: np.ndarray  # themes
    points: tuple[np.ndarray, ...]  # per theme: members × 2, absolute


def theme_class(index: int) -> str:
    """The CSS class of the theme at ``index`` in the digest's theme order; colours cycle."""
    return f"t{index % PALETTE_SIZE}"


def layout_theme_map(
    papers: Sequence[Paper], themes: Sequence[Theme], cache: ContentCache | None = None
) -> ThemeMap:
    """The whole map. Deterministic: seeded, and papers are taken in id order. With a
    ``cache``, each paper's vector is kept by its text and the model's, so a rebuild after an
    edit vectorises that paper only."""
    ordered = sorted(papers, key=lambda p: p.id)
    if not ordered:
        return ThemeMap(WIDTH, MIN_HEIGHT, 2, (), ())
    groups = _groups(ordered, themes)
    vectors = paper_vectors(ordered, cache)
    layout = _layout(vectors, [members for _, members in groups])
    scale, offset, height = _fit(layout)
    radius = int(min(MAX_DOT, max(2, round(0.4 * scale))))
    map_themes = tuple(
        MapTheme(
            slug=theme.slug,
            name=theme.name,
            css_class=theme_class(index),
            points=_points(ordered, members, layout.points[g], scale, offset),
        )
        for g, ((index, theme), members) in enumerate(groups)
    )
    centres = layout.centres * scale + offset
    radii = layout.radii * scale
    named = [
        (theme.name, centres[g], radii[g], len(members))
        for g, ((_, theme), members) in enumerate(groups)
    ]
    labels = place_labels(named, WIDTH, height)
    return ThemeMap(WIDTH, height, radius, map_themes, labels)


def _groups(
    ordered: Sequence[Paper], themes: Sequence[Theme]
) -> list[tuple[tuple[int, Theme], list[int]]]:
    """Each theme with the positions (in ``ordered``) of its papers; a paper whose theme is
    unknown gets a nameless group of its own kind, so every paper is still a dot."""
    slot = {t.slug: i for i, t in enumerate(themes)}
    members: dict[int, list[int]] = {}
    for position, paper in enumerate(ordered):
        members.setdefault(slot.get(paper.theme or "", len(themes)), []).append(position)
    known = [((i, t), members[i]) for i, t in enumerate(themes) if i in members]
    if len(themes) in members:
        orphan = Theme(slug="", name="", keyphrases=(), paper_ids=(), short_name="")
        known.append(((len(themes), orphan), members[len(themes)]))
    return known


@dataclass(frozen=True)
class MapModel:
    """The projection fitted on the theme sample (see ``digest.themes``): fitting on every
    paper would move every dot after any edit and cost seconds on every rebuild. Projecting
    needs numpy alone (see ``digest.lsa``)."""

    projection: Projection | None  # None when the sample has no usable words
    dims: int
    key: str

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        if self.projection is None:
            return np.zeros((len(texts), self.dims), dtype=np.float64)
        return self.projection.vectors(texts)


def paper_vectors(ordered: Sequence[Paper], cache: ContentCache | None = None) -> np.ndarray:
    """Unit-length LSA vectors, from a model fitted on the theme sample; zeros when it has too
    few words to say anything.

    The SVD runs on one BLAS thread: on a busy two-core machine a threaded BLAS was four
    times slower, and one thread gives the same floating-point sums on every machine."""
    texts = [_text(p) for p in ordered]
    sample = theme_sample([p.id for p in ordered])
    model = _map_model([_fit_text(ordered[i]) for i in sample.tolist()], cache)
    keys = content_keys(("map-vector", model.key), ((t,) for t in texts))
    rows = cached_rows(
        cache,
        "map-vectors",
        model.key,
        keys,
        # plain floats: 10,000 rows as arrays took 0.14 s to unpickle, and as long to pickle
        lambda missing: [tuple(v) for v in model.vectors([texts[i] for i in missing]).tolist()],
    )
    if not rows:
        return np.empty((0, model.dims), dtype=np.float64)
    return np.array(rows, dtype=np.float64)


def _map_model(sample_texts: Sequence[str], cache: ContentCache | None) -> MapModel:
    """Pickled in the cache like the theme sample's model (see ``themes.sample_themes``)."""
    key = content_key("map-model", code_fingerprint(), sample_texts)
    return cached_value(cache, "map-model", key, lambda: _fit_map_model(sample_texts, key))


def _fit_map_model(texts: Sequence[str], key: str) -> MapModel:
    n = len(texts)
    fitted = fit_projection(
        texts,
        max_dims=SVD_DIMS,
        min_df=2 if n >= 50 else 1,
        max_df=0.5 if n >= 50 else 1.0,
        seed=SEED,
    )
    if fitted is None:  # empty vocabulary: every word a stop word
        return MapModel(None, 2, key)
    projection = fitted[1]
    return MapModel(projection, projection.width, key)


def _fit_text(paper: Paper) -> str:
    """What the model is fitted on: not the keyphrases, which an edit elsewhere in the corpus
    can re-rank (see ``digest.themes``), so that such an edit never refits it."""
    return f"{paper.title} {paper.abstract}"


def _text(paper: Paper) -> str:
    """Keyphrases twice: they are the words a paper is about, short next to its abstract."""
    phrases = " ".join(paper.keyphrases)
    return f"{paper.title} {paper.abstract} {phrases} {phrases}"


def _layout(vectors: np.ndarray, groups: Sequence[Sequence[int]]) -> _Layout:
    centroids = np.array([vectors[m].mean(axis=0) for m in groups])
    radii = np.array([_ring_count(len(m)) + 0.5 for m in groups], dtype=np.float64)
    axes = principal_axes(centroids) if len(groups) >= 3 else None
    placed = compact(
        _spread(centroids @ axes if axes is not None else _line(centroids), radii), radii
    )
    placed = _widen(placed, radii)
    points = tuple(placed[g] + _disc(vectors[m] - centroids[g], axes) for g, m in enumerate(groups))
    return _Layout(placed, radii, points)


def _widen(centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Stretch a layout taller than the viewBox's shape sideways (by at most ``MAX_WIDEN``), so
    the map fills the page's width. Spreading centres apart never makes discs overlap."""
    low = (centres - radii[:, None]).min(axis=0)
    high = (centres + radii[:, None]).max(axis=0)
    width, height = high - low
    wanted = (WIDTH - 2 * MARGIN) / (MAX_HEIGHT - 2 * MARGIN) * height
    if width <= 0 or width >= wanted:
        return centres
    factor = min(MAX_WIDEN, wanted / width)
    middle = centres[:, 0].mean()
    return np.column_stack([middle + (centres[:, 0] - middle) * factor, centres[:, 1]])


def principal_axes(rows: np.ndarray) -> np.ndarray:
    """The two main directions of ``rows`` (d × 2), each signed so its largest component is
    positive: an SVD's signs are arbitrary, the map's orientation must not be."""
    centred = rows - rows.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    axes = np.zeros((rows.shape[1], 2))
    for i in range(min(2, vt.shape[0])):
        axis = vt[i]
        axes[:, i] = axis if axis[np.argmax(np.abs(axis))] >= 0 else -axis
    return axes


def _line(centroids: np.ndarray) -> np.ndarray:
    """One or two themes: side by side, in theme order."""
    return np.array([[float(i), 0.0] for i in range(len(centroids))])


def _spread(coords: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """MDS coordinates rescaled so neighbouring themes sit about a disc apart (the unit is one
    dot spacing), plus a tiny deterministic nudge so no two centres coincide."""
    k = len(coords)
    if k == 1:
        return np.zeros((1, 2))
    coords = coords - coords.mean(axis=0)
    distances = np.linalg.norm(coords[:, None] - coords[None], axis=2)
    np.fill_diagonal(distances, np.inf)
    nearest = float(np.median(distances.min(axis=1)))
    scale = (1.5 * float(radii.mean()) + GAP) / nearest if nearest > 1e-9 else 1.0
    angles = np.arange(k) * 2.399963  # golden angle
    nudge = np.stack([np.cos(angles), np.sin(angles)], axis=1) * 1e-3
    return coords * scale + nudge


def compact(centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Draw the discs towards their common centre until they touch, a tenth at a time: one
    far-off field (astrophysics in a machine-learning corpus) must not squash every other
    theme into a corner, and the map keeps each theme on the side of its neighbours."""
    middle = centres.mean(axis=0)
    for _ in range(COMPACT_ROUNDS):
        centres = separate(middle + (centres - middle) * 0.9, radii, rounds=25)
    return separate(centres, radii)


def separate(centres: np.ndarray, radii: np.ndarray, rounds: int = SEPARATION_ROUNDS) -> np.ndarray:
    """Push overlapping discs apart (each pair by half the overlap, all pairs at once) until
    every pair is at least ``GAP`` apart; vectorised, so 200 themes take milliseconds."""
    centres = centres.copy()
    need = radii[:, None] + radii[None] + GAP
    for _ in range(rounds):
        delta = centres[:, None] - centres[None]
        dist = np.linalg.norm(delta, axis=2)
        np.fill_diagonal(dist, np.inf)
        overlap = np.where(dist < need, need - dist, 0.0)
        if not overlap.any():
            break
        direction = delta / np.maximum(dist, 1e-9)[..., None]
        centres += 0.5 * (overlap[..., None] * direction).sum(axis=1)
    return centres


def _ring_count(n: int) -> int:
    """Rings needed for ``n`` dots: one at the centre, then ⌊2πk⌋ on ring k."""
    rings, room = 0, 1
    while room < n:
        rings += 1
        room += _ring_capacity(rings)
    return rings


def _ring_capacity(ring: int) -> int:
    return 1 if ring == 0 else int(2 * math.pi * ring)


def _disc(offsets: np.ndarray, axes: np.ndarray | None) -> np.ndarray:
    """Members' positions relative to their theme's centre, on evenly filled rings: the
    closest to the centroid in the middle, each ring in the order of the papers' own angles."""
    n = len(offsets)
    flat = offsets @ (axes if axes is not None else principal_axes(offsets))
    norms = np.round(np.linalg.norm(flat, axis=1), 9)
    angles = np.arctan2(flat[:, 1], flat[:, 0])
    order = sorted(range(n), key=lambda i: (norms[i], i))
    out = np.zeros((n, 2))
    start, ring = 0, 0
    while start < n:
        members = order[start : start + _ring_capacity(ring)]
        _place_ring(out, members, angles, ring)
        start += len(members)
        ring += 1
    return out


def _place_ring(out: np.ndarray, members: list[int], angles: np.ndarray, ring: int) -> None:
    """Evenly spaced slots, turned so that the slots best match the papers' own angles."""
    if ring == 0:
        out[members[0]] = (0.0, 0.0)
        return
    members = sorted(members, key=lambda i: (round(float(angles[i]), 9), i))
    step = 2 * math.pi / len(members)
    turn = math.atan2(
        sum(math.sin(angles[i] - j * step) for j, i in enumerate(members)),
        sum(math.cos(angles[i] - j * step) for j, i in enumerate(members)),
    )
    for j, i in enumerate(members):
        out[i] = (ring * math.cos(turn + j * step), ring * math.sin(turn + j * step))


def _fit(layout: _Layout) -> tuple[float, np.ndarray, int]:
    """Uniform scale and offset putting every disc inside the viewBox, and the height the map
    needs: a map of two themes side by side is short, not a square of empty space."""
    low = (layout.centres - layout.radii[:, None]).min(axis=0)
    high = (layout.centres + layout.radii[:, None]).max(axis=0)
    size = np.maximum(high - low, 1e-9)
    inner = WIDTH - 2 * MARGIN
    scale = min(inner / size[0], (MAX_HEIGHT - 2 * MARGIN) / size[1])
    scale = min(scale, MAX_SPACING)
    height = int(min(MAX_HEIGHT, max(MIN_HEIGHT, math.ceil(size[1] * scale + 2 * MARGIN))))
    used = size * scale
    offset = np.array([(WIDTH - used[0]) / 2, (height - used[1]) / 2]) - low * scale
    return float(scale), offset, height


def _points(
    ordered: Sequence[Paper],
    members: Sequence[int],
    positions: np.ndarray,
    scale: float,
    offset: np.ndarray,
) -> tuple[MapPoint, ...]:
    placed = positions * scale + offset
    return tuple(
        MapPoint(
            x=round(float(placed[j, 0])),
            y=round(float(placed[j, 1])),
            path=paper_path(ordered[i].id),
            title=shorten(ordered[i].title, TITLE_CHARS),
        )
        for j, i in enumerate(members)
    )


# --- labels -------------------------------------------------------------------------------

Box = tuple[float, float, float, float]  # left, top, right, bottom


def place_labels(
    named: Sequence[tuple[str, np.ndarray, float, int]], width: int, height: int
) -> tuple[MapLabel, ...]:
    """Labels for every tier; larger themes choose their spot first."""
    order = sorted(range(len(named)), key=lambda i: (-named[i][3], named[i][0]))
    labels: list[MapLabel] = []
    for tier in LABEL_TIERS:
        taken: list[Box] = []
        for i in order:
            name, centre, radius, _ = named[i]
            if not name:
                continue
            label = _place_one(
                name, (float(centre[0]), float(centre[1]), radius), tier, taken, (width, height)
            )
            if label is not None:
                labels.append(label)
    return tuple(labels)


def _place_one(
    name: str,
    disc: tuple[float, float, float],
    tier: LabelTier,
    taken: list[Box],
    bounds: tuple[int, int],
) -> MapLabel | None:
    """The first free spot for ``name`` around ``disc`` (x, y, radius), noted in ``taken``."""
    lines = textwrap.wrap(name, tier.wrap, break_long_words=False) or [name]
    box_w = max(len(line) for line in lines) * CHAR_EM * tier.font
    box_h = len(lines) * LINE_EM * tier.font
    for dx, dy in _candidates(disc[2], box_w, box_h, tier.beside):
        x = _clamp(disc[0] + dx, box_w / 2 + 2, bounds[0] - box_w / 2 - 2)
        y = _clamp(disc[1] + dy, box_h / 2 + 2, bounds[1] - box_h / 2 - 2)
        box = (x - box_w / 2, y - box_h / 2, x + box_w / 2, y + box_h / 2)
        if not any(_overlaps(box, other) for other in taken):
            taken.append(box)
            return MapLabel(round(x), round(y), tier.name, _lines(lines))
    return None


def _candidates(
    radius: float, box_w: float, box_h: float, beside: bool
) -> list[tuple[float, float]]:
    """The centre first, then higher or lower but still over the disc (a name beside a disc
    could be read as its neighbour's); where allowed, then ever further out, all round."""
    shift = max(0.0, radius - box_h / 2)
    spots = [(0.0, 0.0), (0.0, -shift / 2), (0.0, shift / 2), (0.0, -shift), (0.0, shift)]
    if beside:
        for reach in (0.6, 1.0, 1.4):
            for step in range(BESIDE_DIRECTIONS):
                angle = -math.pi / 2 + step * 2 * math.pi / BESIDE_DIRECTIONS
                dx = math.cos(angle) * (radius + box_w / 2) * reach
                dy = math.sin(angle) * (radius + box_h / 2) * reach
                spots.append((dx, dy))
    return spots


def _clamp(value: float, low: float, high: float) -> float:
    return low if high < low else min(max(value, low), high)


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _lines(lines: Sequence[str]) -> tuple[LabelLine, ...]:
    """The first line's ``dy`` lifts the block so it is centred on the anchor (0.35 em puts a
    line's middle, not its baseline, on the anchor); the others step down one line each."""
    first = f"{0.35 - (len(lines) - 1) * LINE_EM / 2:.2f}em"
    return tuple(
        LabelLine(text, first if i == 0 else f"{LINE_EM:.1f}em") for i, text in enumerate(lines)
    )


# --- cache --------------------------------------------------------------------------------


def map_to_json(theme_map: ThemeMap) -> dict[str, Any]:
    """Plain lists, so a rebuild of the same corpus (``digest serve`` re-rendering after a
    template edit) reads the map back instead of laying it out again."""
    return {
        "size": [theme_map.width, theme_map.height, theme_map.point_radius],
        "themes": [
            [t.slug, t.name, t.css_class, [[p.x, p.y, p.path, p.title] for p in t.points]]
            for t in theme_map.themes
        ],
        "labels": [
            [lb.x, lb.y, lb.tier, [[line.text, line.dy] for line in lb.lines]]
            for lb in theme_map.labels
        ],
    }


def map_from_json(data: Any) -> ThemeMap | None:
    """The map ``map_to_json`` wrote, or ``None`` for anything malformed (never trusted)."""
    try:
        width, height, radius = (int(v) for v in data["size"])
        themes = tuple(
            MapTheme(
                str(slug),
                str(name),
                str(css),
                tuple(
                    MapPoint(int(x), int(y), str(path), str(title)) for x, y, path, title in points
                ),
            )
            for slug, name, css, points in data["themes"]
        )
        labels = tuple(
            MapLabel(int(x), int(y), str(tier), tuple(LabelLine(str(t), str(d)) for t, d in lines))
            for x, y, tier, lines in data["labels"]
        )
    except (KeyError, TypeError, ValueError):
        return None
    return ThemeMap(width, height, radius, themes, labels)
