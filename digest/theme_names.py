"""Names for groups of papers: the two or three keyphrases a reader would write on the folder.

A good name is carried by most of its papers and belongs to this theme rather than to the whole
corpus. A paper carries a name phrase when one of its keyphrases contains it ("supermassive
black holes" carries "black hole"); singular and plural count as one. Candidates are the
group's keyphrases and their tails ("games" from "Bayesian games"); a candidate covers the
papers that carry it or say it in their text, and is weighted by the share of its keyphrase
carriers that sit in this theme, so a phrase every abstract says ("results") never wins. A
single word names a theme only if most papers that say it are in that theme: "games" in game
theory, never "guarantees". Phrases are picked greedily by the papers they newly cover. A paper
that says a name phrase without having it as a keyphrase is then tagged with it: that phrase is
why it is here, and its reader should see it."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from digest.model import Paper
from digest.phrase_cleaning import FUNCTION_WORDS, near_duplicates, phrase_key
from digest.why_here import name_matches

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
        "real",
        "world",
        "paper",
        "work",
        "use",
        "new",
        "large",
        "small",
        "high",
        "low",
        "based",
        "large-scale",
        "ability",
        "abilities",
        "capability",
        "capabilities",
        "effectiveness",
        "efficiency",
        "accuracy",
        "quality",
        "process",
        "information",
        "issue",
        "issues",
        "challenge",
        "challenges",
        "property",
        "properties",
        "impact",
        "role",
        "case",
        "way",
        "ways",
        "set",
        "number",
        "field",
        "state",
        "art",
        "experiment",
        "experiments",
        "evaluation",
        "benchmark",
        "benchmarks",
        "dataset",
        "datasets",
        "observation",
        "equation",
        "representation",
        "measurement",
        "theory",
        "parameter",
        "solution",
        "function",
        "structure",
        "distribution",
        "prediction",
        "training",
        "inference",
        "feature",
        "scheme",
        "strategy",
        "component",
        "condition",
        "effect",
        "value",
        "type",
        "level",
        "space",
        "time",
    ]
)
MIN_NAME_PHRASES = 2
MAX_NAME_PHRASES = 3
MIN_GAIN_SHARE = 0.03
PRECISION_WEIGHT = 0.5
SINGLE_WORD_WEIGHT = 0.6
SINGLE_WORD_MIN_SHARE = 0.6  # of the papers saying a one-word name, how many must be here
TOP_KEYPHRASES = 8
CANDIDATE_POOL = 40
MIN_TAGGED_KEYPHRASES = 5
_NOT_WORD = re.compile(r"[^\w\s-]+")


@dataclass(frozen=True)
class ThemeName:
    name: str
    keys: tuple[str, ...]  # phrase keys of the name, best first
    top: tuple[str, ...]  # the group's most representative keyphrases, as written


class CorpusPhrases:
    """Which papers carry which phrase, and the form readers see most often."""

    def __init__(self, papers: Sequence[Paper]) -> None:
        self.carriers: dict[str, set[str]] = defaultdict(set)
        forms: dict[str, Counter[str]] = defaultdict(Counter)
        for paper in papers:
            for phrase in paper.keyphrases:
                key = phrase_key(phrase.lower())
                forms[key][phrase] += 1
                for part, surface in _parts(key, phrase):
                    self.carriers[part].add(paper.id)
                    forms[part][surface] += part != key
        self.surface = {k: min(c, key=lambda f: (-c[f], _capitals(f), f)) for k, c in forms.items()}
        self._texts = {paper.id: _folded_text(paper) for paper in papers}
        self._with_word: dict[str, set[str]] = defaultdict(set)
        for pid, text in self._texts.items():
            for word in set(text.split()):
                self._with_word[word].add(pid)
        self._sayers: dict[str, frozenset[str]] = {}

    def carried_by(self, key: str) -> set[str]:
        return self.carriers.get(key, set())

    def said_by(self, key: str) -> frozenset[str]:
        """The papers whose title or abstract says the phrase (folded like keyphrases); only
        papers having all its words are searched, so asking for many phrases stays cheap."""
        found = self._sayers.get(key)
        if found is None:
            words = key.split()
            ids = set.intersection(*(self._with_word.get(w, set()) for w in words))
            if len(words) > 1:
                ids = {pid for pid in ids if f" {key} " in self._texts[pid]}
            found = self._sayers[key] = frozenset(ids)
        return found

    def folded_text(self, paper: Paper) -> str:
        """The paper's title and abstract, folded like keyphrases and padded with spaces, so
        that ``f" {key} " in text`` says whether it says a phrase; also for a paper outside
        these (a large corpus is named from a sample)."""
        return self._texts.get(paper.id) or _folded_text(paper)


@dataclass(frozen=True)
class NameSurfaces:
    """What tagging a paper outside the sample needs of the sample's ``CorpusPhrases``: how
    each name phrase is written. Kept instead of the whole index of the sample's words, which
    takes seconds to load from the cache at 3,000 papers."""

    surface: Mapping[str, str]

    @classmethod
    def of(cls, names: Iterable[ThemeName], corpus: CorpusPhrases) -> NameSurfaces:
        return cls({key: corpus.surface[key] for name in names for key in name.keys})

    def folded_text(self, paper: Paper) -> str:
        return _folded_text(paper)


def _capitals(text: str) -> int:
    return sum(c.isupper() for c in text)


def _folded_text(paper: Paper) -> str:
    title = "" if paper.title_derived else paper.title
    return f" {phrase_key(_NOT_WORD.sub(' ', f'{title} {paper.abstract}'.lower()))} "


def _parts(key: str, phrase: str) -> Iterator[tuple[str, str]]:
    """The phrase and its tails at word boundaries, with their written forms: English noun
    phrases end in their head, so "supermassive black holes" yields "black holes", never
    "supermassive black" (nor "augmented generation" from "retrieval-augmented generation")."""
    written = phrase.split()
    for start in range(len(written)):
        text = " ".join(written[start:])
        tail = key if start == 0 else phrase_key(text.lower())
        first = tail.split()[0] if tail else ""
        if not tail or first in FUNCTION_WORDS:
            continue
        if " " not in tail and (tail in GENERIC_NAMES or len(tail) < 4):
            continue
        yield tail, text


def name_groups(groups: Sequence[Sequence[Paper]], corpus: CorpusPhrases) -> list[ThemeName]:
    """A name per group, larger groups choosing first; no phrase is in two names."""
    order = sorted(range(len(groups)), key=lambda i: (-len(groups[i]), groups[i][0].id))
    used: set[str] = set()
    taken: set[str] = set()
    named: dict[int, ThemeName] = {}
    for i in order:
        ranked = _ranked_candidates(groups[i], corpus, taken)
        if len(_pick_name(ranked, len(groups[i]), frozenset())) < MIN_NAME_PHRASES:
            ranked = (
                _ranked_candidates(groups[i], corpus, taken, floor=1)
                or _ranked_candidates(groups[i], corpus, set())
                or ranked
            )
        name, keys = _distinct_name(ranked, len(groups[i]), corpus, used)
        used.add(name.lower())
        taken.update(keys)
        top = tuple(corpus.surface[k] for k, _, _ in ranked[:TOP_KEYPHRASES])
        named[i] = ThemeName(name, keys, top)
    return [named[i] for i in range(len(groups))]


def tag_with_name(
    members: Sequence[Paper], name: ThemeName, corpus: CorpusPhrases | NameSurfaces
) -> Mapping[str, tuple[str, ...]]:
    """New keyphrases for the members whose text says a name phrase their keyphrases lack:
    the phrase replaces the weakest keyphrase, so the count stays within its bounds."""
    tagged: dict[str, tuple[str, ...]] = {}
    for paper in members:
        if name_matches(paper.keyphrases, name.name):
            continue
        text = corpus.folded_text(paper)
        said = [k for k in name.keys if f" {k} " in text]
        if not said:
            continue
        phrase = corpus.surface[said[0]]
        words = tuple(said[0].split())
        kept = [
            k
            for k in paper.keyphrases
            if not near_duplicates(tuple(phrase_key(k.lower()).split()), words)
        ]
        limit = max(len(paper.keyphrases), MIN_TAGGED_KEYPHRASES)
        tagged[paper.id] = (*kept[: limit - 1], phrase)
    return tagged


Candidate = tuple[str, set[str], float]  # key, papers of the group carrying it, precision


def _ranked_candidates(
    members: Sequence[Paper], corpus: CorpusPhrases, taken: set[str], floor: int | None = None
) -> list[Candidate]:
    """Phrases carried by several papers of the group and in no earlier name, best first; a
    phrase all over the corpus ranks low however common it is here."""
    ids = {p.id for p in members}
    counts: Counter[str] = Counter()
    for paper in members:
        keys = {part for k in paper.keyphrases for part, _ in _parts(phrase_key(k.lower()), k)}
        counts.update(keys)
    if floor is None:
        floor = 1 if len(members) < 5 else 2
    scored = []
    for key, count in counts.items():
        if count < floor:
            continue
        if _overlaps(key, taken):
            continue
        carriers = corpus.carried_by(key)
        inside = carriers & ids
        precision = len(inside) / len(carriers)
        weight = 1.0 if " " in key else SINGLE_WORD_WEIGHT
        scored.append((len(inside) * precision * weight, key, inside, precision))
    scored.sort(key=lambda row: (-row[0], row[1]))
    ranked = []
    for _, key, inside, precision in scored[:CANDIDATE_POOL]:
        said_anywhere = corpus.said_by(key)
        said = said_anywhere & ids
        if " " not in key and len(said) < SINGLE_WORD_MIN_SHARE * len(said_anywhere):
            continue
        ranked.append((key, inside | said, precision))
    return ranked


def _pick_name(ranked: list[Candidate], size: int, skip: frozenset[str]) -> list[str]:
    picked: list[str] = []
    covered: set[str] = set()
    while len(picked) < MAX_NAME_PHRASES:
        best, best_gain, best_inside = None, 0.0, set()
        for key, inside, precision in ranked:
            if key in skip or any(_shares_words(key, k) for k in picked):
                continue
            weight = 1.0 if " " in key else SINGLE_WORD_WEIGHT
            new = len(inside - covered)
            if not new and len(picked) < MIN_NAME_PHRASES:
                new = len(inside) / size  # a second phrase still says more about the theme
            gain = new * precision**PRECISION_WEIGHT * weight
            if gain > best_gain:
                best, best_gain, best_inside = key, gain, inside
        if best is None or (len(picked) >= MIN_NAME_PHRASES and best_gain < MIN_GAIN_SHARE * size):
            break
        picked.append(best)
        covered |= best_inside
    return picked


def _distinct_name(
    ranked: list[Candidate], size: int, corpus: CorpusPhrases, used: set[str]
) -> tuple[str, tuple[str, ...]]:
    """The group's best name unless an earlier group took it; then its next-best phrases."""
    skip: set[str] = set()
    picked = _pick_name(ranked, size, frozenset())
    name = joined_name(picked, corpus)
    while name.lower() in used and picked:
        skip.add(picked[0])
        picked = _pick_name(ranked, size, frozenset(skip))
        name = joined_name(picked, corpus)
    if not name or name.lower() in used:
        base = name or "Other papers"
        n = 2
        while f"{base} ({n})".lower() in used:
            n += 1
        name = f"{base} ({n})"
    return name, tuple(picked)


def _overlaps(key: str, taken: set[str]) -> bool:
    """Whether an earlier theme's name has this phrase, or one inside it or around it: themes
    named "Representation learning" and "Deep representation learning" say nothing apart."""
    padded = f" {key} "
    return any(f" {t} " in padded or padded in f" {t} " for t in taken)


def _shares_words(a: str, b: str) -> bool:
    return bool({w.rstrip("s") for w in a.split()} & {w.rstrip("s") for w in b.split()})


def joined_name(keys: list[str], corpus: CorpusPhrases) -> str:
    """The phrases as one name, "A, B & C": capitalised unless its first word is an acronym."""
    phrases = [corpus.surface[k] for k in keys]
    if not phrases:
        return ""
    text = ", ".join(phrases[:-1]) + (" & " if len(phrases) > 1 else "") + phrases[-1]
    first = text.split(" ", 1)[0]
    return text if sum(c.isupper() for c in first) > 1 else text[0].upper() + text[1:]
