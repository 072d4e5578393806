"""One date parser for every input format, so a date means the same thing wherever it is read."""

from __future__ import annotations

import calendar
import re
from datetime import date

from digest.model import MONTH_NAMES, PaperDate

_MONTHS = {
    **{name.lower(): number for number, name in enumerate(MONTH_NAMES, 1)},
    **{name[:3].lower(): number for number, name in enumerate(MONTH_NAMES, 1)},
    "sept": 9,
}

# Anything after the day (a time, a zone) is dropped: a paper's date is a day, not an instant.
_ISO = re.compile(r"(\d{4})(?:[-/](\d{1,2})(?:[-/](\d{1,2})(?:[T ].*)?)?)?")
_MONTH_DAY_YEAR = re.compile(r"([A-Za-z]+)\.?\s+(\d{1,2})(?:(?:,\s*|\s+)(\d{4}))?")
_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})\s+([A-Za-z]+)\.?(?:,?\s+(\d{4}))?")
_MONTH_YEAR = re.compile(r"([A-Za-z]+)\.?,?\s+(\d{4})")


def parse_date(value: str | int | date) -> PaperDate | None:
    """Read a full or partial date; ``None`` when it is not a real date.

    A date written without a year ("Feb 21") keeps its year missing: guessing one would silently
    misplace the paper in every date-sorted list.
    """
    if isinstance(value, date):
        return PaperDate(value.year, value.month, value.day)
    if isinstance(value, int):
        return _checked(value, None, None)
    return _parse_text(" ".join(value.split()))


def _parse_text(text: str) -> PaperDate | None:
    if match := _ISO.fullmatch(text):
        year, month, day = (int(part) if part else None for part in match.groups())
        return _checked(year, month, day)
    if match := _MONTH_YEAR.fullmatch(text):
        return _named(match[1], year=match[2])
    if match := _MONTH_DAY_YEAR.fullmatch(text):
        return _named(match[1], day=match[2], year=match[3])
    if match := _DAY_MONTH_YEAR.fullmatch(text):
        return _named(match[2], day=match[1], year=match[3])
    return None


def _named(month_name: str, day: str | None = None, year: str | None = None) -> PaperDate | None:
    month = _MONTHS.get(month_name.lower())
    if month is None:
        return None
    return _checked(int(year) if year else None, month, int(day) if day else None)


def _checked(year: int | None, month: int | None, day: int | None) -> PaperDate | None:
    """Reject impossible dates (Feb 30); without a year, Feb 29 is allowed since it may be real."""
    if year is not None and not 1 <= year <= 9999:
        return None
    if month is not None and not 1 <= month <= 12:
        return None
    if day is None:
        return PaperDate(year, month, None)
    if month is None or not 1 <= day <= calendar.monthrange(year or 2000, month)[1]:
        return None
    return PaperDate(year, month, day)
