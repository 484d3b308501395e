"""What every training-signal rule reads: the logged rows, the run's config, and small helpers over them.

A rule is a plain function of one `RunLog`. It returns findings with their evidence, says in
`unchecked` what it could not decide and why, and in `checked` what it looked at and found in order,
so a healthy run's report can say what was checked rather than only that nothing fired.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from agents.critic.thresholds import THRESHOLDS, HeldOut
from bus.schemas import Finding, Remedy, TrainingConfig

# Older TRL (~0.14-0.15) names -> the modern ones the rules read.
OLD_KEYS = {"completion_length": "completions/mean_length"}
SUMMARY_KEYS = {"train_runtime", "train_samples_per_second", "train_steps_per_second", "total_flos", "train_loss"}
PREFERENCE_MARKERS = ("rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies")


def normalise_key(key: str) -> str:
    """`train/loss` -> `loss`, `eval/loss` -> `eval_loss`, `rewards/fn` -> `rewards/fn/mean`, old TRL names."""
    if key.startswith("train/"):
        key = key.removeprefix("train/")
    elif key.startswith("eval/"):
        key = "eval_" + key.removeprefix("eval/")
    key = OLD_KEYS.get(key, key)
    if key.startswith("rewards/") and key.count("/") == 1 and key not in PREFERENCE_MARKERS:
        key += "/mean"  # older TRL logged each reward function's batch mean under its bare name
    return key


def normalise_rows(rows: list[Any]) -> list[dict]:
    """Every dict row with its keys normalised; an existing modern key wins over an older alias."""
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            continue
        new: dict = {}
        for key, value in row.items():
            name = normalise_key(str(key))
            if name not in new or name == key:
                new[name] = value
        step = new.get("step", new.get("_step"))
        new["step"] = int(step) if isinstance(step, (int, float)) and math.isfinite(step) else i
        out.append(new)
    return out


def is_eval_row(row: dict) -> bool:
    return any(k.startswith("eval_") for k in row)


def is_summary_row(row: dict) -> bool:
    return bool(SUMMARY_KEYS & set(row)) and "loss" not in row and "reward" not in row


def training_rows(rows: list[dict]) -> list[dict]:
    """The rows the trainer logged while training: no evaluation rows, no end-of-training summary, no rows a
    tracker filled with its own system metrics only."""
    return [r for r in rows if not is_eval_row(r) and not is_summary_row(r) and _has_training_metric(r)]


def _has_training_metric(row: dict) -> bool:
    return any(k not in ("step", "epoch", "_step", "timestamp") and not k.startswith("system/") for k in row)


def series(metrics: list[dict], key: str) -> tuple[list[int], list[float]]:
    """(steps, values) of one metric; rows without it are skipped, 'nan'/'inf' strings become floats."""
    steps, values = [], []
    for row in metrics:
        value = row.get(key)
        if isinstance(value, str) and value.lower() in ("nan", "inf", "-inf", "infinity", "-infinity"):
            value = float(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            step = row.get("step", len(steps))
            steps.append(int(step) if isinstance(step, (int, float)) and math.isfinite(step) else len(steps))
            values.append(float(value))
    return steps, values


def finite(metrics: list[dict], key: str) -> tuple[list[int], list[float]]:
    """A metric's finite points: the non-finite ones are reported by their own rule, not averaged in."""
    steps, values = series(metrics, key)
    kept = [(s, v) for s, v in zip(steps, values) if math.isfinite(v)]
    return [s for s, _ in kept], [v for _, v in kept]


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def quarters(values: list[float]) -> tuple[float, float, float] | None:
    """Means of the first, third and last quarter; None below 8 points, where quarters are noise."""
    if len(values) < 8:
        return None
    q = len(values) // 4
    return mean(values[:q]), mean(values[2 * q : 3 * q]), mean(values[3 * q :])


