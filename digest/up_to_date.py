"""Skipping a build whose inputs and output are exactly as the last build left them.

A build reads every input, so it can only be as fast as its slowest unchanged stage; a
make-style check is faster: hash the inputs (sources, templates, static files, config, code,
library versions, ``SOURCE_DATE_EPOCH``) and stat the output. When both match what the last
successful build into this folder recorded, the site on disk is the one a build would write,
byte for byte, and the build is done: its warnings are given again, so ``--strict`` still fails.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import asdict, dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from digest.cache import ContentCache, content_key
from digest.config import Config
from digest.fingerprint import Fingerprinter, code_fingerprint, folder_fingerprint
from digest.output import MARKER, WriteStats, folder_entries
from digest.resources import builtin_dir, template_dirs

log = logging.getLogger("digest")

_LIBRARIES = (
    "jinja2",
    "markdown-it-py",
    "yake",
    "yake-rust",
    "lemminflect",
    "lunr",
    "scikit-learn",
    "scipy",
    "numpy",
)


@dataclass(frozen=True)
class BuildRecord:
    """What the last successful build into one folder was made from, and what it reported."""

    inputs: str
    output: str
    records: int
    papers: int
    themes: int
    keyphrase_pages: int
    files: int
    warnings: tuple[tuple[int, str], ...]


def input_fingerprint(config: Config) -> str:
    """Every byte a build reads, and every setting and version that shapes what it writes."""
    steering = replace(config, strict=False, quiet=False, workers=0)
    hasher = hashlib.sha256(Fingerprinter().digest(steering))
    hasher.update(code_fingerprint().encode())
    hasher.update(os.environ.get("SOURCE_DATE_EPOCH", "").strip().encode() + b"\0")
    for name in _LIBRARIES:
        hasher.update(f"{name}={_version(name)}\0".encode())
    hasher.update(folder_fingerprint([*template_dirs(config), builtin_dir("static")]).encode())
    for source in config.sources:
        hasher.update(_source_fingerprint(Path(source)).encode())
    return hasher.hexdigest()


SiteFiles = dict[str, tuple[int, int, int]]  # path in the site: size, mtime (ns), inode


def site_files(out: Path) -> SiteFiles | None:
    """Every file of the site folder, as ``output_fingerprint`` sees it (``None`` if the
    folder cannot be read)."""
    try:
        return {rel: _seen(entry.stat()) for rel, entry in folder_entries(out) if entry.is_file()}
    except OSError:
        return None


def output_fingerprint(out: Path) -> str:
    """Names, sizes and modification times of every file in the site folder: any edit, removal
    or addition there (by a person or another tool) means the folder must be built again."""
    return files_fingerprint(site_files(out))


def files_fingerprint(files: SiteFiles | None) -> str:
    if files is None:
        return ""
    hasher = hashlib.sha256()
    for rel in sorted(files):
        size, mtime, inode = files[rel]
        hasher.update(f"{rel}\0{size}\0{mtime}\0{inode}\n".encode())
    return hasher.hexdigest()


def output_after_write(out: Path, before: SiteFiles | None, stats: WriteStats) -> str:
    """``output_fingerprint`` after a build that found ``before`` in the site folder, reading
    only what it wrote: every other file is the one ``before`` saw, moved in place or linked
    into the new folder (a copy, where links fail, only reads as changed on the next build,
    which then checks the files it keeps). A file edited by someone while the build ran reads
    as changed too, where a walk after the build would have taken it for the build's own."""
    if before is None:
        return output_fingerprint(out)
    files = dict(before)
    for rel in stats.removed:
        files.pop(rel, None)
    for rel in [*stats.staged, MARKER]:
        try:
            files[rel] = _seen(os.stat(out / rel))
        except OSError:
            files.pop(rel, None)
    return files_fingerprint(files)


def _seen(stat: os.stat_result) -> tuple[int, int, int]:
    return (stat.st_size, stat.st_mtime_ns, stat.st_ino)


def unchanged_build(config: Config, cache: ContentCache, inputs: str) -> BuildRecord | None:
    """The last build's record when nothing it depended on has changed since; else ``None``."""
    key = _record_key(config)
    record = _record_from_json(cache.get_many([key]).get(key))
    if record is None or record.inputs != inputs or not config.out.is_dir():
        return None
    if record.output != output_fingerprint(config.out):
        return None
    for level, message in record.warnings:
        log.log(level, "%s", message)
    return record


def output_intact(config: Config, cache: ContentCache, files: SiteFiles | None) -> bool:
    """Whether every file of the site folder (``files``, from ``site_files``) is as the last
    successful build into it left it (names, sizes, times, inodes), so a rebuild may take the
    files it keeps on trust."""
    key = _record_key(config)
    record = _record_from_json(cache.get_many([key]).get(key))
    return record is not None and record.output == files_fingerprint(files)


def remember_build(config: Config, cache: ContentCache, record: BuildRecord) -> None:
    cache.put_many({_record_key(config): asdict(record)})


def _record_key(config: Config) -> str:
    return content_key("last-build", 1, str(config.out.resolve()))


def _record_from_json(data: Any) -> BuildRecord | None:
    try:
        fields = {**data, "warnings": tuple((int(a), str(b)) for a, b in data["warnings"])}
        return BuildRecord(**fields)
    except (KeyError, TypeError, ValueError):
        return None


def _source_fingerprint(source: Path) -> str:
    if source.is_file():
        return hashlib.sha256(str(source).encode() + b"\0" + source.read_bytes()).hexdigest()
    return folder_fingerprint([source])


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"
