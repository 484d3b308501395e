"""Read a finished run the way an expert would: training signals, held-out score, data card.

The held-out side (gain over the parent, weak slices, the card's label agreement) lives here; the
training-signal rules and every threshold live in agents/critic/rules.py, in one table.
"""

from __future__ import annotations

from agents.critic.rules import PAPERS, THRESHOLDS, HeldOut, gain_interval, remedies
from agents.critic.signals import quarters, series, signal_findings
from bus.schemas import (
    DatasetCard,
    Diagnosis,
    Evaluation,
    Finding,
    Goal,
    Recommendation,
    Remedy,
    RunResult,
    TrainingConfig,
)

__all__ = [
    "PAPERS",
    "THRESHOLDS",
    "diagnose_run",
    "gain_interval",
    "held_out",
    "keep_verdict",
    "render_diagnosis_body",
]

# Findings whose remedies a retry can apply when GRPO added nothing: they name a training-signal cause.
# Plateau and reward hacking are left out on purpose: more of the same run does not cure them.
ADOPTABLE = {
    "no learning signal": ["grpo", "dynamic-sampling"],
    "truncation / length blow-up": ["grpo", "overlong", "length"],
    "entropy collapse": ["grpo", "entropy", "exploration"],
    "gradient blow-up": ["grpo", "stability"],
    "KL blow-up": ["grpo", "stability"],
    "trust-region clipping high": ["grpo", "stability"],
}


def held_out(
    config: TrainingConfig,
    evaluation: Evaluation | None,
    base: Evaluation | None,
    parent: Evaluation | None,
    noise_floor: float = 0.0,
) -> HeldOut | None:
    """The run against what it started from: its parent's evaluation, or the base model's when it had no parent."""
    if evaluation is None:
        return None
    if parent is not None:
        reference, against = parent, f"parent {config.parent_run}"
    elif config.parent_run is None and base is not None:
        reference, against = base, "base model"
    else:
        return None
    low, high = gain_interval(evaluation.score, reference.score, evaluation.n)
    real = low > 0 and evaluation.score - reference.score > noise_floor
    return HeldOut(evaluation.score, reference.score, against, low, high, real)


