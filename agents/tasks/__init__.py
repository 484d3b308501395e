"""Task definitions shared by the curator (data), trainer (rewards) and critic (grading).

Tasks: `addition` (embedded), `gsm8k`, `gpqa`, `math` (MATH-500 style, boxed answers) and `custom`
(any dataset with a `columns` mapping and a named grader). `get_task(spec)` gives the Task;
`reward_functions(name)` gives the TRL reward functions (agents/tasks/rewards.py), pure
`(completions, **columns) -> list[float]`.
"""

from __future__ import annotations

from collections.abc import Callable

from agents.tasks import addition, choice, custom, gpqa, gsm8k, hub, math_answers, numbers, rewards, text
from agents.tasks.base import Task
from bus.schemas import TaskSpec


def _addition_rows(spec: TaskSpec, seed: int) -> list[dict]:
    problems = addition.sample_problems(spec.eval_size, spec.digits, seed=seed)
    return [{"prompt": p.prompt, "answer": p.answer, "slice": p.slice} for p in problems]


# New tokens for an answer when task.thinking is on: a reasoning trace runs to thousands of tokens, and cut
# short its "answer" is the last number of an unfinished thought (Qwen3's card suggests up to 32k; 4096
# is a CPU- and eval-friendly floor).
THINKING_TOKENS = 4096


def _tokens(default: int) -> Callable[[TaskSpec], int]:
    """The task's answer length unless the spec overrides it (a reasoning model needs far more)."""
    return lambda spec: spec.max_new_tokens or (max(default, THINKING_TOKENS) if spec.thinking else default)


def _custom_tokens(spec: TaskSpec) -> int:
    default = custom.grader_for(spec).max_new_tokens
    return spec.max_new_tokens or (max(default, THINKING_TOKENS) if spec.thinking else default)


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
        # Not in gsm8k.py, a grader file: where generation stops is not part of the grader's hash.
        stop=("\n\n", "Question:"),  # a base model that answered goes on to a blank line or a new question
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


# --- rewards (agents/tasks/rewards.py; these names stay importable from here) ---------------------

REWARDS = rewards.TASK_REWARDS
RewardError = rewards.RewardError
exact_match_reward = rewards.exact_match_reward
correctness_reward = rewards.correctness_reward
reward_functions = rewards.reward_functions


def correctness_reward_name(spec: TaskSpec) -> str:
    """The key in REWARDS[spec.name] of the task's correctness reward."""
    if spec.name == "addition":
        return "exact_match"
    if spec.name == custom.NAME:
        custom.grader_for(spec)  # a clear error when the spec names no grader
        return str(spec.grader)
    return "correct"


def prompt_template(spec: TaskSpec) -> tuple[str, str]:
    """The fixed text the task's prompt puts before and after the problem as written ("", "" when verbatim).

    The contamination check compares problems, not prompts: a shared template suffix such as MATH's
    "Give the final answer in \\boxed{}. Solution:" would otherwise make 13-word matches between
    unrelated problems that end alike ("... Express your answer as a common fraction.").
    """
    marker = "\x00"
    written = {
        gsm8k.NAME: gsm8k.prompt(marker),
        math_answers.NAME: math_answers.prompt(marker),
        gpqa.NAME: gpqa.prompt(marker, []),
    }.get(spec.name, marker)
    before, after = written.split(marker)
    return before, after
