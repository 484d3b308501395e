"""Built-in training recipes for the embedded task, as plain data.

The numbers are the ones the facts file measured on a 2-core CPU: fixed-width SFT learns
reliably at lr 1e-3 / 800 steps / batch 64; GRPO on top of an SFT checkpoint fixes a
systematic demonstration error at lr 5e-5, batch 128, 8 generations, beta 0, DAPO loss.
"""

from __future__ import annotations

from typing import Any

SFT: dict[str, Any] = {
    "learning_rate": 1e-3,
    "lr_scheduler_type": "cosine",
    "warmup_steps": 30,
    "max_steps": 800,
    "per_device_train_batch_size": 64,
    "max_length": 64,
}

GRPO: dict[str, Any] = {
    "learning_rate": 5e-5,
    "lr_scheduler_type": "constant_with_warmup",
    "warmup_steps": 20,
    "max_steps": 500,
    "per_device_train_batch_size": 128,
    "num_generations": 8,
    "temperature": 1.0,
    "top_p": 1.0,
    "beta": 0.0,
    "loss_type": "dapo",
    "scale_rewards": "group",
}
# The embedded task's verifier; other tasks name theirs (agents.tasks.correctness_reward_name).
DEFAULT_REWARD = "exact_match"


def recipe(
    method: str,
    digits: int,
    step_scale: float,
    *,
    reward: str = DEFAULT_REWARD,
    completion_tokens: int | None = None,
) -> dict[str, Any]:
    """The recipe for `method`, scaled; GRPO rewards with `reward` (a key of the task's reward functions).

    `completion_tokens` is the task's answer length; without it, room for a `digits`-digit sum.
    """
    base = dict(SFT if method == "sft" else GRPO)
    base["max_steps"] = max(10, int(round(base["max_steps"] * step_scale)))
    base["warmup_steps"] = min(base["warmup_steps"], base["max_steps"] // 10)
    if method == "grpo":
        base["reward_funcs"] = {reward: 1.0}
        # The answer, eos, and one token of slack.
        base["max_completion_length"] = completion_tokens or digits + 3
    return base
