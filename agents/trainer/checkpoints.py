"""Keep-or-discard: the critic decides (Diagnosis.kept), the trainer acts on it, so disk use stays bounded.

At the start of each trainer step the checkpoint of every judged run the critic did not keep is
removed, unless a run may still start from it: the parent of a run not finished yet, of an untested
hypothesis, or of the latest diagnosis's recommendation (the researcher's next hypothesis). Its
sha256, size and score stay in runs/<id>/checkpoint-discarded.json. A run can start from any kept
checkpoint; a config naming a discarded one is refused with the reason.
"""

from __future__ import annotations

import shutil

from agents.common import state
from bus import Workspace, layout, sha256_tree
from bus.schemas import DiscardedCheckpoint

RECORD = "checkpoint-discarded.json"


def record_path(run_id: str) -> str:
    return layout.run_file(run_id, RECORD)


def protected_parents(ws: Workspace, runs: list[state.RunView]) -> set[str]:
    """Runs some later run may still start from."""
    tested = {r.config.hypothesis for r in runs if r.config is not None}
    parents = {r.config.parent_run for r in runs if r.config is not None and r.result is None}
    parents |= {h.parent_run for path, h in state.hypotheses(ws) if path not in tested}
    diagnosed = [r for r in runs if r.diagnosis is not None]
    if diagnosed and diagnosed[-1].diagnosis.recommendation.action == "train":
        parents.add(diagnosed[-1].diagnosis.recommendation.parent_run)
    return {p for p in parents if p}


def discard_unkept(ws: Workspace) -> tuple[list[str], list[str]]:
    """Remove the checkpoints of judged, not-kept runs nobody will start from. Returns (commits, run ids)."""
    runs = state.runs(ws)
    keep = protected_parents(ws, runs)
    best = state.best_run(ws)
    commits, discarded = [], []
    for run in runs:
        if run.diagnosis is None or run.evaluation is None or not run.succeeded or state.is_kept(run) or run.id in keep:
            continue
        rel = run.result.checkpoint or layout.run_checkpoint(run.id)
        folder = ws.path(rel)
        if not folder.is_dir() or ws.exists(record_path(run.id)):
            continue
        size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
        dg = run.diagnosis
        record = DiscardedCheckpoint(
            run_id=run.id,
            checkpoint=rel,
            checkpoint_sha256=run.result.checkpoint_sha256 or sha256_tree(folder),
            bytes_freed=size,
            score=run.evaluation.score,
            best_run=best.id if best else "base",
            reason=f"not kept: held-out {dg.score:.3f}"
            + (f", {dg.gain_vs_best:+.3f} against {dg.best_before}" if dg.gain_vs_best is not None else "")
            + " is within noise of the best or below it",
        )
        # Record first: if removing fails halfway, the record still names what was there.
        commits.append(
            ws.write_artifact(
                "trainer", record_path(run.id), record, f"Discard {run.id}'s checkpoint ({size / 1e6:.1f} MB)"
            )
        )
        shutil.rmtree(folder)
        discarded.append(run.id)
    return commits, discarded


def parent_problem(ws: Workspace, parent_run: str | None) -> str | None:
    """Why `parent_run` cannot be started from, or None when it can (or there is no parent)."""
    if not parent_run:
        return None
    if ws.exists(record_path(parent_run)):
        kept = [r.id for r in state.runs(ws) if state.is_kept(r) and ws.path(layout.run_checkpoint(r.id)).is_dir()]
        choices = ", ".join(kept) if kept else "none yet"
        return (
            f"parent run {parent_run}'s checkpoint was discarded (the critic did not keep it; see "
            f"{record_path(parent_run)}); start from a kept run ({choices}) or from the base model"
        )
    if not ws.path(f"{layout.run_checkpoint(parent_run)}/config.json").exists():
        return f"parent run {parent_run} has no checkpoint"
    return None
