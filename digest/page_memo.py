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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from digest.fingerprint import Fingerprinter
from digest.render import Page, PlannedPage
from digest.tracked_site import Dep, TrackedSite, dep_value

Render = Callable[[PlannedPage], Page]


@dataclass(frozen=True)
class PageRecord:
    """What one page's last render depended on, and the hash of the bytes it produced."""

    deps: tuple[Dep, ...]
    fingerprint: str
    sha256: str


@dataclass
class PageMemo:
    """Page records of the last successful build into one output folder; new ones wait in
    ``pending`` until the build's files are swapped in (a failed build changes nothing)."""

    out: Path | None = None
    records: dict[str, PageRecord] = field(default_factory=dict)
    pending: dict[str, PageRecord] = field(default_factory=dict)
    rendered: int = 0
    kept: int = 0
    _base: bytes = b""
    _fingerprinter: Fingerprinter = field(default_factory=Fingerprinter)
    _site_digests: dict[Dep, bytes] = field(default_factory=dict)

    def begin(self, out: Path, base: str, fingerprinter: Fingerprinter) -> None:
        """Start a build into ``out``; ``base`` digests code and templates."""
        if self.out != out:
            self.records = {}
        self.out = out
        self.pending = {}
        self.rendered = self.kept = 0
        self._base = base.encode()
        self._fingerprinter = fingerprinter
        self._site_digests = {}

    def commit(self) -> bool:
        """The build's files are in place: its records become the ones to compare with.
        Returns whether they differ from the previous ones (worth saving)."""
        changed = self.pending != self.records
        self.records = self.pending
        self.pending = {}
        return changed

    def renderer(
        self,
        env: Any,
        site: dict[str, Any],
        make_renderer: Callable[[Any, dict[str, Any]], Render],
    ) -> Render:
        tracked = TrackedSite(site)
        inner = make_renderer(env, tracked)

        def render(planned: PlannedPage) -> Page:
            template, path = planned.template, planned.path
            context = planned.context() if planned.inputs is None else None
            key = context if planned.inputs is None else planned.inputs()
            previous = self.records.get(path)
            checked = None
            if previous is not None:
                checked = self._fingerprint(tracked, template, path, key, previous.deps)
                kept = self._keep(path, previous) if checked == previous.fingerprint else None
                if kept is not None:
                    self.kept += 1
                    return kept
            tracked.start_page()
            try:
                page = inner(
                    planned if context is None else planned._replace(context=lambda: context)
                )
            finally:
                deps = tracked.end_page()
            if checked is not None and previous is not None and deps == previous.deps:
                fingerprint = checked
            else:
                fingerprint = self._fingerprint(tracked, template, path, key, deps)
            sha = hashlib.sha256(page.content).hexdigest()
            self.pending[path] = PageRecord(deps, fingerprint, sha)
            self.rendered += 1
            return page

        return render

    def reuse(self, path: str, fingerprint: str, make: Callable[[], bytes]) -> Page:
        """A file made by code rather than a template (a search shard): the last build's bytes
        when ``fingerprint``, a digest of everything ``make`` reads, is the one recorded then."""
        fingerprint = hashlib.sha256(self._base + b"\0" + fingerprint.encode()).hexdigest()
        previous = self.records.get(path)
        if previous is not None and not previous.deps and previous.fingerprint == fingerprint:
            kept = self._keep(path, previous)
            if kept is not None:
                return kept
        content = make()
        self.pending[path] = PageRecord((), fingerprint, hashlib.sha256(content).hexdigest())
        return Page(path, content)

    def _fingerprint(
        self,
        site: TrackedSite,
        template: str,
        path: str,
        key: Any,
        deps: tuple[Dep, ...],
    ) -> str:
        hasher = hashlib.sha256(self._base)
        hasher.update(f"\0{template}\0{path}\0".encode())
        hasher.update(self._fingerprinter.digest(key))
        for dep in deps:
            hasher.update(self._site_digest(site, dep))
        return hasher.hexdigest()

    def _site_digest(self, site: TrackedSite, dep: Dep) -> bytes:
        found = self._site_digests.get(dep)
        if found is None:
            named = ("dep", dep, dep_value(site, dep, _MISSING))
            found = self._fingerprinter.digest(named)
            self._site_digests[dep] = found
        return found

    def _keep(self, path: str, previous: PageRecord) -> Page | None:
        """The file the last build wrote at ``path``, if it still holds the bytes recorded then
        (a page edited in the site folder is made again), kept for this build."""
        if self.out is None:
            return None
        try:
            content = (self.out / path).read_bytes()
        except OSError:
            return None
        if hashlib.sha256(content).hexdigest() != previous.sha256:
            return None
        self.pending[path] = previous
        return Page(path, content, unchanged=True)

    def to_json(self) -> dict[str, list[str]]:
        """Compact on purpose: 100,000 pages' records are read and written on every build."""
        saved: dict[str, list[str]] = {}
        for path, record in self.records.items():
            parts = [_FIELD.join(dep) for dep in record.deps]
            if not any(_FIELD in "".join(dep) or _DEP in "".join(dep) for dep in record.deps):
                saved[path] = [_DEP.join(parts), record.fingerprint, record.sha256]
        return saved

    def load_json(self, data: Any) -> None:
        """Records saved by an earlier process; anything malformed is simply not reused."""
        if not isinstance(data, dict):
            return
        records: dict[str, PageRecord] = {}
        for path, value in data.items():
            try:
                deps, fingerprint, sha = value
                parsed = tuple(_parse_dep(part) for part in deps.split(_DEP) if part)
                records[path] = PageRecord(parsed, str(fingerprint), str(sha))
            except (AttributeError, TypeError, ValueError):
                continue
        self.records = records


def _parse_dep(text: str) -> Dep:
    key, kind, entry = text.split(_FIELD)
    return (key, kind, entry)


_FIELD, _DEP = "\x1f", "\x1e"
_MISSING = object()
