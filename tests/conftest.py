"""Shared fixtures: the real seeds, a site built from them once per session, an artifacts dir."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from digest.cli import main
from digest.config import Config, load_config

if TYPE_CHECKING:
    from playwright.sync_api import Browser

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
ARTIFACTS = Path(os.environ.get("DIGEST_TEST_ARTIFACTS", REPO / "test-artifacts"))
EDITED_SEED = "003_e5ba666f4ce3f3d9.txt"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A copy of the seeds a test may edit."""
    shutil.copytree(SEEDS, tmp_path / "papers")
    return tmp_path / "papers"


def corpus_config(corpus: Path, out: Path, **changes: Any) -> Config:
    """The config of ``digest build --source CORPUS --out OUT --quiet``, with ``changes``."""
    return replace(load_config(None, sources=(corpus,), out=out, quiet=True), **changes)


def site_files(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in site.rglob("*") if p.is_file()}


def built_as_cold(site: Path, cold: Config) -> dict[str, bytes]:
    """The files of ``site``, after checking that a cold build (``cold``: another output and
    cache folder) writes exactly the same ones, byte for byte."""
    from digest.build import build

    build(cold)
    built, reference = site_files(site), site_files(cold.out)
    assert built.keys() == reference.keys()
    assert [p for p in reference if built[p] != reference[p]] == []
    return built


def edit_seed(corpus: Path) -> None:
    """One abstract's first words changed, as a user would edit it."""
    path = corpus / EDITED_SEED
    path.write_text(path.read_text().replace("We study conditions", "Otters study conditions", 1))


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


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def browser_unavailable(reason: str) -> NoReturn:
    """Skip locally, but fail in CI: there a skipped browser suite would prove nothing."""
    if os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}:
        pytest.fail(f"{reason} (CI is set, so the browser tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """One Debian Chromium for the whole session, driven by Playwright (never downloaded)."""
    if not CHROMIUM.exists():
        browser_unavailable(
            f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)"
        )
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        browser_unavailable("the playwright package is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        except Error as err:
            browser_unavailable(f"{CHROMIUM} did not start: {err.message.splitlines()[0]}")
        yield browser
        browser.close()


# axe-core comes from the npm registry at test time, never vendored: pinned by version and by
# the sha512 the registry publishes for that tarball (npm's "integrity"), checked here.
AXE_VERSION = "4.10.2"
AXE_SHA512 = (
    "RE3mdQ7P3FRSe7eqCWoeQ/Z9QXrtniSjp1wUjt5nRC3WIpz5rSCve6o3fsZ2aCpJtrZjSZgjwXAoTO5k4tEI0w=="
)
AXE_CACHE = (
    Path(os.environ.get("DIGEST_TEST_CACHE", Path.home() / ".cache" / "digest-tests"))
    / f"axe-core-{AXE_VERSION}"
)


def _sha512(path: Path) -> str:
    return base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def _npm_pack(destination: Path) -> Path:
    """``npm pack axe-core@AXE_VERSION`` into a fresh folder, moved into the cache whole."""
    npm = shutil.which("npm")
    if npm is None:
        browser_unavailable("npm not found: the accessibility tests fetch axe-core with it")
    destination.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=destination) as scratch:
        try:
            subprocess.run(
                [npm, "pack", f"axe-core@{AXE_VERSION}", "--silent"],
                cwd=scratch,
                check=True,
                capture_output=True,
                timeout=300,
            )
        except (OSError, subprocess.SubprocessError) as err:
            browser_unavailable(f"npm pack axe-core@{AXE_VERSION} failed: {err}")
        packed = Path(scratch) / f"axe-core-{AXE_VERSION}.tgz"
        target = destination / packed.name
        os.replace(packed, target)
    return target


@pytest.fixture(scope="session")
def axe_source() -> str:
    """The text of axe-core's ``axe.min.js``, from a checked tarball cached outside the repo."""
    tarball = AXE_CACHE / f"axe-core-{AXE_VERSION}.tgz"
    if not tarball.is_file() or _sha512(tarball) != AXE_SHA512:
        tarball = _npm_pack(AXE_CACHE)
    digest = _sha512(tarball)
    if digest != AXE_SHA512:
        tarball.unlink(missing_ok=True)
        pytest.fail(f"axe-core {AXE_VERSION} tarball has sha512 {digest}, not {AXE_SHA512}")
    with tarfile.open(tarball, "r:gz") as archive:
        member = archive.extractfile("package/axe.min.js")
        assert member is not None, "package/axe.min.js missing from the axe-core tarball"
        return member.read().decode("utf-8")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: their session-wide browser and web server keep threads running, and
    a build forks its helper processes only in a process with no other thread."""
    items.sort(key=lambda item: item.path.name == "test_browser.py")
