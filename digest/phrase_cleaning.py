"""Rules that turn raw text into noun-phrase candidates and reject what a reader would not accept.

Readers accept keyphrases that are noun phrases ("industrial anomaly detection"); they reject
fragments cut across a verb or a preposition ("methods rely", "vital in human-computer") and
boilerplate every abstract shares ("experimental results"). A full parser would need a model
download, so word classes come from the lemminflect lexicon (shipped with the package) plus a few
context rules, which is enough to find noun-phrase boundaries.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from functools import cache

import lemminflect


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# A word's class: N noun-able, A adjective/participle modifier, G verb-only -ing form,
# V finite verb, R adverb, X function word, number or symbol (always a boundary).
NOUN, ADJ, GERUND, VERB, ADVERB, OTHER = "N", "A", "G", "V", "R", "X"

FUNCTION_WORDS = _words(
    """a an the this that these those our their its his her my your we they it he she i you us
    them which who whom whose what where when why how whereby wherein of in on at by for with
    from to into onto upon about above below under over between among amongst through throughout
    during without within via per than as like unlike versus vs and or nor but yet so if then else
    while whereas although though because since unless until whether both either neither also not
    no is are was were be been being am has have had having do does did doing done can could may
    might must shall should will would there here such each every all any some many much more
    most few fewer less least other others another same several various own only very just even
    still however thus hence therefore moreover furthermore additionally instead rather quite
    often always never one two three four five six seven eight nine ten first second third
    last next based due million billion thousand hundred dozens et al etc eg ie e.g i.e cf around
    across along against beyond toward towards after before among despite including besides
    using regarding concerning according leveraging utilizing utilising employing exploiting
    achieving enabling yielding remains remain poses plays"""
)

# Words whose presence throughout a phrase marks the genre, not the paper's subject.
GENERIC_WORDS = _words(
    """paper papers work works study studies approach approaches method methods methodology
    technique techniques framework frameworks model models system systems result results
    experiment experiments evaluation evaluations performance task tasks problem problems
    solution solutions dataset datasets data benchmark benchmarks baseline baselines
    state-of-the-art sota art code codes github repository implementation application
    applications analysis analyses issue issues challenge challenges limitation limitations
    advantage advantages contribution contributions effectiveness efficiency improvement
    improvements superiority novelty way ways case cases number numbers amount amounts set sets
    type types kind kinds part parts order use effect effects impact fact facts aspect aspects
    detail details level levels degree range variety field fields area areas domain domains
    scenario scenarios setting settings process paradigm strategy strategies scheme schemes
    version versions term terms end step steps stage stages year years time times
    proposed propose novel new existing extensive comprehensive experimental empirical
    numerical significant superior competitive promising remarkable strong better best good
    effective efficient robust simple recent current previous prior traditional conventional
    standard typical various different diverse several numerous real real-world wide large
    small high low key main major important crucial critical notable substantial considerable
    specific particular general overall extensive thorough publicly public available open
    source open-source further future ablation comparative class classes attempt attempts
    advancement advancements advance advances progress role roles question questions
    assumption assumptions property properties information overhead insight insights need
    needs demand demands gap gaps interest success popularity capability capabilities
    potential research community literature practice purpose aim goal goals objective
    objectives manner rapid growing increasing crucial pivotal essential fundamental
    desirable relevant prevalent downstream vital unique modest remarkable great"""
)

# Modifiers that praise or situate the work rather than name its subject ("novel framework").
GENERIC_MODIFIERS = _words(
    """proposed novel new existing extensive comprehensive significant superior competitive
    promising remarkable strong better best effective efficient simple recent current previous
    prior traditional conventional various different diverse several numerous typical
    state-of-the-art sota powerful unified innovative improved enhanced popular given
    considerable certain primary underlying rapid growing increasing crucial pivotal
    essential fundamental desirable relevant prevalent"""
)

# Heads so generic that "anomaly detection method" says no more than "anomaly detection".
GENERIC_HEADS = _words(
    "method methods approach approaches technique techniques framework frameworks"
)

_PHRASE_CLASSES = (NOUN, ADJ, GERUND)
_BEFORE_VERB = _words(
    """we they it he she i you which that who to can could may might must should will would
    also not often then further thus thereby first still"""
)
_AFTER_VERB = _words("the a an this these those our its their that how whether")
_OBJECT_STARTS = _AFTER_VERB | _words("all each every several many some various it them us")
_DETERMINERS = _words("the a an this these our its their his her your my")
_PRONOUNS = _words("we they it he she i you")
_TAKES_INFINITIVE = _words(
    """aims attempts seeks needs fails tends helps wants starts begins serves continues plans
    tries struggles strives promises proves manages chooses learns works"""
)
_AUXILIARIES = _words("is are was were be been being has have had")
_SUBJECTS = _words(
    """paper article study work results experiments findings approach method letter chapter
    review survey note we"""
)

_SENTENCE_ENDS = frozenset(".!?:;")
_ADJ_SUFFIXES = ("al", "ive", "ous", "ic", "able", "ible", "ful", "less", "ish")
_WORD = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")
_TOKEN = re.compile(rf"{_WORD.pattern}|[^\w\s]")
_MATH = re.compile(r"\$[^$]*\$|\\\w+(?:\{[^}]*\})*")
_URL = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\w+")
_NUMBERISH = re.compile(r"^(?:[\d.,:%/x×-]+|\d+(?:st|nd|rd|th|s))$")


def plain_text(text: str) -> str:
    """Cut maths, URLs and e-mail addresses out, leaving a boundary so no phrase spans the gap."""
    return _URL.sub(" ; ", _MATH.sub(" ; ", text))


def tokens(text: str) -> list[str]:
    """Words (hyphenated compounds stay whole) and single punctuation marks, which end phrases."""
    return _TOKEN.findall(text)


@cache
def is_acronym(word: str) -> bool:
    """Acronyms and product names keep their case and are nouns whatever the lexicon says."""
    letters = [c for c in word if c.isalpha()]
    uppers = sum(c.isupper() for c in letters)
    if uppers >= 2:
        return True
    return uppers == 1 and (any(c.isdigit() for c in word) or not word[0].isupper())


@cache
def _lexicon_classes(lower: str) -> frozenset[str]:
    return frozenset(lemminflect.getAllLemmas(lower))


def _not_a_word(lower: str) -> bool:
    return len(lower) < 2 or bool(_NUMBERISH.match(lower)) or not any(c.isalpha() for c in lower)


@cache
def word_class(word: str) -> str:
    """The class an English word takes when context does not decide: a noun if it can be one."""
    lower = word.lower()
    if lower in FUNCTION_WORDS or _not_a_word(lower):
        return OTHER
    if lower.endswith("'s"):
        return NOUN if word[0].isupper() else OTHER
    if is_acronym(word):
        return NOUN
    if "-" in lower:
        return _compound_class(lower.rsplit("-", 1)[1])
    return _class_from_lexicon(lower)


def _compound_class(last: str) -> str:
    """A hyphenated word takes its last part's class, but as a modifier whenever that part can
    be an adjective ("patient-specific", "fine-grained")."""
    if not last.isalpha() or "ADJ" not in _lexicon_classes(last):
        cls = word_class(last)
        return NOUN if cls in (NOUN, OTHER) else ADJ
    return ADJ


def _class_from_lexicon(lower: str) -> str:
    found = _lexicon_classes(lower)
    if not found:
        return _class_from_suffix(lower)
    if "NOUN" in found or "PROPN" in found:
        return NOUN
    if "ADJ" in found:
        return ADJ
    if "VERB" in found:
        if lower.endswith("ing"):
            return GERUND
        return ADJ if lower.endswith(("ed", "en")) else VERB
    return ADVERB if "ADV" in found else OTHER


def _class_from_suffix(lower: str) -> str:
    if lower.endswith("ly"):
        return ADVERB
    if lower.endswith("ing"):
        return GERUND
    if lower.endswith("ed") or lower.endswith(_ADJ_SUFFIXES):
        return ADJ
    return NOUN


def contextual_classes(words: Sequence[str]) -> list[str]:
    """English word classes after the neighbours have had their say ("we focus", "the focus")."""
    classes = [word_class(w) for w in words]
    for i in range(len(words)):
        if _reads_as_verb(words, classes, i):
            classes[i] = VERB
    return classes


def stopword_classes(words: Sequence[str], stopwords: Collection[str]) -> list[str]:
    """For a language without a lexicon, every word that is not a stop word is a noun."""
    return [OTHER if w.lower() in stopwords or _not_a_word(w.lower()) else NOUN for w in words]


def _reads_as_verb(words: Sequence[str], classes: Sequence[str], i: int) -> bool:
    word, cls = words[i], classes[i]
    before = words[i - 1].lower() if i else ""
    after = words[i + 1].lower() if i + 1 < len(words) else ""
    if cls in (ADJ, GERUND) and i and classes[i - 1] == NOUN:
        return _verb_after_noun(word, words[i - 1], after)
    if cls in (ADJ, GERUND):
        return _verbal_participle(word, before)
    if cls != NOUN or word[0].isupper():
        return False
    known = _lexicon_classes(word.lower())
    if not known:
        return before == "to" and not _is_plural(word) and not is_acronym(word)
    return "VERB" in known and _verb_context(words, classes, i, before, after)


def _verb_after_noun(word: str, noun: str, after: str) -> bool:
    """A participle after a noun is a verb ("a method named PSGait", "views comprising the
    past", "methods leveraging LLMs"), except an -ing in a compound ("data mining tools"),
    which takes a singular modifier."""
    lower = word.lower()
    if lower.endswith("ing"):
        return (after in _OBJECT_STARTS or _is_plural(noun)) and "VERB" in _lexicon_classes(lower)
    return lower.endswith("ed") and _lexicon_classes(lower) == {"VERB"}


def _verbal_participle(word: str, before: str) -> bool:
    """A participle after an auxiliary or a pronoun is a verb: "has violated", "we compared"."""
    lower = word.lower()
    if "VERB" not in _lexicon_classes(lower) or not lower.endswith(("ed", "en", "ing")):
        return False
    return before in _AUXILIARIES or (before in _PRONOUNS and lower.endswith("ed"))


def _verb_context(
    words: Sequence[str], classes: Sequence[str], i: int, before: str, after: str
) -> bool:
    """A noun-or-verb word is a verb after a subject-like word or before an object-like one;
    after a plural noun it is a verb too ("technologies take"), since compounds take singular
    modifiers."""
    if before in _BEFORE_VERB or before in _SUBJECTS or before == ")" or after in _AFTER_VERB:
        return True
    if after == "to" and words[i].lower() in _TAKES_INFINITIVE:
        return True
    if not i or classes[i - 1] not in (NOUN, ADVERB):
        return False
    if _irregular_past(words[i].lower()):
        return True
    plural_subject = _is_plural(words[i - 1]) and not words[i].lower().endswith("ing")
    return classes[i - 1] == ADVERB or plural_subject


def _irregular_past(lower: str) -> bool:
    """True for irregular verb forms ("saw", "led", "found"), whose lemma is another word."""
    if lower.endswith(("s", "ed", "ing")):
        return False
    return any(lemma != lower for lemma in lemminflect.getAllLemmas(lower).get("VERB", ()))


def _is_plural(word: str) -> bool:
    return singular(word) != word.lower() and not is_acronym(word)


def noun_phrase_spans(words: Sequence[str], classes: Sequence[str]) -> list[tuple[int, int]]:
    """Maximal runs of modifiers ending in a noun, as (start, end) word indices."""
    spans: list[tuple[int, int]] = []
    start: int | None = None
    for i in range(len(words) + 1):
        joins = i < len(words) and classes[i] in _PHRASE_CLASSES
        if joins and start is None:
            start = i
        elif not joins and start is not None:
            spans.extend(_trim(words, classes, start, i))
            start = None
    return spans


def _trim(
    words: Sequence[str], classes: Sequence[str], start: int, end: int
) -> list[tuple[int, int]]:
    """Drop a leading verb -ing ("enhancing accuracy") and trailing non-nouns."""
    while start < end and _leading_verb(words, classes, start):
        start += 1
    while end > start and classes[end - 1] not in (NOUN, GERUND):
        end -= 1
    return [(start, end)] if end > start else []


def _leading_verb(words: Sequence[str], classes: Sequence[str], i: int) -> bool:
    """An -ing that opens a phrase is a verb ("by using", "for clustering similar profiles")
    unless a determiner makes it a noun ("the driving scenarios")."""
    before = words[i - 1].lower() if i else ""
    return (classes[i] == GERUND or _verb_form(words[i])) and before not in _DETERMINERS


def strip_generic(words: Sequence[str]) -> list[str]:
    """Remove praise ("novel") in front and a generic head ("method") at the end when safe."""
    kept = list(words)
    while len(kept) > 1 and kept[0].lower() in GENERIC_MODIFIERS:
        kept.pop(0)
        if len(kept) > 1 and _verb_form(kept[0]):
            kept.pop(0)
    if len(kept) > 2 and kept[-1].lower() in GENERIC_HEADS and word_class(kept[-2]) == NOUN:
        kept.pop()
    return kept


def _verb_form(word: str) -> bool:
    """Once "best" goes from "best performing models", "performing" would lead the phrase."""
    lower = word.lower()
    return lower.endswith("ing") and "VERB" in _lexicon_classes(lower) and not is_acronym(word)


def is_fragment(phrase: str) -> bool:
    """True when a phrase is cut across a clause: it must be modifiers ending in a noun."""
    words = phrase.split()
    if not words or any(not _WORD.fullmatch(w) for w in words):
        return True
    classes = [word_class(w) for w in words]
    if classes[-1] != NOUN and not (classes[-1] == GERUND and len(words) > 1):
        return True
    if classes[0] == GERUND and len(words) > 1:
        return True
    return any(c in (OTHER, VERB, ADVERB) for c in classes)


def is_boilerplate(phrase: str) -> bool:
    """True for the genre's stock phrases: every word generic, or a URL or number."""
    words = [w.lower() for w in phrase.split()]
    if not words or any(_URL.search(w) or _NUMBERISH.match(w) for w in words):
        return True
    return all(w in GENERIC_WORDS or singular(w) in GENERIC_WORDS for w in words)


def normalise_case(phrase: str, names: Collection[str] = ()) -> str:
    """Lower-case all but acronyms (BLEU, M3DM, LLMs) and the given names ("Gaussian").

    Title case and sentence starts say nothing about a word, so "Transformer" becomes
    "transformer" unless the caller knows it as a name.
    """
    return " ".join(_normalise_word(w, names) for w in phrase.split())


def _normalise_word(word: str, names: Collection[str]) -> str:
    if word.lower() in names:
        return word
    return "-".join(p if _keeps_case(p, names) else p.lower() for p in word.split("-"))


def _keeps_case(part: str, names: Collection[str]) -> bool:
    return is_acronym(part) or (len(part) == 1 and part.isupper()) or part.lower() in names


def proper_names(words: Sequence[str]) -> list[str]:
    """Lower-cased words the authors capitalise at every mid-sentence use and that are not
    common English words: names such as "Gaussian", "Markov" or "Kolmogorov-Arnold".

    A run of capitalised words ("Graph Convolutional Network (GCN)") is an acronym's
    expansion, not evidence, so it counts neither way.
    """
    capitalised: dict[str, bool] = {}
    for i, word in enumerate(words):
        if not word[0].isalpha() or is_acronym(word) or _starts_sentence(words, i):
            continue
        if word[0].isupper() and (_capitalised(words, i - 1) or _capitalised(words, i + 1)):
            continue
        lower = word.lower()
        capitalised[lower] = capitalised.get(lower, True) and word[0].isupper()
    return sorted(w for w, cap in capitalised.items() if cap and not _known_word(w))


def _starts_sentence(words: Sequence[str], i: int) -> bool:
    return i == 0 or words[i - 1] in _SENTENCE_ENDS


def _capitalised(words: Sequence[str], i: int) -> bool:
    """A title-case word ("Network"), not an acronym or a prefix ("K-means")."""
    if not 0 <= i < len(words) or _starts_sentence(words, i):
        return False
    word = words[i]
    return word[0].isupper() and len(word) > 1 and word[1].islower()


def _known_word(lower: str) -> bool:
    return any(_lexicon_classes(part) for part in lower.split("-") if part)


@cache
def singular(word: str) -> str:
    """A conservative English singular, only used to group variants, never shown to readers."""
    lower = word.lower()
    if len(lower) <= 3 or lower.endswith(("ss", "us", "is", "ics", "series", "species")):
        return lower
    if lower.endswith("ies") and len(lower) > 4:
        return lower[:-3] + "y"
    if lower.endswith(("sses", "shes", "ches", "xes", "zzes")):
        return lower[:-2]
    if lower.endswith("s") and not lower.endswith(("'s", "as", "os")):
        return lower[:-1]
    return lower


def phrase_key(phrase: str) -> str:
    """The identity of a phrase: case, plural and hyphenation variants all share one key."""
    return " ".join(map(singular, phrase.replace("-", " ").split()))  # whole abstracts: map


def near_duplicates(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """True when two phrases (as word tuples) name one thing: one inside the other ("anomaly
    detection", "industrial anomaly detection"), an acronym ("llm", "large language model") or
    a spelling variant ("modeling", "modelling")."""
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) == 1 < len(long) and short[0] == "".join(w[0] for w in long):
        return True
    return _subsequence(long, short) or _one_edit_apart(" ".join(a), " ".join(b))


def _subsequence(long: tuple[str, ...], short: tuple[str, ...]) -> bool:
    rest = iter(long)
    return all(word in rest for word in short)


def _one_edit_apart(a: str, b: str) -> bool:
    """Spelling variants such as "modeling"/"modelling" or "optimisation"/"optimization"."""
    if abs(len(a) - len(b)) > 1 or min(len(a), len(b)) < 8:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i + (len(a) == len(b)) :] == b[i + 1 :]
