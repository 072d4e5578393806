"""How far themes move when one paper of a large corpus is edited or added.

    python bench/theme_stability.py [--size N] [--changes N] [--cache DIR] [--backend yake-rust]

Takes the first N papers (default 10,000) of ``arxiv-109k.jsonl.gz``, extracts their keyphrases
through the build's own code (cached in ``--cache``, so a second run skips YAKE), and groups
them twice per change: with the model fitted on the id-hash sample (``THEME_SAMPLE`` papers, what
digest does) and, as the baseline in the same run, with the model fitted on every paper (what
digest did before). Changes: papers edited one at a time (a sentence added to the abstract) and
the next papers of the file added one at a time. For each it counts the papers whose theme URL
changed and the themes renamed, and says whether the changed paper is in the sample (only then
can the sampled model move other papers). Agreement with the papers' primary arXiv categories
(NMI) is printed for both, so stability is not bought with worse themes.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from sklearn.metrics import normalized_mutual_info_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from digest import themes as themes_module
from digest.cache import ContentCache
from digest.config import Config
from digest.keyphrases import extract_keyphrases
from digest.model import Paper, Source, Theme
from digest.themes import group_themes, sampled_ids

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "arxiv-109k.jsonl.gz"
EDIT = " We also release our code and data."


@dataclass(frozen=True)
class Grouping:
    theme_of: dict[str, str]
    names: frozenset[tuple[str, str]]
    seconds: float


def read_papers(path: Path, count: int) -> tuple[list[Paper], dict[str, str]]:
    papers, labels = [], {}
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            row = json.loads(line)
            source = (Source(path.name, number),)
            papers.append(Paper(row["id"], row["title"], False, row["abstract"], source))
            labels[row["id"]] = row["categories"][0]
            if len(papers) == count:
                break
    return papers, labels


@contextmanager
def model_on_every_paper(enabled: bool) -> Iterator[None]:
    saved = themes_module.THEME_SAMPLE
    if enabled:
        themes_module.THEME_SAMPLE = 10**9
    try:
        yield
    finally:
        themes_module.THEME_SAMPLE = saved


def grouped(papers: Sequence[Paper], every_paper: bool) -> Grouping:
    with model_on_every_paper(every_paper):
        started = time.perf_counter()
        themed, themes = group_themes(papers)
        seconds = time.perf_counter() - started
    return Grouping({p.id: p.theme for p in themed}, _names(themes), seconds)


def _names(themes: Sequence[Theme]) -> frozenset[tuple[str, str]]:
    return frozenset((t.slug, t.name) for t in themes)


def moved(before: Grouping, after: Grouping) -> tuple[int, int]:
    """Other papers whose theme URL changed, and themes whose slug or name changed."""
    common = set(before.theme_of) & set(after.theme_of)
    urls = sum(before.theme_of[i] != after.theme_of[i] for i in common)
    return urls, len(before.names - after.names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=3, help="edits, and as many additions")
    parser.add_argument("--cache", type=Path, help="keep the keyphrase cache here between runs")
    parser.add_argument("--backend", default="yake", choices=("yake", "yake-rust"))
    args = parser.parse_args()
    papers, labels = read_papers(args.data, args.size + args.changes)
    with tempfile.TemporaryDirectory() as tmp:
        cache = ContentCache(args.cache or Path(tmp))
        config = Config(keyphrase_backend=args.backend)
        papers = list(extract_keyphrases(papers, config, cache))
        cache.close()
    corpus, extra = papers[: args.size], papers[args.size :]
    in_sample = sampled_ids(p.id for p in corpus)
    chosen = random.Random(0).sample(range(len(corpus)), args.changes)
    changes = [
        (f"edit {corpus[i].id}", corpus[i].id, [*corpus[:i], _edited(corpus[i]), *corpus[i + 1 :]])
        for i in chosen
    ] + [(f"add {p.id}", p.id, [*corpus, p]) for p in extra]
    changed_in_sample = [changed_id in sampled_ids(p.id for p in c) for _, changed_id, c in changes]
    print(f"theme stability: {len(corpus)} papers, model sample {len(in_sample)} papers\n")
    print(
        "| change | changed paper in sample | model | other papers whose theme URL changed "
        "| themes renamed | seconds |"
    )
    print("| --- | --- | --- | ---: | ---: | ---: |")
    totals = {False: [0, 0], True: [0, 0]}
    for every_paper in (False, True):
        base = grouped(corpus, every_paper)
        model = "every paper (before)" if every_paper else "sample (digest)"
        truth = [labels[p.id] for p in corpus]
        nmi = normalized_mutual_info_score(truth, [base.theme_of[p.id] for p in corpus])
        print(
            f"| none | | {model} | NMI {nmi:.3f} | {len(base.names)} themes | {base.seconds:.1f} |"
        )
        for (label, changed_id, changed), sampled in zip(changes, changed_in_sample, strict=True):
            after = grouped(changed, every_paper)
            urls, renamed = moved(
                base,
                replace(
                    after, theme_of={k: v for k, v in after.theme_of.items() if k != changed_id}
                ),
            )
            totals[every_paper][0] += urls
            totals[every_paper][1] += renamed
            yes = "yes" if sampled else "no"
            print(f"| {label} | {yes} | {model} | {urls} | {renamed} | {after.seconds:.1f} |")
    ours, before = totals[False], totals[True]
    print(
        f"\npapers moved per change: digest {ours[0] / len(changes):.0f}, "
        f"before {before[0] / len(changes):.0f} "
        f"(ratio {ours[0] / max(before[0], 1):.2f}); themes renamed per change: digest "
        f"{ours[1] / len(changes):.1f}, before {before[1] / len(changes):.1f}"
    )


def _edited(paper: Paper) -> Paper:
    return replace(paper, abstract=paper.abstract + EDIT)


if __name__ == "__main__":
    main()
