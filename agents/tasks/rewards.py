"""GRPO reward functions: pure `(completions, **columns) -> list[float]`, chosen by name.

TRL calls each reward with the completions plus every dataset column as a keyword (`answer`,
`prompts`, `completion_ids`, `trainer_state`, ...), so each takes what it needs and ignores the rest.
`GENERIC` rewards work for every task; `TASK_REWARDS[task]` adds the task's own (its correctness
verifier, partial credit where the task defines one, the format-gated variant). A reward that needs
a number from the training config (the soft overlong punishment) names it as a keyword-only
parameter listed in `CONFIG_PARAMETERS`; the trainer binds it from the TrainingConfig.

A completion a reward cannot score (a malformed reference, a grader bug) raises RewardError naming
that completion: a reward that swallowed it would train on silent zeros.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from fractions import Fraction

from agents.tasks import addition, choice, custom, gpqa, gsm8k, math_answers, numbers, text

Reward = Callable[..., list[float]]
# Keyword-only parameters a reward may declare; the trainer fills them from the TrainingConfig.
CONFIG_PARAMETERS = ("max_completion_length", "overlong_buffer")


class RewardError(ValueError):
    """Grading a completion raised: the data or the grader is broken, and training must not go on silently."""


def _score_each(
    label: str, completions: Sequence, answers: Sequence, score: Callable[[str, str], float]
) -> list[float]:
    out = []
    for completion, reference in zip(completions, answers, strict=True):
        written = text.completion_text(completion)
        try:
            out.append(float(score(written, reference)))
        except Exception as exc:
            raise RewardError(
                f"{label} reward could not grade completion {written[:200]!r} against answer {reference!r}: {exc}"
            ) from exc
    return out


def _named(reward: Reward, name: str) -> Reward:
    # TRL logs each reward as rewards/<__name__>/mean: the name says which task and grader it is.
    reward.__name__ = reward.__qualname__ = name
    return reward


def correctness_reward(task: str, grade: Callable[[str, str], bool]) -> Reward:
    """1.0 for a completion `grade` accepts against the row's `answer`, else 0.0."""

    def reward(completions: list, answer: list[str], **_: object) -> list[float]:
        return _score_each(task, completions, answer, lambda c, a: 1.0 if grade(c, a) else 0.0)

    return _named(reward, f"{task}_correct")


# --- generic rewards ------------------------------------------------------------------------------


def exact_match_reward(completions: list, answer: list[str], **_: object) -> list[float]:
    """The embedded task's verifier: the completion's leading digits equal the reference, width included."""
    return _score_each("exact_match", completions, answer, lambda c, a: 1.0 if addition.grade(c, a) else 0.0)


def exact_reward(completions: list, answer: list[str], **_: object) -> list[float]:
    """1.0 when the completion's first non-empty line equals the reference, both stripped."""
    return _score_each("exact", completions, answer, lambda c, a: 1.0 if custom.grade_exact(c, a) else 0.0)


# A reference like "12 apples" or "3.5 km": one number, then a unit in words.
_UNIT_AFTER = re.compile(r"\s*[A-Za-z][A-Za-z .]*")


def _reference_value(reference: str) -> Fraction:
    value = numbers.parse_number(reference)
    if value is None:
        found = numbers.find_numbers(reference)
        head = reference.split(maxsplit=1)
        if len(found) == 1 and len(head) == 2 and _UNIT_AFTER.fullmatch(head[1]):
            value = numbers.parse_number(head[0])
    if value is None:
        raise ValueError(f"reference {reference!r} is not a number")
    return value


def _numeric(completion: str, reference: str) -> float:
    value = _reference_value(str(reference))
    got = gsm8k.extract_answer(completion)
    return 1.0 if got is not None and numbers.parse_number(got) == value else 0.0


def numeric_reward(completions: list, answer: list[str], **_: object) -> list[float]:
    """1.0 when the number the completion commits to (after `####`, "answer is", else the last one)
    equals the reference by value: `1,000`, `1000.0`, `$1000` and `1000 dollars` are all 1000."""
    return _score_each("numeric", completions, answer, _numeric)


def choice_reward(completions: list, answer: list[str], **_: object) -> list[float]:
    """1.0 when the completion commits to the reference letter (A-J); naming two letters scores 0."""
    return _score_each(
        "choice", completions, answer, lambda c, a: 1.0 if choice.grade_choice(c, a, choice.WIDE_LETTERS) else 0.0
    )


# One reasoning block, then one answer block, nothing else around them (whitespace aside).
_THINK_ANSWER = re.compile(
    r"\s*<think>(?:(?!<think>).)*?</think>\s*<answer>((?:(?!<answer>).)*?)</answer>\s*", re.DOTALL
)


