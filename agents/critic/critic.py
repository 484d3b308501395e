"""The critic's step: whatever judging the files say is pending, base model first."""

from __future__ import annotations

from agents import state
from agents.critic.diagnose import diagnose_run, render_diagnosis_body
from agents.critic.evaluate import IntegrityError, ensure_eval_split, evaluate, verify_split
from agents.critic.report import render_summary
from agents.steps import StepOutcome
from bus import Workspace
from bus.schemas import DatasetCard


def critic_step(ws: Workspace, instruction: str = "", stop_reason: str | None = None) -> StepOutcome:
    goal = ws.goal()
    commits: list[str] = []
    notes: list[str] = []
    _, _, made = ensure_eval_split(ws, goal)
    commits += made
    try:
        verify_split(ws, goal)
    except IntegrityError as exc:
        return StepOutcome("critic", f"integrity check failed: {exc}", commits, ok=False)

    base = state.base_evaluation(ws)
    if base is None:
        base, sha = evaluate(ws, goal, "base", None)
        commits.append(sha)
        notes.append(f"base model {base.score:.3f}")

    for run in state.runs(ws):
        if run.config is None or run.result is None:
            continue
        if run.succeeded and run.evaluation is None:
            run.evaluation, sha = evaluate(ws, goal, run.id, run.result.checkpoint)
            commits.append(sha)
            notes.append(f"{run.id} {run.evaluation.score:.3f}")
        if run.diagnosis is None:
            parent = None
            if run.config.parent_run:
                parent_view = next((r for r in state.runs(ws) if r.id == run.config.parent_run), None)
                parent = parent_view.evaluation if parent_view else None
            card = _card(ws, run.config.dataset)
            metrics = state.read_metrics(ws.path(f"runs/{run.id}/metrics.jsonl"))
            diagnosis = diagnose_run(goal, run.config, run.result, run.evaluation, base, parent, card, metrics)
            diagnosis.body = render_diagnosis_body(diagnosis, goal)
            rec = diagnosis.recommendation
            commits.append(
                ws.write_artifact(
                    "critic",
                    f"runs/{run.id}/diagnosis.md",
                    diagnosis,
                    f"Diagnose {run.id}: {rec.action} ({rec.reason[:60]})",
                )
            )
            notes.append(f"{run.id} diagnosed: {rec.action}")

    summary = render_summary(ws, goal, stop_reason)
    if not ws.exists("reports/summary.md") or ws.read_text("reports/summary.md") != summary:
        commits.append(ws.write_artifact("critic", "reports/summary.md", summary, "Update the summary report"))
    return StepOutcome("critic", "; ".join(notes) or "report updated", commits)


def _card(ws: Workspace, name: str) -> DatasetCard | None:
    rel = f"datasets/{name}/README.md"
    if not ws.exists(rel):
        return None
    card = ws.load(rel)
    return card if isinstance(card, DatasetCard) else None
