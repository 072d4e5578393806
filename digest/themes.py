"""Papers → themes: LSA vectors of title and abstract, k-means, names from keyphrases.

Text carries the topical signal and keyphrases make the names readable. The vectors read the
text alone: a paper's keyphrases are ranked against the whole corpus, so an edit anywhere can
change them, and the clusters must not move with that (grouping on text and keyphrases agreed
with the arXiv categories no better: NMI 0.327 either way on a 3,000-paper sample). Every step
is seeded and papers are ordered by id, so the same corpus gives the same themes whatever
order its files were read in.

A large corpus is grouped by a model fitted on a sample of it (the papers with the smallest id
hashes): its vocabulary, LSA basis, clusters and names come from the sample alone, and every
other paper joins the theme whose centre is nearest. Refitting LSA after any change turns its
basis enough to move a tenth of the papers; with the model, editing or adding a paper outside
the sample moves that paper only, and theme URLs hold.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from digest.cache import ContentCache, cached_rows, cached_value, content_key, content_keys
from digest.fingerprint import code_fingerprint
from digest.lsa import Projection, unit_rows
from digest.lsa_fit import fit_projection, kmeans, ward_clusters
from digest.model import Paper, Theme, amended
from digest.paths import slugify
from digest.theme_names import (
    CorpusPhrases,
    NameSurfaces,
    ThemeName,
    joined_name,
    name_groups,
    tag_with_name,
)

MAX_THEME_SHARE = 0.4
MIN_PAPERS_FOR_SHARE_RULE = 30
SEED = 0
MAX_AUTO_THEMES = 60
SMOOTHING_SQUARINGS = 3  # similarity weights are squared three times: the 8th power
MIN_SMOOTHED = 4  # fewer papers than this are not blended
THEME_SAMPLE = 3_000  # papers the model is fitted on; as good as 5,000 or all at 10,000
SMOOTHING_BLOCK = 1024  # rows of the similarity matrix held at once


def group_themes(
    papers: Sequence[Paper],
    theme_count: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    cache: ContentCache | None = None,
    keys: Sequence[str] | None = None,
) -> tuple[tuple[Paper, ...], tuple[Theme, ...]]:
    """Assign every paper one theme; returns the papers (same order) and the themes.
    ``progress`` hears of its two steps, grouping and naming (minutes each at 100,000).
    With a ``cache``, the sample's model and names are kept by the sample's content and each
    other paper's place by its own (``keys``: the papers' ``grouping_keys``, if known), so an
    edit outside the sample places that paper only."""
    if not papers:
        return tuple(papers), ()
    keys = grouping_keys(papers) if keys is None else keys
    by_id = sorted(range(len(papers)), key=lambda i: papers[i].id)
    ordered = [papers[i] for i in by_id]
    sample = theme_sample([p.id for p in ordered])
    if progress is not None:
        progress(0, 2)
    k = min(theme_count or auto_theme_count(len(ordered)), len(sample))
    sampled = sample_themes([ordered[i] for i in sample], k, cache)
    if progress is not None:
        progress(1, 2)
    outside = np.setdiff1d(np.arange(len(ordered)), sample, assume_unique=True)
    outside_keys = [keys[by_id[i]] for i in outside.tolist()]
    places = place_papers([ordered[i] for i in outside], sampled, cache, outside_keys)
    labels = np.empty(len(ordered), dtype=int)
    labels[sample] = sampled.labels
    tagged = dict(sampled.tagged)
    for i, (label, tags) in zip(outside.tolist(), places, strict=True):
        labels[i] = label
        if tags is not None:
            tagged[ordered[i].id] = tags
    themes = _themes(ordered, labels, sampled)
    if progress is not None:
        progress(2, 2)
    slug_of = {pid: t.slug for t in themes for pid in t.paper_ids}
    themed = tuple(
        amended(p, theme=slug_of[p.id], keyphrases=tagged.get(p.id, p.keyphrases)) for p in papers
    )
    return themed, themes


class LeadingPhrase(NamedTuple):
    """What a theme's URL and the lists naming it in passing show: its name's leading phrase."""

    slug: str
    short_name: str


@dataclass(frozen=True)
class SampleThemes:
    """Everything the sample decides: its papers' labels and tags, the model that places the
    others, and each theme's name and leading phrase (by label, in the themes' order)."""

    labels: np.ndarray
    model: ThemeModel
    order: tuple[int, ...]
    names: Mapping[int, ThemeName]
    leading: Mapping[int, LeadingPhrase]
    surfaces: NameSurfaces
    tagged: Mapping[str, tuple[str, ...]]
    place_key: str  # all that placing another paper reads: the model, names and surfaces


def sample_themes(sample: Sequence[Paper], k: int, cache: ContentCache | None) -> SampleThemes:
    """The sample's themes, from the cache when this exact sample was grouped before (pickled:
    a fitted projection is not JSON). Its clusters are kept by its texts and its names by its
    keyphrases too, so a change elsewhere that re-ranks a sample paper's keyphrases names the
    themes again (seconds) without grouping the sample again."""
    texts = [_fit_inputs(p) for p in sample]
    fit_key = content_key("theme-fit", code_fingerprint(), k, texts)
    labels, model = cached_value(cache, "theme-fit", fit_key, lambda: fit_theme_model(sample, k))
    key = content_key("theme-names", fit_key, [p.keyphrases for p in sample])
    named = cached_value(cache, "theme-names", key, lambda: _named_sample(sample, labels))
    return SampleThemes(labels, model, *named, _place_key(fit_key, named[1], named[3]))


def _place_key(fit_key: str, names: Mapping[int, ThemeName], surfaces: NameSurfaces) -> str:
    """Keyed by the names themselves, not by the sample's keyphrases they were made from: a
    sample paper's keyphrases re-ranked by an edit elsewhere names the themes again, mostly as
    before, and the other papers (7,000 at 10,000) need not be placed again (~3 s)."""
    named = sorted((label, name.name, list(name.keys)) for label, name in names.items())
    return content_key("theme-place", fit_key, named, sorted(surfaces.surface.items()))


SampleNames = tuple[
    tuple[int, ...],
    Mapping[int, ThemeName],
    Mapping[int, LeadingPhrase],
    NameSurfaces,
    Mapping[str, tuple[str, ...]],
]


def _named_sample(sample: Sequence[Paper], labels: np.ndarray) -> SampleNames:
    """What ``SampleThemes`` holds besides labels, model and key: order, names, leading
    phrases, name surfaces and the sample papers tagged with their theme's name."""
    sampled: dict[int, list[Paper]] = {}
    for paper, label in zip(sample, labels.tolist(), strict=True):
        sampled.setdefault(label, []).append(paper)
    order = tuple(sorted(sampled, key=lambda label: (-len(sampled[label]), sampled[label][0].id)))
    corpus = CorpusPhrases(sample)
    names = dict(zip(order, name_groups([sampled[label] for label in order], corpus), strict=True))
    leading: dict[int, LeadingPhrase] = {}
    tagged: dict[str, tuple[str, ...]] = {}
    for label in order:
        leading[label] = _leading_phrase(names[label], corpus, {p.slug for p in leading.values()})
        tagged.update(tag_with_name(sampled[label], names[label], corpus))
    surfaces = NameSurfaces.of(names.values(), corpus)
    return order, names, leading, surfaces, tagged


