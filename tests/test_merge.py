import re
from dataclasses import replace

from digest.merge import derived_id, merge_records, normalise_abstract, safe_id
from digest.model import PaperDate, Record, Source
from digest.sources import load_records
from tests.conftest import SEEDS


def _record(abstract: str, file: str = "a.txt", line: int = 1, **fields: object) -> Record:
    return Record(abstract=abstract, source=Source(file, line), **fields)


def test_seeds_merge_to_77_papers_from_88_records() -> None:
    records = load_records([SEEDS])
    papers = merge_records(records)
    assert len(records) == 88
    assert len(papers) == 77
    assert sum(len(p.sources) for p in papers) == 88
    assert sum(1 for p in papers if len(p.sources) > 1) >= 1


def test_normalising_ignores_case_whitespace_and_punctuation() -> None:
    assert normalise_abstract("Deep  Learning, works!") == normalise_abstract("deep learning works")
    assert normalise_abstract("Graph nets") != normalise_abstract("Graph nets too")


def test_ascii_text_normalises_as_the_unicode_rule_says() -> None:
    """Plain-ASCII abstracts take a faster path; it must agree on every ASCII character."""
    every_char = "".join(f"a{chr(c)}B" for c in range(128)) + " x_1\x1f\x0bY "
    by_rule = " ".join(re.sub(r"[^\w\s]+", " ", every_char.casefold()).split())
    assert normalise_abstract(every_char) == by_rule
    assert normalise_abstract(every_char + "é") == by_rule + " é"


def test_equal_abstracts_become_one_paper_listing_every_source() -> None:
    papers = merge_records(
        [
            _record("We study graphs.", "a.txt", 3),
            _record("Other text entirely.", "a.txt", 4),
            _record("we study   GRAPHS", "b.md", 1, title="Graphs", date=PaperDate(2023, 5, 1)),
        ]
    )
    assert len(papers) == 2
    merged = papers[0]
    assert [str(s) for s in merged.sources] == ["a.txt:3", "b.md:1"]
    assert merged.title == "Graphs" and not merged.title_derived
    assert merged.date == PaperDate(2023, 5, 1)


def test_ids_are_the_input_id_or_stable_hash_of_the_abstract() -> None:
    given, derived = merge_records(
        [_record("One abstract.", id="2503.00001"), _record("Another abstract.")]
    )
    assert given.id == "2503.00001"
    assert derived.id == derived_id("Another abstract.") == derived_id("another ABSTRACT")
    assert len(derived.id) == 12


def test_unsafe_input_ids_become_file_names_and_collisions_get_suffixes() -> None:
    assert safe_id("hep-th/9901001") == "hep-th-9901001"
    a, b = merge_records([_record("First.", id="x"), _record("Second.", id="x")])
    assert (a.id, b.id) == ("x", "x-2")


def test_untitled_papers_get_derived_titles() -> None:
    (paper,) = merge_records([_record("We propose Deep Graph Kernels (DGK) for molecules.")])
    assert paper.title_derived
    assert paper.title == "Deep Graph Kernels (DGK)"


def test_a_paper_from_one_record_is_as_if_merged_with_a_copy_of_it() -> None:
    """A lone record takes a shorter path than a group; it must give the same paper."""
    date = PaperDate(2024, 5, None)
    records = [
        _record("An abstract.", id="hep-th/9901001", title="  A title ", authors=("A", "B")),
        _record("An abstract.", id="///", title="   ", author_count=0, tags=("x", "y", "x")),
        _record("An abstract.", url="", abstract_html="", date=date, author_count=3),
        _record("An abstract.", id="", title=None, url="https://example.org/1"),
    ]
    for record in records:
        (alone,) = merge_records([record])
        (merged,) = merge_records([record, record])
        assert alone == replace(merged, sources=(record.source,))
