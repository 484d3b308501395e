"""The custom task: any dataset, a columns mapping and one of four graders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.tasks import custom, get_task
from agents.tasks.hub import TaskDataError
from bus.schemas import TaskSpec

FIXTURES = Path(__file__).parents[2] / "fixtures" / "tasks"


def _spec(dataset: Path, grader: str, **columns: str) -> TaskSpec:
    return TaskSpec(name="custom", dataset=str(dataset), columns=columns, grader=grader, eval_size=10)


def test_numeric_grader_on_gsm8k_solutions_with_subject_free_columns():
    spec = _spec(FIXTURES / "gsm8k" / "test.jsonl", "numeric", prompt="question", answer="answer")
    task = get_task(spec)
    rows = task.eval_rows(spec, 0)
    assert len(rows) == 10
    assert all(r["prompt"].endswith("?") and not r["prompt"].startswith("Question:") for r in rows)  # verbatim
    assert all(set(r) == {"prompt", "answer"} for r in rows)
    assert task.grade("so it is $1,000.", "1000")
    assert not task.grade("so it is 100", "1000")
    assert task.max_new_tokens(spec) == 256


def test_boxed_grader_with_a_slice_column():
    spec = _spec(FIXTURES / "math500" / "test.jsonl", "boxed", prompt="problem", answer="solution", slice="subject")
    task = get_task(spec)
    rows = task.eval_rows(spec, 0)
    assert rows[0]["answer"] == r"\left( 3, \frac{\pi}{2} \right)"  # the solution's last box
    assert {r["slice"] for r in rows} == {"Precalculus", "Algebra", "Number Theory", "Prealgebra"}
    assert task.grade(r"\boxed{\dfrac{14}{3}}", rows[1]["answer"])
    assert task.max_new_tokens(spec) == 512


def test_choice_grader_allows_ten_letters(tmp_path):
    data = tmp_path / "mc.csv"
    data.write_text("stem,key,topic\nPick J,J,letters\nPick B,(b),letters\n")
    spec = _spec(data, "choice", prompt="stem", answer="key", slice="topic")
    task = get_task(spec)
    rows = task.eval_rows(spec, 0)
    assert [r["answer"] for r in rows] == ["J", "B"]
    assert task.grade("Answer: j", "J")
    assert not task.grade("Answer: B or J", "J")
    assert task.max_new_tokens(spec) == 32


def test_choice_grader_rejects_a_reference_that_is_not_a_letter(tmp_path):
    data = tmp_path / "mc.jsonl"
    data.write_text(json.dumps({"q": "x", "a": "Paris"}) + "\n")
    with pytest.raises(TaskDataError, match=r"mc\.jsonl row 0: reference answer 'Paris' is not one of the letters"):
        custom.eval_rows(_spec(data, "choice", prompt="q", answer="a"), 0)


def test_exact_grader_reads_the_first_line(tmp_path):
    data = tmp_path / "caps.parquet"
    import pandas as pd

    pd.DataFrame({"input": ["Capital of France?"], "target": [" Paris "]}).to_parquet(data)
    spec = _spec(data, "exact", prompt="input", answer="target")
    task = get_task(spec)
    assert task.eval_rows(spec, 0) == [{"prompt": "Capital of France?", "answer": "Paris"}]
    assert task.grade("\n Paris \nMore text", "Paris")
    assert not task.grade("paris", "Paris")  # exact means exact
    assert not task.grade("Paris, France", "Paris")
    assert not task.grade("", "Paris")


def test_missing_mapped_column_names_it(tmp_path):
    spec = _spec(FIXTURES / "gsm8k" / "test.jsonl", "numeric", prompt="problem", answer="answer")
    with pytest.raises(TaskDataError, match="column 'problem' is missing; its columns are question, answer"):
        custom.eval_rows(spec, 0)


def test_custom_needs_its_spec():
    with pytest.raises(ValueError, match="task custom is defined by its spec"):
        get_task("custom")


def test_grader_files_follow_the_grader():
    numeric = get_task(_spec(Path("x.jsonl"), "numeric", prompt="p", answer="a")).grader_files
    boxed = get_task(_spec(Path("x.jsonl"), "boxed", prompt="p", answer="a")).grader_files
    assert any(f.endswith("gsm8k.py") for f in numeric) and not any(f.endswith("math_answers.py") for f in numeric)
    assert any(f.endswith("math_answers.py") for f in boxed)
    assert all(Path(f).is_file() for f in (*numeric, *boxed))