def diagnose_run(
    goal: Goal,
    config: TrainingConfig,
    result: RunResult,
    evaluation: Evaluation | None,
    base: Evaluation,
    parent: Evaluation | None,
    card: DatasetCard | None,
    metrics: list[dict],
    noise_floor: float = 0.0,
    best: Evaluation | None = None,
    best_id: str | None = None,
) -> Diagnosis:
    """A gain counts as real only if its 95% interval is above 0 AND it exceeds `noise_floor`.

    `best` is the evaluation of the best kept run before this one (`best_id`); `best_id="base"` with no
    `best` says no run was kept yet, so the run is measured against the base model. A caller that does
    not know the kept runs (best_id None) gets the parent, which the loop always trains from the best.
    The run is kept (the new best) only if its gain over that reference is real by the same rule.
    """
    findings: list[Finding] = []
    target = goal.target.value
    if best is None and best_id is None and parent is not None:
        best, best_id = parent, config.parent_run
    best_before = best_id if best is not None and best_id else "base"
    if result.status == "failed" or evaluation is None:
        findings.append(
            Finding(name="run failed", severity="critical", evidence=(result.error or "no evaluation")[:400])
        )
        signals, _ = signal_findings(config, metrics, None)
        rec = Recommendation(
            action="train",
            method=config.method,
            parent_run=config.parent_run,
            config_delta={"learning_rate": config.learning_rate / 2},
            tags=["stability"],
            reason="the run failed; retry the same idea at half the learning rate",
        )
        return Diagnosis(
            run_id=config.run_id,
            score=0.0,
            gain_vs_base=0.0,
            significant=False,
            noise_floor=noise_floor,
            best_before=best_before,
            kept=False,
            findings=findings + signals,
            recommendation=rec,
        )

    score = evaluation.score
    unchecked: list[str] = []
    gain_vs_parent = None if parent is None else round(score - parent.score, 4)
    versus = parent or base
    low, high = gain_interval(score, versus.score, evaluation.n)
    significant = low > 0 and score - versus.score > noise_floor
    if parent is not None and gain_vs_parent is not None:
        if significant:
            verdict = "a real gain"
        elif high < 0:
            verdict = "a real loss"
        elif low > 0:
            verdict = f"above its 95% interval but within the noise floor {noise_floor:.3f}: not a real gain"
        else:
            verdict = "within noise: the run added nothing measurable"
        findings.append(
            Finding(
                name="gain over parent",
                severity="info" if significant else "warning",
                evidence=f"{parent.score:.3f} -> {score:.3f} ({gain_vs_parent:+.3f}, 95% interval {low:+.3f}..{high:+.3f}): {verdict}",
                metric="exact_match",
                values={"parent": parent.score, "score": score, "low": low, "high": high, "noise_floor": noise_floor},
            )
        )
    elif config.parent_run is not None:
        unchecked.append(
            f"gain over parent: {config.parent_run} has no evaluation, so the run is compared with the base model"
        )

    reference = best or base
    best_low, best_high = gain_interval(score, reference.score, evaluation.n)
    kept = best_low > 0 and score - reference.score > noise_floor
    findings.append(_keep_finding(score, reference.score, best_before, best_low, best_high, noise_floor, kept))

    weak, teacher_flaw = _slice_findings(config, evaluation, card, findings)

    losses = [float(m["loss"]) for m in metrics if isinstance(m.get("loss"), (int, float))]
    if config.method == "sft" and len(losses) >= 2:
        accuracy = next((m["mean_token_accuracy"] for m in reversed(metrics) if "mean_token_accuracy" in m), None)
        findings.append(
            Finding(
                name="training loss",
                severity="info",
                evidence=f"loss {losses[0]:.3f} -> {losses[-1]:.3f} over {len(losses)} logged steps"
                + (f"; final token accuracy on the demonstrations {accuracy:.3f}" if accuracy is not None else "")
                + (": the model fits its demonstrations, so their errors become its errors" if teacher_flaw else ""),
                metric="loss",
                values={"first": losses[0], "last": losses[-1]},
            )
        )
    rising = False
    q = quarters(series(metrics, "reward")[1])
    if config.method == "grpo" and q is not None:
        _, third, last = q
        rising = last - third > THRESHOLDS["reward_still_rising"]
        findings.append(
            Finding(
                name="reward trend",
                severity="info",
                evidence=f"mean reward {third:.3f} in the third quarter, {last:.3f} in the last"
                + (": still rising" if rising else ": flat"),
                metric="reward",
                values={"third_quarter": third, "last_quarter": last},
            )
        )

    signals, not_checked = signal_findings(config, metrics, held_out(config, evaluation, base, parent, noise_floor))
    findings += signals
    unchecked += not_checked
    rec = _recommend(config, score, target, teacher_flaw, rising, kept, findings)
    base_low, base_high = gain_interval(score, base.score, evaluation.n)
    return Diagnosis(
        run_id=config.run_id,
        score=score,
        gain_vs_base=round(score - base.score, 4),
        gain_vs_base_interval=(round(base_low, 4), round(base_high, 4)),
        gain_vs_parent=gain_vs_parent,
        gain_vs_parent_interval=None if parent is None else (round(low, 4), round(high, 4)),
        best_before=best_before,
        gain_vs_best=round(score - reference.score, 4),
        gain_vs_best_interval=(round(best_low, 4), round(best_high, 4)),
        kept=kept,
        significant=significant,
        noise_floor=noise_floor,
        findings=findings,
        unchecked=unchecked,
        recommendation=rec,
    )


def _reference_name(best_before: str | None) -> str:
    return "the base model" if best_before in (None, "base") else best_before


def keep_verdict(diagnosis: Diagnosis) -> str:
    """'kept' or 'discarded (...)', the way the diagnosis and the summary say it."""
    if diagnosis.kept is None:
        return "kept" if diagnosis.significant else "discarded"  # written before keep-or-discard existed
    if diagnosis.kept:
        return "kept"
    if diagnosis.gain_vs_best is None:
        return "discarded (run failed)"
    reference = _reference_name(diagnosis.best_before)
    interval = diagnosis.gain_vs_best_interval
    if interval is not None and interval[1] < 0:
        return f"discarded (worse than {reference})"
    return f"discarded (within noise of {reference})"


