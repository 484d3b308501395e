"""What the logged evaluation says: over-fitting, memorisation, no held-out gain, best checkpoint, odd logging.

The Trainer logs `eval_loss` and `eval_<metric>` rows when an eval set is given; they are held-out
evidence the run carries with it. Over-fitting is eval_loss rising from its minimum over several later
evaluations while the train loss keeps falling, with the step to go back to. A train loss far above
eval_loss is not a generalisation gap (none runs that way) but two losses on different scales. Inside
a workspace intern's own held-out evaluation stays the judge; these add to it.
"""

from __future__ import annotations

import math
import re
import statistics

from agents.critic.signals.logrows import RunLog, finding, finite, mean, moved, saved_at_or_before, since_restart, tail
from agents.critic.thresholds import THRESHOLDS, remedies
from bus.schemas import Finding

NOT_A_METRIC = re.compile(r"runtime|per_second|num_tokens|epoch|^eval_step|samples|flos|num_input", re.IGNORECASE)
LOWER_IS_BETTER = re.compile(r"loss|perplexity|ppl|error|wer|cer|mse|mae|rmse", re.IGNORECASE)


def _eval_keys(rows: list[dict]) -> list[str]:
    keys = {k for row in rows for k in row if k.startswith("eval_") and not NOT_A_METRIC.search(k)}
    return sorted((k for k in keys if len(finite(rows, k)[1]) >= 1), key=lambda k: (k != "eval_loss", k))


def _train_loss_at(train_steps: list[int], train_loss: list[float], step: int) -> float | None:
    """The train loss around `step`: the median of the (up to) three rows logged nearest before it."""
    before = [v for s, v in zip(train_steps, train_loss) if s <= step][-3:]
    return statistics.median(before) if before else None


def _nearest_checkpoint(run: RunLog, step: int) -> str:
    """The saved checkpoint that holds the model at `step` or earlier; a later one has already moved on."""
    saved = saved_at_or_before(run.meta, step)
    if saved is None:
        return "; no saved checkpoint at or before it is listed" if run.meta.get("checkpoints") else ""
    return f"; checkpoint-{saved} is the last saved at or before it"


def logged_eval(run: RunLog) -> list[Finding]:
    steps, evals = finite(run.rows, "eval_loss")
    keys = _eval_keys(run.rows)
    if not keys:
        return []
    findings: list[Finding] = []
    t_steps, t_loss = finite(run.train, "loss")
    if run.cfg.method != "sft":
        evals = []  # GRPO's eval_loss is its policy loss on eval prompts, not a held-out fit: only the best checkpoint
    if 0 < len(evals) < THRESHOLDS["min_rows"]:
        run.unchecked.append(f"over-fitting on the logged eval: only {len(evals)} eval_loss row(s): too little data")
    elif evals:
        findings += _scale_anomaly(run, steps, evals, t_steps, t_loss)
        low = min(range(len(evals)), key=evals.__getitem__)
        run.checked.append(
            f"over-fitting, memorisation and held-out progress (eval_loss {evals[0]:.4g} -> {evals[-1]:.4g} over "
            f"{len(evals)} evaluations, lowest at step {steps[low]})"
        )
        over = _over_fitting(run, steps, evals, t_steps, t_loss)
        findings += over or _no_progress(run, steps, evals, t_loss)
    best = _best_checkpoint(run, keys)
    return findings + ([best] if best else [])


