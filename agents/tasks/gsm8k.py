"""GSM8K (grade-school maths word problems): the number after `####` is the answer.

Reference solutions end in `#### 72`; models are prompted with `Question: ...\nAnswer:` and graded
on the number they commit to, compared by value so `$1,000.00` equals `1000`. Rows are sliced by the
number of steps of their reference solution (one line each before `####`): `steps-2`, ..., `steps-5+`,
so the critic can say which length of reasoning is weak and the curator can aim data at it.
"""

from __future__ import annotations

import re

from agents.tasks.hub import DataSource, TaskDataError, load_source, sample_rows, slice_name, source_for
from agents.tasks.numbers import find_numbers, format_number, parse_number
from agents.tasks.text import until
from bus.schemas import TaskSpec

NAME = "gsm8k"
DEFAULT_SOURCE = DataSource("openai/gsm8k", "main", "test", {"prompt": "question", "answer": "answer"})
# GSM8K solutions run to 100-200 tokens with a real tokenizer; 256 leaves room to finish the
# chain of thought and write the `####` line without paying for long rambles at evaluation.
MAX_NEW_TOKENS = 256

MAX_STEP_SLICE = 5  # solutions of 5 or more steps share one slice: few rows are longer

_HASHES = re.compile(r"####")
_ANSWER_IS = re.compile(r"answer\s+is", re.IGNORECASE)


def prompt(question: str) -> str:
    return f"Question: {question.strip()}\nAnswer:"


def reference_answer(solution: str) -> str:
    """The normalised number after `####` in a reference solution; a bare number is accepted as is."""
    text = str(solution)
    if "####" in text:
        text = text.rsplit("####", 1)[1]
    value = parse_number(text)
    if value is None:
        raise TaskDataError(f"GSM8K reference {str(solution)[-60:]!r} has no number after ####")
    return format_number(value)


def solution_steps(solution: str) -> int | None:
    """Steps of a worked GSM8K solution: its non-empty lines before `####`; None for a bare answer."""
    text = str(solution)
    if "####" not in text:
        return None
    return sum(1 for line in text.rsplit("####", 1)[0].splitlines() if line.strip()) or None


def steps_slice(solution: str) -> str | None:
    """`steps-3` for a three-line solution, `steps-5+` from MAX_STEP_SLICE on; None without a worked solution."""
    steps = solution_steps(solution)
    if steps is None:
        return None
    return f"steps-{MAX_STEP_SLICE}+" if steps >= MAX_STEP_SLICE else f"steps-{steps}"


def extract_answer(completion: str) -> str | None:
    """The number after the last `####`, else after the last "answer is", else the last number."""
    text = until(completion, "Question:")
    for pattern in (_HASHES, _ANSWER_IS):
        marks = list(pattern.finditer(text))
        if marks:
            after = find_numbers(text[marks[-1].end() :])
            if after:
                return format_number(after[0])
    numbers = find_numbers(text)
    return format_number(numbers[-1]) if numbers else None


def grade(completion: str, answer: str) -> bool:
    """The completion's number equals the reference by value; a reference with no number is a data error."""
    got = extract_answer(completion)
    reference = parse_number(reference_answer(answer))
    return got is not None and parse_number(got) == reference


def eval_rows(spec: TaskSpec, seed: int) -> list[dict]:
    source = source_for(spec, DEFAULT_SOURCE)
    columns = source.columns
    out = []
    for index, row in sample_rows(load_source(source), spec.eval_size, seed):
        try:
            item = {"prompt": prompt(str(row[columns["prompt"]])), "answer": reference_answer(row[columns["answer"]])}
        except TaskDataError as exc:
            raise TaskDataError(f"{source.dataset} row {index}: {exc}") from None
        if "slice" in columns:
            item["slice"] = slice_name(row, columns["slice"])
        elif (steps := steps_slice(row[columns["answer"]])) is not None:
            item["slice"] = steps
        out.append(item)
    return out
