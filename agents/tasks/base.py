"""What every task provides: held-out rows, an answer extractor and a grader.

Tasks are shared by the curator (data checks), the trainer (rewards) and the critic (grading),
so they live outside the four agent folders. A task is plain data plus pure functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bus.schemas import TaskSpec


@dataclass(frozen=True)
class Task:
    name: str
    # (spec, seed) -> rows with at least `prompt` and `answer`, and `slice` where the task defines slices.
    eval_rows: Callable[[TaskSpec, int], list[dict]]
    # completion -> the answer it commits to, or None when there is none to read.
    extract: Callable[[str], str | None]
    # (completion, reference answer) -> correct or not.
    grade: Callable[[str, str], bool]
    # Enough new tokens for a complete answer under greedy decoding.
    max_new_tokens: Callable[[TaskSpec], int]
    # Source files whose hash stands for "the grader" in integrity checks.
    grader_files: tuple[str, ...] = ()
    # Where an answer ends when a base model continues the task's prompt as plain text (it has no turn to end):
    # generation stops at the first of these. Chat models stop at their end-of-turn token instead.
    stop: tuple[str, ...] = ()
