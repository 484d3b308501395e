"""The critic's diagnosis of a finished run: findings and the recommended next step."""

from __future__ import annotations

import pytest

from agents.critic.diagnose import THRESHOLDS, diagnose_run, gain_interval, render_diagnosis_body
from bus.schemas import Diagnosis, Goal, RunResult, TrainingConfig


def _config(method: str = "sft", run_id: str = "run-001", parent_run: str | None = None, lr: float = 1e-3):
    return TrainingConfig(
        run_id=run_id,
        method=method,
        base_model="embedded:tiny",
        parent_run=parent_run,
        dataset="addition-d2-teacher50-s0",
        hypothesis="hypotheses/h-001.md",
        learning_rate=lr,
        max_steps=100,
        per_device_train_batch_size=64,
    )


def _result(config: TrainingConfig, status: str = "succeeded", error: str | None = None) -> RunResult:
    return RunResult(
        run_id=config.run_id,
        method=config.method,
        status=status,
        started="2025-01-01T00:00:00+00:00",
        finished="2025-01-01T00:05:00+00:00",
        wall_seconds=300.0,
        steps=100 if status == "succeeded" else 0,
        error=error,
    )


def _grpo_metrics(rewards: list[float], zero_std: float = 0.2, clip_ratio: float = 0.0) -> list[dict]:
    return [
        {"step": i + 1, "reward": r, "frac_reward_zero_std": zero_std, "clip_ratio/region_mean": clip_ratio}
        for i, r in enumerate(rewards)
    ]


GOAL = Goal()  # target exact match 0.9


def _names(diagnosis: Diagnosis) -> list[str]:
    return [f.name for f in diagnosis.findings]


def test_sft_copying_a_flawed_teacher_leads_to_grpo_from_this_run(make_evaluation, make_card):
    config = _config("sft")
    evaluation = make_evaluation(0.62, subject="run-001", slices={"carry": 0.45, "no_carry": 0.99})
    card = make_card()  # carry demonstrations agree with the verifier only half the time
    diagnosis = diagnose_run(
        GOAL, config, _result(config), evaluation, make_evaluation(0.0), None, card, metrics=[{"loss": 0.3}]
    )
    assert "weak slice" in _names(diagnosis)
    flaw = next(f for f in diagnosis.findings if f.name == "systematic demonstration error")
    assert flaw.severity == "warning"
    assert "50%" in flaw.evidence and "carry" in flaw.evidence
    rec = diagnosis.recommendation
    assert rec.action == "train"
    assert rec.method == "grpo"
    assert rec.parent_run == "run-001"
    assert "verifiable-reward" in rec.tags
    assert "systematic error" in rec.reason
    assert diagnosis.significant
    assert diagnosis.gain_vs_base == pytest.approx(0.62)
    assert diagnosis.gain_vs_parent is None


def test_weak_slice_with_clean_demonstrations_is_not_blamed_on_the_teacher(make_evaluation, make_card):
    config = _config("sft")
    evaluation = make_evaluation(0.62, subject="run-001", slices={"carry": 0.45, "no_carry": 0.99})
    card = make_card(slices={"carry": {"rows": 2800, "label_agreement": 1.0}})
    diagnosis = diagnose_run(GOAL, config, _result(config), evaluation, make_evaluation(0.0), None, card, [])
    assert "weak slice" in _names(diagnosis)
    assert "systematic demonstration error" not in _names(diagnosis)
    assert diagnosis.recommendation.method == "grpo"
    assert "warm start" in diagnosis.recommendation.reason


def test_target_met_stops(make_evaluation, make_card):
    config = _config("sft")
    evaluation = make_evaluation(0.93, subject="run-001", slices={"carry": 0.90, "no_carry": 0.99})
    diagnosis = diagnose_run(GOAL, config, _result(config), evaluation, make_evaluation(0.0), None, make_card(), [])
    assert diagnosis.recommendation.action == "stop"
    assert "target met" in diagnosis.recommendation.reason
    assert diagnosis.recommendation.method is None


