"""Markdown, one paper per file: YAML (``---``) or TOML (``+++``) front matter, body = abstract."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from digest.diagnostics import warn_at
from digest.model import Record, Source
from digest.sources.metadata import record_fields
from digest.sources.textfile import BOM, name_suffix, read_text

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

SUFFIXES = (".md", ".markdown")
_CLOSERS = {"---": ("---", "..."), "+++": ("+++",)}
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column \d+\)|\s*\(at end of document\)")
_INLINE_TEXT = frozenset({"text", "code_inline", "image"})
_BLOCK_TEXT = frozenset({"code_block", "fence"})
_BREAKS = frozenset({"softbreak", "hardbreak"})


@cache
def _markdown() -> MarkdownIt:
    """Raw HTML off: abstracts come from files anyone may have written, and end up on a public
    site. Imported on first use, with YAML: a corpus without Markdown never needs them (~40 ms
    of every build's start)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False})


def sniff(path: Path, head: str) -> bool:
    """Front matter decides whatever the name; a ``.md`` name alone means a body-only paper."""
    first_line = head.removeprefix(BOM).split("\n", 1)[0].rstrip()
    return first_line in _CLOSERS or name_suffix(path) in SUFFIXES


def read(path: Path, display: str) -> Iterator[Record]:
    text = read_text(path, display)
    if text is None:
        return
    source = Source(display, 1)
    parts = _split(text, source)
    if parts is None:
        return
    front_matter, body = parts
    markdown = _markdown()
    yield Record(
        abstract=_plain_text(markdown.parse(body)),
        source=source,
        abstract_html=markdown.render(body),
        **record_fields(front_matter, source),
    )


def _split(text: str, source: Source) -> tuple[dict[str, Any], str] | None:
    """Front matter and body, or ``None`` (after one warning) when the front matter is broken."""
    lines = text.split("\n")
    opener = lines[0].rstrip()
    if opener not in _CLOSERS:
        return {}, text
    end = next((i for i, line in enumerate(lines) if i and line.rstrip() in _CLOSERS[opener]), 0)
    if not end:
        warn_at(source, f"front matter opened with '{opener}' is never closed; file skipped")
        return None
    raw = "\n".join(lines[1:end])
    parse = _parse_yaml if opener == "---" else _parse_toml
    data = parse(raw, source, last_line=end)
    if data is None:
        return None
    return data, "\n".join(lines[end + 1 :])


def _parse_yaml(raw: str, source: Source, last_line: int) -> dict[str, Any] | None:
    import yaml

    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        line = mark.line + 2 if mark is not None else 1
        problem = getattr(err, "problem", None) or str(err)
        return _broken(source, line, f"invalid YAML front matter: {problem}")
    except RecursionError:
        return _broken(source, 1, "invalid YAML front matter: nested too deeply")
    return _mapping(data, source)


def _parse_toml(raw: str, source: Source, last_line: int) -> dict[str, Any] | None:
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as err:
        message = str(err)
        position = _TOML_POSITION.search(message)
        line = last_line
        if position is not None:
            message = message[: position.start()]
            line = int(position[1]) + 1 if position[1] else last_line
        return _broken(source, line, f"invalid TOML front matter: {message}")
    return _mapping(data, source)


def _mapping(data: object, source: Source) -> dict[str, Any] | None:
    if data is None:
        return {}
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "a single value"
        return _broken(source, source.line, f"front matter is {kind}, not keys and values")
    return data


def _broken(source: Source, line: int, message: str) -> None:
    warn_at(Source(source.file, line), " ".join(f"{message}; file skipped".split()))


def _plain_text(tokens: Sequence[Token]) -> str:
    """What a reader sees, without markup: the text keyphrases and search should work on."""
    parts: list[str] = []
    for token in tokens:
        if token.type == "inline":
            parts.extend(_inline_text(token.children or ()))
        elif token.type in _BLOCK_TEXT:
            parts.append(token.content)
        parts.append(" ")
    return " ".join("".join(parts).split())


def _inline_text(children: Sequence[Token]) -> Iterator[str]:
    for child in children:
        if child.type in _INLINE_TEXT:
            yield child.content
        elif child.type in _BREAKS:
            yield " "
