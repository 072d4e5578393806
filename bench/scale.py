"""How digest scales: cold, warm and one-edit builds of N arXiv papers on this machine, their
peak memory, the site's and the search index's size, against plain YAKE on all cores and Hugo
building the same papers, all in one run so the ratios compare like with like.

    python bench/scale.py [--sizes 1000,10000] [--include-100k] [--data PATH]
                          [--keep DIR] [--profile-warm FILE] [--no-hugo] [--no-browser]
                          [--cold-only] [--backend yake|yake-rust]
    python bench/scale.py --search-timing SITE      (only the Chromium timing of a built site)

For each N, in a fresh folder: the first N lines of the arXiv sample are written there as JSON
Lines (nothing is copied into the repository), the code is snapshotted (the caches are keyed by
the code, so a colleague's edit mid-run would turn a warm build cold), and
``digest.build.build`` runs in a child process four times with one cache folder: cold (empty
cache), warm (nothing changed), after one abstract was edited (of a paper outside the sample the
themes are fitted on), and after one more (of a paper inside it, which refits the themes). A
child process per build is what lets the peak memory and CPU time include the keyphrase workers:
the parent samples the whole process tree from /proc. The machine is shared, so every timing
comes with its CPU time and the load average: a wall time that grew while its CPU time did not
was someone else's work. Each build also reports seconds per pipeline stage, timed inside the
child by wrapping digest.build's calls.
100,000 papers take hours on two cores, so that size runs only when named in ``--sizes`` or
asked for with ``--include-100k``.
"""

from __future__ import annotations

import argparse
import compileall
import gzip
import importlib
import importlib.abc
import importlib.util
import json
import multiprocessing
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote_plus

# Appended, not inserted: a build's child process must import the snapshot on PYTHONPATH.
sys.path.append(str(Path(__file__).resolve().parents[1]))
# lunr and digest.search are imported where the search is timed, not here: this file is also
# the child that runs each build, and a warm build must pay only the imports the CLI pays.

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "arxiv-109k.jsonl.gz"
DEFAULT_SIZES = "1000,10000"
BIG = 100_000
QUERY = "black hole"
MAX_RESULTS = 50  # static/search.js shows (and loads document shards for) the first 50…
FIRST_SHOWN = 10  # …and shows the first 10 as soon as their document shards are in
YAKE_CHUNK = 64
SAMPLE_SECONDS = 0.25  # a /proc scan costs ~8 ms: sampled at 0.1 s it took 4% of two cores
CHROMIUM = Path("/usr/bin/chromium")
MB = 1_000_000
# The floors, checked where this bench measures the figure.
FLOOR_COLD_OVER_YAKE = 1.2
FLOOR_REBUILD_SECONDS = 2.0
FLOOR_PEAK_BYTES = 1.5e9
FLOOR_FIRST_QUERY_GZIP = 2 * MB
FLOOR_FIRST_RESULTS_SECONDS = 1.0
FLOOR_BIG_PEAK_BYTES = 6e9  # at 100,000 papers the cold build must fit in 6 GB…
FLOOR_BIG_FIRST_RESULTS_SECONDS = 3.0  # …and search still answer within 3 s


# --- one build, in a child process ------------------------------------------------------------


class StageClock:
    """Seconds per pipeline stage, each exclusive of the stages it calls: ``write_site`` pulls
    pages from the render and search generators, so its own time is only the writing."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        # The build process's RSS high-water mark when a stage last ended: the first stage
        # whose figure jumps is the one that raised the peak.
        self.peak_after: dict[str, int] = {}
        self._stack: list[list[float]] = []

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        self._stack.append([0.0])
        try:
            yield
        finally:
            self._stage_ended(name, started)
            self.peak_after[name] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` timed; an iterator it returns is timed item by item, as it is consumed."""

        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.stage(name):
                result = fn(*args, **kwargs)
            return self._timed_items(name, result) if isinstance(result, Iterator) else result

        return timed

    def _timed_items(self, name: str, items: Iterator[Any]) -> Iterator[Any]:
        """As ``stage`` times, without its context manager and memory reading per item: at
        ~18,000 pages through two timed stages, those cost ~0.2 s of the rebuild timed."""
        while True:
            started = time.perf_counter()
            self._stack.append([0.0])
            try:
                item = next(items)
            except BaseException as ended:
                self._stage_ended(name, started)
                self.peak_after[name] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
                if isinstance(ended, StopIteration):
                    return
                raise
            self._stage_ended(name, started)
            yield item

    def _stage_ended(self, name: str, started: float) -> None:
        inner = self._stack.pop()[0]
        elapsed = time.perf_counter() - started
        self.seconds[name] += elapsed - inner
        if self._stack:
            self._stack[-1][0] += elapsed


