"""Commits made against the HEAD they read, so no other process's commit is ever orphaned or swept in.

GitPython's `index.commit` moves HEAD without checking it and commits whatever the shared index
holds, a human's staged files included. Here each commit is built in a private index (HEAD's tree
plus exactly the paths being committed), then the branch is moved with `git update-ref NEW OLD`
(a compare-and-swap: it fails if HEAD moved meanwhile, and the commit is built again on the new
HEAD), and the shared index is updated for those paths under git's own index.lock.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import git

from bus.errors import BusError

ZERO_SHA = "0" * 40


class HeadMoved(BusError):
    """HEAD is no longer the commit the caller computed its change against (see commit_paths' `expected`)."""


def commit_paths(
    repo: git.Repo,
    root: Path,
    paths: list[str],
    actor: git.Actor,
    message: str,
    exact: dict[str, bytes | None] | None = None,
    expected: str | None = None,
) -> str:
    """Commit `paths` on top of HEAD as `actor`; returns the new sha (HEAD's when nothing changed).

    `exact` gives the bytes to commit for some paths (an agent's artifact; None: the file is removed): what is on
    disk may already be a human's next edit, which must stay theirs, not land under the agent's name. Other paths
    are read from disk. With `expected`, the commit is made only on that HEAD: if HEAD moved, HeadMoved is raised
    instead of committing the same bytes on the new HEAD (the caller's change was computed against the old one).
    """
    blobs = {p: None if data is None else _hash(repo, data) for p, data in (exact or {}).items()}
    for attempt in range(200):
        old = repo.git.rev_parse("--verify", "--quiet", "HEAD")
        if expected is not None and old != expected:
            raise HeadMoved(f"HEAD moved from {expected[:8]} to {old[:8]}")
        new = _commit_tree(repo, old, paths, actor, message, blobs)
        if new is None:
            return old  # the files already are as committed: nothing to record
        # Hold git's own index.lock while the branch moves and the shared index follows it, as git does: a
        # human's `git commit` waits for us (or we for it), so it never commits the index of a HEAD that moved,
        # and never takes an agent's file under the human's name.
        with _index_locked(repo):
            staged = _index_with(repo, root, new, paths)
            try:
                # Compare-and-swap: the branch moves only if it is still at the HEAD this commit was built on.
                repo.git.update_ref("-m", "commit: " + message.splitlines()[0][:80], "HEAD", new, old)
            except git.GitCommandError:
                staged.unlink(missing_ok=True)
                if expected is not None:
                    raise HeadMoved(f"HEAD moved from {expected[:8]} while committing") from None
                time.sleep(0.01 + 0.002 * attempt)  # a human's git moved HEAD: build again on the new one
                continue
            os.replace(staged, Path(repo.git_dir) / "index")
        return new
    raise BusError("git's HEAD kept moving under intern for 200 tries; this commit was not made")


def _hash(repo: git.Repo, data: bytes) -> str:
    proc = subprocess.run(
        ["git", "hash-object", "-w", "--stdin"], cwd=repo.working_tree_dir, input=data, capture_output=True, check=True
    )
    return proc.stdout.decode().strip()


def _commit_tree(
    repo: git.Repo, old: str, paths: list[str], actor: git.Actor, message: str, blobs: dict[str, str | None]
) -> str | None:
    """A commit of HEAD's tree with `paths` as on disk, built in a private index (nothing the human staged)."""
    fd, index = tempfile.mkstemp(prefix="intern-index-", dir=repo.git_dir)
    os.close(fd)
    os.unlink(index)  # git wants to create the index itself
    env = {"GIT_INDEX_FILE": index}
    try:
        repo.git.read_tree(old, env=env)
        from_disk = [p for p in paths if p not in blobs]
        if from_disk:
            repo.git.update_index("--add", "--remove", "--", *from_disk, env=env)
        for rel, blob in blobs.items():
            if blob is None:
                repo.git.update_index("--force-remove", "--", rel, env=env)
            else:
                full = Path(repo.working_tree_dir) / rel  # an executable keeps its bit (a masked human script)
                mode = "100755" if full.is_file() and full.stat().st_mode & 0o111 else "100644"
                repo.git.update_index("--add", "--cacheinfo", f"{mode},{blob},{rel}", env=env)
        tree = repo.git.write_tree(env=env)
        if tree == repo.git.rev_parse(f"{old}^{{tree}}"):
            return None
        people = {
            "GIT_AUTHOR_NAME": actor.name,
            "GIT_AUTHOR_EMAIL": actor.email,
            "GIT_COMMITTER_NAME": actor.name,
            "GIT_COMMITTER_EMAIL": actor.email,
        }
        return repo.git.commit_tree(tree, "-p", old, "-m", message.rstrip("\n"), env=people)
    finally:
        Path(index).unlink(missing_ok=True)
        Path(index + ".lock").unlink(missing_ok=True)


@contextmanager
def _index_locked(repo: git.Repo, timeout: float = 30.0) -> Iterator[None]:
    """git's own `.git/index.lock`, taken the way git takes it (create-exclusive), waiting for a git in flight."""
    lock = Path(repo.git_dir) / "index.lock"
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.close(os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            break
        except FileExistsError:
            if time.monotonic() > deadline:
                raise BusError(
                    f"{lock} has been held for {timeout:.0f}s; if no git command is running, remove it"
                ) from None
            time.sleep(0.01)
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def _index_with(repo: git.Repo, root: Path, commit: str, paths: list[str]) -> Path:
    """A copy of the shared index with `paths` as in `commit` (the human's other staged entries kept)."""
    git_dir = Path(repo.git_dir)
    staged = git_dir / f"intern-index-{os.getpid()}-{threading.get_ident()}"
    env = {**os.environ, "GIT_INDEX_FILE": str(staged)}
    if (git_dir / "index").exists():
        shutil.copyfile(git_dir / "index", staged)
    else:
        subprocess.run(["git", "read-tree", "HEAD"], cwd=root, env=env, check=True, capture_output=True)
    listed = subprocess.run(
        ["git", "ls-tree", "-r", "-z", "--full-tree", commit, "--", *paths],
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    present = {entry.split(b"\t", 1)[1] for entry in listed if b"\t" in entry}
    gone = [f"0 {ZERO_SHA}\t{p}".encode() for p in paths if p.encode() not in present]
    info = b"".join(entry + b"\0" for entry in [*listed, *gone] if entry.strip())
    subprocess.run(
        ["git", "update-index", "-z", "--index-info"],
        cwd=root,
        env=env,
        input=info,
        check=True,
        capture_output=True,
    )
    return staged
