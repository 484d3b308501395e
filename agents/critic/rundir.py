"""`intern diagnose PATH`: the critic's diagnosis of one run, outside the loop.

PATH is an intern run folder (config.yaml + metrics.jsonl), a TRL/transformers output folder
(trainer_state.json at its root or in its newest checkpoint-*), or a trainer_state.json itself;
`--trackio PROJECT/RUN` reads a Trackio run instead (agents/critic/signals/trl_logs.py reads the last three).
When an intern run folder sits in a workspace (runs/<id>/ under a folder with intern.yaml) it also
reads the run's evaluation, result, its parent's and the base model's evaluations, the data card and
the goal; whatever is missing is named in the output as not checked, and the diagnosis goes on from
the metrics alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import git

from agents.common import state
from agents.critic.diagnose import RunEvidence, diagnose_run, held_out, keep_verdict, render_finding
from agents.critic.noise_floor import read_noise_floor
from agents.critic.signals.methods import label, scope_note
from agents.critic.signals.prescription import rank
from agents.critic.signals.training import signal_findings, signal_report
from agents.critic.signals.trl_logs import LoggedRun, read_logged_run
from bus import Workspace, layout
from bus.artifacts import load_artifact
from bus.errors import ArtifactError, BusError
from bus.jsonl import parse_jsonl_lenient
from bus.schemas import DatasetCard, Diagnosis, Evaluation, Finding, Goal, RunResult, TrainingConfig


class RunDirError(BusError):
    """A run directory the diagnosis cannot read: one line naming the file and the cause."""


@dataclass
class RunDirDiagnosis:
    config: TrainingConfig
    metrics: list[dict]
    skipped_lines: int
    findings: list[Finding]
    unchecked: list[str] = field(default_factory=list)
    diagnosis: Diagnosis | None = None  # the full diagnosis, when the held-out side was available
    checked: list[str] = field(default_factory=list)  # what the rules looked at and found in order
    too_little: bool = False  # fewer logged rows than any trend needs
    logged: LoggedRun | None = None  # set when the run was read from TRL's logs, not an intern run folder


def read_metrics_file(path: Path) -> tuple[list[dict], int]:
    """Rows of a metrics.jsonl and how many lines were not JSON objects (skipped, e.g. a torn last line)."""
    if not path.is_file():
        raise RunDirError(f"{path}: does not exist (the trainer writes it while training)")
    rows, bad = parse_jsonl_lenient(path.read_text(encoding="utf-8", errors="replace"))
    skipped = len(bad)
    if not rows:
        raise RunDirError(f"{path}: no readable metric rows ({skipped} unreadable lines)")
    return rows, skipped


def _optional(root: Path, rel: str, unchecked: list[str], why: str):
    if not (root / rel).exists():
        unchecked.append(f"{why}: no {rel}")
        return None
    try:
        return load_artifact(root, rel)
    except ArtifactError as exc:
        unchecked.append(f"{why}: {exc}")
        return None


def _loop_context(root: Path, run_id: str, unchecked: list[str]) -> tuple[float, state.RunView | None]:
    """The workspace's noise floor and the best kept run before `run_id`, read as the loop reads them."""
    try:
        ws = Workspace(root)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        unchecked.append("the noise floor and the best run so far: the workspace is not a git repository")
        return 0.0, None
    # No reports/noise-floor.md yet reads as 0.0, exactly as in the loop, so the verdicts agree.
    return read_noise_floor(ws), state.best_run(ws, before=run_id)


def diagnose_path(path: str | Path) -> RunDirDiagnosis:
    """An intern run folder, a TRL/transformers output folder, or a trainer_state.json file."""
    given = Path(path).expanduser().resolve()
    if not given.exists():
        raise RunDirError(f"{given}: does not exist")
    if given.is_file():
        if given.suffix != ".json":
            raise RunDirError(
                f"{given}: not a directory or a trainer_state.json; give a run folder (workspace/runs/run-001), "
                "a TRL output folder or its trainer_state.json"
            )
        return diagnose_logged(read_logged_run(given))
    if (given / "config.yaml").is_file() or (given / "metrics.jsonl").is_file():
        return diagnose_directory(given)  # intern's own run folder
    return diagnose_logged(read_logged_run(given))


