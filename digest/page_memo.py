"""Skipping the render of pages whose inputs did not change since the last successful build.

A page's fingerprint covers exactly what it can show: the code, templates and config, its
template name and path, the context passed to it (or what the context is computed from, when
the page says: see ``render.PlannedPage``), and the value of every ``site`` key its last render
read (noted by a tracking mapping). Same fingerprint, same bytes: the page's previous
file is reused after its bytes are checked against the hash recorded when it was rendered.
This holds while templates, filters and globals read nothing but those (no files, no clock).
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from digest.config import Config
from digest.fingerprint import Fingerprinter
from digest.model import Digest
from digest.output import Page
from digest.page_maker import PageMaker, PageRecord, Rendered, text_entry
from digest.page_pool import POOL_THRESHOLD, render_in_workers
from digest.parallel import worker_count
from digest.render import PlannedPage, page_renderer
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

    def trust(self, trusted: bool) -> None:
        """Whether the folder is as the last build left it, so that kept pages need not be
        read back (see ``up_to_date.output_intact``)."""
        self.maker.trusted = trusted

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

        def here(page: PlannedPage, previous: PageRecord | None) -> Rendered:
            return self.maker.make(page.job(), previous, tracked, render)

        jobs = ((page, self.records.get(page.path)) for page in planned)
        if count >= POOL_THRESHOLD and worker_count(config.workers) > 1:
            made = self._made(self._checks(jobs, count, tracked, checking), here, digest, config)
        else:
            made = (here(page, previous) for page, previous in jobs)
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
        for page, previous in jobs:
            joined = None
            if stored is not None and previous is not None:
                joined = stored(page.path, previous)
            checked.append((page, previous, self.maker.fresh(page.job(), previous, site, joined)))
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
        # Text entries (nearly all) at once, without the per-build digest memo; the rest
        # digested on first use.
        table = [text_entry(site, dep) or b"" for dep in base.deps]

        def digested(n: int) -> bytes:
            table[n] = self.maker.site_digest(site, base.deps[n])
            return table[n]

        def joined(path: str, record: PageRecord) -> bytes | None:
            if self._stored_records.get(path) is not record:
                return None
            numbers = array("I", base.pages[path][0])
            return b"".join([table[n] or digested(n) for n in numbers])

        return joined

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
        any more). Kept in the cache under ``STORED_VERSION``, so an older form is never read."""
        base = self._stored
        if base is not None and len(base.deps) > 2 * base.fresh:
            base = None
        numbers: dict[Dep, int] = {dep: n for n, dep in enumerate(base.deps)} if base else {}
        pages: dict[str, tuple[bytes, bytes, bytes]] = {}
        for path, record in self.records.items():
            if base is not None and self._stored_records.get(path) is record:
                pages[path] = base.pages[path]
                continue
            deps = array("I", (numbers.setdefault(dep, len(numbers)) for dep in record.deps))
            hashes = bytes.fromhex(record.fingerprint), bytes.fromhex(record.sha256)
            pages[path] = (deps.tobytes(), *hashes)
        fresh = base.fresh if base is not None else len(numbers)
        self._stored = StoredRecords(tuple(numbers), pages, fresh)
        self._stored_records = dict(self.records)
        return self._stored

    def load(self, stored: Any) -> None:
        """Records saved by an earlier process; anything malformed is simply not reused."""
        if not isinstance(stored, StoredRecords):
            return
        records: dict[str, PageRecord] = {}
        dep = stored.deps.__getitem__
        try:
            for path, (numbers, fingerprint, sha) in stored.pages.items():
                deps = tuple(map(dep, array("I", numbers)))
                records[path] = PageRecord(deps, fingerprint.hex(), sha.hex())
        except (IndexError, TypeError, ValueError):
            return
        self.records = records
        self._stored, self._stored_records = stored, dict(records)


STORED_VERSION = 4


class StoredRecords(NamedTuple):
    deps: tuple[Dep, ...]
    pages: dict[str, tuple[bytes, bytes, bytes]]  # path: dependency numbers, fingerprint, sha256
    fresh: int  # how many dependencies there were when last numbered from scratch
