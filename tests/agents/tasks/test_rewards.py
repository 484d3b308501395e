"""Reward functions the trainer hands to TRL (agents/tasks/rewards.py), looked up by task name."""

from __future__ import annotations

import pytest

from agents.tasks import RewardError, correctness_reward_name, exact_match_reward, reward_functions
from agents.tasks.hub import TaskDataError
from agents.tasks.rewards import (
    GENERIC,
    choice_reward,
    config_parameters,
    digit_partial_reward,
    exact_reward,
    format_reward,
    numeric_reward,
    soft_overlong_reward,
    tagged_answer,
)
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
    assert set(funcs) == {"exact_match", "exact_match_gated", "digits", *GENERIC}
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
    assert set(funcs) == {"correct", "correct_gated", *GENERIC}
    assert funcs["correct"](completions, answer=answers, prompts=["p"] * len(answers)) == [float(e) for e in expected]
    assert funcs["correct"].__name__ == f"{task}_correct"  # TRL logs rewards/<name>/mean


def test_correctness_reward_on_conversational_completions():
    reward = reward_functions("gsm8k")["correct"]
    completions = [[{"role": "assistant", "content": "#### 18"}], [{"role": "assistant", "content": None}]]
    assert reward(completions, answer=["18", "18"]) == [1.0, 0.0]


def test_custom_rewards_one_per_grader():
    funcs = reward_functions("custom")
    assert {"exact", "numeric", "choice", "boxed", "boxed_gated"} <= set(funcs)
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


# --- generic rewards --------------------------------------------------------------------------------


def test_exact_reward_compares_the_first_line():
    assert exact_reward(["Paris\nbecause...", " paris", "", "Lyon"], answer=["Paris"] * 4) == [1.0, 0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    ("completion", "answer", "expected"),
    [
        ("#### 1,000", "1000", 1.0),
        ("The answer is 1000.0", "1,000", 1.0),
        ("so it costs $1000 in total", "1000", 1.0),
        ("1000 dollars", "$1,000.00", 1.0),
        ("3 apples and then 12 apples", "12 apples", 1.0),
        ("0.5", "1/2", 1.0),
        ("#### 999", "1000", 0.0),
        ("no number here", "7", 0.0),
    ],
)
def test_numeric_reward_reads_numbers_by_value(completion, answer, expected):
    assert numeric_reward([completion], answer=[answer]) == [expected]


def test_numeric_reward_with_a_reference_that_is_no_number_raises_naming_the_completion():
    with pytest.raises(RewardError, match=r"numeric reward could not grade completion '#### 5' against answer 'five'"):
        numeric_reward(["#### 5"], answer=["five"])


def test_choice_reward_reads_one_committed_letter():
    completions = ["Answer: (C)", "J.", "the answer is B or D", "I think (E) is right"]
    assert choice_reward(completions, answer=["C", "J", "B", "E"]) == [1.0, 1.0, 0.0, 1.0]
    with pytest.raises(RewardError, match="could not grade completion 'A' against answer 'Z'"):
        choice_reward(["A"], answer=["Z"])


@pytest.mark.parametrize(
    ("completion", "expected"),
    [
        ("<think>7+5 is 12</think><answer>12</answer>", 1.0),
        ("  <think>\nlong\nreasoning\n</think>\n<answer> 12 </answer>\n", 1.0),
        ("<answer>12</answer>", 0.0),  # no reasoning block
        ("<think>a</think><answer>12</answer> and more", 0.0),  # text after the answer
        ("<think>a<think>b</think><answer>12</answer>", 0.0),  # two openings
        ("<think>a</think><answer>1</answer><answer>2</answer>", 0.0),  # two answers
        ("<think>a</think>12", 0.0),
    ],
)
def test_format_reward_wants_exactly_think_then_answer(completion, expected):
    assert format_reward([completion]) == [expected]
    assert format_reward([[{"role": "assistant", "content": completion}]]) == [expected]


def test_tagged_answer_is_the_stripped_answer_block():
    assert tagged_answer("<think>x</think>\n<answer> 052 </answer>") == "052"
    assert tagged_answer("052") is None


def test_gated_correctness_is_a_product_not_a_sum():
    reward = reward_functions("addition")["exact_match_gated"]
    completions = [
        "<think>carry the one</think><answer>052</answer>",  # format and right
        "<think>no carry</think><answer>042</answer>",  # format, wrong
        "052",  # right, no format
        "<answer>052</answer>",  # right, half the format
    ]
    assert reward(completions, answer=["052"] * 4) == [1.0, 0.0, 0.0, 0.0]
    assert reward.__name__ == "addition_gated_correct"
    assert "format" not in reward.__name__  # the critic reads rewards/*format*/mean as format-only


def test_gated_reward_of_a_hub_task_uses_its_grader_and_reraises():
    reward = reward_functions("gsm8k")["correct_gated"]
    assert reward(["<think>6*3</think><answer>#### 18</answer>", "#### 18"], answer=["18", "18"]) == [1.0, 0.0]
    with pytest.raises(RewardError, match="could not grade completion"):
        reward(["<think>x</think><answer>3</answer>"], answer=["#### eighteen"])


def test_digit_partial_credit_counts_places():
    rewards = digit_partial_reward(["052", "062", "152", "52", "0520", "", "==="], answer=["052"] * 7)
    assert rewards == pytest.approx([1.0, 2 / 3, 2 / 3, 0.0, 0.75, 0.0, 0.0])


@pytest.mark.parametrize("length", [0, 5, 14, 15, 16, 17, 19, 20, 21, 30])
def test_soft_overlong_matches_trl_get_soft_overlong_punishment(length):
    from trl.rewards import get_soft_overlong_punishment

    ids = [[1] * length]
    ours = soft_overlong_reward(["x"], completion_ids=ids, max_completion_length=20, overlong_buffer=5)
    assert ours == get_soft_overlong_punishment(max_completion_len=20, soft_punish_cache=5)(ids)


def test_soft_overlong_punishes_only_the_last_tokens():
    ids = [[1] * 10, [1] * 16, [1] * 18, [1] * 20]
    assert soft_overlong_reward([""] * 4, completion_ids=ids, max_completion_length=20, overlong_buffer=5) == [
        0.0,
        pytest.approx(-0.2),
        pytest.approx(-0.6),
        -1.0,
    ]
    assert config_parameters(soft_overlong_reward) == ["max_completion_length", "overlong_buffer"]
    assert config_parameters(numeric_reward) == []


def test_every_registered_reward_returns_one_float_per_completion():
    for task in ("addition", "gsm8k", "gpqa", "math"):
        for name, reward in reward_functions(task).items():
            letters = name == "choice" or (task == "gpqa" and name.startswith("correct"))
            answers = ["A", "B"] if letters else ["052", "1"]
            bound = {"max_completion_length": 4, "overlong_buffer": 1} if config_parameters(reward) else {}
            out = reward(["052", "(A)"], answer=answers, completion_ids=[[1, 2], [3]], prompts=["p", "q"], **bound)
            assert len(out) == 2 and all(isinstance(v, float) for v in out), (task, name)