# Names that digest.pipeline calls, by stage. Only names present are wrapped: the pipeline is
# being changed by others, and a renamed function should cost a row, not the run.
STAGES = {
    "load": ("load_records",),
    "merge": ("merge_records",),
    "keyphrases": ("extract_keyphrases",),
    "themes": ("group_themes",),
    "assemble/related": ("assemble_digest",),
    "render": ("render_site",),
    "search index": ("build_search_index",),
    "catalog/feeds/sitemap": ("build_catalog", "build_feeds", "with_sitemap"),
    "write": ("write_site",),
}
STATE_STAGES = {
    "themes": ("reuse_themes",),
    "theme map": ("reuse_theme_map",),
    "setup": ("begin", "environment", "commit"),
}
# Inside those stages: the per-paper half (YAKE, lunr's pipeline; on all cores when uncached),
# so "keyphrases" and "search index" keep only their corpus-wide half; and the cache's I/O.
SUB_STAGES = {
    "keyphrases: per paper (pool)": (("digest.keyphrases", "cached_map"),),
    "search index: per paper (pool)": (("digest.search_terms", "cached_map"),),
    # On a rebuild the search index, catalog and feeds are made in a forked process while this
    # one renders (digest.forked_pages); this is the time the build process waited for them.
    "search/catalog/feeds: waited for second process": (
        ("digest.forked_pages", "ForkedPages.pages"),
    ),
    # ... which lays out the theme map first; the time this one waited for it.
    "theme map: waited for second process": (("digest.forked_pages", "ForkedPages.first"),),
    "cache read/write (SQLite)": (
        ("digest.cache", "ContentCache.get_many"),
        ("digest.cache", "ContentCache.put_many"),
    ),
}


def instrument(pipeline_module: ModuleType, state_class: type, clock: StageClock) -> None:
    for stage, names in STAGES.items():
        for name in names:
            _wrap_attribute(pipeline_module, name, stage, clock)
    for stage, names in STATE_STAGES.items():
        for name in names:
            _wrap_attribute(state_class, name, stage, clock)
    for stage, places in SUB_STAGES.items():
        for module_name, dotted in places:
            owner: Any = importlib.import_module(module_name)
            *path, name = dotted.split(".")
            for part in path:
                owner = getattr(owner, part, None)
            _wrap_attribute(owner, name, stage, clock)


def when_imported(name: str, then: Callable[[ModuleType], None]) -> None:
    """Call ``then(module)`` once module ``name`` is first imported, just after it runs."""

    class Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
            if fullname != name:
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(fullname)
            loader = spec.loader if spec else None
            if loader is not None:
                run_module = loader.exec_module

                def exec_module(module: ModuleType) -> None:
                    run_module(module)
                    then(module)

                loader.exec_module = exec_module  # type: ignore[method-assign]
            return spec

    sys.meta_path.insert(0, Finder())


def _wrap_attribute(owner: Any, name: str, stage: str, clock: StageClock) -> None:
    if owner is not None and hasattr(owner, name):
        setattr(owner, name, clock.wrap(stage, getattr(owner, name)))


def run_one_build(src: Path, out: Path, cache_dir: Path, backend: str = "yake") -> None:
    """The child's side: one real build, its report and stage times as one JSON line."""
    from digest import build as build_module
    from digest.config import Config

    clock = StageClock()

    def instrument_pipeline(pipeline_module: ModuleType) -> None:
        from digest.build_state import BuildState

        instrument(pipeline_module, BuildState, clock)

    # Only a build that runs the pipeline imports it (and numpy, scikit-learn, Jinja): a warm
    # build must be timed without those imports, as the command line runs it.
    when_imported("digest.pipeline", instrument_pipeline)
    config = Config(sources=(src,), out=out, cache_dir=cache_dir, keyphrase_backend=backend)
    report = build_module.build(config)
    stages = dict(clock.seconds)
    stages["other"] = report.seconds - sum(stages.values())
    peaks = {name: clock.peak_after[name] for name in stages if name in clock.peak_after}
    summary = {
        "records": report.records,
        "papers": report.papers,
        "themes": report.themes,
        "written": report.pages_written,
        "unchanged": report.pages_unchanged,
        "warnings": report.warnings,
        "seconds": report.seconds,
        "stages": stages,
        "peak_after": peaks,
    }
    print(json.dumps(summary))


# --- running a child and watching its memory --------------------------------------------------


@dataclass
class Measured:
    """A child process's wall time, and its and its descendants' peak memory and CPU time."""

    seconds: float
    peak_process: int  # bytes: the largest single process (its high-water mark)
    peak_tree: int  # bytes: the largest sampled sum of RSS over the process tree
    # bytes: the largest sampled sum of PSS, which counts a page shared by forked processes
    # once (split between them) where the RSS sum counts it in each
    peak_tree_pss: int
    cpu_seconds: float  # user + system over the tree: what the work costs, busy machine or not
    load: float  # the machine's 1-minute load average as the child ended: others' work too
    stdout: str


def measured(command: Sequence[str], cwd: Path, env: dict[str, str]) -> Measured:
    """Runs ``command``; its memory is sampled from /proc, because ``ru_maxrss`` of a child
    counts only processes that were waited for, and the fork server's workers are not ours."""
    log = cwd / "child.out"
    err = cwd / "child.err"
    with log.open("w") as out, err.open("w") as errors:
        started = time.perf_counter()
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=errors)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        sampler.stop()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({proc.returncode}):\n{err.read_text()}")
    peak_process = max(usage.ru_maxrss * 1024, sampler.peak_process)
    cpu = max(usage.ru_utime + usage.ru_stime, sampler.cpu_seconds())
    peak_tree = max(sampler.peak_tree, peak_process)
    load = os.getloadavg()[0]
    return Measured(
        seconds, peak_process, peak_tree, sampler.peak_tree_pss, cpu, load, log.read_text()
    )


