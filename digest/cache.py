"""A content-addressed on-disk cache: values keyed by a hash of every input that made them.

One SQLite file, so 100,000 entries are one open and a few batched reads, and a crash mid-write
can never leave a half-written entry. Deleting the folder is always safe.

Keys change with the text and the code, so every edit and every upgrade leaves entries no build
asks for again (a 10,000-paper cache grew from 58 to 316 MB over a day of development). Each
entry notes when a build last used it, and ``prune`` drops those unused for ``UNUSED_DAYS``:
long enough that a second project or config sharing the folder keeps its own.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")
DEFAULT_CACHE_DIR = Path(".digest-cache")
DAY = 86_400
_PRUNED = "pruned-at"  # an entry whose use time is when the cache was last pruned
UNUSED_DAYS = 30
BATCH = 500  # keys per query: SQLite's limit on parameters is 999 in older builds
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS entries "
    "(key TEXT PRIMARY KEY, value TEXT NOT NULL, used REAL NOT NULL DEFAULT 0)"
)
_BLOB_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS blobs "
    "(kind TEXT PRIMARY KEY, key TEXT NOT NULL, value BLOB NOT NULL, used REAL NOT NULL DEFAULT 0)"
)


def content_key(*parts: Any) -> str:
    """A stable hash of JSON-serialisable inputs (settings, text, code version)."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def content_keys(shared: Sequence[Any], items: Iterable[Sequence[Any]]) -> list[str]:
    """A stable hash of ``(*shared, *item)`` for each item, with ``shared`` (settings,
    versions) serialised once rather than once per paper: 100,000 papers' keys are computed on
    every build. Text, and tuples of text, are hashed as length-prefixed UTF-8 rather than
    JSON: escaping an abstract's backslashes was four fifths of a key's time (~8 µs). Each
    part's encoding says where it ends, so distinct items cannot share one. Not equal to
    ``content_key`` of the same parts."""
    head = hashlib.sha256(b"".join(_key_part(part) for part in shared))
    keys = []
    for item in items:
        hasher = head.copy()
        hasher.update(b"".join([_key_part(part) for part in item]))
        keys.append(hasher.hexdigest())
    return keys


def _key_part(part: Any) -> bytes:
    kind = type(part)
    if kind is str:
        data = part.encode("utf-8", "surrogatepass")
        return b"s%d:" % len(data) + data
    if (kind is tuple or kind is list) and all(type(item) is str for item in part):
        return b"t%d:" % len(part) + b"".join([_key_part(item) for item in part])
    return b"j" + _json_key(part).encode("utf-8", "surrogatepass")


_KEY_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _json_key(value: Any) -> str:
    """``json.dumps`` with ``content_key``'s settings, without making an encoder per call."""
    return _KEY_ENCODER.encode(value)


def cached_value(
    cache: ContentCache | None,
    kind: str,
    key: str,
    compute: Callable[[], T],
    dump: Callable[[T], Any] | None = None,
    load: Callable[[Any], T | None] | None = None,
) -> T:
    """``compute()``, unless this kind's value was stored under ``key`` (kept pickled, one per
    kind: a fitted model is tens of megabytes, and a changed input makes the old one useless).
    ``dump`` and ``load`` give a smaller stored form; ``load`` returns ``None`` for a stored
    value it cannot use, which is then computed again."""
    stored = cache.get_pickled(kind, key) if cache is not None else None
    found = stored if stored is None or load is None else load(stored)
    if found is not None:
        return found
    value = compute()
    if cache is not None:
        cache.put_pickled(kind, key, value if dump is None else dump(value))
    return value


def cached_rows(
    cache: ContentCache | None,
    kind: str,
    key: str,
    item_keys: Sequence[str],
    compute: Callable[[list[int]], Sequence[R]],
) -> list[R]:
    """One row per item key, ``compute(positions)`` giving those of the items not known yet.
    The rows of one model (``key``) are kept as one value per kind holding exactly the current
    items', replaced when a row is computed: a rebuild computes only new or edited items, and
    edits do not pile up in the cache."""
    stored = cache.get_pickled(kind, key) if cache is not None else None
    known: dict[str, R] = stored if isinstance(stored, dict) else {}
    missing = [i for i, item in enumerate(item_keys) if item not in known]
    if missing:
        known.update(zip((item_keys[i] for i in missing), compute(missing), strict=True))
        if cache is not None:
            cache.put_pickled(kind, key, {item: known[item] for item in item_keys})
    return [known[item] for item in item_keys]


def resolve_cache_dir(configured: Path | None) -> Path:
    if configured is not None:
        return configured
    if env := os.environ.get("DIGEST_CACHE_DIR"):
        return Path(env)
    return DEFAULT_CACHE_DIR