def test_target_exactly_met_stops(make_evaluation):
    config = _config("grpo", run_id="run-002", parent_run="run-001")
    evaluation = make_evaluation(0.9, subject="run-002")
    diagnosis = diagnose_run(
        GOAL, config, _result(config), evaluation, make_evaluation(0.0), make_evaluation(0.6), None, []
    )
    assert diagnosis.recommendation.action == "stop"


def test_failed_run_is_critical_and_retried_at_half_the_learning_rate(make_evaluation):
    config = _config("grpo", run_id="run-002", parent_run="run-001", lr=4e-5)
    result = _result(config, status="failed", error="RuntimeError: loss is NaN")
    diagnosis = diagnose_run(GOAL, config, result, None, make_evaluation(0.0), make_evaluation(0.6), None, [])
    assert len(diagnosis.findings) == 1
    finding = diagnosis.findings[0]
    assert finding.name == "run failed" and finding.severity == "critical"
    assert "loss is NaN" in finding.evidence
    rec = diagnosis.recommendation
    assert rec.action == "train"
    assert rec.method == "grpo"
    assert rec.parent_run == "run-001"
    assert rec.config_delta == {"learning_rate": pytest.approx(2e-5)}
    assert diagnosis.score == 0.0 and not diagnosis.significant


def test_succeeded_run_without_evaluation_counts_as_failed(make_evaluation):
    config = _config("sft")
    diagnosis = diagnose_run(GOAL, config, _result(config), None, make_evaluation(0.0), None, None, [])
    assert diagnosis.findings[0].name == "run failed"
    assert diagnosis.findings[0].evidence == "no evaluation"


def test_grpo_within_noise_of_its_parent_stops(make_evaluation):
    config = _config("grpo", run_id="run-002", parent_run="run-001")
    rewards = [0.6] * 40  # flat
    diagnosis = diagnose_run(
        GOAL,
        config,
        _result(config),
        make_evaluation(0.61, subject="run-002"),
        make_evaluation(0.0),
        make_evaluation(0.60, subject="run-001"),
        None,
        _grpo_metrics(rewards),
    )
    assert not diagnosis.significant
    assert diagnosis.gain_vs_parent == pytest.approx(0.01)
    gain = next(f for f in diagnosis.findings if f.name == "gain over parent")
    assert gain.severity == "warning"
    assert "within noise" in gain.evidence
    assert diagnosis.recommendation.action == "stop"
    assert "added nothing" in diagnosis.recommendation.reason


def test_grpo_real_gain_with_rising_reward_continues(make_evaluation):
    config = _config("grpo", run_id="run-002", parent_run="run-001")
    rewards = [0.5 + 0.01 * i for i in range(40)]
    diagnosis = diagnose_run(
        GOAL,
        config,
        _result(config),
        make_evaluation(0.75, subject="run-002", slices={"carry": 0.7, "no_carry": 0.85}),
        make_evaluation(0.0),
        make_evaluation(0.60, subject="run-001"),
        None,
        _grpo_metrics(rewards),
    )
    assert diagnosis.significant
    trend = next(f for f in diagnosis.findings if f.name == "reward trend")
    assert "still rising" in trend.evidence
    rec = diagnosis.recommendation
    assert rec.action == "train"
    assert rec.method == "grpo"
    assert rec.parent_run == "run-002"
    assert "longer-training" in rec.tags


def test_grpo_real_gain_with_flat_reward_widens_exploration(make_evaluation):
    config = _config("grpo", run_id="run-002", parent_run="run-001")
    diagnosis = diagnose_run(
        GOAL,
        config,
        _result(config),
        make_evaluation(0.75, subject="run-002"),
        make_evaluation(0.0),
        make_evaluation(0.60, subject="run-001"),
        None,
        _grpo_metrics([0.7] * 40),
    )
    assert "flat" in next(f.evidence for f in diagnosis.findings if f.name == "reward trend")
    rec = diagnosis.recommendation
    assert rec.action == "train"
    assert rec.config_delta == {"num_generations": 16}