def _over_fitting(run, steps, evals, t_steps, t_loss) -> list[Finding]:
    low = min(range(len(evals)), key=evals.__getitem__)
    after = evals[low + 1 :]
    rise = THRESHOLDS["overfit_rise"]
    if (
        evals[low] <= 0
        or len(after) < 2
        or mean(after) < evals[low] * (1 + rise)
        or after[-1] < evals[low] * (1 + rise)
    ):
        return []
    peak = max(range(low + 1, len(evals)), key=evals.__getitem__)
    at_best = _train_loss_at(t_steps, t_loss, steps[low])
    end = mean(t_loss[-3:]) if t_loss else None
    if at_best is not None and end is not None and end >= at_best:
        return []  # train loss rose too: the run is getting worse everywhere, which divergence reads
    memorised = end is not None and end <= THRESHOLDS["memorise_loss"]
    train = (
        f" while train loss fell {at_best:.3g} -> {end:.3g}" if at_best is not None and end is not None else
        " (no train loss logged)"
    )  # fmt: skip
    epoch = next((r.get("epoch") for r in run.rows if r.get("step") == steps[low] and "eval_loss" in r), None)
    where = f"step {steps[low]}" + (f" (epoch {epoch:.3g})" if isinstance(epoch, (int, float)) else "")
    evidence = (
        f"eval_loss lowest {evals[low]:.4g} at {where}, then up to {evals[peak]:.4g} at step {steps[peak]} "
        f"({evals[peak] / evals[low] - 1:+.0%}) and {after[-1]:.4g} at the last evaluation{train}: "
        + ("the model memorises its training data (train loss near 0) and generalises worse"
           if memorised else "the model fits its training data at held-out's expense")
        + f"; go back to step {steps[low]}{_nearest_checkpoint(run, steps[low])}"
    )  # fmt: skip
    values = {
        "best_step": steps[low],
        "eval_loss_min": evals[low],
        "eval_loss_peak": evals[peak],
        "eval_loss_last": after[-1],
    }
    if end is not None:
        values["train_loss_last"] = end
    name = "memorisation" if memorised else "over-fitting"
    cures = remedies("over-fitting on the logged eval", run.cfg, best_step=steps[low])
    return [finding(name, "warning", evidence, "eval_loss", [steps[low], steps[-1]], values, cures)]


def _no_progress(run, steps, evals, t_loss) -> list[Finding]:
    best = min(evals)
    m = moved(t_loss)
    train_fell = m is not None and m[3] and -m[2] / max(abs(m[0]), 1e-12) >= 0.10
    if evals[0] <= 0 or (evals[0] - best) / evals[0] >= THRESHOLDS["eval_flat"] or not train_fell:
        return []
    memorised = m[1] <= THRESHOLDS["memorise_loss"]
    evidence = (
        f"eval_loss {evals[0]:.4g} at step {steps[0]}, never better than {best:.4g} over {len(evals)} evaluations, "
        f"while train loss fell {m[0]:.3g} -> {m[1]:.3g}: "
        + ("the model memorises its training data (train loss near 0) and nothing of it carries to held-out"
           if memorised else "training improves the training data only")
    )  # fmt: skip
    values = {"eval_loss_first": evals[0], "eval_loss_best": best, "train_first": m[0], "train_last": m[1]}
    name = "memorisation" if memorised else "no held-out improvement"
    cures = remedies("over-fitting on the logged eval" if memorised else name, run.cfg, best_step=steps[0])
    return [finding(name, "warning", evidence, "eval_loss", steps, values, cures)]


def _scale_anomaly(run, steps, evals, t_steps, t_loss) -> list[Finding]:
    pairs = []
    for step, value in zip(steps, evals):
        train = [v for s, v in zip(t_steps, t_loss) if s <= step][-1:]
        if train and value > 0:
            pairs.append((step, train[0], value))
    pairs = pairs[-3:]
    if len(pairs) < 2:
        return []
    ratios = [t / e for _, t, e in pairs]
    if not all(math.isfinite(r) for r in ratios) or min(ratios) < THRESHOLDS["train_eval_scale"]:
        return []
    step, train, value = pairs[-1]
    span = (
        f"{min(ratios):.0f}x" if round(min(ratios)) == round(max(ratios)) else f"{min(ratios):.0f}-{max(ratios):.0f}x"
    )
    evidence = (
        f"eval_loss {evals[0]:.3g} -> {evals[-1]:.3g} over {len(evals)} evaluations, but train loss {train:.3g} "
        f"against eval_loss {value:.3g} at step {step} ({span} over the last {len(pairs)} evaluations): a model is never this much "
        "better on held-out data than on what it trains on, so the two are on different scales (e.g. a loss summed "
        "over gradient-accumulation steps or tokens instead of averaged). A logging anomaly, not a generalisation "
        "gap: read eval_loss for progress"
    )
    values = {"train_loss": train, "eval_loss": value, "ratio": train / value}
    return [finding("logging anomaly", "warning", evidence, "loss", [pairs[0][0], step], values, [])]