class TreeSampler(threading.Thread):
    """Every SAMPLE_SECONDS: the summed RSS of a process and all its descendants, each one's
    high-water mark (VmHWM catches peaks between samples for processes still alive) and CPU
    time (a process's last sample counts, so one that ends loses under SAMPLE_SECONDS)."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True, name="rss-sampler")
        self.root = root
        self.peak_tree = 0
        self.peak_tree_pss = 0
        self.peak_process = 0
        self._cpu_ticks: dict[int, int] = {}
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(SAMPLE_SECONDS):
            total = total_pss = 0
            for pid in _descendants(self.root):
                rss, hwm = _rss_and_hwm(pid)
                total += rss
                total_pss += _pss(pid, rss)
                self.peak_process = max(self.peak_process, hwm)
                self._cpu_ticks[pid] = max(self._cpu_ticks.get(pid, 0), _cpu_ticks(pid))
            self.peak_tree = max(self.peak_tree, total)
            self.peak_tree_pss = max(self.peak_tree_pss, total_pss)

    def cpu_seconds(self) -> float:
        return sum(self._cpu_ticks.values()) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self._done.set()
        self.join()


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = defaultdict(list)
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(f"/proc/{entry.name}/stat").read_text()
            except OSError:
                continue
            children[int(stat.rsplit(")", 1)[1].split()[1])].append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def _cpu_ticks(pid: int) -> int:
    """utime + stime of one process, in clock ticks (fields 14 and 15 of /proc/PID/stat)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _pss(pid: int, rss: int) -> int:
    """The process's proportional set size (its RSS where the kernel does not report it)."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return rss
    found = re.search(r"^Pss:\s+(\d+) kB", rollup, re.MULTILINE)
    return int(found.group(1)) * 1024 if found else rss


def _rss_and_hwm(pid: int) -> tuple[int, int]:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0, 0
    fields = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.MULTILINE))
    return int(fields.get("VmRSS", 0)) * 1024, int(fields.get("VmHWM", 0)) * 1024


# --- the bench of one size --------------------------------------------------------------------


@dataclass
class BuildRun:
    measured: Measured
    report: dict[str, Any]

    @property
    def seconds(self) -> float:
        return self.measured.seconds


@dataclass
class SearchSize:
    files: int
    raw: int
    gzip: int
    term_shards: int
    query_terms: list[int]
    query_docs: list[int]
    query_raw: int
    query_gzip: int
    page_raw: int  # search.html and what it loads before the index: lunr, search.js, CSS
    page_gzip: int


@dataclass
class Browser:
    seconds: float
    term_shards: int
    doc_shards: int
    timeline: str


@dataclass
class Hugo:
    first: Measured
    second: Measured
    pages: int


@dataclass
class Figures:
    size: int
    cold: BuildRun
    warm: BuildRun
    rebuild: BuildRun  # one abstract edited, of a paper outside the theme sample
    rebuild_sample: BuildRun  # then one of a paper inside it: the themes are refitted
    html_pages: int
    site_bytes: int
    search: SearchSize
    yake: Measured
    browser: Browser | str
    hugo: Hugo | str
    backend: str


def bench(size: int, args: argparse.Namespace) -> Figures:
    """Every figure of one size, in one work folder, in the order that keeps them honest:
    site and index sizes from the cold build, the browser after the builds, YAKE and Hugo last
    so their processes never share the machine with a build."""
    with _work_folder(size, args.keep) as work:
        src = work / "papers" / "papers.jsonl"
        write_corpus(args.data, size, src)
        env = _child_env(snapshot(work / "code"))
        build = partial(_build, size=size, src=src, work=work, env=env, backend=args.backend)
        cold = build("cold build")
        site = work / "site"
        html = sum(1 for _ in site.rglob("*.html"))
        site_bytes = folder_bytes(site)
        search = search_size(site, QUERY)
        warm = build("warm build")
        edit_one_abstract(src, in_theme_sample=False)
        rebuild = build("rebuild after one edit outside the theme sample")
        edit_one_abstract(src, in_theme_sample=True)
        rebuild_sample = build("rebuild after one edit inside the theme sample")
        if args.profile_warm:
            build("warm build under cProfile", profile=profile_path(args.profile_warm, size))
        browser = "not measured (--no-browser)" if args.no_browser else first_results(site)
        _say(f"{size}: plain YAKE on {os.cpu_count()} processes…")
        yake = measured(
            [sys.executable, str(Path(__file__).resolve()), "--run-yake", str(src)], work, env
        )
        hugo = "not measured (--no-hugo)" if args.no_hugo else hugo_build(work, site, env)
        return Figures(
            size,
            cold,
            warm,
            rebuild,
            rebuild_sample,
            html,
            site_bytes,
            search,
            yake,
            browser,
            hugo,
            args.backend,
        )


def bench_cold_only(size: int, args: argparse.Namespace) -> str:
    """The cold build alone, its memory, output and search: what 100,000 papers must show
    (completing within 6 GB, search within 3 s) without the hours the other figures take."""
    with _work_folder(size, args.keep) as work:
        src = work / "papers" / "papers.jsonl"
        write_corpus(args.data, size, src)
        env = _child_env(snapshot(work / "code"))
        cold = _build("cold build", size=size, src=src, work=work, env=env, backend=args.backend)
        site = work / "site"
        html = sum(1 for _ in site.rglob("*.html"))
        output_bytes = folder_bytes(site)  # measured here: the work folder goes with the block
        search = search_size(site, QUERY)
        browser = first_results(site) if not args.no_browser else "not measured (--no-browser)"
    peak = cold.measured.peak_tree
    rows = [
        ("figure", "value", "issue floor at 100,000"),
        ("---", "---", "---"),
        ("cold build (empty cache)", _build_cell(cold), "completes"),
        ("peak RSS, largest single process (MB)", f"{cold.measured.peak_process / MB:,.0f}", ""),
        (
            "peak RSS, build + workers summed (MB)",
            f"{peak / MB:,.0f}",
            _floor(peak <= FLOOR_BIG_PEAK_BYTES, "≤ 6 GB"),
        ),
        ("output", f"{output_bytes / MB:,.1f} MB, {html:,} HTML pages", ""),
        ("pages per second (HTML pages / cold s)", f"{html / cold.seconds:,.0f}", ""),
        (
            "search index",
            f"{search.raw / MB:,.2f} MB raw, {search.gzip / MB:,.2f} MB gzip; "
            f"{search.files:,} files",
            "",
        ),
        (
            f'first query "{QUERY}": bytes before results',
            f"{(search.query_gzip + search.page_gzip) / 1e3:,.0f} kB gzip",
            "",
        ),
        (
            "first results in Chromium after a cold page load",
            browser if isinstance(browser, str) else f"{browser.seconds:.2f} s",
            ""
            if isinstance(browser, str)
            else _floor(browser.seconds <= FLOOR_BIG_FIRST_RESULTS_SECONDS, "≤ 3 s"),
        ),
    ]
    stages = cold.report["stages"]
    stage_lines = ", ".join(f"{k} {v:.0f} s" for k, v in stages.items() if v >= 1)
    table_text = "\n".join("| " + " | ".join(row) + " |" for row in rows)
    return f"{table_text}\n\nCold build() stages: {stage_lines}"


@contextmanager
def _work_folder(size: int, keep: Path | None) -> Iterator[Path]:
    """A temporary folder, or DIR/N with --keep, to look at the sites and caches afterwards."""
    if keep is not None:
        folder = keep.resolve() / str(size)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        yield folder
        return
    with tempfile.TemporaryDirectory(prefix=f"digest-scale-{size}-") as name:
        yield Path(name)


def _build(
    label: str,
    *,
    size: int,
    src: Path,
    work: Path,
    env: dict[str, str],
    backend: str = "yake",
    profile: Path | None = None,
) -> BuildRun:
    """One build in a child process (optionally under cProfile), with its report."""
    _say(f"{size:,} records: {label}…")
    command = [sys.executable]
    if profile is not None:
        command += ["-m", "cProfile", "-o", str(profile)]
    command += [str(Path(__file__).resolve()), "--run-build", str(src), str(work / "site")]
    command += [str(work / "cache"), backend]
    run = measured(command, work, env)
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    return BuildRun(run, json.loads(lines[-1]))


def profile_path(given: Path, size: int) -> Path:
    """FILE becomes FILE-N (before the suffix), so several sizes don't overwrite each other."""
    given = given.resolve()
    return given.with_name(f"{given.stem}-{size}{given.suffix}")


