"""The trainer's step: turn the next untested hypothesis into a TrainingConfig and run it.

Training runs in its own process (agents/trainer/train_entry.py), started by the launcher
`compute:` names (agents/trainer/launchers/), so a crash, an out-of-memory
kill or a NaN loss becomes a failed RunResult with the cause and the log tail, and the loop
goes on. The trainer only ever hands the subprocess training data from datasets/.
"""

from __future__ import annotations

import os
import time

from pydantic import ValidationError

from agents.common import checkpoint_integrity, contamination, doom_loop, plan_rules, recovery, state
from agents.common.steps import StepOutcome
from agents.common.tracking import trackio_env
from agents.models.environment import set_offline_flags_if_offline
from agents.models.errors import ModelLoadError
from agents.models.refs import materialize_model
from agents.trainer import checkpoints, sizing
from agents.trainer import deadline as deadline_stop
from agents.trainer.launchers import LaunchSpec, cancel, launch
from agents.trainer.validation import check_training_config
from bus import Workspace, layout, sha256_file
from bus.schemas import DatasetCard, Hypothesis, RunResult, TrainingConfig, utc_now

PROGRESS_EVERY_SECONDS = 10.0


def _untested_hypotheses(ws: Workspace, rules: list[plan_rules.Rule]) -> list[tuple[str, Hypothesis]]:
    """Hypotheses no run tried yet, not withdrawn, whose method the human's rules allow, oldest first."""
    tested = {r.config.hypothesis for r in state.runs(ws) if r.config is not None}
    withdrawn = state.withdrawn(ws)
    allowed = [r.value for r in rules if r.kind == "methods"]
    return [
        (path, hyp)
        for path, hyp in state.hypotheses(ws)
        if path not in tested and path not in withdrawn and all(hyp.method in m for m in allowed)
    ]


def _refusal(ws: Workspace, config: TrainingConfig, rules: list[plan_rules.Rule]) -> str | None:
    """Why a config must not be trained: a rule it breaks, an artifact a human withdrew, or a repeat."""
    broken = plan_rules.check_config(config, rules)
    if broken:
        return f"breaks {broken[0]}"
    withdrawn = state.withdrawn(ws)
    for rel in (layout.dataset_card(config.dataset), config.hypothesis):
        if rel in withdrawn:
            return f"{rel} was withdrawn by the revert {withdrawn[rel][:8]}"
    twin = doom_loop.earlier_same_config(ws, config)
    if twin is not None:
        return f"repeats {twin}'s config: {doom_loop.REPEAT_MARK}"
    return None


def hypothesis_card(ws: Workspace, hyp_path: str, rules: list[plan_rules.Rule]) -> tuple[DatasetCard | None, str]:
    """The dataset built for `hyp_path`: (card, how it was chosen), or (None, why there is none to train on).

    The newest card naming the hypothesis (built for it, or reused for it: `serves`), as the curator wrote it; a
    rejected one stops the run (never a
    silent substitute from another hypothesis). A card naming no hypothesis (a human's, or one built before
    any hypothesis existed) serves any hypothesis that has none of its own. Withdrawn and ruled-out cards
    never count.
    """
    withdrawn = state.withdrawn(ws)
    cards = [
        (p, c)
        for p, c in state.dataset_cards(ws, include_rejected=True)
        if p not in withdrawn and plan_rules.dataset_allowed(c.name, rules) is None
    ]
    named = [c for _, c in cards if c.hypothesis == hyp_path or hyp_path in c.serves]
    if named:
        card = named[-1]
        if card.verdict == "rejected":
            return (
                None,
                f"its dataset {card.name} was rejected by the curator's gate: {'; '.join(card.verdict_reasons)}",
            )
        how = "built for it" if card.hypothesis == hyp_path else f"built for {card.hypothesis}, reused for it"
        return card, f"dataset {card.name}, {how}"
    general = [c for _, c in cards if c.hypothesis is None and c.verdict != "rejected"]
    if general:
        return general[-1], f"dataset {general[-1].name}, which names no hypothesis"
    return (
        None,
        "no checked dataset names it yet (withdrawn, rejected and ruled-out ones skipped); the curator builds one",
    )


