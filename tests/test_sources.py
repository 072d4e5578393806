"""Reading inputs: the real seed files, and generated bad input that must warn, never raise."""

from __future__ import annotations

import gzip
import json
import logging
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from digest.model import PaperDate, Record
from digest.sources import load_records
from digest.sources.dates import parse_date

SEEDS = Path(__file__).parent.parent / "seeds"
DAILY = "seeds/002_7ee76e2b3f3ef4ab.txt"
PLAIN = [
    "seeds/000_dbbf9264ffb9b8f8.txt",
    "seeds/001_f226d2ab07393558.txt",
    "seeds/003_e5ba666f4ce3f3d9.txt",
    "seeds/004_07c1469059367f67.txt",
]
CHROME = {
    "new",
    "Get trending papers in your email inbox!",
    "Subscribe",
    "Daily Papers",
    "byAK and the research community",
    "Dec 11",
}


@pytest.fixture(autouse=True)
def _capture_warnings(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="digest")


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def _write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _load(root: Path, **kwargs: int) -> list[Record]:
    return load_records([root], **kwargs)


# --- the real seeds ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_records() -> list[Record]:
    return load_records([SEEDS])


def test_seeds_give_88_records_without_warnings(caplog: pytest.LogCaptureFixture) -> None:
    assert len(load_records([SEEDS])) == 88
    assert _warnings(caplog) == []


def test_plain_seed_files_give_one_record_per_line(seed_records: list[Record]) -> None:
    for name in PLAIN:
        records = [r for r in seed_records if r.source.file == name]
        assert [r.source.line for r in records] == list(range(1, 12))
        assert all(r.title is None and r.abstract == r.abstract.strip() for r in records)


def test_daily_papers_seed_gives_44_complete_records(seed_records: list[Record]) -> None:
    records = [r for r in seed_records if r.source.file == DAILY]
    assert len(records) == 44
    assert all(r.title and r.abstract and r.author_count and r.date for r in records)
    assert all(len(r.abstract) > len(r.title or "") for r in records)


def test_daily_papers_first_record(seed_records: list[Record]) -> None:
    first = next(r for r in seed_records if r.source.file == DAILY)
    assert first.title == (
        "Relational Deep Learning: Graph Representation Learning on Relational Databases"
    )
    assert first.source.line == 13
    assert first.abstract.startswith("Much of the world's most valued data is stored")
    assert first.author_count == 9
    assert first.date == PaperDate(2023, 12, 7)


def test_daily_papers_date_without_year_keeps_year_missing(seed_records: list[Record]) -> None:
    by_title = {r.title: r for r in seed_records if r.source.file == DAILY}
    frechet = next(t for t in by_title if t and t.startswith("Fréchet Cumulative Covariance"))
    assert by_title[frechet].date == PaperDate(None, 2, 21)
    yearless = [r for r in by_title.values() if r.date and r.date.year is None]
    assert len(yearless) == 3


def test_daily_papers_chrome_never_becomes_a_record(seed_records: list[Record]) -> None:
    texts = {r.abstract for r in seed_records} | {r.title for r in seed_records}
    assert not texts & CHROME
    assert all("•" not in text and text != "·" for text in texts if text)


def test_records_come_in_file_then_line_order(seed_records: list[Record]) -> None:
    assert [r.source for r in seed_records] == sorted(r.source for r in seed_records)
    assert seed_records[0].source.file == "seeds/000_dbbf9264ffb9b8f8.txt"
    assert load_records([SEEDS]) == seed_records


# --- walking ---------------------------------------------------------------------------------


def test_missing_root_warns_and_other_roots_are_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _write(tmp_path / "papers", "a.txt", "An abstract.\n")
    records = load_records([tmp_path / "nope", tmp_path / "papers"])
    assert [r.abstract for r in records] == ["An abstract."]
    assert _warnings(caplog) == [f"{tmp_path / 'nope'}: source folder not found"]


