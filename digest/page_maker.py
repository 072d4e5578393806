"""One page of a build: the last build's file when nothing the page shows changed, else a render.

The record kept per page is what ``page_memo`` compares with on the next build. A ``PageMaker``
holds no records and reads nothing but the page's job, the ``site`` mapping and the old file,
so worker processes run it as the build's own process does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from digest.fingerprint import Fingerprinter, hashed_by_repr
from digest.output import Page
from digest.render import RenderJob
from digest.tracked_site import Dep, TrackedSite, dep_value

Render = Callable[[RenderJob], Page]


@dataclass(frozen=True)
class PageRecord:
    """What one page's last render depended on, and the hash of the bytes it produced."""

    deps: Sequence[Dep]  # a tuple, or a stored record's (``page_memo.StoredDeps``)
    fingerprint: str
    sha256: str


@dataclass(frozen=True)
class Rendered:
    """One page made for a build, with the record to keep for it."""

    page: Page
    record: PageRecord
    kept: bool


@dataclass
class PageMaker:
    """Makes one page: the last build's file when the page's fingerprint says nothing it shows
    changed, else a fresh render. Holds no records, so worker processes can run it too."""

    out: Path | None
    base: bytes
    fingerprinter: Fingerprinter = field(default_factory=Fingerprinter)
    # The site folder is as the last build left it (see ``up_to_date.output_intact``): a kept
    # page's file is not read back, since it is neither written nor shipped between processes.
    trusted: bool = False
    _site_digests: dict[Dep, bytes] = field(default_factory=dict)

    def make(
        self, job: RenderJob, previous: PageRecord | None, site: TrackedSite, render: Render
    ) -> Rendered:
        checked = None
        if previous is not None:
            checked = self._fingerprint(site, job, previous.deps)
            if checked == previous.fingerprint and (kept := self.kept(job.path, previous)):
                return kept
        return self._render(job, previous, checked, site, render)

    def fresh(
        self,
        job: RenderJob,
        previous: PageRecord | None,
        site: TrackedSite,
        dep_digests: bytes | None = None,
    ) -> bool:
        """Whether nothing the page shows changed since ``previous`` (its file is not checked:
        see ``kept``); ``dep_digests``, if given, are those of ``previous.deps``, joined."""
        if previous is None:
            return False
        if dep_digests is None:
            dep_digests = self.dep_digests(site, previous.deps)
        return self._digest_with(job, dep_digests) == previous.fingerprint

    def kept(self, path: str, previous: PageRecord) -> Rendered | None:
        """The last build's page at ``path``, if its file is still the one ``previous`` made."""
        page = Page(path, b"", unchanged=True) if self.trusted else self.keep(path, previous)
        return Rendered(page, previous, kept=True) if page is not None else None

    def _render(
        self,
        job: RenderJob,
        previous: PageRecord | None,
        checked: str | None,
        site: TrackedSite,
        render: Render,
    ) -> Rendered:
        site.start_page()
        try:
            page = render(job)
        finally:
            deps = site.end_page()
        if checked is not None and previous is not None and deps == previous.deps:
            fingerprint = checked
        else:
            fingerprint = self._fingerprint(site, job, deps)
        record = PageRecord(deps, fingerprint, hashlib.sha256(page.content).hexdigest())
        return Rendered(page, record, kept=False)

    def keep(self, path: str, previous: PageRecord) -> Page | None:
        """The file the last build wrote at ``path``, if it still holds the bytes recorded then
        (a page edited in the site folder is made again)."""
        if self.out is None:
            return None
        try:
            content = (self.out / path).read_bytes()
        except OSError:
            return None
        if hashlib.sha256(content).hexdigest() != previous.sha256:
            return None
        return Page(path, content, unchanged=True)

    def _fingerprint(self, site: TrackedSite, job: RenderJob, deps: Iterable[Dep]) -> str:
        return self._digest_with(job, self.dep_digests(site, deps))

    def _digest_with(self, job: RenderJob, dep_digests: bytes) -> str:
        hasher = hashlib.sha256(self.base)
        hasher.update(f"\0{job.template}\0{job.path}\0".encode())
        hasher.update(self.fingerprinter.digest(job.key))
        hasher.update(dep_digests)  # one update for all ~30 (as fed one by one)
        return hasher.hexdigest()

    def dep_digests(self, site: TrackedSite, deps: Iterable[Dep]) -> bytes:
        """The digests of what ``deps`` cover in ``site``, joined."""
        known = self._site_digests
        return b"".join([known.get(dep) or self.site_digest(site, dep) for dep in deps])

    def site_digest(self, site: TrackedSite, dep: Dep) -> bytes:
        """What ``dep`` covers, as bytes that say where they end (they are joined): most are
        a text entry of a mapping (a keyphrase's path, ~60,000 at 10,000 papers), kept as the
        text itself, which is a tenth of the time hashing its ``repr`` took; the rest are
        digests."""
        found = self._site_digests.get(dep)
        if found is None:
            found = text_entry(site, dep)
            if found is None:
                value = dep_value(site, dep, _MISSING)
                if dep[1] != "all" and hashed_by_repr(value[-1]):
                    data = repr((dep, value)).encode("utf-8", "surrogatepass")
                    found = b"\0" + hashlib.sha256(data).digest()
                else:
                    found = b"\0" + self.fingerprinter.digest(("dep", dep, value))
            self._site_digests[dep] = found
        return found


def text_entry(site: TrackedSite, dep: Dep) -> bytes | None:
    """A dependency on one entry of a mapping of texts, if ``dep`` is one: its key, entry and
    text (or that it is absent: most keyphrases a paper page looks up have no page),
    length-prefixed."""
    found = entry_text(site, dep)
    if found is None:
        return None
    key, _, entry = dep
    named = entry.encode("utf-8", "surrogatepass")
    if found is ABSENT:
        return b"\2%s:%d:" % (key.encode(), len(named)) + named
    text = found.encode("utf-8", "surrogatepass")  # type: ignore[union-attr]
    return b"\1%s:%d:%d:" % (key.encode(), len(named), len(text)) + named + text


def entry_text(site: TrackedSite, dep: Dep) -> str | object | None:
    """If ``dep`` is one entry of a mapping of texts: that text, or ``ABSENT`` when the mapping
    has no such entry; ``None`` for any other dependency."""
    key, kind, entry = dep
    if kind != "item":
        return None
    mapping = dict.get(site, key)
    if type(mapping) is not dict:
        return None
    found = mapping.get(entry, ABSENT)
    return found if found is ABSENT or type(found) is str else None


ABSENT = object()  # an entry a mapping does not have
_MISSING = object()
