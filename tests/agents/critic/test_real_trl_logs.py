"""The critic reads seven real trainer_state.json files the way an expert does (tests/fixtures/real-trl-logs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.critic.rundir import diagnose_path, verdict

LOGS = Path(__file__).resolve().parents[2] / "fixtures" / "real-trl-logs"


def _read(name: str):
    found = diagnose_path(LOGS / name)
    return found, {f.name: f for f in found.findings}


def _alarms(found) -> list[str]:
    return [f.name for f in found.findings if f.severity != "info"]


def test_sparse_reward_is_no_learning_signal_and_a_tiny_grad_norm_is_no_blow_up():
    found, by = _read("grpo-redteam-sparse-reward-zero-std")
    signal = by["no learning signal"]
    assert (
        signal.severity == "warning"
        and "84 of 100 rows" in signal.evidence
        and "mean reward 0 there" in signal.evidence
    )
    assert any("denser" in (r.data_action or "") for r in signal.remedies)  # the author's own next step
    assert _alarms(found) == ["no learning signal"]  # no blow-up at grad_norm 0.148, no truncation
    assert not any("spike" in name or "blow-up" in name for name in by)
    assert any(c.startswith("truncation") for c in found.checked)


def test_completions_at_the_cap_are_a_critical_length_blow_up_with_a_flat_reward():
    found, by = _read("grpo-chaos-economy-truncation")
    cut = by["truncation / length blow-up"]
    assert cut.severity == "critical" and "max_completion_length 512" in cut.evidence
    assert "no completion ends with EOS" in cut.evidence and "did not improve" in cut.evidence
    assert by["plateau"].severity == "warning"
    note = by["reward often at its ceiling"]
    assert note.severity == "info" and note.metric == "rewards/format_reward_fn/mean"
    assert verdict(found).startswith("broken: truncation")


def test_healthy_grpo_with_older_keys_is_healthy_and_its_dead_format_rewards_are_noted():
    found, by = _read("grpo-gemma3-gsm8k-healthy")
    assert verdict(found) == "healthy" and _alarms(found) == []
    dead = by["dead reward components"]
    assert dead.severity == "info"
    assert "soft_format_reward_func" in dead.evidence and "strict_format_reward_func" in dead.evidence
    assert any("rising" in c for c in found.checked)  # the reward rose beyond its noise, and the report says so


def test_one_log_entry_is_too_little_data_said_not_a_finding():
    found, _ = _read("grpo-taubench-single-log-entry")
    assert found.findings == [] and found.too_little
    assert verdict(found).startswith("too little data")
    said = next(u for u in found.unchecked if "too little data" in u)
    assert "step 10" in said and "clipped_ratio 0.912" in said


def test_eval_loss_rising_from_its_minimum_is_over_fitting_with_the_step_to_go_back_to():
    found, by = _read("sft-classifier-overfit-eval-rising")
    over = by["over-fitting"]
    assert over.severity == "warning" and over.metric == "eval_loss"
    assert over.values["best_step"] == 3105 and over.values["eval_loss_min"] == pytest.approx(1.3262, abs=1e-3)
    assert "+14%" in over.evidence and "go back to step 3105" in over.evidence and "train loss fell" in over.evidence
    assert {"max_steps": 3105} in [r.config_delta for r in over.remedies]
    assert "checkpoint-8280" in by["best checkpoint"].evidence  # the trainer's own pick, by its macro F1
    assert _alarms(found) == ["over-fitting"]


def test_a_converging_sft_run_is_healthy_with_its_best_checkpoint():
    found, by = _read("sft-tinyllama-healthy-converging")
    assert verdict(found) == "healthy" and _alarms(found) == []
    assert by["best checkpoint"].values["eval_loss_best_step"] == 2800
    assert any("eval_loss 1.622 -> 1.122" in c for c in found.checked)


def test_train_loss_far_above_eval_is_a_logging_anomaly_and_the_spiky_start_recovered():
    found, by = _read("sft-law-llm-train-eval-scale-mismatch")
    anomaly = by["logging anomaly"]
    assert anomaly.severity == "warning" and "not a generalisation gap" in anomaly.evidence
    assert anomaly.values["ratio"] == pytest.approx(16.5, abs=0.5)
    start = by["unstable start"]
    assert start.severity == "info" and "422" in start.evidence and "198" in start.evidence
    assert _alarms(found) == ["logging anomaly"]  # no blow-up, no over-fitting, nothing critical


@pytest.mark.parametrize("name", ["grpo-gemma3-gsm8k-healthy", "sft-tinyllama-healthy-converging"])
def test_no_critical_alarm_on_the_healthy_ones(name):
    found, _ = _read(name)
    assert not [f for f in found.findings if f.severity == "critical"]
    assert len(found.checked) >= 4  # a healthy verdict says what it looked at
