"""Pipeline faults, read before any training dynamics: runs in which nothing is being trained at all.

Three signatures need no threshold, because each is an exact value the arithmetic of training only
produces when something upstream is broken:
- a gradient norm of exactly 0 while the loss or the advantages vary: the loss has no path to any
  trainable parameter (frozen or detached parameters, a LoRA adapter outside the forward pass);
- a loss of exactly 0 from the first logged step (supervised or preference runs): there is nothing to
  learn from (every label masked to -100, empty targets);
- a loss pinned at the value that means "no difference" (DPO's -log sigmoid(0) = ln 2): the policy's
  log-ratios equal the reference's on every pair, so the policy equals its reference.
"""

from __future__ import annotations

import statistics

from agents.critic.signals.logrows import RunLog, finding, finite
from agents.critic.signals.methods import GROUP_POLICY, NO_DIFFERENCE_LOSS, PREFERENCE, label
from agents.critic.thresholds import THRESHOLDS, remedies
from bus.schemas import Finding

# A logged float that equals the constant to this precision sits on it, not near it.
PINNED = 1e-3
PIPELINE_FAULTS = ("no parameter update", "nothing to learn from", "policy equals its reference")


def _rewards_vary(run: RunLog, at: set[int] | None = None) -> str | None:
    """Evidence that a group-reward run's advantages are not all 0 (at the given steps, or anywhere)."""
    rows = [r for r in run.train if at is None or r["step"] in at]
    spreads = []
    for row in rows:  # the total's spread, or any reward function's (older logs carry only those)
        stds = [v for k, v in row.items() if (k == "reward_std" or (k.startswith("rewards/") and k.endswith("/std")))
                and isinstance(v, (int, float)) and v > 0]  # fmt: skip
        if stds:
            spreads.append(max(stds))
    split = [
        r for r in rows if isinstance(r.get("frac_reward_zero_std"), (int, float)) and r["frac_reward_zero_std"] < 1
    ]
    if not spreads and not split:
        return None
    parts = []
    if spreads:
        parts.append(f"reward spread (reward_std) above 0 at {len(spreads)} of them (up to {max(spreads):.3g})")
    if split:
        parts.append(f"frac_reward_zero_std below 1 at {len(split)}")
    return ", ".join(parts)


def no_parameter_update(run: RunLog) -> list[Finding]:
    steps, grads = finite(run.train, "grad_norm")
    if len(grads) < THRESHOLDS["min_rows"]:
        return []
    run.checked.append(f"parameter updates (grad_norm exactly 0, {len(grads)} rows)")
    zero = [s for s, g in zip(steps, grads) if g == 0.0]
    if not zero:
        return []
    _, loss = finite(run.train, "loss")
    group = run.method in GROUP_POLICY
    if len(zero) == len(grads):
        if loss and all(v == 0.0 for v in loss) and not group:
            return []  # loss and gradient both 0: nothing_to_learn names the cause
        varies = _rewards_vary(run) if group else None
        moving = len(set(loss)) > 1
        if group and not varies:
            return []  # identical rewards in every group: no advantage, which no_learning_signal reads
        why = f"rows {varies}, so the advantages are not 0" if varies else (
            f"the loss moves ({min(loss):.4g} to {max(loss):.4g})" if moving else f"the loss is {loss[0]:.4g}, not 0"
        )  # fmt: skip
        _, kl = finite(run.train, "kl")
        still = "; kl is 0 at every row too: the policy never left its reference" if kl and max(kl) == 0.0 else ""
        evidence = (
            f"grad_norm is exactly 0 at every one of {len(grads)} logged rows (steps {steps[0]}-{steps[-1]}) while {why}"
            f"{still}: no parameter is being updated. A wiring fault, not a missing learning signal: frozen or "
            "detached parameters (requires_grad off, a no_grad or detach in the forward), or a LoRA adapter that is "
            "not in the forward pass (should the loss fall steadily or kl grow all the same, the norm itself is "
            "misreported, as some DeepSpeed versions log 0)"
        )
        cures = remedies("no parameter update", run.cfg)
        return [finding("no parameter update", "critical", evidence, "grad_norm", steps, {"rows": len(grads)}, cures)]
    share = len(zero) / len(grads)
    if len(zero) < 2 or share < THRESHOLDS["zero_grad_share"]:
        return []
    shown = ", ".join(str(s) for s in zero[:6]) + (", ..." if len(zero) > 6 else "")
    varies = _rewards_vary(run, set(zero)) if group else None
    if group and not varies:
        evidence = (
            f"grad_norm exactly 0 at {len(zero)} of {len(grads)} logged rows (steps {shown}), where every group's "
            "rewards were identical: those steps had no advantage to learn from"
        )
        return [finding("steps that update nothing", "info", evidence, "grad_norm", zero, {"rows": len(zero)}, [])]
    evidence = (
        f"grad_norm exactly 0 at {len(zero)} of {len(grads)} logged rows ({share:.0%}; steps {shown})"
        + (f", though those rows have {varies}" if varies else "")
        + ": those steps update no parameter, and the run trains on the rest only"
    )
    cures = remedies("steps that update nothing", run.cfg)
    values = {"rows": len(zero), "share": share}
    return [finding("steps that update nothing", "warning", evidence, "grad_norm", zero, values, cures)]


