"""MATH-style answers: the last box with nested braces, LaTeX normalisation, comparison by value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.tasks import get_task, math_answers
from agents.tasks.hub import TaskDataError
from bus.schemas import TaskSpec

FIXTURE = Path(__file__).parents[2] / "fixtures" / "tasks" / "math500" / "test.jsonl"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"so $\boxed{5}$.", "5"),
        (r"first \boxed{1}, finally \boxed{2}", "2"),
        (r"\boxed{\frac{\sqrt{3}}{2}}", r"\frac{\sqrt{3}}{2}"),
        (r"\boxed{\left\{ 1, 2 \right\}}", r"\left\{ 1, 2 \right\}"),  # escaped braces do not count
        (r"\fbox{7}", "7"),
        (r"\boxed 5$ done", "5"),
        (r"\boxed{\frac{1}{2}", None),  # cut off before the box closed
        ("no box here", None),
    ],
)
def test_last_boxed(text, expected):
    assert math_answers.last_boxed(text) == expected


@pytest.mark.parametrize(
    ("written", "reference"),
    [
        (r"\dfrac{1}{2}", r"\frac{1}{2}"),
        (r"\tfrac12", r"\frac{1}{2}"),
        ("0.5", r"\frac{1}{2}"),
        ("1/2", r"\frac{1}{2}"),
        (".5", "0.5"),
        (r"-\frac{1}{2}", "-0.5"),
        (r"\left( 3, \frac{\pi}{2} \right)", r"(3,\frac{\pi}{2})"),
        (r"108^\circ", "108"),
        (r"108^{\circ}", r"108^\circ"),
        (r"\$18.90", "18.9"),
        (r"50\%", "50"),
        (r"\text{(C)}", "(C)"),
        (r"\textbf{(C)}", r"\text{(C)}"),
        ("x = 5", "5"),
        (r"10\!000", "10000"),
        (r"1\,000", "1,000"),
        ("5.", "5"),
        (r"\sqrt2", r"\sqrt{2}"),
        (r"\displaystyle\frac{14}{3}", r"\frac{14}{3}"),
        (r"4\text{ inches}", "4"),
        (r"5\mbox{ cm}^2", "5"),
    ],
)
def test_equivalent_spellings_are_accepted(written, reference):
    assert math_answers.equivalent(written, reference)
    assert math_answers.grade(f"so the answer is $\\boxed{{{written}}}$.", reference)


@pytest.mark.parametrize(
    ("written", "reference"),
    [
        (r"\frac{1}{3}", "0.33"),
        (r"\frac{14}{3}", r"\frac{3}{14}"),
        ("3", r"\frac{7}{2}"),
        ("(3,0)", r"(3,\frac{\pi}{2})"),
        ("-5", "5"),
        (r"\sqrt{3}", r"\sqrt{2}"),
        ("(B)", r"\text{(C)}"),
        ("108", "1080"),
        (r"\text{Evelyn}", r"\text{Eve}"),
    ],
)
def test_different_answers_are_refused(written, reference):
    assert not math_answers.equivalent(written, reference)
    assert not math_answers.grade(f"\\boxed{{{written}}}", reference)


def test_grade_uses_the_last_box_and_needs_one():
    assert math_answers.grade(r"try \boxed{3}, no: \boxed{\dfrac{14}{3}}", r"\frac{14}{3}")
    assert not math_answers.grade(r"\boxed{\frac{14}{3}} then \boxed{3}", r"\frac{14}{3}")
    assert not math_answers.grade("the answer is 14/3", r"\frac{14}{3}")  # no box, no answer
    assert not math_answers.grade(r"\boxed{}", "0")
    # A box in an invented next problem does not count.
    assert not math_answers.grade("I give up.\n\nProblem: what is 1+1?\nSolution: \\boxed{2}", "2")


def test_reference_from_a_full_solution_and_empty_reference():
    assert math_answers.reference_answer(r"so $\boxed{\frac{14}{3}}$") == r"\frac{14}{3}"
    with pytest.raises(TaskDataError, match="is empty"):
        math_answers.reference_answer("  ")


def test_eval_rows_from_math500_layout_with_level_slices():
    spec = TaskSpec(name="math", dataset=str(FIXTURE), eval_size=10)
    task = get_task(spec)
    rows = task.eval_rows(spec, 0)
    source = [json.loads(line) for line in FIXTURE.read_text().splitlines()]
    assert len(rows) == len(source) == 6
    for row, raw in zip(rows, source, strict=True):
        assert row["prompt"] == math_answers.prompt(raw["problem"])
        assert row["answer"] == raw["answer"]
        assert row["slice"] == f"level-{raw['level']}"
        # The reference solution's own box grades as right against the answer column.
        assert task.grade(raw["solution"], row["answer"]), raw["unique_id"]


def test_eval_rows_slice_by_subject_when_asked_or_when_there_is_no_level(tmp_path):
    rows = math_answers.eval_rows(TaskSpec(name="math", dataset=str(FIXTURE), columns={"slice": "subject"}), 0)
    assert {r["slice"] for r in rows} == {"Precalculus", "Algebra", "Number Theory", "Prealgebra"}
    no_level = tmp_path / "m.jsonl"
    no_level.write_text(json.dumps({"problem": "1+1?", "answer": "2", "subject": "Algebra"}) + "\n")
    assert math_answers.eval_rows(TaskSpec(name="math", dataset=str(no_level)), 0)[0]["slice"] == "Algebra"
    bare = tmp_path / "bare.jsonl"
    bare.write_text(json.dumps({"problem": "1+1?", "answer": "2"}) + "\n")
    assert "slice" not in math_answers.eval_rows(TaskSpec(name="math", dataset=str(bare)), 0)[0]


def test_answer_length():
    assert get_task("math").max_new_tokens(TaskSpec(name="math")) == 512


# The cases a public math-answer test suite found graded wrong: each pair is one answer spelled two ways.
@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("14{,}916", "14916"),  # LaTeX thousands separator
        ("$15\\mbox{ cm}^2$", "15"),  # a unit after the value, inside a $...$ reference
        ("0.06 \\text{ yuan}", "0.06"),
        ("\\textnormal{Evelyn}", "\\text{Evelyn}"),
        ("\\cfrac{1}{2}", "\\frac12"),
        ("6 \\text{ and } 8", "6,8"),
        ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}"),  # spacing after \\
        ("\\begin{pmatrix} -1 \\\\2 \\end{pmatrix}", "\\begin{pmatrix}-1\\\\ 2\\end{pmatrix}"),
    ],
)
def test_equivalent_spellings_grade_alike(left, right):
    assert math_answers.equivalent(left, right)
    assert math_answers.grade(f"so \\boxed{{{left}}}", right)


def test_the_fixes_do_not_merge_different_answers():
    assert not math_answers.equivalent("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix}12\\end{pmatrix}")
    assert not math_answers.equivalent("6 \\text{ and } 8", "68")
    assert not math_answers.equivalent("14{,}916", "14.916")
    assert math_answers.normalize("\\text{Evelyn}") == "Evelyn"  # a lone word is the answer, not a unit


@pytest.mark.parametrize(
    "written",
    ["9\\text{ cm}.", "9.\\text{ cm}", "9 \\text{ cm} .", "9\\mbox{ cm}^2.", "9."],
)
def test_a_unit_and_a_final_period_come_off_in_either_order(written):
    assert math_answers.grade(f"The side is \\boxed{{{written}}}", "9")


def test_a_comma_with_a_space_lists_numbers_and_one_without_groups_thousands():
    assert not math_answers.grade("\\boxed{2, 220}", "2220")  # two numbers, as Math-Verify reads it
    assert math_answers.grade("\\boxed{2,220}", "2220")
    assert math_answers.grade("\\boxed{2, 220}", "2 ,  220")
    assert math_answers.grade("\\boxed{1,2,3}", "1, 2, 3")
    assert math_answers.grade("\\boxed{(1, 2)}", "\\left( 1,2 \\right)")
    assert not math_answers.grade("\\boxed{1, 5}", "15")
    # extract_answer's output is normalised again by the grader: the list must stay a list.
    listed = math_answers.extract_answer("\\boxed{2, 220}")
    assert math_answers.normalize(listed) == listed and math_answers.value(listed) is None
