"""What `intern go` tidies when it starts after a crash or a `kill -9`, before any decision.

It runs while holding the workspace lock, so no other `intern go` is alive. Each repair is
small and says what it did: a stale git lock is removed, an artifact written but not committed
is committed as its agent, and the leftovers of an interrupted training run (partial metrics,
a half-saved checkpoint) are cleared so that the run is trained again from a fresh output
under the same run id.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from agents import state
from bus import Workspace

GIT_LOCK_GRACE_SECONDS = 2.0  # a human's git finishes within this; a lock older than that is a crash's


def _git_locks(ws: Workspace) -> list[Path]:
    git_dir = Path(ws.repo.git_dir)
    return [p for p in [*git_dir.glob("*.lock"), *(git_dir / "refs").rglob("*.lock")] if p.is_file()]


def clear_stale_git_locks(ws: Workspace) -> list[str]:
    """Remove lock files a killed git command left behind (after a grace period for a live one)."""
    deadline = time.time() + GIT_LOCK_GRACE_SECONDS
    while _git_locks(ws) and time.time() < deadline:
        time.sleep(0.1)
    removed = []
    for lock in _git_locks(ws):
        lock.unlink(missing_ok=True)
        removed.append(lock.relative_to(ws.repo.git_dir).as_posix())
    return removed


def discard_partial_run(ws: Workspace, run_id: str) -> None:
    """Forget what an interrupted run left on disk, so its retry starts from a fresh output."""
    run_dir = ws.path(f"runs/{run_id}")
    for name in ("checkpoint", "trainer_output"):
        shutil.rmtree(run_dir / name, ignore_errors=True)
    metrics = f"runs/{run_id}/metrics.jsonl"
    if ws.pending_human_edits([metrics]):  # written by the killed subprocess, not by a human
        tracked = metrics in ws.repo.git.ls_files("--", metrics).splitlines()
        if tracked:
            ws.repo.git.checkout("HEAD", "--", metrics)
        else:
            ws.path(metrics).unlink(missing_ok=True)


def _stray_temp_files(ws: Workspace) -> list[Path]:
    return [p for p in ws.root.rglob("*.tmp-*") if ".git" not in p.relative_to(ws.root).parts and p.is_file()]


def recover(ws: Workspace) -> list[str]:
    """Repair what a crash left; returns one line per repair (empty after a clean exit)."""
    notes = [f"removed the stale git lock .git/{lock}" for lock in clear_stale_git_locks(ws)]
    sha = ws.finish_interrupted_write()
    if sha:
        notes.append(f"committed an artifact written just before the crash as its agent ({sha[:8]})")
    for tmp in _stray_temp_files(ws):
        tmp.unlink(missing_ok=True)
        notes.append(f"removed the half-written {tmp.relative_to(ws.root).as_posix()}")
    for folder in (ws.root / "runs").glob("run-*"):
        if folder.is_dir() and not any(folder.iterdir()):  # its config was never written: free the id
            folder.rmdir()
            notes.append(f"removed the empty {folder.relative_to(ws.root).as_posix()}")
    for run in state.runs(ws):
        if run.config is not None and run.result is None:
            discard_partial_run(ws, run.id)
            notes.append(f"{run.id} was interrupted; it will be trained again from its config with a fresh output")
    return notes
