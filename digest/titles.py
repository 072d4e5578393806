"""Readable titles for papers that arrive without one.

A reader scans titles, so a derived title names the method the abstract defines, e.g.
"Decomposed Estimation of Mutual Information (DEMI)", and falls back to the lead sentence.
"""

from __future__ import annotations

import re
from functools import cache

MAX_LEAD_CHARS = 90

_DEFINITION = re.compile(r"\(([A-Za-z0-9][A-Za-z0-9\-]*[A-Z0-9][A-Za-z0-9\-]*)\)")
_INTRODUCING = re.compile(
    r"\b[Ww]e\s+(?:\w+\s+)?(?:propose|introduce|present|develop|design|devise|build|release"
    r"|name|call|term|coin|dub|refer)"
    r"|\b(?:called|named|namely|termed|dubbed|coined|proposing|introducing)\b"
)
_SKIPPABLE = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "for",
        "in",
        "on",
        "to",
        "by",
        "and",
        "with",
        "via",
        "from",
        "using",
        "based",
        "powered",
        "driven",
        "aware",
        "guided",
        "over",
        "under",
        "into",
        "at",
        "as",
    ]
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’]*")
_MAX_SKIPS = 3


def derive_title(abstract: str) -> str:
    """The method the abstract defines, else its shortened lead sentence; never empty."""
    sentences = split_sentences(abstract)
    for sentence in sentences:
        verb = _INTRODUCING.search(sentence)
        if verb:
            named = _named_definition(sentence, verb.end())
            if named:
                return named
    return shorten(sentences[0] if sentences else abstract) or "Untitled paper"


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def shorten(sentence: str, limit: int = MAX_LEAD_CHARS) -> str:
    """Cut at a word boundary with an ellipsis, dropping a trailing full stop."""
    sentence = " ".join(sentence.split()).rstrip(".")
    if len(sentence) <= limit:
        return sentence
    cut = sentence[:limit].rsplit(" ", 1)[0].rstrip(",;:-–— ")
    return f"{cut}…"


def _named_definition(sentence: str, after: int) -> str | None:
    """A definition that follows the introducing verb, so "we propose X (Y)" names X."""
    for match in _DEFINITION.finditer(sentence, after):
        acronym = match.group(1)
        if sum(ch.isupper() for ch in acronym) < 2:
            continue
        span = _expansion(sentence[after : match.start()], acronym)
        if span:
            return f"{span} ({acronym})"
    return None


def _expansion(before: str, acronym: str) -> str | None:
    """The words just before ``(ACRONYM)`` whose letters spell it, as written in the text."""
    tokens = list(_TOKEN.finditer(before.rstrip()))[-12:]
    letters = "".join(ch.lower() for ch in acronym if ch.isalnum())
    words = tuple(t.group(0) for t in tokens)
    start = _spelling_start(words, letters)
    if start is None:
        return None
    text = before[tokens[start].start() :].strip().rstrip(",;:")
    return text if len(text) > len(acronym) else None


def _spelling_start(words: tuple[str, ...], letters: str) -> int | None:
    """Index of the first word of the shortest tail of ``words`` that spells ``letters``."""
    for start in range(len(words) - 1, -1, -1):
        first = words[start]
        if not (first[0].isupper() or first[0].isdigit()):
            continue
        if _spells(words[start:], letters, _MAX_SKIPS):
            return start
    return None


@cache
def _spells(words: tuple[str, ...], letters: str, skips: int) -> bool:
    if not letters:
        return all(w.lower() in _SKIPPABLE for w in words)
    if not words:
        return False
    word, rest = words[0], words[1:]
    if word.lower() in _SKIPPABLE and _spells(rest, letters, skips):
        return True
    if skips > 0 and word[0].islower() and _spells(rest, letters, skips - 1):
        return True
    if word[0].lower() != letters[0]:
        return False
    return any(_spells(rest, letters[used:], skips) for used in _prefixes_spelled(word, letters))


def _prefixes_spelled(word: str, letters: str) -> list[int]:
    """How many acronym letters this word can supply: its initial, then later capitals or digits,
    or a run of its leading letters ("Op" in "Optimal" for "OpTA")."""
    counts = [1]
    lower = word.lower()
    used = 1
    for ch in word[1:]:
        if used >= len(letters):
            break
        if (ch.isupper() or ch.isdigit()) and ch.lower() == letters[used]:
            used += 1
            counts.append(used)
    lead = 1
    while lead < len(lower) and lead < len(letters) and lower[lead] == letters[lead]:
        lead += 1
        counts.append(lead)
    return sorted(set(counts), reverse=True)
