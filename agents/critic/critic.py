"""The critic's step: whatever judging the files say is pending, base model first."""

from __future__ import annotations

from agents.brain.narrative import narrative_section
from agents.common import state
from agents.common.steps import StepOutcome
from agents.critic.contamination_check import check_training_data, summary_lines
from agents.critic.curves import write_if_changed, write_run_curves
from agents.critic.diagnose import RunEvidence, diagnose_run, render_diagnosis_body
from agents.critic.evaluate import EvaluationError, IntegrityError, ensure_eval_split, evaluate
from agents.critic.noise_floor import ensure_noise_floor, read_noise_floor
from agents.critic.report import render_summary, write_progress
from agents.models.errors import ModelLoadError
from agents.tasks import get_task
from agents.tasks.hub import TaskDataError
from bus import Workspace, layout
from bus.schemas import DatasetCard


def critic_step(ws: Workspace, instruction: str = "", stop_reason: str | None = None) -> StepOutcome:
    goal = ws.goal()
    commits: list[str] = []
    notes: list[str] = []
    try:
        return _judge(ws, goal, stop_reason, commits, notes)
    except IntegrityError as exc:
        # A changed split, grader or checkpoint makes every later score meaningless: stop the loop, say why.
        reason = f"critical: integrity check failed: {exc}"
        final = reason if stop_reason is None else f"{stop_reason}; then {reason}"
        _write_summary(ws, goal, final, commits)
        return StepOutcome("critic", reason, commits, ok=False, critical=True)
    except (EvaluationError, TaskDataError, ModelLoadError) as exc:
        # No held-out rows, a dataset that will not load, a model that will not load: recorded with the
        # summary, and the loop goes on or stops cleanly.
        _write_summary(ws, goal, stop_reason, commits)
        return StepOutcome("critic", f"cannot evaluate: {exc}", commits, ok=False)


def _judge(ws: Workspace, goal, stop_reason: str | None, commits: list[str], notes: list[str]) -> StepOutcome:
    problems: list[str] = []
    split_rel, split_sha, made = ensure_eval_split(ws, goal)
    commits += made
    checked, made = check_training_data(ws, split_rel, split_sha)
    commits += made
    notes += checked

    base = state.base_evaluation(ws)
    if base is None:
        try:
            base, sha = evaluate(ws, goal, "base", None)
        except EvaluationError as exc:
            _write_summary(ws, goal, stop_reason, commits)
            return StepOutcome("critic", f"cannot evaluate the base model: {exc}", commits, ok=False)
        commits.append(sha)
        notes.append(f"base model {base.score:.3f}")

    for run in state.runs(ws):
        if run.config is None or run.result is None or run.result.status == "cancelled":
            continue  # a cancelled run is trained again, not diagnosed
        if run.succeeded and run.evaluation is None and ws.exists(layout.run_discarded(run.id)):
            # The trainer removed it after an earlier evaluation (since reverted): gone by decision, not tampered.
            notes.append(
                f"{run.id} not evaluated again: its checkpoint was discarded (runs/{run.id}/checkpoint-discarded.json)"
            )
            continue
        if run.succeeded and run.evaluation is None:
            try:
                run.evaluation, sha = evaluate(
                    ws, goal, run.id, run.result.checkpoint, expected_sha256=run.result.checkpoint_sha256
                )
            except EvaluationError as exc:
                problems.append(f"{run.id} not evaluated: {exc}")
                continue  # a succeeded run with no score cannot be diagnosed honestly
            commits.append(sha)
            notes.append(f"{run.id} {run.evaluation.score:.3f}")
            task = get_task(goal.task)
            made_floor = ensure_noise_floor(
                ws,
                task,
                task.max_new_tokens(goal.task),
                split_rel,
                run.id,
                run.result.checkpoint,
                run.evaluation.checkpoint_sha256 or "",
                run.evaluation.score,
            )
            if made_floor:
                commits.append(made_floor)
                notes.append(f"noise floor measured on {run.id}")
        if run.diagnosis is None or stale_stop(run, goal):
            parent = None
            if run.config.parent_run:
                parent_view = next((r for r in state.runs(ws) if r.id == run.config.parent_run), None)
                parent = parent_view.evaluation if parent_view else None
            card = _card(ws, run.config.dataset)
            metrics = state.read_metrics(ws.path(layout.run_metrics(run.id)))
            floor = read_noise_floor(ws)
            best = state.best_run(ws, before=run.id)  # read now: an earlier run may have been kept this step
            diagnosis = diagnose_run(
                RunEvidence(
                    goal,
                    run.config,
                    run.result,
                    run.evaluation,
                    base,
                    parent,
                    card,
                    metrics,
                    floor,
                    best.evaluation if best else None,
                    best.id if best else "base",
                )
            )
            made_curves = write_run_curves(ws, run.config, metrics)  # before the diagnosis that links it
            commits += [made_curves] if made_curves else []
            curves = "curves.png" if ws.exists(layout.run_curves(run.id)) else None
            narrative, by = narrative_section(ws, diagnosis)  # the LLM brain's prose; never changes the findings
            diagnosis.body = render_diagnosis_body(diagnosis, goal, curves) + narrative
            rec = diagnosis.recommendation
            commits.append(
                ws.write_artifact(
                    "critic",
                    layout.run_diagnosis(run.id),
                    diagnosis,
                    f"Diagnose {run.id}: {rec.action} ({rec.reason[:60]})" + (f"; narrative: {by}" if by else ""),
                )
            )
            notes.append(f"{run.id} diagnosed: {rec.action}")

    _write_summary(ws, goal, stop_reason, commits)
    summary = "; ".join(notes + problems) or "report updated"
    return StepOutcome("critic", summary, commits, ok=not problems)


def stale_stop(run: state.RunView, goal) -> bool:
    """The run's diagnosis said "stop: target met" against a lower target than today's: it must be judged again."""
    dg = run.diagnosis
    return (
        dg is not None
        and run.evaluation is not None
        and dg.recommendation.action == "stop"
        and dg.recommendation.reason.startswith("target met")
        and run.evaluation.score < goal.target.value
    )


def _write_summary(ws: Workspace, goal, stop_reason: str | None, commits: list[str]) -> None:
    made_progress = write_progress(ws, goal)  # before the summary that links it
    commits += [made_progress] if made_progress else []
    made_tree = write_tree(ws)
    commits += [made_tree] if made_tree else []
    summary = render_summary(ws, goal, stop_reason)
    extra = summary_lines(ws)  # one line per contamination report
    if extra:
        summary = summary.rstrip("\n") + "\n" + "\n".join(extra) + "\n"
    if not ws.exists(layout.SUMMARY) or ws.read_text(layout.SUMMARY) != summary:
        commits.append(ws.write_artifact("critic", layout.SUMMARY, summary, "Update the summary report"))


def write_tree(ws: Workspace) -> str | None:
    """reports/tree.png: the experiment tree (agents/search), drawn once there is a run in it."""
    from agents.search.render import TREE_PNG, tree_png
    from agents.search.tree import build_tree

    tree = build_tree(ws)
    if not tree.runs:
        return None
    return write_if_changed(ws, TREE_PNG, tree_png(tree), "Draw the experiment tree")


def _card(ws: Workspace, name: str) -> DatasetCard | None:
    rel = layout.dataset_card(name)
    if not ws.exists(rel):
        return None
    card = ws.load(rel)
    return card if isinstance(card, DatasetCard) else None
