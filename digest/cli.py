"""The ``digest`` command: a thin shell that turns arguments into a Config and reports.

Exit codes: 0 success; 1 warnings were reported under --strict; 2 bad command line or
config; 3 the build failed (template error, unsafe output folder, I/O error); 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from jinja2 import TemplateError, TemplateSyntaxError

from digest import __version__
from digest.config import ConfigError, load_config
from digest.output import OutputError

EXIT_OK, EXIT_STRICT, EXIT_USAGE, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

log = logging.getLogger("digest")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    _setup_logging(quiet=getattr(args, "quiet", False))
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digest",
        description="Turn a folder of research-paper abstracts into a browsable, searchable "
        "static website: keyphrases per paper, papers grouped into named themes, search.",
        epilog="Exit codes: 0 ok, 1 warnings under --strict, 2 bad command line or config, "
        "3 build failed, 130 interrupted.",
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


def _setup_logging(quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LevelFormatter())
    log.handlers[:] = [handler]
    log.setLevel(logging.WARNING if quiet else logging.INFO)
    log.propagate = False


class _LevelFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.levelno >= logging.WARNING:
            return f"{record.levelname.lower()}: {message}"
        return message


def _run_build(args: argparse.Namespace) -> int:
    from digest.build import build

    try:
        config = load_config(
            args.config,
            sources=tuple(args.source) if args.source else None,
            out=args.out,
            strict=args.strict,
            quiet=args.quiet,
        )
    except ConfigError as err:
        log.error("%s", err)
        return EXIT_USAGE
    progress = None if config.quiet or not sys.stderr.isatty() else ProgressBar()
    try:
        report = build(config, progress)
    except TemplateSyntaxError as err:
        log.error(
            "%s:%s: template syntax error: %s", err.filename or err.name, err.lineno, err.message
        )
        return EXIT_FAILED
    except TemplateError as err:
        log.error("template error: %s", err)
        return EXIT_FAILED
    except OutputError as err:
        log.error("%s", err)
        return EXIT_FAILED
    except OSError as err:
        log.error("%s", err)
        return EXIT_FAILED
    finally:
        if progress:
            progress.close()
    if not config.quiet:
        print(report.summary(), file=sys.stdout)
    if config.strict and report.warnings:
        log.error("--strict: %d warning(s) reported; failing the build", report.warnings)
        return EXIT_STRICT
    return EXIT_OK


class ProgressBar:
    """One line on a terminal, redrawn in place: stage, count, rate and time left."""

    def __init__(self) -> None:
        self.started: dict[str, float] = {}
        self.drawn = False

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        start = self.started.setdefault(stage, now)
        rate = done / (now - start) if now > start and done else 0.0
        eta = f"{(total - done) / rate:.0f} s left" if rate and done < total else ""
        width = 30
        filled = int(width * done / total) if total else width
        bar = "█" * filled + "·" * (width - filled)
        line = f"\r{stage:<12} {bar} {done}/{total}  {rate:.0f}/s  {eta}"
        sys.stderr.write(line.ljust(78))
        sys.stderr.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            sys.stderr.write("\r" + " " * 78 + "\r")
            sys.stderr.flush()
