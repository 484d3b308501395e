"""The Rules section of plan.md as constraints the agents enforce.

A human writes one rule per line, e.g. `max learning_rate: 1e-4`, `never use dataset: X`,
`max runs: 3`, `method: sft only`. `parse_rules` reads what it can and hands back the lines it
cannot, so the supervisor asks about them instead of ignoring them. The trainer calls `conform`
(bounds on numbers are met by moving the value to the bound, and the commit says so) and then
`check_config`, and refuses a config that still breaks a rule, naming the rule.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from pydantic import ValidationError

from bus import layout
from bus.schemas import TrainingConfig

METHODS = ("sft", "grpo")
# Words a human is likely to use for a config field, and the loop-level limits.
_ALIASES = {
    "lr": "learning_rate",
    "learning rate": "learning_rate",
    "steps": "max_steps",
    "training steps": "max_steps",
    "batch size": "per_device_train_batch_size",
    "batch_size": "per_device_train_batch_size",
    "generations": "num_generations",
    "completion length": "max_completion_length",
    "iterations": "num_iterations",
    "run": "runs",
    "minute": "minutes",
}
LOOP_LIMITS = ("runs", "minutes")  # read by the supervisor's stop reason, not by check_config
_NUMERIC = {
    name
    for name, info in TrainingConfig.model_fields.items()
    if info.annotation in (int, float, int | None, float | None)
} - {"seed"}
_BOUND = re.compile(r"^(max|maximum|at most|min|minimum|at least)\s+([a-z_ ]+?)\s*[:=]?\s*([-+0-9.eE]+)$")
_NEVER_DATASET = re.compile(r"^(?:never use|do not use|don't use|no) dataset\s*[:=]?\s*(\S+)$")
_NEVER_METHOD = re.compile(r"^(?:never use|do not use|don't use|no) (?:method\s*[:=]?\s*)?(sft|grpo)$")
_ONLY_METHOD = re.compile(r"^(?:only )?methods?\s*[:=]\s*(.+?)(?:\s+only)?$")


@dataclass(frozen=True)
class Rule:
    line: str  # the human's words, quoted back in every refusal
    kind: str  # "max", "min", "never_dataset", "methods"
    name: str  # a TrainingConfig field, "runs", "minutes", "dataset" or "method"
    value: float | str | frozenset[str]


def _field(words: str) -> str | None:
    words = " ".join(words.split())
    name = _ALIASES.get(words, words.replace(" ", "_"))
    return name if name in _NUMERIC or name in LOOP_LIMITS else None


def parse_rule(line: str) -> Rule | None:
    """One rule, or None when the line is not one the deterministic brain can enforce."""
    text = line.strip().strip("`").strip().rstrip(".").lower()
    if match := _BOUND.match(text):
        name = _field(match.group(2))
        try:
            value = float(match.group(3))
        except ValueError:
            return None
        if name is None:
            return None
        kind = "max" if match.group(1) in ("max", "maximum", "at most") else "min"
        return Rule(line, kind, name, value)
    if match := _NEVER_DATASET.match(text):
        name = match.group(1).strip("`'\"").removeprefix(f"{layout.DATASETS}/").removesuffix("/readme.md").strip("/")
        return Rule(line, "never_dataset", "dataset", name)
    if match := _NEVER_METHOD.match(text):
        return Rule(line, "methods", "method", frozenset(METHODS) - {match.group(1)})
    if match := _ONLY_METHOD.match(text):
        names = {w for w in re.split(r"[\s,/]+|\band\b|\bor\b", match.group(1)) if w}
        if names and names <= set(METHODS):
            return Rule(line, "methods", "method", frozenset(names))
    return None


def parse_rules(lines: list[str]) -> tuple[list[Rule], list[str]]:
    """(the rules read, the lines that are not a rule anyone can enforce)."""
    rules, unreadable = [], []
    for line in lines:
        rule = parse_rule(line)
        if rule is None:
            unreadable.append(line)
        else:
            rules.append(rule)
    return rules, unreadable


def loop_limit(rules: list[Rule], name: str) -> float | None:
    """The tightest `max runs` / `max minutes` the rules set, if any."""
    values = [float(r.value) for r in rules if r.kind == "max" and r.name == name]
    return min(values, default=None)


def dataset_allowed(name: str, rules: list[Rule]) -> Rule | None:
    """The rule that forbids a dataset, if one does."""
    return next((r for r in rules if r.kind == "never_dataset" and r.value == name.lower()), None)


def check_config(config: TrainingConfig, rules: list[Rule]) -> list[str]:
    """Every rule the config breaks, each as `rule `...`: what the config has`."""
    broken = []
    for rule in rules:
        if rule.kind in ("max", "min") and rule.name in _NUMERIC:
            value = getattr(config, rule.name)
            if value is None:
                continue
            if (rule.kind == "max" and value > rule.value) or (rule.kind == "min" and value < rule.value):
                broken.append(f"rule `{rule.line}`: {rule.name} is {value:g}")
        elif rule.kind == "never_dataset" and config.dataset.lower() == rule.value:
            broken.append(f"rule `{rule.line}`: the config trains on {config.dataset}")
        elif rule.kind == "methods" and config.method not in rule.value:
            broken.append(f"rule `{rule.line}`: the method is {config.method}")
    return broken


def conform(config: TrainingConfig, rules: list[Rule]) -> tuple[TrainingConfig, list[str]]:
    """Move numbers that break a `max`/`min` rule to the bound; returns the config and what moved.

    Rules that no number can meet (a method, a dataset) are left for `check_config` to refuse.
    """
    values = config.model_dump()
    notes = []
    for rule in rules:
        if rule.kind not in ("max", "min") or rule.name not in _NUMERIC or values.get(rule.name) is None:
            continue
        old = values[rule.name]
        if isinstance(old, int):  # an int field keeps an int that meets the bound
            bound = math.floor(rule.value) if rule.kind == "max" else math.ceil(rule.value)
        else:
            bound = rule.value
        if (rule.kind == "max" and old > bound) or (rule.kind == "min" and old < bound):
            values[rule.name] = bound
            notes.append(f"{rule.name} {old:g} -> {bound:g} (rule `{rule.line}`)")
    if not notes:
        return config, []
    try:
        return TrainingConfig.model_validate(values), notes
    except ValidationError:
        return config, []  # the bound itself is not a valid value: check_config refuses the config instead
