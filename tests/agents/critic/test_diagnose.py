"""The critic's diagnosis of a finished run: findings and the recommended next step."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from agents.critic.diagnose import (
    THRESHOLDS,
    RunEvidence,
    diagnose_run,
    gain_interval,
    render_diagnosis_body,
    render_finding,
)
from agents.critic.signals.training import signal_findings
from agents.critic.thresholds import LIMITS
from bus.schemas import Diagnosis, Finding, Goal, RunResult, TrainingConfig


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
        RunEvidence(
            GOAL, config, _result(config), evaluation, make_evaluation(0.0), None, card, metrics=[{"loss": 0.3}]
        )
    )
    assert "weak slice" in _names(diagnosis)
    flaw = next(f for f in diagnosis.findings if f.name == "systematic demonstration error")
    assert flaw.severity == "warning"
    assert "50%" in flaw.evidence and "carry" in flaw.evidence
    rec = diagnosis.recommendation
    assert rec.action == "train"
    assert rec.method == "grpo"
    assert rec.parent_run == "run-001"
    assert "verifiable-reward" in rec.tags and "grpo fixes demonstration error" in rec.tags
    assert "50% of the carry demonstrations agree with the verifier" in rec.reason
    assert "carry" in rec.reason and "expected gain" in rec.reason  # the search's numbers behind the choice
    assert diagnosis.significant
    assert diagnosis.gain_vs_base == pytest.approx(0.62)
    assert diagnosis.gain_vs_parent is None


def test_weak_slice_with_clean_demonstrations_is_not_blamed_on_the_teacher(make_evaluation, make_card):
    config = _config("sft")
    evaluation = make_evaluation(0.62, subject="run-001", slices={"carry": 0.45, "no_carry": 0.99})
    card = make_card(slices={"carry": {"rows": 2800, "label_agreement": 1.0}})
    diagnosis = diagnose_run(
        RunEvidence(GOAL, config, _result(config), evaluation, make_evaluation(0.0), None, card, [])
    )
    assert "weak slice" in _names(diagnosis)
    assert "systematic demonstration error" not in _names(diagnosis)
    # Clean labels: GRPO has nothing systematic to correct (post-training-facts.md: it lowered greedy accuracy
    # there), so its prior is low and the cheaper supervised continuation is the better bet per minute.
    rec = diagnosis.recommendation
    assert rec.method == "sft" and rec.parent_run == "run-001" and "continue sft" in rec.tags


def test_target_met_stops(make_evaluation, make_card):
    config = _config("sft")
    evaluation = make_evaluation(0.93, subject="run-001", slices={"carry": 0.90, "no_carry": 0.99})
    diagnosis = diagnose_run(
        RunEvidence(GOAL, config, _result(config), evaluation, make_evaluation(0.0), None, make_card(), [])
    )
    assert diagnosis.recommendation.action == "stop"
    assert "target met" in diagnosis.recommendation.reason
    assert diagnosis.recommendation.method is None


def test_a_run_cut_by_the_deadline_is_scored_like_any_run_and_said_to_be_cut(make_evaluation, make_card):
    config = _config("sft")
    cut = _result(config).model_copy(update={"steps": 37, "planned_steps": 100, "cut": "the budget's deadline"})
    evaluation = make_evaluation(0.62, subject="run-001")
    diagnosis = diagnose_run(RunEvidence(GOAL, config, cut, evaluation, make_evaluation(0.0), None, make_card(), []))
    finding = next(f for f in diagnosis.findings if f.name == "run cut short")
    assert finding.evidence.startswith("cut at step 37 of 100: the budget's deadline")
    assert diagnosis.score == 0.62 and diagnosis.kept  # scored and kept on its merit, like an uncut run
    assert "cut at step 37 of 100" in render_diagnosis_body(diagnosis, GOAL, None)
    whole = diagnose_run(
        RunEvidence(GOAL, config, _result(config), evaluation, make_evaluation(0.0), None, make_card(), [])
    )
    assert "run cut short" not in _names(whole)


def test_an_old_result_without_the_cut_fields_still_loads():
    config = _config("sft")
    data = _result(config).model_dump()
    del data["planned_steps"], data["cut"]
    old = RunResult.model_validate(data)
    assert old.cut is None and old.cut_note is None


def test_target_exactly_met_stops(make_evaluation):
    config = _config("grpo", run_id="run-002", parent_run="run-001")
    evaluation = make_evaluation(0.9, subject="run-002")
    diagnosis = diagnose_run(
        RunEvidence(GOAL, config, _result(config), evaluation, make_evaluation(0.0), make_evaluation(0.6), None, [])
    )
    assert diagnosis.recommendation.action == "stop"


def test_a_nan_failure_is_retried_from_the_same_parent_at_a_lower_rate_with_clipping(make_evaluation):
    config = _config("grpo", run_id="run-002", parent_run="run-001", lr=4e-5)
    result = _result(config, status="failed", error="RuntimeError: loss is NaN")
    diagnosis = diagnose_run(
        RunEvidence(GOAL, config, result, None, make_evaluation(0.0), make_evaluation(0.6), None, [])
    )
    assert len(diagnosis.findings) == 1
    finding = diagnosis.findings[0]
    assert finding.name == "run failed" and finding.severity == "critical"
    assert "loss is NaN" in finding.evidence
    rec = diagnosis.recommendation
    assert rec.action == "train"
    assert rec.method == "grpo"
    assert rec.parent_run == "run-001"
    assert rec.config_delta == {"learning_rate": pytest.approx(4e-6), "max_grad_norm": 0.5}
    assert "non-finite" in rec.reason
    assert diagnosis.score == 0.0 and not diagnosis.significant


def test_succeeded_run_without_evaluation_counts_as_failed(make_evaluation):
    config = _config("sft")
    diagnosis = diagnose_run(RunEvidence(GOAL, config, _result(config), None, make_evaluation(0.0), None, None, []))
    assert diagnosis.findings[0].name == "run failed"
    assert diagnosis.findings[0].evidence == "no evaluation"


def test_grpo_within_noise_of_its_parent_stops(make_evaluation):
    config = _config("grpo", run_id="run-002", parent_run="run-001")
    rewards = [0.6] * 40  # flat
    diagnosis = diagnose_run(
        RunEvidence(
            GOAL,
            config,
            _result(config),
            make_evaluation(0.61, subject="run-002"),
            make_evaluation(0.0),
            make_evaluation(0.60, subject="run-001"),
            None,
            _grpo_metrics(rewards),
        )
    )
    assert not diagnosis.significant
    assert diagnosis.gain_vs_parent == pytest.approx(0.01)
    gain = next(f for f in diagnosis.findings if f.name == "gain over parent")
    assert gain.severity == "warning"
    assert "within noise" in gain.evidence
    rec = diagnosis.recommendation  # not built on: any retry starts again from its parent run-001
    assert rec.action == "stop" or rec.parent_run == "run-001"


def test_grpo_real_gain_with_rising_reward_continues(make_evaluation):
    config = _config("grpo", run_id="run-002", parent_run="run-001")
    rewards = [0.5 + 0.01 * i for i in range(40)]
    diagnosis = diagnose_run(
        RunEvidence(
            GOAL,
            config,
            _result(config),
            make_evaluation(0.75, subject="run-002", slices={"carry": 0.7, "no_carry": 0.85}),
            make_evaluation(0.0),
            make_evaluation(0.60, subject="run-001"),
            None,
            _grpo_metrics(rewards),
        )
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
        RunEvidence(
            GOAL,
            config,
            _result(config),
            make_evaluation(0.75, subject="run-002"),
            make_evaluation(0.0),
            make_evaluation(0.60, subject="run-001"),
            None,
            _grpo_metrics([0.7] * 40),
        )
    )
    assert "flat" in next(f.evidence for f in diagnosis.findings if f.name == "reward trend")
    rec = diagnosis.recommendation  # the reward flattened: a knob move from this kept run, not more of the same
    assert rec.action == "train" and rec.parent_run == "run-002"
    assert rec.method == "grpo" and rec.config_delta and "continue grpo" not in rec.tags


def test_healthy_grpo_run_gets_no_warnings(make_evaluation):
    """Zero clipping is normal for GRPO with one iteration per batch; it must not be flagged."""
    config = _config("grpo", run_id="run-002", parent_run="run-001")
    rewards = [0.5 + 0.01 * i for i in range(40)]
    diagnosis = diagnose_run(
        RunEvidence(
            GOAL,
            config,
            _result(config),
            make_evaluation(0.8, subject="run-002", slices={"carry": 0.78, "no_carry": 0.84}),
            make_evaluation(0.0),
            make_evaluation(0.6, subject="run-001"),
            None,
            _grpo_metrics(rewards, zero_std=0.1, clip_ratio=0.0),
        )
    )
    assert [f for f in diagnosis.findings if f.severity != "info"] == []
    assert not any("clip" in (f.name + f.evidence).lower() for f in diagnosis.findings)


def test_grpo_without_learning_signal_is_flagged(make_evaluation):
    config = _config("grpo", run_id="run-002", parent_run="run-001")
    diagnosis = diagnose_run(
        RunEvidence(
            GOAL,
            config,
            _result(config),
            make_evaluation(0.6, subject="run-002"),
            make_evaluation(0.0),
            make_evaluation(0.6, subject="run-001"),
            None,
            _grpo_metrics([0.0] * 20, zero_std=0.98),
        )
    )
    signal = next(f for f in diagnosis.findings if f.name == "no learning signal")
    assert signal.severity == "warning"
    assert "0.98" in signal.evidence


def test_too_few_metric_rows_give_no_trend(make_evaluation):
    config = _config("grpo", run_id="run-002", parent_run="run-001")
    diagnosis = diagnose_run(
        RunEvidence(
            GOAL,
            config,
            _result(config),
            make_evaluation(0.6, subject="run-002"),
            make_evaluation(0.0),
            None,
            None,
            _grpo_metrics([0.1, 0.9, 0.9]),
        )
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
    diagnosis = diagnose_run(
        RunEvidence(GOAL, config, _result(config), evaluation, make_evaluation(0.0), None, make_card(), [])
    )
    body = render_diagnosis_body(diagnosis, GOAL)
    assert body.startswith("# Diagnosis of run-001")
    assert "**systematic demonstration error** (warning)" in body
    assert "train grpo from run-001" in body
    assert "target 0.90" in body


# --- training-signal rules on real TRL-shaped metrics (tests/fixtures/metrics) -----------------

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "metrics"
ARXIV = re.compile(r"^\d{4}\.\d{4,5}$")


def _rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (FIXTURES / f"{name}.jsonl").read_text().splitlines() if line.strip()]


def _real_config(method: str, **update) -> TrainingConfig:
    """The config.yaml the real run of that method had, optionally changed."""
    data = yaml.safe_load((FIXTURES / f"{method}-healthy.config.yaml").read_text())
    return TrainingConfig(**{**data, **update})


def _diagnose(make_evaluation, fixture: str, score: float, parent_score: float | None = 0.62, noise_floor=0.0, **cfg):
    method = fixture.split("-")[0]
    parent_run = cfg.pop("parent_run", "run-001" if parent_score is not None else None)
    config = _real_config(method, parent_run=parent_run, **cfg)
    parent = None if parent_score is None else make_evaluation(parent_score, subject="run-001")
    evaluation = make_evaluation(score, subject=config.run_id)
    return diagnose_run(
        RunEvidence(
            GOAL, config, _result(config), evaluation, make_evaluation(0.0), parent, None, _rows(fixture), noise_floor
        )
    )


def _alarms(diagnosis: Diagnosis) -> list[Finding]:
    return [f for f in diagnosis.findings if f.severity != "info"]


def test_real_healthy_runs_raise_no_alarm(make_evaluation):
    """The embedded loop's real SFT (0 -> 0.622) and GRPO (0.622 -> 0.962) runs: nothing to warn about."""
    sft = _diagnose(make_evaluation, "sft-healthy", 0.622, parent_score=None)
    grpo = _diagnose(make_evaluation, "grpo-healthy", 0.962)
    assert _alarms(sft) == [] and _alarms(grpo) == []
    assert sft.unchecked == [] and grpo.unchecked == []
    assert grpo.significant and grpo.recommendation.action == "stop"


