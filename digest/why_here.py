"""Why a paper is in its theme: which of its keyphrases the theme's name is made of.

Theme names are built from keyphrases and their tails ("Black holes, galaxies & dark
matter"), so a paper keyphrase "supermassive black holes" explains its place through the name
phrase "black holes". Matching is on whole words, as a contiguous word sequence, with case,
hyphens and plurals folded the way keyphrases are merged (``phrase_key``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from digest.phrase_cleaning import phrase_key

_NAME_SEPARATORS = re.compile(r",\s+|\s+&\s+")
_DUPLICATE_SUFFIX = re.compile(r"\s*\(\d+\)$")


@dataclass(frozen=True)
class NameMatch:
    """A paper keyphrase and the part of the theme name it carries."""

    keyphrase: str
    name_phrase: str
    exact: bool  # the keyphrase is the name phrase itself (nothing to spell out)


def name_phrases(theme_name: str) -> tuple[str, ...]:
    """The phrases a theme name joins: "A, B & C" → A, B, C (a " (2)" suffix dropped)."""
    bare = _DUPLICATE_SUFFIX.sub("", theme_name)
    return tuple(part.strip() for part in _NAME_SEPARATORS.split(bare) if part.strip())


def name_matches(keyphrases: Sequence[str], theme_name: str) -> tuple[NameMatch, ...]:
    """Each keyphrase containing a name phrase, in the paper's keyphrase order."""
    phrases = [(p, _folded(p)) for p in name_phrases(theme_name)]
    found: list[NameMatch] = []
    for keyphrase in keyphrases:
        words = _folded(keyphrase)
        for phrase, needle in phrases:
            if needle and _contains(words, needle):
                found.append(NameMatch(keyphrase, phrase, words == needle))
                break
    return tuple(found)


def _folded(text: str) -> tuple[str, ...]:
    return tuple(phrase_key(text.lower()).split())


def _contains(words: tuple[str, ...], needle: tuple[str, ...]) -> bool:
    size = len(needle)
    return any(words[i : i + size] == needle for i in range(len(words) - size + 1))
