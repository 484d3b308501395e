"""Spikes and non-finite values: is the run numerically sound? (Restarts and divergence: resumes.py.)

A spike is judged three ways before it is called anything: against the run's own median, against an
absolute scale (a grad_norm under the clipping threshold moved the weights no further than a normal
step, whatever its ratio to a tiny median), and by what followed. One that is back near its median
within a few rows is transient; one that stays up, or a loss that gives back what it had gained, is
divergence; one while the run is still settling (warm-up, a loss far above its final level) is an
unstable start. One non-finite gradient between normal rows is a step the loss scaler skipped.
"""

from __future__ import annotations

import math
import statistics

from agents.critic.signals.logrows import RunLog, finding, finite, mean, series, tail
from agents.critic.thresholds import THRESHOLDS, remedies
from bus.schemas import Finding

NAMES = {"grad_norm": ("gradient blow-up", "transient gradient spike"), "kl": ("KL blow-up", "transient KL spike")}


def _floor(run: RunLog, key: str) -> float:
    return run.grad_floor if key == "grad_norm" else THRESHOLDS["kl_spike_min"]


def _warming_up(run: RunLog, step: int) -> bool:
    """The learning rate is still rising at `step` (a warm-up), read from the logged schedule."""
    steps, lrs = finite(run.train, "learning_rate")
    if len(lrs) < 3 or lrs[0] >= 0.99 * max(lrs):
        return False
    top = next(s for s, v in zip(steps, lrs) if v >= 0.99 * max(lrs))
    return step < top


