"""Warnings as counted log records, so ``--strict`` is a counter check, never an exception path."""

from __future__ import annotations

import logging

from digest.model import Source

log = logging.getLogger("digest")


def warn_at(where: Source | str, message: str) -> None:
    """One line naming the file and line: the only way bad input is reported."""
    log.warning("%s: %s", where, message)


def warned_at(warning: logging.LogRecord) -> Source | None:
    """The file and line a ``warn_at`` warning names, if it named one."""
    args = warning.args
    return args[0] if isinstance(args, tuple) and args and isinstance(args[0], Source) else None


class CapturedRecords(logging.Handler):
    """Keeps the records it sees, to be handled again later: by the next build that reuses an
    input file's records, or by the build process for a forked child's."""

    def __init__(self, level: int = logging.WARNING) -> None:
        super().__init__(level=level)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class WarningCounter(logging.Handler):
    """Counts warnings and errors seen during one build (mkdocs' strict-mode pattern)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.lines: list[tuple[int, str]] = []  # (level, message), to repeat them later

    @property
    def count(self) -> int:
        return len(self.lines)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.levelno, record.getMessage()))
