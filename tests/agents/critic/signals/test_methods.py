"""The method a log was written by, from the arguments' class or the logged keys."""

from __future__ import annotations

import pytest

from agents.critic.signals.methods import config_method, identify, method_from_keys, scope_note


@pytest.mark.parametrize(
    ("keys", "method"),
    [
        ({"loss", "grad_norm", "mean_token_accuracy"}, "sft"),
        ({"loss", "eval_loss", "eval_accuracy", "eval_macro_f1"}, "classifier"),
        ({"loss", "eval_loss", "eval_rouge1", "eval_gen_len"}, "seq2seq"),
        ({"reward", "reward_std", "frac_reward_zero_std", "rewards/acc/mean"}, "grpo"),
        ({"reward", "reward_std", "completion_length", "rewards/correctness_reward_func"}, "grpo"),  # older keys
        ({"rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies"}, "dpo"),
        ({"rewards/chosen", "rewards/margins", "kl"}, "kto"),
        ({"rewards/chosen", "rewards/margins", "log_odds_ratio", "nll_loss"}, "orpo"),
        ({"rewards/chosen", "rewards/margins", "nll_loss"}, "cpo"),
        ({"objective/kl", "objective/rlhf_reward", "loss/value_avg", "val/clipfrac_avg"}, "ppo"),
        ({"objective/kl", "objective/rlhf_reward", "objective/scores_margin"}, "online-dpo"),
        ({"loss", "accuracy", "margin", "min_reward", "mean_reward", "max_reward"}, "reward-model"),
    ],
)
def test_each_method_is_known_by_its_trainers_keys(keys, method):
    assert method_from_keys(keys) == method


def test_the_arguments_class_decides_and_simpo_is_cpo_with_its_loss_type():
    assert identify([{"reward": 1.0}], {}, "RLOOConfig")[0] == "rloo"
    assert identify([{"rewards/chosen": 1.0}], {"loss_type": "simpo"}, "CPOConfig")[0] == "simpo"
    assert identify([{"loss": 1.0, "eval_accuracy": 0.5}], {}, "TrainingArguments")[0] == "classifier"
    assert config_method("rloo") == "grpo" and config_method("dpo") == "sft"
    assert scope_note("dpo") is None and "no PPO-specific rules" in scope_note("ppo")
