"""Reward functions the trainer hands to TRL, looked up by task name."""

from __future__ import annotations

import pytest

from agents.tasks import RewardError, correctness_reward_name, exact_match_reward, reward_functions
from agents.tasks.hub import TaskDataError
from bus.schemas import TaskSpec


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


# --- correctness rewards of the Hub and custom tasks --------------------------------------------


@pytest.mark.parametrize(
    ("task", "completions", "answers", "expected"),
    [
        ("gsm8k", ["#### 1,000", "The answer is $18.", "#### 17", "no idea"], ["1000", "18", "18", "18"], [1, 1, 0, 0]),
        ("gpqa", ["Answer: C", " (b)", "Answer: A or C", "D"], ["C", "B", "C", "A"], [1, 1, 0, 0]),
        ("math", [r"\boxed{\dfrac{1}{2}}", r"\boxed{0.5}", r"\boxed{2}", "1/2"], ["\\frac{1}{2}"] * 4, [1, 1, 0, 0]),
    ],
)
def test_correctness_reward_per_task(task, completions, answers, expected):
    funcs = reward_functions(task)
    assert set(funcs) == {"correct"}
    assert funcs["correct"](completions, answer=answers, prompts=["p"] * len(answers)) == [float(e) for e in expected]
    assert funcs["correct"].__name__ == f"{task}_correct"  # TRL logs rewards/<name>/mean


def test_correctness_reward_on_conversational_completions():
    reward = reward_functions("gsm8k")["correct"]
    completions = [[{"role": "assistant", "content": "#### 18"}], [{"role": "assistant", "content": None}]]
    assert reward(completions, answer=["18", "18"]) == [1.0, 0.0]


def test_custom_rewards_one_per_grader():
    funcs = reward_functions("custom")
    assert set(funcs) == {"exact", "numeric", "choice", "boxed"}
    assert funcs["exact"](["Paris\n", "paris"], answer=["Paris", "Paris"]) == [1.0, 0.0]
    assert funcs["numeric"](["#### 0.50"], answer=[".5"]) == [1.0]
    assert funcs["choice"](["Answer: J"], answer=["J"]) == [1.0]
    assert funcs["boxed"]([r"\boxed{3}"], answer=["3"]) == [1.0]


def test_correctness_reward_name_follows_the_spec():
    assert correctness_reward_name(TaskSpec()) == "exact_match"
    assert correctness_reward_name(TaskSpec(name="gpqa")) == "correct"
    spec = TaskSpec(name="custom", dataset="d.jsonl", columns={"prompt": "p", "answer": "a"}, grader="boxed")
    assert correctness_reward_name(spec) == "boxed"
    assert correctness_reward_name(spec) in reward_functions("custom")


@pytest.mark.parametrize(
    ("task", "key", "answer"),
    [
        ("gsm8k", "correct", "#### eighteen"),
        ("gpqa", "correct", "Paris"),
        ("math", "correct", " "),
        ("custom", "exact", ""),
    ],
)
def test_a_grader_that_raises_is_reraised_with_the_completion(task, key, answer):
    reward = reward_functions(task)[key]
    with pytest.raises(RewardError, match=r"could not grade completion 'my odd completion' against answer") as info:
        reward(["my odd completion"], answer=[answer])
    assert isinstance(info.value.__cause__, TaskDataError)  # the original error is kept, not swallowed


def test_correctness_reward_length_mismatch_raises():
    with pytest.raises(ValueError):
        reward_functions("gpqa")["correct"](["A", "B"], answer=["A"])
