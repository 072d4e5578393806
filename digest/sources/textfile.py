"""Opening input files the same way for every format: gzip by magic bytes, strict UTF-8.

Undecodable bytes are never replaced: a record with mojibake would be indexed and published
as if it were right. Line-oriented formats drop only the bad line (each line is independent);
whole-file formats drop the file, since a bad byte may sit inside any of its records.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from digest.diagnostics import warn_at
from digest.model import Source

HEAD_BYTES = 8192
GZIP_MAGIC = b"\x1f\x8b"
BOM = "\ufeff"

# What reading a file can raise: a permission or disk problem, or a corrupt or cut-short gzip.
READ_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, zlib.error)


@contextmanager
def open_binary(path: Path) -> Iterator[io.BufferedIOBase]:
    """Yield the file's bytes, decompressed when it is gzip whatever its name says."""
    with path.open("rb") as raw:
        if raw.read(2) == GZIP_MAGIC:
            raw.seek(0)
            with gzip.GzipFile(fileobj=raw) as unzipped:
                yield unzipped
        else:
            raw.seek(0)
            yield raw


def read_head(path: Path) -> bytes:
    with open_binary(path) as stream:
        return stream.read(HEAD_BYTES)


def name_suffix(path: Path) -> str:
    """The suffix that says what the file holds, looking through a trailing ``.gz``."""
    name = path.name.lower().removesuffix(".gz")
    return Path(name).suffix


def read_text(path: Path, display: str) -> str | None:
    """The whole file as text with ``\\n`` line ends, or ``None`` (and a warning) if not UTF-8."""
    with open_binary(path) as stream:
        data = stream.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line_start = data.rfind(b"\n", 0, err.start) + 1
        line = data.count(b"\n", 0, err.start) + 1
        warn_at(Source(display, line), _not_utf8(err, err.start - line_start, "file"))
        return None
    return text.removeprefix(BOM).replace("\r\n", "\n").replace("\r", "\n")


def iter_lines(path: Path, display: str) -> Iterator[tuple[int, str]]:
    """Stream ``(line number, text)`` so a large JSON Lines file is never held in memory whole."""
    with open_binary(path) as stream:
        for number, raw in enumerate(stream, 1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                warn_at(Source(display, number), _not_utf8(err, err.start, "line"))
                continue
            if number == 1:
                text = text.removeprefix(BOM)
            yield number, text.rstrip("\r\n")


def _not_utf8(err: UnicodeDecodeError, column: int, unit: str) -> str:
    byte = err.object[err.start]
    return f"not valid UTF-8 (byte 0x{byte:02x} at column {column + 1}); {unit} skipped"
