"""Skipping the render of pages whose inputs did not change since the last successful build.

A page's fingerprint covers exactly what it can show: the code, templates and config, its
template name and path, the context passed to it (or what the context is computed from, when
the page says: see ``render.PlannedPage``), and the value of every ``site`` key its last render
read (noted by a tracking mapping). Same fingerprint, same bytes: the page's previous
file is reused after its bytes are checked against the hash recorded when it was rendered.
This holds while templates, filters and globals read nothing but those (no files, no clock).

A page can also name its sources, the values its key is made of (``render.PlannedPage``). The
stored records keep each page's source numbers and every source's and site entry's digest at
the last build, so a rebuild checks only the pages one of whose sources or site entries changed
(at 10,000 papers, 14 of 16,559 after one edit) and keeps the rest without computing their
keys.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple, overload

import numpy as np

from digest.config import Config
from digest.fingerprint import Fingerprinter
from digest.model import Digest
from digest.output import Page
from digest.page_maker import ABSENT, PageMaker, PageRecord, Rendered, entry_text
from digest.page_pool import POOL_THRESHOLD, render_in_workers
from digest.parallel import worker_count
from digest.render import PlannedPage, page_renderer, source_values
from digest.tracked_site import Dep, TrackedSite

CHECKS_PER_REPORT = 500  # pages checked between two progress reports


@dataclass
class PageMemo:
    """Page records of the last successful build into one output folder; new ones wait in
    ``pending`` until the build's files are swapped in (a failed build changes nothing)."""

    out: Path | None = None
    records: dict[str, PageRecord] = field(default_factory=dict)
    pending: dict[str, PageRecord] = field(default_factory=dict)
    rendered: int = 0
    kept: int = 0
    maker: PageMaker = field(default_factory=lambda: PageMaker(None, b""))
    # The last stored form and the records it holds: a record still in ``records`` (the same
    # object) keeps its stored bytes, so saving after an edit encodes only the new records.
    _stored: StoredRecords | None = field(default=None, repr=False)
    _stored_records: dict[str, PageRecord] = field(default_factory=dict, repr=False)
    # This build's: source numbers of the pages checked or rendered, the numbering (the stored
    # one extended), and how to digest a source or a site entry as the build sees it.
    _page_sources: dict[str, bytes] = field(default_factory=dict, repr=False)
    _source_numbers: dict[str, int] = field(default_factory=dict, repr=False)
    _source_digests: dict[str, bytes] = field(default_factory=dict, repr=False)
    _dep_table: list[str] | None = field(default=None, repr=False)
    _digests_now: BuildDigests | None = field(default=None, repr=False)
    _unchanged_names: set[str] | None = field(default=None, repr=False)

    def begin(self, out: Path, base: str, fingerprinter: Fingerprinter) -> None:
        """Start a build into ``out``; ``base`` digests code and templates. Kept pages are read
        back unless the build says the folder can be trusted (``trust``)."""
        if self.out != out:
            self.records = {}
            self._stored, self._stored_records = None, {}
        self.out = out
        self.pending = {}
        self.rendered = self.kept = 0
        self.maker = PageMaker(out, base.encode(), fingerprinter)
        self._page_sources, self._source_digests = {}, {}
        stored = _names(self._stored.sources) if self._stored is not None else []
        self._source_numbers = {name: n for n, name in enumerate(stored)}
        self._dep_table, self._digests_now, self._unchanged_names = None, None, None

    def trust(self, trusted: bool) -> None:
        """Whether the folder is as the last build left it, so that kept pages need not be
        read back (see ``up_to_date.output_intact``)."""
        self.maker.trusted = trusted

    @property
    def trusted(self) -> bool:
        return self.maker.trusted

    @property
    def tells_sources(self) -> bool:
        """Whether this build's page check compared sources with the last build's."""
        return self._unchanged_names is not None

    def source_unchanged(self, name: str) -> bool:
        """Whether the source ``name`` (see ``render.source_values``) has the value the last
        build stored, as this build's page check found; false where it could not tell."""
        return self._unchanged_names is not None and name in self._unchanged_names

    def digest_ahead(self, values: Iterable[object]) -> None:
        """Digests ``values`` (the papers) into this build's memo now, where the page check
        would otherwise digest them first: on a rebuild, this process is waiting for the map
        here (0.2 s at 10,000 papers)."""
        digest = self.maker.fingerprinter.digest
        for value in values:
            digest(value)

    def commit(self) -> bool:
        """The build's files are in place: its records become the ones to compare with.
        Returns whether they differ from the previous ones (worth saving)."""
        changed = self.pending != self.records
        self.records = self.pending
        self.pending = {}
        return changed

    def render_pages(
        self,
        planned: Iterable[PlannedPage],
        count: int,
        env: Any,
        site: dict[str, Any],
        digest: Digest,
        config: Config,
        checking: Callable[[int, int], None] | None = None,
    ) -> Iterator[Page]:
        """The pages in order, each kept or rendered; ``count`` of them decides whether worker
        processes are worth starting."""
        tracked = TrackedSite(site)
        render = page_renderer(env, tracked)
        self._digests_now = BuildDigests(source_values(digest, site), tracked)

        def here(page: PlannedPage, previous: PageRecord | None) -> Rendered:
            return self.maker.make(page.job(), previous, tracked, render)

        jobs = ((page, self.records.get(page.path)) for page in planned)
        if count >= POOL_THRESHOLD and worker_count(config.workers) > 1:
            made = self._made(self._checks(jobs, count, tracked, checking), here, digest, config)
        else:
            made = (here(page, previous) for page, previous in self._noting_sources(jobs))
        for done in made:
            self.pending[done.page.path] = done.record
            if done.kept:
                self.kept += 1
            else:
                self.rendered += 1
            yield done.page

    def _checks(
        self,
        jobs: Iterable[tuple[PlannedPage, PageRecord | None]],
        count: int,
        site: TrackedSite,
        checking: Callable[[int, int], None] | None,
    ) -> list[tuple[PlannedPage, PageRecord | None, bool]]:
        """Each job with whether its page is unchanged, found in this process: each worker is
        sent the whole digest, so starting them took longer than checking a 10,000-paper
        site's 17,000 pages here. ``checking`` hears how many of the ``count`` jobs are
        checked (~15 s at 100,000 papers)."""
        checked: list[tuple[PlannedPage, PageRecord | None, bool]] = []
        stored = self._stored_dep_digests(site)
        unchanged = self._unchanged_by_sources()
        for page, previous in jobs:
            if previous is not None and unchanged is not None and unchanged(page.path, previous):
                checked.append((page, previous, True))
            else:
                self._note_sources(page)
                joined = None
                if stored is not None and previous is not None:
                    joined = stored(page.path, previous)
                fresh = self.maker.fresh(page.job(), previous, site, joined)
                checked.append((page, previous, fresh))
            if checking is not None and len(checked) % CHECKS_PER_REPORT == 0:
                checking(len(checked), count)
        if checking is not None:
            checking(len(checked), count)
        return checked

    def _stored_dep_digests(
        self, site: TrackedSite
    ) -> Callable[[str, PageRecord], bytes | None] | None:
        """For records loaded from their stored form: their dependencies' digests, joined, by
        dependency number. Looking ~500,000 dependencies up by value (a tuple, hashed anew at
        each lookup) was a third of the check of a 10,000-paper site."""
        base = self._stored
        if base is None:
            return None
        state = partial(_dep_state, site, self.maker.site_digest)
        self._dep_table = [state(dep) for dep in base.deps]
        table: list[bytes | None] = [None] * len(base.deps)

        def digested(n: int) -> bytes:
            found = table[n] = self.maker.site_digest(site, base.deps[n])
            return found

        def joined(path: str, record: PageRecord) -> bytes | None:
            if self._stored_records.get(path) is not record:
                return None
            return b"".join([table[n] or digested(n) for n in array("I", base.pages[path][0])])

        return joined

    def _unchanged_by_sources(self) -> Callable[[str, PageRecord], bool] | None:
        """Whether a page's stored record stands because none of its sources and site
        entries changed since the last build (which recorded them with the same code,
        templates and config): ``None`` when the stored form cannot tell."""
        base, table, now = self._stored, self._dep_table, self._digests_now
        if base is None or table is None or now is None or base.base != self.maker.base:
            return None
        if base.dep_states is None:
            return None
        if "\0".join(table) == base.dep_states:  # most rebuilds
            changed_deps = []
        else:
            old = base.dep_states.split("\0")
            if len(old) != len(table):
                return None
            changed_deps = [n for n, (a, b) in enumerate(zip(table, old, strict=True)) if a != b]
        names = _names(base.sources)
        digests = self._source_digests_of(names)
        if len(digests) != len(base.source_digests):
            return None
        rows = (len(names), SOURCE_DIGEST_BYTES // 8)
        differ = np.frombuffer(digests, np.uint64).reshape(rows) != np.frombuffer(
            base.source_digests, np.uint64
        ).reshape(rows)
        changed_sources = np.flatnonzero(differ.any(axis=1)).tolist()
        self._unchanged_names = set(names).difference(names[n] for n in changed_sources)
        sourced = [(path, entry) for path, entry in base.pages.items() if entry[3]]
        stale = _touching(sourced, 0, changed_deps) | _touching(sourced, 3, changed_sources)
        skippable = {path for path, _ in sourced} - stale

        def unchanged(path: str, record: PageRecord) -> bool:
            return path in skippable and self._stored_records.get(path) is record

        return unchanged

    def _source_digest(self, name: str) -> bytes:
        found = self._source_digests.get(name)
        if found is None:
            assert self._digests_now is not None
            value = self._digests_now.value(name)
            digest = self.maker.fingerprinter.digest(value)[:SOURCE_DIGEST_BYTES]
            found = self._source_digests[name] = digest
        return found

    def _note_sources(self, page: PlannedPage) -> None:
        if page.sources is None:
            return
        numbers = self._source_numbers
        names = page.sources()
        self._page_sources[page.path] = array(
            "I", [numbers.setdefault(name, len(numbers)) for name in names]
        ).tobytes()

    def _noting_sources(
        self, jobs: Iterable[tuple[PlannedPage, PageRecord | None]]
    ) -> Iterator[tuple[PlannedPage, PageRecord | None]]:
        for page, previous in jobs:
            self._note_sources(page)
            yield page, previous

    def _made(
        self,
        checked: list[tuple[PlannedPage, PageRecord | None, bool]],
        here: Callable[[PlannedPage, PageRecord | None], Rendered],
        digest: Digest,
        config: Config,
    ) -> Iterator[Rendered]:
        """The checked pages in order: the unchanged kept, the others rendered, in workers
        only when enough are left to render."""
        stale = [(page, previous) for page, previous, unchanged in checked if not unchanged]
        rendered: Generator[Rendered, None, None]
        if len(stale) >= POOL_THRESHOLD:
            rendered = render_in_workers(stale, here, digest, config, self.maker)
        else:
            rendered = (here(page, previous) for page, previous in stale)
        try:
            for page, previous, unchanged in checked:
                if not unchanged:
                    yield next(rendered)
                    continue
                kept = self.maker.kept(page.path, previous) if previous is not None else None
                yield kept or here(page, None)
        finally:
            rendered.close()

    def recorded(self, path: str, fingerprint: str) -> PageRecord | None:
        """For a file made by code rather than a template (a search shard): the last build's
        record of ``path`` if ``fingerprint``, a digest of everything that makes the file, is
        the one recorded then."""
        previous = self.records.get(path)
        full = self._full_fingerprint(fingerprint)
        if previous is not None and not previous.deps and previous.fingerprint == full:
            return previous
        return None

    def keep(self, path: str, record: PageRecord) -> Page | None:
        """The last build's file at ``path``, if it still holds the bytes of ``record`` (read
        even when trusted: the caller measures it)."""
        kept = self.maker.keep(path, record)
        if kept is not None:
            self.pending[path] = record
        return kept

    def made(self, path: str, fingerprint: str, content: bytes) -> Page:
        """A file made by code in this build, recorded for the next."""
        sha = hashlib.sha256(content).hexdigest()
        self.pending[path] = PageRecord((), self._full_fingerprint(fingerprint), sha)
        return Page(path, content)

    def _full_fingerprint(self, fingerprint: str) -> str:
        return hashlib.sha256(self.maker.base + b"\0" + fingerprint.encode()).hexdigest()

    def stored(self) -> StoredRecords:
        """The records in a compact, quick-to-load form: 100,000 pages' records are read and
        written on every build, and pages share most of their ~30 dependencies, so each
        distinct one is kept once and pages list them by number (at 10,000 papers: load
        0.5-0.7 s, against 1.85 s as JSON). Records unchanged since the last stored form keep
        their bytes and numbers, new dependencies are numbered after the old ones, and the
        table is renumbered from scratch once it has doubled (it keeps numbers no page uses
        any more). Sources are numbered the same way; each dependency and source is stored
        with its digest in this build. Kept in the cache under ``STORED_VERSION``, so an older
        form is never read."""
        old = self._stored
        base = old if old is not None and len(old.deps) <= 2 * old.fresh else None
        if base is not None and len(self._source_numbers) > 2 * max(base.fresh_sources, 1):
            base = None
        numbers: dict[Dep, int] = {dep: n for n, dep in enumerate(base.deps)} if base else {}
        sources: dict[str, int] = self._source_numbers if base else {}
        names = list(self._source_numbers)
        pages: dict[str, tuple[bytes, bytes, bytes, bytes]] = {}
        for path, record in self.records.items():
            same = old is not None and self._stored_records.get(path) is record
            if base is not None and same:
                pages[path] = base.pages[path]
                continue
            deps = array("I", (numbers.setdefault(dep, len(numbers)) for dep in record.deps))
            hashes = bytes.fromhex(record.fingerprint), bytes.fromhex(record.sha256)
            noted = self._page_sources.get(path)
            if noted is None and same and old is not None:
                noted = old.pages[path][3]
            if noted and base is None:
                named = [names[n] for n in array("I", noted)]
                noted = array("I", [sources.setdefault(s, len(sources)) for s in named]).tobytes()
            pages[path] = (deps.tobytes(), *hashes, noted or b"")
        self._stored = StoredRecords(
            deps=tuple(numbers),
            pages=pages,
            fresh=base.fresh if base is not None else len(numbers),
            base=self.maker.base,
            dep_states=self._dep_states(tuple(numbers), base is None),
            sources="\0".join(sources),
            source_digests=self._source_digests_of(list(sources)),
            fresh_sources=base.fresh_sources if base is not None else len(sources),
        )
        self._stored_records = dict(self.records)
        self._source_numbers = dict(sources)
        return self._stored

    def _dep_states(self, deps: tuple[Dep, ...], renumbered: bool) -> str | None:
        """Each of ``deps``' state in this build (``_dep_state``): the page check's for the old
        numbers, if they were kept (``renumbered`` false)."""
        now = self._digests_now
        if now is None:
            return None
        table = self._dep_table if self._dep_table is not None and not renumbered else []
        state = partial(_dep_state, now.site, self.maker.site_digest)
        return "\0".join([table[n] if n < len(table) else state(dep) for n, dep in enumerate(deps)])

    def _source_digests_of(self, names: list[str]) -> bytes:
        if self._digests_now is None:
            return b""
        return b"".join([self._source_digest(name) for name in names])

    def load(self, stored: Any) -> None:
        """Records saved by an earlier process; anything malformed is simply not reused."""
        if not isinstance(stored, StoredRecords):
            return
        records: dict[str, PageRecord] = {}
        try:
            every = b"".join(entry[0] for entry in stored.pages.values())
            if len(every) % 4:
                return
            if every and int(np.frombuffer(every, np.uint32).max()) >= len(stored.deps):
                return
            for path, (numbers, fingerprint, sha, _) in stored.pages.items():
                deps = StoredDeps(numbers, stored.deps)
                records[path] = PageRecord(deps, fingerprint.hex(), sha.hex())
        except (TypeError, ValueError):
            return
        self.records = records
        self._stored, self._stored_records = stored, dict(records)
        self._source_numbers = {name: n for n, name in enumerate(_names(stored.sources))}


STORED_VERSION = 5


class StoredRecords(NamedTuple):
    deps: tuple[Dep, ...]
    # path: dependency numbers, fingerprint, sha256, source numbers
    pages: dict[str, tuple[bytes, bytes, bytes, bytes]]
    fresh: int  # how many dependencies there were when last numbered from scratch
    base: bytes  # the code, templates and config the digests below were taken with
    # Each dependency's state (``_dep_state``), and each source's name and digest, joined: at
    # 10,000 papers, 87,000 values that load in a fraction of the time as as many objects.
    dep_states: str | None
    sources: str
    source_digests: bytes
    fresh_sources: int


class StoredDeps(Sequence[Dep]):
    """A stored record's dependencies, read from their numbers only when asked for: with the
    check by sources, a rebuild reads those of a dozen pages, and making all 18,000 records'
    tuples at load took 0.16 s of a 10,000-paper rebuild. Equal to the tuple it stands for,
    and pickled as that tuple (a worker process is sent the page's record, not the table)."""

    __slots__ = ("_decoded", "_numbers", "_table")

    def __init__(self, numbers: bytes, table: tuple[Dep, ...]) -> None:
        self._numbers, self._table = numbers, table
        self._decoded: tuple[Dep, ...] | None = None

    def decoded(self) -> tuple[Dep, ...]:
        if self._decoded is None:
            self._decoded = tuple(map(self._table.__getitem__, array("I", self._numbers)))
        return self._decoded

    @overload
    def __getitem__(self, index: int) -> Dep: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Dep, ...]: ...
    def __getitem__(self, index: int | slice) -> Dep | tuple[Dep, ...]:
        return self.decoded()[index]

    def __len__(self) -> int:
        return len(self._numbers) // 4

    def __iter__(self) -> Iterator[Dep]:
        return iter(self.decoded())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, StoredDeps):
            return self.decoded() == other.decoded()
        return self.decoded() == other

    def __hash__(self) -> int:
        return hash(self.decoded())

    def __repr__(self) -> str:
        return repr(self.decoded())

    def __reduce__(self) -> tuple[type, tuple[tuple[Dep, ...]]]:
        return (tuple, (self.decoded(),))


