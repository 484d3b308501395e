"""Checks on a TrainingConfig that the schema alone cannot make, run before anything starts.

bus/schemas.py checks types, ranges and unknown keys. This adds what depends on the task (reward
names), on combinations of fields, and on the installed TRL: a GRPO knob or loss the installed
TRL does not have is refused with the TRL version that introduced it, instead of failing (or being
silently ignored) deep inside a training process. The trainer runs it when it writes a config and
the training process runs it again, since a human may have edited `runs/<id>/config.yaml` between.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from bus.schemas import TrainingConfig

# First TRL version with each GRPOConfig knob (post-training-facts.md). Where the facts file only
# says "default since" or groups values, the later version is used: refusing a knob an older TRL
# might have had costs an upgrade, accepting one it lacks would break the run.
KNOB_SINCE: dict[str, str] = {
    "epsilon_high": "0.16",
    "num_iterations": "0.16",
    "loss_type": "0.17",
    "mask_truncated_completions": "0.17",
    "delta": "0.18",
    "importance_sampling_level": "0.20",
    "top_entropy_quantile": "0.20",
}
LOSS_SINCE: dict[str, str] = {
    "grpo": "0.17",
    "bnpo": "0.17",
    "dr_grpo": "0.17",
    "dapo": "0.22",
    "cispo": "0.26",
    "sapo": "0.26",
    "luspo": "1.0",
    "vespo": "1.0",
}
# scale_rewards was a bool before 0.22 (True = "group", False = "none"); "batch" arrived in 0.22.
SCALE_REWARDS_BATCH_SINCE = "0.22"
# What TRL did before a knob existed: a config that asks for exactly that runs on the older TRL.
BEFORE_KNOB: dict[str, Any] = {
    "epsilon_high": None,
    "num_iterations": 1,
    "loss_type": "grpo",
    "mask_truncated_completions": False,
    "delta": None,
    "importance_sampling_level": "token",
    "top_entropy_quantile": 1.0,
}
Problem = tuple[str, str]  # (field, message)


def version_tuple(version: str) -> tuple[int, ...]:
    """`1.16.0.dev0` -> (1, 16, 0): enough to order TRL releases."""
    parts = []
    for piece in version.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits or not piece[0].isdigit():
            break
        parts.append(int(digits))
    return tuple(parts)


def installed_trl_version() -> str:
    """The installed TRL's version, read from its metadata (importing trl would pull in torch)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("trl")
    except PackageNotFoundError:
        return "0"


def installed_grpo_fields() -> set[str]:
    """GRPOConfig's field names in the installed TRL (imports trl: call it in the training process)."""
    import dataclasses

    from trl import GRPOConfig

    return {f.name for f in dataclasses.fields(GRPOConfig)}


def _has(version: str, since: str) -> bool:
    return version_tuple(version) >= version_tuple(since)


def trl_problems(cfg: TrainingConfig, trl_version: str, grpo_fields: set[str] | None = None) -> list[Problem]:
    """GRPO settings the given TRL cannot run; `grpo_fields` (when known) is that TRL's GRPOConfig fields."""
    if cfg.method != "grpo":
        return []
    problems = []
    for knob, since in KNOB_SINCE.items():
        value = getattr(cfg, knob)
        missing = not _has(trl_version, since) or (grpo_fields is not None and knob not in grpo_fields)
        if knob != "loss_type" and missing and value != BEFORE_KNOB[knob]:
            problems.append((knob, f"{knob}={value!r} needs TRL >= {since}; the installed TRL is {trl_version}"))
    # Before loss_type existed the loss was grpo's, so only another loss needs a newer TRL.
    loss_since = LOSS_SINCE[cfg.loss_type]
    if cfg.loss_type != BEFORE_KNOB["loss_type"] and not _has(trl_version, loss_since):
        problems.append(
            ("loss_type", f"loss_type {cfg.loss_type!r} needs TRL >= {loss_since}; the installed TRL is {trl_version}")
        )
    if cfg.scale_rewards == "batch" and not _has(trl_version, SCALE_REWARDS_BATCH_SINCE):
        problems.append(
            (
                "scale_rewards",
                f"scale_rewards 'batch' needs TRL >= {SCALE_REWARDS_BATCH_SINCE}; the installed TRL is {trl_version}",
            )
        )
    return problems