def place_papers(
    papers: Sequence[Paper],
    sampled: SampleThemes,
    cache: ContentCache | None,
    keys: Sequence[str],
) -> list[tuple[int, tuple[str, ...] | None]]:
    """Each paper's theme label and, if its text says a name phrase its keyphrases lack, its
    tagged keyphrases; cached per paper (by ``grouping_keys``) for this sample, so a rebuild
    places only new or edited papers."""
    return cached_rows(
        cache,
        "theme-place",
        sampled.place_key,
        keys,
        lambda new: _place([papers[i] for i in new], sampled),
    )


def _place(
    papers: Sequence[Paper], sampled: SampleThemes
) -> list[tuple[int, tuple[str, ...] | None]]:
    labels = sampled.model.assign(papers).tolist()
    return [
        (label, tag_with_name([paper], sampled.names[label], sampled.surfaces).get(paper.id))
        for paper, label in zip(papers, labels, strict=True)
    ]


def grouping_keys(papers: Sequence[Paper]) -> list[str]:
    """Each paper's content key for ``grouping_inputs``: computed once per build, for the
    placing of each paper and the key of the whole grouping (``build_state``)."""
    return content_keys(("grouping-inputs", 1), (grouping_inputs(p) for p in papers))


def grouping_inputs(paper: Paper) -> tuple[str, str, str, tuple[str, ...]]:
    """All that grouping, naming and tagging read of a paper (a derived title repeats the
    abstract's first sentence; the map's use of it is covered by the abstract)."""
    return (paper.id, "" if paper.title_derived else paper.title, paper.abstract, paper.keyphrases)


