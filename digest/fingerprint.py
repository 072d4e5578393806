"""Stable digests of build inputs, so a rebuild can tell "same as last time" without rendering.

A digest must change whenever the value could render differently, and should stay the same
when it cannot. Values are hashed by structure (dataclass fields, containers, text); a type
whose state is unknown hashes with its identity, so it never falsely matches a previous build.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import sys
from collections.abc import Iterable, Mapping
from decimal import Decimal
from functools import cache
from importlib import metadata
from pathlib import Path, PurePath
from typing import Any

_PACKAGE = Path(__file__).resolve().parent
_REPR_TYPES = (int, float, complex, type(None), Decimal, dt.date, dt.time, dt.timedelta)


class Fingerprinter:
    """Digests of values for one build; frozen dataclasses are hashed once each.

    The memo keeps every hashed object alive, so an ``id()`` can never be reused by another
    object during the build.
    """

    def __init__(self) -> None:
        self._memo: dict[int, tuple[object, bytes]] = {}

    def digest(self, value: object) -> bytes:
        hasher = hashlib.sha256()
        self._feed(hasher, value)
        return hasher.digest()

    def _feed(self, hasher: Any, value: object) -> None:
        hit = self._memo.get(id(value))  # a dataclass already hashed: most, on a rebuild
        if hit is not None:
            hasher.update(b"D" + hit[1])
            return
        kind = type(value)
        if kind is str:
            data = value.encode("utf-8", "surrogatepass")  # type: ignore[union-attr]
            hasher.update(b"s%d:" % len(data) + data)
        elif _dataclass_fields(kind) is not None:
            hasher.update(b"D" + self._dataclass_digest(value))
        elif kind is tuple or kind is list:
            self._feed_sequence(hasher, value)  # type: ignore[arg-type]
        else:
            self._feed_other(hasher, value, kind)

    def _feed_sequence(self, hasher: Any, value: tuple | list) -> None:
        if not value or (type(value[0]) is str and all(type(item) is str for item in value)):
            text = repr(tuple(value)).encode("utf-8", "surrogatepass")
            hasher.update(b"T%d:" % len(text) + text)
            return
        hasher.update(b"L%d:" % len(value))
        for item in value:
            self._feed(hasher, item)

    def _feed_other(self, hasher: Any, value: object, kind: type) -> None:
        if isinstance(value, str):
            data = value.encode("utf-8", "surrogatepass")
            hasher.update(b"s" + kind.__qualname__.encode() + b"%d:" % len(data) + data)
        elif kind is bool:
            hasher.update(b"b1" if value else b"b0")
        elif isinstance(value, _REPR_TYPES):
            hasher.update(f"{kind.__qualname__}:{value!r};".encode())
        elif isinstance(value, (tuple, list)):
            self._feed_sequence(hasher, value)
        elif isinstance(value, Mapping):
            hasher.update(b"M%d:" % len(value))
            for key, item in value.items():
                self._feed(hasher, key)
                self._feed(hasher, item)
        elif isinstance(value, (set, frozenset)):
            hasher.update(b"S" + b"".join(sorted(self.digest(item) for item in value)))
        elif isinstance(value, bytes):
            hasher.update(b"y%d:" % len(value) + value)
        elif isinstance(value, (PurePath, enum.Enum)):
            hasher.update(f"{kind.__qualname__}:{value!r};".encode())
        else:
            hasher.update(f"?{kind.__qualname__}:{id(value)}:{id(self)};".encode())

    def _dataclass_digest(self, value: object) -> bytes:
        hit = self._memo.get(id(value))
        if hit is not None:
            return hit[1]
        names, frozen, by_repr = _dataclass_fields(type(value))  # type: ignore[misc]
        if by_repr:
            result = hashlib.sha256(b"R" + repr(value).encode("utf-8", "surrogatepass")).digest()
        else:
            hasher = hashlib.sha256(type(value).__qualname__.encode())
            for name, tag in names:
                hasher.update(tag)
                self._feed(hasher, getattr(value, name))
            result = hasher.digest()
        if frozen:
            self._memo[id(value)] = (value, result)
        return result


def hashed_by_repr(value: object) -> bool:
    """Whether ``repr(value)`` shows all it holds: text, a number, ``None``, a tuple of texts
    or a frozen dataclass that says so (``FINGERPRINT_BY_REPR``)."""
    kind = type(value)
    if kind in (str, int, bool) or value is None:
        return True
    if kind is tuple:
        return all(type(item) is str for item in value)  # type: ignore[attr-defined]
    fields = _dataclass_fields(kind)
    return fields is not None and fields[2]


DataclassFields = tuple[tuple[tuple[str, bytes], ...], bool, bool]


@cache
def _dataclass_fields(kind: type) -> DataclassFields | None:
    """For a dataclass type, its fields (with their tags, ``name=``), whether it is frozen
    (only frozen values are memoised, a mutable one may change between two digests) and
    whether it is hashed by its ``repr``: a type may say so with ``FINGERPRINT_BY_REPR`` when
    its fields only ever hold text, numbers, ``None``, tuples and such types, whose reprs show
    all they hold (a third of the time, for the ~60,000 values a 10,000-paper rebuild checks).
    ``None`` for any other type, a class included (a class is not an instance, whatever its
    metaclass says)."""
    if not hasattr(kind, "__dataclass_fields__") or issubclass(kind, type):
        return None
    names = tuple((f.name, f.name.encode() + b"=") for f in dataclasses.fields(kind))
    frozen = kind.__dataclass_params__.frozen  # type: ignore[attr-defined]
    return names, frozen, frozen and getattr(kind, "FINGERPRINT_BY_REPR", False) is True


@cache
def code_fingerprint() -> str:
    """Everything that renders but is not data: digest's own code and Jinja's version."""
    jinja = metadata.version("jinja2")  # not jinja2.__version__: a no-change build never imports it
    hasher = hashlib.sha256(f"{sys.version_info[:2]}|jinja2 {jinja}".encode())
    for path in sorted(_PACKAGE.rglob("*.py")):
        hasher.update(path.relative_to(_PACKAGE).as_posix().encode() + b"\0")
        hasher.update(path.read_bytes())
    return hasher.hexdigest()


def folder_fingerprint(folders: Iterable[Path]) -> str:
    """Names and bytes of every file under ``folders``, in order (an override folder comes
    first, so moving a template between folders changes the digest)."""
    hasher = hashlib.sha256()
    for folder in folders:
        hasher.update(b"F" + str(folder).encode() + b"\0")
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                hasher.update(path.relative_to(folder).as_posix().encode() + b"\0")
                try:
                    hasher.update(hashlib.sha256(path.read_bytes()).digest())
                except OSError:
                    hasher.update(b"unreadable")
    return hasher.hexdigest()
