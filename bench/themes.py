"""How well themes match the papers' arXiv categories, against a TF-IDF baseline told the true k.

    python bench/themes.py [--data PATH] [--limit N] [--skip-stability]

Builds the digest of ``arxiv-themes-dev.jsonl.gz`` through the same code path as
``digest build`` and compares each paper's theme with its ``label`` (NMI, ARI). The baseline
(TF-IDF, English stop words, min_df=2, sublinear tf → SVD(100) → k-means with k = number of
labels) runs in the same run. Stability: the same corpus with its lines in another order, and
with one paper added, should keep the other papers in the same themes (and theme URLs).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from sklearn.cluster import KMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.preprocessing import normalize

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from digest.build import build
from digest.config import Config
from digest.why_here import name_matches

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "arxiv-themes-dev.jsonl.gz"


def read_rows(path: Path, limit: int | None) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return rows[:limit] if limit else rows


def build_digest(
    rows: list[dict], work: Path, name: str, cache: Path | None = None
) -> tuple[dict[str, dict], float]:
    """Build through the real pipeline; returns papers.json entries by id and seconds."""
    source = work / f"src-{name}"
    source.mkdir()
    with open(source / "papers.jsonl", "w", encoding="utf-8") as handle:
        for row in rows:
            fields = {k: row[k] for k in ("id", "title", "abstract", "authors", "date") if k in row}
            handle.write(json.dumps(fields) + "\n")
    config = Config(sources=(source,), out=work / f"site-{name}", cache_dir=cache or work / "cache")
    started = time.perf_counter()
    build(config)
    seconds = time.perf_counter() - started
    catalog = json.loads((config.out / "papers.json").read_text(encoding="utf-8"))["papers"]
    return {p["id"]: p for p in catalog}, seconds


def baseline_labels(rows: list[dict], k: int) -> list[int]:
    texts = [f"{r.get('title', '')} {r['abstract']}" for r in rows]
    tfidf = TfidfVectorizer(stop_words="english", min_df=2, sublinear_tf=True).fit_transform(texts)
    vectors = normalize(TruncatedSVD(n_components=100, random_state=0).fit_transform(tfidf))
    return KMeans(n_clusters=k, random_state=0, n_init=10).fit_predict(vectors).tolist()


def name_coverage(papers: dict[str, dict]) -> float:
    """Average over themes of the share of its papers carrying a keyphrase of its name: a
    paper carries "black hole" when one of its keyphrases contains it (singular or plural),
    the rule the site's "why here" uses."""
    by_theme: dict[str, list[dict]] = {}
    for paper in papers.values():
        by_theme.setdefault(paper["theme"]["slug"], []).append(paper)
    shares = []
    for members in by_theme.values():
        name = members[0]["theme"]["name"]
        hits = sum(bool(name_matches(p["keyphrases"], name)) for p in members)
        shares.append(hits / len(members))
    return sum(shares) / len(shares)


def moved_share(before: dict[str, dict], after: dict[str, dict]) -> tuple[float, float]:
    """Share of common papers whose theme URL changed, and whose theme changed at all
    (themes matched one-to-one by their largest overlap)."""
    common = sorted(set(before) & set(after))
    by_slug = sum(before[i]["theme"]["slug"] != after[i]["theme"]["slug"] for i in common)
    pairs = Counter((before[i]["theme"]["slug"], after[i]["theme"]["slug"]) for i in common)
    matched, used_a, used_b, kept = {}, set(), set(), 0
    for (a, b), count in pairs.most_common():
        if a not in used_a and b not in used_b:
            matched[a] = b
            used_a.add(a)
            used_b.add(b)
            kept += count
    return by_slug / len(common), 1 - kept / len(common)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--skip-stability", action="store_true")
    parser.add_argument("--cache", type=Path, help="keep the keyphrase cache here between runs")
    args = parser.parse_args()
    rows = read_rows(args.data, args.limit)
    labels = [r["label"] for r in rows]
    k = len(set(labels))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        papers, seconds = build_digest(rows, work, "main", args.cache)
        ours = [papers[r["id"]]["theme"]["slug"] for r in rows]
        started = time.perf_counter()
        base = baseline_labels(rows, k)
        base_seconds = time.perf_counter() - started
        sizes = Counter(ours)
        nmi = normalized_mutual_info_score(labels, ours)
        base_nmi = normalized_mutual_info_score(labels, base)
        print(f"themes benchmark: {len(rows)} papers, {k} labels\n")
        print("| method | themes | NMI | ARI | seconds |")
        print("| --- | ---: | ---: | ---: | ---: |")
        print(
            f"| digest (auto k) | {len(sizes)} | {nmi:.3f} | "
            f"{adjusted_rand_score(labels, ours):.3f} | {seconds:.1f} (whole build) |"
        )
        print(
            f"| baseline TF-IDF+SVD+k-means (k={k}) | {k} | {base_nmi:.3f} | "
            f"{adjusted_rand_score(labels, base):.3f} | {base_seconds:.1f} |"
        )
        print(f"\nNMI ratio digest/baseline: {nmi / base_nmi:.2f}")
        print(f"largest theme share: {max(sizes.values()) / len(rows):.1%}")
        print(f"smallest theme share: {min(sizes.values()) / len(rows):.1%}")
        print(f"papers carrying a keyphrase of their theme's name: {name_coverage(papers):.1%}")
        names = sorted({p["theme"]["name"] for p in papers.values()})
        print("theme names:", "; ".join(names))
        if args.skip_stability:
            return
        shuffled = rows[:]
        random.Random(1).shuffle(shuffled)
        reordered, _ = build_digest(shuffled, work, "shuffled", args.cache)
        extra = dict(rows[0], id="added-paper", abstract=rows[0]["abstract"] + " Added.")
        added, _ = build_digest([*rows, extra], work, "added", args.cache)
        print("\n| stability | papers whose theme URL changed | papers whose theme changed |")
        print("| --- | ---: | ---: |")
        for label, other in (("lines in another order", reordered), ("one paper added", added)):
            url_moved, moved = moved_share(papers, other)
            print(f"| {label} | {url_moved:.1%} | {moved:.1%} |")


if __name__ == "__main__":
    main()
