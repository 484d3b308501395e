"""Task definitions shared by the curator (data), trainer (rewards) and critic (grading)."""

from __future__ import annotations

from collections.abc import Callable

from agents.tasks import addition
from agents.tasks.base import Task
from bus.schemas import TaskSpec


def _addition_rows(spec: TaskSpec, seed: int) -> list[dict]:
    problems = addition.sample_problems(spec.eval_size, spec.digits, seed=seed)
    return [{"prompt": p.prompt, "answer": p.answer, "slice": p.slice} for p in problems]


TASKS: dict[str, Task] = {
    addition.NAME: Task(
        name=addition.NAME,
        eval_rows=_addition_rows,
        extract=addition.extract_answer,
        grade=addition.grade,
        max_new_tokens=lambda spec: spec.digits + 2,
        grader_files=(addition.__file__,),
    ),
}


def get_task(spec: TaskSpec | str) -> Task:
    name = spec if isinstance(spec, str) else spec.name
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}")
    return TASKS[name]


def exact_match_reward(completions: list, answer: list[str], **_: object) -> list[float]:
    """1.0 when the completion's answer equals the reference exactly, else 0.0."""
    return [1.0 if addition.grade(_text(c), a) else 0.0 for c, a in zip(completions, answer, strict=True)]


def _text(completion: object) -> str:
    # TRL passes plain strings for text prompts and message lists for conversational ones.
    if isinstance(completion, list):
        return "".join(m.get("content", "") for m in completion)
    return str(completion)


REWARDS: dict[str, dict[str, Callable[..., list[float]]]] = {
    "addition": {"exact_match": exact_match_reward},
}


def reward_functions(task: str) -> dict[str, Callable[..., list[float]]]:
    if task not in REWARDS:
        raise KeyError(f"no reward functions for task {task!r}; known tasks: {sorted(REWARDS)}")
    return REWARDS[task]