def snapshot(folder: Path) -> Path:
    """The code as it is now, for the children to import: caches are keyed by the code.
    Compiled to bytecode, as an installed package is (pip compiles on install): a machine
    with PYTHONDONTWRITEBYTECODE set would otherwise compile it in every build (~0.2 s)."""
    for name in ("digest", "templates", "static"):
        shutil.copytree(REPO / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
    compileall.compile_dir(folder / "digest", quiet=1)
    return folder


def _child_env(code: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("DIGEST_CACHE_DIR", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(code), env.get("PYTHONPATH")]))
    return env


def write_corpus(data: Path, size: int, target: Path) -> None:
    """The first ``size`` records, as they are."""
    if not data.is_file():
        raise SystemExit(f"{data}: not found (the arXiv sample lives in shared/data)")
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with gzip.open(data, "rt", encoding="utf-8") as source, target.open("w") as out:
        for line in source:
            if written >= size:
                break
            out.write(line)
            written += 1
    if written < size:
        raise SystemExit(f"{data} has only {written} records; asked for {size}")


def edit_one_abstract(path: Path, in_theme_sample: bool) -> None:
    """The first paper from the middle on that is (or is not) in the sample the themes are
    fitted on gains a sentence, saved the way editors save (write, then rename). Only an edit
    inside the sample refits the themes, so both are measured rather than whichever the
    middle paper happens to be."""
    from digest.themes import sampled_ids

    lines = path.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    sampled = sampled_ids(r["id"] for r in records)
    matching = (
        n
        for n in range(len(lines) // 2, len(lines))
        if (records[n]["id"] in sampled) == in_theme_sample
    )
    middle = next(matching, len(lines) // 2)  # up to 3,000 papers the sample is all of them
    record = records[middle]
    record["abstract"] = "We revisit this question with a bench edit. " + record["abstract"]
    lines[middle] = json.dumps(record, ensure_ascii=False)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
    temporary.replace(path)


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _gzip_size(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6, mtime=0))


# --- the search index: its size and what one query downloads ----------------------------------


def search_size(site: Path, query: str) -> SearchSize:
    """The index's size on disk and over the wire (gzip, as any static host serves it), and
    what the first ``query`` on a fresh page downloads: the page and its scripts, the
    manifest, the term shards of its terms and the document shards of its shown results."""
    from digest.search import term_shard_path

    folder = site / "search"
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    contents = {p.name: p.read_bytes() for p in files}
    manifest = _payload(contents["manifest.js"].decode(), "window.DIGEST_SEARCH=", ";")
    terms = query_term_shards(manifest, query)
    docs = query_doc_shards(manifest, terms, folder, query, FIRST_SHOWN)
    shards = [Path(term_shard_path(manifest["shards"][n][3])).name for n in terms]
    wanted = ["manifest.js"] + shards + [f"docs-{n}.js" for n in docs]
    page = _search_page_files(site)
    return SearchSize(
        files=len(files),
        raw=sum(len(c) for c in contents.values()),
        gzip=sum(_gzip_size(c) for c in contents.values()),
        term_shards=len(manifest["shards"]),
        query_terms=terms,
        query_docs=docs,
        query_raw=sum(len(contents[name]) for name in wanted),
        query_gzip=sum(_gzip_size(contents[name]) for name in wanted),
        page_raw=sum(len(p.read_bytes()) for p in page),
        page_gzip=sum(_gzip_size(p.read_bytes()) for p in page),
    )


def query_term_shards(manifest: dict[str, Any], query: str) -> list[int]:
    """static/search.js's rule: each query term through lunr's pipeline, then the shards whose
    [first, last] term range holds it. (search.js stems only; pipeline_term also drops stop
    words, which changes nothing for a query of content words.)"""
    import lunr

    from digest.search_terms import pipeline_term

    parsed = lunr.query.Query(manifest["fields"])
    lunr.query_parser.QueryParser(query, parsed).parse()
    needed: set[int] = set()
    for clause in parsed.clauses:
        term = pipeline_term(clause.term) if clause.use_pipeline else clause.term
        if term:
            needed.update(
                n for n, (first, last, *_) in enumerate(manifest["shards"]) if first <= term <= last
            )
    return sorted(needed)


def query_doc_shards(
    manifest: dict[str, Any], terms: Sequence[int], folder: Path, query: str, first: int
) -> list[int]:
    """The document shards of the ``first`` results, ranked by lunr over exactly the loaded
    term shards, as the browser does."""
    import lunr

    from digest.search import merge_shards, shard_prefix, term_shard_path

    bodies = []
    for number in terms:
        key = manifest["shards"][number][3]
        text = (folder.parent / term_shard_path(key)).read_text(encoding="utf-8")
        bodies.append(_payload(text, shard_prefix(key).decode(), ");"))
    index = lunr.index.Index.load(
        {
            "version": manifest["lunr"],
            "fields": manifest["fields"],
            "pipeline": manifest["pipeline"],
            **merge_shards(bodies),
        }
    )
    results = index.search(query)[:first]
    return sorted({int(r["ref"], 36) // manifest["docsPerShard"] for r in results})


def _payload(script: str, prefix: str, suffix: str) -> Any:
    """The JSON inside one of the index's scripts (they call a global: see digest/search.py)."""
    body = script.strip()
    if not (body.startswith(prefix) and body.endswith(suffix)):
        raise SystemExit(f"unexpected search script: {body[:60]!r}…")
    return json.loads(body[len(prefix) : -len(suffix)])


def _search_page_files(site: Path) -> list[Path]:
    page = site / "search.html"
    html = page.read_text(encoding="utf-8")
    refs = re.findall(r'<(?:script src|link rel="stylesheet" href)="([^"]+)"', html)
    return [page] + [site / r for r in refs if not r.startswith("search/")]


# --- the comparisons ---------------------------------------------------------------------------


@cache
def _extractor() -> Any:
    import yake

    return yake.KeywordExtractor(lan="en", n=3, top=10)


def yake_chunk(texts: Sequence[str]) -> int:
    for text in texts:
        _extractor().extract_keywords(text)
    return len(texts)


def run_plain_yake(src: Path) -> None:
    """The child's side: plain YAKE over the corpus' abstracts on every core. It runs as a
    child like the builds, so its wall time includes start-up and pool start as theirs do, and
    its CPU time is measured the same way."""
    abstracts = [json.loads(line)["abstract"] for line in src.open(encoding="utf-8")]
    chunks = [abstracts[i : i + YAKE_CHUNK] for i in range(0, len(abstracts), YAKE_CHUNK)]
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=os.cpu_count(), mp_context=context) as pool:
        done = sum(pool.map(yake_chunk, chunks))
    assert done == len(abstracts)


HUGO_CONFIG = """\
baseURL = "http://localhost/"
title = "Hugo comparison"
disableKinds = ["RSS", "sitemap", "robotsTXT"]
paginate = 500
relativeURLs = true
[taxonomies]
  topic = "topics"
  keyword = "keywords"
"""
HUGO_LAYOUTS = {
    "_default/baseof.html": (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ .Title }}</title>'
        '</head><body>{{ block "main" . }}{{ end }}</body></html>\n'
    ),
    # Term links from .Params, not .GetTerms: in Hugo 0.111 each .GetTerms looks its term
    # pages up at a cost that grows with the site (25 ms a page at 10,000 papers, 8x slower).
    "_default/single.html": (
        '{{ define "main" }}<h1>{{ .Title }}</h1><p>{{ .Date.Format "2006-01-02" }}</p><ul>'
        '{{ range .Params.topics }}<li><a href="{{ "topics/" | relURL }}{{ . | urlize }}/">'
        '{{ . }}</a></li>{{ end }}</ul><ul>{{ range .Params.keywords }}<li><a href="'
        '{{ "keywords/" | relURL }}{{ . | urlize }}/">{{ . }}</a></li>{{ end }}</ul>'
        "<div>{{ .Content }}</div>{{ end }}\n"
    ),
    "_default/list.html": (
        '{{ define "main" }}<h1>{{ .Title }}</h1><ul>{{ range (.Paginate .Pages).Pages }}'
        '<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}</ul>'
        '{{ template "_internal/pagination.html" . }}{{ end }}\n'
    ),
    "index.html": (
        '{{ define "main" }}<h1>{{ .Site.Title }}</h1><ul>{{ range .Site.Taxonomies.topics }}'
        '<li><a href="{{ .Page.RelPermalink }}">{{ .Page.Title }}</a> ({{ .Count }})</li>'
        "{{ end }}</ul>{{ end }}\n"
    ),
}


