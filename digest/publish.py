"""A built site → the whole content of a git branch (``gh-pages``), pushed to a remote.

Only git plumbing is used (hash-object, mktree, commit-tree, push, update-ref), so the user's
working tree, index and current branch are never touched and no dependency is needed. The
commit goes on top of the remote branch's tip, so the push is a fast-forward; a site whose
tree equals the tip's makes no commit. SOURCE_DATE_EPOCH, when set, dates the commit, so the
same site on the same parent gives the same commit id.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from digest.output import MARKER

NOJEKYLL = ".nojekyll"
CNAME = "CNAME"
FILE_MODE, EXECUTABLE_MODE, TREE_MODE = "100644", "100755", "040000"
FALLBACK_IDENTITY = {
    "GIT_AUTHOR_NAME": "digest",
    "GIT_AUTHOR_EMAIL": "digest@localhost",
    "GIT_COMMITTER_NAME": "digest",
    "GIT_COMMITTER_EMAIL": "digest@localhost",
}

# A folder of the tree being built: name → (mode, blob id) for files, name → folder for folders.
Folder = dict[str, "tuple[str, str] | Folder"]


class PublishError(Exception):
    """Publishing cannot go on; the message is one line saying why. Nothing was pushed."""


@dataclass(frozen=True)
class Target:
    """Where to publish: the repository folder git runs in, the remote and the branch."""

    repo: Path
    remote: str
    branch: str

    @property
    def ref(self) -> str:
        return f"refs/heads/{self.branch}"


@dataclass(frozen=True)
class PublishResult:
    target: Target
    files: int
    tree: str
    commit: str | None
    remote_tip: str | None
    dry_run: bool

    @property
    def changed(self) -> bool:
        return self.commit is None or self.commit != self.remote_tip

    def summary(self) -> str:
        where = f"{self.target.remote} {self.target.branch}"
        if not self.changed:
            return f"The site is unchanged since {where} {self.remote_tip:.10}; nothing to publish."
        if self.dry_run:
            base = f"on top of {self.remote_tip:.10}" if self.remote_tip else "as its first commit"
            return (
                f"Dry run: would commit {self.files} files (tree {self.tree:.10}) to {where} "
                f"{base} and push it; nothing was committed or pushed."
            )
        return f"Published {self.files} files to {where}: commit {self.commit:.10}."


def find_target(cwd: Path, remote: str, branch: str) -> Target:
    """Checks, before anything is built, that publishing can work from ``cwd``."""
    if _git(cwd, "rev-parse", "--git-dir", check=False).returncode != 0:
        raise PublishError(
            f"{cwd}: not inside a git repository; run digest publish in your project's checkout"
        )
    if _git(cwd, "check-ref-format", "--branch", branch, check=False).returncode != 0:
        raise PublishError(f"--branch: '{branch}' is not a valid branch name")
    target = Target(cwd, remote, branch)
    current = _git(cwd, "symbolic-ref", "-q", "HEAD", check=False).stdout.strip()
    if current == target.ref:
        raise PublishError(
            f"you are on the '{branch}' branch, whose whole content publishing replaces; "
            "switch to your source branch first"
        )
    is_url = "://" in remote
    if not is_url and _git(cwd, "remote", "get-url", remote, check=False).returncode != 0:
        raise PublishError(
            f"no git remote named '{remote}'; add one (git remote add {remote} URL) "
            "or choose another with --remote"
        )
    return target


def publish_site(
    site: Path, target: Target, message: str | None, cname: str | None, dry_run: bool
) -> PublishResult:
    """Commits ``site`` (plus .nojekyll and CNAME) as the branch's whole content and pushes it."""
    remote_tip = _remote_tip(target)
    parent = remote_tip or _local_tip(target)
    tree, files = _site_tree(site, target, cname, parent)
    if parent and _git(target.repo, "rev-parse", f"{parent}^{{tree}}").stdout.strip() == tree:
        commit: str | None = parent
    elif dry_run:
        commit = None
    else:
        commit = _commit(target, tree, parent, message)
    result = PublishResult(target, files, tree, commit, remote_tip, dry_run)
    if commit and result.changed and not dry_run:
        _push(target, commit)
        _git(target.repo, "update-ref", "-m", "digest publish", target.ref, commit)
    return result


def _site_tree(
    site: Path, target: Target, cname: str | None, parent: str | None
) -> tuple[str, int]:
    """The tree id of the site plus .nojekyll (GitHub Pages must not run Jekyll on it) and
    CNAME, and how many files it holds."""
    root = _site_folder(site, target)
    root[NOJEKYLL] = (FILE_MODE, _hash_bytes(target, b""))
    if cname or CNAME not in root:
        cname_blob = _cname_blob(target, cname, parent)
        if cname_blob:
            root[CNAME] = (FILE_MODE, cname_blob)
    return _write_tree(target, root), _count_files(root)


def _remote_tip(target: Target) -> str | None:
    """The remote branch's commit, fetched (without touching any ref) if not already here."""
    listed = _git(target.repo, "ls-remote", target.remote, target.ref, check=False)
    if listed.returncode != 0:
        raise PublishError(f"cannot read remote '{target.remote}': {_reason(listed)}")
    tip = listed.stdout.split()[0] if listed.stdout.strip() else None
    if tip and not _has_commit(target, tip):
        fetch = ("fetch", "--quiet", "--no-tags", "--no-write-fetch-head")
        _git(target.repo, *fetch, target.remote, target.ref)
        if not _has_commit(target, tip):
            raise PublishError(f"{target.remote} {target.branch} moved while publishing; retry")
    return tip


