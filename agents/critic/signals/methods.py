"""Which training method wrote a log: from the training arguments' class when there is one, else the logged keys.

The keys are the ones TRL's trainers log (checked against the installed trl's sources): GRPO and RLOO
`reward`, `reward_std`, `frac_reward_zero_std`, `rewards/<fn>/mean`, `completions/*` (older GRPO:
`completion_length`, `rewards/<fn>`); DPO, CPO/SimPO, ORPO and KTO `rewards/chosen`, `rewards/rejected`,
`rewards/margins`, `rewards/accuracies`, `logps/*`, `logits/*`, with ORPO's `log_odds_ratio`, CPO's and
ORPO's `nll_loss`, KTO's `kl`; PPO (TRL's PPOTrainer, since removed) and online DPO the `objective/*`
set, PPO with a value head (`loss/value_avg`, `val/*`); the RewardTrainer `accuracy`, `margin` and
`min/mean/max_reward`. A plain Trainer's seq2seq run logs
generation metrics (`eval_rouge*`, `eval_bleu`, `eval_gen_len`), a classifier's accuracy or F1 without
a token accuracy. Everything else is a supervised causal-LM run (SFT).
"""

from __future__ import annotations

import math

SUPERVISED = frozenset({"sft", "seq2seq", "classifier"})
PREFERENCE = frozenset({"dpo", "orpo", "cpo", "simpo", "kto"})
GROUP_POLICY = frozenset({"grpo", "rloo"})  # TRL logs the same group-reward keys for both
# Methods the rules have specific readings for; the others get only what means the same everywhere.
SPECIFIC = SUPERVISED | PREFERENCE | GROUP_POLICY
LABELS = {
    "sft": "SFT",
    "seq2seq": "seq2seq (plain Trainer)",
    "classifier": "classifier (plain Trainer)",
    "grpo": "GRPO",
    "rloo": "RLOO",
    "dpo": "DPO",
    "orpo": "ORPO",
    "cpo": "CPO",
    "simpo": "SimPO",
    "kto": "KTO",
    "ppo": "PPO",
    "online-dpo": "online DPO",
    "reward-model": "reward model (RewardTrainer)",
}
# A DPO (sigmoid) loss of ln 2 is -log sigmoid(0): the policy's log-ratio equals the reference's on every pair.
NO_DIFFERENCE_LOSS = {"dpo": math.log(2)}

PREFERENCE_KEYS = ("rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies")
GROUP_KEYS = ("reward", "reward_std", "frac_reward_zero_std", "completions/mean_length", "completion_length")
PPO_VALUE_KEYS = ("loss/value_avg", "val/clipfrac_avg", "val/ratio", "val/mean")
SEQ2SEQ_PREFIXES = ("eval_rouge", "eval_bleu", "eval_sacrebleu", "eval_gen_len", "eval_meteor")
CLASSIFIER_KEYS = ("eval_accuracy", "eval_f1", "eval_macro_f1", "eval_micro_f1", "eval_precision", "eval_matthews")

ARGS_CLASSES = {
    "GRPO": "grpo",
    "RLOO": "rloo",
    "DPO": "dpo",
    "ORPO": "orpo",
    "CPO": "cpo",
    "KTO": "kto",
    "PPO": "ppo",
    "OnlineDPO": "online-dpo",
    "SFT": "sft",
    "Seq2Seq": "seq2seq",
    "Reward": "reward-model",
}


def method_from_keys(keys: set[str]) -> str:
    """The method whose trainer logs these keys (normalised row keys, eval_* included)."""
    if keys & set(PPO_VALUE_KEYS):
        return "ppo"
    if "objective/scores_margin" in keys:
        return "online-dpo"
    if "objective/rlhf_reward" in keys:
        return "rloo"  # TRL's older RLOOTrainer: PPO's objective/* set without a value head
    if keys & set(PREFERENCE_KEYS) or any(k.startswith("logps/") for k in keys):
        if "log_odds_ratio" in keys:
            return "orpo"
        if "nll_loss" in keys:
            return "cpo"
        if "kl" in keys:
            return "kto"  # KTO logs its reference KL estimate; DPO logs none
        return "dpo"
    if {"margin", "accuracy"} <= keys and keys & {"mean_reward", "min_reward", "max_reward"}:
        return "reward-model"  # TRL's RewardTrainer: pairwise accuracy and margin of a scalar head
    if keys & set(GROUP_KEYS) or any(k.startswith("rewards/") for k in keys):
        return "grpo"
    if any(k.startswith(SEQ2SEQ_PREFIXES) for k in keys):
        return "seq2seq"
    if keys & set(CLASSIFIER_KEYS) and "mean_token_accuracy" not in keys and "eval_mean_token_accuracy" not in keys:
        return "classifier"
    return "sft"


def identify(rows: list[dict], args: dict, args_class: str) -> tuple[str, str]:
    """(method id, how it was told): the arguments' class decides when it names a method, the keys otherwise."""
    keys = {k for r in rows for k in r}
    for prefix, method in sorted(ARGS_CLASSES.items(), key=lambda kv: -len(kv[0])):
        if args_class.startswith(prefix):
            if method == "cpo" and args.get("loss_type") == "simpo":
                method = "simpo"
            return method, f"{args_class} in training_args.bin"
    from_keys = method_from_keys(keys)
    if args_class.startswith("Training") and from_keys in ("sft", "seq2seq", "classifier"):
        return from_keys, f"{args_class} in training_args.bin, and the logged keys"
    return from_keys, "inferred from the logged keys"


def config_method(method: str) -> str:
    """The method intern's TrainingConfig can hold: GRPO's rules for group-reward runs, the supervised ones else."""
    return "grpo" if method in GROUP_POLICY else "sft"


def label(method: str) -> str:
    return LABELS.get(method, method)


def scope_note(method: str) -> str | None:
    """What the verdict says for a method without specific rules; None when the rules know the method."""
    if method in SPECIFIC:
        return None
    return (
        f"{label(method)}: no {label(method)}-specific rules; read only the signals that mean the same for every "
        "method (loss trend and level, gradients, non-finite values, eval curves, learning-rate schedule, resumes)"
    )
