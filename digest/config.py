"""One validated, frozen configuration object, loaded from ``digest.toml`` plus CLI overrides."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

DEFAULT_CONFIG_FILE = "digest.toml"
_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"(?=.{{4,253}}$)({_LABEL}\.)+[a-z]{_LABEL}", re.IGNORECASE)
# The YAKE implementations stage 1 can run, each named by its PyPI distribution.
KEYPHRASE_BACKENDS = ("yake", "yake-rust")


class ConfigError(Exception):
    """A config problem, reported as one line naming the file and key."""


@dataclass(frozen=True)
class Config:
    title: str = "Literature digest"
    description: str = "Papers grouped into themes, with keyphrases and search."
    base_url: str | None = None
    cname: str | None = None
    language: str = "en"
    sources: tuple[Path, ...] = (Path("seeds"),)
    out: Path = Path("site")
    templates: Path | None = None
    keyphrases_per_paper: int = 8
    keyphrase_backend: str = "yake"
    themes: int | str = "auto"
    related_papers: int = 5
    newest_papers: int = 10
    max_abstract_chars: int = 20_000
    cache_dir: Path | None = None
    workers: int = 0
    strict: bool = False
    quiet: bool = False

    @property
    def theme_count(self) -> int | None:
        return None if self.themes == "auto" else int(self.themes)


# Keys a user may set in digest.toml, with the check each value must pass.
_CHECKS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "title": (str, "a string"),
    "description": (str, "a string"),
    "base_url": (str, "an absolute http(s) URL"),
    "cname": (str, "a domain name such as 'papers.example.org' (no scheme, no path)"),
    "language": (str, "a language code such as 'en'"),
    "sources": (list, "a list of folder paths"),
    "out": (str, "a folder path"),
    "templates": (str, "a folder path"),
    "keyphrases_per_paper": (int, "a whole number from 5 to 10"),
    "keyphrase_backend": (str, " or ".join(repr(b) for b in KEYPHRASE_BACKENDS)),
    "themes": ((int, str), "'auto' or a whole number from 2 to 200"),
    "related_papers": (int, "a whole number from 0 to 20"),
    "newest_papers": (int, "a whole number from 0 to 100"),
    "max_abstract_chars": (int, "a whole number of at least 1000"),
    "cache_dir": (str, "a folder path"),
    "workers": (int, "a whole number; 0 means one per core"),
}


def _valid(key: str, value: Any) -> bool:
    kind, _ = _CHECKS[key]
    if isinstance(value, bool) or not isinstance(value, kind):
        return False
    match key:
        case "base_url":
            parsed = urlparse(value)
            return parsed.scheme in ("http", "https") and bool(parsed.netloc)
        case "cname":
            return _DOMAIN.fullmatch(value) is not None
        case "keyphrases_per_paper":
            return 5 <= value <= 10
        case "keyphrase_backend":
            return value in KEYPHRASE_BACKENDS
        case "themes":
            return value == "auto" if isinstance(value, str) else 2 <= value <= 200
        case "related_papers":
            return 0 <= value <= 20
        case "newest_papers":
            return 0 <= value <= 100
        case "max_abstract_chars":
            return value >= 1000
        case "workers":
            return value >= 0
        case "sources":
            return bool(value) and all(isinstance(v, str) and v for v in value)
        case "title" | "language":
            return bool(value.strip())
    return True


def _convert(key: str, value: Any, base: Path) -> Any:
    if key == "sources":
        return tuple(base / v for v in value)
    if key in ("out", "templates", "cache_dir"):
        return base / value
    if key == "base_url":
        return value.rstrip("/") + "/"
    if key == "cname":
        return value.lower()
    return value


def load_config(path: Path | None = None, **overrides: Any) -> Config:
    """Read ``path`` (or ``./digest.toml`` when present), validate it, apply CLI overrides.

    Paths in the file are relative to the file's folder, so a digest can be built from anywhere.
    """
    explicit = path is not None
    path = path or Path(DEFAULT_CONFIG_FILE)
    values: dict[str, Any] = {}
    if path.is_file():
        values = _read_file(path)
    elif explicit:
        raise ConfigError(f"{path}: config file not found")
    known = {f.name for f in fields(Config)}
    clean = {k: v for k, v in overrides.items() if v is not None and k in known}
    if "base_url" in clean:
        clean["base_url"] = _base_url_option(clean["base_url"])
    config = replace(Config(**values), **clean)
    _check_keyphrase_backend(path, config)
    return config


def _check_keyphrase_backend(path: Path, config: Config) -> None:
    """Checked with the config rather than when extracting: a backend that cannot run is then
    a config error before any work starts, reported like the others (one line, exit code 2)."""
    if config.keyphrase_backend == "yake":  # a dependency, with a fallback for any language
        return
    from digest.keyphrases import backend_problem

    if problem := backend_problem(config.keyphrase_backend, config.language):
        raise ConfigError(f"{path}: {problem}")


def _base_url_option(value: str) -> str:
    """--base-url skips the file checks, so it gets the same one here."""
    if not _valid("base_url", value):
        raise ConfigError(f"--base-url must be {_CHECKS['base_url'][1]}, got {value!r}")
    return _convert("base_url", value, Path())


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read config: {err}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: invalid TOML: {err}") from None
    table = data.get("digest", data) if isinstance(data.get("digest"), dict) else data
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in _CHECKS:
            allowed = ", ".join(sorted(_CHECKS))
            raise ConfigError(f"{path}: unknown key '{key}' (known keys: {allowed})")
        if not _valid(key, value):
            raise ConfigError(f"{path}: key '{key}' must be {_CHECKS[key][1]}, got {value!r}")
        values[key] = _convert(key, value, path.parent)
    return values