def test_walk_is_sorted_recursive_and_skips_hidden_files(tmp_path: Path) -> None:
    root = tmp_path / "papers"
    _write(root, "b.txt", "Second.\n")
    _write(root, "a/z.txt", "First.\n")
    _write(root, ".hidden.txt", "Hidden file.\n")
    _write(root, ".git/x.txt", "Hidden folder.\n")
    _write(root, "digest.toml", 'title = "Not a paper"\n')
    records = _load(root)
    assert [(r.source.file, r.abstract) for r in records] == [
        ("papers/a/z.txt", "First."),
        ("papers/b.txt", "Second."),
    ]


def test_a_root_may_be_a_single_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "one.txt", "\nOnly abstract.\n")
    assert [str(r.source) for r in load_records([path])] == ["one.txt:2"]


# --- bad files -------------------------------------------------------------------------------


def test_empty_file_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _write(tmp_path / "in", "empty.txt", "")
    _write(tmp_path / "in", "blank.txt", "\n  \n")
    assert _load(tmp_path / "in") == []
    assert _warnings(caplog) == ["in/blank.txt:1: empty file", "in/empty.txt:1: empty file"]


def test_binary_file_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _write(tmp_path / "in", "image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert _load(tmp_path / "in") == []
    assert _warnings(caplog) == ["in/image.png:1: binary file, skipped"]


def test_non_utf8_line_in_plain_file_is_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _write(tmp_path / "in", "latin.txt", "Good one.\nCaf\xe9 bad.\nGood two.\n".encode("latin-1"))
    assert [r.abstract for r in _load(tmp_path / "in")] == ["Good one.", "Good two."]
    assert _warnings(caplog) == [
        "in/latin.txt:2: not valid UTF-8 (byte 0xe9 at column 4); line skipped"
    ]


def test_non_utf8_markdown_file_is_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _write(tmp_path / "in", "p.md", "---\ntitle: T\n---\n\nGood.\nCaf\xe9.\n".encode("latin-1"))
    assert _load(tmp_path / "in") == []
    assert _warnings(caplog) == ["in/p.md:6: not valid UTF-8 (byte 0xe9 at column 4); file skipped"]


def test_unreadable_file_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = _write(tmp_path / "in", "locked.txt", "Secret.\n")
    _write(tmp_path / "in", "open.txt", "Open.\n")
    real_open = Path.open

    def guarded_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", guarded_open)
    assert [r.abstract for r in _load(tmp_path / "in")] == ["Open."]
    assert _warnings(caplog) == ["in/locked.txt:1: cannot read file: Permission denied"]


def test_gzip_too_short_to_read_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    whole = gzip.compress(b'{"abstract": "A."}\n' * 200)
    _write(tmp_path / "in", "cut.jsonl.gz", whole[: len(whole) // 2])
    assert _load(tmp_path / "in") == []
    [message] = _warnings(caplog)
    assert message.startswith("in/cut.jsonl.gz:1: cannot read file: Compressed file ended")


def test_gzip_cut_short_keeps_the_records_before_the_cut(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines = "".join(
        json.dumps({"abstract": f"Paper {i} " + "word " * i}) + "\n" for i in range(800)
    )
    whole = gzip.compress(lines.encode())
    _write(tmp_path / "in", "cut.jsonl.gz", whole[: len(whole) // 2])
    records = _load(tmp_path / "in")
    assert 100 < len(records) < 800
    assert [r.source.line for r in records] == list(range(1, len(records) + 1))
    [message] = _warnings(caplog)
    assert message.startswith(f"in/cut.jsonl.gz:{len(records)}: cannot read past this point:")
    assert message.endswith("; rest of file skipped")


def test_long_abstract_is_truncated_at_a_word(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    words = " ".join(f"word{i:06d}" for i in range(20_000))  # 220 KB
    _write(tmp_path / "in", "long.txt", words + "\n")
    [record] = _load(tmp_path / "in", max_abstract_chars=20_000)
    assert len(record.abstract) <= 20_000
    assert record.abstract.endswith("…")
    assert record.abstract[:-1] == words[: len(record.abstract) - 1]
    assert words[len(record.abstract) - 1] == " "
    assert _warnings(caplog) == [
        f"in/long.txt:1: abstract is {len(words)} characters; truncated to {len(record.abstract)}"
    ]


# --- JSON Lines ------------------------------------------------------------------------------


def _jsonl(*lines: object) -> str:
    return "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)


def test_jsonl_bad_lines_warn_and_good_lines_are_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    content = _jsonl(
        {"id": "2401.00001", "title": "First", "abstract": "One.", "date": "2024-01-02"},
        "this is not json",
        "",
        {"title": "No abstract"},
        ["a", "list"],
        {"abstract": "   "},
        {"abstract": "Two.", "authors": "Ann Lee, Bo Chan and Cy Dee", "categories": "cs.CL cs.AI"},
    )
    _write(tmp_path / "in", "papers.jsonl", content)
    records = _load(tmp_path / "in")
    assert [(r.abstract, r.source.line) for r in records] == [("One.", 1), ("Two.", 7)]
    assert records[0].id == "2401.00001" and records[0].date == PaperDate(2024, 1, 2)
    assert records[1].authors == ("Ann Lee", "Bo Chan", "Cy Dee")
    assert records[1].author_count == 3
    assert records[1].tags == ("cs.CL", "cs.AI")
    assert _warnings(caplog) == [
        "in/papers.jsonl:2: not valid JSON (Expecting value at column 1); line skipped",
        "in/papers.jsonl:4: no 'abstract' text; line skipped",
        "in/papers.jsonl:5: expected a JSON object, got an array; line skipped",
        "in/papers.jsonl:6: no 'abstract' text; line skipped",
    ]


def test_jsonl_unpaired_surrogate_is_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    content = '{"abstract": "Cut emoji \\ud83d"}\n{"abstract": "Whole emoji \\ud83d\\ude00"}\n'
    _write(tmp_path / "in", "p.jsonl", content)
    assert [r.abstract for r in _load(tmp_path / "in")] == ["Whole emoji \U0001f600"]
    assert _warnings(caplog) == [
        "in/p.jsonl:1: text holds an unpaired UTF-16 surrogate (a cut emoji?); line skipped"
    ]


def test_jsonl_wrong_typed_fields_are_dropped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = {
        "abstract": "Kept.",
        "title": ["not", "text"],
        "authors": ["Ann", 3],
        "date": "Feb 30, 2023",
        "url": "javascript:alert(1)",
        "categories": ["cs.LG"],
        "unknown": {"ignored": True},
    }
    _write(tmp_path / "in", "p.jsonl", _jsonl(bad))
    [record] = _load(tmp_path / "in")
    assert (record.abstract, record.title, record.authors, record.date, record.url) == (
        "Kept.",
        None,
        (),
        None,
        None,
    )
    assert record.tags == ("cs.LG",)
    assert _warnings(caplog) == [
        "in/p.jsonl:1: field 'title' should be text, not a list; field ignored",
        "in/p.jsonl:1: field 'authors' should be a list of names or one string of names; "
        "the list holds non-text items; field ignored",
        "in/p.jsonl:1: field 'date' is not a readable date: 'Feb 30, 2023'; field ignored",
        "in/p.jsonl:1: field 'url' is not an http(s) URL: 'javascript:alert(1)'; field ignored",
    ]


def test_gzipped_jsonl_is_read(tmp_path: Path) -> None:
    content = _jsonl({"abstract": "Zipped.", "authors": ["A B"], "url": "https://arxiv.org/x"})
    _write(tmp_path / "in", "papers.jsonl.gz", gzip.compress(content.encode()))
    [record] = _load(tmp_path / "in")
    assert (record.abstract, record.authors, record.url) == (
        "Zipped.",
        ("A B",),
        "https://arxiv.org/x",
    )


def test_gzip_is_found_by_magic_bytes_not_name(tmp_path: Path) -> None:
    _write(tmp_path / "in", "papers.dat", gzip.compress(b"Plain inside gzip.\n"))
    assert [r.abstract for r in _load(tmp_path / "in")] == ["Plain inside gzip."]


# --- markdown --------------------------------------------------------------------------------

BODY = "This **bold** claim has a [link](https://example.org)\nand `code`.\n\nSecond paragraph.\n"


def test_markdown_with_yaml_front_matter(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    front = (
        "---\ntitle: A Paper\nauthors: [Ann Lee, Bo Chan]\ndate: 2023-12-07\n"
        "tags: nlp, graphs\nurl: https://example.org/p\nlayout: post\n---\n"
    )
    _write(tmp_path / "in", "paper.md", front + BODY)
    [record] = _load(tmp_path / "in")
    assert record.title == "A Paper"
    assert record.authors == ("Ann Lee", "Bo Chan")
    assert record.date == PaperDate(2023, 12, 7)
    assert record.tags == ("nlp", "graphs")
    assert record.url == "https://example.org/p"
    assert record.source.line == 1
    assert record.abstract == "This bold claim has a link and code. Second paragraph."
    assert "<strong>bold</strong>" in (record.abstract_html or "")
    assert _warnings(caplog) == []


def test_markdown_with_toml_front_matter(tmp_path: Path) -> None:
    front = '+++\ntitle = "T"\nauthors = "Ann and Bo"\ndate = 2021-03-02\ntags = ["x"]\n+++\n'
    _write(tmp_path / "in", "paper.txt", front + BODY)
    [record] = _load(tmp_path / "in")
    assert (record.title, record.authors, record.date, record.tags) == (
        "T",
        ("Ann", "Bo"),
        PaperDate(2021, 3, 2),
        ("x",),
    )
    assert record.abstract.startswith("This bold claim")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "---\ntitle: A\nauthors: [unclosed\n---\nBody.\n",
            "in/bad.md:3: invalid YAML front matter: expected ',' or ']', but got '<stream end>';"
            " file skipped",
        ),
        (
            "---\ntitle: A\nBody with no closing line.\n",
            "in/bad.md:1: front matter opened with '---' is never closed; file skipped",
        ),
        (
            "---\n- just\n- a list\n---\nBody.\n",
            "in/bad.md:1: front matter is a list, not keys and values; file skipped",
        ),
        (
            '+++\ntitle = "A"\ndate = nonsense\n+++\nBody.\n',
            "in/bad.md:3: invalid TOML front matter: Invalid value; file skipped",
        ),
    ],
)
def test_broken_front_matter_warns_and_skips_the_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: str, expected: str
) -> None:
    _write(tmp_path / "in", "bad.md", content)
    _write(tmp_path / "in", "good.txt", "Still read.\n")
    assert [r.abstract for r in _load(tmp_path / "in")] == ["Still read."]
    assert _warnings(caplog) == [expected]


def test_markdown_raw_html_is_escaped(tmp_path: Path) -> None:
    body = "Intro.\n\n<script>alert(1)</script>\n\nText <img src=x onerror=alert(2)> here.\n"
    _write(tmp_path / "in", "x.md", "---\ntitle: X\n---\n" + body)
    [record] = _load(tmp_path / "in")
    assert "<script" not in (record.abstract_html or "")
    assert "<img" not in (record.abstract_html or "")
    assert "&lt;script&gt;" in (record.abstract_html or "")


def test_markdown_without_front_matter_is_all_body(tmp_path: Path) -> None:
    _write(tmp_path / "in", "notes.md", "# Heading\n\nJust *text*.\n")
    [record] = _load(tmp_path / "in")
    assert (record.title, record.abstract) == (None, "Heading Just text.")


def test_markdown_with_empty_body_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _write(tmp_path / "in", "empty.md", "---\ntitle: Only a title\n---\n\n")
    assert _load(tmp_path / "in") == []
    assert _warnings(caplog) == ["in/empty.md:1: empty abstract, skipped"]


def test_truncated_markdown_loses_formatting_but_stays_escaped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _write(tmp_path / "in", "long.md", "---\ntitle: L\n---\n" + "<b>tag</b> **x** " * 200)
    [record] = _load(tmp_path / "in", max_abstract_chars=1000)
    assert len(record.abstract) <= 1000
    assert record.abstract_html is not None and "<b>" not in record.abstract_html
    assert record.abstract_html.startswith("<p>&lt;b&gt;tag")
    assert len(_warnings(caplog)) == 1


# --- detection by content --------------------------------------------------------------------


def test_jsonl_named_txt_is_read_as_jsonl(tmp_path: Path) -> None:
    _write(tmp_path / "in", "export.txt", _jsonl({"abstract": "From JSON.", "title": "J"}))
    [record] = _load(tmp_path / "in")
    assert (record.abstract, record.title) == ("From JSON.", "J")


def test_daily_papers_named_dat_is_read_as_daily_papers(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    shutil.copy(SEEDS / "002_7ee76e2b3f3ef4ab.txt", tmp_path / "in" / "dump.dat")
    records = _load(tmp_path / "in")
    assert len(records) == 44
    assert records[0].title is not None and records[0].title.startswith("Relational Deep")


def test_windows_line_ends_and_byte_order_mark_are_understood(tmp_path: Path) -> None:
    dump = (SEEDS / "002_7ee76e2b3f3ef4ab.txt").read_text(encoding="utf-8")
    _write(tmp_path / "in", "a_dump.txt", dump.replace("\n", "\r\n").encode())
    _write(tmp_path / "in", "b.md", "\ufeff---\r\ntitle: T\r\n---\r\nBody.\r\n".encode())
    _write(tmp_path / "in", "c.txt", "\ufeffPlain.\r\n".encode())
    records = _load(tmp_path / "in")
    assert len(records) == 46
    assert records[0].title is not None and not records[0].title.endswith("\r")
    assert records[0].date == PaperDate(2023, 12, 7)
    assert [(r.title, r.abstract) for r in records[-2:]] == [("T", "Body."), (None, "Plain.")]


def test_broken_daily_papers_block_warns_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    block = "{title}\n\n{title} abstract text.\n\n  • {n} author{s}\n·\n{date}\n\n"
    good = block.format(title="Good", n=1, s="", date="Dec 7, 2023")
    lost = "Lost title\n\nLost abstract without an authors line.\n\n"
    late = block.format(title="Late", n=4, s="s", date="Feb 30")
    _write(tmp_path / "in", "dump.dat", "Daily Papers\n\nDec 11\n\n" + good + lost + late)
    records = _load(tmp_path / "in")
    assert [(r.title, r.author_count, r.date) for r in records] == [
        ("Good", 1, PaperDate(2023, 12, 7)),
        ("Late", 4, None),
    ]
    assert _warnings(caplog) == [
        "in/dump.dat:13: broken Daily Papers block (no '• N authors' line); skipped",
        "in/dump.dat:22: unreadable date 'Feb 30'; date ignored",
    ]


# --- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-12-07", PaperDate(2023, 12, 7)),
        ("2023-12-07T10:00:00Z", PaperDate(2023, 12, 7)),
        ("2023-12", PaperDate(2023, 12, None)),
        ("2023", PaperDate(2023, None, None)),
        ("Dec 7, 2023", PaperDate(2023, 12, 7)),
        ("December 7, 2023", PaperDate(2023, 12, 7)),
        ("7 Dec 2023", PaperDate(2023, 12, 7)),
        ("Dec 2023", PaperDate(2023, 12, None)),
        ("Feb 21", PaperDate(None, 2, 21)),
        ("Feb 29", PaperDate(None, 2, 29)),
        (date(2020, 5, 1), PaperDate(2020, 5, 1)),
        ("Feb 30", None),
        ("Feb 29, 2023", None),
        ("2023-13-01", None),
        ("Smarch 3, 2023", None),
        ("yesterday", None),
    ],
)
def test_parse_date(text: str | date, expected: PaperDate | None) -> None:
    assert parse_date(text) == expected