def field_problems(cfg: TrainingConfig) -> list[Problem]:
    """Combinations of fields that TRL would refuse late, or that cannot mean what they say."""
    problems: list[Problem] = []
    if cfg.warmup_steps > cfg.max_steps:
        problems.append(("warmup_steps", f"warmup_steps {cfg.warmup_steps} is more than max_steps {cfg.max_steps}"))
    if cfg.method == "sft":
        if cfg.reward_funcs:
            problems.append(("reward_funcs", "an sft run uses no rewards; leave reward_funcs out or use method grpo"))
        return problems
    if not cfg.reward_funcs:
        problems.append(("reward_funcs", "a grpo run needs at least one reward function"))
    if cfg.per_device_train_batch_size % cfg.num_generations:
        problems.append(
            (
                "per_device_train_batch_size",
                f"per_device_train_batch_size {cfg.per_device_train_batch_size} must be a multiple of "
                f"num_generations {cfg.num_generations}: each prompt's group of completions shares one batch",
            )
        )
    if cfg.epsilon_high is not None and cfg.epsilon_high < cfg.epsilon:
        problems.append(
            ("epsilon_high", f"epsilon_high {cfg.epsilon_high} is below epsilon {cfg.epsilon}; clip-higher raises it")
        )
    if cfg.delta is not None and cfg.delta <= 1 + cfg.epsilon:
        problems.append(("delta", f"delta {cfg.delta} must be above 1 + epsilon ({1 + cfg.epsilon:g})"))
    if cfg.overlong_buffer is not None and cfg.overlong_buffer >= cfg.max_completion_length:
        problems.append(
            (
                "overlong_buffer",
                f"overlong_buffer {cfg.overlong_buffer} must be below max_completion_length {cfg.max_completion_length}",
            )
        )
    return problems


def reward_problems(cfg: TrainingConfig, task: str) -> list[Problem]:
    from agents.tasks import reward_functions

    try:
        known = reward_functions(task)
    except KeyError as exc:
        return [("reward_funcs", str(exc.args[0]))]
    return [
        ("reward_funcs", f"reward {name!r} is not a reward of task {task}; use one of {', '.join(known)}")
        for name in cfg.reward_funcs
        if name not in known
    ]


def peft_problems(cfg: TrainingConfig) -> list[Problem]:
    from importlib.util import find_spec

    if cfg.peft is not None and find_spec("peft") is None:
        return [("peft", "LoRA (peft:) needs the peft package: pip install peft")]
    return []


def raise_problems(problems: Iterable[Problem]) -> None:
    """Raise the problems as one pydantic ValidationError, so callers handle schema and these alike."""
    errors = [
        InitErrorDetails(type=PydanticCustomError("training_config", message), loc=(field,), input=None)
        for field, message in problems
    ]
    if errors:
        raise ValidationError.from_exception_data("TrainingConfig", errors)


def check_training_config(
    cfg: TrainingConfig, task: str, *, trl_version: str | None = None, grpo_fields: set[str] | None = None
) -> TrainingConfig:
    """`cfg` unchanged when `task` can train with it on the installed TRL; ValidationError naming each problem."""
    version = trl_version or installed_trl_version()
    raise_problems(
        [
            *field_problems(cfg),
            *reward_problems(cfg, task),
            *trl_problems(cfg, version, grpo_fields),
            *peft_problems(cfg),
        ]
    )
    return cfg


def load_training_config(data: object, task: str, **versions: Any) -> TrainingConfig:
    """Parse a config as read from YAML (a human may have edited it) and check it for `task`."""
    if not isinstance(data, dict):
        raise_problems([("config", f"config.yaml must be a mapping of fields, not {type(data).__name__}")])
    return check_training_config(TrainingConfig.model_validate(data), task, **versions)
