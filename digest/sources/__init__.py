"""Every input file, whatever its format, read into ``Record``s: the pipeline's only raw input.

Bad input is reported (one warning line naming file and line) and skipped, never raised: one
broken file among thousands must not stop a build.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from digest.diagnostics import warn_at
from digest.model import Record, Source
from digest.sources import daily_papers, jsonl, markdown, plain
from digest.sources.textfile import HEAD_BYTES, READ_ERRORS, read_head

__all__ = ["FORMATS", "FileReader", "Format", "load_records", "read_file"]

SKIPPED_NAMES = frozenset({"digest.toml"})
UTF8_BOM = b"\xef\xbb\xbf"
_LAST_SPACE = re.compile(r"\s\S*\Z")


class Format(Protocol):
    """A format module: ``sniff`` looks at the decoded head of a file, ``read`` reads it all."""

    def sniff(self, path: Path, head: str) -> bool: ...

    def read(self, path: Path, display: str) -> Iterator[Record]: ...


FileReader = Callable[[Path, str], list[Record]]

# Detected by content, most specific first; plain text accepts anything, so it comes last.
FORMATS: tuple[Format, ...] = (markdown, jsonl, daily_papers, plain)


def load_records(
    roots: Sequence[Path], max_abstract_chars: int = 20_000, reader: FileReader | None = None
) -> list[Record]:
    """All records under ``roots`` in a fixed order (root, relative path, line) for stable output.

    A root may be a folder (walked recursively, hidden entries skipped) or a single file.
    ``reader`` replaces ``read_file``: ``digest serve`` passes one that skips unchanged files.
    """
    records: list[Record] = []
    for root in roots:
        for path, display in _input_files(Path(root)):
            for record in (reader or read_file)(path, display):
                if (checked := _checked(record, max_abstract_chars)) is not None:
                    records.append(checked)
    return records


def _input_files(root: Path) -> Iterator[tuple[Path, str]]:
    """``(path, display path)`` pairs; display paths start at the root's name, as users see it."""
    if root.is_file():
        yield root, root.name
        return
    if not root.is_dir():
        warn_at(str(root), "source folder not found")
        return
    name = root.name or root.resolve().name
    for relative in _walk(root, name):
        yield root / relative, f"{name}/{relative}"


def _walk(root: Path, name: str) -> list[str]:
    """Relative posix paths, sorted as strings so every machine reads files in the same order."""

    def unlistable(err: OSError) -> None:
        where = Path(os.path.relpath(err.filename or root, root)).as_posix()
        warn_at(f"{name}/{where}", f"cannot list folder: {_reason(err)}")

    found: list[str] = []
    for folder, folders, files in os.walk(root, onerror=unlistable):
        folders[:] = [entry for entry in folders if not entry.startswith(".")]
        for entry in files:
            path = Path(folder, entry)
            if entry.startswith(".") or entry in SKIPPED_NAMES or not path.is_file():
                continue
            found.append(path.relative_to(root).as_posix())
    return sorted(found)


def read_file(path: Path, display: str, memo: jsonl.LineMemo | None = None) -> list[Record]:
    """``memo`` lets a JSON Lines file reuse the records of its unchanged lines."""
    start = Source(display, 1)
    try:
        head = read_head(path)
    except READ_ERRORS as err:
        warn_at(start, f"cannot read file: {_reason(err)}")
        return []
    if b"\0" in head:
        warn_at(start, "binary file, skipped")
        return []
    if not head.removeprefix(UTF8_BOM).strip() and len(head) < HEAD_BYTES:
        warn_at(start, "empty file")
        return []
    # Replacement characters are harmless for sniffing; the readers decode strictly.
    text = head.decode("utf-8", errors="replace").replace("\r\n", "\n")
    reader = next(candidate for candidate in FORMATS if candidate.sniff(path, text))
    records: list[Record] = []
    try:
        records.extend(
            jsonl.read(path, display, memo) if reader is jsonl else reader.read(path, display)
        )
    except READ_ERRORS as err:
        where = records[-1].source if records else start
        warn_at(where, f"cannot read past this point: {_reason(err)}; rest of file skipped")
    return records


def _checked(record: Record, limit: int) -> Record | None:
    """The abstract limit keeps one runaway record (a whole paper pasted in) from bloating pages."""
    abstract = record.abstract.strip()
    if not abstract:
        warn_at(record.source, "empty abstract, skipped")
        return None
    if len(abstract) <= limit:
        return record if abstract == record.abstract else replace(record, abstract=abstract)
    short = truncate_at_word(abstract, limit)
    warn_at(record.source, f"abstract is {len(abstract)} characters; truncated to {len(short)}")
    # Cutting rendered HTML could leave tags open, so a cut abstract loses its formatting.
    rendered = f"<p>{html.escape(short)}</p>\n" if record.abstract_html is not None else None
    return replace(record, abstract=short, abstract_html=rendered)


def truncate_at_word(text: str, limit: int) -> str:
    """At most ``limit`` characters, ending in "…" after a whole word (unless one word is huge)."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    if not text[len(cut)].isspace() and (space := _LAST_SPACE.search(cut)) is not None:
        cut = cut[: space.start()]
    return cut.rstrip() + "…"


def _reason(err: BaseException) -> str:
    reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
    return " ".join(reason.split()) or type(err).__name__
