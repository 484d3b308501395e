"""What reverting one commit does to each file it touched, worked out without git's shared index.

`git revert` refuses whenever the shared index differs from HEAD ("your local changes would be
overwritten by revert"), which is every moment a person has `git add`-ed a file in another
terminal, or a running `intern go` is between two commits. So the revert is computed file by
file, as git computes it (a three-way merge of HEAD's version with the commit's parent's, based
on the commit's own version), and the result is committed by the bus's own compare-and-swap.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import git

from bus.errors import BusError


def reverted_files(repo: git.Repo, commit: str, parent: str, head: str) -> dict[str, bytes | None]:
    """Each path `commit` changed, as it is at `head` with that change undone (None: the file goes).

    Raises BusError naming the files when a later commit changed the same lines (no clean revert).
    """
    result: dict[str, bytes | None] = {}
    conflicts: list[str] = []
    for path in changed_paths(repo, commit, parent):
        mine, before, now = _blob(repo, commit, path), _blob(repo, parent, path), _blob(repo, head, path)
        if now == before:
            continue  # already as it was before the commit
        if now == mine:
            result[path] = before  # untouched since: simply the parent's version
            continue
        merged = _merge(now, mine, before) if None not in (now, mine, before) else None
        if merged is None:
            conflicts.append(path)
        else:
            result[path] = merged
    if conflicts:
        raise BusError(f"later commits changed the same lines of {', '.join(conflicts)}")
    return result


def changed_paths(repo: git.Repo, commit: str, parent: str) -> list[str]:
    """The files `commit` added, changed or deleted against `parent`."""
    changed = repo.git.diff_tree("--no-commit-id", "--name-only", "-r", "-z", "--no-renames", parent, commit)
    return [p for p in changed.split("\0") if p]


def _blob(repo: git.Repo, rev: str, path: str) -> bytes | None:
    proc = subprocess.run(
        ["git", "cat-file", "blob", f"{rev}:{path}"], cwd=repo.working_tree_dir, capture_output=True, check=False
    )
    return proc.stdout if proc.returncode == 0 else None


def _merge(current: bytes, base: bytes, other: bytes) -> bytes | None:
    """`git merge-file`'s three-way merge of text, or None on a conflict or a binary file."""
    if b"\0" in current + base + other:
        return None
    with tempfile.TemporaryDirectory(prefix="intern-revert-") as tmp:
        files = []
        for name, data in (("current", current), ("base", base), ("other", other)):
            (Path(tmp) / name).write_bytes(data)
            files.append(str(Path(tmp) / name))
        proc = subprocess.run(["git", "merge-file", "-p", *files], capture_output=True, check=False)
    return proc.stdout if proc.returncode == 0 else None
