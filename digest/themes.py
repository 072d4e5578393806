"""Papers → themes: LSA vectors of text and keyphrases, k-means, names from keyphrases.

Text carries most of the topical signal and keyphrases make the names readable, so both feed
the vectors. Every step is seeded and papers are ordered by id, so the same corpus gives the
same themes whatever order its files were read in.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from digest.model import Paper, Theme
from digest.paths import slugify
from digest.theme_names import CorpusPhrases, ThemeName, name_groups, tag_with_name

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

MAX_THEME_SHARE = 0.4
MIN_PAPERS_FOR_SHARE_RULE = 30
SEED = 0
MAX_AUTO_THEMES = 60
NEIGHBOURS = 10
MAX_SMOOTHED = 20_000
WARD_SAMPLE = 5_000
SMOOTHING_BLOCK = 1024  # rows of the similarity matrix held at once


def group_themes(
    papers: Sequence[Paper],
    theme_count: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[tuple[Paper, ...], tuple[Theme, ...]]:
    """Assign every paper one theme; returns the papers (same order) and the themes.
    ``progress`` hears of its two steps, grouping and naming (minutes each at 100,000)."""
    if not papers:
        return tuple(papers), ()
    order = sorted(range(len(papers)), key=lambda i: papers[i].id)
    ordered = [papers[i] for i in order]
    if progress is not None:
        progress(0, 2)
    labels = _cluster(ordered, theme_count)
    if progress is not None:
        progress(1, 2)
    themes, tagged = _name_themes(ordered, labels)
    if progress is not None:
        progress(2, 2)
    slug_of = {pid: t.slug for t in themes for pid in t.paper_ids}
    themed = tuple(
        replace(p, theme=slug_of[p.id], keyphrases=tagged.get(p.id, p.keyphrases)) for p in papers
    )
    return themed, themes


def auto_theme_count(n: int) -> int:
    """About n^0.36 themes (5 for 77 papers, 16 for 2,400, 28 for 10,000): few enough to scan
    on a home page, specific enough to mean something."""
    if n < 6:
        return 1
    return max(2, min(MAX_AUTO_THEMES, round(n**0.36)))


def paper_vectors(papers: Sequence[Paper]) -> np.ndarray:
    """Unit-length LSA vectors of title, abstract and keyphrases (a paper's keyphrases weigh
    its central words twice), each blended with its nearest neighbours' so that clusters
    follow the corpus' dense regions rather than single shared words."""
    n = len(papers)
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    words = TfidfVectorizer(
        stop_words="english",
        sublinear_tf=True,
        min_df=2 if n >= 50 else 1,
        max_df=0.5,
        dtype=np.float32,
    )
    texts = [
        f"{'' if p.title_derived else p.title} {p.abstract} {' '.join(p.keyphrases)}"
        for p in papers
    ]
    matrix = _fit(words, texts)
    if matrix is None:
        return np.zeros((n, 1), dtype=np.float32)
    dims = min(100, matrix.shape[1] - 1, n - 1)
    if dims < 2:
        return normalize(matrix.toarray())
    reduced = normalize(TruncatedSVD(n_components=dims, random_state=SEED).fit_transform(matrix))
    return _smooth(reduced) if n <= MAX_SMOOTHED else reduced


def _smooth(vectors: np.ndarray) -> np.ndarray:
    from sklearn.preprocessing import normalize

    neighbours = min(NEIGHBOURS, len(vectors) - 2)
    if neighbours < 2:
        return vectors
    nearest = np.empty((len(vectors), neighbours), dtype=np.int64)
    for start in range(0, len(vectors), SMOOTHING_BLOCK):
        block = vectors[start : start + SMOOTHING_BLOCK] @ vectors.T
        rows = np.arange(len(block))
        block[rows, rows + start] = -np.inf
        nearest[start : start + len(block)] = np.argpartition(-block, neighbours, axis=1)[
            :, :neighbours
        ]
    return normalize(vectors + vectors[nearest].mean(axis=1))


