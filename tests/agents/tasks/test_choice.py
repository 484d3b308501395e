"""Reading the letter a completion commits to, in the forms models write it (agents/tasks/choice.py).

The completions are written for this test (no benchmark questions): each form is tried with every
letter, and the rejection forms are tried with the gold letter as the rejected one, which must never
grade correct.
"""

from __future__ import annotations

import pytest

from agents.tasks.choice import WIDE_LETTERS, extract_choice, grade_choice

# {x}: the letter committed to; {y}: another letter the completion mentions or rejects.
COMMITTED_FORMS = [
    "{x}",
    "**{x}**",
    "The answer is {x}.",
    "The answer is: **{x}**",
    "\\boxed{{{x}}}",
    "Option {x}",
    ": {x}",
    "The correct option is {x}: it is the only one that conserves charge.",
    "({y}) is wrong; ({x}) is right.",
    "Final answer: {x}",
    "**Final Answer**\n\n$\\boxed{{\\text{{{x}}}}}$",
    "Let me think. Charge is conserved, so the answer is ({x}).",
    "I choose {x} because the other options break the symmetry.",
    "Therefore, the correct answer is **{x}**.",
    "{y} is incorrect since it ignores friction. {x} is correct.",
    "Option {y} can be ruled out. The best choice is option {x}.",
    "**Answer:** {x}\n\nExplanation: option {y} double counts the mass.",
    "After eliminating the others, my final answer is {x}",
    "({y}) looks tempting but is wrong, so ({x}).",
    "Not {y}. I'll go with {x}.",
]

HEDGES = [
    "The answer is {x} or {y}.",
    "**{x}** or **{y}**, I cannot tell.",
    "\\boxed{{{x}, {y}}}",
    "Final answer: ({x}) and ({y})",
    "Option ({x}) or option ({y}), hard to say",
    "It could be {x}; it could also be {y}.",
    "The answer is {x} or maybe {y}.",
]


def _other(letter: str) -> str:
    return "ABCD"[("ABCD".index(letter) + 1) % 4]


@pytest.mark.parametrize("form", COMMITTED_FORMS)
@pytest.mark.parametrize("letter", "ABCD")
def test_every_form_reads_the_committed_letter(form, letter):
    completion = form.format(x=letter, y=_other(letter))
    assert extract_choice(completion) == letter, completion
    assert grade_choice(completion, letter)
    assert not grade_choice(completion, _other(letter))  # the letter it rejects or only mentions never scores


@pytest.mark.parametrize("form", HEDGES)
@pytest.mark.parametrize("letter", "ABCD")
def test_a_hedge_between_two_letters_is_no_answer(form, letter):
    completion = form.format(x=letter, y=_other(letter))
    assert extract_choice(completion) is None, completion


@pytest.mark.parametrize(
    "completion",
    [
        "(A) is wrong; (B) is right.",
        "A is incorrect. The answer is B.",
        "Option A can be ruled out; option B fits.",
        "(A) looks tempting but is wrong.",
        "Not A.",
        "We can eliminate (A).",
    ],
)
def test_no_false_positive_on_a_completion_that_rejects_the_gold_letter(completion):
    assert not grade_choice(completion, "A")


def test_a_letter_that_is_a_word_is_not_an_answer():
    assert extract_choice("The answer is a bit unclear.") is None
    assert extract_choice("A good question.") is None
    assert extract_choice("I choose a method first.") is None
    assert extract_choice("I think so.", WIDE_LETTERS) is None
    assert extract_choice("The answer is B because A is wrong.") == "B"  # the rejection is about A
