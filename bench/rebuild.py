"""How fast digest rebuilds: a cold build, a warm second build, and save-to-reload under serve.

    python bench/rebuild.py [--sizes seeds,10000] [--data PATH] [--edits N]

For each corpus (the seeds, or the first N papers of the arXiv sample, written as JSON Lines to
a temporary folder; nothing is copied into the repository), in a fresh folder with an empty
cache: ``digest build`` (cold), ``digest build`` again (warm: cached keyphrases, themes and
page records), then ``digest serve`` while one abstract is edited and saved (written beside the
file and renamed over it, as editors do); the time from the save to the reload event on the
server-sent event stream is what a writer waits for. Then one save lands while the full build
after the save before it runs, as when a writer edits paper after paper: its wait is timed too.
Each figure is shown with its ratio to the cold build of the same run.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "arxiv-109k.jsonl.gz"
FLOORS = {  # corpus size → (warm/cold ratio ceiling, save-to-reload ceiling in seconds)
    "seeds": (None, 0.5),
    "10000": (0.25, 2.0),
}


@dataclass(frozen=True)
class Result:
    corpus: str
    papers: int
    cold: float
    warm: float
    reload: float  # to the first reload: the edited paper's pages, refreshed
    settled: float  # to the reload after the full build: the whole site up to date
    during: float  # a save while the full build of the one before runs, to its first reload
    rebuild_log: str

    def row(self) -> str:
        warm_ratio, reload_ratio = self.warm / self.cold, self.reload / self.cold
        return (
            f"| {self.corpus} | {self.papers} | {self.cold:.1f} s | {self.warm:.1f} s "
            f"({warm_ratio:.0%}) | {self.reload:.2f} s ({reload_ratio:.1%}) "
            f"| {self.settled:.2f} s ({self.settled / self.cold:.1%}) "
            f"| {self.during:.2f} s | {self.verdict()} |"
        )

    def verdict(self) -> str:
        warm_floor, reload_floor = FLOORS.get(self.corpus, (None, None))
        notes = []
        if warm_floor is not None:
            ok = self.warm <= warm_floor * self.cold
            notes.append(f"warm ≤ {warm_floor:.0%}: {'ok' if ok else 'MISSED'}")
        if reload_floor is not None:
            # The floor is on the reload a writer waits for after a save, whether the save
            # came while serve was idle or while a full build ran; the full build's own
            # reload follows and is shown, not judged.
            for label, seconds in (("save → reload", self.reload), ("during", self.during)):
                ok = seconds <= reload_floor
                notes.append(f"{label} ≤ {reload_floor} s: {'ok' if ok else 'MISSED'}")
        return "; ".join(notes) or "no floor"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="seeds,10000", help="comma-separated: seeds or N")
    parser.add_argument("--data", type=Path, default=DATA, help="arXiv JSON Lines (.gz)")
    parser.add_argument("--edits", type=int, default=3, help="saves timed per corpus (median)")
    args = parser.parse_args()
    results = [_bench(size.strip(), args.data, args.edits) for size in args.sizes.split(",")]
    print()
    print(
        "| corpus | papers | cold build | warm build (÷ cold) | save → first reload, edited "
        "pages (÷ cold) | save → reload after the full build (÷ cold) | save during that "
        "full build → first reload | floor |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for result in results:
        print(result.row())
    print()
    for result in results:
        print(f"{result.corpus}: serve's builds:\n  {result.rebuild_log}")
    return 0


def _bench(size: str, data: Path, edits: int) -> Result:
    with tempfile.TemporaryDirectory(prefix=f"digest-bench-{size}-") as folder:
        work = Path(folder)
        corpus = work / "papers"
        edit = _write_corpus(size, corpus, data)
        code = _snapshot(work / "code")
        env = {**os.environ, "DIGEST_CACHE_DIR": str(work / "cache"), "PYTHONUNBUFFERED": "1"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(code), env.get("PYTHONPATH")]))
        command = [sys.executable, "-m", "digest"]
        options = ["--source", "papers", "--out", "site", "--quiet"]
        print(f"{size}: cold build…", file=sys.stderr, flush=True)
        cold = _timed(lambda: _run([*command, "build", *options], work, env))
        print(f"{size}: warm build…", file=sys.stderr, flush=True)
        warm = _timed(lambda: _run([*command, "build", *options], work, env))
        papers = len(json.loads((work / "site" / "papers.json").read_text())["papers"])
        print(f"{size}: save → reload under serve…", file=sys.stderr, flush=True)
        with _serving([*command, "serve", *options, "--port", "0"], work, env) as server:
            server.wait_until_prepared()
            times = [server.save_to_reload(lambda n=n: edit(n)) for n in range(edits)]
            during = server.save_during_build(lambda: edit(edits), lambda: edit(edits + 1))
            rebuild_log = server.build_lines()
        first = statistics.median(t[0] for t in times)
        settled = statistics.median(t[1] for t in times)
        return Result(size, papers, cold, warm, first, settled, during, rebuild_log)


def _snapshot(folder: Path) -> Path:
    """The code as it is now: caches are keyed by the code, so an edit to the working tree in
    the middle of a run would turn the warm build into a cold one."""
    for name in ("digest", "templates", "static"):
        shutil.copytree(REPO / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def _write_corpus(size: str, corpus: Path, data: Path) -> Callable[[int], None]:
    """Writes the corpus; returns a function that edits (and saves) abstract number n."""
    if size == "seeds":
        shutil.copytree(REPO / "seeds", corpus)
        target = corpus / "003_e5ba666f4ce3f3d9.txt"
        lines = _lines_said_once(corpus, target)
        return lambda n: _save(
            target, _edit_plain(target.read_text(encoding="utf-8"), lines[n % len(lines)])
        )
    corpus.mkdir(parents=True)
    target = corpus / "papers.jsonl"
    with gzip.open(data, "rt", encoding="utf-8") as source, target.open("w") as out:
        for number, line in enumerate(source):
            if number >= int(size):
                break
            out.write(line)
    return lambda n: _save(target, _edit_jsonl(target.read_text(encoding="utf-8"), n))


def _lines_said_once(corpus: Path, target: Path) -> list[int]:
    """Lines of ``target`` whose abstract no other line repeats: editing one copy of a repeated
    abstract splits it off as a new paper, which is an addition, not an edit of a shown page."""
    counts: dict[str, int] = {}
    for path in corpus.iterdir():
        for line in path.read_text(encoding="utf-8").split("\n"):
            counts[line.strip()] = counts.get(line.strip(), 0) + 1
    lines = target.read_text(encoding="utf-8").split("\n")
    return [i for i, line in enumerate(lines) if line.strip() and counts[line.strip()] == 1]


def _edit_plain(text: str, index: int) -> str:
    lines = text.split("\n")
    lines[index] = "Edited by the bench. " + lines[index]
    return "\n".join(lines)


def _edit_jsonl(text: str, n: int) -> str:
    lines = text.split("\n")
    index = (len(lines) // 2 + n) % len(lines)
    record = json.loads(lines[index])
    record["abstract"] = f"Edit {n} of the bench. " + record["abstract"]
    lines[index] = json.dumps(record, ensure_ascii=False)
    return "\n".join(lines)


def _save(path: Path, text: str) -> None:
    """The way editors save: write a temporary file beside it, then rename it over the file."""
    temporary = path.with_name(f".{path.name}.bench-tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> None:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")


def _timed(action: Callable[[], None]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


class _Server:
    def __init__(self, proc: subprocess.Popen[str], port: int, log: Path) -> None:
        self.proc, self.port, self.log = proc, port, log

    def wait_until_prepared(self) -> None:
        """serve primes its in-memory state after an up-to-date first build; edits made
        before that are previewed only after it, which a writer sees once per session."""
        deadline = time.monotonic() + 3600
        while "ready for fast previews" not in self.log.read_text():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit(f"serve never got ready:\n{self.log.read_text()[-2000:]}")
            time.sleep(0.1)

    def save_to_reload(self, save: Callable[[], None]) -> tuple[float, float]:
        """Seconds from the save to the first reload event, and to the full build's."""
        with self._reloads() as reloads:
            time.sleep(0.3)
            started = time.perf_counter()
            save()
            first = None
            for preview in reloads:
                now = time.perf_counter() - started
                first = now if first is None else first
                if not preview:
                    return first, now
        raise SystemExit("the event stream ended")

    def save_during_build(self, save: Callable[[], None], save_again: Callable[[], None]) -> float:
        """Seconds from a save made while the full build of the save before runs (0.2 s after
        that one's first reload) to the reload that shows it: what a writer making edit after
        edit waits for, whether serve stops that build or waits for it."""
        with self._reloads() as reloads:
            time.sleep(0.3)
            save()
            started = None
            for preview in reloads:
                if preview and started is not None:
                    seconds = time.perf_counter() - started
                    next(p for p in reloads if not p)  # the server is idle again
                    return seconds
                if preview:
                    time.sleep(0.2)
                    started = time.perf_counter()
                    save_again()
        raise SystemExit("the event stream ended")

    @contextmanager
    def _reloads(self) -> Iterator[Iterator[bool]]:
        """The server's reload events from now on, each as whether it is a preview's; a
        failed build ends the bench."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        conn.request("GET", "/__digest__/events")
        events = _sse(conn.getresponse())
        next(events)

        def reloads() -> Iterator[bool]:
            for kind, data in events:
                if kind == "failed":
                    raise SystemExit(f"the rebuild failed:\n{self.log.read_text()[-2000:]}")
                if kind == "reload":
                    yield bool(json.loads(data or "{}").get("preview"))

        try:
            yield reloads()
        finally:
            conn.close()

    def build_lines(self) -> str:
        lines = [
            line
            for line in self.log.read_text().splitlines()
            if line.startswith(("build ", "preview "))
        ]
        return "\n  ".join(lines) if lines else "(none)"


def _sse(response: http.client.HTTPResponse) -> Iterator[tuple[str, str]]:
    """(event, data) pairs of a server-sent event stream."""
    kind, data = "", ""
    for raw in response:
        line = raw.decode("utf-8").rstrip("\n")
        if line.startswith("event:"):
            kind = line[6:].strip()
        elif line.startswith("data:"):
            data = line[5:].strip()
        elif not line and kind:
            yield kind, data
            kind, data = "", ""


@contextmanager
def _serving(command: list[str], cwd: Path, env: dict[str, str]) -> Iterator[_Server]:
    log = cwd / "serve.log"
    # The bench needs serve's per-build lines, so not --quiet.
    command = [part for part in command if part != "--quiet"]
    with log.open("w") as log_file:
        proc = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=log_file, text=True
        )
        try:
            port = _wait_for_url(proc.stdout)
            yield _Server(proc, port, log)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _wait_for_url(stream: IO[str] | None) -> int:
    assert stream is not None
    found: list[int] = []

    def read() -> None:
        for line in stream:
            if match := re.match(r"Serving http://[^:]+:(\d+)/", line):
                found.append(int(match.group(1)))

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + 3600
    while not found:
        if time.monotonic() > deadline:
            raise SystemExit("digest serve did not start")
        time.sleep(0.05)
    return found[0]


if __name__ == "__main__":
    raise SystemExit(main())
