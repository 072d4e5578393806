"""Locating the built-in templates and static files, installed or in a source checkout.

A wheel carries them inside the package (``digest/templates``); a checkout keeps them at the
top level beside ``digest/``, where designers expect them.
"""

from __future__ import annotations

from pathlib import Path

from digest.config import Config

_PACKAGE = Path(__file__).resolve().parent


def builtin_dir(name: str) -> Path:
    inside = _PACKAGE / name
    return inside if inside.is_dir() else _PACKAGE.parent / name


def template_dirs(config: Config) -> list[Path]:
    """The built-in templates, then the user's folder that overrides them."""
    dirs = [builtin_dir("templates")]
    if config.templates is not None:
        dirs.append(config.templates)
    return dirs
