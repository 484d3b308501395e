"""The critic's step and the loop when integrity fails: tampered split, grader or checkpoint stop everything."""

from __future__ import annotations

import json
import shutil

import pytest

from agents.critic.critic import critic_step
from agents.critic.evaluate import ensure_eval_split
from agents.models.refs import materialize_model
from agents.models.tiny import EMBEDDED_TINY
from agents.supervisor import run_loop
from bus.artifacts import split_front_matter


@pytest.fixture
def small_ws(ws, set_goal):
    set_goal(ws, task={"eval_size": 20})
    ensure_eval_split(ws, ws.goal())
    return ws


def _tamper_split(ws) -> None:
    rel = "eval/addition/test.jsonl"
    lines = ws.read_text(rel).splitlines()
    row = json.loads(lines[0])
    row["answer"] = "000"
    ws.path(rel).write_text("\n".join([json.dumps(row), *lines[1:]]) + "\n")


def test_a_tampered_split_makes_the_critic_step_critical(small_ws):
    ws = small_ws
    _tamper_split(ws)
    outcome = critic_step(ws)
    assert outcome.critical and not outcome.ok
    assert outcome.summary.startswith("critical: integrity check failed") and "changed since it was created" in (
        outcome.summary
    )
    assert not ws.exists("reports/base-evaluation.md")
    assert "changed since it was created" in ws.read_text("reports/summary.md")


def test_a_changed_grader_hash_makes_the_critic_step_critical(small_ws):
    ws = small_ws
    card = ws.read_text("eval/addition/README.md")
    recorded = split_front_matter(card)[0]["grader_sha256"]
    ws.path("eval/addition/README.md").write_text(card.replace(recorded, "f" * 64))
    outcome = critic_step(ws)
    assert outcome.critical
    assert "grader of task addition changed" in outcome.summary
    assert "grader of task addition changed" in ws.read_text("reports/summary.md")


def _finished_run(ws, tmp_path, write_base_evaluation, finish_run) -> str:
    """A succeeded run-001 whose checkpoint is a real tiny model, and a base evaluation already written."""
    write_base_evaluation(ws, 0.0, n=20)
    return finish_run(ws, tmp_path / "models")


def test_a_swapped_checkpoint_makes_the_critic_step_critical(small_ws, tmp_path, write_base_evaluation, finish_run):
    ws = small_ws
    ckpt = ws.path(_finished_run(ws, tmp_path, write_base_evaluation, finish_run))
    other = materialize_model(EMBEDDED_TINY, tmp_path / "models", seed=4)
    shutil.copy(f"{other}/model.safetensors", ckpt / "model.safetensors")
    outcome = critic_step(ws)
    assert outcome.critical
    assert "the evaluated checkpoint is not the one the run produced" in outcome.summary
    assert not ws.exists("runs/run-001/evaluation.md") and not ws.exists("runs/run-001/diagnosis.md")


def test_the_untouched_run_is_evaluated_with_its_hash(small_ws, tmp_path, write_base_evaluation, finish_run):
    ws = small_ws
    _finished_run(ws, tmp_path, write_base_evaluation, finish_run)
    outcome = critic_step(ws)
    assert outcome.ok and not outcome.critical, outcome.summary
    evaluation = ws.load("runs/run-001/evaluation.md")
    assert evaluation.checkpoint_sha256 == ws.load("runs/run-001/result.json").checkpoint_sha256
    assert evaluation.samples_per_problem > 0 and evaluation.pass_at_k
    assert ws.exists("runs/run-001/diagnosis.md")
    assert not ws.exists("reports/noise-floor.md")  # an untrained checkpoint scores 0: no floor from it


def test_a_missing_checkpoint_is_recorded_not_critical(small_ws, tmp_path, write_base_evaluation, finish_run):
    ws = small_ws
    shutil.rmtree(ws.path(_finished_run(ws, tmp_path, write_base_evaluation, finish_run)))
    outcome = critic_step(ws)
    assert not outcome.ok and not outcome.critical
    assert "run-001 not evaluated" in outcome.summary and "missing" in outcome.summary
    assert not ws.exists("runs/run-001/diagnosis.md")


def test_the_loop_stops_on_a_critical_step_and_says_why(small_ws):
    ws = small_ws
    _tamper_split(ws)
    ws.commit_human_edits()
    reason = run_loop(ws, watch=False, say=lambda _: None)
    assert reason.startswith("critical: integrity check failed"), reason
    summary = ws.read_text("reports/summary.md")
    assert f"Why the loop stopped: {reason}" in summary
    plan = ws.read_text("plan.md")
    assert "stop (critical: integrity check failed" in plan
    assert not (ws.root / "runs").exists()