class BuildDigests(NamedTuple):
    """What a source name stands for in this build, and the site its pages read."""

    value: Callable[[str], object]
    site: TrackedSite


def _dep_state(site: TrackedSite, digested: Callable[[TrackedSite, Dep], bytes], dep: Dep) -> str:
    """What a dependency covers, for telling whether it changed since the last build: a text
    entry of a mapping as the text itself (nearly all: a keyphrase's path, 60,000 at 10,000
    papers), an absent one as ``_ABSENT``, anything else as its digest. Never holds a zero
    character, as states are stored joined by one; a text that could be taken for a mark is
    digested too."""
    found = entry_text(site, dep)
    if found is ABSENT:
        return _ABSENT
    if type(found) is str and "\0" not in found and not found.startswith(_MARKS):
        return found
    return "\1" + digested(site, dep).hex()


_ABSENT = "\2"  # an absent entry's state
_MARKS = ("\1", "\2")
SOURCE_DIGEST_BYTES = 16


def _names(joined: str) -> list[str]:
    return joined.split("\0") if joined else []


def _touching(
    pages: list[tuple[str, tuple[bytes, bytes, bytes, bytes]]], field: int, changed: list[int]
) -> set[str]:
    """The paths of ``pages`` whose numbers in ``field`` (dependencies or sources) include
    one of ``changed``."""
    if not changed:
        return set()
    runs = [entry[field] for _, entry in pages]
    numbers = np.frombuffer(b"".join(runs), dtype=np.uint32)
    owners = np.repeat(np.arange(len(runs)), [len(run) // 4 for run in runs])
    hit = np.unique(owners[np.isin(numbers, np.array(changed, dtype=np.uint32))])
    return {pages[i][0] for i in hit.tolist()}
