"""YAKE's scores for one text, as python yake 0.7.3 computes them, in a fraction of its time.

``yake.KeywordExtractor`` keeps an object per word and per n-gram and a networkx graph, and
calls ``numpy.median`` per word: at 10,000 abstracts that overhead, not the statistics, was
most of a cold build. This is the same computation over plain lists and dicts. yake itself
still splits the text (segtok), tags the words and supplies the stop words, so only the
arithmetic is ours, in yake's order of operations: the scores are equal to the last bit
(tests/test_yake_scores.py checks them against ``KeywordExtractor`` on every seed and on
generated edge cases).
"""

from __future__ import annotations

import math
import string
from collections.abc import Collection

import numpy
from yake.data.utils import get_tag, pre_filter, tokenize_sentences

PUNCTUATION = frozenset(string.punctuation)
WITHOUT_PUNCTUATION = str.maketrans("", "", string.punctuation)
DISCARDED_TAGS = frozenset({"u", "d"})  # digits and odd tokens: never keyphrase words


def yake_scores(
    text: str, stopwords: Collection[str], n: int = 3, window_size: int = 1
) -> dict[str, float]:
    """Every valid candidate's score (lower is better) by its lower-cased text: what
    ``dict(KeywordExtractor(n=n, window_size=window_size, dedup_lim=1.0, top=∞)
    .extract_keywords(text))`` gives."""
    text = text.replace("\n", " ")
    if not text:
        return {}
    sentences = tokenize_sentences(pre_filter(text))
    words = _Words(stopwords)
    phrases = _Phrases()
    for sentence_id, sentence in enumerate(sentences):
        block: list[tuple[str, str, int]] = []
        for position, word in enumerate(sentence):
            if all(c in PUNCTUATION for c in word):
                block = []
                continue
            tag = get_tag(word, position, PUNCTUATION)
            term = words.occurrence(word, tag, sentence_id)
            if tag not in DISCARDED_TAGS:
                for left in block[max(0, len(block) - window_size) :]:
                    if left[0] not in DISCARDED_TAGS:
                        words.follows(left[2], term)
            block.append((tag, word, term))
            phrases.add(block, n)
    word_scores = words.scores(len(sentences))
    return phrases.scores(words, word_scores)


class _Words:
    """Per distinct word (yake's ``SingleWord``): counts and the word-follows-word graph."""

    def __init__(self, stopwords: Collection[str]) -> None:
        self.stopwords = stopwords
        self.ids: dict[str, int] = {}
        self.by_surface: dict[str, int] = {}
        self.stopword: list[bool] = []
        self.tf: list[float] = []
        self.tf_upper: list[float] = []  # as an acronym (tag "a")
        self.tf_name: list[float] = []  # capitalised mid-sentence (tag "n")
        self.sentences: list[list[int]] = []  # distinct sentence numbers, ascending
        self.edges: dict[tuple[int, int], float] = {}
        self.out_degree: list[int] = []
        self.out_weight: list[float] = []
        self.in_degree: list[int] = []
        self.in_weight: list[float] = []

    def occurrence(self, word: str, tag: str, sentence_id: int) -> int:
        term = self._term(word)
        self.tf[term] += 1.0
        if tag == "a":
            self.tf_upper[term] += 1.0
        if tag == "n":
            self.tf_name[term] += 1.0
        seen = self.sentences[term]
        if not seen or seen[-1] != sentence_id:
            seen.append(sentence_id)
        return term

    def _term(self, word: str) -> int:
        """yake's normalisation: lower case, one trailing "s" dropped; whether the word is a
        stop word is decided by its first occurrence."""
        found = self.by_surface.get(word)
        if found is not None:
            return found
        found = self.by_surface[word] = self._new_term(word)
        return found

    def _new_term(self, word: str) -> int:
        unique = word.lower()
        listed = unique in self.stopwords
        if unique.endswith("s") and len(unique) > 3:
            unique = unique[:-1]
        found = self.ids.get(unique)
        if found is not None:
            return found
        bare = unique.translate(WITHOUT_PUNCTUATION)
        term = self.ids[unique] = len(self.ids)
        self.stopword.append(listed or unique in self.stopwords or len(bare) < 3)
        for counts in (self.tf, self.tf_upper, self.tf_name, self.out_weight, self.in_weight):
            counts.append(0.0)
        self.out_degree.append(0)
        self.in_degree.append(0)
        self.sentences.append([])
        return term

    def follows(self, left: int, right: int) -> None:
        edge = (left, right)
        if edge not in self.edges:
            self.edges[edge] = 0.0
            self.out_degree[left] += 1
            self.in_degree[right] += 1
        self.edges[edge] += 1.0
        self.out_weight[left] += 1.0
        self.in_weight[right] += 1.0

    def scores(self, sentence_count: int) -> list[float]:
        """``SingleWord.update_h`` for every word, stop words included (phrases with a stop
        word inside weigh it by the graph, not by this score, but yake computes it)."""
        tfs = zip(self.tf, self.stopword, strict=True)
        content_tfs = numpy.array([tf for tf, stop in tfs if not stop])
        if not content_tfs.size:
            return [0.0] * len(self.tf)
        avg_tf = content_tfs.mean()
        std_tf = content_tfs.std()
        max_tf = max(self.tf)
        scores = []
        for term, tf in enumerate(self.tf):
            out_degree, out_weight = self.out_degree[term], self.out_weight[term]
            in_degree, in_weight = self.in_degree[term], self.in_weight[term]
            pwr = 0 if out_weight == 0 else out_degree / out_weight
            pwl = 0 if in_weight == 0 else in_degree / in_weight
            wrel = (0.5 + (pwl * (tf / max_tf))) + (0.5 + (pwr * (tf / max_tf)))
            wfreq = tf / (avg_tf + std_tf)
            sentences = self.sentences[term]
            wspread = len(sentences) / sentence_count
            wcase = max(self.tf_upper[term], self.tf_name[term]) / (1.0 + math.log(tf))
            wpos = math.log(math.log(3.0 + _median(sentences)))
            scores.append((wpos * wrel) / (wcase + (wfreq / wrel) + (wspread / wrel)))
        return scores


