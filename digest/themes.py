"""Papers → themes: LSA vectors of text and keyphrases, k-means, names from keyphrases.

Text carries most of the topical signal and keyphrases make the names readable, so both feed
the vectors. Every step is seeded and papers are ordered by id, so the same corpus gives the
same themes whatever order its files were read in.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from scipy.sparse import hstack
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from digest.model import Paper, Theme
from digest.paths import slugify

MAX_THEME_SHARE = 0.4
MIN_PAPERS_FOR_SHARE_RULE = 30
SEED = 0
GENERIC_NAMES = frozenset(
    [
        "model",
        "models",
        "method",
        "methods",
        "learning",
        "result",
        "results",
        "data",
        "approach",
        "approaches",
        "network",
        "networks",
        "framework",
        "frameworks",
        "system",
        "systems",
        "task",
        "tasks",
        "performance",
        "analysis",
        "problem",
        "problems",
        "algorithm",
        "algorithms",
        "study",
        "application",
        "applications",
        "technique",
        "techniques",
    ]
)


def group_themes(
    papers: Sequence[Paper], theme_count: int | None = None
) -> tuple[tuple[Paper, ...], tuple[Theme, ...]]:
    """Assign every paper one theme; returns the papers (same order) and the themes."""
    if not papers:
        return tuple(papers), ()
    order = sorted(range(len(papers)), key=lambda i: papers[i].id)
    ordered = [papers[i] for i in order]
    labels = _cluster(ordered, theme_count)
    themes = _name_themes(ordered, labels)
    slug_of = {pid: t.slug for t in themes for pid in t.paper_ids}
    return tuple(replace(p, theme=slug_of[p.id]) for p in papers), themes


def auto_theme_count(n: int) -> int:
    """About √(n/2) themes: few enough to scan on a home page, many enough to stay specific."""
    if n < 6:
        return 1
    return max(2, min(60, round(math.sqrt(n / 2))))


def paper_vectors(papers: Sequence[Paper]) -> np.ndarray:
    """Unit-length LSA vectors from the words of title and abstract plus whole keyphrases."""
    n = len(papers)
    min_df = 2 if n >= 50 else 1
    words = TfidfVectorizer(
        stop_words="english", sublinear_tf=True, min_df=min_df, max_df=0.5, dtype=np.float32
    )
    phrases = TfidfVectorizer(
        analyzer=_phrase_features, sublinear_tf=True, min_df=min_df, dtype=np.float32
    )
    texts = [f"{p.title if not p.title_derived else ''} {p.abstract}" for p in papers]
    blocks = [_fit(words, texts)]
    phrase_block = _fit(phrases, papers)
    if phrase_block is not None:
        blocks.append(phrase_block * 0.7)
    blocks = [b for b in blocks if b is not None]
    if not blocks:
        return np.zeros((n, 1), dtype=np.float32)
    matrix = hstack(blocks).tocsr()
    dims = min(100, matrix.shape[1] - 1, n - 1)
    if dims < 2:
        return normalize(matrix.toarray())
    reduced = TruncatedSVD(n_components=dims, random_state=SEED).fit_transform(matrix)
    return normalize(reduced)


def _phrase_features(paper: Paper) -> list[str]:
    return [k.lower() for k in paper.keyphrases]


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
    labels = _kmeans(vectors, k)
    if n >= MIN_PAPERS_FOR_SHARE_RULE:
        labels = _split_oversized(vectors, labels)
    return _renumber(labels)


def _kmeans(vectors: np.ndarray, k: int) -> np.ndarray:
    if len(vectors) > 20_000:
        model = MiniBatchKMeans(n_clusters=k, random_state=SEED, n_init=3, batch_size=4096)
    else:
        model = KMeans(n_clusters=k, random_state=SEED, n_init=4)
    return model.fit_predict(vectors)


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
        halves = KMeans(n_clusters=2, random_state=SEED, n_init=4).fit_predict(vectors[members])
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


def _name_themes(papers: Sequence[Paper], labels: np.ndarray) -> tuple[Theme, ...]:
    corpus_counts = Counter(k for p in papers for k in set(p.keyphrases))
    n = len(papers)
    groups: dict[int, list[Paper]] = {}
    for paper, label in zip(papers, labels.tolist(), strict=True):
        groups.setdefault(label, []).append(paper)
    ranked = sorted(groups.values(), key=lambda g: (-len(g), g[0].id))
    used_names: set[str] = set()
    used_slugs: set[str] = set()
    themes = []
    for members in ranked:
        top = _representative_keyphrases(members, corpus_counts, n)
        name = _distinct_name(top, used_names, members)
        used_names.add(name.lower())
        slug = _distinct_slug(slugify(name), used_slugs)
        used_slugs.add(slug)
        ids = tuple(p.id for p in members)
        themes.append(Theme(slug=slug, name=name, keyphrases=tuple(top[:8]), paper_ids=ids))
    return tuple(themes)


def _representative_keyphrases(
    members: Sequence[Paper], corpus_counts: Counter[str], n: int
) -> list[str]:
    """Keyphrases frequent in the theme and rarer outside it; generic words never qualify."""
    inside = Counter(k for p in members for k in set(p.keyphrases))
    size = len(members)

    def score(phrase: str) -> float:
        coverage = inside[phrase] / size
        distinct = math.log(1 + n / corpus_counts[phrase])
        return coverage * distinct * (1.15 if " " in phrase else 1.0)

    candidates = [k for k in inside if k.lower() not in GENERIC_NAMES]
    return sorted(candidates, key=lambda k: (-score(k), k))


def _distinct_name(top: list[str], used: set[str], members: Sequence[Paper]) -> str:
    """Two keyphrases that together cover the most papers of the theme; three when needed
    to differ from an earlier theme's name."""
    picked = _greedy_cover(top, members, 2)
    for extra in range(3, 6):
        name = _join_name(picked)
        if name.lower() not in used:
            return name
        picked = _greedy_cover(top, members, extra)
    base = _join_name(picked) or "Other papers"
    n = 2
    while f"{base} ({n})".lower() in used:
        n += 1
    return f"{base} ({n})" if base.lower() in used else base


def _greedy_cover(top: list[str], members: Sequence[Paper], count: int) -> list[str]:
    pool = top[:12]
    picked: list[str] = []
    covered: set[str] = set()
    while pool and len(picked) < count:

        def gain(phrase: str) -> tuple[int, int]:
            new = sum(1 for p in members if phrase in p.keyphrases and p.id not in covered)
            return (new, -pool.index(phrase))

        best = max(pool, key=gain)
        if picked and gain(best)[0] == 0 and len(picked) >= 2:
            break
        pool.remove(best)
        if any(_overlaps(best, other) for other in picked):
            continue
        picked.append(best)
        covered.update(p.id for p in members if best in p.keyphrases)
    return picked


def _overlaps(a: str, b: str) -> bool:
    wa, wb = set(a.lower().split()), set(b.lower().split())
    return bool(wa & wb) and (wa <= wb or wb <= wa)


def _join_name(phrases: list[str]) -> str:
    if not phrases:
        return ""
    text = ", ".join(phrases[:-1]) + (" & " if len(phrases) > 1 else "") + phrases[-1]
    return text[0].upper() + text[1:] if not phrases[0][:2].isupper() else text


def _distinct_slug(slug: str, used: set[str]) -> str:
    if slug not in used:
        return slug
    n = 2
    while f"{slug}-{n}" in used:
        n += 1
    return f"{slug}-{n}"
