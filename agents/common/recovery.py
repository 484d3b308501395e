"""What `intern go` tidies when it starts after a crash or a `kill -9`, before any decision.

It runs while holding the workspace lock, so no other `intern go` is alive. Each repair is
small and says what it did: a stale git lock is removed, an artifact written but not committed
is committed as its agent, and the leftovers of an interrupted training run (partial metrics,
a half-saved checkpoint) are cleared so that the run is trained again from a fresh output
under the same run id.

A repair never destroys: an interrupted run (config committed, no result.json) is told apart from
a corrupt artifact (a result.json that is there but unreadable), which becomes a question naming
the file while nothing of that run is touched; a checkpoint a kept run, an evaluation or a child
run depends on is never removed; whatever is removed is listed on the terminal and in plan.md.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from agents.common import state
from bus import Workspace, layout

NOTES_FILE = "recovery-notes.json"  # what the last recovery did, until the supervisor writes it into plan.md

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


def result_unreadable(ws: Workspace, run: state.RunView) -> bool:
    """result.json is there but is not a valid result (truncated, edited, not UTF-8): a corrupt artifact."""
    return run.result is None and ws.exists(layout.run_result(run.id))


def spent_runs(ws: Workspace, runs: list[state.RunView]) -> list[state.RunView]:
    """The runs that count toward budget.runs: every finished run but a cancelled one.

    A run whose result.json is there but unreadable ran all the same (it is never trained again, see
    `interrupted`), so it counts: a damaged record must not hand the budget back.
    """
    return [r for r in runs if (r.result is not None and r.result.status != "cancelled") or result_unreadable(ws, r)]


def interrupted(ws: Workspace, run: state.RunView) -> bool:
    """A run to train again under its id: its config is committed and it has no result (or a cancelled one)."""
    if run.config is None:
        return False
    if run.result is not None:
        return run.result.status == "cancelled"
    return not result_unreadable(ws, run)


def _depended_on(ws: Workspace, run: state.RunView, runs: list[state.RunView]) -> str | None:
    """Why this run's checkpoint must stay, if it must: it is evaluated, kept, or another run's parent."""
    children = [r.id for r in runs if r.config is not None and r.config.parent_run == run.id]
    if children:
        return f"it is the parent of {', '.join(children)}"
    if run.evaluation is not None or ws.exists(layout.run_evaluation(run.id)):
        return "it has an evaluation"
    return None


def discard_partial_run(ws: Workspace, run_id: str) -> list[str]:
    """Forget what an interrupted run left on disk, so its retry starts from a fresh output. Returns what it removed."""
    run_dir = ws.path(layout.run_dir(run_id))
    removed = []
    for name in ("checkpoint", "trainer_output"):
        if (run_dir / name).exists():
            shutil.rmtree(run_dir / name, ignore_errors=True)
            removed.append(f"{layout.run_file(run_id, name)}/")
    metrics = layout.run_metrics(run_id)
    if ws.pending_human_edits([metrics]):  # written by the killed subprocess, not by a human
        tracked = metrics in ws.repo.git.ls_files("--", metrics).splitlines()
        if tracked:
            ws.repo.git.checkout("HEAD", "--", metrics)
            removed.append(f"the uncommitted rows of {metrics}")
        else:
            ws.path(metrics).unlink(missing_ok=True)
            removed.append(metrics)
    return removed


def _stray_temp_files(ws: Workspace) -> list[Path]:
    return [p for p in ws.root.rglob("*.tmp-*") if ".git" not in p.relative_to(ws.root).parts and p.is_file()]


def recover(ws: Workspace) -> list[str]:
    """Repair what a crash left; returns one line per repair (empty after a clean exit)."""
    notes = [f"removed the stale git lock .git/{lock}" for lock in clear_stale_git_locks(ws)]
    sha = ws.finish_interrupted_write()
    if sha:
        notes.append(f"committed an artifact written just before the crash as its agent ({sha[:8]})")
    for index in Path(ws.repo.git_dir).glob("intern-index-*"):  # a killed commit's private index: never shared
        index.unlink(missing_ok=True)
    for tmp in _stray_temp_files(ws):
        tmp.unlink(missing_ok=True)
        notes.append(f"removed the half-written {tmp.relative_to(ws.root).as_posix()}")
    for folder in (ws.root / layout.RUNS).glob("run-*"):
        if folder.is_dir() and not any(folder.iterdir()):  # its config was never written: free the id
            folder.rmdir()
            notes.append(f"removed the empty {folder.relative_to(ws.root).as_posix()}")
    runs = state.runs(ws)
    for run in runs:
        if result_unreadable(ws, run):
            notes.append(
                f"question: runs/{run.id}/result.json is there but unreadable ({'; '.join(run.problems)[:200]}); "
                f"nothing of {run.id} was removed or retrained: restore the file (git checkout, or git revert the "
                "edit) or delete it to have the run trained again"
            )
            continue
        if not interrupted(ws, run):
            continue
        keep = _depended_on(ws, run, runs)
        if keep:
            notes.append(f"question: {run.id} has no result but its checkpoint stays ({keep}); nothing was removed")
            continue
        removed = discard_partial_run(ws, run.id)
        what = f" (removed {', '.join(removed)})" if removed else ""
        how = "was cancelled" if run.result is not None else "was interrupted"
        notes.append(f"{run.id} {how}; it will be trained again from its config with a fresh output{what}")
    if notes:
        (ws.state_dir / NOTES_FILE).write_text("\n".join(notes))
    return notes


def write_notes(ws: Workspace) -> None:
    """Put the last recovery's lines into plan.md (Questions), so the record outlives the terminal."""
    path = ws.state_dir / NOTES_FILE
    try:
        notes = [line for line in path.read_text().splitlines() if line.strip()]
    except OSError:
        return

    def edit(plan) -> None:
        for note in notes:
            if note.startswith("question: "):
                plan.add_question(note.removeprefix("question: "))
            else:
                plan.add_question(f"On restart, intern repaired: {note}.")

    ws.update_plan(edit, f"Record what the restart repaired ({len(notes)} line(s))")
    path.unlink(missing_ok=True)