def build_config(
    ws: Workspace,
    run_id: str,
    hyp_path: str,
    hyp: Hypothesis,
    card: DatasetCard,
    notes: list[str] | None = None,
) -> TrainingConfig:
    """The settings table's row for this model, device and data (agents/recipes/settings.py), then the
    hypothesis's delta. `notes` (when given) receives why the settings are what they are."""
    from agents.tasks import correctness_reward_name, get_task
    from agents.trainer.fitting import fitted_values

    goal = ws.goal()
    spec = goal.task
    # Addition keeps the recipe's measured room (digits + 3); the others need their task's answer length.
    tokens = None if spec.name == "addition" else get_task(spec).max_new_tokens(spec)
    try:
        if hyp.parent_run:
            model_path = str(ws.path(layout.run_checkpoint(hyp.parent_run)))
        else:
            model_path = materialize_model(goal.model, ws.state_dir / "models", goal.seed)
    except ModelLoadError:
        model_path = goal.model  # the run itself reports why it cannot load; the config still gets written
    values, why = fitted_values(
        hyp.method,
        model_path,
        ws.path(layout.dataset_file(card.name, card.data_file)),
        digits=spec.digits,
        step_scale=goal.scale.steps,
        reward=correctness_reward_name(spec),
        completion_tokens=tokens,
    )
    if notes is not None:
        notes.extend(why)
    values.update(hyp.config_delta)
    config = TrainingConfig(
        run_id=run_id,
        method=hyp.method,
        base_model=goal.model,
        parent_run=hyp.parent_run,
        dataset=card.name,
        hypothesis=hyp_path,
        seed=goal.seed,
        enable_thinking=spec.thinking,
        **values,
    )
    # Reward names, field combinations and the installed TRL: refused here, in one line naming the
    # field, rather than deep in the training subprocess.
    return check_training_config(config, spec.name)


def trainer_step(ws: Workspace, instruction: str = "", deadline: float | None = None) -> StepOutcome:
    commits, discarded = checkpoints.discard_unkept(ws)
    outcome = _train_next(ws, deadline, commits)
    if discarded:
        outcome.summary += f"; discarded the checkpoints of {', '.join(discarded)} (not kept by the critic)"
    return outcome


