"""Resumes and divergence: where a logged run restarts its schedule, and a loss that climbs back and stays up.

A resumed run shows its restart as a step or epoch counter going back or a learning rate jumping up
after the schedule had begun; the curves on either side are two schedules. A run that diverged after
one is said with the saved checkpoint to keep from before it; the gradient spikes after the restart
are part of that divergence and said inside it.
"""

from __future__ import annotations

import statistics

from agents.critic.signals.logrows import RunLog, finding, finite, lr_restarted, mean, saved_at_or_before
from agents.critic.signals.spikes import NAMES
from agents.critic.thresholds import THRESHOLDS, remedies
from bus.schemas import Finding


def discontinuities(run: RunLog) -> list[tuple[int, str]]:
    """(row index, what happened) where the logged run restarts: step or epoch back, learning rate jumping up."""
    events = []
    rows = run.train
    for i in range(1, len(rows)):
        now, before = rows[i], rows[i - 1]
        said = []
        if now["step"] < before["step"]:
            said.append(f"the step counter goes back from {before['step']} to {now['step']}")
        e0, e1 = before.get("epoch"), now.get("epoch")
        if isinstance(e0, (int, float)) and isinstance(e1, (int, float)) and e1 < e0 - 1e-6:
            said.append(f"the epoch counter goes back from {e0:.2f} to {e1:.2f}")
        l0, l1 = before.get("learning_rate"), now.get("learning_rate")
        l_prev = rows[i - 2].get("learning_rate") if i >= 2 else None
        if lr_restarted(l0, l1, l_prev):
            said.append(f"the learning rate jumps from {l0:.3g} to {l1:.3g}" + (f" ({l1 / l0:.0f}x)" if l0 else ""))
        if said:
            events.append((i, "; ".join(said)))
    return events


def _absorb_spikes(run: RunLog, since: int) -> str:
    """Spikes after a restart that diverged are part of that divergence: said in it, not as findings of their own."""
    spikes = [f for f in run.findings if f.metric in NAMES and f.steps and f.steps[0] >= since and "blow-up" in f.name]
    for f in spikes:
        run.findings.remove(f)
    return "".join(
        f"; {f.metric} peaked at {f.values.get('peak', float('nan')):.3g} at step {f.steps[0]}" for f in spikes
    )


def _keep_before(run: RunLog, step: int) -> str:
    """Which saved checkpoint to keep: the one at or before the best eval_loss logged before `step`."""
    e_steps, evals = finite(run.rows, "eval_loss")
    before = [(v, s) for s, v in zip(e_steps, evals) if s < step]
    if not before:
        saved = saved_at_or_before(run.meta, step - 1)
        return f"; keep checkpoint-{saved}, the last saved before it" if saved is not None else ""
    value, at = min(before)
    saved = saved_at_or_before(run.meta, at)
    keep = f"keep checkpoint-{saved}" if saved is not None else "no checkpoint saved at or before it is listed"
    return f"; before it eval_loss was best at step {at} ({value:.4g}): {keep}"


def divergence(run: RunLog) -> list[Finding]:
    """A resumed run's discontinuity, and a loss that climbs back and stays up (after a resume or not)."""
    findings = []
    events = discontinuities(run)
    rows = run.train
    if len(rows) >= THRESHOLDS["min_rows"]:
        run.checked.append("restarts (step, epoch and learning-rate discontinuities)")
    for i, what in events:
        evidence = (
            f"at step {rows[i]['step']} {what}: a resumed or restarted run, the curves on either side are two schedules"
        )
        findings.append(
            finding("resumed-run discontinuity", "info", evidence, "learning_rate", [rows[i]["step"]], {}, [])
        )
    key = "loss" if run.cfg.method == "sft" else "grad_norm"
    steps, values = finite(rows, key)
    if len(values) < 6:
        return findings
    run.checked.append(f"divergence ({key} climbing back and staying up)")
    last = values[-3:]
    for i, what in events:
        before = [v for s, v in zip(steps, values) if s < rows[i]["step"]][-3:]
        if not before or statistics.median(before) <= 0:
            continue
        ref = statistics.median(before)
        factor = 1.2 if key == "loss" else THRESHOLDS["spike_ratio_warning"]
        if min(last) >= factor * ref and steps[-1] > rows[i]["step"]:
            evidence = (
                f"after step {rows[i]['step']} ({what}) {key} rose from {ref:.3g} to {mean(last):.3g} over the last "
                f"rows and stays there: the resumed run diverged" + _keep_before(run, rows[i]["step"])
            )
            evidence += _absorb_spikes(run, rows[i]["step"])
            values_ = {"before": ref, "after": mean(last)}
            findings.append(finding("divergence", "critical", evidence, key, [rows[i]["step"], steps[-1]], values_,
                                    remedies("instability", run.cfg)))  # fmt: skip
            return findings
    if key != "loss":
        return findings
    low = min(range(len(values)), key=values.__getitem__)
    gained = values[0] - values[low]
    if gained <= 0 or low >= len(values) - 3:
        return findings
    bar = values[low] + THRESHOLDS["divergence_giveback"] * gained
    if min(last) >= bar:
        evidence = (
            f"loss fell {values[0]:.3g} -> {values[low]:.3g} by step {steps[low]}, then climbed back to "
            f"{mean(last):.3g} over the last rows, giving back {(mean(last) - values[low]) / gained:.0%} of its gain: "
            "the run diverged"
        )
        values_ = {"start": values[0], "low": values[low], "end": mean(last)}
        findings.append(finding("divergence", "critical", evidence, "loss", [steps[low], steps[-1]], values_,
                                remedies("instability", run.cfg)))  # fmt: skip
    return findings
