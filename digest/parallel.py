"""Per-paper work as a cached map: look results up by content key, compute the rest on all cores.

Every per-paper stage (keyphrase candidates, search terms) has the same shape: a pure function of
one paper's text. Keeping that shape is what lets a process pool here, or a distributed engine
later, run it unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from digest.cache import ContentCache

T = TypeVar("T")
R = TypeVar("R")

# Below this many uncached items a pool costs more to start than it saves.
POOL_THRESHOLD = 200
CHUNK_SIZE = 64


def worker_count(configured: int) -> int:
    return configured if configured > 0 else (os.cpu_count() or 1)


def cached_map(
    fn: Callable[[Sequence[T]], list[R]],
    items: Sequence[T],
    keys: Sequence[str],
    cache: ContentCache | None,
    workers: int,
    progress: Callable[[int, int], None] | None = None,
) -> list[R]:
    """``fn`` maps a chunk of items to results (module-level, so processes can run it)."""
    found: dict[str, Any] = cache.get_many(keys) if cache else {}
    results: list[Any] = [found.get(k) for k in keys]
    todo = [i for i, k in enumerate(keys) if k not in found]
    total = len(items)
    done = total - len(todo)
    if progress:
        progress(done, total)
    fresh: dict[str, Any] = {}
    for start, chunk_results in _run(fn, [items[i] for i in todo], workers):
        for offset, value in enumerate(chunk_results):
            index = todo[start + offset]
            results[index] = value
            fresh[keys[index]] = value
        done += len(chunk_results)
        if progress:
            progress(done, total)
        if cache and len(fresh) >= 2000:
            cache.put_many(fresh)
            fresh = {}
    if cache:
        cache.put_many(fresh)
    return results


def _run(fn: Callable[[Sequence[T]], list[R]], items: list[T], workers: int):
    """Yields (start offset, results) per chunk, in order; chunks are written to the cache as
    they finish, so an interrupted run keeps what it computed."""
    chunks = [items[i : i + CHUNK_SIZE] for i in range(0, len(items), CHUNK_SIZE)]
    count = worker_count(workers)
    if len(items) < POOL_THRESHOLD or count == 1:
        for n, chunk in enumerate(chunks):
            yield n * CHUNK_SIZE, fn(chunk)
        return
    with ProcessPoolExecutor(max_workers=count) as pool:
        for n, result in enumerate(pool.map(fn, chunks)):
            yield n * CHUNK_SIZE, result
