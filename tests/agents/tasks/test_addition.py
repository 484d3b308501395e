"""The embedded fixed-width addition task: problems, the sloppy teacher, and grading."""

from __future__ import annotations

import random

import pytest

from agents.tasks import addition
from agents.tasks.addition import (
    Problem,
    all_problems,
    extract_answer,
    format_sum,
    grade,
    has_carry,
    sample_problems,
    slice_of_prompt,
    sum_without_carry,
    teacher_answer,
)


@pytest.mark.parametrize(
    ("a", "b", "digits", "prompt", "answer"),
    [
        (7, 45, 2, "07+45=", "052"),
        (99, 99, 2, "99+99=", "198"),
        (0, 0, 2, "00+00=", "000"),
        (3, 4, 1, "3+4=", "07"),
        (5, 5, 1, "5+5=", "10"),
        (12, 345, 3, "012+345=", "0357"),
        (999, 1, 3, "999+001=", "1000"),
    ],
)
def test_prompt_and_answer_are_fixed_width(a, b, digits, prompt, answer):
    problem = Problem(a, b, digits)
    assert problem.prompt == prompt
    assert problem.answer == answer
    assert len(problem.answer) == digits + 1


def test_format_sum_pads_to_one_more_digit_than_the_operands():
    assert format_sum(52, 2) == "052"
    assert format_sum(7, 3) == "0007"


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (0, 0, False),
        (12, 34, False),
        (45, 54, False),  # digit sums exactly 9 never carry
        (5, 5, True),  # units carry
        (15, 5, True),
        (50, 50, True),  # only the tens carry, into a third digit
        (91, 10, True),
        (99, 99, True),
        (7, 45, True),
        (40, 59, False),
    ],
)
def test_has_carry(a, b, expected):
    assert has_carry(a, b) is expected
    assert has_carry(b, a) is expected


def test_slice_follows_carry():
    assert Problem(7, 45, 2).slice == "carry"
    assert Problem(12, 34, 2).slice == "no_carry"
    assert slice_of_prompt("07+45=") == "carry"
    assert slice_of_prompt("12+34=") == "no_carry"
    assert set(addition.SLICES) == {"carry", "no_carry"}


@pytest.mark.parametrize(
    ("a", "b", "digits", "expected"),
    [
        (7, 45, 2, 42),  # 7+5=12 -> 2, 0+4 -> 4
        (99, 99, 2, 88),
        (12, 34, 2, 46),  # no carry: identical to the true sum
        (50, 50, 2, 0),
        (999, 1, 3, 990),
    ],
)
def test_sum_without_carry(a, b, digits, expected):
    assert sum_without_carry(a, b, digits) == expected


def test_sum_without_carry_equals_sum_exactly_on_no_carry_problems():
    for p in all_problems(2):
        assert (sum_without_carry(p.a, p.b, 2) == p.a + p.b) is (p.slice == "no_carry")


def test_all_problems_covers_every_pair():
    problems = all_problems(1)
    assert len(problems) == 100
    assert len({p.prompt for p in problems}) == 100


def test_sample_problems_distinct_and_deterministic_per_seed():
    first = sample_problems(300, 2, seed=7)
    again = sample_problems(300, 2, seed=7)
    other = sample_problems(300, 2, seed=8)
    assert len({p.prompt for p in first}) == 300
    assert [p.prompt for p in first] == [p.prompt for p in again]
    assert [p.prompt for p in first] != [p.prompt for p in other]
    assert all(p.digits == 2 for p in first)


def test_sample_problems_excludes_prompts():
    exclude = {p.prompt for p in sample_problems(60, 1, seed=0)}
    rest = sample_problems(40, 1, seed=1, exclude=exclude)
    assert len(rest) == 40
    assert not {p.prompt for p in rest} & exclude
    # The 40 left over are exactly the complement of the excluded 60.
    assert {p.prompt for p in rest} | exclude == {p.prompt for p in all_problems(1)}


def test_sample_problems_raises_when_asking_too_many():
    with pytest.raises(ValueError, match="only 100"):
        sample_problems(101, 1, seed=0)
    exclude = {p.prompt for p in sample_problems(90, 1, seed=0)}
    with pytest.raises(ValueError, match="only 10"):
        sample_problems(11, 1, seed=0, exclude=exclude)


def test_teacher_with_no_error_is_always_right():
    rng = random.Random(0)
    for p in all_problems(2):
        assert teacher_answer(p, 0.0, rng) == p.answer


def test_teacher_with_full_error_is_wrong_on_every_carry_problem_only():
    rng = random.Random(0)
    for p in all_problems(2):
        label = teacher_answer(p, 1.0, rng)
        assert len(label) == 3
        if p.slice == "carry":
            assert label != p.answer
            assert label == format_sum(sum_without_carry(p.a, p.b, 2), 2)
        else:
            assert label == p.answer


def test_teacher_error_rate_is_roughly_honoured():
    rng = random.Random(0)
    carry = [p for p in all_problems(2) if p.slice == "carry"]
    wrong = sum(teacher_answer(p, 0.3, rng) != p.answer for p in carry)
    assert wrong / len(carry) == pytest.approx(0.3, abs=0.03)


@pytest.mark.parametrize(
    ("completion", "expected"),
    [
        ("052", "052"),
        ("052<eos>", "052"),
        ("  052", "052"),
        ("052=17", "052"),
        ("0520", "0520"),
        ("", None),
        ("=052", None),
        ("abc", None),
        ("-52", None),
    ],
)
def test_extract_answer(completion, expected):
    assert extract_answer(completion) == expected


@pytest.mark.parametrize(
    ("completion", "ok"),
    [
        ("052", True),
        (" 052", True),
        ("052\n", True),
        ("052+", True),
        ("52", False),  # width counts: the unpadded sum is wrong
        ("0052", False),
        ("0520", False),
        ("053", False),
        ("", False),
        ("====", False),
    ],
)
def test_grade(completion, ok):
    assert grade(completion, "052") is ok
