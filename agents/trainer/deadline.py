"""A run that fits the time it has: training stops cleanly before the goal's deadline and its checkpoint is saved.

The trainer hands the deadline to the training process in INTERN_TRAIN_DEADLINE (epoch seconds). After each
optimizer step the callback asks whether one more step (at the mean step time so far) and the save would end
past it; if so it sets `control.should_training_stop`, TRL leaves the loop as after its last step, and the
normal save path runs. CUT_FILE records the step it stopped at and the steps planned, and the trainer puts
them in the RunResult, so the critic scores the checkpoint like any run and says it was cut. The launcher's
kill stays only as a backstop, STOP_GRACE_SECONDS after the deadline, for a process that never reaches a step.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path

DEADLINE_ENV = "INTERN_TRAIN_DEADLINE"
# Inside the run's trainer_output/ (out of git, removed with a partial run): the trainer folds it into result.json,
# so it is never a stray file the watcher would commit as a human's edit.
CUT_FILE = "trainer_output/cut.json"
DEADLINE_REASON = "the budget's deadline"
SAVE_SECONDS = 5.0  # kept free before the deadline for the save (SmolLM2-135M saves in ~2 s on this CPU)
STOP_GRACE_SECONDS = 120.0  # the launcher kills a process still running this long after the deadline


def deadline_from_env(env: Mapping[str, str]) -> float | None:
    """The deadline the trainer set, or None; a value that is not a number is a clear error."""
    raw = env.get(DEADLINE_ENV)
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{DEADLINE_ENV}={raw!r} is not epoch seconds") from None


def read_cut(run_dir: Path) -> dict | None:
    """{"step", "planned", "reason"} when the run was cut short, else None."""
    path = run_dir / CUT_FILE
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        return {"step": int(data["step"]), "planned": int(data["planned"]), "reason": str(data["reason"])}
    except (ValueError, KeyError, TypeError):
        return None


def stop_before(deadline: float, run_dir: Path, save_seconds: float = SAVE_SECONDS):
    """A TrainerCallback that ends training when the next step and the save would not finish by `deadline`."""
    from transformers import TrainerCallback

    class StopBeforeDeadline(TrainerCallback):
        def __init__(self) -> None:
            self.started: float | None = None
            self.first_step = 0

        def on_train_begin(self, args, state, control, **kwargs):
            self.started, self.first_step = time.time(), state.global_step

        def on_step_end(self, args, state, control, **kwargs):
            now = time.time()
            done = max(1, state.global_step - self.first_step)
            per_step = (now - (self.started or now)) / done
            if state.global_step < state.max_steps and now + per_step + save_seconds >= deadline:
                control.should_training_stop = True
                if state.is_world_process_zero:
                    cut = {"step": state.global_step, "planned": state.max_steps, "reason": DEADLINE_REASON}
                    (run_dir / CUT_FILE).parent.mkdir(parents=True, exist_ok=True)
                    (run_dir / CUT_FILE).write_text(json.dumps(cut))
                print(
                    f"stopping at step {state.global_step} of {state.max_steps}: {DEADLINE_REASON} is "
                    f"{deadline - now:.0f}s away and a step takes ~{per_step:.1f}s; saving the checkpoint",
                    flush=True,
                )
            return control

    return StopBeforeDeadline()
