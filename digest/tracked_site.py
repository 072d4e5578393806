"""The templates' ``site`` mapping, noting what each page reads of it, as precisely as is cheap.

Every page's footer shows how many themes there are; if that read counted as "depends on every
theme", one paper changing theme would re-render every page. So a sequence read only for its
length depends on the length, and a mapping read by key depends on that entry alone. Any other
use (iterating, indexing, comparing) depends on the whole value.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

# (site key, "all" | "len" | "item", entry key for "item" else "")
Dep = tuple[str, str, str]


class TrackedSite(dict[str, Any]):
    """Between ``start_page`` and ``end_page``, every read is noted as a ``Dep``."""

    _reads: set[Dep] | None = None
    _wrapped: dict[str, Any] | None = None

    def start_page(self) -> None:
        self._reads = set()

    def end_page(self) -> tuple[Dep, ...]:
        reads, self._reads = self._reads or set(), None
        return tuple(sorted(reads))

    def note(self, key: str, kind: str = "all", entry: str = "") -> None:
        if self._reads is not None:
            self._reads.add((key, kind, entry))

    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key)
        if isinstance(value, (tuple, list)):
            return self._wrap(key, value, _TrackedSequence)
        if isinstance(value, Mapping):
            return self._wrap(key, value, _TrackedMapping)
        self.note(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if super().__contains__(key) else default

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.note(key)
        return super().__contains__(key)

    def __iter__(self) -> Iterator[str]:
        keys = list(super().__iter__())
        for key in keys:
            self.note(key)
        return iter(keys)

    def keys(self) -> Any:
        list(iter(self))
        return super().keys()

    def values(self) -> Any:
        return [self[key] for key in self]

    def items(self) -> Any:
        return [(key, self[key]) for key in self]

    def _wrap(self, key: str, value: Any, kind: type) -> Any:
        if self._wrapped is None:
            self._wrapped = {}
        wrapped = self._wrapped.get(key)
        if wrapped is None:
            wrapped = self._wrapped[key] = kind(self, key, value)
        return wrapped


class _TrackedSequence(Sequence[Any]):
    def __init__(self, site: TrackedSite, key: str, value: Sequence[Any]) -> None:
        self._site, self._key, self._value = site, key, value

    def __len__(self) -> int:
        self._site.note(self._key, "len")
        return len(self._value)

    def __getitem__(self, index: Any) -> Any:
        self._site.note(self._key)
        return self._value[index]

    def __iter__(self) -> Iterator[Any]:
        self._site.note(self._key)
        return iter(self._value)

    def __contains__(self, item: object) -> bool:
        self._site.note(self._key)
        return item in self._value

    def __eq__(self, other: object) -> bool:
        self._site.note(self._key)
        return self._value == (other._value if isinstance(other, _TrackedSequence) else other)

    __hash__ = None  # type: ignore[assignment]

    def __add__(self, other: Any) -> Any:
        self._site.note(self._key)
        return self._value + other

    def __radd__(self, other: Any) -> Any:
        self._site.note(self._key)
        return other + self._value

    def __repr__(self) -> str:
        self._site.note(self._key)
        return repr(self._value)


class _TrackedMapping(Mapping[Any, Any]):
    def __init__(self, site: TrackedSite, key: str, value: Mapping[Any, Any]) -> None:
        self._site, self._key, self._value = site, key, value

    def _note_entry(self, entry: object) -> None:
        if isinstance(entry, str):
            self._site.note(self._key, "item", entry)
        else:
            self._site.note(self._key)

    def __getitem__(self, entry: Any) -> Any:
        self._note_entry(entry)
        return self._value[entry]

    def get(self, entry: Any, default: Any = None) -> Any:
        self._note_entry(entry)
        return self._value.get(entry, default)

    def __contains__(self, entry: object) -> bool:
        self._note_entry(entry)
        return entry in self._value

    def __len__(self) -> int:
        self._site.note(self._key, "len")
        return len(self._value)

    def __iter__(self) -> Iterator[Any]:
        self._site.note(self._key)
        return iter(self._value)

    def __eq__(self, other: object) -> bool:
        self._site.note(self._key)
        return self._value == (other._value if isinstance(other, _TrackedMapping) else other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        self._site.note(self._key)
        return repr(self._value)


def dep_value(site: Mapping[str, Any], dep: Dep, missing: object) -> object:
    """The part of ``site`` a dependency covers, to be digested."""
    key, kind, entry = dep
    value = dict.get(site, key, missing) if isinstance(site, dict) else site.get(key, missing)
    if value is missing:
        return ("missing",)
    if kind == "len":
        return ("len", len(value))  # type: ignore[arg-type]
    if kind == "item":
        found = value.get(entry, missing) if isinstance(value, Mapping) else missing
        return ("item", entry, ("missing",) if found is missing else found)
    return value
