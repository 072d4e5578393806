"""Per-paper work as a cached map: look results up by content key, compute the rest on all cores.

Every per-paper stage (keyphrase candidates, search terms) has the same shape: a pure function of
one paper's text. Keeping that shape is what lets a process pool here, or a distributed engine
later, run it unchanged.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, NamedTuple, TypeVar

from digest.cache import ContentCache
from digest.forked_worker import ForkedWorker

T = TypeVar("T")
R = TypeVar("R")

# Below this many uncached items a pool costs more to start than it saves.
POOL_THRESHOLD = 200
CHUNK_SIZE = 64
READ_BATCH = 5_000


def worker_count(configured: int) -> int:
    return configured if configured > 0 else (os.cpu_count() or 1)


def cached_map(
    fn: Callable[[Sequence[T]], list[R]],
    items: Sequence[T],
    keys: Sequence[str],
    cache: ContentCache | None,
    workers: int,
    progress: Callable[[int, int], None] | None = None,
    forked: ForkedWorker | None = None,
) -> list[R]:
    """``fn`` maps a chunk of items to JSON-able results; it must be a module-level function
    (or a ``functools.partial`` of one) so worker processes can run it. Scripts calling this
    on more than POOL_THRESHOLD items need an ``if __name__ == "__main__":`` guard. Fewer
    items run on ``forked``, if given, else here."""
    found: dict[str, Any] = {}
    if cache:
        for start in range(0, len(keys), READ_BATCH):
            found.update(cache.get_many(keys[start : start + READ_BATCH]))
    first_index = {k: i for i, k in reversed(list(enumerate(keys)))}
    todo = [i for k, i in first_index.items() if k not in found]
    todo.sort()
    total = len(first_index)
    done = total - len(todo)
    if progress:
        progress(done, total)
    fresh: dict[str, Any] = {}
    for start, chunk_results in _run(fn, [items[i] for i in todo], workers, _module_of(fn), forked):
        for offset, value in enumerate(chunk_results):
            key = keys[todo[start + offset]]
            found[key] = fresh[key] = value
        done += len(chunk_results)
        if progress:
            progress(done, total)
        if cache and len(fresh) >= 2000:
            cache.put_many(fresh)
            fresh = {}
    if cache:
        cache.put_many(fresh)
    return [found[k] for k in keys]


def _module_of(fn: Callable[..., object]) -> str:
    return getattr(getattr(fn, "func", fn), "__module__", __name__)


def _run(
    fn: Callable[[Sequence[T]], list[R]],
    items: list[T],
    workers: int,
    preload: str,
    forked: ForkedWorker | None = None,
) -> Iterator[tuple[int, list[R]]]:
    """Yields (start offset, results) per chunk, in order; chunks are written to the cache as
    they finish, so an interrupted run keeps what it computed."""
    chunks = [items[i : i + CHUNK_SIZE] for i in range(0, len(items), CHUNK_SIZE)]
    count = worker_count(workers)
    if len(items) < POOL_THRESHOLD and forked is not None:
        for n, result in enumerate(forked.run(fn, chunks)):
            yield n * CHUNK_SIZE, result
        return
    if len(items) < POOL_THRESHOLD or count == 1:
        for n, chunk in enumerate(chunks):
            yield n * CHUNK_SIZE, fn(chunk)
        return
    count = min(count, len(chunks))
    with ProcessPoolExecutor(max_workers=count, mp_context=worker_context(preload)) as pool:
        for n, result in enumerate(pool.map(fn, chunks)):
            yield n * CHUNK_SIZE, result


def worker_context(preload: str) -> multiprocessing.context.BaseContext:
    """Not plain fork: a build can run beside the preview server's threads, and forking a
    threaded process can deadlock on a lock some thread held. The fork server imports the
    stage's module once, so each worker starts with its libraries loaded."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([preload])
    return context


class Ready(NamedTuple):
    """An item of ``ordered_map`` whose result is already known: it comes through in place."""

    value: Any


def ordered_map(
    fn: Callable[[Any], Any],
    items: Iterable[Any],
    workers: int,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
    in_flight: int = 4,
) -> Iterator[Any]:
    """``fn(item)`` for each item on ``workers`` processes, results in item order, for a
    stream too long to hold: at most ``in_flight`` items per worker wait at once. ``fn`` must
    be a module-level function. Closing the iterator early (an interrupted build) stops the
    workers."""
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=worker_context(_module_of(fn)),
        initializer=initializer,
        initargs=initargs,
    )
    waiting: deque[Future[Any] | Ready] = deque()
    busy = 0
    try:
        for item in items:
            if isinstance(item, Ready):
                waiting.append(item)
            else:
                waiting.append(pool.submit(fn, item))
                busy += 1
            while waiting and (isinstance(waiting[0], Ready) or busy >= workers * in_flight):
                head = waiting.popleft()
                if isinstance(head, Ready):
                    yield head.value
                else:
                    busy -= 1
                    yield head.result()
        while waiting:
            head = waiting.popleft()
            yield head.value if isinstance(head, Ready) else head.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