def test_on_policy_clip_ratio_of_zero_is_never_an_alarm(make_evaluation):
    rows = _rows("grpo-healthy")
    assert {r["clip_ratio/region_mean"] for r in rows if "clip_ratio/region_mean" in r} == {0.0}
    diagnosis = _diagnose(make_evaluation, "grpo-healthy", 0.962)
    assert not any("clip" in (f.name + f.evidence + (f.metric or "")) for f in diagnosis.findings)
    # Off-policy (num_iterations 2) with a third of tokens clipped is another story.
    clipped = [{**r, "clip_ratio/region_mean": 0.35} if "clip_ratio/region_mean" in r else r for r in rows]
    config = _real_config("grpo", num_iterations=2)
    findings, _ = signal_findings(config, clipped, None)
    trust = next(f for f in findings if f.name == "trust-region clipping high")
    assert trust.severity == "warning" and trust.metric == "clip_ratio/region_mean"
    assert {"num_iterations": 1} in [r.config_delta for r in trust.remedies]


FAILURES = [
    # fixture, held-out score (parent 0.62), finding, severity, metric, remedy (config key or data action), paper
    (
        "grpo-no-signal",
        0.62,
        "no learning signal",
        "critical",
        "frac_reward_zero_std",
        "filter prompts by pass rate",
        "2503.14476",
    ),
    ("grpo-no-signal", 0.62, "no learning signal", "critical", "frac_reward_zero_std", "SFT warm start", "2501.12948"),
    (
        "grpo-truncation",
        0.80,
        "truncation / length blow-up",
        "critical",
        "completions/clipped_ratio",
        "mask_truncated_completions",
        "2503.14476",
    ),
    (
        "grpo-truncation",
        0.80,
        "truncation / length blow-up",
        "critical",
        "completions/clipped_ratio",
        "loss_type",
        "2503.20783",
    ),
    ("grpo-entropy-collapse", 0.62, "entropy collapse", "warning", "entropy", "epsilon_high", "2503.14476"),
    ("grpo-entropy-collapse", 0.62, "entropy collapse", "warning", "entropy", "top_entropy_quantile", "2506.01939"),
    ("grpo-kl-blowup", 0.80, "KL blow-up", "critical", "kl", "importance_sampling_level", "2507.18071"),
    ("grpo-kl-blowup", 0.80, "gradient blow-up", "critical", "grad_norm", "max_grad_norm", "1211.5063"),
    (
        "grpo-format-saturated",
        0.80,
        "format-reward saturation",
        "warning",
        "rewards/format_reward/mean",
        "gate the correctness reward on the format",
        "2501.12948",
    ),
    (
        "grpo-format-stuck",
        0.62,
        "format reward stuck at 0",
        "critical",
        "rewards/format_reward/mean",
        "SFT format warm-up",
        "2501.12948",
    ),
    ("grpo-reward-hacking", 0.61, "reward hacking", "warning", "reward", "beta", "2203.02155"),
    ("grpo-reward-hacking", 0.50, "reward hacking", "critical", "reward", "re-check the eval hash", "2411.15124"),
    ("grpo-plateau", 0.63, "plateau", "warning", "reward", "filter prompts by pass rate", "2503.14476"),
    ("sft-overfit", 0.50, "over-fitting", "warning", "loss", "max_steps", "2501.17161"),
]


