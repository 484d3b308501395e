"""GSM8K (grade-school maths word problems): the number after `####` is the answer.

Reference solutions end in `#### 72`; models are prompted with `Question: ...\nAnswer:` and graded
on the number they commit to, compared by value so `$1,000.00` equals `1000`.
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
        out.append(item)
    return out