def hugo_build(work: Path, site: Path, env: dict[str, str]) -> Hugo | str:
    """The same papers as a Hugo site: a page per paper, theme and shared keyphrase (as
    taxonomies), paginated lists. Built twice: the second run is Hugo's warm figure."""
    if shutil.which("hugo") is None:
        return "Hugo is unavailable (apt-get install hugo); skipped"
    source = work / "hugo"
    papers_json = json.loads((site / "papers.json").read_text("utf-8"))["papers"]
    write_hugo_site(source, papers_json)
    command = ["hugo", "--quiet", "--source", str(source), "--destination", str(work / "hugo-out")]
    _say(f"{len(papers_json):,} papers: Hugo, first build…")
    first = measured(command, work, env)
    _say(f"{len(papers_json):,} papers: Hugo, second build…")
    second = measured(command, work, env)
    return Hugo(first, second, sum(1 for _ in (work / "hugo-out").rglob("*.html")))


def write_hugo_site(source: Path, papers: Sequence[dict[str, Any]]) -> None:
    (source / "content" / "papers").mkdir(parents=True)
    (source / "config.toml").write_text(HUGO_CONFIG, encoding="utf-8")
    for name, text in HUGO_LAYOUTS.items():
        (source / "layouts" / name).parent.mkdir(parents=True, exist_ok=True)
        (source / "layouts" / name).write_text(text, encoding="utf-8")
    shared = Counter(k for p in papers for k in set(p["keyphrases"]))
    for paper in papers:
        front = {
            "title": paper["title"],
            "topics": [paper["theme"]["name"]] if paper.get("theme") else [],
            "keywords": [k for k in paper["keyphrases"] if shared[k] >= 2],
        }
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", paper.get("date") or ""):
            front["date"] = paper["date"]
        name = re.sub(r"[^A-Za-z0-9._-]", "-", paper["id"])
        text = json.dumps(front, ensure_ascii=False, indent=1) + "\n\n" + paper["abstract"] + "\n"
        (source / "content" / "papers" / f"{name}.md").write_text(text, encoding="utf-8")