def _quality_keys(run: RunLog, keys: list[str]) -> tuple[list[str], str]:
    """The eval keys that measure quality for this method, first; for GRPO eval_loss is the policy loss on eval
    prompts (near 0 by construction), so its eval reward or accuracy decides, and eval_loss is left out."""
    if run.cfg.method != "grpo":
        return keys, ""
    quality = [
        k for k in keys if re.search(r"reward|accuracy|correct|pass|score|f1|exact", k) and not re.search(r"std$", k)
    ]
    rewards = sorted(quality, key=lambda k: (k != "eval_reward", k))
    note = "; eval_loss is not a quality measure for GRPO (its policy loss), not used" if "eval_loss" in keys else ""
    return rewards, note


def _best_checkpoint(run: RunLog, keys: list[str]) -> Finding | None:
    parts, values, first_step = [], {}, None
    keys, note = _quality_keys(run, keys)
    for key in keys:
        steps, vals = finite(run.rows, key)
        if len(vals) < 2:
            continue
        lower = bool(LOWER_IS_BETTER.search(key))
        at = (min if lower else max)(range(len(vals)), key=vals.__getitem__)
        last = " (the last evaluation)" if at == len(vals) - 1 else ""
        saved = _nearest_checkpoint(run, steps[at]).removeprefix("; ") if first_step is None else ""
        parts.append(
            f"{key} {'lowest' if lower else 'highest'} {vals[at]:.4g} at step {steps[at]}{last}"
            + (f" ({saved})" if saved else "")
        )
        values[f"{key}_best_step"] = steps[at]
        first_step = steps[at] if first_step is None else first_step
    if not parts:
        if note:
            run.unchecked.append("best checkpoint: only eval_loss is logged, and for GRPO it is not a quality measure")
        return None
    trainer = run.meta.get("best_model_checkpoint")
    metric = str(run.meta.get("metric_for_best_model") or "")
    if trainer and not (run.cfg.method == "grpo" and (not metric or "loss" in metric)):
        best = run.meta.get("best_metric")
        shown = f"{best:.4g}" if isinstance(best, (int, float)) else str(best)
        parts.append(f"the trainer's own best: {str(trainer).rstrip('/').rsplit('/', 1)[-1]} (best_metric {shown})")
    elif trainer:
        parts.append(
            f"the trainer's own best ({str(trainer).rstrip('/').rsplit('/', 1)[-1]}) was chosen by eval_loss: ignored"
        )
    evidence = "best by the logged evaluation: " + "; ".join(parts) + note
    return finding("best checkpoint", "info", evidence, keys[0], [first_step], values, [])


def loss_plateau(run: RunLog) -> list[Finding]:
    """SFT's train loss that does not move: a plateau, with the learning rate and gradient that explain it."""
    rows, restart = since_restart(run.train)
    steps, loss = finite(rows, "loss")
    m = moved(loss)
    if run.cfg.method != "sft" or run.found(
        "policy equals its reference", "nothing to learn from", "no parameter update"
    ):
        return []
    if m is None:
        if restart is not None and len(finite(run.train, "loss")[1]) >= 8:
            run.unchecked.append(
                f"loss plateau: the run restarts its schedule at step {restart} and fewer than 8 rows follow; "
                "a trend is not read across a restart"
            )
        return []
    first, last, diff, _ = m
    if restart is not None:
        run.checked.append(f"loss trend read from step {restart} on, after the restart (not across it)")
    run.checked.append(f"loss plateau (train loss {first:.4g} -> {last:.4g} from the first quarter to the last)")
    if first <= THRESHOLDS["memorise_loss"] or abs(diff) / first >= THRESHOLDS["sft_loss_flat"]:
        return []
    why = []
    _, lrs = finite(run.train, "learning_rate")
    if lrs and max(lrs) <= THRESHOLDS["lr_zero"]:
        why.append("the learning rate is 0 at every logged row")
    _, grads = finite(run.train, "grad_norm")
    if grads and max(grads) <= THRESHOLDS["grad_norm_dead"]:
        why.append("grad_norm is 0 at every row: no parameter receives a gradient")
    evidence = (
        f"train loss {first:.4g} in the first quarter, {last:.4g} in the last ({diff / first:+.1%}) over steps "
        f"{steps[0]}-{steps[-1]}: the loss is flat, the model is not learning" + (f" ({'; '.join(why)})" if why else "")
    )
    values = {"loss_first_quarter": first, "loss_last_quarter": last}
    return [finding("loss plateau", "warning", evidence, "loss", steps, values, remedies("loss plateau", run.cfg))]