def nothing_to_learn(run: RunLog) -> list[Finding]:
    steps, loss = finite(run.train, "loss")
    if run.method in GROUP_POLICY or len(loss) < THRESHOLDS["min_rows"]:
        return []  # a group-policy loss is 0 by construction when the importance ratio is 1 and beta 0
    run.checked.append("loss exactly 0 from the start")
    head = min(len(loss), 3)
    if any(v != 0.0 for v in loss[:head]):
        return []
    zeros = sum(v == 0.0 for v in loss)
    _, grads = finite(run.train, "grad_norm")
    where = (
        f"at every one of {len(loss)} logged rows"
        if zeros == len(loss)
        else f"at {zeros} of {len(loss)} rows from step {steps[0]}"
    )
    grad = " and grad_norm is 0 too" if grads and max(grads) == 0.0 else ""
    evidence = (
        f"train loss is exactly 0 {where}{grad}: no token contributes to the loss, so nothing is being learned "
        "from. The targets are empty or every label is masked (-100): a completion or assistant-only mask that "
        "matches nothing, a response template not found, or a max_length that cuts every target away"
    )
    cures = remedies("nothing to learn from", run.cfg)
    return [finding("nothing to learn from", "critical", evidence, "loss", steps, {"rows": zeros}, cures)]


def policy_equals_reference(run: RunLog) -> list[Finding]:
    constant = NO_DIFFERENCE_LOSS.get(run.method)
    loss_type = run.meta.get("loss_type")
    if constant is None or (loss_type not in (None, "sigmoid")) or run.method not in PREFERENCE:
        return []
    steps, loss = finite(run.train, "loss")
    if len(loss) < THRESHOLDS["min_rows"]:
        return []
    run.checked.append(f"{label(run.method)} loss against ln 2 (policy equal to its reference)")
    on = [v for v in loss if abs(v - constant) <= PINNED]
    if len(on) < THRESHOLDS["pinned_share"] * len(loss):
        return []
    parts = [
        f"{label(run.method)} loss {statistics.median(loss):.4f} at {len(on)} of {len(loss)} logged rows, ln 2 = {constant:.4f}"
    ]
    _, margins = finite(run.train, "rewards/margins")
    if margins:
        parts.append(f"rewards/margins within ±{max(abs(m) for m in margins):.3g}")
    _, grads = finite(run.train, "grad_norm")
    if grads:
        parts.append(f"grad_norm median {statistics.median(grads):.3g}")
    evidence = (
        "; ".join(parts) + ": -log sigmoid(0) at every step, the policy's log-ratio equals the reference's on every "
        "pair, so the policy equals its reference: it is not being updated (learning rate 0, frozen weights), or "
        "beta is 0, or the reference is the policy itself"
    )
    cures = remedies("policy equals its reference", run.cfg)
    return [finding("policy equals its reference", "critical", evidence, "loss", steps, {"rows": len(on)}, cures)]


PIPELINE_RULES = (no_parameter_update, nothing_to_learn, policy_equals_reference)
