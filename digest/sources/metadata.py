"""Optional paper fields from a key/value mapping (a JSON object or markdown front matter).

Both formats are written by hand or by scripts of varying care, so one field with the wrong type
costs only that field, with a warning, never the paper.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any
from urllib.parse import urlparse

from digest.diagnostics import warn_at
from digest.model import PaperDate, Source
from digest.sources.dates import parse_date

_AUTHOR_SEPARATORS = re.compile(r"\s*(?:[,;&]|\band\b)\s*")


class UnusableValue(ValueError):
    """A field value that cannot be used; the message says what was expected."""


def text_value(value: object) -> str | None:
    """Whitespace-collapsed text; a bare number is accepted since YAML reads ``title: 1984`` so."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise UnusableValue(f"should be text, not {_kind(value)}")
    return " ".join(str(value).split()) or None


def names_value(value: object) -> tuple[str, ...]:
    """Authors as a list, or as one string like "A, B and C"."""
    if isinstance(value, str):
        return tuple(name for name in _AUTHOR_SEPARATORS.split(value.strip()) if name)
    return _string_list(value, "a list of names or one string of names")


def words_value(value: object) -> tuple[str, ...]:
    """Tags as a list, or one string split on commas if it has any, else on spaces."""
    if isinstance(value, str):
        parts = value.split(",") if "," in value else value.split()
        return _unique(part.strip() for part in parts)
    return _unique(_string_list(value, "a list of tags or one string of tags"))


def date_value(value: object) -> PaperDate:
    if isinstance(value, bool) or not isinstance(value, str | int | date):
        raise UnusableValue(f"should be a date, not {_kind(value)}")
    parsed = parse_date(value)
    if parsed is None:
        raise UnusableValue(f"is not a readable date: {_shown(value)}")
    return parsed


def url_value(value: object) -> str | None:
    """Only http(s) links: a ``javascript:`` URL from an input file would end up in an href."""
    text = text_value(value)
    if text is None:
        return None
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise UnusableValue(f"is not an http(s) URL: {_shown(value)}")
    return text


_FIELDS: tuple[tuple[str, Callable[[object], Any]], ...] = (
    ("id", text_value),
    ("title", text_value),
    ("authors", names_value),
    ("date", date_value),
    ("url", url_value),
)


def record_fields(data: Mapping[str, Any], source: Source) -> dict[str, Any]:
    """Keyword arguments for ``Record`` from the known keys; unknown keys are ignored silently.

    arXiv calls tags ``categories`` and blog front matter often has both, so both become tags.
    """
    fields: dict[str, Any] = {}
    for key, convert in _FIELDS:
        if value := _converted(data, key, convert, source):
            fields[key] = value
    categories = _converted(data, "categories", words_value, source) or ()
    tags = _converted(data, "tags", words_value, source) or ()
    if all_tags := _unique((*categories, *tags)):
        fields["tags"] = all_tags
    if authors := fields.get("authors"):
        fields["author_count"] = len(authors)
    return fields


def _converted(
    data: Mapping[str, Any], key: str, convert: Callable[[object], Any], source: Source
) -> Any:
    """A JSON ``null`` or an empty YAML key means "not given", so it is skipped without a word."""
    if data.get(key) is None:
        return None
    try:
        return convert(data[key])
    except UnusableValue as problem:
        warn_at(source, f"field '{key}' {problem}; field ignored")
        return None


def _string_list(value: object, expected: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise UnusableValue(f"should be {expected}, not {_kind(value)}")
    items = [item.strip() for item in value if isinstance(item, str)]
    if len(items) != len(value):
        raise UnusableValue(f"should be {expected}; the list holds non-text items")
    return tuple(filter(None, items))


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(filter(None, items)))


_KINDS = {list: "a list", dict: "a mapping", bool: "true/false", int: "a number", float: "a number"}


def _kind(value: object) -> str:
    return _KINDS.get(type(value), type(value).__name__)


def _shown(value: object) -> str:
    text = repr(value) if not isinstance(value, date) else value.isoformat()
    return text if len(text) <= 60 else text[:57] + "..."