def eval_set_size(run: RunLog) -> int | None:
    """Examples in the eval set, from what the Trainer logs with each evaluation: samples/s times runtime."""
    sizes = [
        round(r["eval_samples_per_second"] * r["eval_runtime"])
        for r in run.rows
        if isinstance(r.get("eval_samples_per_second"), (int, float)) and isinstance(r.get("eval_runtime"), (int, float))
        and math.isfinite(r["eval_samples_per_second"] * r["eval_runtime"])
    ]  # fmt: skip
    return int(statistics.median(sizes)) if sizes else None


def memorisation_risk(run: RunLog) -> list[Finding]:
    """A supervised train loss near 0 after many passes, with no eval or one too small to show over-fitting.

    Near-0 loss on the training data after several epochs is what fitting it verbatim looks like; without an
    eval that shows held-out improving to the end, that is a risk to name, never a healthy run.
    """
    steps, loss = finite(run.train, "loss")
    if not run.supervised or len(loss) < THRESHOLDS["min_rows"] or run.found("memorisation", "over-fitting"):
        return []
    end = mean(tail(loss))
    epochs = max((r["epoch"] for r in run.rows if isinstance(r.get("epoch"), (int, float))), default=None)
    if epochs is None and isinstance(run.meta.get("num_train_epochs"), (int, float)):
        epochs = run.meta["num_train_epochs"]  # the planned passes, when the rows carry no epoch
    run.checked.append(
        f"memorisation risk (train loss {end:.3g} at the end" + (f", {epochs:.3g} epochs)" if epochs else ")")
    )
    if end > THRESHOLDS["memorise_loss"] or epochs is None or epochs < THRESHOLDS["memorise_epochs"]:
        return []
    per_epoch = max(steps) / epochs if epochs else None
    e_steps, evals = finite(run.rows, "eval_loss")
    best_step = None
    if not evals:
        held = "no eval_loss is logged, so nothing shows whether it generalises"
    else:
        low = min(range(len(evals)), key=evals.__getitem__)
        size = eval_set_size(run)
        tiny = size is not None and size < THRESHOLDS["eval_set_tiny"]
        on = f" on about {size} eval examples" + (" (too few to trust)" if tiny else "") if size else ""
        if low == len(evals) - 1 and len(evals) >= THRESHOLDS["min_rows"] and not tiny:
            return []  # held-out still improving at the last of several evaluations: the fit generalises so far
        best_step = e_steps[low]
        if low < len(evals) - 1:
            held = (
                f"eval_loss lowest {evals[low]:.4g} at step {best_step}, then {evals[-1]:.4g} at step {e_steps[-1]} "
                f"({evals[-1] / evals[low] - 1:+.0%}) over only {len(evals)} evaluations{on}: early over-fitting, weak "
                f"evidence; stop near step {best_step}{_nearest_checkpoint(run, best_step)}"
            )
        else:
            held = f"only {len(evals)} evaluation(s) of eval_loss{on}: too few to show over-fitting"
    evidence = (
        f"train loss {loss[0]:.3g} -> {end:.3g} over {epochs:.3g} epochs"
        + (
            f" of about {per_epoch:.3g} optimizer step(s) each (a small training set)"
            if per_epoch and per_epoch <= 50
            else ""
        )
        + f"; {held}: the model fits its training examples nearly exactly, a memorisation risk, not a healthy run"
    )
    values = {"train_loss_end": end, "epochs": float(epochs)} | ({"best_step": best_step} if best_step else {})
    cures = remedies("memorisation risk", run.cfg, best_step=best_step)
    return [finding("memorisation risk", "warning", evidence, "loss", steps, values, cures)]
