"""TaskSpec in intern.yaml: defaults unchanged, known names only, a custom task complete."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agents.tasks import TASKS, get_task, task_names
from bus.schemas import Goal, TaskSpec


def test_embedded_default_is_unchanged():
    spec = Goal().task
    assert (spec.name, spec.digits, spec.teacher_error, spec.eval_size) == ("addition", 2, 0.5, 500)
    assert spec.dataset is spec.config is spec.split is spec.columns is spec.grader is spec.max_new_tokens is None
    assert get_task(spec).max_new_tokens(spec) == 4  # digits + 2, as before


def test_registered_tasks_match_the_names_the_schema_accepts():
    assert set(task_names()) == set(TaskSpec.NAMES)
    assert set(TASKS) | {"custom"} == set(TaskSpec.NAMES)
    for name in TaskSpec.NAMES:
        if name != "custom":
            assert get_task(TaskSpec(name=name)).name == name


def test_unknown_task_name_lists_the_known_ones():
    with pytest.raises(ValidationError, match="task.name 'sorting' is not a known task; use one of addition, gsm8k"):
        TaskSpec(name="sorting")
    with pytest.raises(ValueError, match="unknown task 'sorting'; known tasks: addition, custom, gpqa, gsm8k, math"):
        get_task("sorting")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, r"task custom needs task\.dataset, task\.columns, task\.grader \(exact, numeric, choice or boxed\)"),
        ({"dataset": "d.jsonl", "grader": "exact"}, r"task custom needs task\.columns \["),
        ({"dataset": "d.jsonl", "columns": {"prompt": "q"}, "grader": "exact"}, r"needs task\.columns\.answer \["),
        ({"dataset": "d.jsonl", "columns": {"prompt": "q", "answer": "a"}}, r"needs task\.grader \("),
    ],
)
def test_custom_requires_dataset_columns_and_grader(fields, message):
    with pytest.raises(ValidationError, match=message):
        TaskSpec(name="custom", **fields)


def test_a_complete_custom_spec_is_valid():
    spec = TaskSpec(name="custom", dataset="d.jsonl", columns={"prompt": "q", "answer": "a"}, grader="numeric")
    assert spec.grader == "numeric"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"columns": {"question": "q"}}, "task.columns key 'question' is not one of prompt, answer, slice"),
        ({"columns": {"prompt": " "}}, "task.columns.prompt names no dataset column"),
        ({"grader": "fuzzy"}, "Input should be 'exact', 'numeric', 'choice' or 'boxed'"),
        ({"dataset": ""}, "must not be empty"),
        ({"max_new_tokens": 0}, "greater than or equal to 1"),
        ({"unknown": 1}, "Extra inputs are not permitted"),
    ],
)
def test_field_messages(fields, message):
    with pytest.raises(ValidationError, match=message):
        TaskSpec(name="gsm8k", **fields)


def test_a_goal_in_yaml_form_with_a_hub_task():
    goal = Goal.model_validate(
        {"task": {"name": "gpqa", "dataset": "data/gpqa.csv", "columns": {"slice": "Subdomain"}, "eval_size": 100}}
    )
    assert goal.task.columns == {"slice": "Subdomain"}