@pytest.mark.parametrize(("fixture", "score", "name", "severity", "metric", "remedy", "paper"), FAILURES)
def test_each_failure_fires_with_evidence_and_a_cited_remedy(
    make_evaluation, fixture, score, name, severity, metric, remedy, paper
):
    diagnosis = _diagnose(make_evaluation, fixture, score)
    finding = next((f for f in diagnosis.findings if f.name == name), None)
    assert finding is not None, f"{name} did not fire on {fixture}: {_names(diagnosis)}"
    assert finding.severity == severity
    assert finding.metric == metric and finding.metric.split("/")[0] in finding.evidence
    steps = [r["step"] for r in _rows(fixture)]
    assert len(finding.steps) == 2 and min(steps) <= finding.steps[0] <= finding.steps[1] <= max(steps)
    assert finding.values and re.search(r"\d\.\d", finding.evidence)
    chosen = [r for r in finding.remedies if remedy in r.config_delta or remedy in (r.data_action or "")]
    assert chosen and chosen[0].paper == paper, [r.model_dump() for r in finding.remedies]
    assert all(ARXIV.match(r.paper) for r in finding.remedies)


def test_one_bad_batch_the_run_recovers_from_is_transient_with_no_learning_rate_cut(make_evaluation):
    diagnosis = _diagnose(make_evaluation, "sft-grad-spike", 0.80)
    spike = next(f for f in diagnosis.findings if f.name == "transient gradient spike")
    assert spike.severity == "info" and "not divergence" in spike.evidence and not spike.remedies
    assert "gradient blow-up" not in _names(diagnosis)


