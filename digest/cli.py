"""The ``digest`` command: a thin shell that turns arguments into a Config and reports.

Exit codes: 0 success; 1 warnings were reported under --strict; 2 bad command line or
config; 3 the build failed (template error, unsafe output folder, I/O error); 4 publish or
init-ci could not finish (not a git repository, unknown remote, push refused, workflow file
exists); 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from digest import __version__
from digest.config import Config, ConfigError, load_config
from digest.output import OutputError

EXIT_OK, EXIT_STRICT, EXIT_USAGE, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_PUBLISH = 4

log = logging.getLogger("digest")


def run() -> None:
    """The console command."""
    exit_now(main())


def exit_now(code: int) -> NoReturn:
    """Out of the process without tearing the interpreter down: teardown frees every object
    left in module caches and imported libraries one by one (0.3 s after a 10,000-paper
    rebuild), and nothing is left to do once a command has returned: its files are in place,
    the cache is closed, and logs and output are flushed here. (Instagram's servers skip it
    the same way.)"""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or EXIT_FAILED
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    restore = _setup_logging(quiet=getattr(args, "quiet", False))
    try:
        return args.run(args)
    except KeyboardInterrupt:
        log.error("interrupted; the previous site is untouched")
        return EXIT_INTERRUPTED
    except Exception as err:
        if os.environ.get("DIGEST_DEBUG"):
            raise
        log.error(
            "internal error: %s: %s (set DIGEST_DEBUG=1 to see where)", type(err).__name__, err
        )
        return EXIT_FAILED
    finally:
        restore()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digest",
        description="Turn a folder of research-paper abstracts into a browsable, searchable "
        "static website: keyphrases per paper, papers grouped into named themes, search.",
        epilog="Exit codes: 0 ok, 1 warnings under --strict, 2 bad command line or config, "
        "3 build failed, 4 publishing failed, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"digest {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    build = commands.add_parser(
        "build",
        help="build the site",
        description="Read every paper file under the source folders and write the site.",
        epilog="Exit codes: 0 ok, 1 warnings under --strict, 2 bad command line or config, "
        "3 build failed, 130 interrupted.",
    )
    _add_build_options(build)
    build.set_defaults(run=_run_build)
    _add_publish_commands(commands)
    _add_serve_command(commands)
    return parser


def _add_build_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source",
        metavar="DIR",
        type=Path,
        nargs="+",
        action="extend",
        help="folder (or file) of papers to read; repeat for several (default: seeds/, "
        "or 'sources' in digest.toml)",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        help="folder to write the site to (default: site/); a non-empty folder that digest "
        "did not create is never replaced",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        help="config file (default: digest.toml in the current folder, if present)",
    )
    parser.add_argument(
        "--base-url",
        metavar="URL",
        help="absolute URL the site is published at (overrides base_url in digest.toml)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        default=None,
        help="exit with code 1 if any warning was reported (bad input files, lines, …)",
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        default=None,
        help="print only warnings and errors (no progress, no summary)",
    )


def _setup_logging(quiet: bool) -> Callable[[], None]:
    """Our messages to stderr for this command; the returned function puts logging back, so
    calling ``main()`` from Python (tests, scripts) leaves no trace on the host's logging."""
    saved = (log.handlers[:], log.level, log.propagate)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LevelFormatter())
    log.handlers[:] = [handler]
    log.setLevel(logging.WARNING if quiet else logging.INFO)
    log.propagate = False

    def restore() -> None:
        log.handlers[:] = saved[0]
        log.setLevel(saved[1])
        log.propagate = saved[2]

    return restore


class _LevelFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.levelno >= logging.WARNING:
            return f"{record.levelname.lower()}: {message}"
        return message


def _run_build(args: argparse.Namespace) -> int:
    try:
        config = _config_from_args(args)
    except ConfigError as err:
        log.error("%s", err)
        return EXIT_USAGE
    return _build_site(config)


