"""Preference runs (DPO, CPO/SimPO, ORPO, KTO): does the policy learn to tell chosen from rejected?

TRL logs the implicit rewards `rewards/chosen` and `rewards/rejected` (beta times the policy's
log-ratio against the reference, or the length-normalised log-probability for SimPO), their difference
`rewards/margins` and `rewards/accuracies`, the share of pairs whose chosen reward is the higher. A
run that learns opens the margin and lifts accuracy above one half; margins that never leave 0 with
accuracy at chance learned no preference. The loss pinned at its no-difference value is a pipeline
fault, read in pipeline.py first.
"""

from __future__ import annotations

from agents.critic.signals.logrows import RunLog, finding, finite, mean, moved, tail
from agents.critic.signals.methods import PREFERENCE, label
from agents.critic.thresholds import THRESHOLDS, remedies
from bus.schemas import Finding


def preference_margins(run: RunLog) -> list[Finding]:
    steps, margins = finite(run.train, "rewards/margins")
    if run.method not in PREFERENCE or len(margins) < THRESHOLDS["min_rows"]:
        return []
    _, accuracies = finite(run.train, "rewards/accuracies")
    acc = mean(tail(accuracies)) if accuracies else None
    shown_acc = f", rewards/accuracies {accuracies[0]:.2f} -> {acc:.2f}" if acc is not None else ""
    run.checked.append(f"preference margins (rewards/margins {margins[0]:.3g} -> {mean(tail(margins)):.3g}{shown_acc})")
    if run.found("policy equals its reference"):
        return []
    widest = max(abs(m) for m in margins)
    at_chance = acc is None or acc <= THRESHOLDS["preference_chance"]
    if widest <= THRESHOLDS["margin_zero"] and at_chance:
        evidence = (
            f"rewards/margins never leaves 0 (within ±{widest:.3g} over {len(margins)} logged rows, steps "
            f"{steps[0]}-{steps[-1]}){shown_acc}: the policy does not tell chosen from rejected, no preference is learned"
        )
        values = {"margin_max_abs": widest} | ({"accuracy_tail": acc} if acc is not None else {})
        cures = remedies("no preference learned", run.cfg)
        return [finding("no preference learned", "warning", evidence, "rewards/margins", steps, values, cures)]
    m = moved(margins)
    if m is not None and m[3] and m[2] < 0:
        evidence = (
            f"{label(run.method)} rewards/margins {m[0]:.3g} -> {m[1]:.3g} from the first quarter to the last "
            f"(beyond its noise){shown_acc}: the policy separates the pairs less as it trains"
        )
        values = {"margin_first_quarter": m[0], "margin_last_quarter": m[1]}
        cures = remedies("no preference learned", run.cfg)
        return [finding("preference margin shrinking", "warning", evidence, "rewards/margins", steps, values, cures)]
    return []
