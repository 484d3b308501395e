"""Spikes, divergence, resumed runs and non-finite values, on real logs edited the way such runs log them."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

from agents.critic.signals.training import signal_report
from agents.critic.signals.trl_logs import read_logged_run

LOGS = Path(__file__).resolve().parents[3] / "fixtures" / "real-trl-logs"
TINYLLAMA = read_logged_run(LOGS / "sft-tinyllama-healthy-converging")  # 186 training rows, eval every 200 steps


def _report(rows: list[dict], logged=TINYLLAMA):
    return signal_report(logged.config, rows, None, logged.known, logged.meta)


def _rows() -> list[dict]:
    return copy.deepcopy(TINYLLAMA.rows)


def _train_indices(rows: list[dict]) -> list[int]:
    return [i for i, r in enumerate(rows) if "loss" in r]


def _by_name(report) -> dict:
    return {f.name: f for f in report.findings}


def test_a_transient_spike_that_recovers_is_not_divergence():
    rows = _rows()
    at = _train_indices(rows)[120]
    rows[at]["grad_norm"] = 30.0  # one bad step, 15x the median, the loss unmoved; next row is normal again
    report = _report(rows)
    spike = _by_name(report)["transient gradient spike"]
    assert (
        spike.severity == "info" and "not divergence" in spike.evidence and f"step {rows[at]['step']}" in spike.evidence
    )
    assert not [f for f in report.findings if f.severity != "info"]


def test_a_spike_with_the_loss_jumping_that_recovers_is_transient_and_one_that_stays_up_is_critical():
    rows = _rows()
    train = _train_indices(rows)
    rows[train[120]] |= {"grad_norm": 30.0, "loss": 3.5}
    # One bad batch moved the loss and the gradient, then the next row is normal: transient (clipping bounded
    # the step), said with what moved, not an alarm.
    spike = _by_name(_report(rows))["transient gradient spike"]
    assert spike.severity == "info" and "the loss jumped with it" in spike.evidence
    assert "back to normal at the next row" in spike.evidence
    for i in train[120:]:
        rows[i]["grad_norm"] = 40.0 + i % 3  # never comes back
    blow = _by_name(_report(rows))["gradient blow-up"]
    assert blow.severity == "critical" and "the run diverged" in blow.evidence


def test_a_resumed_run_whose_learning_rate_jumps_and_whose_loss_climbs_diverged():
    rows = _rows()
    train = _train_indices(rows)
    resume = train[140]
    for i in train[140:]:
        rows[i]["learning_rate"] = 2e-4  # restarted at 20x the decayed rate
        rows[i]["loss"] = rows[i]["loss"] * 1.6  # and the loss climbs and stays up
    by = _by_name(_report(rows))
    assert by["resumed-run discontinuity"].severity == "info"
    assert "learning rate jumps" in by["resumed-run discontinuity"].evidence
    div = by["divergence"]
    assert div.severity == "critical" and "resumed run diverged" in div.evidence
    assert div.steps[0] == rows[resume]["step"]


def test_a_resume_that_goes_on_calmly_is_noted_not_alarmed():
    rows = _rows()
    train = _train_indices(rows)
    for i in train[100:]:
        rows[i]["epoch"] = rows[i]["epoch"] - 0.5  # the epoch counter goes back at the resume
    report = _report(rows)
    by = _by_name(report)
    assert "epoch counter goes back" in by["resumed-run discontinuity"].evidence
    assert "divergence" not in by and not [f for f in report.findings if f.severity != "info"]


def test_a_loss_that_gives_back_its_gain_diverged():
    rows = _rows()
    train = _train_indices(rows)
    for k, i in enumerate(train[150:]):
        rows[i]["loss"] = 1.1 + 0.05 * k  # from its low near 1.0 back up past 2.0
    div = _by_name(_report(rows))["divergence"]
    assert div.severity == "critical" and "giving back" in div.evidence


def test_non_finite_values_are_reported_and_never_crash():
    rows = _rows()
    train = _train_indices(rows)
    for i in train[170:]:
        rows[i]["loss"] = float("nan")
    rows[train[50]]["grad_norm"] = None  # a JSON writer without NaN writes null
    rows[train[60]]["mean_token_accuracy"] = "inf"
    report = _report(rows)
    bad = {f.metric: f for f in report.findings if f.name == "non-finite values"}
    assert bad["loss"].severity == "critical" and "to the end" in bad["loss"].evidence
    skipped = next(f for f in report.findings if f.name == "skipped step")  # one null between finite rows
    assert skipped.metric == "grad_norm" and skipped.severity == "info" and "None" in skipped.evidence
    assert "mean_token_accuracy" in bad
    json.dumps([f.model_dump() for f in report.findings])  # nothing non-finite leaks into the evidence numbers
    assert all(math.isfinite(v) for f in report.findings for v in f.values.values())


def test_an_inf_gradient_the_run_steps_over_is_a_skipped_step_not_a_broken_run():
    rows = _rows()
    at = _train_indices(rows)[90]
    rows[at]["grad_norm"] = float("inf")  # fp16's loss scaler skips such a step
    report = _report(rows)
    skipped = _by_name(report)["skipped step"]
    assert (
        skipped.severity == "info" and "overflow" in skipped.evidence and f"step {rows[at]['step']}" in skipped.evidence
    )
    assert not [f for f in report.findings if f.severity != "info"]


def test_junk_in_any_log_is_read_around_never_a_crash():
    junk = [None, "nan", "-inf", "abc", [], {}, True, 1e300, -1e300, 0.0, 1e-300]
    for folder in sorted(p for p in LOGS.iterdir() if p.is_dir()):
        logged = read_logged_run(folder)
        rows = copy.deepcopy(logged.rows)
        for i, row in enumerate(rows):
            for j, key in enumerate(sorted(row)):
                if key != "step" and (i + j) % 4 == 0:
                    row[key] = junk[(i * 7 + j) % len(junk)]
        report = _report(rows, logged)
        json.dumps([f.model_dump() for f in report.findings])
        assert any(f.name == "non-finite values" for f in report.findings) or report.too_little, folder.name


def test_a_spike_after_which_the_loss_stays_up_is_divergence_even_when_the_gradient_recovers():
    rows = _rows()
    train = _train_indices(rows)
    rows[train[120]]["grad_norm"] = 30.0
    for i in train[121:]:
        rows[i]["loss"] = rows[i]["loss"] * 1.4  # the gradient settles, the damage to the loss does not
    blow = _by_name(_report(rows))["gradient blow-up"]
    assert blow.severity == "critical" and "the loss followed" in blow.evidence


def test_a_loss_trend_is_read_after_a_schedule_restart_not_across_it():
    rows = _rows()
    train = _train_indices(rows)
    restart = train[100]
    for i in train[100:]:
        rows[i]["epoch"] = rows[i]["epoch"] - 1.0  # altered: a resume that starts the schedule again
        rows[i]["learning_rate"] = 2e-4
    report = _report(rows)
    assert any(f"read from step {rows[restart]['step']} on" in c for c in report.checked)


def test_an_overflow_step_that_logs_a_nan_loss_too_is_still_one_skipped_step():
    rows = _rows()
    at = _train_indices(rows)[90]
    rows[at] |= {"grad_norm": float("nan"), "loss": float("nan")}  # altered: one overflow row, loss and gradient
    report = _report(rows)
    assert [f.name for f in report.findings if f.severity != "info"] == []
    assert {f.metric for f in report.findings if f.name == "skipped step"} == {"grad_norm", "loss"}
