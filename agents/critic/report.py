"""reports/summary.md: the goal, every run against the base and the target, and why the loop stopped.

reports/progress.png draws the same held-out scores; the summary links it once it exists.
"""

from __future__ import annotations

from agents.common import state
from agents.critic.curves import Point, progress_png, write_if_changed
from agents.critic.diagnose import keep_verdict
from agents.critic.origin import check_origin
from bus import Workspace, layout
from bus.schemas import Diagnosis, Evaluation, Goal

PROGRESS = layout.PROGRESS_PNG


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
    hypotheses = {layout.hypothesis(p.split("/")[-1].removesuffix(".md")): h for p, h in state.hypotheses(ws)}
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
        "Each gain is shown with its 95% interval, paired item by item on the same held-out problems; a run is "
        "kept (the new best) only when its gain over the best kept run before it (or the base model) has an "
        "interval above 0.",
        "",
        "| run | method | from | what it changed | held-out (95% interval) | vs parent | vs best so far | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        cfg, ev, dg = run.config, run.evaluation, run.diagnosis
        if cfg is None:
            continue
        hyp = hypotheses.get(cfg.hypothesis or "")
        change = hyp.title if hyp else (cfg.hypothesis or "-")
        parent = cfg.parent_run or "base"
        if run.result is not None and run.result.status == "cancelled":
            lines.append(
                f"| {run.id} | {cfg.method} | {parent} | {change} | cancelled | - | - | {run.result.error or ''} |"
            )
            continue
        if run.result is not None and run.result.status == "failed":
            lines.append(
                f"| {run.id} | {cfg.method} | {parent} | {change} | failed | - | - | {run.result.error or ''} |"
            )
            continue
        if ev is None:
            lines.append(f"| {run.id} | {cfg.method} | {parent} | {change} | not evaluated | - | - | - |")
            continue
        lines.append(
            f"| {run.id} | {cfg.method} | {parent} | {change} | {ev.score:.3f} ({ev.ci_low:.3f}-{ev.ci_high:.3f}) "
            f"| {_vs_parent(dg, ev.score, base)} | {_vs_best(dg)} | {_verdict(dg)} |"
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
        if stop_reason is not None:  # the final report: does the best checkpoint descend from the base?
            lines.append(_origin_line(ws, best.id))
    if ws.exists(PROGRESS):
        lines += ["", "![held-out score per run against the base model and the target](progress.png)"]
    if ws.exists(layout.TREE_PNG):
        lines += [
            "",
            "The experiment tree (each run under the run it started from; `intern tree` prints it):",
            "",
            "![the experiment tree](tree.png)",
        ]
    lines += ["", f"Why the loop stopped: {stop_reason}" if stop_reason else "The loop is still running."]
    return "\n".join(lines) + "\n"


def _origin_line(ws: Workspace, run_id: str) -> str:
    try:
        return check_origin(ws, run_id).line()
    except Exception as exc:  # the report must still be written; the export runs the check again
        return f"Origin check: could not run ({type(exc).__name__}: {str(exc)[:200]})."


def _gain(gain: float, interval: tuple[float, float] | None) -> str:
    return f"{gain:+.3f}" + (f" ({interval[0]:+.3f}..{interval[1]:+.3f})" if interval else "")


def _vs_parent(diagnosis: Diagnosis | None, score: float, base: Evaluation | None) -> str:
    """Gain over the parent, or over the base model for a run trained from it."""
    if diagnosis is None:
        return f"{score - (base.score if base else 0):+.3f} (base)"
    if diagnosis.gain_vs_parent is not None:
        return _gain(diagnosis.gain_vs_parent, diagnosis.gain_vs_parent_interval)
    return _gain(diagnosis.gain_vs_base, diagnosis.gain_vs_base_interval) + " (base)"


def _vs_best(diagnosis: Diagnosis | None) -> str:
    if diagnosis is None or diagnosis.gain_vs_best is None:
        return "-"
    against = "base" if diagnosis.best_before in (None, "base") else diagnosis.best_before
    return _gain(diagnosis.gain_vs_best, diagnosis.gain_vs_best_interval) + f" ({against})"


def _verdict(diagnosis: Diagnosis | None) -> str:
    if diagnosis is None:
        return "not diagnosed yet"
    if diagnosis.gain_vs_parent is None:
        gain = "real gain over base" if diagnosis.significant else "no measurable gain over base"
    else:
        gain = "real gain over parent" if diagnosis.significant else "added nothing measurable"
    return f"{gain}; {keep_verdict(diagnosis)}"
