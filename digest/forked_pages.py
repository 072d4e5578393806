"""Pages made in a forked second process while this one renders.

After a small edit, a rebuild's last two stages are single-threaded and about as long as each
other: at 10,000 papers, checking 17,000 pages against their records here, and remaking the
search shards of the edited terms (plus the catalog and feeds) there. Side by side on two
cores they take the time of the longer one. The child lays out the theme map first, while this
process relates papers (the map is only needed once the rest of the digest is assembled). A
forked child inherits the papers rather than being sent them, so starting it costs
milliseconds.

Forking is done only where it is safe, with no other thread in the process (the preview server
builds beside its HTTP and watcher threads, one of which could hold a lock the child would wait
on forever). The child ignores Ctrl-C: the build process stops it, and its only writes, to the
content cache, are whole transactions. Those include the ones the stages before the fork left
waiting (``ContentCache.put_blob_later``): the child makes them while this process renders.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection
from typing import Any

from digest.cache import ContentCache
from digest.diagnostics import CapturedRecords
from digest.forked_worker import sendable_error, start_forked
from digest.output import Page
from digest.page_maker import PageRecord
from digest.page_memo import PageMemo

Progress = Callable[[str, int, int], None]
MakePages = Callable[[ContentCache, Progress | None], Iterable[Page]]


class ForkedPages:
    """``make``'s pages, made in a child process started now; ``pages()`` waits for them.
    Records of the pages the child kept or made reach ``memo`` as if made here, and its
    progress reports reach ``progress`` whenever this process reports its own (``relaying``)
    or waits for the child. ``first``, if given, is computed by the child before the pages,
    and ``first()`` here waits for its value."""

    def __init__(
        self,
        make: MakePages,
        memo: PageMemo,
        cache: ContentCache,
        progress: Progress | None,
        first: Callable[[ContentCache], Any] | None = None,
    ) -> None:
        self._from_child, to_parent = multiprocessing.Pipe(duplex=False)
        self._memo = memo
        self._progress = progress
        self._first: tuple[Any] | None = None
        self._result: tuple[list[Page], dict[str, PageRecord]] | None = None
        self._process = start_forked(
            _make_in_child,
            make,
            first,
            memo,
            cache,
            cache.take_later(),
            to_parent,
            progress is not None,
            name="digest-forked-pages",
        )
        to_parent.close()

    def first(self) -> Any:
        while self._first is None:
            self._receive()
        return self._first[0]

    def relaying(self, progress: Progress | None) -> Progress | None:
        """``progress``, also passing on what the child reported since the last call."""
        if progress is None:
            return None

        def relayed(stage: str, done: int, total: int) -> None:
            self._relay()
            progress(stage, done, total)

        return relayed

    def pages(self) -> Iterator[Page]:
        while self._result is None:
            self._receive()
        pages, records = self._result
        self._memo.pending.update(records)
        yield from pages

    def close(self) -> None:
        """Stops the child if it is still running (the build failed or was interrupted)."""
        if self._process.is_alive() and self._result is None:
            self._process.terminate()
        self._process.join()
        self._from_child.close()

    def _relay(self) -> None:
        while self._result is None and self._from_child.poll():
            self._receive()

    def _receive(self) -> None:
        try:
            kind, *body = self._from_child.recv()
        except EOFError:
            raise RuntimeError(
                f"the process making the search index stopped (exit code {self._process.exitcode})"
            ) from None
        if kind == "progress" and self._progress is not None:
            self._progress(*body)
        elif kind == "first":
            self._first = (body[0],)
        elif kind in ("error", "done"):
            for record in body[-1]:
                logging.getLogger("digest").handle(record)
            if kind == "error":
                raise body[0]
            self._result = (body[0], body[1])


def _make_in_child(
    make: MakePages,
    first: Callable[[ContentCache], Any] | None,
    memo: PageMemo,
    cache: ContentCache,
    writes: list[tuple[str, str, Callable[[], bytes]]],
    to_parent: Connection,
    report: bool,
) -> None:
    # The parent's SQLite connection is left alone (never used, nor closed, across a fork).
    own = ContentCache(cache.root, cache.clock)
    own.deferring = True  # written once the pages are sent
    memo.pending = {}
    warnings = CapturedRecords(logging.INFO)
    logger = logging.getLogger("digest")
    logger.handlers, logger.propagate = [warnings], False  # the parent reports and counts them
    outbox = _Outbox(to_parent)

    def progress(stage: str, done: int, total: int) -> None:
        outbox.put(("progress", stage, done, total))

    try:
        if first is not None:
            outbox.put(("first", first(own)))
        pages = [
            Page(page.path, b"", unchanged=True) if page.unchanged else page
            for page in make(own, progress if report else None)
        ]
        message: tuple[Any, ...] = ("done", pages, memo.pending)
    except Exception as err:
        message = ("error", sendable_error(err))
    for record in warnings.records:  # picklable: the message formatted, no arguments
        record.msg, record.args, record.exc_info = record.getMessage(), None, None
    # The parent reads the pages once it has rendered its own: until then, the cache writes.
    outbox.put((*message, warnings.records))
    try:
        own.write_later(writes)
        own.close()
    finally:
        outbox.close()


class _Outbox:
    """Messages to the parent, sent in order by a thread: the parent reads the map only once
    it has related the papers, and a send blocks until the pipe's buffer is read, so sent
    from here the child sat idle (0.3-0.4 s of a 10,000-paper rebuild) instead of making
    the search index."""

    def __init__(self, to_parent: Connection) -> None:
        self._queue: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._send, args=(to_parent,), daemon=True)
        self._thread.start()

    def put(self, message: tuple[Any, ...]) -> None:
        self._queue.put(message)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _send(self, to_parent: Connection) -> None:
        while (message := self._queue.get()) is not None:
            to_parent.send(message)