def _config_from_args(args: argparse.Namespace) -> Config:
    return load_config(
        args.config,
        sources=tuple(args.source) if args.source else None,
        out=args.out,
        base_url=args.base_url,
        strict=args.strict,
        quiet=args.quiet,
    )


def _build_site(config: Config) -> int:
    """Builds and reports; the exit code says how it went."""
    from digest.build import build

    progress: ProgressBar | ProgressLog | None = None
    if not config.quiet:
        progress = ProgressBar() if sys.stderr.isatty() else ProgressLog()
    try:
        report = build(config, progress)
    except Exception as err:
        expected = isinstance(err, (OutputError, OSError))
        problem = _template_problem(err) or (str(err) if expected else None)
        if problem is None:
            raise
        log.error("%s", problem)
        return EXIT_FAILED
    finally:
        if isinstance(progress, ProgressBar):
            progress.close()
    if not config.quiet:
        print(report.summary(), file=sys.stdout)
    if config.strict and report.warnings:
        log.error("--strict: %d warning(s) reported; failing the build", report.warnings)
        return EXIT_STRICT
    return EXIT_OK


def _template_problem(err: Exception) -> str | None:
    """The one line for a template error, or ``None`` for any other error. Jinja is looked up,
    not imported: a build that found its site up to date never loads it (nor can raise its
    errors)."""
    jinja2 = sys.modules.get("jinja2")
    if jinja2 is None:
        return None
    if isinstance(err, jinja2.TemplateSyntaxError):
        return f"{err.filename or err.name}:{err.lineno}: template syntax error: {err.message}"
    if isinstance(err, jinja2.TemplateError):
        return f"template error: {err}"
    return None


def _add_publish_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    epilog = (
        "Exit codes: 0 ok, 1 warnings under --strict (nothing published), 2 bad command line "
        "or config, 3 build failed, 4 publishing failed, 130 interrupted."
    )
    publish = commands.add_parser(
        "publish",
        help="build the site and push it to the gh-pages branch (GitHub Pages)",
        description="Build the site, commit it as the whole content of a branch of the current "
        "git repository (adding .nojekyll, and CNAME when 'cname' is configured) and push it. "
        "Your working tree, index and current branch are not touched.",
        epilog=epilog,
    )
    _add_build_options(publish)
    publish.add_argument("--remote", default="origin", help="remote to push to (default: origin)")
    publish.add_argument(
        "--branch", default="gh-pages", help="branch to publish to (default: gh-pages)"
    )
    publish.add_argument("--message", metavar="TEXT", help="commit message")
    publish.add_argument(
        "--dry-run",
        action="store_true",
        help="build and say what would be published; commit nothing, push nothing",
    )
    publish.set_defaults(run=_run_publish)
    init_ci = commands.add_parser(
        "init-ci",
        help="write a GitHub Actions workflow that deploys the site to GitHub Pages",
        description="Write .github/workflows/digest.yml (run it at the top of your repository).",
        epilog="Exit codes: 0 written, 4 the file exists (use --force).",
    )
    init_ci.add_argument("--force", action="store_true", help="replace an existing workflow file")
    init_ci.set_defaults(run=_run_init_ci)


def _run_publish(args: argparse.Namespace) -> int:
    from digest.publish import PublishError, find_target, publish_site

    try:
        config = _config_from_args(args)
    except ConfigError as err:
        log.error("%s", err)
        return EXIT_USAGE
    try:
        target = find_target(Path.cwd(), args.remote, args.branch)
        code = _build_site(config)
        if code != EXIT_OK:
            return code
        result = publish_site(config.out, target, args.message, config.cname, args.dry_run)
    except PublishError as err:
        log.error("%s", err)
        return EXIT_PUBLISH
    if not config.quiet or args.dry_run:
        print(result.summary(), file=sys.stdout)
    return EXIT_OK