def _median(ascending: list[int]) -> float:
    """numpy.median of a sorted list of ints: the middle one, or the mean of the middle two."""
    middle = len(ascending) // 2
    if len(ascending) % 2:
        return ascending[middle]
    return (ascending[middle - 1] + ascending[middle]) / 2


class _Phrases:
    """Per distinct candidate (yake's ``ComposedWord``): its words, count and tag patterns."""

    def __init__(self) -> None:
        self.terms: dict[str, tuple[int, ...]] = {}
        self.tf: dict[str, float] = {}
        self.clean: set[str] = set()  # some occurrence has no digit or odd token

    def add(self, block: list[tuple[str, str, int]], n: int) -> None:
        """The candidates ending at the block's last word: it alone, then with up to n - 1
        words before it."""
        clean = True
        for size in range(1, min(n, len(block)) + 1):
            tag, word, _ = block[-size]
            clean = clean and tag not in DISCARDED_TAGS
            key = word.lower() if size == 1 else " ".join([w[1] for w in block[-size:]]).lower()
            if key in self.tf:
                self.tf[key] += 1.0
            else:
                self.terms[key] = tuple([w[2] for w in block[-size:]])
                self.tf[key] = 1.0
            if clean:
                self.clean.add(key)

    def scores(self, words: _Words, word_scores: list[float]) -> dict[str, float]:
        """``ComposedWord.update_h`` with yake's "bi" stop-word weight: a stop word inside a
        phrase counts by how often it joins its neighbours."""
        stopword, tf, edges = words.stopword, words.tf, words.edges
        scores: dict[str, float] = {}
        for key, terms in self.terms.items():
            if key not in self.clean or stopword[terms[0]] or stopword[terms[-1]]:
                continue
            sum_h = 0.0
            prod_h = 1.0
            for t, term in enumerate(terms):
                if not stopword[term]:
                    sum_h += word_scores[term]
                    prod_h *= word_scores[term]
                    continue
                before = edges.get((terms[t - 1], term)) if t > 0 else None
                prob_t1 = 0.0 if before is None else before / tf[terms[t - 1]]
                after = edges.get((term, terms[t + 1])) if t < len(terms) - 1 else None
                prob_t2 = 0.0 if after is None else after / tf[terms[t + 1]]
                prob = prob_t1 * prob_t2
                prod_h *= 1 + (1 - prob)
                sum_h -= 1 - prob
            scores[key] = prod_h / ((sum_h + 1) * self.tf[key])
        return scores