# --- search in a real browser -----------------------------------------------------------------


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log in the bench's output."""


# Notes, in the page's own clock, when the first result appears.
FIRST_RESULT_PROBE = """
new MutationObserver(function (_, observer) {
  if (document.querySelector("#search-results li")) {
    window.__firstResult = performance.now();
    observer.disconnect();
  }
}).observe(document, { childList: true, subtree: true });
"""
TIMELINE = """() => ({
  first: window.__firstResult,
  ready: performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd,
  resources: performance.getEntriesByType("resource").map(
    e => [new URL(e.name).pathname, e.startTime, e.responseEnd])
})"""


def first_results(site: Path) -> Browser | str:
    """How long a reader waits for the first result of QUERY: search.html opened in a fresh
    Chromium context, timed in the page from navigation start, with the page's own timeline.
    Served from this machine, uncompressed: network time comes on top."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "not measured: playwright is not installed"
    if not CHROMIUM.exists():
        return f"not measured: {CHROMIUM} not found"
    with _served(site) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        browser.new_page().goto("about:blank")  # the browser's own start-up is not search's
        page = browser.new_context().new_page()
        page.add_init_script(FIRST_RESULT_PROBE)
        page.goto(f"{base}search.html?q={quote_plus(QUERY)}")
        page.wait_for_selector("#search-results li", timeout=60_000)
        page.wait_for_function("window.__firstResult !== undefined")
        timeline = page.evaluate(TIMELINE)
        browser.close()
    return _browser_figures(timeline)


@contextmanager
def _served(site: Path) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def _browser_figures(timeline: dict[str, Any]) -> Browser:
    """When the page was ready, when its term and document shards had arrived, and when the
    first result was shown: the gaps between them are fetching, lunr's work and rendering."""
    resources = timeline["resources"]
    terms = [r for r in resources if re.search(r"/search/terms-\w+\.js$", r[0])]
    docs = [r for r in resources if re.search(r"/search/docs-\d+\.js$", r[0])]
    steps = [
        f"page ready {timeline['ready']:.0f} ms",
        f"term shards in {max((r[2] for r in terms), default=0):.0f} ms",
        f"doc shards asked {min((r[1] for r in docs), default=0):.0f}, "
        f"in {max((r[2] for r in docs), default=0):.0f} ms",
        f"first result {timeline['first']:.0f} ms",
    ]
    return Browser(timeline["first"] / 1000, len(terms), len(docs), "; ".join(steps))


