"""The money ledger in .intern/spend.json: reserve, refuse, settle, survive a restart, say why the loop stops."""

from __future__ import annotations

import pytest

from agents.common import prices, spend
from agents.common.prices import Estimate, PriceError


def test_a_run_is_refused_when_what_is_left_cannot_pay_and_the_refusal_is_the_stop_reason(tmp_path):
    state = tmp_path / ".intern"
    assert spend.reserve(state, "run-001", Estimate(0.6, "hf-jobs t4-small", 0.4), limit_usd=1.0) is None
    refused = spend.reserve(state, "run-002", Estimate(0.6, "hf-jobs t4-small", 0.4), limit_usd=1.0)
    assert refused.startswith("cannot pay for run-002: it may cost $0.60 (hf-jobs t4-small)")
    assert "$0.40 of budget.usd $1.00 is left ($0.60 spent)" in refused
    ledger = spend.read_ledger(state)  # what a restarted `intern go` reads
    assert [r.run_id for r in ledger.runs] == ["run-001"] and ledger.refused.run_id == "run-002"
    assert spend.stop_reason(state, 1.0) == f"money budget spent: {refused}"
    assert spend.stop_reason(state, 2.0) is None  # the human raised budget.usd
    assert spend.stop_reason(state, None) is None


def test_settling_charges_billed_minutes_never_above_the_estimate(tmp_path):
    state = tmp_path / ".intern"
    spend.reserve(state, "run-001", Estimate(2.0, "hf-jobs a10g-small", 1.0), limit_usd=None)
    assert spend.settle(state, "run-001", 61) == pytest.approx(2 / 60, abs=1e-6)  # two started minutes at $1/h
    spend.reserve(state, "run-002", Estimate(0.5, "hf-jobs a10g-small", 1.0), limit_usd=None)
    assert spend.settle(state, "run-002", 7200) == 0.5
    spend.charge_brain(state, 0.25, priced=False)
    ledger = spend.read_ledger(state)
    assert ledger.total_usd == pytest.approx(2 / 60 + 0.5 + 0.25, abs=1e-6)
    assert spend.exhausted(state, 0.5) and not spend.exhausted(state, 5.0) and not spend.exhausted(state, None)
    line = spend.status_line(state, 5.0)
    assert line.startswith("money: $0.78 spent of budget.usd $5.00 (training $0.53 over 2 runs")
    assert "1 LLM calls at the dearest listed rate" in line


def test_a_mangled_ledger_counts_as_spent_rather_than_as_a_fresh_budget(tmp_path):
    state = tmp_path / ".intern"
    state.mkdir()
    spend.ledger_path(state).write_text("{torn")
    assert spend.exhausted(state, 100.0)
    assert spend.stop_reason(state, 100.0).startswith("money budget unknown")


def test_prices_come_from_the_table_or_the_users_override():
    assert prices.job_estimate("h200", 1800).usd == pytest.approx(2.5)
    assert prices.job_estimate("h200", 1800, {"h200": 4.0}).usd == pytest.approx(2.0)
    with pytest.raises(PriceError, match="budget.prices.tpu-v9"):
        prices.job_estimate("tpu-v9", 60)
    assert prices.token_cost("openai:gpt-4o-mini", 1_000_000, 1_000_000) == (pytest.approx(0.75), True)
    assert prices.token_cost("local:some/path", 10**6, 10**6) == (0.0, True)
    usd, known = prices.token_cost("hf:Qwen/Qwen2.5-7B-Instruct", 10**6, 0)
    assert not known and usd == max(p[0] for p in prices.TOKEN_USD_PER_MILLION.values() if p[1] == 10.0)
    assert prices.token_cost("hf:Qwen/Qwen2.5-7B-Instruct", 10**6, 0, {"hf:Qwen/Qwen2.5-7B-Instruct": (0.2, 0.2)})[
        0
    ] == pytest.approx(0.2)