def _unsettled(run: RunLog, step: int) -> bool:
    """SFT's loss at or before `step` is still far above where it ends: the run had not settled yet."""
    steps, loss = finite(run.train, "loss")
    if run.cfg.method != "sft" or len(loss) < 4:
        return False
    end = statistics.median(loss[-max(3, len(loss) // 4) :])
    before = [v for s, v in zip(steps, loss) if s <= step]
    return end > 0 and bool(before) and min(before[-2:]) >= THRESHOLDS["early_loss_ratio"] * end


def _loss_jumped(run: RunLog, step: int) -> bool:
    steps, loss = finite(run.train, "loss")
    if run.cfg.method != "sft" or step not in steps:
        return False
    i = steps.index(step)
    around = loss[max(0, i - 3) : i] + loss[i + 1 : i + 4]
    return (
        bool(around)
        and statistics.median(around) > 0
        and loss[i] >= THRESHOLDS["corroborate_loss"] * statistics.median(around)
    )


def _followed(run: RunLog, step: int) -> str | None:
    """The SFT train loss or eval_loss after `step` stays well above where it was before: the damage lasted."""
    if run.cfg.method != "sft":
        return None
    for key, rows in (("loss", run.train), ("eval_loss", run.rows)):
        steps, values = finite(rows, key)
        before = [v for s, v in zip(steps, values) if s < step][-5:]
        after = [v for s, v in zip(steps, values) if s > step]
        if len(before) < 2 or len(after) < 3 or statistics.median(before) <= 0:
            continue
        ref, end = statistics.median(before), mean(after[-3:])
        if min(after[-3:]) >= 1.2 * ref:
            return f"{key} {ref:.3g} before it, {end:.3g} at the end"
    return None


def _isolated(values: list[float], bad: list[int], median: float) -> bool:
    """Few non-finite rows among many, each between normal finite neighbours, and the run ends finite."""
    finite_rows = len(values) - len(bad)
    if not bad or len(bad) > 2 or finite_rows < 10 * len(bad) or not math.isfinite(values[-1]):
        return False
    normal = THRESHOLDS["recovered_ratio"] * median if median > 0 else math.inf
    for i in bad:
        around = [values[j] for j in (i - 1, i + 1) if 0 <= j < len(values)]
        if not around or any(not math.isfinite(v) or v > normal for v in around):
            return False
    return True


def _loss_finite(run: RunLog, skipped: frozenset[int] | set[int] = frozenset()) -> bool:
    """The loss is finite at every row but the skipped steps (an overflow step can log a non-finite loss too)."""
    steps, loss = series(run.train, "loss")
    return all(math.isfinite(v) or s in skipped for s, v in zip(steps, loss))


def _spike(run: RunLog, key: str) -> dict | None:
    steps, values = series(run.train, key)
    if len(values) < 4:
        return None
    bad = [i for i, v in enumerate(values) if not math.isfinite(v)]
    good = [v for v in values if math.isfinite(v)]
    skip = int(len(values) * THRESHOLDS["warmup_share"])
    base = [v for v in values[skip:] if math.isfinite(v)] or good
    median = statistics.median(base) if base else 0.0
    if bad:
        return {"key": key, "at": bad[0], "steps": steps, "values": values, "median": median, "bad": True}
    at = max(range(len(values)), key=values.__getitem__)
    peak = values[at]
    ratio = math.inf if median <= 0 < peak else (peak / median if median > 0 else 0.0)
    floor = _floor(run, key)
    if ratio < THRESHOLDS["spike_ratio_warning"] or peak <= floor:
        return None
    normal = THRESHOLDS["recovered_ratio"] * median
    after = values[at + 1 :]
    back = next(
        (j for j in range(at + 1, min(len(values), at + 1 + int(THRESHOLDS["recover_rows"]))) if values[j] <= normal),
        None,
    )
    high = [i for i, v in enumerate(values) if v >= THRESHOLDS["spike_ratio_warning"] * median and v > floor]
    return {
        "key": key, "at": at, "steps": steps, "values": values, "median": median, "bad": False, "peak": peak,
        "ratio": ratio, "abs": peak / floor, "back": back, "stays_up": len(after) >= 2 and min(after) > normal,
        "last": not after, "count": len(high), "high": high,
    }  # fmt: skip


def instability(run: RunLog) -> list[Finding]:
    spikes = {key: _spike(run, key) for key in NAMES}
    findings = []
    for key, (blow_name, transient_name) in NAMES.items():
        n = len(series(run.train, key)[1])
        if n >= 4:
            run.checked.append(f"{key} spikes ({n} rows, against its median and {_floor(run, key):g})")
        s = spikes[key]
        if s is None:
            continue
        steps, values, median, at = s["steps"], s["values"], s["median"], s["at"]
        cures = remedies("instability", run.cfg)
        if s["bad"]:
            evidence = (
                f"{key} {values[at]} at step {steps[at]} against a median of {median:.3g} over steps "
                f"{steps[0]}-{steps[-1]} (non-finite)"
            )
            bad = [i for i, v in enumerate(values) if not math.isfinite(v)]
            if _isolated(values, bad, median) and _loss_finite(run, {steps[i] for i in bad}):
                # A mixed-precision loss scaler meets a non-finite gradient, skips that one step and lowers its
                # scale: the rows around it are normal, so the run is not broken.
                shown = ", ".join(f"{values[i]} at step {steps[i]}" for i in bad)
                evidence = (
                    f"{key} {shown} among {len(values) - len(bad)} finite rows (median {median:.3g}); the rows before "
                    "and after are normal and the loss is finite throughout: a skipped step (an fp16/bf16 overflow "
                    "the loss scaler skipped), not a blow-up"
                )
                findings.append(finding("skipped step", "info", evidence, key, [steps[i] for i in bad],
                                        {"rows": float(len(bad))}, []))  # fmt: skip
                continue
            severity = "critical"
            if all(math.isinf(values[i]) for i in bad) and math.isfinite(values[-1]) and len(bad) <= 2:
                evidence += f"; {len(bad)} row(s) of inf: an overflow step, likely skipped"
                severity = "warning"
            findings.append(finding(blow_name, severity, evidence, key, [steps[at]], {"median": median}, cures))
            continue
        peak, ratio, step = s["peak"], s["ratio"], steps[at]
        head = f"{key} {peak:.3g} at step {step} against a median of {median:.3g} over steps {steps[0]}-{steps[-1]} ({ratio:.0f}x"
        head += f", {s['abs']:.0f}x the {'clipping threshold' if key == 'grad_norm' else 'noise level'} {_floor(run, key):g})"
        if s["count"] > 1:
            head += f"; {s['count']} rows that high in all"
        values_ = {"peak": peak, "median": median, "ratio": ratio}
        other = spikes["kl" if key == "grad_norm" else "grad_norm"]
        together = other is not None and not other["bad"] and any(steps[at] == other["steps"][i] for i in other["high"])
        corroborated = together or (key == "grad_norm" and _loss_jumped(run, step))
        # The start: the first logged rows, the warm-up share, a rising learning rate, or (in the first third) a
        # loss still far above where it ends. Later, a loss that keeps falling is no excuse for a spike.
        early = (
            at <= 1
            or at < int(len(values) * THRESHOLDS["warmup_share"])
            or _warming_up(run, step)
            or (at < len(values) / 3 and _unsettled(run, step))
        )
        followed = _followed(run, step)
        if s["stays_up"] or followed:
            lasting = f"it stays up ({min(values[at + 1 :]):.3g} or more to the end)" if s["stays_up"] else ""
            lasting += ("; " if lasting and followed else "") + (f"the loss followed: {followed}" if followed else "")
            evidence = head + f"; {lasting}: the run diverged"
            findings.append(finding(blow_name, "critical", evidence, key, [step], values_, cures))
        elif early:
            shown = ", ".join(f"{values[i]:.3g}" for i in s["high"][:4])
            evidence = (
                f"{key} {shown} at steps {', '.join(str(steps[i]) for i in s['high'][:4])}, then around {median:.3g} "
                f"(the median over steps {steps[0]}-{steps[-1]}): an unstable start that the run recovered from, "
                "not divergence"
            )
            findings.append(finding("unstable start", "info", evidence, key, [steps[s['high'][0]], step], values_,
                                    remedies("unstable start", run.cfg)))  # fmt: skip
        elif s["last"] or corroborated:
            extreme = ratio >= THRESHOLDS["spike_ratio_critical"] and s["abs"] >= THRESHOLDS["spike_ratio_critical"]
            severity = "critical" if extreme else "warning"
            if s["last"]:
                head += "; at the last logged row, so whether it recovers is not logged"
            elif s["back"] is not None:
                head += f"; back to {values[s['back']]:.3g} at step {steps[s['back']]}"
            why = (
                "kl spiked with it"
                if key == "grad_norm" and together
                else "grad_norm spiked with it"
                if together
                else "the loss jumped with it"
            )
            evidence = head + ("" if s["last"] else f" ({why})")
            if s["back"] is not None and extreme:
                evidence += ": it recovered, but one step this far beyond both its median and its absolute scale can throw the weights far"
            elif s["back"] is not None:
                evidence += ": a transient blow-up the run recovered from, not divergence"
            if s["abs"] < THRESHOLDS["spike_abs_warning"]:
                severity = "info" if not s["last"] else "warning"
            if s["back"] is not None and s["back"] == at + 1 and not extreme and s["count"] <= 2:
                # Back to normal at the very next row: one bad batch moved both metrics, and the run went on.
                evidence += "; back to normal at the next row"
                findings.append(finding(transient_name, "info", evidence, key, [step], values_, []))
                continue
            findings.append(finding(blow_name, severity, evidence, key, [step], values_, cures))
        else:
            back = (
                f"back to {values[s['back']]:.3g} at step {steps[s['back']]}" if s["back"] is not None else "then lower"
            )
            evidence = head + f"; {back}, and nothing else moved with it: a transient spike, not divergence"
            extreme = ratio >= THRESHOLDS["spike_ratio_critical"] and s["abs"] >= THRESHOLDS["spike_ratio_critical"]
            if extreme:  # too large to wave through even alone: one such step can throw the weights far
                findings.append(finding(blow_name, "warning", evidence, key, [step], values_, cures))
            else:
                findings.append(finding(transient_name, "info", evidence, key, [step], values_, []))
    steps, region = finite(run.train, "clip_ratio/region_mean")
    # On-policy GRPO (num_iterations 1) clips nothing: 0 is the expected value and never reaches this.
    if len(region) >= THRESHOLDS["min_rows"] and mean(tail(region)) >= THRESHOLDS["clip_region_high"]:
        high = mean(tail(region))
        evidence = (
            f"clip_ratio/region_mean last-quarter mean {high:.2f} (num_iterations {run.cfg.num_iterations}): "
            "the trust region clips a large share of tokens"
        )
        name = "trust-region clipping high"
        cures = remedies("instability", run.cfg)
        findings.append(finding(name, "warning", evidence, "clip_ratio/region_mean", steps, {"tail_mean": high}, cures))
    return findings


def _between_finite(run: RunLog, key: str, bad: list[tuple[int, str]]) -> bool:
    """Each bad row's logged neighbours (of the same key) are finite numbers."""
    logged = [row for row in run.rows if key in row]
    steps = [row["step"] for row in logged]
    for step, _ in bad:
        i = steps.index(step)
        for j in (i - 1, i + 1):
            value = logged[j][key] if 0 <= j < len(logged) else None
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                return False
    return True


def non_finite(run: RunLog) -> list[Finding]:
    """NaN, inf or null in any logged metric: said with where it starts; never averaged into a trend."""
    reported = {f.metric for f in run.findings if "non-finite" in f.evidence or f.name == "skipped step"}
    keys = sorted({k for row in run.rows for k in row if k not in ("step", "epoch")} - reported)
    findings = []
    for key in keys:
        bad = []
        for row in run.rows:
            if key not in row:
                continue
            value = row[key]
            if value is None or isinstance(value, str) and value.lower() in ("nan", "inf", "-inf", "infinity"):
                bad.append((row["step"], str(value)))
            elif isinstance(value, float) and not math.isfinite(value):
                bad.append((row["step"], str(value)))
        if not bad:
            continue
        last_row = next(row for row in reversed(run.rows) if key in row)
        ends_bad = bad[-1][0] == last_row["step"]
        logged = sum(key in row for row in run.rows)
        if (
            key in NAMES
            and not ends_bad
            and len(bad) <= 2
            and logged >= 11 * len(bad)
            and _between_finite(run, key, bad)
        ):
            # A gradient logged as null/NaN once between finite rows: the step the loss scaler skipped.
            where = ", ".join(f"{v} at step {s}" for s, v in bad)
            evidence = (
                f"{key} {where} among {logged - len(bad)} finite rows, the rows around it finite: a skipped step "
                "(a non-finite gradient the optimizer step was skipped for), not a blow-up; left out of every trend"
            )
            findings.append(
                finding("skipped step", "info", evidence, key, [s for s, _ in bad], {"rows": float(len(bad))}, [])
            )
            continue
        core = key in ("loss", "eval_loss", "reward")
        skipped = {st for f in run.findings + findings if f.name == "skipped step" for st in f.steps}
        if key == "loss" and not ends_bad and {st for st, _ in bad} <= skipped:
            evidence = f"loss is {', '.join(v for _, v in bad)} at step(s) {', '.join(str(st) for st, _ in bad)}, the skipped step(s)"
            findings.append(
                finding("skipped step", "info", evidence, key, [bad[0][0], bad[-1][0]], {"rows": float(len(bad))}, [])
            )
            continue
        severity = "critical" if core and (ends_bad or len(bad) >= 2) else "warning"
        shown = ", ".join(sorted({v for _, v in bad}))
        evidence = (
            f"{key} is {shown} at {len(bad)} logged row(s) from step {bad[0][0]}"
            + (" to the end" if ends_bad else f" (last at step {bad[-1][0]})")
            + (": the run is numerically broken there" if core else ": those rows are left out of every trend")
        )
        cures = remedies("instability", run.cfg) if core else []
        findings.append(finding("non-finite values", severity, evidence, key, [bad[0][0], bad[-1][0]],
                                {"rows": float(len(bad))}, cures))  # fmt: skip
    if findings or run.rows:
        run.checked.append("non-finite values (NaN, inf, null)")
    return findings
