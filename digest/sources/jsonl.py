"""JSON Lines (the arXiv metadata dumps): one paper object per line, possibly gzipped."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from digest.diagnostics import warn_at
from digest.model import Record, Source
from digest.sources.metadata import record_fields
from digest.sources.textfile import iter_lines, name_suffix

SUFFIXES = (".jsonl", ".ndjson")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_JSON_KINDS = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
}


def sniff(path: Path, head: str) -> bool:
    """By name, or by the first non-blank line opening an object (a ``.txt`` export is common)."""
    if name_suffix(path) in SUFFIXES:
        return True
    first = next((line for line in head.splitlines() if line.strip()), "")
    return first.lstrip().startswith("{")


@dataclass
class LineMemo:
    """The records the last read of a file parsed, by (line number, text), and those of this
    read: ``digest serve`` re-reads a changed 10,000-line file in a fraction of the time when
    one line changed. Lines that gave a warning are never remembered (their warning must
    come again)."""

    previous: dict[tuple[int, str], Record] = field(default_factory=dict)
    current: dict[tuple[int, str], Record] = field(default_factory=dict)


def read(path: Path, display: str, memo: LineMemo | None = None) -> Iterator[Record]:
    """Each line stands alone, so one bad line costs that paper only."""
    for number, line in iter_lines(path, display):
        if not line.strip():
            continue
        known = memo.previous.get((number, line)) if memo is not None else None
        if known is None:
            source = Source(display, number)
            data = _object(line, source)
            if data is None or (known := _record(data, source)) is None:
                continue
        if memo is not None:
            memo.current[(number, line)] = known
        yield known


def _object(line: str, source: Source) -> dict[str, Any] | None:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as err:
        warn_at(source, f"not valid JSON ({err.msg} at column {err.colno}); line skipped")
        return None
    except RecursionError:
        warn_at(source, "JSON nested too deeply; line skipped")
        return None
    if _SURROGATE_ESCAPE.search(line) and not _encodable(data):
        warn_at(source, "text holds an unpaired UTF-16 surrogate (a cut emoji?); line skipped")
        return None
    if not isinstance(data, dict):
        kind = _JSON_KINDS.get(type(data), "null")
        warn_at(source, f"expected a JSON object, got {kind}; line skipped")
        return None
    return data


def _record(data: dict[str, Any], source: Source) -> Record | None:
    abstract = data.get("abstract")
    if not isinstance(abstract, str) or not abstract.strip():
        warn_at(source, "no 'abstract' text; line skipped")
        return None
    return Record(abstract=abstract.strip(), source=source, **record_fields(data, source))


def _encodable(data: object) -> bool:
    """A lone ``\\ud83d`` is valid JSON but not text: it would crash writing the site as UTF-8."""
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