def _keep_finding(
    score: float, reference: float, best_before: str, low: float, high: float, floor: float, kept: bool
) -> Finding:
    name = _reference_name(best_before)
    if kept:
        why = "kept: the new best"
    elif high < 0:
        why = f"discarded (worse than {name})"
    else:
        why = f"discarded (within noise of {name})" + (
            f": above its 95% interval but not above the noise floor {floor:.3f}" if low > 0 else ""
        )
    return Finding(
        name="gain over best so far",
        severity="info" if kept else "warning",
        evidence=f"{name} {reference:.3f} -> {score:.3f} ({score - reference:+.3f}, 95% interval "
        f"{low:+.3f}..{high:+.3f}): {why}",
        metric="exact_match",
        values={"best": reference, "score": score, "low": low, "high": high, "noise_floor": floor},
    )


def _slice_findings(
    config: TrainingConfig, evaluation: Evaluation, card: DatasetCard | None, findings: list[Finding]
) -> tuple[str | None, bool]:
    """A weak slice, and whether the card shows the demonstrations were wrong on it."""
    slices = evaluation.slices
    weak = None
    if len(slices) > 1:
        best = max(slices.values(), key=lambda s: s.score)
        worst_name, worst = min(slices.items(), key=lambda kv: kv[1].score)
        if best.score - worst.score >= THRESHOLDS["slice_gap"]:
            weak = worst_name
            findings.append(
                Finding(
                    name="weak slice",
                    severity="warning",
                    evidence=f"slice {worst_name} scores {worst.score:.3f} against {best.score:.3f} for the best slice",
                    metric=f"exact_match/{worst_name}",
                    values={"weak": worst.score, "best": best.score},
                )
            )
    if card is None or not weak or weak not in card.slices:
        return weak, False
    agreement = card.slices[weak].label_agreement
    if agreement >= THRESHOLDS["label_agreement_low"]:
        return weak, False
    findings.append(
        Finding(
            name="systematic demonstration error",
            severity="warning",
            evidence=f"dataset {card.name}: only {agreement:.0%} of {weak} demonstrations agree with the "
            f"verifier; SFT imitates that error",
            metric=f"label_agreement/{weak}",
            values={"label_agreement": agreement},
            remedies=remedies("systematic demonstration error", config),
        )
    )
    return weak, True


def _applicable(remedy: Remedy, config: TrainingConfig) -> bool:
    """A remedy the trainer can apply as is: every key a TrainingConfig field, and a real change."""
    delta = remedy.config_delta
    if not delta or any(k not in TrainingConfig.model_fields or getattr(config, k) == v for k, v in delta.items()):
        return False
    groups = delta.get("num_generations")
    return not groups or config.per_device_train_batch_size % groups == 0  # TRL needs whole groups per batch


def _recommend(config, score, target, teacher_flaw, rising, kept, findings) -> Recommendation:
    """`kept`: the run's gain over the best so far is real (interval above 0, above the noise floor).

    Target met needs a KEPT run: a run within noise of the best so far that crosses the target only by
    a lucky draw of the held-out sample must not end the loop, or the loop would stop on a score that
    the next evaluation of the same checkpoint need not reproduce. The same run, once kept, is what
    state.best_run (and so the supervisor's "target met") reads. Continuing "from this checkpoint"
    likewise needs a kept run; otherwise the next step starts again from the parent.
    """
    run = config.run_id
    if score >= target and kept:
        return Recommendation(action="stop", reason=f"target met: {score:.3f} >= {target:.3f}")
    if config.method == "sft" and score < THRESHOLDS["min_pass_rate_for_grpo"]:
        return Recommendation(
            action="train",
            method="sft",
            parent_run=run,
            config_delta={"max_steps": config.max_steps * 2},
            tags=["sft", "cold-start"],
            reason=f"the SFT model solves only {score:.1%}: GRPO groups would nearly all score 0, so continue "
            "supervised training for twice as many steps first",
        )
    if config.method == "sft" and teacher_flaw:
        return Recommendation(
            action="train",
            method="grpo",
            parent_run=run,
            tags=["grpo", "verifiable-reward", "rl-after-sft"],
            reason="the demonstrations carry a systematic error the model copied; on-policy GRPO with the "
            "task's verifier as reward can correct what imitation cannot",
        )
    if config.method == "sft":
        return Recommendation(
            action="train",
            method="grpo",
            parent_run=run,
            tags=["grpo", "verifiable-reward", "rl-after-sft"],
            reason="the SFT warm start gives a non-zero pass rate, the condition for GRPO to have a learning signal",
        )
    if kept and rising:
        return Recommendation(
            action="train",
            method="grpo",
            parent_run=run,
            tags=["grpo", "longer-training"],
            reason="GRPO gave a real gain and the reward was still rising when it stopped: continue from this checkpoint",
        )
    if kept:
        return Recommendation(
            action="train",
            method="grpo",
            parent_run=run,
            config_delta={"num_generations": 16},
            tags=["grpo", "exploration"],
            reason="GRPO helped but the reward flattened: more generations per prompt widen exploration",
        )
    ranked = sorted(
        (f for f in findings if f.name in ADOPTABLE and f.severity != "info"), key=lambda f: f.severity != "critical"
    )
    for finding in ranked:
        remedy = next((r for r in finding.remedies if _applicable(r, config)), None)
        if remedy is not None:
            start = config.parent_run or "the base model"
            return Recommendation(
                action="train",
                method="grpo",
                parent_run=config.parent_run,
                config_delta=remedy.config_delta,
                tags=ADOPTABLE[finding.name],
                papers=[remedy.paper],
                reason=f"GRPO added nothing measurable and its signals show {finding.name}: retry from {start} "
                f"with {remedy.config_delta} ({remedy.why}, arXiv {remedy.paper})",
            )
    blocked = [f.name for f in ranked]
    return Recommendation(
        action="stop",
        reason="GRPO added nothing measurable over its parent; the deterministic brain has no further idea for this task"
        + (
            f" (the remedies for {', '.join(blocked)} need knobs or data work this trainer does not offer)"
            if blocked
            else ""
        ),
    )


