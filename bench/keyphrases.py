"""Keyphrase quality on Inspec: the project's extractor against plain YAKE, in the same run.

The project's extractor runs once per keyphrase backend (python yake, and yake-rust when it is
installed), so a faster backend is only taken if its scores hold beside the default's.

Scoring follows shared/data/README.md: per-document precision, recall and F1 at 5 and 10,
macro-averaged; both sides lower-cased, split into word tokens (hyphens split words) and
Porter-stemmed; a prediction counts only on an exact match of its stemmed tokens; duplicate
predictions after stemming are dropped before cutting at k; gold phrases absent from the text
still count. Precision divides by k, so returning fewer phrases never scores higher.

    python bench/keyphrases.py [--limit N] [--data PATH] [--workers N]

Needs the bench extra (snowballstemmer, for its Porter stemmer).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import snowballstemmer
import yake

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from digest.cache import ContentCache
from digest.config import KEYPHRASE_BACKENDS, Config
from digest.keyphrases import backend_problem, extract_keyphrases
from digest.model import Paper
from digest.themes import group_themes

DEFAULT_DATA = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "keyphrases" / "inspec-dev.jsonl"
)
CUTOFFS = (5, 10)
# Run first, untimed, so loading libraries and lexicons is not charged to whichever run is first.
WARM_UP_DOCS = 20
_STEMMER = snowballstemmer.stemmer("porter")
_WORDS = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Document:
    id: str
    text: str
    gold: tuple[str, ...]


@dataclass(frozen=True)
class Run:
    name: str
    predictions: list[Sequence[str]]
    seconds_per_doc: float


@dataclass(frozen=True)
class DigestRuns:
    """One backend, built twice into one cache: the warm run is stage 2 and the cache read, so
    the difference is what stage 1 (the backend's work) costs."""

    backend: str
    cold: Run
    warm: Run

    @property
    def stage_one(self) -> float:
        return max(self.cold.seconds_per_doc - self.warm.seconds_per_doc, 0.0)


def load(path: Path, limit: int | None) -> list[Document]:
    with path.open(encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines if line.strip()]
    docs = [Document(str(r["id"]), r["text"], tuple(r["keyphrases"])) for r in rows]
    return docs[:limit] if limit else docs


def stemmed(phrase: str) -> tuple[str, ...]:
    return tuple(_STEMMER.stemWords(_WORDS.findall(phrase.lower())))


def prf(predicted: Sequence[str], gold: Sequence[str], k: int) -> tuple[float, float, float]:
    """Precision, recall, F1 of one document at cutoff k."""
    truth = {g for g in map(stemmed, gold) if g}
    ranked = list(dict.fromkeys(p for p in map(stemmed, predicted) if p))[:k]
    hits = sum(p in truth for p in ranked)
    precision = hits / k
    recall = hits / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return precision, recall, f1


def evaluate(run: Run, docs: Sequence[Document]) -> dict[int, tuple[float, float, float]]:
    """Macro-averaged percentages per cutoff."""
    table = {}
    for k in CUTOFFS:
        rows = [prf(p, d.gold, k) for p, d in zip(run.predictions, docs, strict=True)]
        table[k] = tuple(100 * sum(r[i] for r in rows) / len(rows) for i in range(3))
    return table


def cpu_seconds() -> float:
    """CPU time of this process: unlike wall time it does not count waiting for a core, so it
    stays comparable on a busy machine. Worker processes are not its children, so it only
    measures stage 1 when stage 1 runs in-process (--workers 1)."""
    return time.process_time()


def timed(
    name: str,
    docs: Sequence[Document],
    fn: Callable[[], list[Sequence[str]]],
    clock: Callable[[], float] = cpu_seconds,
) -> Run:
    start = clock()
    predictions = fn()
    return Run(name, predictions, (clock() - start) / len(docs))


def plain_yake(docs: Sequence[Document]) -> list[Sequence[str]]:
    extractor = yake.KeywordExtractor(lan="en", n=3, top=10)
    return [[k for k, _ in extractor.extract_keywords(d.text)] for d in docs]


def project(docs: Sequence[Document], config: Config, cache: ContentCache) -> list[Sequence[str]]:
    """The build's own code path: untitled papers, the whole file as the corpus, and the
    themes stage, which may tag a paper with a theme-name phrase its abstract says."""
    papers = [Paper(d.id, "", False, d.text, ()) for d in docs]
    themed, _ = group_themes(extract_keyphrases(papers, config, cache), config.theme_count)
    return [p.keyphrases for p in themed]


def digest_runs(
    docs: Sequence[Document], backend: str, workers: int, clock: Callable[[], float]
) -> DigestRuns:
    config = replace(Config(), keyphrases_per_paper=10, workers=workers, keyphrase_backend=backend)
    name = f"digest, {backend} backend"
    project(docs[:WARM_UP_DOCS], config, ContentCache(None))
    with tempfile.TemporaryDirectory() as folder:
        cache = ContentCache(Path(folder))
        cold = timed(name, docs, lambda: project(docs, config, cache), clock)
        warm = timed(f"{name} (warm)", docs, lambda: project(docs, config, cache), clock)
        cache.close()
    if cold.predictions != warm.predictions:
        print(f"warning: {backend}: cached and uncached runs differ", file=sys.stderr)
    return DigestRuns(backend, cold, warm)


def available_backends() -> list[str]:
    """Every backend that can run here; a missing optional one is said, not an error."""
    backends = []
    for backend in KEYPHRASE_BACKENDS:
        if problem := backend_problem(backend, "en"):
            print(f"skipping the {backend} backend: {problem}", file=sys.stderr)
        else:
            backends.append(backend)
    return backends


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    docs = load(args.data, args.limit)
    clock = cpu_seconds if args.workers == 1 else time.perf_counter
    plain_yake(docs[:WARM_UP_DOCS])
    baseline = timed("plain YAKE (n=3, top=10)", docs, lambda: plain_yake(docs), clock)
    runs = [digest_runs(docs, b, args.workers, clock) for b in available_backends()]
    _report(docs, baseline, runs, "CPU" if args.workers == 1 else "wall-clock")
    _show(docs, runs[0].cold, args.show)
    return 0


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="Inspec-style JSONL")
    parser.add_argument("--limit", type=int, default=None, help="only the first N documents")
    parser.add_argument("--workers", type=int, default=1, help="processes for stage 1")
    parser.add_argument("--show", type=int, default=0, help="print N documents' predictions")
    return parser.parse_args(argv)


