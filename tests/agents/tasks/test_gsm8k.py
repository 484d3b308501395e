"""GSM8K: reference answers after ####, the extractor on messy completions, numeric grading, rows."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from agents.tasks import get_task, gsm8k
from agents.tasks.hub import TaskDataError
from bus.schemas import TaskSpec

FIXTURE = Path(__file__).parents[2] / "fixtures" / "tasks" / "gsm8k" / "test.jsonl"


def test_prompt_format():
    assert gsm8k.prompt(" How many? ") == "Question: How many?\nAnswer:"


@pytest.mark.parametrize(
    ("solution", "expected"),
    [
        ("She has 9 eggs.\n#### 18", "18"),
        ("#### 70,000", "70000"),
        ("#### -3", "-3"),
        ("#### 0.125", "0.125"),
        ("42", "42"),  # already a bare number (a stored held-out row)
    ],
)
def test_reference_answer(solution, expected):
    assert gsm8k.reference_answer(solution) == expected


def test_reference_without_a_number_is_a_data_error():
    with pytest.raises(TaskDataError, match="no number after ####"):
        gsm8k.reference_answer("#### eighteen")


@pytest.mark.parametrize(
    ("completion", "expected"),
    [
        (" 16 - 3 - 4 = 9 eggs, 9 * 2 = 18.\n#### 18", "18"),
        ("#### $1,000", "1000"),
        ("It costs 5 + 5 = 10 dollars. The answer is $1,000.", "1000"),  # "answer is" beats the last number
        ("The answer is 7 apples, 3 more than 4.", "7"),
        ("3 + 4 = 7", "7"),  # fallback: the last number
        ("The temperature is 4-7 = -3 degrees.", "-3"),
        ("So 9 eggs.\n\nQuestion: Tom has 5 cats and 2 dogs.\nAnswer: 7", "9"),  # the invented next question is cut
        ("#### 10 then more text 99", "10"),
        ("no number at all", None),
        ("", None),
    ],
)
def test_extract_answer_on_messy_completions(completion, expected):
    assert gsm8k.extract_answer(completion) == expected


@pytest.mark.parametrize(
    ("completion", "reference", "ok"),
    [
        ("#### 1,000", "1000", True),
        ("#### 1000.0", "1000", True),
        ("The answer is $1000.", "#### 1,000", True),
        ("#### 1000 dollars", "1000", True),
        ("#### -3", "-3", True),
        ("The answer is .5", "0.50", True),
        ("#### 100", "1000", False),
        ("#### 3", "-3", False),
        ("#### 1000.5", "1000", False),
        ("I am not sure", "1000", False),
        ("#### 18\nQuestion: next one\nAnswer: 1000", "1000", False),
    ],
)
def test_grade_both_sides(completion, reference, ok):
    assert gsm8k.grade(completion, reference) is ok


def test_eval_rows_from_a_local_jsonl_sample_deterministically():
    spec = TaskSpec(name="gsm8k", dataset=str(FIXTURE), eval_size=10)
    task = get_task(spec)
    rows = task.eval_rows(spec, 7)
    again = task.eval_rows(spec, 7)
    other = task.eval_rows(spec, 8)
    source = [json.loads(line) for line in FIXTURE.read_text().splitlines()]
    assert len(source) == 12 and len(rows) == 10
    assert rows == again
    assert [r["prompt"] for r in rows] != [r["prompt"] for r in other]
    by_prompt = {gsm8k.prompt(s["question"]): s for s in source}
    for row in rows:
        assert set(row) == {"prompt", "answer", "slice"}
        assert row["slice"] == gsm8k.steps_slice(by_prompt[row["prompt"]]["answer"])
        # Every reference is the grader's own reading of the solution, and the solution grades as right.
        assert row["answer"] == gsm8k.reference_answer(by_prompt[row["prompt"]]["answer"])
        assert task.grade(by_prompt[row["prompt"]]["answer"], row["answer"])
    assert "70000" in {gsm8k.reference_answer(s["answer"]) for s in source}


def test_eval_rows_from_a_hub_style_folder(tmp_path):
    folder = tmp_path / "gsm8k" / "main"
    folder.mkdir(parents=True)
    shutil.copy(FIXTURE, folder / "test.jsonl")
    (folder / "train.jsonl").write_text(json.dumps({"question": "q", "answer": "#### 1"}) + "\n")
    rows = gsm8k.eval_rows(TaskSpec(name="gsm8k", dataset=str(folder), eval_size=50), 0)
    assert len(rows) == 12  # the test split, not train


def test_eval_rows_name_the_row_with_a_bad_reference(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps({"question": "q", "answer": "#### 5"}) + "\n" + json.dumps({"question": "q2", "answer": "no"})
    )
    with pytest.raises(TaskDataError, match=r"bad.jsonl row 1: .*no number"):
        gsm8k.eval_rows(TaskSpec(name="gsm8k", dataset=str(bad)), 0)


def test_answer_length_and_override():
    assert get_task("gsm8k").max_new_tokens(TaskSpec(name="gsm8k")) == 256
    assert get_task("gsm8k").max_new_tokens(TaskSpec(name="gsm8k", max_new_tokens=1024)) == 1024


def test_a_sentence_final_fraction_is_the_answer():
    assert gsm8k.extract_answer("Each gets 3/4.") == "0.75"
    assert gsm8k.grade("The answer is 3/4.", "#### 0.75")


def test_rows_are_sliced_by_the_steps_of_their_solution():
    assert gsm8k.steps_slice("a\nb\n#### 3") == "steps-2"
    assert gsm8k.steps_slice("\n".join("step" for _ in range(7)) + "\n#### 3") == "steps-5+"
    assert gsm8k.steps_slice("42") is None  # a bare answer has no steps to count
