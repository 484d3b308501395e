"""A run sized to the time it has: its steps from this model's measured step time and the minutes left.

Before a run starts, the trainer looks up how long a step of this method took in this workspace's earlier runs
of the same base model (their wall time over their steps, as the search prices them) and how long the
critic's evaluation takes (the base model's, measured). When the planned steps and that evaluation would end
past the goal's deadline, the run is planned with the steps that fit, and the config's commit says so with the
numbers; nothing is shortened below MIN_STEPS (the deadline stop then protects the budget).

When nothing is measured yet (the first run of a method on a model), the run itself is the timed probe: the
training process times every step and stops cleanly, with its checkpoint saved, when the next step and the
save would pass the deadline it is given (agents/trainer/deadline.py). That deadline is the goal's minus the
evaluation reserve, so a cut run is still scored inside the budget.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

from agents.common import state
from bus import Workspace
from bus.schemas import TrainingConfig

MIN_STEPS = 5  # fewer planned steps than this are not worth a model load; the deadline stop decides instead
DEFAULT_EVAL_SECONDS = 60.0  # before the base model's evaluation is on file (SmolLM2, 60 problems: ~50-90 s)


@dataclass(frozen=True)
class Sizing:
    steps: int  # max_steps the run is planned with
    note: str  # why, with the numbers ("" when unchanged)


def measured_step_seconds(ws: Workspace, method: str, base_model: str) -> float | None:
    """Median seconds per step (wall time over steps) of this workspace's finished runs of `method` on
    `base_model`; None when none is on file."""
    found = [
        r.result.wall_seconds / r.result.steps
        for r in state.runs(ws)
        if r.config is not None
        and r.result is not None
        and r.result.status == "succeeded"
        and r.result.steps > 0
        and r.config.method == method
        and r.config.base_model == base_model
    ]
    return statistics.median(found) if found else None


def evaluation_seconds(ws: Workspace) -> float:
    """How long the critic's evaluation of a trained run takes here: the median of the runs' evaluations; before
    any, the base model's (an upper bound: a base model that explains instead of answering writes to the token
    limit: 184 s for SmolLM2 on 200 problems, 86-96 s once trained); else a default."""
    runs = [r.evaluation.seconds for r in state.runs(ws) if r.evaluation is not None and r.evaluation.seconds > 0]
    if runs:
        return statistics.median(runs)
    base = state.base_evaluation(ws)
    return base.seconds if base is not None and base.seconds > 0 else DEFAULT_EVAL_SECONDS


def training_deadline(ws: Workspace, deadline: float | None) -> float | None:
    """The deadline the training process gets: the goal's, less the evaluation that must follow the run."""
    return None if deadline is None else deadline - evaluation_seconds(ws)


def size_steps(planned: int, per_step: float | None, seconds_left: float | None) -> Sizing:
    """The steps that fit `seconds_left` at `per_step` seconds each, never more than planned; unchanged when
    either is unknown or the plan fits."""
    if per_step is None or seconds_left is None or per_step <= 0 or planned * per_step <= seconds_left:
        return Sizing(planned, "")
    fit = int(max(0.0, seconds_left) // per_step)
    if fit < MIN_STEPS:
        return Sizing(
            planned,
            f"only {max(0.0, seconds_left) / 60:.1f} min left for training at {per_step:.1f} s a step ({fit} steps): "
            "left at the plan, the deadline stop ends it cleanly",
        )
    return Sizing(
        fit,
        f"sized from {planned} to {fit} steps: {per_step:.1f} s a step measured on this model, "
        f"{seconds_left / 60:.1f} min left before the deadline less the evaluation",
    )


def fit_to_time(ws: Workspace, config: TrainingConfig, deadline: float | None) -> tuple[TrainingConfig, str]:
    """The config with max_steps sized to the time left (see size_steps), and the note saying so."""
    stop = training_deadline(ws, deadline)
    per_step = measured_step_seconds(ws, config.method, config.base_model)
    sized = size_steps(config.max_steps, per_step, None if stop is None else stop - time.time())
    if sized.steps == config.max_steps:
        return config, sized.note
    return config.model_copy(update={"max_steps": sized.steps}), sized.note