def test_the_healthy_twin_of_each_failure_stays_silent(make_evaluation):
    """Same rows and steps, real values: none of the failure rules above fires on them."""
    names = {row[2] for row in FAILURES}
    for fixture, score, parent in (("grpo-healthy", 0.80, 0.62), ("sft-healthy", 0.622, None)):
        diagnosis = _diagnose(make_evaluation, fixture, score, parent_score=parent)
        assert not names & set(_names(diagnosis)), _names(diagnosis)


def test_spike_evidence_names_the_step_and_the_median(make_evaluation):
    diagnosis = _diagnose(make_evaluation, "grpo-kl-blowup", 0.80, beta=0.04)
    kl = next(f for f in diagnosis.findings if f.name == "KL blow-up")
    assert kl.steps == [312, 312]  # the 26th logged row, 12 steps apart
    assert kl.values["peak"] == 3.0 and kl.values["median"] < 0.05
    assert "at step 312" in kl.evidence
    assert "[`kl`, step 312]" in render_finding(kl)[0]


def test_slowly_growing_kl_is_not_a_blow_up():
    rows = [{**r, "kl": 0.0005 * i} for i, r in enumerate(_rows("grpo-healthy"))]
    findings, _ = signal_findings(_real_config("grpo", beta=0.04), rows, None)
    assert "KL blow-up" not in [f.name for f in findings]