def tagged_answer(completion: str) -> str | None:
    """The text inside `<answer>` when the completion is exactly `<think>...</think><answer>...</answer>`."""
    match = _THINK_ANSWER.fullmatch(completion)
    return match.group(1).strip() if match else None


def format_reward(completions: list, **_: object) -> list[float]:
    """1.0 when the completion is `<think>...</think><answer>...</answer>` and nothing else, else 0.0."""
    return [0.0 if tagged_answer(text.completion_text(c)) is None else 1.0 for c in completions]


def gated_reward(task: str, grade: Callable[[str, str], bool]) -> Reward:
    """Correctness gated on format: format (0 or 1) times correctness of the `<answer>` content.

    A product, not a sum: a sum pays for the format alone, and the model learns the tags while
    accuracy stays flat (the facts file's "format-reward saturation").
    """

    def score(completion: str, reference: str) -> float:
        inside = tagged_answer(completion)
        return 0.0 if inside is None else (1.0 if grade(inside, reference) else 0.0)

    def reward(completions: list, answer: list[str], **_: object) -> list[float]:
        return _score_each(f"{task} gated", completions, answer, score)

    # No "format" in the name: the critic reads rewards/*format*/mean as a format-only reward.
    return _named(reward, f"{task}_gated_correct")


def soft_overlong_reward(
    completions: list, completion_ids: list[list[int]], *, max_completion_length: int, overlong_buffer: int, **_: object
) -> list[float]:
    """DAPO's soft overlong punishment (arXiv 2503.14476, eq. 13), TRL's `get_soft_overlong_punishment`.

    0 up to `max_completion_length - overlong_buffer` tokens, then falling linearly to -1 at
    `max_completion_length`, and -1 beyond. It only punishes length; it never pays for brevity.
    """
    free = max_completion_length - overlong_buffer
    out = []
    for ids in completion_ids:
        length = len(ids)
        if length <= free:
            out.append(0.0)
        elif length <= max_completion_length:
            out.append((free - length) / overlong_buffer)
        else:
            out.append(-1.0)
    return out


# --- per-task rewards -----------------------------------------------------------------------------


def _digits(completion: str, reference: str) -> float:
    got = addition.extract_answer(completion) or ""
    right = sum(1 for a, b in zip(got, reference, strict=False) if a == b)
    # Extra or missing digits count as wrong places, so only the exact answer reaches 1.0.
    return right / max(len(got), len(reference))


def digit_partial_reward(completions: list, answer: list[str], **_: object) -> list[float]:
    """Addition's partial credit: the share of digit places right (`052` for `062` scores 2/3)."""
    return _score_each("addition digits", completions, answer, _digits)


GENERIC: dict[str, Reward] = {
    "exact": exact_reward,
    "numeric": numeric_reward,
    "choice": choice_reward,
    "format": format_reward,
    "soft_overlong": soft_overlong_reward,
}


def _with_gated(task_rewards: dict[str, tuple[str, Callable[[str, str], bool]] | Reward]) -> dict[str, Reward]:
    """Each (label, grade) entry becomes its correctness reward plus `<name>_gated`."""
    out: dict[str, Reward] = {}
    for name, entry in task_rewards.items():
        if isinstance(entry, tuple):
            label, grade = entry
            out[name] = correctness_reward(label, grade)
            out[f"{name}_gated"] = gated_reward(label, grade)
        else:
            out[name] = entry
    return out


TASK_REWARDS: dict[str, dict[str, Reward]] = {
    addition.NAME: {
        "exact_match": exact_match_reward,
        "exact_match_gated": gated_reward("addition", addition.grade),
        "digits": digit_partial_reward,
    },
    gsm8k.NAME: _with_gated({"correct": (gsm8k.NAME, gsm8k.grade)}),
    gpqa.NAME: _with_gated({"correct": (gpqa.NAME, gpqa.grade)}),
    math_answers.NAME: _with_gated({"correct": (math_answers.NAME, math_answers.grade)}),
    # One per grader: the trainer picks the one the spec names (agents.tasks.correctness_reward_name).
    custom.NAME: _with_gated({name: (f"custom_{name}", g.grade) for name, g in custom.GRADERS.items()}),
}


def reward_functions(task: str) -> dict[str, Reward]:
    """Every reward a task's config may name: the task's own first, then the generic ones it does not redefine."""
    if task not in TASK_REWARDS:
        raise KeyError(f"no reward functions for task {task!r}; known tasks: {sorted(TASK_REWARDS)}")
    own = TASK_REWARDS[task]
    return {**own, **{name: reward for name, reward in GENERIC.items() if name not in own}}


def config_parameters(reward: Reward) -> list[str]:
    """The TrainingConfig values `reward` needs bound before TRL can call it."""
    import inspect

    params = inspect.signature(reward).parameters
    return [name for name in CONFIG_PARAMETERS if name in params]