class ContentCache:
    """JSON values by content key; ``None`` root means a disabled (memory-only) cache."""

    def __init__(self, root: Path | None, clock: Callable[[], float] = time.time) -> None:
        self.root = root
        self.clock = clock
        self._conn: sqlite3.Connection | None = None
        self._later: dict[str, tuple[str, Callable[[], bytes]]] = {}
        # Whether ``put_blob_later`` waits: only where a second process will take the writes
        # (see ``digest.forked_pages``); otherwise a waiting snapshot only holds memory.
        self.deferring = False

    def _connect(self) -> sqlite3.Connection | None:
        if self.root is None:
            return None
        if self._conn is None:
            try:
                self.root.mkdir(parents=True, exist_ok=True)
                ignore = self.root / ".gitignore"
                if not ignore.exists():
                    ignore.write_text("# Created by digest: this folder is a cache.\n*\n")
                self._conn = sqlite3.connect(self.root / "cache.sqlite3", timeout=30)
                self._conn.execute(_SCHEMA)
                self._conn.execute(_BLOB_SCHEMA)
                self._add_use_times(self._conn)
            except (OSError, sqlite3.Error):
                self.root = None
                return None
        return self._conn

    def _add_use_times(self, conn: sqlite3.Connection) -> None:
        """A cache from before use times were kept: its entries count as used now (a read-only
        one is still read)."""
        for table in ("entries", "blobs"):
            columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            if "used" in columns:
                continue
            try:
                with conn:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN used REAL NOT NULL DEFAULT 0")
                    conn.execute(f"UPDATE {table} SET used = ?", (self.clock(),))
            except sqlite3.Error:
                pass

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        conn = self._connect()
        wanted = list(dict.fromkeys(keys))
        if conn is None or not wanted:
            return {}
        found: dict[str, Any] = {}
        used: dict[str, float] = {}
        try:
            for chunk, marks in _batches(wanted):
                sql = f"SELECT key, value, used FROM entries WHERE key IN ({marks})"
                for key, value, noted in conn.execute(sql, chunk):
                    found[key] = json.loads(value)
                    used[key] = noted
        except sqlite3.Error:
            return {}
        self._note_use(conn, "entries", "key", used)
        return found

    def _note_use(
        self, conn: sqlite3.Connection, table: str, column: str, used: Mapping[str, float]
    ) -> None:
        """Marks the rows read (``used``: when each was last noted) as used now, if that was
        over a day ago: so most builds only read. Best effort: a read-only or busy cache still
        serves what it holds."""
        now = self.clock()
        stale = [key for key, noted in used.items() if noted < now - DAY]
        if not stale:
            return
        try:
            with conn:
                for chunk, marks in _batches(stale):
                    sql = f"UPDATE {table} SET used = ? WHERE {column} IN ({marks})"
                    conn.execute(sql, [now, *chunk])
        except sqlite3.Error:
            pass

    def note_needed(self, keys: Iterable[str], snapshot: str) -> None:
        """Marks entries as used though this build did not read them: ``snapshot`` (see
        ``ranking`` and ``search_terms``) stood in for them, and a build without it will read
        them. Like ``get_many``, writes only for entries last noted over a day ago; and looks
        at them at most once a day per snapshot (a 10,000-paper rebuild spent 0.14 s on it):
        use times count in days, and keys new since the last look were written since."""
        conn = self._connect()
        wanted = list(dict.fromkeys(keys))
        if conn is None or not wanted:
            return
        marker = f"needed-noted:{snapshot}"
        now = self.clock()
        used: dict[str, float] = {}
        try:
            if _looked_today(conn, marker, now):
                return
            for chunk, marks in _batches(wanted):
                sql = f"SELECT key, used FROM entries WHERE used < ? AND key IN ({marks})"
                used.update(conn.execute(sql, [now - DAY, *chunk]))
        except sqlite3.Error:
            return
        self._note_use(conn, "entries", "key", used)
        self.put_many({marker: now})

    def put_many(self, items: Mapping[str, Any]) -> None:
        conn = self._connect()
        if conn is None or not items:
            return
        now = self.clock()
        rows = [(k, json.dumps(v, ensure_ascii=False), now) for k, v in items.items()]
        try:
            with conn:
                sql = "INSERT OR REPLACE INTO entries (key, value, used) VALUES (?, ?, ?)"
                conn.executemany(sql, rows)
        except sqlite3.Error:
            pass

    def get_blob(self, kind: str, key: str) -> bytes | None:
        """The bytes last stored for ``kind``, if stored under ``key``: one value per kind is
        kept, for large values that are not JSON (a fitted model of tens of megabytes) and
        would otherwise pile up with every change."""
        if kind in self._later:
            later_key, make = self._later[kind]
            return make() if later_key == key else None
        conn = self._connect()
        if conn is None:
            return None
        try:
            sql = "SELECT value, used FROM blobs WHERE kind = ? AND key = ?"
            row = conn.execute(sql, (kind, key)).fetchone()
        except sqlite3.Error:
            return None
        if row is None:
            return None
        self._note_use(conn, "blobs", "kind", {kind: row[1]})
        return bytes(row[0])

    def put_blob(self, kind: str, key: str, value: bytes) -> None:
        self._later.pop(kind, None)
        conn = self._connect()
        if conn is None:
            return
        try:
            with conn:
                sql = "INSERT OR REPLACE INTO blobs (kind, key, value, used) VALUES (?, ?, ?, ?)"
                conn.execute(sql, (kind, key, value, self.clock()))
        except sqlite3.Error:
            pass

    def put_blob_later(self, kind: str, key: str, make: Callable[[], bytes]) -> None:
        """``put_blob(kind, key, make())``, when ``write_later`` runs if ``deferring``, else
        now: encoding and writing a snapshot of a 10,000-paper corpus takes ~0.3 s, which a
        rebuild's second process (``digest.forked_pages``) can spend instead of this one. A
        value not written is only a value computed again, so none is ever needed for the
        cache to stay valid."""
        if not self.deferring:
            self.put_blob(kind, key, make())
            return
        self._later[kind] = (key, make)

    def take_later(self) -> list[tuple[str, str, Callable[[], bytes]]]:
        """The writes waiting for ``write_later``, now left to the caller."""
        taken = [(kind, key, make) for kind, (key, make) in self._later.items()]
        self._later = {}
        return taken

    def write_later(self, writes: Sequence[tuple[str, str, Callable[[], bytes]]] = ()) -> None:
        """The writes waiting here (and ``writes``, taken from another cache), done now."""
        for kind, key, make in [*writes, *self.take_later()]:
            self.put_blob(kind, key, make())

    def prune(self) -> int:
        """Drops what no build used for ``UNUSED_DAYS`` and, when that freed most of the file,
        gives the space back; returns how many entries went. Called after a build succeeds, so
        everything that build needs has just been used. Looks at most once a day: use times
        count in days, and scanning every entry took 0.15 s of a 10,000-paper rebuild."""
        conn = self._connect()
        if conn is None:
            return 0
        now = self.clock()
        before = now - UNUSED_DAYS * DAY
        try:
            if _looked_today(conn, _PRUNED, now):
                return 0
            with conn:
                sql = "INSERT OR REPLACE INTO entries (key, value, used) VALUES (?, ?, ?)"
                conn.execute(sql, (_PRUNED, "null", now))
                dropped = conn.execute("DELETE FROM entries WHERE used < ?", (before,)).rowcount
                dropped += conn.execute("DELETE FROM blobs WHERE used < ?", (before,)).rowcount
            if dropped:
                free = conn.execute("PRAGMA freelist_count").fetchone()[0]
                pages = conn.execute("PRAGMA page_count").fetchone()[0]
                if free * 2 > pages:
                    conn.execute("VACUUM")
        except sqlite3.Error:
            return 0
        return dropped

    def get_pickled(self, kind: str, key: str) -> Any:
        """A value stored by ``put_pickled``, or ``None``. Pickled values (fitted models, and
        arrays, that JSON cannot hold) are trusted as Sphinx trusts its pickled environment: the
        cache is the user's own folder. One that does not load is simply recomputed."""
        blob = self.get_blob(kind, key)
        if blob is None:
            return None
        try:
            return pickle.loads(blob)
        except Exception:
            return None

    def put_pickled(self, kind: str, key: str, value: Any) -> None:
        """Pickled and written as ``put_blob_later`` writes."""
        self.put_blob_later(
            kind, key, lambda: pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        )

    def close(self) -> None:
        self.write_later()
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _looked_today(conn: sqlite3.Connection, marker: str, now: float) -> bool:
    """Whether the marker entry of a once-a-day look (its use time: when) says it was done
    within the last day."""
    row = conn.execute("SELECT used FROM entries WHERE key = ?", (marker,)).fetchone()
    return row is not None and row[0] >= now - DAY


def _batches(keys: Sequence[str]) -> Iterator[tuple[Sequence[str], str]]:
    """The keys a batch at a time, each with its ``?`` placeholders for ``IN (…)``."""
    for start in range(0, len(keys), BATCH):
        chunk = keys[start : start + BATCH]
        yield chunk, ",".join("?" * len(chunk))
