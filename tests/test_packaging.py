"""Packaging: a wheel installed outside the repo carries templates and static files, and CI
runs exactly the test command the README gives."""

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import REPO, SEEDS


def test_wheel_installed_outside_the_repo_builds_the_seeds(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("digest-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "digest/templates/base.html" in names
    assert "digest/static/vendor/lunr/lunr.min.js" in names
    assert "digest/static/style.css" in names

    target = tmp_path / "installed"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    where = subprocess.run(
        [sys.executable, "-c", "import digest; print(digest.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(target))
    result = subprocess.run(
        [sys.executable, "-m", "digest", "build", "--source", str(SEEDS), "--out", "site"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "77 papers" in result.stdout
    site = tmp_path / "site"
    assert (site / "static/vendor/lunr/lunr.min.js").is_file()
    assert "<h1>" in (site / "index.html").read_text()


def test_ci_runs_exactly_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].strip() for line in quick_start.splitlines()]
    assert len(commands) == 2
    ci_lines = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    assert commands[1] in ci_lines
