"""Warnings as counted log records, so ``--strict`` is a counter check, never an exception path."""

from __future__ import annotations

import logging

from digest.model import Source

log = logging.getLogger("digest")


def warn_at(where: Source | str, message: str) -> None:
    """One line naming the file and line: the only way bad input is reported."""
    log.warning("%s: %s", where, message)


class WarningCounter(logging.Handler):
    """Counts warnings and errors seen during one build (mkdocs' strict-mode pattern)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.count = 0
        self.lines: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        self.lines.append((record.levelno, record.getMessage()))