def tail(values: list[float]) -> list[float]:
    """The last quarter, and at least the last five rows (or all of them when fewer)."""
    return values[-max(min(5, len(values)), len(values) // 4) :]


def spread(values: list[float]) -> float:
    """Sample standard deviation; 0 for fewer than two values."""
    if len(values) < 2:
        return 0.0
    m = mean(values)
    return math.sqrt(sum((v - m) * (v - m) for v in values) / (len(values) - 1))  # * gives inf where ** raises


def moved(values: list[float]) -> tuple[float, float, float, bool] | None:
    """(first-quarter mean, last-quarter mean, their difference, whether it is beyond the rows' noise).

    The difference counts as movement only above twice its standard error, so a noisy reward that
    swings ±0.5 from row to row is not read as having climbed 0.1.
    """
    if len(values) < 8:
        return None
    q = len(values) // 4
    first, last = values[:q], values[3 * q :]
    diff = mean(last) - mean(first)
    error = math.hypot(spread(first) / math.sqrt(len(first)), spread(last) / math.sqrt(len(last)))
    return mean(first), mean(last), diff, abs(diff) > max(2 * error, 1e-12)


def finding(
    name: str, severity: str, evidence: str, metric: str, steps: list[int], values: dict, cures: list[Remedy]
) -> Finding:
    return Finding(
        name=name,
        severity=severity,
        evidence=evidence,
        metric=metric,
        steps=[steps[0], steps[-1]] if steps else [],
        values={k: round(float(v), 6) for k, v in values.items() if v is not None and math.isfinite(v)},
        remedies=cures,
    )


def saved_at_or_before(meta: dict, step: int) -> int | None:
    """The last saved checkpoint at or before `step`: the one that holds the model as it was there, not later."""
    saved = [s for s in meta.get("checkpoints") or [] if isinstance(s, int) and s <= step]
    best = meta.get("best_model_checkpoint")
    if isinstance(best, str) and best.rstrip("/").rsplit("-", 1)[-1].isdigit():
        at = int(best.rstrip("/").rsplit("-", 1)[-1])
        saved += [at] if at <= step else []
    return max(saved) if saved else None


def lr_restarted(before: Any, now: Any, earlier: Any) -> bool:
    """The learning rate jumps up after the schedule had been flat or falling: a new schedule begins. From 0
    counts too once it had decayed there from above (a schedule that ended, then a resume)."""
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (before, now, earlier)):
        return False
    if before == 0:
        return now > 0 and earlier > 0
    return before > 0 and now > THRESHOLDS["lr_jump"] * before and before <= earlier


def since_restart(rows: list[dict]) -> tuple[list[dict], int | None]:
    """The rows after the last resume or schedule restart (step or epoch going back, learning rate jumping up),
    and the step it happened at: a trend is read within one schedule, never across two."""
    last = None
    for i in range(1, len(rows)):
        now, before = rows[i], rows[i - 1]
        e0, e1 = before.get("epoch"), now.get("epoch")
        back = now["step"] < before["step"] or (
            isinstance(e0, (int, float)) and isinstance(e1, (int, float)) and e1 < e0 - 1e-6
        )
        lp = rows[i - 2].get("learning_rate") if i >= 2 else None
        if back or lr_restarted(before.get("learning_rate"), now.get("learning_rate"), lp):
            last = i
    return (rows, None) if last is None else (rows[last:], rows[last]["step"])


@dataclass
class RunLog:
    """One run's logged rows and what the rules know about it."""

    cfg: TrainingConfig
    rows: list[dict]  # every row, normalised keys (agents/critic/signals/trl_logs.normalise_rows)
    held: HeldOut | None = None
    known: frozenset[str] | None = None  # config fields from a real config; None: all (an intern run)
    meta: dict = field(default_factory=dict)  # trainer_state facts (best_model_checkpoint, checkpoints, ...)
    findings: list[Finding] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    train: list[dict] = field(init=False)  # the training rows: no eval rows, no end-of-training summary

    def __post_init__(self) -> None:
        self.train = training_rows(self.rows)

    @property
    def method(self) -> str:
        """The exact method (dpo, kto, classifier, ...) when the log told it, else the config's sft or grpo."""
        return str(self.meta.get("method") or self.cfg.method)

    @property
    def supervised(self) -> bool:
        """A plain supervised loss (SFT, seq2seq, classifier): the rules that read it as a fit to demonstrations."""
        return self.method in ("sft", "seq2seq", "classifier")

    def knows(self, name: str) -> bool:
        return self.known is None or name in self.known

    def found(self, *names: str) -> bool:
        return any(f.name in names for f in self.findings)

    @property
    def grad_floor(self) -> float:
        """The gradient norm below which no step is unusual: the clipping threshold (at most 1.0).

        The Trainer clips to max_grad_norm before the update, so a pre-clip norm under it moved the
        weights no further than an ordinary step; with clipping off (a huge max_grad_norm) 1.0 stands in.
        """
        return min(self.cfg.max_grad_norm, 1.0)


def too_few(values: list, need: float | None = None) -> bool:
    return len(values) < (THRESHOLDS["min_rows"] if need is None else need)
