"""TrainingConfig checks: every bad input is refused before a run starts, with a message naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from agents.trainer.validation import (
    KNOB_SINCE,
    LOSS_SINCE,
    check_training_config,
    installed_grpo_fields,
    installed_trl_version,
    load_training_config,
    version_tuple,
)
from bus.schemas import TrainingConfig

FIXTURES = Path(__file__).parents[2] / "fixtures" / "metrics"
GRPO = {
    "run_id": "run-002",
    "method": "grpo",
    "base_model": "embedded:tiny",
    "dataset": "d",
    "learning_rate": 5e-5,
    "max_steps": 10,
    "per_device_train_batch_size": 16,
    "num_generations": 8,
    "reward_funcs": {"exact_match": 1.0},
}


def _refused(data: dict, task: str = "addition", **versions) -> str:
    with pytest.raises(ValidationError) as info:
        load_training_config(data, task, **versions)
    return str(info.value)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"learning_rat": 1e-3}, "learning_rat", "Extra inputs are not permitted"),
        ({"learning_rate": "fast"}, "learning_rate", "valid number"),
        ({"learning_rate": 0}, "learning_rate", "greater than 0"),
        ({"max_steps": -1}, "max_steps", "greater than 0"),
        ({"top_p": 1.5}, "top_p", "less than or equal to 1"),
        ({"epsilon": 1.2}, "epsilon", "less than 1"),
        ({"num_generations": 1}, "num_generations", "greater than or equal to 2"),
        ({"loss_type": "ppo"}, "loss_type", "'grpo', 'bnpo', 'dr_grpo', 'dapo'"),
        ({"scale_rewards": True}, "scale_rewards", "'group', 'batch' or 'none'"),
        ({"lr_scheduler_type": "cosine_annealing"}, "lr_scheduler_type", "'linear', 'cosine'"),
        ({"importance_sampling_level": "word"}, "importance_sampling_level", "'token' or 'sequence'"),
        ({"backend": "jax"}, "backend", "'auto', 'trl' or 'unsloth'"),
        ({"delta": 0.5}, "delta", "greater than 1"),
        ({"reward_funcs": {"exact_match": 0}}, "reward_funcs", "weights must be positive"),
        ({"peft": {"r": 0}}, "peft.r", "greater than or equal to 1"),
        ({"peft": {"rank": 8}}, "peft.rank", "Extra inputs are not permitted"),
        ({"peft": {"target_modules": []}}, "peft.target_modules", "at least one module"),
    ],
)
def test_schema_refuses_bad_values_naming_the_field(change, field, message):
    text = _refused({**GRPO, **change})
    assert f"\n{field}\n" in text
    assert message in text


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"warmup_steps": 20}, "warmup_steps", "warmup_steps 20 is more than max_steps 10"),
        ({"per_device_train_batch_size": 12}, "per_device_train_batch_size", "multiple of num_generations 8"),
        ({"epsilon_high": 0.1}, "epsilon_high", "below epsilon 0.2"),
        ({"delta": 1.1}, "delta", "above 1 + epsilon (1.2)"),
        ({"overlong_buffer": 8}, "overlong_buffer", "below max_completion_length 8"),
        ({"reward_funcs": {}}, "reward_funcs", "needs at least one reward function"),
        ({"method": "sft"}, "reward_funcs", "an sft run uses no rewards"),
    ],
)
def test_field_combinations_are_refused(change, field, message):
    text = _refused({**GRPO, **change})
    assert f"\n{field}\n" in text and message in text


def test_unknown_reward_lists_the_known_ones_for_the_task():
    text = _refused({**GRPO, "reward_funcs": {"exact_match": 1.0, "bleu": 0.5}})
    assert "reward 'bleu' is not a reward of task addition; use one of" in text
    assert "exact_match" in text and "digits" in text and "format" in text
    # A task's reward is not another task's.
    assert "not a reward of task gsm8k" in _refused({**GRPO}, task="gsm8k")


def test_all_problems_are_reported_at_once():
    text = _refused({**GRPO, "warmup_steps": 50, "reward_funcs": {"bleu": 1.0}})
    assert "2 validation errors" in text


def test_a_config_that_is_not_a_mapping_is_refused():
    assert "must be a mapping of fields, not list" in _refused(["run_id", "run-001"])


@pytest.mark.parametrize(
    ("change", "version", "message"),
    [
        ({"epsilon_high": 0.28}, "0.15.2", "epsilon_high=0.28 needs TRL >= 0.16; the installed TRL is 0.15.2"),
        ({"num_iterations": 2}, "0.15.0", "num_iterations=2 needs TRL >= 0.16"),
        ({"mask_truncated_completions": True}, "0.16.1", "mask_truncated_completions=True needs TRL >= 0.17"),
        ({"delta": 1.5}, "0.17.0", "delta=1.5 needs TRL >= 0.18"),
        ({"importance_sampling_level": "sequence"}, "0.19.1", "importance_sampling_level='sequence' needs TRL >= 0.20"),
        ({"top_entropy_quantile": 0.2}, "0.19.0", "top_entropy_quantile=0.2 needs TRL >= 0.20"),
        ({"loss_type": "dapo"}, "0.21.0", "loss_type 'dapo' needs TRL >= 0.22; the installed TRL is 0.21.0"),
        ({"loss_type": "dr_grpo"}, "0.16.0", "loss_type 'dr_grpo' needs TRL >= 0.17"),
        ({"loss_type": "sapo"}, "0.25.1", "loss_type 'sapo' needs TRL >= 0.26"),
        ({"loss_type": "vespo"}, "0.29.0", "loss_type 'vespo' needs TRL >= 1.0"),
        ({"scale_rewards": "batch"}, "0.21.0", "scale_rewards 'batch' needs TRL >= 0.22"),
    ],
)
def test_a_knob_an_older_trl_lacks_is_refused_naming_the_version_that_has_it(change, version, message):
    assert message in _refused({**GRPO, "loss_type": "grpo", **change}, trl_version=version)


def test_an_older_trl_runs_a_config_that_asks_only_for_what_it_had():
    # Defaults of the knobs it lacks are what TRL 0.15 did anyway; only the loss must be spelled out.
    cfg = load_training_config({**GRPO, "loss_type": "grpo"}, "addition", trl_version="0.15.0")
    assert cfg.loss_type == "grpo"
    # An sft run does not care about GRPO knobs at all.
    load_training_config(
        {**GRPO, "method": "sft", "reward_funcs": {}, "epsilon_high": 0.28}, "addition", trl_version="0.15.0"
    )


def test_a_knob_missing_from_the_installed_grpo_config_fields_is_refused():
    fields = installed_grpo_fields() - {"top_entropy_quantile"}
    text = _refused({**GRPO, "top_entropy_quantile": 0.2}, grpo_fields=fields)
    assert "top_entropy_quantile=0.2 needs TRL >= 0.20" in text


def test_the_installed_trl_has_every_knob_and_loss_in_the_tables():
    version = installed_trl_version()
    assert version_tuple(version) >= (1, 0)
    fields = installed_grpo_fields()
    assert set(KNOB_SINCE) <= fields
    for loss in LOSS_SINCE:
        check_training_config(TrainingConfig(**{**GRPO, "loss_type": loss}), "addition", grpo_fields=fields)


def test_version_tuple_orders_releases():
    assert version_tuple("1.16.0.dev0") == (1, 16, 0)
    assert version_tuple("0.9") < version_tuple("0.16") < version_tuple("1.0")


@pytest.mark.parametrize("name", ["sft-healthy.config.yaml", "grpo-healthy.config.yaml"])
def test_configs_written_by_earlier_versions_still_load_and_pass(name):
    data = yaml.safe_load((FIXTURES / name).read_text())
    cfg = load_training_config(data, "addition")
    assert cfg.backend == "auto" and cfg.peft is None and cfg.delta is None


def test_lora_spec_defaults():
    cfg = load_training_config({**GRPO, "peft": {"r": 8}}, "addition")
    assert cfg.peft is not None and cfg.peft.r == 8 and cfg.peft.target_modules == "all-linear"
