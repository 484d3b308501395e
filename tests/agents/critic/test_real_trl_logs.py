"""The critic reads fourteen real trainer_state.json files the way an expert does (tests/fixtures/real-trl-logs)."""

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


# --- the seven later logs (the second shared set): each asserted on what its expert reading says ---------


def test_a_learning_grpo_run_with_two_recovered_spikes_is_healthy_and_cuts_no_learning_rate():
    found, by = _read("grpo-llama31-gsm8k-learning-with-spikes")
    assert verdict(found) == "healthy" and _alarms(found) == []
    grad, kl = by["transient gradient spike"], by["transient KL spike"]
    assert "step 84" in grad.evidence and "4.86" in grad.evidence
    assert "step 206" in kl.evidence and "back to normal at the next row" in kl.evidence
    assert not grad.remedies and not kl.remedies  # transient: no learning-rate cut
    dead = by["dead reward components"]
    assert "soft_format_reward_func" in dead.evidence and "strict_format_reward_func" in dead.evidence
    assert any("rising" in c for c in found.checked)


def test_a_format_reward_at_its_cap_while_the_game_reward_is_flat_is_shaping_not_the_task():
    found, by = _read("grpo-minesweeper-format-saturation-truncation")
    shaping = by["reward from shaping only"]
    assert shaping.severity == "warning" and "valid_json_reward" in shaping.evidence
    assert "gameplay_scores" in shaping.evidence and "optimises the shaping, not the task" in shaping.evidence
    cut = by["truncation / length blow-up"]
    assert cut.severity == "critical" and "max_completion_length 128" in cut.evidence
    idle = by["steps that update nothing"]
    assert (
        idle.severity == "warning"
        and "16 of 50" in idle.evidence
        and "reward spread (reward_std) above 0" in idle.evidence
    )
    assert verdict(found).startswith("broken: truncation")


def test_a_resume_that_restarts_the_schedule_diverged_keep_the_checkpoint_before_it_and_read_no_plateau():
    found, by = _read("sft-llama3-mob-resume-divergence")
    div = by["divergence"]
    assert div.severity == "critical" and "resumed run diverged" in div.evidence
    assert "keep checkpoint-1500" in div.evidence and "step 1500 (1.156)" in div.evidence
    assert "loss plateau" not in by  # quarters across the resume are two schedules, not a plateau
    assert "gradient blow-up" not in by  # the post-resume spikes are the divergence, said inside it
    assert any("after the restart" in c for c in found.checked)
    assert {"learning_rate"} <= {k for r in div.remedies for k in r.config_delta}
    assert verdict(found) == "broken: divergence (critical)"


def test_a_tiny_set_fitted_to_near_zero_loss_over_sixty_epochs_is_a_memorisation_risk_never_healthy():
    found, by = _read("sft-tenacious-bench-memorization")
    risk = by["memorisation risk"]
    assert risk.severity == "warning" and "60 epochs" in risk.evidence and "stop near step 40" in risk.evidence
    assert "+4%" in risk.evidence and "weak evidence" in risk.evidence
    assert {"max_steps": 40} in [r.config_delta for r in risk.remedies]
    assert verdict(found) == "needs attention: memorisation risk (warning)"
    assert not any(r.config_delta == {"max_grad_norm": 1.0} for f in found.findings for r in f.remedies)


def test_a_flat_sft_loss_is_a_plateau():
    found, by = _read("sft-kevin-flat-loss")
    flat = by["loss plateau"]
    assert flat.severity == "warning" and "flat" in flat.evidence
    assert _alarms(found) == ["loss plateau"]


def test_a_short_converging_sft_run_is_healthy():
    found, by = _read("sft-autoscientist-healthy")
    assert verdict(found) == "healthy" and _alarms(found) == []
    assert by["best checkpoint"].values["eval_loss_best_step"] == 21


def test_two_completions_a_step_flat_reward_and_one_null_gradient_a_skipped_step_not_a_crash():
    found, by = _read("grpo-med-record-noisy-tiny-batch")
    assert by["group too small"].values["group_size"] == 2
    assert by["plateau"].severity == "warning"
    skipped = by["skipped step"]
    assert skipped.severity == "info" and "step 138" in skipped.evidence
    assert set(_alarms(found)) == {"group too small", "plateau"}


@pytest.mark.parametrize("name", sorted(p.name for p in LOGS.iterdir() if p.is_dir()))
def test_every_report_prescribes_one_value_per_setting_and_none_the_run_already_has(name):
    found, _ = _read(name)
    chosen: dict = {}
    for finding in found.findings:
        for remedy in finding.remedies:
            for key, value in remedy.config_delta.items():
                assert chosen.setdefault(key, value) == value, f"{name}: {key} {chosen[key]} and {value}"
                assert getattr(found.config, key, object()) != value, f"{name}: {key}={value} is the run's own"
