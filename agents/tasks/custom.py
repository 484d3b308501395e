"""The custom task: any local or Hub dataset, a `columns` mapping and one of four graders.

The prompt column is used verbatim (the dataset owns its format); the grader decides how an answer
is read and compared:
- exact: the completion's first non-empty line equals the reference, both stripped;
- numeric: GSM8K reading (`####`, then "answer is", then the last number), compared by value;
- choice: a letter A-J as in GPQA, two letters named as final read as no answer;
- boxed: the last `\\boxed{...}`, compared as a MATH answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agents.tasks import choice, gsm8k, math_answers, numbers, text
from agents.tasks.hub import DataSource, TaskDataError, load_source, sample_rows, slice_name, source_for
from bus.schemas import TaskSpec

NAME = "custom"


def extract_exact(completion: str) -> str | None:
    for line in completion.splitlines():
        if line.strip():
            return line.strip()
    return None


def exact_reference(answer: str) -> str:
    reference = str(answer).strip()
    if not reference:
        raise TaskDataError("reference answer is empty")
    return reference


def grade_exact(completion: str, answer: str) -> bool:
    return extract_exact(completion) == exact_reference(answer)


def extract_wide_choice(completion: str) -> str | None:
    return choice.extract_choice(completion, choice.WIDE_LETTERS)


def grade_wide_choice(completion: str, answer: str) -> bool:
    return choice.grade_choice(completion, answer, choice.WIDE_LETTERS)


@dataclass(frozen=True)
class Grader:
    extract: Callable[[str], str | None]
    grade: Callable[[str, str], bool]
    reference: Callable[[str], str]  # the dataset's answer cell -> the reference stored in eval rows
    # Short answers need few tokens; numeric and boxed answers come after working, as in GSM8K and MATH.
    max_new_tokens: int
    files: tuple[str, ...]


GRADERS: dict[str, Grader] = {
    "exact": Grader(extract_exact, grade_exact, exact_reference, 32, (__file__, text.__file__)),
    "numeric": Grader(
        gsm8k.extract_answer,
        gsm8k.grade,
        gsm8k.reference_answer,
        gsm8k.MAX_NEW_TOKENS,
        (__file__, gsm8k.__file__, numbers.__file__, text.__file__),
    ),
    "choice": Grader(
        extract_wide_choice,
        grade_wide_choice,
        lambda a: choice.reference_letter(a, choice.WIDE_LETTERS),
        32,
        (__file__, choice.__file__, text.__file__),
    ),
    "boxed": Grader(
        math_answers.extract_answer,
        math_answers.grade,
        math_answers.reference_answer,
        math_answers.MAX_NEW_TOKENS,
        (__file__, math_answers.__file__, numbers.__file__, text.__file__),
    ),
}


def grader_for(spec: TaskSpec) -> Grader:
    if spec.grader not in GRADERS:
        raise ValueError(f"task.grader {spec.grader!r} is not one of {', '.join(GRADERS)}")
    return GRADERS[spec.grader]


def eval_rows(spec: TaskSpec, seed: int) -> list[dict]:
    if not spec.dataset or not spec.columns:
        raise ValueError("the custom task needs task.dataset and task.columns (prompt, answer)")
    grader = grader_for(spec)
    # No defaults: every column of a custom dataset is named in the spec.
    source = source_for(spec, DataSource(spec.dataset, None, "train", {}))
    columns = source.columns
    out = []
    for index, row in sample_rows(load_source(source), spec.eval_size, seed):
        try:
            item = {"prompt": str(row[columns["prompt"]]), "answer": grader.reference(row[columns["answer"]])}
        except TaskDataError as exc:
            raise TaskDataError(f"{source.dataset} row {index}: {exc}") from None
        if "slice" in columns:
            item["slice"] = slice_name(row, columns["slice"])
        out.append(item)
    return out