def test_one_non_finite_gradient_is_a_skipped_step_and_repeated_ones_are_critical():
    rows = _rows("sft-healthy")
    rows[30]["grad_norm"] = "nan"  # how the trainer's callback records it
    findings, _ = signal_findings(_real_config("sft"), rows, None)
    skipped = next(f for f in findings if f.name == "skipped step")
    assert skipped.severity == "info" and f"step {rows[30]['step']}" in skipped.evidence
    assert not [f for f in findings if f.metric == "grad_norm" and f.severity != "info"]
    for i in range(30, 36):
        rows[i]["grad_norm"] = "nan"  # NaN after NaN: the run is broken from there
    findings, _ = signal_findings(_real_config("sft"), rows, None)
    blow = next(f for f in findings if f.name == "gradient blow-up")
    assert blow.severity == "critical" and "non-finite" in blow.evidence


def test_identical_rewards_on_solved_prompts_are_information_not_a_warning():
    rows = [{**r, "reward": 0.99, "frac_reward_zero_std": 0.97} for r in _rows("grpo-healthy")]
    findings, _ = signal_findings(_real_config("grpo"), rows, None)
    signal = next(f for f in findings if f.name == "no learning signal")
    assert signal.severity == "info" and "solved" in signal.evidence
    assert "pass rate 1" in signal.remedies[0].data_action