def auto_theme_count(n: int) -> int:
    """About n^0.36 themes (5 for 77 papers, 16 for 2,400, 28 for 10,000): few enough to scan
    on a home page, specific enough to mean something."""
    if n < 6:
        return 1
    return max(2, min(MAX_AUTO_THEMES, round(n**0.36)))


def theme_sample(ids: Sequence[str]) -> np.ndarray:
    """Indices (ascending) of the papers the model is fitted on, given their ids in order: all
    of a small corpus, else those with the smallest id hashes, so a new paper joins the sample
    only if its own hash is small enough and a paper's text never decides whether it is in."""
    if len(ids) <= THEME_SAMPLE:
        return np.arange(len(ids))
    keys = np.array([_paper_key(i) for i in ids], dtype=np.uint64)
    return np.sort(np.argsort(keys, kind="stable")[:THEME_SAMPLE])


def sampled_ids(ids: Iterable[str]) -> frozenset[str]:
    """The ids, of these, of the papers the model is fitted on (for benchmarks and tests)."""
    ordered = sorted(ids)
    return frozenset(ordered[i] for i in theme_sample(ordered))


@dataclass(frozen=True)
class ThemeModel:
    """What grouping learnt from the sample, enough to place any other paper (with numpy
    alone: see ``digest.lsa``)."""

    projection: Projection | None  # None when the sample has no usable words
    sample_vectors: np.ndarray  # unit LSA vectors of the sample, before smoothing
    centres: np.ndarray  # per theme label, the mean of its smoothed sample vectors

    def vectors(self, papers: Sequence[Paper]) -> np.ndarray:
        if self.projection is None:
            return np.zeros((len(papers), self.sample_vectors.shape[1]), dtype=np.float32)
        return self.projection.vectors([_text(p) for p in papers])

    def assign(self, papers: Sequence[Paper]) -> np.ndarray:
        """The nearest centre's label for each paper, its vector blended with the sample
        papers' as the sample's own were."""
        vectors = self.vectors(papers)
        if self.projection is not None and self.projection.basis is not None:
            vectors = _smooth(vectors, self.sample_vectors)
        distances = (self.centres**2).sum(axis=1) - 2 * vectors @ self.centres.T
        return distances.argmin(axis=1)


def fit_theme_model(papers: Sequence[Paper], k: int) -> tuple[np.ndarray, ThemeModel]:
    """Labels for ``papers`` (ordered by id) and the model that places other papers."""
    raw, projection = _lsa(papers)
    lsa = projection is not None and projection.basis is not None
    vectors = _smooth(raw, raw, exclude_self=True) if lsa else raw
    if k <= 1:
        labels = np.zeros(len(papers), dtype=int)
    else:
        labels = _kmeans(vectors, k)
        if len(papers) >= MIN_PAPERS_FOR_SHARE_RULE:
            labels = _split_oversized(vectors, labels)
        labels = _renumber(labels)
    return labels, ThemeModel(projection, raw, _centres(vectors, labels, labels.max() + 1))


def _lsa(papers: Sequence[Paper]) -> tuple[np.ndarray, Projection | None]:
    """Unit-length LSA vectors of title and abstract, with the fitted projection that places
    other papers.
    Callers blend each with its near neighbours' (``_smooth``) so that clusters follow the
    corpus' dense regions rather than single shared words. The SVD is exact (ARPACK), not
    randomized: a randomized basis' last components turn with any edit to the sample, and
    k-means moved two to three times as many papers after one."""
    n = len(papers)
    fitted = fit_projection(
        [_text(p) for p in papers],
        max_dims=100,
        min_df=2 if n >= 50 else 1,
        max_df=0.5,
        seed=SEED,
    )
    if fitted is None:
        return np.zeros((n, 1), dtype=np.float32), None
    return fitted


def _fit_inputs(paper: Paper) -> tuple[str, str, str]:
    """All that the vectors read of a paper (a derived title repeats the abstract's start)."""
    return (paper.id, "" if paper.title_derived else paper.title, paper.abstract)


def _text(paper: Paper) -> str:
    _, title, abstract = _fit_inputs(paper)
    return f"{title} {abstract}"


