"""A run sized to the time it has (agents/trainer/sizing.py): measured step time, minutes left, evaluation reserve."""

from __future__ import annotations

import time

import pytest

from agents.trainer.sizing import (
    DEFAULT_EVAL_SECONDS,
    MIN_STEPS,
    fit_to_time,
    measured_step_seconds,
    size_steps,
    training_deadline,
)
from bus import layout


def test_a_plan_that_fits_or_has_no_measured_step_is_unchanged():
    assert size_steps(40, 5.0, 400.0).steps == 40 and size_steps(40, 5.0, 400.0).note == ""
    assert size_steps(40, None, 10.0).steps == 40  # nothing measured: the run itself is the probe
    assert size_steps(40, 5.0, None).steps == 40  # no deadline


def test_a_plan_longer_than_the_time_left_is_sized_to_the_steps_that_fit_with_the_numbers():
    sized = size_steps(40, 5.0, 101.0)
    assert sized.steps == 20
    assert "40 to 20 steps" in sized.note and "5.0 s a step" in sized.note


def test_too_little_time_for_a_worthwhile_run_leaves_the_plan_to_the_deadline_stop():
    sized = size_steps(40, 5.0, 5.0 * (MIN_STEPS - 1))
    assert sized.steps == 40 and "deadline stop" in sized.note


def test_the_steps_come_from_this_models_measured_runs_and_leave_room_for_the_evaluation(
    ws, finish_run, make_config, make_evaluation, tmp_path
):
    assert measured_step_seconds(ws, "sft", make_config().base_model) is None
    assert training_deadline(ws, 1000.0) == pytest.approx(1000.0 - DEFAULT_EVAL_SECONDS)
    finish_run(ws, tmp_path / "models", make_config(max_steps=10))  # 60 s for 10 steps: 6 s a step
    assert measured_step_seconds(ws, "sft", make_config().base_model) == pytest.approx(6.0)
    assert measured_step_seconds(ws, "grpo", make_config().base_model) is None  # another method is not this one
    assert measured_step_seconds(ws, "sft", "another-model") is None
    base = make_evaluation(0.1).model_copy(update={"seconds": 30.0})
    ws.write_artifact("critic", layout.BASE_EVALUATION, base, "Base evaluation")
    assert training_deadline(ws, 1000.0) == pytest.approx(970.0)
    config = make_config(run_id="run-002", max_steps=100)
    # 30 s of evaluation and 120 s of training left: 20 steps of 6 s.
    sized, note = fit_to_time(ws, config, time.time() + 150.0)
    assert 18 <= sized.max_steps <= 20 and "sized from 100" in note
    same, note = fit_to_time(ws, config, time.time() + 3600.0)
    assert same.max_steps == 100 and note == ""
    # Once a trained run is scored, its evaluation is the reserve: a base model that rambles takes longer.
    scored = make_evaluation(0.5, subject="run-001").model_copy(update={"seconds": 12.0})
    ws.write_artifact("critic", layout.run_evaluation("run-001"), scored, "Evaluate run-001")
    assert training_deadline(ws, 1000.0) == pytest.approx(988.0)
