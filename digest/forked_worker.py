"""A worker forked when a rebuild starts, warmed up while the build reads its inputs.

A rebuild after one edit extracts keyphrases from one abstract. That takes milliseconds, but
importing YAKE (and networkx, which it imports) and loading lemminflect's lexicon first took
~0.5 s of the build process's time. Forked at the start, a worker does that on the second core
while the build process reads and merges the papers, then takes the few uncached abstracts.
Like ``forked_pages``, used only where forking is safe (no other thread).
"""

from __future__ import annotations

import multiprocessing
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

Chunk = Callable[[Sequence[Any]], list[Any]]


def can_fork(workers: int) -> bool:
    """Linux only: on macOS forking a process that loaded system frameworks (numpy's
    Accelerate) may crash the child, and Windows cannot fork."""
    return workers > 1 and sys.platform.startswith("linux") and threading.active_count() == 1


def start_forked(target: Callable[..., None], *args: Any, name: str) -> BaseProcess:
    """``target(*args)`` in a forked child that ignores Ctrl-C: the build process stops it."""
    process = multiprocessing.get_context("fork").Process(
        target=_without_ctrl_c, args=(target, *args), name=name
    )
    process.start()
    return process


def _without_ctrl_c(target: Callable[..., None], *args: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    target(*args)


class ForkedWorker:
    """Runs ``fn(chunk)`` calls in one child process, which ran ``warm()`` first."""

    def __init__(self, warm: Callable[[], None]) -> None:
        self._conn, child = multiprocessing.Pipe()
        self._process = start_forked(_serve, warm, child, name="digest-forked-worker")
        child.close()

    def run(self, fn: Chunk, chunks: Sequence[Sequence[Any]]) -> Iterator[list[Any]]:
        """Each chunk's results, in order, computed in the child."""
        for chunk in chunks:
            self._conn.send((fn, chunk))
            try:
                ok, value = self._conn.recv()
            except EOFError:
                raise RuntimeError(
                    f"the forked worker stopped (exit code {self._process.exitcode})"
                ) from None
            if not ok:
                raise value
            yield value

    def close(self) -> None:
        with suppress(OSError):
            self._conn.send(None)
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()
        self._conn.close()


@contextmanager
def forked_worker(warm: Callable[[], None], wanted: bool) -> Iterator[ForkedWorker | None]:
    """A ``ForkedWorker`` if ``wanted`` (see ``can_fork``), else ``None``."""
    worker = ForkedWorker(warm) if wanted else None
    try:
        yield worker
    finally:
        if worker is not None:
            worker.close()


def _serve(warm: Callable[[], None], conn: Connection) -> None:
    with suppress(Exception):  # the work itself will say what is wrong
        warm()
    while True:
        try:
            job = conn.recv()
        except EOFError:  # the build process went away
            return
        if job is None:
            return
        fn, chunk = job
        try:
            reply: tuple[bool, Any] = (True, fn(chunk))
        except Exception as err:
            reply = (False, sendable_error(err))
        conn.send(reply)


def sendable_error(err: Exception) -> Exception:
    """``err``, or a plain error saying the same if it cannot be pickled to the parent."""
    try:
        pickle.loads(pickle.dumps(err))
    except Exception:
        return RuntimeError(f"{type(err).__name__}: {err}")
    return err
