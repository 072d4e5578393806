"""Shared fixtures: the real seeds, a site built from them once per session, an artifacts dir."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from digest.cli import main

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
ARTIFACTS = Path(os.environ.get("DIGEST_TEST_ARTIFACTS", REPO / "test-artifacts"))


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests never touch a developer's real cache."""
    previous = os.environ.get("DIGEST_CACHE_DIR")
    os.environ["DIGEST_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if previous is None:
        os.environ.pop("DIGEST_CACHE_DIR", None)
    else:
        os.environ["DIGEST_CACHE_DIR"] = previous


@pytest.fixture(scope="session")
def seeds_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The digest of the real seeds, built once through the CLI as a user would."""
    out = tmp_path_factory.mktemp("seeds") / "site"
    code = main(["build", "--source", str(SEEDS), "--out", str(out), "--quiet"])
    assert code == 0
    return out


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
