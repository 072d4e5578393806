"""The plain, frozen data that flows one way through the pipeline.

Stages never mutate these; they return new ones (``dataclasses.replace``), so any stage can be
cached, parallelised or re-run in isolation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from digest.charts import ThemeCharts, Timeline
    from digest.theme_map import ThemeMap

MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True, order=True)
class Source:
    """Where a record was read: a display path (``<source dir name>/<relative path>``) and line."""

    FINGERPRINT_BY_REPR: ClassVar[bool] = True  # see digest.fingerprint

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class PaperDate:
    """A full or partial date. A missing year is kept missing, never guessed."""

    FINGERPRINT_BY_REPR: ClassVar[bool] = True  # see digest.fingerprint

    year: int | None = None
    month: int | None = None
    day: int | None = None

    @property
    def is_full(self) -> bool:
        return None not in (self.year, self.month, self.day)

    @property
    def iso(self) -> str:
        """ISO 8601 text; a date without a year uses the ISO ``--MM-DD`` form."""
        if self.year is None:
            return f"--{self.month:02d}-{self.day:02d}" if self.day else f"--{self.month:02d}"
        parts = [f"{self.year:04d}"]
        if self.month:
            parts.append(f"{self.month:02d}")
            if self.day:
                parts.append(f"{self.day:02d}")
        return "-".join(parts)

    @property
    def display(self) -> str:
        month = MONTH_NAMES[self.month - 1][:3] if self.month else ""
        if self.year is None:
            return f"{month} {self.day}" if self.day else month
        if not self.month:
            return str(self.year)
        if not self.day:
            return f"{month} {self.year}"
        return f"{month} {self.day}, {self.year}"

    @property
    def sort_key(self) -> tuple[int, int, int]:
        return (self.year or 0, self.month or 0, self.day or 0)


@dataclass(frozen=True)
class Record:
    """What one input file said about one paper, before duplicates are merged."""

    FINGERPRINT_BY_REPR: ClassVar[bool] = True  # see digest.fingerprint

    abstract: str
    source: Source
    id: str | None = None
    title: str | None = None
    authors: tuple[str, ...] = ()
    author_count: int | None = None
    date: PaperDate | None = None
    url: str | None = None
    tags: tuple[str, ...] = ()
    abstract_html: str | None = None


@dataclass(frozen=True)
class Paper:
    """One distinct paper; ``keyphrases`` and ``theme`` are filled in by later stages."""

    FINGERPRINT_BY_REPR: ClassVar[bool] = True  # see digest.fingerprint

    id: str
    title: str
    title_derived: bool
    abstract: str
    sources: tuple[Source, ...]
    abstract_html: str | None = None
    authors: tuple[str, ...] = ()
    author_count: int | None = None
    date: PaperDate | None = None
    url: str | None = None
    tags: tuple[str, ...] = ()
    keyphrases: tuple[str, ...] = ()
    theme: str | None = None


_PAPER_FIELDS = frozenset(Paper.__dataclass_fields__)


def amended(paper: Paper, **changes: object) -> Paper:
    """``dataclasses.replace`` for a paper, a quarter of its cost: the stages after merging
    make a new paper per paper (tens of thousands per build), and ``Paper`` has no
    ``__post_init__`` or non-init fields for ``replace``'s checks to honour."""
    if not changes.keys() <= _PAPER_FIELDS:
        raise TypeError(f"Paper has no field {sorted(changes.keys() - _PAPER_FIELDS)[0]!r}")
    new = object.__new__(Paper)
    fields = new.__dict__
    fields.update(paper.__dict__)
    fields.update(changes)
    return new


@dataclass(frozen=True)
class Theme:
    FINGERPRINT_BY_REPR: ClassVar[bool] = True  # see digest.fingerprint
    slug: str
    name: str
    keyphrases: tuple[str, ...]
    paper_ids: tuple[str, ...]
    # The name's leading phrase, the slug's words: what a list shows beside each paper. The
    # trailing phrases shift with small edits; pages naming the theme in passing should not.
    short_name: str


@dataclass(frozen=True)
class Keyphrase:
    """A keyphrase that earned a page: used by two or more papers."""

    FINGERPRINT_BY_REPR: ClassVar[bool] = True  # see digest.fingerprint

    slug: str
    text: str
    paper_ids: tuple[str, ...]


@dataclass(frozen=True)
class Digest:
    """Everything the templates need, computed once; templates compute nothing."""

    papers: tuple[Paper, ...]
    themes: tuple[Theme, ...]
    keyphrases: tuple[Keyphrase, ...]
    related: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    record_count: int = 0
    theme_map: ThemeMap | None = None
    timeline: Timeline | None = None  # None only for a hand-made Digest
    theme_charts: Mapping[str, ThemeCharts] = field(default_factory=dict)

    def paper(self, paper_id: str) -> Paper:
        return self._by_id[paper_id]

    def find_paper(self, paper_id: str) -> Paper | None:
        return self._by_id.get(paper_id)

    @property
    def _by_id(self) -> dict[str, Paper]:
        cached = self.__dict__.get("_by_id_cache")
        if cached is None:
            cached = {p.id: p for p in self.papers}
            object.__setattr__(self, "_by_id_cache", cached)
        return cached
