"""Keep or discard: a run becomes the new best only when its gain over the best so far is real."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from agents.common import state
from agents.critic.diagnose import RunEvidence, diagnose_run, gain_interval, keep_verdict, render_diagnosis_body
from agents.critic.noise_floor import NoiseFloor, write_noise_floor
from agents.critic.report import render_summary
from agents.critic.rundir import diagnose_directory
from bus.schemas import Goal, RunResult, TrainingConfig

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "metrics"
GOAL = Goal()  # target exact match 0.9


def _config(run_id: str, method: str = "grpo", parent_run: str | None = None) -> TrainingConfig:
    data = yaml.safe_load((FIXTURES / f"{method}-healthy.config.yaml").read_text())
    return TrainingConfig(**{**data, "run_id": run_id, "parent_run": parent_run})


def _result(config: TrainingConfig) -> RunResult:
    return RunResult(
        run_id=config.run_id,
        method=config.method,
        status="succeeded",
        started="2026-01-01T00:00:00+00:00",
        finished="2026-01-01T00:01:00+00:00",
        wall_seconds=60,
        steps=10,
    )


def _diagnose(make_evaluation, run_id, score, parent=None, best=None, best_id="base", floor=0.0):
    config = _config(run_id, parent_run=parent[0] if parent else None)
    parent_ev = make_evaluation(parent[1], subject=parent[0]) if parent else None
    best_ev = make_evaluation(best, subject=best_id) if best is not None else None
    evaluation = make_evaluation(score, subject=run_id)
    return diagnose_run(
        RunEvidence(
            GOAL,
            config,
            _result(config),
            evaluation,
            make_evaluation(0.0),
            parent_ev,
            None,
            [],
            floor,
            best_ev,
            best_id,
        )
    )


def test_every_gain_comes_with_its_interval(make_evaluation):
    dg = _diagnose(make_evaluation, "run-003", 0.70, parent=("run-002", 0.66), best=0.62, best_id="run-001")
    assert dg.gain_vs_base == pytest.approx(0.70)
    assert dg.gain_vs_base_interval == pytest.approx(gain_interval(0.70, 0.0, 500), abs=1e-4)
    assert dg.gain_vs_parent_interval == pytest.approx(gain_interval(0.70, 0.66, 500), abs=1e-4)
    assert dg.best_before == "run-001" and dg.gain_vs_best == pytest.approx(0.08)
    assert dg.gain_vs_best_interval == pytest.approx(gain_interval(0.70, 0.62, 500), abs=1e-4)
    assert dg.kept and keep_verdict(dg) == "kept"
    assert "Verdict: **kept** (+0.080 against run-001, 95% interval" in render_diagnosis_body(dg, GOAL)


def test_a_gain_inside_the_noise_floor_is_discarded_and_cannot_meet_the_target(make_evaluation):
    # +0.04 over the best has an interval above 0 on 500 problems, but the seeds alone move the score 0.06.
    args = dict(parent=("run-001", 0.88), best=0.88, best_id="run-001")
    assert gain_interval(0.92, 0.88, 500)[0] > 0
    dg = _diagnose(make_evaluation, "run-002", 0.92, floor=0.06, **args)
    assert dg.kept is False
    assert keep_verdict(dg) == "discarded (within noise of run-001)"
    keep = next(f for f in dg.findings if f.name == "gain over best so far")
    assert keep.severity == "warning" and "not above the noise floor 0.060" in keep.evidence
    assert "target met" not in dg.recommendation.reason  # 0.92 >= 0.90 by luck does not end the loop
    # Without the floor the same numbers are a real gain, kept, and the target is met.
    dg = _diagnose(make_evaluation, "run-002", 0.92, floor=0.0, **args)
    assert dg.kept and dg.recommendation.reason.startswith("target met")


def test_a_real_loss_against_the_best_is_named_as_such(make_evaluation):
    dg = _diagnose(make_evaluation, "run-003", 0.50, parent=("run-002", 0.52), best=0.62, best_id="run-001")
    assert keep_verdict(dg) == "discarded (worse than run-001)"
    first = _diagnose(make_evaluation, "run-001", 0.01, floor=0.02)  # none kept yet: the base model is the reference
    assert first.best_before == "base" and keep_verdict(first) == "discarded (within noise of the base model)"


def _record(ws, make_evaluation, run_id, score, parent, floor=0.0):
    """Evaluate and diagnose a run the way the critic does: against the best kept run before it."""
    config = _config(run_id, parent_run=parent)
    evaluation = make_evaluation(score, subject=run_id)
    ws.write_artifact("trainer", f"runs/{run_id}/config.yaml", config, f"Configure {run_id}")
    ws.write_artifact("trainer", f"runs/{run_id}/result.json", _result(config), f"Finish {run_id}")
    ws.write_artifact("critic", f"runs/{run_id}/evaluation.md", evaluation, f"Evaluate {run_id}")
    best = state.best_run(ws, before=run_id)
    parent_ev = next((r.evaluation for r in state.runs(ws) if r.id == parent), None)
    dg = diagnose_run(
        RunEvidence(
            GOAL,
            config,
            _result(config),
            evaluation,
            state.base_evaluation(ws),
            parent_ev,
            None,
            [],
            floor,
            best.evaluation if best else None,
            best.id if best else "base",
        )
    )
    dg.body = render_diagnosis_body(dg, GOAL)
    ws.write_artifact("critic", f"runs/{run_id}/diagnosis.md", dg, f"Diagnose {run_id}")
    return dg


def test_best_run_is_the_best_kept_run_and_the_summary_says_so(ws, make_evaluation, write_base_evaluation):
    write_base_evaluation(ws, 0.0)
    assert _record(ws, make_evaluation, "run-001", 0.62, None, floor=0.05).kept
    assert _record(ws, make_evaluation, "run-002", 0.88, "run-001", floor=0.05).kept
    lucky = _record(ws, make_evaluation, "run-003", 0.91, "run-002", floor=0.05)  # +0.03: within noise
    assert not lucky.kept and keep_verdict(lucky) == "discarded (within noise of run-002)"
    assert state.best_run(ws).id == "run-002"  # not run-003, whose score is higher
    assert state.best_run(ws, before="run-002").id == "run-001"
    # run-004 starts from the discarded run-003 but is measured against run-002, the best so far.
    dg = _record(ws, make_evaluation, "run-004", 0.95, "run-003", floor=0.05)
    assert dg.best_before == "run-002" and dg.gain_vs_best == pytest.approx(0.07) and dg.kept
    assert state.best_run(ws).id == "run-004"

    summary = render_summary(ws, GOAL, None)
    row = next(line for line in summary.splitlines() if line.startswith("| run-003 "))
    lo, hi = gain_interval(0.91, 0.88, 500)
    assert f"| 0.910 (0.870-0.950) | +0.030 ({lo:+.3f}..{hi:+.3f}) | +0.030 ({lo:+.3f}..{hi:+.3f}) (run-002) |" in row
    assert row.endswith("discarded (within noise of run-002) |")
    first = next(line for line in summary.splitlines() if line.startswith("| run-001 "))
    assert "+0.620 (" in first and "(base) |" in first and first.endswith("kept |")
    assert "Best checkpoint: `runs/run-004/checkpoint`" in summary and "Target met: best 0.950" in summary


def test_a_discarded_run_above_the_target_does_not_meet_it(ws, make_evaluation, write_base_evaluation):
    write_base_evaluation(ws, 0.0)
    _record(ws, make_evaluation, "run-001", 0.88, None, floor=0.05)
    _record(ws, make_evaluation, "run-002", 0.91, "run-001", floor=0.05)
    assert state.best_run(ws).id == "run-001"
    summary = render_summary(ws, GOAL, None)
    assert "Target not met: best 0.880 against 0.90." in summary


def test_intern_diagnose_reads_the_workspace_noise_floor(ws, make_evaluation, write_base_evaluation):
    write_base_evaluation(ws, 0.0)
    _record(ws, make_evaluation, "run-001", 0.88, None)
    config = _config("run-002", parent_run="run-001")
    ws.write_artifact("trainer", "runs/run-002/config.yaml", config, "Configure run-002")
    ws.write_artifact("trainer", "runs/run-002/metrics.jsonl", (FIXTURES / "grpo-healthy.jsonl").read_text(), "M")
    ws.write_artifact("trainer", "runs/run-002/result.json", _result(config), "Finish run-002")
    ws.write_artifact("critic", "runs/run-002/evaluation.md", make_evaluation(0.92, subject="run-002"), "Eval 2")
    before = diagnose_directory(ws.path("runs/run-002")).diagnosis
    assert before.kept and before.noise_floor == 0.0  # no floor measured yet: as in the loop
    floor = NoiseFloor(seeds=[0, 1, 2], scores=[0.86, 0.90, 0.92], temperature=1.0, n=500)
    write_noise_floor(ws, floor, "run-001", "runs/run-001/checkpoint", "0" * 64)
    sampled = diagnose_directory(ws.path("runs/run-002")).diagnosis
    assert sampled.noise_floor == 0.0 and sampled.kept  # a sampled-spread floor is not applied to greedy gains
    text = ws.read_text("reports/noise-floor.md").replace("applies_to: sampled", "applies_to: greedy")
    ws.write_artifact("critic", "reports/noise-floor.md", text, "A floor measured on greedy differences")
    after = diagnose_directory(ws.path("runs/run-002")).diagnosis
    assert after.noise_floor == pytest.approx(floor.noise_floor, abs=1e-5)
    assert not after.kept and keep_verdict(after) == "discarded (within noise of run-001)"
    assert after.recommendation.action == "train" or "target met" not in after.recommendation.reason


def test_failed_run_is_discarded(make_evaluation):
    config = _config("run-002", parent_run="run-001")
    result = _result(config).model_copy(update={"status": "failed", "error": "loss is NaN"})
    dg = diagnose_run(RunEvidence(GOAL, config, result, None, make_evaluation(0.0), make_evaluation(0.6), None, []))
    assert dg.kept is False and keep_verdict(dg) == "discarded (run failed)"
    assert json.loads(dg.model_dump_json())["gain_vs_best"] is None
