"""Pipeline faults, each from a real log altered in one named way: said first, above any training dynamics."""

from __future__ import annotations

import copy
from pathlib import Path

from agents.critic.rundir import verdict
from agents.critic.signals.training import signal_report
from agents.critic.signals.trl_logs import read_logged_run

LOGS = Path(__file__).resolve().parents[3] / "fixtures" / "real-trl-logs"
CHAOS = read_logged_run(LOGS / "grpo-chaos-economy-truncation")  # GRPO, rewards vary within groups
REDTEAM = read_logged_run(LOGS / "grpo-redteam-sparse-reward-zero-std")  # GRPO, most groups identical
TINYLLAMA = read_logged_run(LOGS / "sft-tinyllama-healthy-converging")  # SFT, healthy


def _report(logged, rows):
    return signal_report(logged.config, rows, None, logged.known, logged.meta)


def _set(logged, **values) -> list[dict]:
    rows = copy.deepcopy(logged.rows)
    for row in rows:
        if "loss" in row or "reward" in row:
            row.update({k: v for k, v in values.items() if k in row})
    return rows


def test_grpo_grad_norm_zero_from_step_one_while_rewards_vary_is_no_parameter_update_said_first():
    report = _report(CHAOS, _set(CHAOS, grad_norm=0.0))  # altered: grad_norm 0 at every step
    first = report.findings[0]
    assert first.name == "no parameter update" and first.severity == "critical"
    assert "reward spread (reward_std) above 0" in first.evidence and "not a missing learning signal" in first.evidence
    assert "adapter" in first.evidence and first.remedies
    assert "no learning signal" not in {f.name for f in report.findings}


def test_grpo_grad_norm_zero_where_every_group_agreed_is_no_signal_not_a_wiring_fault():
    rows = copy.deepcopy(REDTEAM.rows)
    for row in rows:
        if row.get("frac_reward_zero_std") == 1.0:
            row["grad_norm"] = 0.0  # altered: 0 exactly where the groups gave no advantage
    names = {f.name: f for f in _report(REDTEAM, rows).findings}
    assert "no parameter update" not in names
    assert (
        names["steps that update nothing"].severity == "info"
        and "identical" in names["steps that update nothing"].evidence
    )


def test_sft_grad_norm_zero_while_the_loss_falls_is_no_parameter_update():
    report = _report(TINYLLAMA, _set(TINYLLAMA, grad_norm=0.0))
    assert report.findings[0].name == "no parameter update" and "the loss moves" in report.findings[0].evidence


def test_sft_loss_and_grad_norm_zero_at_every_step_is_nothing_to_learn_from_never_healthy():
    report = _report(TINYLLAMA, _set(TINYLLAMA, loss=0.0, grad_norm=0.0))  # altered: loss and grad_norm 0
    first = report.findings[0]
    assert first.name == "nothing to learn from" and first.severity == "critical"
    assert "grad_norm is 0 too" in first.evidence and "masked" in first.evidence
    names = [f.name for f in report.findings]
    assert "no parameter update" not in names and "loss plateau" not in names


def test_the_pipeline_fault_leads_the_verdict_above_a_critical_truncation():
    logged = copy.copy(CHAOS)
    logged.rows = _set(CHAOS, grad_norm=0.0)
    from agents.critic.rundir import diagnose_logged

    found = diagnose_logged(logged)
    assert verdict(found).startswith("broken: no parameter update (critical); truncation")


def test_a_grpo_loss_of_zero_is_not_a_pipeline_fault():
    report = _report(CHAOS, _set(CHAOS, loss=0.0))  # GRPO's loss is 0 whenever beta is 0 and the ratio 1
    assert "nothing to learn from" not in {f.name for f in report.findings}