def _train_next(ws: Workspace, deadline: float | None, commits: list[str]) -> StepOutcome:
    # The human's Rules in plan.md; the supervisor asks about lines nobody can read.
    rules, _ = plan_rules.parse_rules(ws.plan().rules())
    # Interrupted or cancelled runs, never one whose result.json is there but unreadable (recovery asks about it).
    pending = [r for r in state.runs(ws) if recovery.interrupted(ws, r)]
    if pending:
        run_id, config = pending[0].id, pending[0].config  # an interrupted run: run it again from its config
        refusal = _refusal(ws, config, rules)
        if refusal:  # a rule or a revert came in since the config was written: close the run untrained
            result = _refused_result(config, refusal)
            sha = ws.write_artifact("trainer", layout.run_result(run_id), result, f"Refuse {run_id}: {refusal}")
            return StepOutcome("trainer", f"refused {run_id}: {refusal}", [*commits, sha], ok=False)
        damaged = _damaged_parent(ws, config, commits)
        if damaged:
            return damaged
    else:
        untested = _untested_hypotheses(ws, rules)
        if not untested:
            limits = [f"`{r.line}`" for r in rules if r.kind == "methods"]
            summary = "no untested hypothesis to run" + (f" under the rule {', '.join(limits)}" if limits else "")
            return StepOutcome("trainer", summary, commits, ok=False)
        run_id = state.next_run_id(ws)
        refusals = []
        for found in untested:  # the oldest hypothesis that makes a config the rules allow and no run tried
            card, chosen = hypothesis_card(ws, found[0], rules)
            if card is None:  # the hypothesis's own dataset, or none: never another hypothesis's data
                refusals.append(f"{found[0]} cannot run: {chosen}")
                continue
            try:
                why: list[str] = []
                config, adjusted = plan_rules.conform(build_config(ws, run_id, found[0], found[1], card, why), rules)
                if adjusted:  # a value moved to a rule's bound must still make a config TRL can train
                    config = check_training_config(config, ws.goal().task.name)
            except ValidationError as exc:
                err = exc.errors()[0]
                where = ".".join(str(p) for p in err["loc"])
                refusals.append(f"{found[0]} asks for an invalid config: {where}: {err['msg']}")
                continue
            refusal = _refusal(ws, config, rules)
            if refusal is None:
                break
            refusals.append(f"refused the config for {found[0]}: it {refusal}")
        else:
            return StepOutcome("trainer", "; ".join(refusals), commits, ok=False)
        refused = checkpoints.parent_problem(ws, config.parent_run)
        if refused:
            return StepOutcome("trainer", f"{found[0]} cannot run: {refused}", commits, ok=False)
        damaged = _damaged_parent(ws, config, commits)
        if damaged:
            return damaged
        config, sized = sizing.fit_to_time(ws, config, deadline)
        if sized:
            why.append(sized)
        try:
            # The critic checks every dataset against the held-out split first; the trainer only reads its verdict.
            contamination.read_report(ws.path(contamination.report_path(card.name)), card.data_sha256)
        except contamination.ContaminationReportError as exc:
            return StepOutcome(
                "trainer",
                f"dataset {card.name} is not checked against the held-out split yet: {exc}",
                commits,
                ok=False,
            )
        commits.append(
            ws.write_artifact(
                "trainer",
                layout.run_config(run_id),
                config,
                f"Configure {run_id}: {config.method} from {config.parent_run or 'base'} ({found[0]}; {chosen})"
                + (f"; by the rules: {', '.join(adjusted)}" if adjusted else "")
                + (f"; {why[0]}" if why else "")
                + (f"; {sized}" if sized else ""),
            )
        )
    metrics_rel = layout.run_metrics(run_id)
    # The subprocess writes metrics outside the bus; until the trainer commits them they are not a human's edit.
    with ws.agent_writing(metrics_rel):
        # The run must end in time for the critic to score it: its deadline is the goal's less an evaluation.
        result = run_training(ws, config, sizing.training_deadline(ws, deadline))
        if ws.exists(metrics_rel):
            text = ws.read_text(metrics_rel)
            commits.append(ws.write_artifact("trainer", metrics_rel, text, f"Training metrics of {run_id}"))
    summary = f"{run_id} {result.status} in {result.wall_seconds:.0f}s" + (f": {result.error}" if result.error else "")
    summary += f" ({result.cut_note}; its checkpoint is saved)" if result.cut else ""
    commits.append(
        ws.write_artifact(
            "trainer",
            layout.run_result(run_id),
            result,
            f"Result of {run_id}: {result.status}" + (f", {result.cut_note}" if result.cut else ""),
        )
    )
    return StepOutcome("trainer", summary, commits, ok=result.status != "failed")


def _damaged_parent(ws: Workspace, config: TrainingConfig, commits: list[str]) -> StepOutcome | None:
    """An integrity stop when the parent's checkpoint is not the one its run recorded; None when it is.

    Checked before anything of the run is written or trained: a run from changed weights would be
    recorded as a child of a checkpoint that no longer exists, and would spend the budget on it.
    """
    if not config.parent_run:
        return None
    problem = checkpoint_integrity.mismatch(ws, config.parent_run)
    if problem is None:
        return None
    reason = f"critical: integrity check failed: {config.run_id} would start from a changed checkpoint: {problem}"
    return StepOutcome("trainer", reason, commits, ok=False, critical=True)


def _refused_result(config: TrainingConfig, reason: str) -> RunResult:
    now = utc_now()
    return RunResult(
        run_id=config.run_id,
        method=config.method,
        status="failed",
        started=now,
        finished=now,
        wall_seconds=0.0,
        steps=0,
        error=f"not trained: the config {reason}",
    )