def test_without_held_out_the_held_out_rules_say_what_they_could_not_check():
    findings, unchecked = signal_findings(_real_config("grpo"), _rows("grpo-reward-hacking"), None)
    assert "reward hacking" not in [f.name for f in findings]
    assert any(u.startswith("reward hacking:") for u in unchecked)
    _, unchecked = signal_findings(_real_config("sft"), _rows("sft-overfit"), None)
    assert any(u.startswith("over-fitting:") for u in unchecked)


def test_noise_floor_decides_significance(make_evaluation):
    rewards = _grpo_metrics([0.7] * 40)
    config = _config("grpo", run_id="run-002", parent_run="run-001")
    args = (GOAL, config, _result(config), make_evaluation(0.70, subject="run-002"), make_evaluation(0.0))
    parent = make_evaluation(0.62, subject="run-001")
    assert gain_interval(0.70, 0.62, 500)[0] > 0  # the interval alone says real
    plain = diagnose_run(RunEvidence(*args, parent, None, rewards))
    floored = diagnose_run(RunEvidence(*args, parent, None, rewards, noise_floor=0.10))
    assert plain.significant and plain.recommendation.action == "train"
    assert not floored.significant and floored.noise_floor == 0.10
    gain = next(f for f in floored.findings if f.name == "gain over parent")
    assert gain.severity == "warning" and "noise floor 0.100" in gain.evidence
    assert floored.recommendation.parent_run != "run-002"  # never built on: not kept
    assert "noise floor 0.100" in render_diagnosis_body(floored, GOAL)
    # A floor below the gain changes nothing.
    assert diagnose_run(RunEvidence(*args, parent, None, rewards, noise_floor=0.05)).significant


def test_a_signal_failure_without_gain_is_retried_with_an_applicable_remedy(make_evaluation):
    diagnosis = _diagnose(make_evaluation, "grpo-truncation", 0.62)
    rec = diagnosis.recommendation
    # The first remedy the trainer can apply: DAPO's overlong filtering, now a TrainingConfig field.
    assert rec.action == "train" and rec.method == "grpo" and rec.parent_run == "run-001"
    assert rec.config_delta == {"mask_truncated_completions": True}
    assert rec.papers == ["2503.14476"] and "finding remedy" in rec.tags
    assert "truncation" in rec.reason


def test_remedies_use_trl_argument_names():
    """Every config key a remedy names is a real GRPOConfig/SFTConfig (or TrainingArguments) field."""
    import importlib.util

    def source(package: str, *parts: str) -> str:
        return Path(importlib.util.find_spec(package).origin).parent.joinpath(*parts).read_text()

    text = source("trl", "trainer", "grpo_config.py") + source("transformers", "training_args.py")
    keys = {
        k
        for fixture, *_ in FAILURES
        for f in signal_findings(_real_config(fixture.split("-")[0], num_iterations=2), _rows(fixture), None)[0]
        for r in f.remedies
        for k in r.config_delta
    }
    assert {"mask_truncated_completions", "epsilon_high", "top_entropy_quantile", "max_grad_norm"} <= keys
    for key in keys:
        assert re.search(rf"^    {key}: ", text, re.MULTILINE), f"{key} is not a TRL/transformers argument"


def test_every_threshold_has_a_reason():
    assert set(LIMITS) == set(THRESHOLDS)
    for name, (value, why) in LIMITS.items():
        assert isinstance(value, float) and len(why.split()) >= 5, name


