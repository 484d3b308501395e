"""GRPO's reward components and groups, judged by their numbers whatever the reward functions are called."""

from __future__ import annotations

import copy
from pathlib import Path

from agents.critic.signals.rewards import classify_components, estimate_group_size
from agents.critic.signals.training import signal_report
from agents.critic.signals.trl_logs import read_logged_run

LOGS = Path(__file__).resolve().parents[3] / "fixtures" / "real-trl-logs"
CHAOS = read_logged_run(LOGS / "grpo-chaos-economy-truncation")  # five reward functions, 40 rows
GEMMA = read_logged_run(LOGS / "grpo-gemma3-gsm8k-healthy")  # older keys, correctness rising


def _by_name(logged, rows) -> dict:
    report = signal_report(logged.config, rows, None, logged.known, logged.meta)
    return {f.name: f for f in report.findings}


def _rename(rows: list[dict], old: str, new: str, mean: float) -> list[dict]:
    rows = copy.deepcopy(rows)
    for row in rows:
        if old + "/mean" in row:
            row.pop(old + "/mean"), row.pop(old + "/std", None)
            row[new + "/mean"], row[new + "/std"] = mean, 0.0
    return rows


def test_a_format_reward_with_its_own_name_at_its_ceiling_while_the_task_is_flat_is_saturation():
    rows = _rename(CHAOS.rows, "rewards/format_reward_fn", "rewards/valid_json_reward", 2.0)
    sat = _by_name(CHAOS, rows)["format-reward saturation"]
    assert sat.severity == "warning" and sat.metric == "rewards/valid_json_reward/mean"
    assert "ceiling 2.00" in sat.evidence and sat.values["tail_std"] == 0.0
    assert any("gate" in (r.data_action or "") for r in sat.remedies)


def test_any_component_saturates_by_its_numbers_not_its_name():
    rows = _rename(CHAOS.rows, "rewards/format_reward_fn", "rewards/politeness_bonus", 0.5)
    assert _by_name(CHAOS, rows)["reward saturation"].metric == "rewards/politeness_bonus/mean"


def test_a_saturated_component_while_the_task_reward_climbs_is_just_a_learnt_format():
    rows = copy.deepcopy(GEMMA.rows)
    for row in rows:
        if "rewards/correctness_reward_func/mean" in row:
            row["rewards/valid_json_reward/mean"] = 2.0
    by = _by_name(GEMMA, rows)
    assert "format-reward saturation" not in by and "reward saturation" not in by


def test_two_completions_per_group_are_recognised_from_the_logged_shares():
    rows = copy.deepcopy(CHAOS.rows)
    train = [r for r in rows if "reward" in r]
    for i, row in enumerate(train):
        row["frac_reward_zero_std"] = [0.0, 0.25, 0.5, 0.75, 1.0][i % 5]  # 4 groups a row
        row["completions/clipped_ratio"] = (i % 8) / 8  # 8 completions a row
    assert estimate_group_size(train)[0] == 2
    logged = copy.deepcopy(CHAOS)
    logged.known = frozenset(logged.known - {"num_generations"})
    small = _by_name(logged, rows)["group too small"]
    assert small.severity == "warning" and "2 completions per group" in small.evidence
    assert {"num_generations": 8} in [r.config_delta for r in small.remedies]


def test_zero_std_only_ever_0_or_1_is_one_group_per_step():
    rows = copy.deepcopy(CHAOS.rows)
    for i, row in enumerate(r for r in rows if "reward" in r):
        row["frac_reward_zero_std"] = float(i % 3 == 0)
    one = _by_name(CHAOS, rows)["one group per step"]
    assert one.severity == "info" and "single group" in one.evidence


def test_a_reward_that_falls_beyond_its_noise_is_a_decline_not_a_plateau():
    rows = copy.deepcopy(GEMMA.rows)
    rewards = [r["reward"] for r in rows if "reward" in r]
    for row, value in zip((r for r in rows if "reward" in r), reversed(rewards)):
        row["reward"] = value  # the healthy run's climb, played backwards
    by = _by_name(GEMMA, rows)
    assert by["reward decline"].severity == "warning" and "plateau" not in by


def test_older_trl_without_a_clipped_share_still_shows_completions_at_the_cap():
    rows = copy.deepcopy(GEMMA.rows)
    for k, row in enumerate(r for r in rows if "completions/mean_length" in r):
        row["completions/mean_length"] = min(512.0, 300.0 + 40 * k)  # every completion cut at 512 from row 6 on
    cut = _by_name(GEMMA, rows)["truncation / length blow-up"]
    assert cut.severity == "critical" and cut.metric == "completions/mean_length" and "512" in cut.evidence


def test_task_and_shaping_rewards_are_told_apart_by_what_they_measure():
    task, shaping = classify_components(
        ["rewards/correctness_reward_func/mean", "rewards/xmlcount_reward_func/mean", "rewards/valid_json_reward/mean",
         "rewards/gameplay_scores/mean", "rewards/length_penalty/mean", "rewards/reward_fn_total/mean"]
    )  # fmt: skip
    assert task == ["rewards/correctness_reward_func/mean", "rewards/gameplay_scores/mean"]
    assert shaping == [
        "rewards/xmlcount_reward_func/mean",
        "rewards/valid_json_reward/mean",
        "rewards/length_penalty/mean",
    ]


def test_a_total_that_rises_while_the_task_reward_is_flat_rose_through_the_shaping():
    logged = read_logged_run(LOGS / "grpo-llama31-gsm8k-learning-with-spikes")
    rows = copy.deepcopy(logged.rows)
    train = [r for r in rows if "reward" in r]
    key = "rewards/correctness_reward_func/mean"
    q = len(train) // 4
    for i, row in enumerate(train[q:], start=q):
        flat = train[i % q][key]  # altered: correctness repeats its first quarter, so it never improves
        row["reward"] -= row[key] - flat  # and the total loses what correctness had added
        row[key] = flat
    report = signal_report(logged.config, rows, None, logged.known, logged.meta)
    shaping = next(f for f in report.findings if f.name == "reward from shaping only")
    assert shaping.severity == "warning" and "correctness_reward_func" in shaping.evidence
    assert "xmlcount_reward_func" in shaping.evidence and "not the task" in shaping.evidence
    plain = signal_report(logged.config, logged.rows, None, logged.known, logged.meta)
    assert "reward from shaping only" not in {f.name for f in plain.findings}  # the real run learns the task


def test_a_reward_that_follows_the_completion_length_is_shaping_whatever_its_name():
    rows = copy.deepcopy(CHAOS.rows)
    for row in rows:
        if isinstance(row.get("completions/mean_length"), (int, float)):
            row["rewards/bonus_fn/mean"] = row["completions/mean_length"] / 512  # altered: a length-paying reward
    report = signal_report(CHAOS.config, rows, None, CHAOS.known, CHAOS.meta)
    shaping = next(f for f in report.findings if f.name == "reward from shaping only")
    assert "bonus_fn" in shaping.evidence and "pnl_reward_fn" in shaping.evidence
