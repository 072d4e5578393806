"""Plain text: one abstract per non-blank line, the fallback when no other format claims a file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from digest.model import Record, Source
from digest.sources.textfile import iter_lines


def sniff(path: Path, head: str) -> bool:
    """Always true: it is tried last, and any text file can be read as lines."""
    return True


def read(path: Path, display: str) -> Iterator[Record]:
    for number, line in iter_lines(path, display):
        if abstract := line.strip():
            yield Record(abstract=abstract, source=Source(display, number))