def _report(
    docs: Sequence[Document], baseline: Run, runs: Sequence[DigestRuns], clock: str
) -> None:
    """One row per method; the ratios are against plain YAKE (quality) and, for time, against
    the first (default) backend, whose rows come first."""
    base_table = evaluate(baseline, docs)
    base_f1 = base_table[10][2]
    print(f"{len(docs)} documents; times are {clock} ms per abstract\n")
    print(
        "| method | P@5 R@5 F1@5 | P@10 R@10 F1@10 | F1@10 ÷ YAKE | ms (cold) | stage 1 ms "
        f"| stage 1 speed-up |\n|{'---|' * 7}"
    )
    print(f"{_row(baseline.name, base_table, base_f1)} {1000 * baseline.seconds_per_doc:.2f} | | |")
    for run in runs:
        speedup = runs[0].stage_one / max(run.stage_one, 1e-9)
        print(
            f"{_row(run.cold.name, evaluate(run.cold, docs), base_f1)} "
            f"{1000 * run.cold.seconds_per_doc:.2f} "
            f"| {1000 * run.stage_one:.2f} | {speedup:.2f}x |"
        )
    for run in runs:
        print(
            f"\n{run.backend}: stage 1 {1000 * run.stage_one:.2f} ms per abstract; "
            f"stage 2 + themes + cache read {1000 * run.warm.seconds_per_doc:.2f}",
            end="",
        )
    print()


def _row(name: str, table: dict[int, tuple[float, float, float]], base_f1: float) -> str:
    """The start of a table row: name, scores at each cutoff, F1@10 against plain YAKE."""
    cells = " | ".join(" ".join(f"{v:5.1f}" for v in table[k]) for k in CUTOFFS)
    return f"| {name} | {cells} | {table[10][2] / max(base_f1, 1e-9):.2f}x |"


def _show(docs: Sequence[Document], run: Run, count: int) -> None:
    """Predictions beside the gold, to read what a reader would see (hits marked *)."""
    for doc, predicted in list(zip(docs, run.predictions, strict=True))[:count]:
        truth = {stemmed(g) for g in doc.gold}
        marked = [f"{p}{'*' if stemmed(p) in truth else ''}" for p in predicted]
        print(f"\n{doc.id}: {doc.text[:100]}...\n  digest: {'; '.join(marked)}")
        print(f"  gold:   {'; '.join(doc.gold)}")


if __name__ == "__main__":
    raise SystemExit(main())