# --- the report -------------------------------------------------------------------------------


def table(f: Figures) -> str:
    cold = f.cold.seconds
    rows = [
        ("figure", "value", "÷ cold build", "issue floor"),
        ("---", "---", "---", "---"),
        ("cold build (empty cache)", _build_cell(f.cold), "1.00", _yake_floor(f)),
        (
            "warm build (no change)",
            _build_cell(f.warm),
            _ratio(f.warm.seconds, cold),
            _hugo_floor(f),
        ),
        (
            "rebuild after one changed abstract, outside the theme sample",
            _build_cell(f.rebuild),
            _ratio(f.rebuild.seconds, cold),
            _floor(f.rebuild.seconds <= FLOOR_REBUILD_SECONDS, f"≤ {FLOOR_REBUILD_SECONDS:g} s"),
        ),
        (
            "… then one inside it (themes refitted)",
            _build_cell(f.rebuild_sample),
            _ratio(f.rebuild_sample.seconds, cold),
            _floor(
                f.rebuild_sample.seconds <= FLOOR_REBUILD_SECONDS,
                f"≤ {FLOOR_REBUILD_SECONDS:g} s",
            ),
        ),
        *_memory_rows(f),
        ("output size", f"{f.site_bytes / MB:,.1f} MB ({f.html_pages:,} HTML pages)", "", ""),
        *_search_rows(f),
        ("pages per second (HTML pages / cold s)", f"{f.html_pages / cold:,.0f}", "", ""),
        (
            f"plain YAKE (n=3, top=10), {os.cpu_count()} processes",
            _timing(f.yake),
            _ratio(f.yake.seconds, cold),
            f"cold ÷ YAKE = {cold / f.yake.seconds:.2f}× wall, "
            f"{f.cold.measured.cpu_seconds / f.yake.cpu_seconds:.2f}× CPU",
        ),
        *_hugo_rows(f),
    ]
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def _build_cell(run: BuildRun) -> str:
    r = run.report
    return (
        f"{_timing(run.measured)}; build() {r['seconds']:.2f} s; "
        f"{r['written']:,} written, {r['unchanged']:,} unchanged"
    )


def _timing(m: Measured) -> str:
    """Wall time, then CPU time and the load: on a shared machine a wall time that grew with
    the load, CPU time unchanged, was someone else's work."""
    return f"{m.seconds:.2f} s (CPU {m.cpu_seconds:.1f} s, load {m.load:.1f})"


def _ratio(value: float, cold: float) -> str:
    return f"{value / cold:.3f}"


def _floor(ok: bool, text: str) -> str:
    return f"{text}: {'ok' if ok else 'MISSED'}"


def _yake_floor(f: Figures) -> str:
    ratio = f.cold.seconds / f.yake.seconds
    if f.backend != "yake":
        return f"{ratio:.2f}× plain YAKE, built with {f.backend}: not the floor's comparison"
    return _floor(ratio <= FLOOR_COLD_OVER_YAKE, f"≤ {FLOOR_COLD_OVER_YAKE}× YAKE ({ratio:.2f}×)")


def _hugo_floor(f: Figures) -> str:
    if isinstance(f.hugo, str):
        return "faster than Hugo: not measured"
    return _floor(f.warm.seconds < f.hugo.second.seconds, "faster than Hugo")


def _memory_rows(f: Figures) -> list[tuple[str, str, str, str]]:
    runs = {"cold": f.cold, "warm": f.warm, "rebuild": f.rebuild, "refit": f.rebuild_sample}
    largest = ", ".join(f"{k} {v.measured.peak_process / MB:,.0f}" for k, v in runs.items())
    tree = ", ".join(f"{k} {v.measured.peak_tree / MB:,.0f}" for k, v in runs.items())
    pss = ", ".join(f"{k} {v.measured.peak_tree_pss / MB:,.0f}" for k, v in runs.items())
    worst = max(v.measured.peak_tree_pss for v in runs.values())
    return [
        ("peak RSS, largest single process (MB)", largest, "", ""),
        ("peak RSS, build + workers summed (MB; shared pages counted in each)", tree, "", ""),
        (
            "peak memory, build + workers: summed PSS (MB)",
            pss,
            "",
            _floor(worst <= FLOOR_PEAK_BYTES, f"≤ {FLOOR_PEAK_BYTES / 1e9:g} GB"),
        ),
    ]


