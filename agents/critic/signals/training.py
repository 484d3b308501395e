"""Training-signal rules: plain functions over TRL's logged metrics (runs/<id>/metrics.jsonl or trainer_state.json).

Each rule reads one `RunLog` (agents/critic/signals/logrows.py): the rows under TRL's names, the config and,
where it needs one, the held-out comparison with the run's parent. It returns findings with their
evidence (metric, step range, the numbers that decided) and remedies from the table in rules.py. A rule
that lacks what it needs says so in `unchecked` instead of guessing, and one that looked and found the
run in order says so in `checked`. GRPO's reward-component and group rules live in rewards.py,
spikes in spikes.py, restarts in resumes.py, the logged evaluation in evals.py, pipeline faults (read
first) in pipeline.py, preference margins in preference.py; the remedies are made coherent in prescription.py.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from agents.critic.signals.evals import logged_eval, loss_plateau, memorisation_risk
from agents.critic.signals.logrows import (
    RunLog,
    finding,
    finite,
    mean,
    moved,
    normalise_rows,
    quarters,
    series,
    since_restart,
    tail,
)
from agents.critic.signals.pipeline import PIPELINE_RULES
from agents.critic.signals.preference import preference_margins
from agents.critic.signals.prescription import coherent
from agents.critic.signals.resumes import divergence
from agents.critic.signals.rewards import group_size, reward_components, shaping_only
from agents.critic.signals.spikes import instability, non_finite
from agents.critic.thresholds import THRESHOLDS, HeldOut, remedies
from bus.schemas import Finding, TrainingConfig

__all__ = ["RULES", "SignalReport", "quarters", "series", "signal_findings", "signal_report"]

Rule = Callable[[RunLog], list[Finding]]


def no_learning_signal(run: RunLog) -> list[Finding]:
    steps, zero = finite(run.train, "frac_reward_zero_std")
    _, spread = finite(run.train, "reward_std")
    _, reward = finite(run.train, "reward")
    _, grads = finite(run.train, "grad_norm")
    if run.cfg.method != "grpo" or not (zero or spread):
        return []
    run.checked.append("learning signal (frac_reward_zero_std / reward_std)")
    zero_tail = mean(tail(zero)) if zero else None
    spread_tail = mean(tail(spread)) if spread else None
    dead = (zero_tail is not None and zero_tail > THRESHOLDS["frac_reward_zero_std_high"]) or (
        spread_tail is not None and spread_tail < THRESHOLDS["reward_std_low"]
    )
    if not dead:
        return []
    reward_tail = mean(tail(reward)) if reward else None
    values = {"frac_reward_zero_std": zero[-1] if zero else math.nan, "reward_std_tail_mean": spread_tail or 0.0}
    values["reward_tail_mean"] = math.nan if reward_tail is None else reward_tail
    shown = f"frac_reward_zero_std {zero[-1]:.2f} at the end" if zero else f"reward_std {spread_tail:.3f} at the end"
    if zero:
        full = [i for i, z in enumerate(zero) if z >= 1.0]
        rewards_there = [r.get("reward") for r in run.train if r.get("frac_reward_zero_std") == 1.0]
        rewards_there = [r for r in rewards_there if isinstance(r, (int, float))]
        if full:
            shown += f", 1.0 at {len(full)} of {len(zero)} rows"
            if rewards_there:
                shown += f" (mean reward {mean(rewards_there):.3g} there)"
    if reward_tail is not None and reward_tail >= THRESHOLDS["reward_solved"]:
        evidence = (
            f"{shown}, mean reward {reward_tail:.3f}: the train prompts are solved, groups agree and give no gradient"
        )
        cures = remedies("solved prompts", run.cfg)
        return [finding("no learning signal", "info", evidence, "frac_reward_zero_std", steps, values, cures)]
    cold = reward_tail is not None and reward_tail < THRESHOLDS["min_pass_rate_for_grpo"]
    dead_grads = bool(grads) and max(grads) <= THRESHOLDS["grad_norm_dead"]
    evidence = f"{shown}: most groups have identical rewards"
    if dead_grads:
        evidence += "; grad_norm is 0 at every step, the model did not move"
    elif grads:
        evidence += f"; grad_norm median {statistics.median(grads):.2g}"
    severity = "critical" if dead_grads else "warning"
    if run.found("group too small"):
        evidence += " (groups this small agree often by chance, so part of this share is the group size)"
    cures = remedies("no learning signal", run.cfg, cold=cold)
    return [finding("no learning signal", severity, evidence, "frac_reward_zero_std", steps, values, cures)]


def _cap(run: RunLog) -> int | None:
    return run.cfg.max_completion_length if run.knows("max_completion_length") else None


def truncation(run: RunLog) -> list[Finding]:
    steps, clipped = finite(run.train, "completions/clipped_ratio")
    length_steps, lengths = finite(run.train, "completions/mean_length")
    if not clipped and not lengths:
        return []
    if len(clipped or lengths) < THRESHOLDS["min_rows"]:
        run.unchecked.append(f"truncation: only {len(clipped or lengths)} logged row(s) of completion lengths")
        return []
    cap = _cap(run)
    if cap is None and not clipped and sum(v == max(lengths) for v in lengths) >= 3 and max(lengths).is_integer():
        cap = int(max(lengths))  # a batch's mean equals its maximum only when every completion stopped there
    run.checked.append("truncation (completions/clipped_ratio, mean length" + (f" against {cap})" if cap else ")"))
    clipped_tail = mean(tail(clipped)) if clipped else 0.0
    q = quarters(lengths)
    growth = q is not None and q[0] > 0 and q[2] / q[0] >= THRESHOLDS["length_growth"]
    near_max = q is not None and cap is not None and q[2] >= THRESHOLDS["length_near_max"] * cap
    # Older TRL logs no clipped share: a mean length at the cap says the same.
    at_cap = not clipped and near_max
    if clipped_tail < THRESHOLDS["clipped_ratio_warning"] and not (growth and near_max) and not at_cap:
        return []
    severity = "critical" if clipped_tail >= THRESHOLDS["clipped_ratio_critical"] else "warning"
    if at_cap and q is not None and cap and q[2] >= 0.98 * cap:
        severity = "critical"  # nearly every completion is cut
    if not clipped:
        steps = length_steps
    parts, values = [], {"clipped_ratio_tail_mean": clipped_tail}
    if clipped:
        parts.append(
            f"completions/clipped_ratio {clipped[0]:.2f} -> {clipped[-1]:.2f} (last quarter {clipped_tail:.2f})"
        )
    if q is not None:
        parts.append(
            f"mean length {q[0]:.1f} -> {q[2]:.1f} tokens" + (f" of max_completion_length {cap}" if cap else "")
        )
        values |= {"mean_length_first_quarter": q[0], "mean_length_last_quarter": q[2]}
    t_steps, terminated = finite(run.train, "completions/mean_terminated_length")
    none_ended = [s for s, t in zip(t_steps, terminated) if t == 0]
    if none_ended:
        parts.append(
            f"no completion ends with EOS at {len(none_ended)} rows (mean_terminated_length 0, last at step {none_ended[-1]})"
        )
    m = moved(finite(run.train, "reward")[1])
    if m is not None and not (m[3] and m[2] > 0):
        parts.append(f"the reward did not improve ({m[0]:.3g} -> {m[1]:.3g} from the first quarter to the last)")
    evidence = "; ".join(parts) + ": completions run into the length cap"
    name = "truncation / length blow-up"
    metric = "completions/clipped_ratio" if clipped else "completions/mean_length"
    return [finding(name, severity, evidence, metric, steps, values, remedies(name, run.cfg))]


def entropy_collapse(run: RunLog) -> list[Finding]:
    steps, entropy = finite(run.train, "entropy")
    _, reward = finite(run.train, "reward")
    if run.cfg.method != "grpo" or len(entropy) < 8:
        return []
    run.checked.append("entropy collapse (entropy over the first half)")
    start = mean(entropy[: max(1, len(entropy) // 10)])
    half = entropy[: len(entropy) // 2]
    low_at = min(range(len(half)), key=half.__getitem__)
    if start <= 0 or half[low_at] / start > THRESHOLDS["entropy_drop"]:
        return []
    q = quarters(reward)
    gain = None if q is None else q[2] - q[0]
    if gain is not None and gain >= THRESHOLDS["reward_gain_flat"]:
        return []  # sharper and better: the policy converges, it did not stop exploring too soon
    said = "no reward is logged" if gain is None else f"mean reward moved {gain:+.3f}"
    evidence = (
        f"entropy {start:.3f} -> {half[low_at]:.3f} by step {steps[low_at]} ({half[low_at] / start:.0%} of its start) "
        f"while {said}: the policy stopped exploring before it improved"
    )
    values = {"entropy_start": start, "entropy_low": half[low_at], "reward_gain": math.nan if gain is None else gain}
    name = "entropy collapse"
    return [finding(name, "warning", evidence, "entropy", steps[: low_at + 1], values, remedies(name, run.cfg))]


def reward_hacking(run: RunLog) -> list[Finding]:
    steps, reward = finite(run.train, "reward")
    q = quarters(reward)
    held = run.held
    if run.cfg.method != "grpo" or q is None or q[2] - q[0] < THRESHOLDS["reward_rise_hacking"]:
        return []
    rise = q[2] - q[0]
    if held is None:
        run.unchecked.append(f"reward hacking: train reward rose {rise:+.3f}, but there is no held-out comparison")
        return []
    run.checked.append("reward hacking (train reward against held-out)")
    if held.real_gain:
        return []
    values = {"reward_first_quarter": q[0], "reward_last_quarter": q[2], "held_out_gain": held.score - held.reference}
    if rise < THRESHOLDS["reward_rise_hacking_alarm"]:
        # A healthy GRPO run's sampled train reward rises this much too: worth noting, not an alarm.
        evidence = (
            f"mean train reward {q[0]:.3f} -> {q[2]:.3f} ({rise:+.3f}) while {held.describe()}; a rise below "
            f"{THRESHOLDS['reward_rise_hacking_alarm']:.2f} is within what healthy GRPO shows, so not called hacking"
        )
        return [finding("train reward and held-out disagree", "info", evidence, "reward", steps, values, [])]
    severity = "critical" if held.high < 0 else "warning"
    evidence = (
        f"mean train reward {q[0]:.3f} -> {q[2]:.3f} ({rise:+.3f}) while {held.describe()}: "
        "the reward pays for something held-out does not"
    )
    name = "reward hacking"
    return [finding(name, severity, evidence, "reward", steps, values, remedies(name, run.cfg))]


def over_fitting(run: RunLog) -> list[Finding]:
    """Against intern's held-out evaluation; a run with logged eval_loss is read by signals/evals.py instead."""
    steps, loss = finite(run.train, "loss")
    held = run.held
    if run.cfg.method != "sft" or len(loss) < 4 or loss[0] <= 0:
        return []
    end = mean(tail(loss))
    if end / loss[0] > THRESHOLDS["sft_loss_drop"]:
        return []
    if held is None:
        if not finite(run.rows, "eval_loss")[1]:
            run.unchecked.append(
                f"over-fitting: train loss fell {loss[0]:.3f} -> {end:.3f}, but there is no held-out comparison"
            )
        return []
    run.checked.append("over-fitting (train loss against held-out)")
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
    return [finding(name, "warning", evidence, "loss", steps, values, remedies(name, run.cfg))]