def _smooth(vectors: np.ndarray, among: np.ndarray, exclude_self: bool = False) -> np.ndarray:
    """Each vector blended with the mean of ``among`` (itself left out when ``vectors`` are
    ``among``), each weighted by its cosine similarity to the 8th power: the near ones
    count. The weights follow the vectors smoothly: blending with exactly the ten nearest,
    an edit to one sample paper swapped other papers' tenth neighbours, and k-means then moved
    507-837 of the 3,000 sample papers of a 10,000-paper corpus (15-279 now, with the exact
    SVD; eight edits)."""
    if len(among) < MIN_SMOOTHED:
        return vectors
    blended = np.empty_like(vectors)
    for start in range(0, len(vectors), SMOOTHING_BLOCK):
        weights = vectors[start : start + SMOOTHING_BLOCK] @ among.T
        if exclude_self:
            rows = np.arange(len(weights))
            weights[rows, rows + start] = 0.0
        np.maximum(weights, 0.0, out=weights)
        for _ in range(SMOOTHING_SQUARINGS):
            np.multiply(weights, weights, out=weights)
        total = np.maximum(weights.sum(axis=1, keepdims=True), np.finfo(weights.dtype).tiny)
        blended[start : start + len(weights)] = (weights @ among) / total
    return unit_rows(vectors + blended)


def _paper_key(paper_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(paper_id.encode(), digest_size=8).digest(), "big")


def _kmeans(vectors: np.ndarray, k: int) -> np.ndarray:
    """k-means started from Ward's hierarchical clusters rather than random seeds.

    Ward has no randomness, so one paper more or less nudges the start instead of reshuffling
    it, and on 2,400 arXiv papers it moves half as many papers as the best of ten random
    starts, at the same agreement with the papers' categories.
    """
    return kmeans(vectors, _centres(vectors, ward_clusters(vectors, k), k))


def _centres(vectors: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
    """The mean vector of each label 0..count-1."""
    return np.stack([vectors[labels == label].mean(axis=0) for label in range(count)])


def _split_oversized(vectors: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Split any theme above 40% of the papers in two until none is; a reader can't use a
    theme that holds half the corpus."""
    labels = labels.copy()
    limit = MAX_THEME_SHARE * len(labels)
    for _ in range(64):
        sizes = Counter(labels.tolist())
        biggest, size = max(sizes.items(), key=lambda kv: (kv[1], -kv[0]))
        if size <= limit:
            break
        members = np.flatnonzero(labels == biggest)
        halves = _kmeans(vectors[members], 2)
        if halves.min() == halves.max():
            halves = (np.arange(len(members)) >= len(members) // 2).astype(int)
        labels[members[halves == 1]] = labels.max() + 1
    return labels


def _renumber(labels: np.ndarray) -> np.ndarray:
    """Label ids by first appearance, so ids never depend on k-means' internal numbering."""
    mapping: dict[int, int] = {}
    for label in labels.tolist():
        mapping.setdefault(label, len(mapping))
    return np.array([mapping[x] for x in labels.tolist()], dtype=int)


def _themes(
    ordered: Sequence[Paper], labels: np.ndarray, sampled: SampleThemes
) -> tuple[Theme, ...]:
    """The themes in the sample's order, each with its papers in id order."""
    members_of: dict[int, list[str]] = {}
    for paper, label in zip(ordered, labels.tolist(), strict=True):
        members_of.setdefault(label, []).append(paper.id)
    return tuple(
        Theme(
            slug=sampled.leading[label].slug,
            name=sampled.names[label].name,
            keyphrases=sampled.names[label].top,
            paper_ids=tuple(members_of[label]),
            short_name=sampled.leading[label].short_name,
        )
        for label in sampled.order
    )


def _leading_phrase(name: ThemeName, corpus: CorpusPhrases, used: set[str]) -> LeadingPhrase:
    """The name's leading phrase, the one most of its papers carry, and its slug: the trailing
    phrases shift with small changes to the corpus, and a URL should not."""
    for end in range(1, len(name.keys) + 1):
        slug = slugify(" ".join(corpus.surface[k] for k in name.keys[:end]))
        if slug and slug not in used:
            return LeadingPhrase(slug, joined_name(list(name.keys[:end]), corpus))
    return LeadingPhrase(_distinct_slug(slugify(name.name), used), name.name)


def _distinct_slug(slug: str, used: set[str]) -> str:
    if slug not in used:
        return slug
    n = 2
    while f"{slug}-{n}" in used:
        n += 1
    return f"{slug}-{n}"
