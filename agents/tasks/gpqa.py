"""GPQA: graduate-level multiple choice (Idavidrein/gpqa, gated on the Hub).

The dataset stores the correct answer and three incorrect ones in separate columns, so the order
of the options is ours to choose. It is shuffled per row with `random.Random(f"{seed}-{row_index}")`:
reproducible from the seed alone, independent of which other rows were sampled, and with the
correct answer equally likely under every letter (a fixed position would be learnable).
"""

from __future__ import annotations

import random

from agents.tasks.choice import LETTERS, extract_choice, grade_choice
from agents.tasks.hub import DataSource, TaskDataError, load_source, sample_rows, slice_name, source_for
from bus.schemas import TaskSpec

NAME = "gpqa"
DEFAULT_SOURCE = DataSource(
    "Idavidrein/gpqa", "gpqa_diamond", "train", {"prompt": "Question", "answer": "Correct Answer"}
)
INCORRECT = ("Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3")
DOMAIN = "High-level domain"
# The prompt ends in "Answer:", so the letter is the first thing a model writes; 32 tokens leave
# room for "The answer is (C)" or "C) <the option's text>" and stop long explanations from
# costing evaluation time. Chain-of-thought prompting would need far more and is not used here.
MAX_NEW_TOKENS = 32


def shuffled_choices(correct: str, incorrect: list[str], seed: int, row_index: int) -> tuple[list[str], str]:
    """The four options in a reproducible order and the letter of the correct one."""
    options = [correct.strip(), *(text.strip() for text in incorrect)]
    order = list(range(len(options)))
    random.Random(f"{seed}-{row_index}").shuffle(order)
    return [options[i] for i in order], LETTERS[order.index(0)]


def prompt(question: str, choices: list[str]) -> str:
    lines = [f"Question: {question.strip()}", *(f"{LETTERS[i]}) {text}" for i, text in enumerate(choices)), "Answer:"]
    return "\n".join(lines)


def extract_answer(completion: str) -> str | None:
    return extract_choice(completion, LETTERS)


def grade(completion: str, answer: str) -> bool:
    return grade_choice(completion, answer, LETTERS)


def eval_rows(spec: TaskSpec, seed: int) -> list[dict]:
    source = source_for(spec, DEFAULT_SOURCE)
    columns = source.columns
    slice_column = columns.get("slice", DOMAIN)
    rows = load_source(source, extra=INCORRECT, optional=(slice_column,))
    out = []
    for index, row in sample_rows(rows, spec.eval_size, seed):
        # CSV readers type an all-number column as numbers; options are text whatever they look like.
        texts = ["" if t is None else str(t) for t in (row[columns["answer"]], *(row[c] for c in INCORRECT))]
        if not all(t.strip() for t in texts):
            empty = [columns["answer"], *INCORRECT][[bool(t.strip()) for t in texts].index(False)]
            raise TaskDataError(f"{source.dataset} row {index}: column {empty!r} is empty")
        choices, letter = shuffled_choices(texts[0], texts[1:], seed, index)
        item = {"prompt": prompt(str(row[columns["prompt"]]), choices), "answer": letter}
        if slice_column in row:
            item["slice"] = slice_name(row, slice_column)
        out.append(item)
    return out