def run_training(ws: Workspace, config: TrainingConfig, deadline: float | None) -> RunResult:
    run_dir = ws.path(layout.run_dir(config.run_id))
    started, t0 = utc_now(), time.time()

    def failed(error: str, log_tail: str | None = None) -> RunResult:
        cancelled = error.startswith("cancelled by request")  # a human's `intern stop --now`, not a failure
        return RunResult(
            run_id=config.run_id,
            method=config.method,
            status="cancelled" if cancelled else "failed",
            started=started,
            finished=utc_now(),
            wall_seconds=round(time.time() - t0, 2),
            steps=0,
            error=error,
            log_tail=log_tail,
        )

    card_rel = layout.dataset_card(config.dataset)
    if not ws.exists(card_rel):
        return failed(f"dataset {config.dataset} has no card (was it reverted?)")
    card = ws.load(card_rel)
    if card.verdict == "rejected":
        return failed(f"dataset {config.dataset} was rejected by the curator's gate: {'; '.join(card.verdict_reasons)}")
    if card.hypothesis is not None and config.hypothesis not in (card.hypothesis, *card.serves):
        return failed(f"dataset {config.dataset} was built for {card.hypothesis}, not for {config.hypothesis}")
    data = ws.path(layout.dataset_file(config.dataset, card.data_file))
    if not data.exists() or sha256_file(data) != card.data_sha256:
        return failed(f"{data.relative_to(ws.root)} is missing or differs from its card's sha256; rerun the curator")
    report_rel = contamination.report_path(config.dataset)
    try:
        report = contamination.read_report(ws.path(report_rel), card.data_sha256)
    except contamination.ContaminationReportError as exc:
        return failed(str(exc))
    try:
        if config.parent_run:
            refused = checkpoints.parent_problem(ws, config.parent_run)
            if refused:
                return failed(refused)
            model_path = str(ws.path(layout.run_checkpoint(config.parent_run)))
        else:
            set_offline_flags_if_offline()
            model_path = materialize_model(config.base_model, ws.state_dir / "models", config.seed)
    except ModelLoadError as exc:
        return failed(str(exc))

    metrics_rel = layout.run_metrics(config.run_id)
    env = dict(os.environ)
    env.update(trackio_env(ws))  # always the workspace's own project, so `intern dashboard` shows it
    env.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    env["PYTHONUNBUFFERED"] = "1"
    env.pop(deadline_stop.DEADLINE_ENV, None)
    if deadline is not None:  # the process stops cleanly before it and saves (agents/trainer/deadline.py)
        env[deadline_stop.DEADLINE_ENV] = f"{deadline:.3f}"
    cancel_path = cancel.cancel_file(ws.state_dir)
    cancel.clear_stale_request(cancel_path, config.run_id)
    spec = LaunchSpec(
        run_id=config.run_id,
        method=config.method,
        max_steps=config.max_steps,
        run_dir=run_dir,
        entry_args=[model_path, str(data), card.task, str(ws.path(report_rel))],
        env=env,
        cwd=ws.root,
        cancel_file=cancel_path,
        # A backstop only: the process itself stops before the deadline and saves its checkpoint.
        timeout=None if deadline is None else max(30.0, deadline - time.time()) + deadline_stop.STOP_GRACE_SECONDS,
        compute=ws.goal().compute,
        progress_every=PROGRESS_EVERY_SECONDS,
        budget=ws.goal().budget,
        state_dir=ws.state_dir,
    )
    outcome = launch(spec)
    if not outcome.ok:
        return failed(outcome.error or "failed", outcome.log_tail)
    rows = state.read_metrics(ws.path(metrics_rel))
    last = {k: v for row in rows for k, v in row.items() if isinstance(v, (int, float)) and k not in ("time",)}
    checkpoint = run_dir / "checkpoint"
    cut = deadline_stop.read_cut(run_dir)
    return RunResult(
        run_id=config.run_id,
        method=config.method,
        status="succeeded",
        started=started,
        finished=utc_now(),
        wall_seconds=round(time.time() - t0, 2),
        steps=cut["step"] if cut else int(last.get("step", 0)),
        final_metrics={k: round(float(v), 6) for k, v in last.items() if k != "step"},
        checkpoint=layout.run_checkpoint(config.run_id),
        checkpoint_sha256=checkpoint_integrity.record(ws, checkpoint.relative_to(ws.root).as_posix()),
        rows_dropped_contaminated=len(contamination.dropped_rows(report)),
        contamination_report=report_rel,
        planned_steps=cut["planned"] if cut else None,
        cut=cut["reason"] if cut else None,
    )
