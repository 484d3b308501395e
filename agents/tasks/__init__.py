"""Task definitions shared by the curator (data), trainer (rewards) and critic (grading).

Tasks: `addition` (embedded), `gsm8k`, `gpqa`, `math` (MATH-500 style, boxed answers) and `custom`
(any dataset with a `columns` mapping and a named grader). `get_task(spec)` gives the Task;
`reward_functions(name)` gives the TRL reward functions, pure `(completions, **columns) -> list[float]`.
"""

from __future__ import annotations

from collections.abc import Callable

from agents.tasks import addition, choice, custom, gpqa, gsm8k, hub, math_answers, numbers, text
from agents.tasks.base import Task
from bus.schemas import TaskSpec


def _addition_rows(spec: TaskSpec, seed: int) -> list[dict]:
    problems = addition.sample_problems(spec.eval_size, spec.digits, seed=seed)
    return [{"prompt": p.prompt, "answer": p.answer, "slice": p.slice} for p in problems]


def _tokens(default: int) -> Callable[[TaskSpec], int]:
    """The task's answer length unless the spec overrides it (a reasoning model needs far more)."""
    return lambda spec: spec.max_new_tokens or default


def _custom_tokens(spec: TaskSpec) -> int:
    return spec.max_new_tokens or custom.grader_for(spec).max_new_tokens


# Loading code is part of the grader's identity too: it decides which reference each prompt gets.
_SHARED = (hub.__file__, text.__file__)

TASKS: dict[str, Task] = {
    addition.NAME: Task(
        name=addition.NAME,
        eval_rows=_addition_rows,
        extract=addition.extract_answer,
        grade=addition.grade,
        max_new_tokens=lambda spec: spec.max_new_tokens or spec.digits + 2,
        grader_files=(addition.__file__,),
    ),
    gsm8k.NAME: Task(
        name=gsm8k.NAME,
        eval_rows=gsm8k.eval_rows,
        extract=gsm8k.extract_answer,
        grade=gsm8k.grade,
        max_new_tokens=_tokens(gsm8k.MAX_NEW_TOKENS),
        grader_files=(gsm8k.__file__, numbers.__file__, *_SHARED),
    ),
    gpqa.NAME: Task(
        name=gpqa.NAME,
        eval_rows=gpqa.eval_rows,
        extract=gpqa.extract_answer,
        grade=gpqa.grade,
        max_new_tokens=_tokens(gpqa.MAX_NEW_TOKENS),
        grader_files=(gpqa.__file__, choice.__file__, *_SHARED),
    ),
    math_answers.NAME: Task(
        name=math_answers.NAME,
        eval_rows=math_answers.eval_rows,
        extract=math_answers.extract_answer,
        grade=math_answers.grade,
        max_new_tokens=_tokens(math_answers.MAX_NEW_TOKENS),
        grader_files=(math_answers.__file__, numbers.__file__, *_SHARED),
    ),
}


def _custom_task(spec: TaskSpec) -> Task:
    grader = custom.grader_for(spec)
    return Task(
        name=custom.NAME,
        eval_rows=custom.eval_rows,
        extract=grader.extract,
        grade=grader.grade,
        max_new_tokens=_custom_tokens,
        grader_files=tuple(dict.fromkeys((*grader.files, *_SHARED))),
    )


def get_task(spec: TaskSpec | str) -> Task:
    """The task a spec names; `custom` needs the spec itself, since its grader is chosen there."""
    name = spec if isinstance(spec, str) else spec.name
    if name == custom.NAME:
        if isinstance(spec, str):
            raise ValueError("task custom is defined by its spec (dataset, columns, grader); pass the TaskSpec")
        return _custom_task(spec)
    if name not in TASKS:
        known = sorted([*TASKS, custom.NAME])
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(known)}")
    return TASKS[name]


def task_names() -> list[str]:
    return [*TASKS, custom.NAME]


# --- rewards ---------------------------------------------------------------------------------


class RewardError(ValueError):
    """Grading a completion raised: the data or the grader is broken, and training must not go on silently."""


def _text(completion: object) -> str:
    return text.completion_text(completion)


def exact_match_reward(completions: list, answer: list[str], **_: object) -> list[float]:
    """1.0 when the completion's answer equals the reference exactly, else 0.0."""
    return [1.0 if addition.grade(_text(c), a) else 0.0 for c, a in zip(completions, answer, strict=True)]


def correctness_reward(task: str, grade: Callable[[str, str], bool]) -> Callable[..., list[float]]:
    """A reward of 1.0 for a completion `grade` accepts against the row's `answer`, else 0.0.

    A grader that raises (a malformed reference, a bug) is re-raised with the completion that caused
    it: a reward that swallowed it would train on silent zeros.
    """

    def reward(completions: list, answer: list[str], **_: object) -> list[float]:
        scores = []
        for completion, reference in zip(completions, answer, strict=True):
            written = _text(completion)
            try:
                scores.append(1.0 if grade(written, reference) else 0.0)
            except Exception as exc:
                raise RewardError(
                    f"{task} reward could not grade completion {written[:200]!r} against answer {reference!r}: {exc}"
                ) from exc
        return scores

    # TRL logs each reward as rewards/<__name__>/mean, so the name says which task and grader it is.
    reward.__name__ = reward.__qualname__ = f"{task}_correct"
    return reward


REWARDS: dict[str, dict[str, Callable[..., list[float]]]] = {
    "addition": {"exact_match": exact_match_reward},
    gsm8k.NAME: {"correct": correctness_reward(gsm8k.NAME, gsm8k.grade)},
    gpqa.NAME: {"correct": correctness_reward(gpqa.NAME, gpqa.grade)},
    math_answers.NAME: {"correct": correctness_reward(math_answers.NAME, math_answers.grade)},
    # One per grader: the trainer picks the one the spec names (see `correctness_reward_name`).
    custom.NAME: {name: correctness_reward(f"custom_{name}", g.grade) for name, g in custom.GRADERS.items()},
}


def reward_functions(task: str) -> dict[str, Callable[..., list[float]]]:
    if task not in REWARDS:
        raise KeyError(f"no reward functions for task {task!r}; known tasks: {sorted(REWARDS)}")
    return REWARDS[task]


def correctness_reward_name(spec: TaskSpec) -> str:
    """The key in REWARDS[spec.name] of the task's correctness reward."""
    if spec.name == "addition":
        return "exact_match"
    if spec.name == custom.NAME:
        custom.grader_for(spec)  # a clear error when the spec names no grader
        return str(spec.grader)
    return "correct"