def _run_init_ci(args: argparse.Namespace) -> int:
    from digest.ci_workflow import WORKFLOW_PATH, WorkflowExists, write_workflow

    try:
        write_workflow(Path.cwd(), force=args.force)
    except (WorkflowExists, OSError) as err:
        log.error("%s", err)
        return EXIT_PUBLISH
    print(
        f"Wrote {WORKFLOW_PATH}. Commit and push it, then set Settings → Pages → "
        "Source: GitHub Actions once.",
        file=sys.stdout,
    )
    return EXIT_OK


def _add_serve_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve",
        help="build, serve on this machine and rebuild on every change",
        description="Build the site, serve it at http://127.0.0.1:8000/ and watch the sources, "
        "templates, static files and config: each burst of changes is rebuilt once (only "
        "what changed) and open pages reload by themselves. Ctrl-C stops it.",
        epilog="Exit codes: 0 stopped, 2 bad command line or config, 3 cannot serve.",
    )
    _add_build_options(serve)
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this machine only)",
    )
    serve.add_argument(
        "--port",
        type=int,
        default=8000,
        help="port to listen on (default: 8000; if taken, a free one is used; 0: any free one)",
    )
    serve.add_argument("--open", action="store_true", help="open the site in a web browser")
    serve.add_argument(
        "--debounce",
        type=float,
        metavar="SECONDS",
        help="wait this long after the last change before rebuilding (default: 0.1)",
    )
    serve.set_defaults(run=_run_serve)


def _run_serve(args: argparse.Namespace) -> int:
    from digest.serve import ServeOptions, exit_now, serve

    options = ServeOptions(
        host=args.host, port=args.port, open_browser=args.open, config_file=args.config
    )
    if args.debounce is not None:
        options = ServeOptions(**{**vars(options), "debounce": max(args.debounce, 0.0)})
    try:
        exit_now(serve(lambda: _config_from_args(args), options))
    except ConfigError as err:
        log.error("%s", err)
        return EXIT_USAGE
    except OSError as err:
        log.error("cannot serve on %s port %s: %s", args.host, args.port, err.strerror or err)
        return EXIT_FAILED


class ProgressBar:
    """One line on a terminal, redrawn in place: stage, count, rate and time left."""

    REDRAW_SECONDS = 0.1  # stages report every item; a terminal needs far fewer redraws

    def __init__(self) -> None:
        self.started: dict[str, float] = {}
        self.drawn = False
        self.drawn_at = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        start = self.started.setdefault(stage, now)
        if done < total and now - self.drawn_at < self.REDRAW_SECONDS:
            return
        self.drawn_at = now
        width = 30
        filled = int(width * done / total) if total else width
        bar = "█" * filled + "·" * (width - filled)
        line = f"\r{stage:<12} {bar} {_progress_text(done, total, now - start)}"
        sys.stderr.write(line.ljust(78))
        sys.stderr.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            sys.stderr.write("\r" + " " * 78 + "\r")
            sys.stderr.flush()


class ProgressLog:
    """Progress for a log rather than a terminal (CI, ``nohup``): a stage still running after
    ``first`` seconds gets a line then and every ``every`` seconds, and one when it ends, so
    an hour-long build is never silent; a short stage prints nothing."""

    def __init__(self, first: float = 15.0, every: float = 60.0) -> None:
        self.first, self.every = first, every
        self.started: dict[str, float] = {}
        self.due: dict[str, float] = {}  # when a running stage may print again
        self.ended: set[str] = set()

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        start = self.started.setdefault(stage, now)
        if stage in self.ended:
            return
        long_enough = now - start >= self.first
        if done >= total:
            self.ended.add(stage)
        elif not long_enough or now < self.due.get(stage, 0.0):
            return
        if long_enough:
            self.due[stage] = now + self.every
            print(
                f"{stage}: {_progress_text(done, total, now - start)}", file=sys.stderr, flush=True
            )


def _progress_text(done: int, total: int, seconds: float) -> str:
    rate = done / seconds if seconds > 0 and done else 0.0
    if done >= total:
        return f"{done:,}/{total:,} in {seconds:.0f} s"
    left = f", {(total - done) / rate:.0f} s left" if rate else ""
    return f"{done:,}/{total:,}  {rate:.0f}/s{left}"
