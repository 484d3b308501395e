"""reports/summary.md: the goal, every run against the base and the target, and why the loop stopped.

reports/progress.png draws the same held-out scores; the summary links it once it exists.
"""

from __future__ import annotations

from agents import state
from agents.critic.curves import Point, progress_png, write_if_changed
from bus import Workspace
from bus.schemas import Goal

PROGRESS = "reports/progress.png"


def write_progress(ws: Workspace, goal: Goal) -> str | None:
    """Draw reports/progress.png (held-out score per run, base and target); the commit sha, or None if unchanged."""
    base = state.base_evaluation(ws)
    points = [
        Point(r.id, r.config.method, r.evaluation.score, r.evaluation.ci_low, r.evaluation.ci_high)
        for r in state.runs(ws)
        if r.config is not None and r.evaluation is not None
    ]
    if base is None and not points:
        return None
    title = f"{goal.model} on {goal.task.name}: held-out {goal.target.metric} per run"
    png = progress_png(points, base.score if base else None, goal.target.value, title)
    return write_if_changed(ws, PROGRESS, png, "Draw held-out progress per run")


def render_summary(ws: Workspace, goal: Goal, stop_reason: str | None) -> str:
    base = state.base_evaluation(ws)
    runs = state.runs(ws)
    hypotheses = {f"hypotheses/{p.split('/')[-1]}": h for p, h in state.hypotheses(ws)}
    best = state.best_run(ws)
    lines = [
        "# Summary",
        "",
        f"Goal: lift `{goal.model}` on `{goal.task.name}` to {goal.target.metric} >= {goal.target.value:.2f} "
        f"within {goal.budget.runs} runs and {goal.budget.minutes:g} minutes.",
        "",
        f"Base model: {base.score:.3f} ({base.ci_low:.3f}-{base.ci_high:.3f})."
        if base
        else "Base model: not evaluated yet.",
        "",
        "| run | method | from | what it changed | held-out | 95% interval | vs parent | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        cfg, ev, dg = run.config, run.evaluation, run.diagnosis
        if cfg is None:
            continue
        hyp = hypotheses.get(cfg.hypothesis or "")
        change = hyp.title if hyp else (cfg.hypothesis or "-")
        parent = cfg.parent_run or "base"
        if run.result is not None and run.result.status == "failed":
            lines.append(
                f"| {run.id} | {cfg.method} | {parent} | {change} | failed | - | - | {run.result.error or ''} |"
            )
            continue
        if ev is None:
            lines.append(f"| {run.id} | {cfg.method} | {parent} | {change} | not evaluated | - | - | - |")
            continue
        vs = (
            f"{dg.gain_vs_parent:+.3f}"
            if dg and dg.gain_vs_parent is not None
            else f"{ev.score - (base.score if base else 0):+.3f}"
        )
        verdict = _verdict(dg)
        lines.append(
            f"| {run.id} | {cfg.method} | {parent} | {change} | {ev.score:.3f} | {ev.ci_low:.3f}-{ev.ci_high:.3f} | {vs} | {verdict} |"
        )
    lines.append("")
    if best is not None and best.evaluation is not None:
        lines.append(
            f"Best checkpoint: `runs/{best.id}/checkpoint` ({best.evaluation.score:.3f} held-out exact match, "
            f"sha256 {str(best.result.checkpoint_sha256 if best.result else '')[:16]}...). Load it with plain "
            "`AutoModelForCausalLM.from_pretrained`."
        )
        met = best.evaluation.score >= goal.target.value
        lines.append(
            f"Target {'met' if met else 'not met'}: best {best.evaluation.score:.3f} against {goal.target.value:.2f}."
        )
    if ws.exists(PROGRESS):
        lines += ["", "![held-out score per run against the base model and the target](progress.png)"]
    lines += ["", f"Why the loop stopped: {stop_reason}" if stop_reason else "The loop is still running."]
    return "\n".join(lines) + "\n"


def _verdict(diagnosis) -> str:
    if diagnosis is None:
        return "not diagnosed yet"
    if diagnosis.gain_vs_parent is None:
        return "real gain over base" if diagnosis.significant else "no measurable gain over base"
    return "real gain over parent" if diagnosis.significant else "added nothing measurable"
