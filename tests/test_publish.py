"""`digest publish` into a real (local, bare) remote, and `digest init-ci`, as a user runs them."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from digest.ci_workflow import WORKFLOW_PATH
from digest.cli import EXIT_OK, EXIT_PUBLISH, main
from digest.output import MARKER
from tests.conftest import REPO, SEEDS

EPOCH = "1700000000"
SETUP_IDENTITY = {
    "GIT_AUTHOR_NAME": "Reader",
    "GIT_AUTHOR_EMAIL": "reader@example.org",
    "GIT_COMMITTER_NAME": "Reader",
    "GIT_COMMITTER_EMAIL": "reader@example.org",
}


def _git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, env=env
    )
    return done.stdout


@pytest.fixture(autouse=True)
def _isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No developer's git config leaks in: no identity, so publish's stand-in is tested too."""
    empty = tmp_path / "gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    for name in SETUP_IDENTITY:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    path = tmp_path / "remote.git"
    _git(tmp_path, "init", "-q", "--bare", str(path))
    return path


@pytest.fixture
def user_repo(tmp_path: Path, remote: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with a commit, an uncommitted edit and a staged change: all must survive."""
    repo = tmp_path / "project"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "notes.txt").write_text("first\n")
    _git(repo, "add", "notes.txt")
    env = {**os.environ, **SETUP_IDENTITY}
    _git(repo, "commit", "-q", "-m", "start", env=env)
    _git(repo, "remote", "add", "origin", remote.as_uri())
    (repo / "notes.txt").write_text("first\nedited, not staged\n")
    (repo / "staged.txt").write_text("staged\n")
    _git(repo, "add", "staged.txt")
    monkeypatch.chdir(repo)
    return repo


def _user_state(repo: Path) -> dict[str, str]:
    return {
        "head": _git(repo, "rev-parse", "HEAD"),
        "branch": _git(repo, "symbolic-ref", "HEAD"),
        "main": _git(repo, "rev-parse", "refs/heads/main"),
        "index": _git(repo, "diff", "--cached"),
        "worktree": _git(repo, "diff"),
        "status": _git(repo, "status", "--porcelain", "--untracked-files=all"),
    }


def _publish(site: Path, *extra: str) -> int:
    return main(["publish", "--source", str(SEEDS), "--out", str(site), "--quiet", *extra])


def _remote_files(remote: Path) -> dict[str, str]:
    """Path → blob id of every file on the remote's gh-pages branch."""
    listing = _git(remote, "ls-tree", "-r", "refs/heads/gh-pages")
    files = {}
    for line in listing.splitlines():
        meta, name = line.split("\t", 1)
        files[name] = meta.split()[2]
    return files


def _blob_id(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def _site_files(site: Path) -> dict[str, str]:
    return {
        p.relative_to(site).as_posix(): _blob_id(p.read_bytes())
        for p in site.rglob("*")
        if p.is_file() and p.name != MARKER
    }


def _commit_count(remote: Path) -> int:
    return int(_git(remote, "rev-list", "--count", "refs/heads/gh-pages"))


def test_publish_commits_the_whole_site_and_leaves_the_user_alone(
    user_repo: Path, remote: Path, tmp_path: Path
) -> None:
    """One user's story, in order (four builds, so it stays one test): a dry run, a first
    publish, a custom domain, and a publish of the same site that must not make a commit."""
    site = tmp_path / "site"
    config = tmp_path / "digest.toml"
    config.write_text("")
    before = _user_state(user_repo)
    refs_before = _git(user_repo, "for-each-ref")

    assert _publish(site, "--config", str(config), "--dry-run") == EXIT_OK
    assert _git(remote, "for-each-ref") == "", "a dry run pushed something"
    assert _git(user_repo, "for-each-ref") == refs_before, "a dry run changed a ref"
    assert _user_state(user_repo) == before

    assert _publish(site, "--config", str(config)) == EXIT_OK
    assert _remote_files(remote) == {**_site_files(site), ".nojekyll": _blob_id(b"")}
    assert _user_state(user_repo) == before
    tip = _git(remote, "rev-parse", "refs/heads/gh-pages").strip()
    assert _git(user_repo, "rev-parse", "refs/heads/gh-pages").strip() == tip
    assert _git(remote, "log", "-1", "--format=%ct %an", tip).split() == [EPOCH, "digest"]

    config.write_text('cname = "Papers.Example.org"\n')
    assert _publish(site, "--config", str(config)) == EXIT_OK
    files = _remote_files(remote)
    cname = _blob_id(b"papers.example.org\n")
    assert files == {**_site_files(site), ".nojekyll": _blob_id(b""), "CNAME": cname}
    assert _commit_count(remote) == 2
    tip = _git(remote, "rev-parse", "refs/heads/gh-pages").strip()

    config.write_text("")
    assert _publish(site, "--config", str(config)) == EXIT_OK
    assert _remote_files(remote)["CNAME"] == cname, "a publish dropped the custom domain"
    assert _git(remote, "rev-parse", "refs/heads/gh-pages").strip() == tip, "unchanged, committed"
    assert _commit_count(remote) == 2
    assert _user_state(user_repo) == before


def test_outside_a_git_repository_publish_stops_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert _publish(tmp_path / "site") == EXIT_PUBLISH
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not inside a git repository" in err
    assert "Traceback" not in err
    assert not (tmp_path / "site").exists(), "it built before checking it could publish"


def test_a_missing_remote_stops_publish_with_one_line(
    user_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _publish(tmp_path / "site", "--remote", "upstream") == EXIT_PUBLISH
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no git remote named 'upstream'" in err


def test_publish_refuses_to_replace_the_branch_you_are_on(
    user_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _publish(tmp_path / "site", "--branch", "main") == EXIT_PUBLISH
    assert "you are on the 'main' branch" in capsys.readouterr().err


def test_init_ci_writes_the_workflow_this_repository_uses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init-ci"]) == EXIT_OK
    written = (tmp_path / WORKFLOW_PATH).read_text(encoding="utf-8")
    assert written == (REPO / WORKFLOW_PATH).read_text(encoding="utf-8")
    for needed in (
        "pip install .",
        "actions/configure-pages@",
        "actions/upload-pages-artifact@",
        "path: site",
        "actions/deploy-pages@",
        "pages: write",
        "id-token: write",
        "concurrency:",
    ):
        assert needed in written, needed


def test_init_ci_never_overwrites_a_workflow_unless_forced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    mine = tmp_path / WORKFLOW_PATH
    mine.parent.mkdir(parents=True)
    mine.write_text("name: mine\n")
    assert main(["init-ci"]) == EXIT_PUBLISH
    assert mine.read_text() == "name: mine\n"
    assert "--force" in capsys.readouterr().err
    assert main(["init-ci", "--force"]) == EXIT_OK
    assert mine.read_text() == (REPO / WORKFLOW_PATH).read_text(encoding="utf-8")