def diagnose_logged(logged: LoggedRun) -> RunDirDiagnosis:
    """A run read from TRL's logs: every rule, with the logged evaluation as its held-out evidence."""
    report = signal_report(logged.config, logged.rows, None, logged.known, logged.meta)
    unchecked = list(report.unchecked)
    if not any(k.startswith("eval_") for row in logged.rows for k in row):
        unchecked.append("held-out side: no eval_* rows in the log and no intern evaluation")
    found = RunDirDiagnosis(logged.config, logged.rows, 0, report.findings, unchecked)
    found.checked, found.too_little, found.logged = report.checked, report.too_little, logged
    return found


def _with_checks(found: RunDirDiagnosis, held=None) -> RunDirDiagnosis:
    report = signal_report(found.config, found.metrics, held)
    found.checked, found.too_little = report.checked, report.too_little
    return found


def diagnose_directory(run_dir: str | Path) -> RunDirDiagnosis:
    run = Path(run_dir).expanduser().resolve()
    if not run.is_dir():
        raise RunDirError(f"{run}: not a directory; give a run folder such as workspace/runs/run-001")
    if not (run / "config.yaml").is_file():
        raise RunDirError(f"{run / 'config.yaml'}: does not exist; a run folder holds the trainer's config.yaml")
    try:
        config = load_artifact(run, "config.yaml", TrainingConfig)
    except ArtifactError as exc:
        raise RunDirError(f"{run / 'config.yaml'}: {str(exc).split(': ', 1)[1]}") from None
    metrics, skipped = read_metrics_file(run / "metrics.jsonl")
    unchecked: list[str] = []

    root = run.parent.parent
    if run.parent.name != "runs" or not (root / "intern.yaml").is_file():
        unchecked.append(
            "held-out side (gain over parent, weak slices, reward hacking, over-fitting, plateau) and the "
            "recommendation: the run folder is not inside a workspace (no ../../intern.yaml)"
        )
        findings, more = signal_findings(config, metrics, None)
        return _with_checks(RunDirDiagnosis(config, metrics, skipped, findings, unchecked + more))

    prefix = layout.run_dir(run.name)
    goal = _optional(root, "intern.yaml", unchecked, "the target")
    result = _optional(root, f"{prefix}/result.json", unchecked, "the run's status")
    evaluation = _optional(root, f"{prefix}/evaluation.md", unchecked, "the held-out score")
    base = _optional(root, layout.BASE_EVALUATION, unchecked, "the gain over the base model")
    parent = None
    if config.parent_run:
        parent = _optional(root, layout.run_evaluation(config.parent_run), unchecked, "the gain over the parent")
    card = _optional(root, layout.dataset_card(config.dataset), [], "the data card")
    floor, best = _loop_context(root, run.name, unchecked)
    complete = (
        isinstance(goal, Goal)
        and isinstance(result, RunResult)
        and isinstance(evaluation, Evaluation)
        and isinstance(base, Evaluation)
    )
    if complete:
        diagnosis = diagnose_run(
            RunEvidence(
                goal,
                config,
                result,
                evaluation,
                base,
                parent if isinstance(parent, Evaluation) else None,
                card if isinstance(card, DatasetCard) else None,
                metrics,
                floor,
                best.evaluation if best else None,
                best.id if best else "base",
            )
        )
        found = RunDirDiagnosis(
            config, metrics, skipped, diagnosis.findings, unchecked + diagnosis.unchecked, diagnosis
        )
        held = held_out(config, evaluation, base, parent if isinstance(parent, Evaluation) else None, floor)
        return _with_checks(found, held)
    held = held_out(
        config,
        evaluation if isinstance(evaluation, Evaluation) else None,
        base if isinstance(base, Evaluation) else None,
        parent if isinstance(parent, Evaluation) else None,
        floor,
    )
    findings, more = signal_findings(config, metrics, held)
    unchecked.append("the recommendation: it needs the goal, the run's result, its evaluation and the base evaluation")
    return _with_checks(RunDirDiagnosis(config, metrics, skipped, findings, unchecked + more), held)


