"""Rules from plan.md: what is read, what is asked about, and which configs they refuse or adjust."""

from __future__ import annotations

import pytest

from agents.common import plan_rules
from bus.schemas import TrainingConfig


def _config(**overrides) -> TrainingConfig:
    fields = dict(
        run_id="run-001",
        method="grpo",
        base_model="embedded:tiny",
        dataset="addition-d2-teacher50-s0",
        learning_rate=1e-3,
        max_steps=40,
        per_device_train_batch_size=8,
        num_generations=8,
    )
    fields.update(overrides)
    return TrainingConfig(**fields)


@pytest.mark.parametrize(
    ("line", "kind", "name", "value"),
    [
        ("max learning_rate: 1e-4", "max", "learning_rate", 1e-4),
        ("`max lr = 5e-5`", "max", "learning_rate", 5e-5),
        ("max steps: 20", "max", "max_steps", 20.0),
        ("at most num_generations: 4", "max", "num_generations", 4.0),
        ("min learning rate: 1e-6", "min", "learning_rate", 1e-6),
        ("max runs: 3", "max", "runs", 3.0),
        ("Max Minutes: 10", "max", "minutes", 10.0),
        ("never use dataset: addition-d2-teacher50-s0", "never_dataset", "dataset", "addition-d2-teacher50-s0"),
        ("never use dataset: datasets/foo/README.md", "never_dataset", "dataset", "foo"),
        ("method: sft only", "methods", "method", frozenset({"sft"})),
        ("methods: sft, grpo", "methods", "method", frozenset({"sft", "grpo"})),
        ("no grpo", "methods", "method", frozenset({"sft"})),
    ],
)
def test_rules_are_read(line: str, kind: str, name: str, value: object) -> None:
    rule = plan_rules.parse_rule(line)
    assert rule is not None
    assert (rule.kind, rule.name, rule.value, rule.line) == (kind, name, value, line)


@pytest.mark.parametrize(
    "line", ["no grpo before sft", "max warp_factor: 9", "max learning_rate: a lot", "method: dpo only", "be careful"]
)
def test_lines_nobody_can_enforce_are_handed_back(line: str) -> None:
    rules, unreadable = plan_rules.parse_rules(["max runs: 3", line])
    assert [r.line for r in rules] == ["max runs: 3"]
    assert unreadable == [line]


def test_check_config_names_each_broken_rule() -> None:
    rules, _ = plan_rules.parse_rules(
        ["max learning_rate: 1e-4", "never use dataset: addition-d2-teacher50-s0", "method: sft only", "max runs: 1"]
    )
    broken = plan_rules.check_config(_config(), rules)
    assert broken == [
        "rule `max learning_rate: 1e-4`: learning_rate is 0.001",
        "rule `never use dataset: addition-d2-teacher50-s0`: the config trains on addition-d2-teacher50-s0",
        "rule `method: sft only`: the method is grpo",
    ]
    assert plan_rules.check_config(_config(method="sft", learning_rate=1e-4, dataset="other"), rules) == []


def test_conform_moves_numbers_to_their_bound_and_says_so() -> None:
    rules, _ = plan_rules.parse_rules(["max learning_rate: 1e-4", "max num_generations: 4.5", "min max_steps: 50"])
    config, notes = plan_rules.conform(_config(), rules)
    assert (config.learning_rate, config.num_generations, config.max_steps) == (1e-4, 4, 50)
    assert isinstance(config.num_generations, int)
    assert notes[0] == "learning_rate 0.001 -> 0.0001 (rule `max learning_rate: 1e-4`)"
    assert plan_rules.check_config(config, rules) == []


def test_a_bound_no_config_can_meet_is_left_for_check_config_to_refuse() -> None:
    rules, _ = plan_rules.parse_rules(["max num_generations: 1"])  # GRPO needs at least two
    config, notes = plan_rules.conform(_config(), rules)
    assert notes == [] and config.num_generations == 8
    assert plan_rules.check_config(config, rules) == ["rule `max num_generations: 1`: num_generations is 8"]


def test_loop_limits_take_the_tightest_rule() -> None:
    rules, _ = plan_rules.parse_rules(["max runs: 3", "max runs: 2", "max minutes: 5"])
    assert plan_rules.loop_limit(rules, "runs") == 2
    assert plan_rules.loop_limit(rules, "minutes") == 5
    assert plan_rules.loop_limit([], "runs") is None
    assert plan_rules.check_config(_config(), rules) == []  # loop limits are the supervisor's, not a config's