def render_diagnosis_body(diagnosis: Diagnosis, goal: Goal, curves: str | None = None) -> str:
    """The markdown below the front matter; `curves` is a path relative to diagnosis.md (e.g. curves.png)."""
    rec = diagnosis.recommendation
    lines = [
        f"# Diagnosis of {diagnosis.run_id}",
        "",
        f"Held-out exact match {diagnosis.score:.3f} (target {goal.target.value:.2f}); "
        f"{diagnosis.gain_vs_base:+.3f} over the base model"
        + (f", {diagnosis.gain_vs_parent:+.3f} over its parent" if diagnosis.gain_vs_parent is not None else "")
        + "."
        + (f" Gains must also exceed the noise floor {diagnosis.noise_floor:.3f}." if diagnosis.noise_floor else ""),
        "",
        f"Verdict: **{keep_verdict(diagnosis)}**"
        + (
            f" ({diagnosis.gain_vs_best:+.3f} against {_reference_name(diagnosis.best_before)}, 95% interval "
            f"{diagnosis.gain_vs_best_interval[0]:+.3f}..{diagnosis.gain_vs_best_interval[1]:+.3f})."
            if diagnosis.gain_vs_best is not None and diagnosis.gain_vs_best_interval is not None
            else "."
        ),
        "",
        "## Findings",
        "",
        *[line for f in diagnosis.findings for line in render_finding(f)],
    ]
    if diagnosis.unchecked:
        lines += ["", "## Not checked", "", *[f"- {u}" for u in diagnosis.unchecked]]
    if curves:
        lines += ["", "## Training curves", "", f"![training curves of {diagnosis.run_id}]({curves})"]
    lines += [
        "",
        "## Recommended next step",
        "",
        f"{rec.action}"
        + (f" {rec.method} from {rec.parent_run or 'the base model'}" if rec.method else "")
        + f": {rec.reason}.",
    ]
    if rec.config_delta:
        lines.append(f"Config change: `{rec.config_delta}`.")
    return "\n".join(lines)


def render_finding(finding: Finding) -> list[str]:
    """A finding as markdown bullets: what, where (metric and steps), and each remedy with its paper."""
    where = ""
    if finding.metric:
        first, last = (finding.steps[0], finding.steps[-1]) if finding.steps else (None, None)
        span = "" if first is None else (f", step {first}" if first == last else f", steps {first}-{last}")
        where = f" [`{finding.metric}`{span}]"
    lines = [f"- **{finding.name}** ({finding.severity}): {finding.evidence}{where}"]
    for remedy in finding.remedies:
        what = ", ".join(f"`{k}={v!r}`" for k, v in remedy.config_delta.items()) or remedy.data_action or ""
        if remedy.config_delta and remedy.data_action:
            what += f"; {remedy.data_action}"
        lines.append(f"  - remedy: {what} (arXiv {remedy.paper})" + (f": {remedy.why}" if remedy.why else ""))
    return lines
