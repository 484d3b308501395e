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