def test_a_diagnosis_with_evidence_round_trips_through_the_bus(ws, make_evaluation):
    diagnosis = _diagnose(make_evaluation, "grpo-truncation", 0.62)
    diagnosis.body = render_diagnosis_body(diagnosis, GOAL, curves="curves.png")
    ws.write_artifact("critic", "runs/run-002/diagnosis.md", diagnosis, "Diagnose run-002")
    loaded = ws.load("runs/run-002/diagnosis.md")
    assert loaded == diagnosis
    body = ws.read_text("runs/run-002/diagnosis.md")
    assert "`mask_truncated_completions=True` (arXiv 2503.14476)" in body
    assert "[`completions/clipped_ratio`, steps 12-500]" in body
    assert "![training curves of run-002](curves.png)" in body


def test_an_older_diagnosis_without_the_new_fields_still_loads(ws):
    old = (
        "---\nrun_id: run-001\nscore: 0.6\ngain_vs_base: 0.6\ngain_vs_parent: null\nsignificant: true\n"
        "findings:\n- name: weak slice\n  severity: warning\n  evidence: slice carry 0.4\n"
        "recommendation:\n  action: stop\n  reason: done\nwritten: '2026-01-01T00:00:00+00:00'\n---\n\n# Diagnosis\n"
    )
    ws.path("runs/run-001").mkdir(parents=True)
    ws.path("runs/run-001/diagnosis.md").write_text(old)
    loaded = ws.load("runs/run-001/diagnosis.md")
    assert loaded.findings[0].remedies == [] and loaded.noise_floor == 0.0 and loaded.unchecked == []


# --- `intern diagnose RUN_DIR` -----------------------------------------------------------------


def _intern(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "agents.cli", *args], capture_output=True, text=True, timeout=120, cwd=REPO
    )


REPO = Path(__file__).resolve().parents[3]


def _run_dir(path: Path, fixture: str, method: str) -> Path:
    path.mkdir(parents=True)
    (path / "config.yaml").write_text((FIXTURES / f"{method}-healthy.config.yaml").read_text())
    (path / "metrics.jsonl").write_text((FIXTURES / f"{fixture}.jsonl").read_text())
    return path


def test_cli_diagnose_explains_itself():
    proc = _intern("diagnose", "--help")
    assert proc.returncode == 0 and "usage: intern diagnose" in proc.stdout and "--plot" in proc.stdout


