"""Reward functions the trainer hands to TRL, looked up by task name."""

from __future__ import annotations

import pytest

from agents.tasks import exact_match_reward, reward_functions


def test_exact_match_reward_on_plain_strings():
    rewards = exact_match_reward(["052", " 198", "52", "===="], answer=["052", "198", "052", "000"])
    assert rewards == [1.0, 1.0, 0.0, 0.0]


def test_exact_match_reward_ignores_extra_trl_keyword_arguments():
    rewards = exact_match_reward(
        ["052"], answer=["052"], prompts=["07+45="], completion_ids=[[4, 9, 6]], trainer_state=None
    )
    assert rewards == [1.0]


def test_exact_match_reward_on_conversational_completions():
    completions = [
        [{"role": "assistant", "content": "052"}],
        [{"role": "assistant", "content": "0"}, {"role": "assistant", "content": "52"}],
        [{"role": "assistant", "content": "042"}],
        [{"role": "assistant"}],  # no content at all scores 0, it does not crash
    ]
    rewards = exact_match_reward(completions, answer=["052", "052", "052", "052"])
    assert rewards == [1.0, 1.0, 0.0, 0.0]


def test_exact_match_reward_length_mismatch_raises():
    with pytest.raises(ValueError):
        exact_match_reward(["052", "198"], answer=["052"])


def test_reward_functions_for_addition():
    funcs = reward_functions("addition")
    assert set(funcs) == {"exact_match"}
    assert funcs["exact_match"](["198"], answer=["198"]) == [1.0]


def test_reward_functions_unknown_task_raises_key_error_naming_it():
    with pytest.raises(KeyError, match="no reward functions for task 'sorting'.*addition"):
        reward_functions("sorting")