def _fit(vectorizer: TfidfVectorizer, docs: Sequence[object]):
    try:
        return vectorizer.fit_transform(docs)
    except ValueError:
        return None


def _cluster(papers: Sequence[Paper], theme_count: int | None) -> np.ndarray:
    n = len(papers)
    k = min(theme_count or auto_theme_count(n), n)
    if k <= 1:
        return np.zeros(n, dtype=int)
    vectors = paper_vectors(papers)
    keys = [_paper_key(p.id) for p in papers]
    labels = _kmeans(vectors, k, keys)
    if n >= MIN_PAPERS_FOR_SHARE_RULE:
        labels = _split_oversized(vectors, labels, keys)
    return _renumber(labels)


def _paper_key(paper_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(paper_id.encode(), digest_size=8).digest(), "big")


def _kmeans(vectors: np.ndarray, k: int, keys: Sequence[int]) -> np.ndarray:
    """k-means started from Ward's hierarchical clusters rather than random seeds.

    Ward has no randomness, so one paper more or less nudges the start instead of reshuffling
    it, and on 2,400 arXiv papers it moves half as many papers as the best of ten random
    starts, at the same agreement with the papers' categories. Ward needs memory quadratic in
    the papers, so a large corpus seeds it from a sample chosen by id hash: a paper added
    to the corpus joins the sample only if its own hash is small enough.
    """
    from sklearn.cluster import AgglomerativeClustering, KMeans, MiniBatchKMeans

    sample = np.arange(len(vectors))
    if len(vectors) > WARD_SAMPLE:
        sample = np.sort(np.argsort(np.asarray(keys, dtype=np.uint64), kind="stable")[:WARD_SAMPLE])
    ward = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(vectors[sample])
    centers = np.stack([vectors[sample[ward == label]].mean(axis=0) for label in range(k)])
    if len(vectors) > 20_000:
        model = MiniBatchKMeans(
            n_clusters=k, init=centers, n_init=1, random_state=SEED, batch_size=4096
        )
    else:
        model = KMeans(n_clusters=k, init=centers, n_init=1)
    return model.fit_predict(vectors)


def _split_oversized(vectors: np.ndarray, labels: np.ndarray, keys: Sequence[int]) -> np.ndarray:
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
        halves = _kmeans(vectors[members], 2, [keys[i] for i in members])
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


def _name_themes(
    papers: Sequence[Paper], labels: np.ndarray
) -> tuple[tuple[Theme, ...], dict[str, tuple[str, ...]]]:
    """The themes, and the papers to tag with a name phrase they say (see ``tag_with_name``)."""
    groups: dict[int, list[Paper]] = {}
    for paper, label in zip(papers, labels.tolist(), strict=True):
        groups.setdefault(label, []).append(paper)
    ranked = sorted(groups.values(), key=lambda g: (-len(g), g[0].id))
    corpus = CorpusPhrases(papers)
    names = name_groups(ranked, corpus)
    used_slugs: set[str] = set()
    themes = []
    tagged: dict[str, tuple[str, ...]] = {}
    for members, name in zip(ranked, names, strict=True):
        slug = _theme_slug(name, corpus, used_slugs)
        used_slugs.add(slug)
        ids = tuple(p.id for p in members)
        themes.append(Theme(slug=slug, name=name.name, keyphrases=name.top, paper_ids=ids))
        tagged.update(tag_with_name(members, name, corpus))
    return tuple(themes), tagged


def _theme_slug(name: ThemeName, corpus: CorpusPhrases, used: set[str]) -> str:
    """The slug of the name's leading phrase, the one most of its papers carry: the trailing
    phrases shift with small changes to the corpus, and a URL should not."""
    for end in range(1, len(name.keys) + 1):
        slug = slugify(" ".join(corpus.surface[k] for k in name.keys[:end]))
        if slug and slug not in used:
            return slug
    return _distinct_slug(slugify(name.name), used)


def _distinct_slug(slug: str, used: set[str]) -> str:
    if slug not in used:
        return slug
    n = 2
    while f"{slug}-{n}" in used:
        n += 1
    return f"{slug}-{n}"
