"""The cache keeps what builds use and forgets what none has used for a month."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

from digest.build import build
from digest.cache import UNUSED_DAYS, ContentCache, content_keys
from tests.conftest import corpus_config, edit_seed

DAY = 86_400.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def test_entries_no_build_used_for_a_month_are_dropped_and_used_ones_kept(tmp_path: Path) -> None:
    clock = Clock()
    cache = ContentCache(tmp_path, clock)
    cache.put_many({"read": 1, "forgotten": 2, "rewritten": 3})
    cache.put_pickled("model", "k1", [1, 2])
    cache.put_pickled("old model", "k1", [3])
    clock.now += (UNUSED_DAYS - 1) * DAY
    assert cache.get_many(["read"]) == {"read": 1}
    assert cache.get_pickled("model", "k1") == [1, 2]
    clock.now += 2 * DAY
    cache.put_many({"rewritten": 4})
    assert cache.prune() == 2
    assert cache.get_many(["read", "forgotten", "rewritten"]) == {"read": 1, "rewritten": 4}
    assert cache.get_pickled("model", "k1") == [1, 2]
    assert cache.get_pickled("old model", "k1") is None
    assert cache.prune() == 0


def test_entries_a_snapshot_stood_in_for_are_kept(tmp_path: Path) -> None:
    """Noted as needed (not read: a snapshot of them was), they outlive a month of builds."""
    clock = Clock()
    cache = ContentCache(tmp_path, clock)
    cache.put_many({"needed": 1, "forgotten": 2})
    for _ in range(UNUSED_DAYS + 5):
        clock.now += DAY
        cache.note_needed(["needed", "never stored"], "snapshot")
    assert cache.prune() == 1
    assert cache.get_many(["needed", "forgotten"]) == {"needed": 1}


def test_needed_entries_are_looked_at_once_a_day_per_snapshot(tmp_path: Path) -> None:
    clock = Clock()
    cache = ContentCache(tmp_path, clock)
    cache.put_many({"a": 1, "b": 2, "c": 3})
    clock.now += 2 * DAY
    cache.note_needed(["a"], "snapshot")
    clock.now += DAY // 2
    cache.note_needed(["b"], "snapshot")  # the same day: not looked at
    cache.note_needed(["c"], "another snapshot")
    clock.now += (UNUSED_DAYS - 1) * DAY - DAY // 2
    assert cache.prune() == 1
    assert cache.get_many(["a", "b", "c"]) == {"a": 1, "c": 3}


def test_a_cache_from_before_use_times_is_kept_and_read(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "cache.sqlite3")
    conn.execute("CREATE TABLE entries (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute(
        "CREATE TABLE blobs (kind TEXT PRIMARY KEY, key TEXT NOT NULL, value BLOB NOT NULL)"
    )
    conn.execute("INSERT INTO entries VALUES ('a', '[1]')")
    conn.commit()
    conn.close()
    cache = ContentCache(tmp_path, Clock())
    assert cache.prune() == 0
    assert cache.get_many(["a"]) == {"a": [1]}
    cache.put_many({"b": 2})
    assert cache.get_many(["a", "b"]) == {"a": [1], "b": 2}


def test_a_build_drops_stale_entries_and_keeps_every_one_it_needs(
    corpus: Path, tmp_path: Path
) -> None:
    config = replace(corpus_config(corpus, tmp_path / "site"), cache_dir=tmp_path / "cache")
    build(config)
    database = tmp_path / "cache" / "cache.sqlite3"
    with sqlite3.connect(database) as conn:
        kept = conn.execute("SELECT count(*) FROM entries").fetchone()[0]
        conn.execute("UPDATE entries SET used = 0")
        conn.execute("UPDATE blobs SET used = 0")
        conn.execute("INSERT INTO entries VALUES ('stale', '1', 0)")
        conn.execute("INSERT INTO blobs VALUES ('stale kind', 'k', x'00', 0)")
    conn.close()
    edit_seed(corpus)
    report = build(config)
    assert report.pages_written > 0 and not report.up_to_date
    with sqlite3.connect(database) as conn:
        keys = {row[0] for row in conn.execute("SELECT key FROM entries")}
        kinds = {row[0] for row in conn.execute("SELECT kind FROM blobs")}
    conn.close()
    assert "stale" not in keys and "stale kind" not in kinds
    assert len(keys) >= kept and "page-records" in " ".join(kinds)
    rebuilt = build(replace(config, out=tmp_path / "again"))
    assert rebuilt.pages_written > 0
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM entries").fetchone()[0] == len(keys) + 1
    conn.close()


def test_the_cache_is_pruned_at_most_once_a_day(tmp_path: Path) -> None:
    clock = Clock()
    cache = ContentCache(tmp_path, clock)
    cache.put_many({"a": 1})
    clock.now += (UNUSED_DAYS + 1) * DAY
    assert cache.prune() == 1
    pruned = clock.now
    clock.now = pruned - UNUSED_DAYS * DAY + 3600  # stale an hour after that prune
    cache.put_many({"old": 2})
    clock.now = pruned + 2 * 3600
    assert cache.prune() == 0
    assert cache.get_many(["old"]) == {"old": 2}  # read, but noted as used a day ago at most
    clock.now = pruned + DAY + 1
    with sqlite3.connect(tmp_path / "cache.sqlite3") as conn:
        conn.execute("UPDATE entries SET used = ? WHERE key = 'old'", (pruned - UNUSED_DAYS * DAY,))
    conn.close()
    assert cache.prune() == 1
    assert cache.get_many(["old"]) == {}


def test_content_keys_tell_apart_items_that_encode_alike() -> None:
    """Parts are hashed by their own encodings, joined: where one part ends must be clear."""
    items = [
        ("ab", "c"),
        ("a", "bc"),
        ("abc",),
        ("1",),
        (1,),
        (("a", "b"),),
        ("a", "b"),
        (("a", "b"), "c"),
        (("a",), ("b", "c")),
        (("a", 1),),
        ("s1:a",),
        ("", "s0:"),
        ("\\u00e9", "é"),
        ("é",),
    ]
    keys = content_keys(("shared", 1), items)
    assert len(set(keys)) == len(items)
    assert keys == content_keys(("shared", 1), items)  # stable
    assert keys[0] != content_keys(("shared", 2), items[:1])[0]


def test_a_write_left_for_later_reads_back_at_once_and_is_written_once(tmp_path: Path) -> None:
    """Snapshots are encoded and written after the stage that made them (by a second process,
    on a rebuild): until then the cache hands out the waiting value itself."""
    made: list[str] = []

    def encoded(text: str) -> bytes:
        made.append(text)
        return text.encode()

    cache = ContentCache(tmp_path)
    cache.put_blob_later("now", "k", lambda: encoded("at once"))  # not deferring: written now
    assert made == ["at once"] and ContentCache(tmp_path).get_blob("now", "k") == b"at once"
    made.clear()
    cache.deferring = True
    cache.put_blob("snapshot", "k1", b"old")
    cache.put_blob_later("snapshot", "k2", lambda: encoded("new"))
    assert cache.get_blob("snapshot", "k2") == b"new"
    assert cache.get_blob("snapshot", "k1") is None  # one value per kind: k1 is being replaced
    cache.put_blob_later("model", "k", lambda: encoded("model"))
    cache.put_blob("model", "k", b"written now")  # a later write wins over a waiting one
    handed = cache.take_later()
    assert [(kind, key) for kind, key, _ in handed] == [("snapshot", "k2")]
    cache.close()  # nothing waits here any more
    other = ContentCache(tmp_path)
    other.deferring = True
    assert other.get_blob("snapshot", "k1") == b"old"
    assert other.get_blob("model", "k") == b"written now"
    made.clear()
    other.write_later(handed)
    other.put_pickled("pickled", "k", {"a": 1})
    other.close()  # writes what waits
    again = ContentCache(tmp_path)
    assert again.get_blob("snapshot", "k2") == b"new"
    assert again.get_pickled("pickled", "k") == {"a": 1}
    assert made == ["new"]
    again.close()
