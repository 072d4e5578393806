"""Text copied from the Hugging Face Daily Papers page: title, abstract, author count, date.

The copy has no markup, so blocks are found from their one reliable line, ``• N authors``, and
read backwards (abstract, then title) and forwards (``·`` and the date). Whatever is left
between blocks is either page chrome (silently dropped) or a broken block (warned about).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from digest.diagnostics import warn_at
from digest.model import PaperDate, Record, Source
from digest.sources.dates import parse_date
from digest.sources.textfile import read_text

_AUTHORS = re.compile(r"[ \t]*•[ \t]*(\d{1,6})[ \t]+authors?[ \t]*")
_SNIFF = re.compile(r"^[ \t]*•[ \t]*\d{1,6}[ \t]+authors?[ \t]*\n[ \t]*·", re.MULTILINE)
_CHROME = frozenset(
    {
        "new",
        "get trending papers in your email inbox!",
        "subscribe",
        "daily papers",
        "byak and the research community",
    }
)


@dataclass(frozen=True)
class _Paragraph:
    """Consecutive non-blank lines; ``line`` is the 1-based number of the first."""

    line: int
    lines: tuple[str, ...]
    display: str

    @property
    def source(self) -> Source:
        return Source(self.display, self.line)

    @property
    def text(self) -> str:
        return " ".join(part.strip() for part in self.lines)

    @property
    def is_chrome(self) -> bool:
        """Page furniture, including the listing's own date ("Dec 11") above the first paper."""
        return all(_is_chrome_line(line) for line in self.lines)


def sniff(path: Path, head: str) -> bool:
    return _SNIFF.search(head) is not None


def read(path: Path, display: str) -> Iterator[Record]:
    text = read_text(path, display)
    if text is not None:
        yield from _records(text.split("\n"), display)


def _records(lines: list[str], display: str) -> Iterator[Record]:
    start = 0
    for index in range(len(lines)):
        match = _AUTHORS.fullmatch(lines[index])
        if index < start or match is None:
            continue
        trailer_end = _paragraph_end(lines, index)
        record = _block(
            _paragraphs(lines, start, index, display),
            author_count=int(match[1]),
            trailer=lines[index + 1 : trailer_end],
            trailer_source=Source(display, index + 2),
        )
        if record is not None:
            yield record
        start = trailer_end
    _warn_unclaimed(_paragraphs(lines, start, len(lines), display))


def _block(
    paragraphs: list[_Paragraph], author_count: int, trailer: list[str], trailer_source: Source
) -> Record | None:
    """One paper from the paragraphs above its authors line and the lines just below it."""
    _warn_unclaimed(paragraphs[:-2])
    if len(paragraphs) < 2:
        where = paragraphs[0].source if paragraphs else trailer_source
        warn_at(where, "broken Daily Papers block (needs a title and an abstract); skipped")
        return None
    title, abstract = paragraphs[-2:]
    return Record(
        abstract=abstract.text,
        source=title.source,
        title=title.text,
        author_count=author_count,
        date=_trailer_date(trailer, trailer_source),
    )


def _warn_unclaimed(paragraphs: list[_Paragraph]) -> None:
    """Text that belongs to no block is most likely a block that lost its authors line."""
    if paragraphs:
        message = "broken Daily Papers block (no '• N authors' line); skipped"
        warn_at(paragraphs[0].source, message)


def _trailer_date(trailer: list[str], source: Source) -> PaperDate | None:
    text = " ".join(" ".join(trailer).split()).removeprefix("·").strip()
    if not text:
        warn_at(source, "Daily Papers block has no date")
        return None
    date = parse_date(text)
    if date is None:
        warn_at(source, f"unreadable date {text!r}; date ignored")
    return date


def _paragraphs(lines: list[str], start: int, end: int, display: str) -> list[_Paragraph]:
    """The non-chrome paragraphs in ``lines[start:end]``, each tagged with its file position."""
    found: list[_Paragraph] = []
    index = start
    while index < end:
        if not lines[index].strip():
            index += 1
            continue
        stop = min(_paragraph_end(lines, index), end)
        paragraph = _Paragraph(index + 1, tuple(lines[index:stop]), display)
        if not paragraph.is_chrome:
            found.append(paragraph)
        index = stop
    return found


def _paragraph_end(lines: list[str], index: int) -> int:
    """Index of the first blank line at or after ``index`` (or the end)."""
    while index < len(lines) and lines[index].strip():
        index += 1
    return index


def _is_chrome_line(line: str) -> bool:
    text = line.strip()
    return text.lower() in _CHROME or (len(text) <= 20 and parse_date(text) is not None)