def test_cli_diagnoses_a_bare_run_dir_and_skips_a_torn_line(tmp_path):
    run = _run_dir(tmp_path / "run-002", "grpo-truncation", "grpo")
    with (run / "metrics.jsonl").open("a") as fh:
        fh.write('{"step": 504, "reward": 0.8')  # a killed run's torn last line
    proc = _intern("diagnose", str(run), "--plot")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "run-002 (grpo, 42 metric rows, steps 12-500)" in out
    assert "skipped 1 unreadable line(s) of metrics.jsonl" in out
    assert "truncation / length blow-up (critical): completions/clipped_ratio 0.00 -> 0.60" in out
    assert "remedy: mask_truncated_completions=True (arXiv 2503.14476)" in out
    assert "not checked:" in out and "not inside a workspace" in out
    png = (run / "curves.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000


def test_cli_on_a_healthy_run_has_nothing_to_report_and_plots_only_when_asked(tmp_path):
    run = _run_dir(tmp_path / "run-001", "sft-healthy", "sft")
    proc = _intern("diagnose", str(run))
    assert proc.returncode == 0, proc.stderr
    assert "findings: 0 (0 warning or critical)" in proc.stdout
    assert not (run / "curves.png").exists()


def test_cli_reads_the_workspace_around_a_run(ws, make_evaluation):
    ws.write_artifact("critic", "reports/base-evaluation.md", make_evaluation(0.0), "Evaluate base")
    ws.write_artifact("critic", "runs/run-001/evaluation.md", make_evaluation(0.622, subject="run-001"), "Eval 1")
    config = _real_config("grpo")
    ws.write_artifact("trainer", "runs/run-002/config.yaml", config, "Config run-002")
    ws.write_artifact("trainer", "runs/run-002/metrics.jsonl", (FIXTURES / "grpo-healthy.jsonl").read_text(), "M")
    ws.write_artifact("trainer", "runs/run-002/result.json", _result(config), "Result run-002")
    ws.write_artifact("critic", "runs/run-002/evaluation.md", make_evaluation(0.962, subject="run-002"), "Eval 2")
    proc = _intern("diagnose", str(ws.path("runs/run-002")))
    assert proc.returncode == 0, proc.stderr
    assert "held-out 0.962, +0.962 over the base model, +0.340 over its parent (a real gain)" in proc.stdout
    assert "gain over parent (info): 0.622 -> 0.962" in proc.stdout
    assert "next: stop: target met: 0.962 >= 0.900" in proc.stdout
    assert "not checked" not in proc.stdout


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ("no-config", "config.yaml: does not exist"),
        ("bad-config", "field 'learning_rate'"),
        ("no-metrics", "metrics.jsonl: does not exist"),
        ("garbage-metrics", "no readable metric rows"),
        ("not-a-dir", "not a directory"),
    ],
)
def test_cli_inputs_it_cannot_read_are_one_line_errors(tmp_path, broken, message):
    run = _run_dir(tmp_path / "run-001", "sft-healthy", "sft")
    if broken == "no-config":
        (run / "config.yaml").unlink()
    elif broken == "bad-config":
        (run / "config.yaml").write_text(
            (run / "config.yaml").read_text().replace("learning_rate: 0.001", "learning_rate: -1")
        )
    elif broken == "no-metrics":
        (run / "metrics.jsonl").unlink()
    elif broken == "garbage-metrics":
        (run / "metrics.jsonl").write_text("not json\n{torn\n")
    else:
        run = run / "metrics.jsonl"
    proc = _intern("diagnose", str(run))
    assert proc.returncode == 2
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and message in proc.stderr


@pytest.mark.parametrize(
    ("failure", "healthy", "score", "name"),
    [
        ("grpo-reward-hacking", "grpo-healthy", 0.61, "reward hacking"),
        ("grpo-reward-hacking", "grpo-healthy", 0.50, "reward hacking"),
        ("sft-overfit", "sft-healthy", 0.50, "over-fitting"),
    ],
)
def test_the_failure_is_in_the_metrics_not_in_the_held_out_numbers(make_evaluation, failure, healthy, score, name):
    """Same config, same held-out numbers: only the failure fixture's metrics raise the alarm."""
    assert _rows(failure) != _rows(healthy)
    assert name in _names(_diagnose(make_evaluation, failure, score))
    calm = _diagnose(make_evaluation, healthy, score)
    assert name not in _names(calm), [f.evidence for f in calm.findings if f.name == name]


def test_a_healthy_reward_rise_with_a_flat_held_out_is_noted_not_alarmed(make_evaluation):
    diagnosis = _diagnose(make_evaluation, "grpo-healthy", 0.61)
    note = next(f for f in diagnosis.findings if f.name == "train reward and held-out disagree")
    assert note.severity == "info" and note.remedies == [] and "+0.151" in note.evidence
    assert (
        THRESHOLDS["reward_rise_hacking"]
        < note.values["reward_last_quarter"] - note.values["reward_first_quarter"]
        < THRESHOLDS["reward_rise_hacking_alarm"]
    )


def test_a_healthy_grpo_run_with_a_real_held_out_gain_gets_no_reward_hacking_alarm(make_evaluation):
    for fixture in ("grpo-healthy", "grpo-reward-hacking"):  # even a steep reward rise is fine when held-out follows
        diagnosis = _diagnose(make_evaluation, fixture, 0.962)
        assert not {"reward hacking", "train reward and held-out disagree"} & set(_names(diagnosis))