def verdict(found: RunDirDiagnosis) -> str:
    """One line: what is wrong (worst first), 'too little data', or 'healthy'."""
    alarms = sorted((f for f in found.findings if f.severity != "info"), key=rank)
    scope = scope_note(found.logged.method) if found.logged else None
    tail = f" ({scope})" if scope else ""
    if alarms:
        head = "broken" if any(f.severity == "critical" for f in alarms) else "needs attention"
        return f"{head}: " + "; ".join(f"{f.name} ({f.severity})" for f in alarms) + tail
    if found.too_little:
        return "too little data: no trend can be read from so few logged rows" + tail
    return "healthy" + tail


def report_json(found: RunDirDiagnosis, where: str) -> dict:
    """The diagnosis as plain data for scripts (`intern diagnose --json`)."""
    steps = [r["step"] for r in found.metrics if isinstance(r.get("step"), int)]
    logged = found.logged
    return {
        "run": found.config.run_id,
        "source": logged.source if logged else str(where),
        "kind": ("trackio" if logged.source.startswith("trackio ") else "trl") if logged else "intern",
        "method": found.logged.method if logged else found.config.method,
        "rows": len(found.metrics),
        "steps": [min(steps), max(steps)] if steps else [],
        "verdict": verdict(found),
        "healthy": verdict(found).startswith("healthy"),
        "findings": [f.model_dump(mode="json") for f in found.findings],
        "checked": found.checked,
        "unchecked": found.unchecked,
        "notes": logged.notes if logged else [],
        "diagnosis": found.diagnosis.model_dump(mode="json") if found.diagnosis else None,
    }


def format_report(found: RunDirDiagnosis, run_dir: str | Path) -> str:
    """Plain text for the terminal: the run, its findings with evidence and remedies, what was not checked."""
    cfg = found.config
    steps = [r["step"] for r in found.metrics if isinstance(r.get("step"), int)]
    span = f", steps {min(steps)}-{max(steps)}" if steps else ""
    if found.logged is not None:
        method = label(found.logged.method)
        lines = [f"{cfg.run_id} ({method} run, {len(found.metrics)} logged rows{span}) from {found.logged.source}"]
        lines += [f"read: {note}" for note in found.logged.notes]
    else:
        lines = [f"{cfg.run_id} ({cfg.method}, {len(found.metrics)} metric rows{span}) in {run_dir}"]
    if found.skipped_lines:
        lines.append(f"skipped {found.skipped_lines} unreadable line(s) of metrics.jsonl")
    dg = found.diagnosis
    if dg is not None:
        lines.append(
            f"held-out {dg.score:.3f}, {dg.gain_vs_base:+.3f} over the base model"
            + (f", {dg.gain_vs_parent:+.3f} over its parent" if dg.gain_vs_parent is not None else "")
            + (" (a real gain)" if dg.significant else " (no real gain)")
            + (f"; noise floor {dg.noise_floor:.3f}" if dg.noise_floor else "")
            + f"; {keep_verdict(dg)}"
        )
    alarms = [f for f in found.findings if f.severity != "info"]
    lines.append(f"findings: {len(found.findings)} ({len(alarms)} warning or critical)")
    for finding in found.findings:
        lines += ["  " + line.replace("**", "").replace("`", "") for line in render_finding(finding)]
    if not found.findings:
        lines.append("  none: no rule fired on these metrics")
    lines.append(f"verdict: {verdict(found)}")
    if found.checked:
        lines.append("checked: " + "; ".join(found.checked))
    if found.unchecked:
        lines.append("not checked:")
        lines += [f"  - {u}" for u in found.unchecked]
    if dg is not None:
        rec = dg.recommendation
        lines.append(
            f"next: {rec.action}"
            + (f" {rec.method} from {rec.parent_run or 'the base model'}" if rec.method else "")
            + f": {rec.reason}"
            + (f" (config change {rec.config_delta})" if rec.config_delta else "")
        )
    return "\n".join(lines)