def _local_tip(target: Target) -> str | None:
    found = _git(
        target.repo, "rev-parse", "-q", "--verify", f"{target.ref}^{{commit}}", check=False
    )
    return found.stdout.strip() or None


def _has_commit(target: Target, commit: str) -> bool:
    return _git(target.repo, "cat-file", "-e", f"{commit}^{{commit}}", check=False).returncode == 0


def _site_folder(site: Path, target: Target) -> Folder:
    """Every file of the built site, hashed into the object store in one git process."""
    site = site.resolve()
    files = sorted(
        path
        for path in site.rglob("*")
        if path.is_file() and path.relative_to(site).as_posix() != MARKER
    )
    if any("\n" in str(path) for path in files):
        raise PublishError(f"{site}: a file name contains a line break; git cannot publish it")
    listing = b"".join(os.fsencode(path) + b"\n" for path in files)
    hashed = _git(target.repo, "hash-object", "-w", "--no-filters", "--stdin-paths", stdin=listing)
    root: Folder = {}
    for path, blob in zip(files, hashed.stdout.split(), strict=True):
        *folders, name = path.relative_to(site).parts
        folder = root
        for part in folders:
            folder = folder.setdefault(part, {})  # type: ignore[assignment]
        mode = EXECUTABLE_MODE if os.access(path, os.X_OK) else FILE_MODE
        folder[name] = (mode, blob)
    return root


def _cname_blob(target: Target, cname: str | None, parent: str | None) -> str | None:
    """The configured domain, else the one already published (GitHub's settings page writes
    it to the branch): a custom domain is never dropped by a publish."""
    if cname:
        return _hash_bytes(target, f"{cname}\n".encode())
    if parent:
        kept = _git(target.repo, "rev-parse", "-q", "--verify", f"{parent}:{CNAME}", check=False)
        return kept.stdout.strip() or None
    return None


def _hash_bytes(target: Target, content: bytes) -> str:
    return _git(target.repo, "hash-object", "-w", "--stdin", stdin=content).stdout.strip()


def _write_tree(target: Target, folder: Folder) -> str:
    listing = b""
    for name, entry in folder.items():
        if isinstance(entry, dict):
            line = f"{TREE_MODE} tree {_write_tree(target, entry)}\t"
        else:
            mode, blob = entry
            line = f"{mode} blob {blob}\t"
        listing += line.encode() + os.fsencode(name) + b"\0"
    return _git(target.repo, "mktree", "-z", stdin=listing).stdout.strip()


def _count_files(folder: Folder) -> int:
    return sum(_count_files(e) if isinstance(e, dict) else 1 for e in folder.values())


def _commit(target: Target, tree: str, parent: str | None, message: str | None) -> str:
    args = ["commit-tree", tree, "-m", message or _default_message(target)]
    if parent:
        args += ["-p", parent]
    return _git(target.repo, *args, env=_commit_env(target)).stdout.strip()


def _default_message(target: Target) -> str:
    head = _git(target.repo, "rev-parse", "-q", "--verify", "--short", "HEAD", check=False)
    source = head.stdout.strip()
    return f"Publish the digest site built from {source}" if source else "Publish the digest site"


def _commit_env(target: Target) -> dict[str, str]:
    """Dates from SOURCE_DATE_EPOCH for reproducible commits; a stand-in identity where git
    has none (fresh CI machines), so publishing never stops at "Please tell me who you are"."""
    env = dict(os.environ)
    epoch = env.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"@{epoch} +0000"
    for who in ("GIT_AUTHOR_IDENT", "GIT_COMMITTER_IDENT"):
        if _git(target.repo, "var", who, check=False).returncode != 0:
            env = {**FALLBACK_IDENTITY, **env}
    return env


def _push(target: Target, commit: str) -> None:
    pushed = _git(
        target.repo, "push", "--quiet", target.remote, f"{commit}:{target.ref}", check=False
    )
    if pushed.returncode != 0:
        raise PublishError(f"git push to {target.remote} {target.branch} failed: {_reason(pushed)}")


def _reason(done: subprocess.CompletedProcess[str]) -> str:
    """The line of git's error output that says what went wrong."""
    lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
    for prefix in ("fatal:", "error:", "!", "remote: error:"):
        for line in lines:
            if line.startswith(prefix):
                return line.removeprefix("fatal:").removeprefix("error:").strip()
    return lines[-1] if lines else f"exit status {done.returncode}"


def _git(
    repo: Path,
    *args: str,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(
            ["git", *args], cwd=repo, input=stdin, capture_output=True, env=env, check=False
        )
    except FileNotFoundError:
        raise PublishError("git is not installed (or not on PATH); publishing needs it") from None
    result = subprocess.CompletedProcess(
        done.args,
        done.returncode,
        done.stdout.decode("utf-8", "replace"),
        done.stderr.decode("utf-8", "replace"),
    )
    if check and done.returncode != 0:
        raise PublishError(f"git {args[0]} failed: {_reason(result)}")
    return result
