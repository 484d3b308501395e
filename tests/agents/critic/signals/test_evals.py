"""The logged evaluation and the train loss as evidence: memorisation, no held-out gain, a flat loss."""

from __future__ import annotations

import copy
from pathlib import Path

from agents.critic.signals.training import signal_report
from agents.critic.signals.trl_logs import read_logged_run

LOGS = Path(__file__).resolve().parents[3] / "fixtures" / "real-trl-logs"
CLASSIFIER = read_logged_run(LOGS / "sft-classifier-overfit-eval-rising")
TINYLLAMA = read_logged_run(LOGS / "sft-tinyllama-healthy-converging")


def _by_name(logged, rows) -> dict:
    report = signal_report(logged.config, rows, None, logged.known, logged.meta)
    return {f.name: f for f in report.findings}


def test_train_loss_near_zero_with_eval_rising_is_memorisation():
    rows = copy.deepcopy(CLASSIFIER.rows)
    train = [r for r in rows if "loss" in r]
    for k, row in enumerate(train):
        row["loss"] = round(1.5 * (0.8**k), 4)  # 1.5 -> 0.02: the training set is learnt by heart
    mem = _by_name(CLASSIFIER, rows)["memorisation"]
    assert mem.severity == "warning" and "memorises" in mem.evidence and mem.values["best_step"] == 3105


def test_eval_that_never_improves_while_train_loss_falls_is_no_held_out_improvement():
    rows = copy.deepcopy(TINYLLAMA.rows)
    for k, row in enumerate(r for r in rows if "eval_loss" in r):
        row["eval_loss"] = 1.62 + 0.001 * (k % 2)
    by = _by_name(TINYLLAMA, rows)
    assert by["no held-out improvement"].severity == "warning"
    assert "over-fitting" not in by


def test_a_flat_sft_loss_is_a_plateau_and_says_why_when_the_learning_rate_is_zero():
    rows = copy.deepcopy(TINYLLAMA.rows)
    for k, row in enumerate(r for r in rows if "loss" in r):
        row["loss"] = 2.05 + 0.02 * ((k * 7) % 5 - 2) / 2  # 1000s of steps of noise around 2.05
    flat = _by_name(TINYLLAMA, rows)["loss plateau"]
    assert flat.severity == "warning" and "the loss is flat" in flat.evidence
    assert flat.remedies and all(r.paper for r in flat.remedies)
    for row in rows:
        if "learning_rate" in row:
            row["learning_rate"] = 0.0
    assert "learning rate is 0" in _by_name(TINYLLAMA, rows)["loss plateau"].evidence


def test_eval_rising_with_the_train_loss_rising_too_is_not_called_over_fitting():
    rows = copy.deepcopy(CLASSIFIER.rows)
    train = [r for r in rows if "loss" in r]
    for k, row in enumerate(train[8:]):
        row["loss"] = 1.4 + 0.05 * k  # the whole run gets worse: divergence, not a fit at held-out's expense
    by = _by_name(CLASSIFIER, rows)
    assert "over-fitting" not in by and "memorisation" not in by
    assert by["divergence"].severity == "critical"


TENACIOUS = read_logged_run(LOGS / "sft-tenacious-bench-memorization")


def test_near_zero_train_loss_over_many_epochs_without_any_eval_is_a_memorisation_risk():
    rows = [r for r in copy.deepcopy(TENACIOUS.rows) if not any(k.startswith("eval_") for k in r)]  # altered: no eval
    risk = _by_name(TENACIOUS, rows)["memorisation risk"]
    assert risk.severity == "warning" and "no eval_loss is logged" in risk.evidence and "60 epochs" in risk.evidence


def test_the_same_fit_over_one_epoch_is_no_memorisation_risk():
    rows = copy.deepcopy(TENACIOUS.rows)
    for row in rows:
        if isinstance(row.get("epoch"), (int, float)):
            row["epoch"] = row["epoch"] / 60  # altered: one pass over a large set instead of 60 over a tiny one
    assert "memorisation risk" not in _by_name(TENACIOUS, rows)


GRPO = read_logged_run(LOGS / "grpo-redteam-sparse-reward-zero-std")


def test_grpo_best_checkpoint_is_by_eval_reward_never_eval_loss_and_saved_at_or_before_it():
    rows = copy.deepcopy(GRPO.rows)
    evals = {20: (0.01, 0.30), 40: (0.02, 0.55), 60: (0.005, 0.20), 80: (0.001, 0.25)}  # eval_loss lowest at 80
    rows += [{"step": s, "eval_loss": loss, "eval_reward": reward} for s, (loss, reward) in evals.items()]
    meta = GRPO.meta | {"checkpoints": [25, 50, 75, 100], "best_model_checkpoint": "out/checkpoint-75"}
    report = signal_report(GRPO.config, rows, None, GRPO.known, meta)
    best = next(f for f in report.findings if f.name == "best checkpoint")
    assert "eval_reward highest 0.55 at step 40" in best.evidence
    assert "checkpoint-25 is the last saved at or before it" in best.evidence  # not checkpoint-50, later than 40
    assert "not a quality measure for GRPO" in best.evidence and "chosen by eval_loss: ignored" in best.evidence


def test_an_eval_still_improving_clears_the_risk_only_when_the_eval_set_is_not_tiny():
    rows = copy.deepcopy(TENACIOUS.rows)
    evals = [r for r in rows if "eval_loss" in r]
    evals[-1]["eval_loss"] = 0.080  # altered: held-out still improving at the last evaluation
    risk = _by_name(TENACIOUS, rows)["memorisation risk"]
    assert "about 3 eval examples (too few to trust)" in risk.evidence
    for row in evals:
        row["eval_samples_per_second"] *= 100  # altered: a few hundred eval examples instead of three
    assert "memorisation risk" not in _by_name(TENACIOUS, rows)


def test_grpo_with_only_eval_loss_names_no_best_checkpoint_and_says_why():
    rows = copy.deepcopy(GRPO.rows) + [{"step": s, "eval_loss": 0.01 * s} for s in (20, 40, 60)]
    report = signal_report(GRPO.config, rows, None, GRPO.known, GRPO.meta)
    assert "best checkpoint" not in {f.name for f in report.findings}
    assert any("not a quality measure" in u for u in report.unchecked)