def _search_rows(f: Figures) -> list[tuple[str, str, str, str]]:
    s = f.search
    first_gzip = s.query_gzip + s.page_gzip
    rows = [
        (
            "search index (site/search/)",
            f"{s.raw / MB:,.2f} MB raw, {s.gzip / MB:,.2f} MB gzip; {s.files:,} files, "
            f"{s.term_shards:,} term shards",
            "",
            "",
        ),
        (
            f'first query "{QUERY}": manifest + index shards before the first results',
            f"{len(s.query_terms)} term shards {s.query_terms} + {len(s.query_docs)} doc shards "
            f"(the first {FIRST_SHOWN} results'): "
            f"{s.query_raw / 1e3:,.0f} kB raw, {s.query_gzip / 1e3:,.0f} kB gzip",
            "",
            "",
        ),
        (
            "… plus search.html, lunr.js, search.js, CSS",
            f"{(s.query_raw + s.page_raw) / 1e3:,.0f} kB raw, {first_gzip / 1e3:,.0f} kB gzip",
            "",
            _floor(first_gzip <= FLOOR_FIRST_QUERY_GZIP, "≤ 2 MB gzip"),
        ),
    ]
    if isinstance(f.browser, str):
        rows.append(("first results in Chromium", f.browser, "", ""))
    else:
        b = f.browser
        rows.append(
            (
                "first results in Chromium (loopback, uncompressed)",
                f"{b.seconds:.2f} s ({b.term_shards} term + {b.doc_shards} doc shards "
                f"fetched; {b.timeline})",
                "",
                _floor(b.seconds <= FLOOR_FIRST_RESULTS_SECONDS, "≤ 1 s"),
            )
        )
    return rows


def _hugo_rows(f: Figures) -> list[tuple[str, str, str, str]]:
    if isinstance(f.hugo, str):
        return [("Hugo, same papers", f.hugo, "", "")]
    h = f.hugo
    return [
        (
            f"Hugo 1st / 2nd build ({h.pages:,} HTML pages)",
            f"{_timing(h.first)} / {_timing(h.second)}; peak {h.second.peak_tree / MB:,.0f} MB",
            _ratio(h.second.seconds, f.cold.seconds),
            f"digest warm ÷ Hugo = {f.warm.seconds / h.second.seconds:.2f}×",
        )
    ]


def stage_table(f: Figures) -> str:
    """Exclusive seconds per stage inside build() for each of the three builds, the process's
    own start-up (interpreter, imports) outside it, and where each build's peak grew."""
    runs = (f.cold, f.warm, f.rebuild, f.rebuild_sample)
    order = _stage_order()
    names = sorted(
        {n for run in runs for n in run.report["stages"]},
        key=lambda n: (order.index(n) if n in order else len(order), n),
    )
    lines = [
        "| stage | cold s | warm s | rebuild s | refit s | build process RSS peak after it, MB "
        "(cold / warm / rebuild / refit) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name in names:
        cells = [f"{run.report['stages'].get(name, 0.0):.2f}" for run in runs]
        peaks = [run.report["peak_after"].get(name) for run in runs]
        cells.append(" / ".join(f"{p / MB:,.0f}" if p else "–" for p in peaks))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    totals = [f"{run.report['seconds']:.2f}" for run in runs]
    lines.append("| **build() total** | " + " | ".join(totals) + " | |")
    startup = [f"{run.seconds - run.report['seconds']:.2f}" for run in runs]
    lines.append("| process start-up, imports, exit | " + " | ".join(startup) + " | |")
    return "\n".join(lines)


def _stage_order() -> list[str]:
    """Pipeline order, each stage's per-paper half just before it."""
    order = ["setup"]
    for stage in STAGES:
        order += [sub for sub in SUB_STAGES if sub.startswith(f"{stage}:")] + [stage]
    return order + [sub for sub in SUB_STAGES if ":" not in sub] + ["other"]


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- command line -----------------------------------------------------------------------------


def sizes(text: str, include_big: bool) -> list[int]:
    chosen = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    if include_big and BIG not in chosen:
        chosen.append(BIG)
    return chosen


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="comma-separated paper counts")
    parser.add_argument("--include-100k", action="store_true", help=f"also run {BIG:,} papers")
    parser.add_argument("--data", type=Path, default=DATA, help="arXiv JSON Lines (.gz)")
    parser.add_argument("--keep", type=Path, help="keep each size's work folder under DIR")
    parser.add_argument(
        "--profile-warm", type=Path, help="also profile a warm build, to FILE-N for N records"
    )
    parser.add_argument("--no-hugo", action="store_true", help="skip the Hugo comparison")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium timing")
    parser.add_argument(
        "--cold-only", action="store_true", help="only the cold build, memory, output, search"
    )
    parser.add_argument(
        "--search-timing", type=Path, metavar="SITE", help="only time search on a built site"
    )
    parser.add_argument(
        "--backend",
        default="yake",
        choices=("yake", "yake-rust"),
        help="keyphrase_backend of the builds (plain YAKE, the baseline, is always yake)",
    )
    parser.add_argument("--run-build", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--run-yake", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run_build:
        src, out, cache_dir, backend = args.run_build
        run_one_build(Path(src), Path(out), Path(cache_dir), backend)
        from digest.cli import exit_now

        exit_now(0)  # as the command ends
    if args.run_yake:
        run_plain_yake(args.run_yake)
        return 0
    if args.search_timing:
        print(first_results(args.search_timing))
        return 0
    for size in sizes(args.sizes, args.include_100k):
        if args.cold_only:
            print(f"\n### {size:,} records, cold build only\n\n{bench_cold_only(size, args)}")
            continue
        figures = bench(size, args)
        papers = figures.cold.report["papers"]
        print(f"\n### {size:,} records ({papers:,} papers after merging duplicates)\n")
        print(table(figures))
        print(f"\nWhere build() spends its time ({size:,} records):\n")
        print(stage_table(figures), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
