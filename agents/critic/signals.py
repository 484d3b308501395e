"""Training-signal rules: plain functions over TRL's logged metrics (runs/<id>/metrics.jsonl).

Each rule reads the rows under TRL's names as logged and, where it needs one, the held-out
comparison with the run's parent. It returns findings with their evidence (metric, step range,
the numbers that decided) and remedies from the table in rules.py. A rule that needs something it
does not have says so in `unchecked` instead of guessing. The rules are meant to stay silent on
healthy runs: the tests hold them to the real SFT and GRPO metrics of the embedded loop.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable

from agents.critic.rules import THRESHOLDS, HeldOut, remedies
from bus.schemas import Finding, Remedy, TrainingConfig

Rule = Callable[[TrainingConfig, list[dict], HeldOut | None, list[str]], list[Finding]]


def series(metrics: list[dict], key: str) -> tuple[list[int], list[float]]:
    """(steps, values) of one metric; rows without it are skipped, 'nan'/'inf' strings become floats."""
    steps, values = [], []
    for row in metrics:
        value = row.get(key)
        if isinstance(value, str) and value in ("nan", "inf", "-inf"):
            value = float(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            steps.append(int(row.get("step", len(steps))))
            values.append(float(value))
    return steps, values


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def quarters(values: list[float]) -> tuple[float, float, float] | None:
    """Means of the first, third and last quarter; None below 8 points, where quarters are noise."""
    if len(values) < 8:
        return None
    q = len(values) // 4
    return _mean(values[:q]), _mean(values[2 * q : 3 * q]), _mean(values[3 * q :])


def _tail(values: list[float]) -> list[float]:
    """The last quarter, and at least the last five rows (or all of them when fewer)."""
    return values[-max(min(5, len(values)), len(values) // 4) :]


def _finding(
    name: str, severity: str, evidence: str, metric: str, steps: list[int], values: dict, cures: list[Remedy]
) -> Finding:
    return Finding(
        name=name,
        severity=severity,
        evidence=evidence,
        metric=metric,
        steps=[steps[0], steps[-1]] if steps else [],
        values={k: round(v, 6) for k, v in values.items() if math.isfinite(v)},
        remedies=cures,
    )


def no_learning_signal(cfg: TrainingConfig, metrics: list[dict], held: HeldOut | None, unchecked: list[str]):
    steps, zero = series(metrics, "frac_reward_zero_std")
    _, spread = series(metrics, "reward_std")
    _, reward = series(metrics, "reward")
    _, grads = series(metrics, "grad_norm")
    if cfg.method != "grpo" or not (zero or spread):
        return []
    zero_tail = _mean(_tail(zero)) if zero else None
    spread_tail = _mean(_tail(spread)) if spread else None
    dead = (zero_tail is not None and zero_tail > THRESHOLDS["frac_reward_zero_std_high"]) or (
        spread_tail is not None and spread_tail < THRESHOLDS["reward_std_low"]
    )
    if not dead:
        return []
    reward_tail = _mean(_tail(reward)) if reward else None
    values = {"frac_reward_zero_std": zero[-1] if zero else math.nan, "reward_std_tail_mean": spread_tail or 0.0}
    values["reward_tail_mean"] = math.nan if reward_tail is None else reward_tail
    shown = f"frac_reward_zero_std {zero[-1]:.2f} at the end" if zero else f"reward_std {spread_tail:.3f} at the end"
    if reward_tail is not None and reward_tail >= THRESHOLDS["reward_solved"]:
        evidence = (
            f"{shown}, mean reward {reward_tail:.3f}: the train prompts are solved, groups agree and give no gradient"
        )
        cures = remedies("solved prompts", cfg)
        return [_finding("no learning signal", "info", evidence, "frac_reward_zero_std", steps, values, cures)]
    cold = reward_tail is not None and reward_tail < THRESHOLDS["min_pass_rate_for_grpo"]
    dead_grads = bool(grads) and max(grads) <= THRESHOLDS["grad_norm_dead"]
    evidence = f"{shown}: most groups have identical rewards" + (
        "; grad_norm is 0 at every step, the model did not move" if dead_grads else ""
    )
    severity = "critical" if dead_grads else "warning"
    cures = remedies("no learning signal", cfg, cold=cold)
    return [_finding("no learning signal", severity, evidence, "frac_reward_zero_std", steps, values, cures)]


def truncation(cfg: TrainingConfig, metrics: list[dict], held: HeldOut | None, unchecked: list[str]):
    steps, clipped = series(metrics, "completions/clipped_ratio")
    _, lengths = series(metrics, "completions/mean_length")
    if not clipped and not lengths:
        return []
    clipped_tail = _mean(_tail(clipped)) if clipped else 0.0
    q = quarters(lengths)
    growth = q is not None and q[0] > 0 and q[2] / q[0] >= THRESHOLDS["length_growth"]
    near_max = q is not None and q[2] >= THRESHOLDS["length_near_max"] * cfg.max_completion_length
    if clipped_tail < THRESHOLDS["clipped_ratio_warning"] and not (growth and near_max):
        return []
    severity = "critical" if clipped_tail >= THRESHOLDS["clipped_ratio_critical"] else "warning"
    parts, values = [], {"clipped_ratio_tail_mean": clipped_tail}
    if clipped:
        parts.append(
            f"completions/clipped_ratio {clipped[0]:.2f} -> {clipped[-1]:.2f} (last quarter {clipped_tail:.2f})"
        )
    if q is not None:
        parts.append(
            f"mean length {q[0]:.1f} -> {q[2]:.1f} tokens of max_completion_length {cfg.max_completion_length}"
        )
        values |= {"mean_length_first_quarter": q[0], "mean_length_last_quarter": q[2]}
    evidence = "; ".join(parts) + ": completions run into the length cap"
    name = "truncation / length blow-up"
    return [_finding(name, severity, evidence, "completions/clipped_ratio", steps, values, remedies(name, cfg))]


def entropy_collapse(cfg: TrainingConfig, metrics: list[dict], held: HeldOut | None, unchecked: list[str]):
    steps, entropy = series(metrics, "entropy")
    _, reward = series(metrics, "reward")
    if cfg.method != "grpo" or len(entropy) < 8:
        return []
    start = _mean(entropy[: max(1, len(entropy) // 10)])
    half = entropy[: len(entropy) // 2]
    low_at = min(range(len(half)), key=half.__getitem__)
    if start <= 0 or half[low_at] / start > THRESHOLDS["entropy_drop"]:
        return []
    q = quarters(reward)
    gain = None if q is None else q[2] - q[0]
    if gain is not None and gain >= THRESHOLDS["reward_gain_flat"]:
        return []  # sharper and better: the policy converges, it did not stop exploring too soon
    moved = "no reward is logged" if gain is None else f"mean reward moved {gain:+.3f}"
    evidence = (
        f"entropy {start:.3f} -> {half[low_at]:.3f} by step {steps[low_at]} ({half[low_at] / start:.0%} of its start) "
        f"while {moved}: the policy stopped exploring before it improved"
    )
    values = {"entropy_start": start, "entropy_low": half[low_at], "reward_gain": math.nan if gain is None else gain}
    name = "entropy collapse"
    return [_finding(name, "warning", evidence, "entropy", steps[: low_at + 1], values, remedies(name, cfg))]


def instability(cfg: TrainingConfig, metrics: list[dict], held: HeldOut | None, unchecked: list[str]):
    findings = []
    for key, name in (("grad_norm", "gradient blow-up"), ("kl", "KL blow-up")):
        steps, values = series(metrics, key)
        skip = int(len(values) * THRESHOLDS["warmup_share"])
        steps, values = steps[skip:], values[skip:]
        if len(values) < 4:
            continue
        bad = [i for i, v in enumerate(values) if not math.isfinite(v)]
        finite = [v for v in values if math.isfinite(v)]
        median = statistics.median(finite) if finite else 0.0
        at = bad[0] if bad else max(range(len(values)), key=values.__getitem__)
        peak = values[at]
        ratio = math.inf if bad or (median <= 0 < peak) else (peak / median if median > 0 else 0.0)
        if not bad and (
            ratio < THRESHOLDS["spike_ratio_warning"] or (key == "kl" and peak < THRESHOLDS["kl_spike_min"])
        ):
            continue
        severity = "critical" if bad or ratio >= THRESHOLDS["spike_ratio_critical"] else "warning"
        evidence = (
            f"{key} {peak:.3g} at step {steps[at]} against a median of {median:.3g} over steps {steps[0]}-{steps[-1]}"
            + (" (non-finite)" if bad else f" ({ratio:.0f}x)")
        )
        cures = remedies("instability", cfg)
        findings.append(_finding(name, severity, evidence, key, [steps[at]], {"peak": peak, "median": median}, cures))
    steps, region = series(metrics, "clip_ratio/region_mean")
    # On-policy GRPO (num_iterations 1) clips nothing: 0 is the expected value and never reaches this.
    if region and _mean(_tail(region)) >= THRESHOLDS["clip_region_high"]:
        tail = _mean(_tail(region))
        evidence = (
            f"clip_ratio/region_mean last-quarter mean {tail:.2f} (num_iterations {cfg.num_iterations}): "
            "the trust region clips a large share of tokens"
        )
        cures = remedies("instability", cfg)
        name = "trust-region clipping high"
        findings.append(
            _finding(name, "warning", evidence, "clip_ratio/region_mean", steps, {"tail_mean": tail}, cures)
        )
    return findings


def format_reward(cfg: TrainingConfig, metrics: list[dict], held: HeldOut | None, unchecked: list[str]):
    keys = sorted({k for row in metrics for k in row if k.startswith("rewards/") and k.endswith("/mean")})
    formats = [k for k in keys if "format" in k.lower()]
    others = [k for k in keys if k not in formats]
    findings = []
    for key in formats:
        steps, values = series(metrics, key)
        if len(values) < 4:
            continue
        if max(values) <= THRESHOLDS["format_stuck"]:
            name = "format reward stuck at 0"
            evidence = (
                f"{key} never above {max(values):.2f} over steps {steps[0]}-{steps[-1]}: no completion has the format"
            )
            findings.append(_finding(name, "critical", evidence, key, steps, {"max": max(values)}, remedies(name, cfg)))
            continue
        tail = _mean(_tail(values))
        _, spread = series(metrics, key.removesuffix("/mean") + "/std")
        spread_tail = _mean(_tail(spread)) if spread else 0.0
        if tail < THRESHOLDS["format_saturated"] or spread_tail > THRESHOLDS["format_std_zero"]:
            continue
        gains = [q[2] - q[0] for k in others if (q := quarters(series(metrics, k)[1])) is not None]
        if gains:
            flat, about = max(gains) < THRESHOLDS["reward_gain_flat"], f"accuracy rewards moved {max(gains):+.3f}"
        elif held is not None:
            flat, about = not held.real_gain, held.describe()
        else:
            unchecked.append(
                f"format-reward saturation: {key} is at {tail:.2f}, but no accuracy reward or held-out "
                "comparison says whether accuracy moved"
            )
            continue
        if not flat:
            continue
        name = "format-reward saturation"
        evidence = f"{key} {tail:.2f} with std {spread_tail:.3f} at the end while {about}: format learned, accuracy not"
        values = {"tail_mean": tail, "tail_std": spread_tail}
        findings.append(_finding(name, "warning", evidence, key, steps, values, remedies(name, cfg)))
    return findings


def reward_hacking(cfg: TrainingConfig, metrics: list[dict], held: HeldOut | None, unchecked: list[str]):
    steps, reward = series(metrics, "reward")
    q = quarters(reward)
    if cfg.method != "grpo" or q is None or q[2] - q[0] < THRESHOLDS["reward_rise_hacking"]:
        return []
    rise = q[2] - q[0]
    if held is None:
        unchecked.append(f"reward hacking: train reward rose {rise:+.3f}, but there is no held-out comparison")
        return []
    if held.real_gain:
        return []
    values = {"reward_first_quarter": q[0], "reward_last_quarter": q[2], "held_out_gain": held.score - held.reference}
    if rise < THRESHOLDS["reward_rise_hacking_alarm"]:
        # A healthy GRPO run's sampled train reward rises this much too: worth noting, not an alarm.
        evidence = (
            f"mean train reward {q[0]:.3f} -> {q[2]:.3f} ({rise:+.3f}) while {held.describe()}; a rise below "
            f"{THRESHOLDS['reward_rise_hacking_alarm']:.2f} is within what healthy GRPO shows, so not called hacking"
        )
        return [_finding("train reward and held-out disagree", "info", evidence, "reward", steps, values, [])]
    severity = "critical" if held.high < 0 else "warning"
    evidence = (
        f"mean train reward {q[0]:.3f} -> {q[2]:.3f} ({rise:+.3f}) while {held.describe()}: "
        "the reward pays for something held-out does not"
    )
    name = "reward hacking"
    return [_finding(name, severity, evidence, "reward", steps, values, remedies(name, cfg))]


def over_fitting(cfg: TrainingConfig, metrics: list[dict], held: HeldOut | None, unchecked: list[str]):
    steps, loss = series(metrics, "loss")
    if cfg.method != "sft" or len(loss) < 4 or loss[0] <= 0:
        return []
    end = _mean(_tail(loss))
    if end / loss[0] > THRESHOLDS["sft_loss_drop"]:
        return []
    if held is None:
        unchecked.append(
            f"over-fitting: train loss fell {loss[0]:.3f} -> {end:.3f}, but there is no held-out comparison"
        )
        return []
    if held.high >= 0:
        return []  # held-out did not fall: fitting the demonstrations is what SFT is for
    q = quarters(loss)
    if q is None or q[1] <= 0 or q[2] / q[1] > THRESHOLDS["sft_loss_late_drop"]:
        return []  # the loss flattened as a converging run's does: the held-out drop has another cause
    evidence = (
        f"train loss {loss[0]:.3f} -> {end:.3f}, still {q[1]:.3f} -> {q[2]:.3f} from the third quarter to the last, "
        f"while {held.describe()}: it memorises its demonstrations, generalises worse"
    )
    values = {"loss_first": loss[0], "loss_end": end, "held_out_gain": held.score - held.reference}
    values |= {"loss_third_quarter": q[1], "loss_last_quarter": q[2]}
    name = "over-fitting"
    return [_finding(name, "warning", evidence, "loss", steps, values, remedies(name, cfg))]


def plateau(cfg: TrainingConfig, metrics: list[dict], held: HeldOut | None, unchecked: list[str]):
    steps, reward = series(metrics, "reward")
    q = quarters(reward)
    if cfg.method != "grpo" or q is None or q[2] - q[1] > THRESHOLDS["reward_still_rising"]:
        return []
    if held is None:
        unchecked.append("plateau: the reward is flat over the second half, but without a held-out comparison")
        return []
    if held.real_gain:
        return []
    evidence = (
        f"mean reward {q[1]:.3f} in the third quarter, {q[2]:.3f} in the last, and {held.describe()}: "
        "more of the same will not help"
    )
    values = {"reward_third_quarter": q[1], "reward_last_quarter": q[2]}
    return [
        _finding("plateau", "warning", evidence, "reward", steps[len(steps) // 2 :], values, remedies("plateau", cfg))
    ]


RULES: tuple[Rule, ...] = (
    no_learning_signal,
    truncation,
    entropy_collapse,
    instability,
    format_reward,
    reward_hacking,
    over_fitting,
    plateau,
)


def signal_findings(cfg: TrainingConfig, metrics: list[dict], held: HeldOut | None) -> tuple[list[Finding], list[str]]:
    """Run every rule; returns the findings and what could not be checked."""
    findings: list[Finding] = []
    unchecked: list[str] = []
    for rule in RULES:
        findings += rule(cfg, metrics, held, unchecked)
    return findings, unchecked