def test_healthy_grpo_run_gets_no_warnings(make_evaluation):
    """Zero clipping is normal for GRPO with one iteration per batch; it must not be flagged."""
    config = _config("grpo", run_id="run-002", parent_run="run-001")
    rewards = [0.5 + 0.01 * i for i in range(40)]
    diagnosis = diagnose_run(
        GOAL,
        config,
        _result(config),
        make_evaluation(0.8, subject="run-002", slices={"carry": 0.78, "no_carry": 0.84}),
        make_evaluation(0.0),
        make_evaluation(0.6, subject="run-001"),
        None,
        _grpo_metrics(rewards, zero_std=0.1, clip_ratio=0.0),
    )
    assert [f for f in diagnosis.findings if f.severity != "info"] == []
    assert not any("clip" in (f.name + f.evidence).lower() for f in diagnosis.findings)


def test_grpo_without_learning_signal_is_flagged(make_evaluation):
    config = _config("grpo", run_id="run-002", parent_run="run-001")
    diagnosis = diagnose_run(
        GOAL,
        config,
        _result(config),
        make_evaluation(0.6, subject="run-002"),
        make_evaluation(0.0),
        make_evaluation(0.6, subject="run-001"),
        None,
        _grpo_metrics([0.0] * 20, zero_std=0.98),
    )
    signal = next(f for f in diagnosis.findings if f.name == "no learning signal")
    assert signal.severity == "warning"
    assert "0.98" in signal.evidence


def test_too_few_metric_rows_give_no_trend(make_evaluation):
    config = _config("grpo", run_id="run-002", parent_run="run-001")
    diagnosis = diagnose_run(
        GOAL,
        config,
        _result(config),
        make_evaluation(0.6, subject="run-002"),
        make_evaluation(0.0),
        None,
        None,
        _grpo_metrics([0.1, 0.9, 0.9]),
    )
    assert "reward trend" not in _names(diagnosis)


def test_gain_interval_is_symmetric_around_the_difference():
    low, high = gain_interval(0.7, 0.5, 500)
    assert (low + high) / 2 == pytest.approx(0.2)
    assert low > 0
    back_low, back_high = gain_interval(0.5, 0.7, 500)
    assert back_low == pytest.approx(-high) and back_high == pytest.approx(-low)
    # Half-width is z * sqrt(p1 q1 / n + p2 q2 / n).
    half = THRESHOLDS["z"] * ((0.7 * 0.3 + 0.5 * 0.5) / 500) ** 0.5
    assert high - low == pytest.approx(2 * half)
    # More problems, tighter interval; identical scores still straddle zero.
    assert gain_interval(0.7, 0.5, 5000)[1] - gain_interval(0.7, 0.5, 5000)[0] < high - low
    zl, zh = gain_interval(0.6, 0.6, 500)
    assert zl < 0 < zh


def test_gain_interval_stays_positive_width_at_the_extremes():
    low, high = gain_interval(1.0, 1.0, 500)
    assert low < 0 < high


def test_render_diagnosis_body_names_findings_and_the_next_step(make_evaluation, make_card):
    config = _config("sft")
    evaluation = make_evaluation(0.62, subject="run-001", slices={"carry": 0.45, "no_carry": 0.99})
    diagnosis = diagnose_run(GOAL, config, _result(config), evaluation, make_evaluation(0.0), None, make_card(), [])
    body = render_diagnosis_body(diagnosis, GOAL)
    assert body.startswith("# Diagnosis of run-001")
    assert "**systematic demonstration error** (warning)" in body
    assert "train grpo from run-001" in body
    assert "target 0.90" in body