def plateau(run: RunLog) -> list[Finding]:
    rows, restart = since_restart(run.train)  # a trend within one schedule, never across a resume
    steps, reward = finite(rows, "reward")
    if restart is not None and quarters(reward) is None and run.cfg.method == "grpo":
        run.unchecked.append(f"plateau: the run restarts at step {restart} and fewer than 8 rows follow")
    q = quarters(reward)
    held = run.held
    if run.cfg.method != "grpo" or q is None:
        return []
    if held is None:
        return _reward_flat_over_the_run(run, steps, reward, q)
    if q[2] - q[1] > THRESHOLDS["reward_still_rising"]:
        return []
    run.checked.append("plateau (reward over the second half, held-out)")
    if held.real_gain:
        return []
    evidence = (
        f"mean reward {q[1]:.3f} in the third quarter, {q[2]:.3f} in the last, and {held.describe()}: "
        "more of the same will not help"
    )
    values = {"reward_third_quarter": q[1], "reward_last_quarter": q[2]}
    cures = remedies("plateau", run.cfg)
    return [finding("plateau", "warning", evidence, "reward", steps[len(steps) // 2 :], values, cures)]


def _reward_flat_over_the_run(run: RunLog, steps, reward, q) -> list[Finding]:
    """Without held-out, the logs still tell a reward that never improved from one that flattened late."""
    m = moved(reward)
    scale = max(abs(v) for v in reward) or 1.0
    rising = m is not None and m[3] and m[2] > 0.01 * scale  # beyond its noise, and not a rounding of a constant
    if rising:
        run.checked.append(f"plateau (mean reward {m[0]:.3g} -> {m[1]:.3g} from the first quarter to the last: rising)")
        if q[2] - q[1] <= THRESHOLDS["reward_still_rising"]:
            run.unchecked.append("plateau: the reward is flat over the second half, but without a held-out comparison")
        return []
    run.checked.append("plateau (reward over the whole run)")
    if run.found("no learning signal"):
        return []  # the cause is already named: identical rewards give no gradient
    first, last, diff, real = m
    if real and diff < 0:
        evidence = (
            f"mean reward {first:.3f} in the first quarter, {q[1]:.3f} in the third, {last:.3f} in the last "
            f"({diff:+.3f}, beyond its row-to-row noise): the policy got worse at what the reward pays for"
        )
        values = {"reward_first_quarter": first, "reward_last_quarter": last}
        return [
            finding("reward decline", "warning", evidence, "reward", steps, values, remedies("instability", run.cfg))
        ]
    evidence = (
        f"mean reward {first:.3f} in the first quarter, {q[1]:.3f} in the third, {last:.3f} in the last "
        f"({diff:+.3f}, within its row-to-row noise or below it): the reward did not improve over the run"
    )
    values = {"reward_first_quarter": first, "reward_third_quarter": q[1], "reward_last_quarter": last}
    return [finding("plateau", "warning", evidence, "reward", steps, values, remedies("plateau", run.cfg))]


RULES: tuple[Rule, ...] = (
    *PIPELINE_RULES,  # nothing is trained at all: said before any training dynamics
    group_size,
    no_learning_signal,
    truncation,
    entropy_collapse,
    instability,
    non_finite,
    divergence,
    reward_components,
    shaping_only,
    preference_margins,
    reward_hacking,
    over_fitting,
    logged_eval,
    memorisation_risk,
    loss_plateau,
    plateau,
)


@dataclass
class SignalReport:
    findings: list[Finding]
    unchecked: list[str]
    checked: list[str]
    rows: int  # training rows read
    too_little: bool  # fewer rows than any trend needs


def _snapshot(row: dict) -> str:
    keys = ("loss", "reward", "completions/clipped_ratio", "frac_reward_zero_std", "grad_norm", "eval_loss")
    shown = [f"{k} {row[k]:.3g}" for k in keys if isinstance(row.get(k), (int, float)) and math.isfinite(row[k])]
    return ", ".join(shown)


def signal_report(
    cfg: TrainingConfig,
    metrics: list[dict],
    held: HeldOut | None,
    known: frozenset[str] | None = None,
    meta: dict | None = None,
) -> SignalReport:
    """Every rule over the normalised rows; with fewer rows than a trend needs, only the facts (non-finite values)."""
    run = RunLog(cfg, normalise_rows(metrics), held, known, meta or {})
    train = run.train
    too_little = len(train) < THRESHOLDS["min_rows"]
    rules = (non_finite,) if too_little else RULES
    if too_little:
        where = f" (step {', '.join(str(r['step']) for r in train)})" if train else ""
        note = f"every trend: only {len(train)} logged training row(s){where}: too little data to read a trend"
        if train and _snapshot(train[-1]):
            note += f"; at that point {_snapshot(train[-1])}"
        run.unchecked.append(note)
    elif len(train) < 8:
        run.unchecked.append(
            f"quarter-on-quarter trends (plateau, entropy collapse, reward saturation, length growth): only "
            f"{len(train)} logged training rows, they need 8"
        )
    for rule in rules:
        run.findings += rule(run)
    findings = coherent(run, run.findings)
    return SignalReport(findings, run.unchecked, run.checked, len(train), too_little)


def signal_findings(cfg: TrainingConfig, metrics: list[dict], held: HeldOut | None) -> tuple[list[Finding], list[str]]:
    """Run every rule; returns the findings and what could not be checked."""
    report = signal_report(cfg, metrics, held)
    return report.findings, report.unchecked
