"""Read a finished run the way an expert would: training signals, held-out score, data card.

The held-out side (gain over the parent, weak slices, the card's label agreement) lives here; the
training-signal rules and every threshold live in agents/critic/thresholds.py, in one table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.critic.keep import compare, keep_finding, keep_verdict, reference_name
from agents.critic.signals.training import quarters, series, signal_findings
from agents.critic.thresholds import PAPERS, THRESHOLDS, HeldOut, gain_interval, remedies
from agents.search.recommend import recommend
from bus.schemas import (
    DatasetCard,
    Diagnosis,
    Evaluation,
    Finding,
    Goal,
    RunResult,
    TrainingConfig,
)

__all__ = [
    "PAPERS",
    "THRESHOLDS",
    "RunEvidence",
    "diagnose_run",
    "gain_interval",
    "held_out",
    "keep_verdict",
    "render_diagnosis_body",
]


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
    cmp = compare(evaluation, reference, noise_floor)  # paired on the same items when both have them
    return HeldOut(evaluation.score, reference.score, against, cmp.low, cmp.high, cmp.real)


@dataclass(frozen=True)
class RunEvidence:
    """Everything the critic reads about one finished run, in one record.

    `best` is the evaluation of the best kept run before this one (`best_id`); `best_id="base"` with no
    `best` says no run was kept yet, so the run is measured against the base model. A caller that does
    not know the kept runs (best_id None) gets the parent, which the loop always trains from the best.
    """

    goal: Goal
    config: TrainingConfig
    result: RunResult
    evaluation: Evaluation | None
    base: Evaluation
    parent: Evaluation | None = None
    card: DatasetCard | None = None
    metrics: list[dict] = field(default_factory=list)
    noise_floor: float = 0.0  # a gain counts as real only if its 95% interval is above 0 AND above this
    best: Evaluation | None = None
    best_id: str | None = None


def diagnose_run(evidence: RunEvidence) -> Diagnosis:
    """The run's diagnosis: its findings, whether it is kept (a real gain over the best kept run), and what next."""
    goal, config, result, evaluation = evidence.goal, evidence.config, evidence.result, evidence.evaluation
    base, parent, card, metrics = evidence.base, evidence.parent, evidence.card, evidence.metrics
    noise_floor, best, best_id = evidence.noise_floor, evidence.best, evidence.best_id
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
        rec = recommend(config, result, None, card, findings + signals, False, target)  # the cure its cause calls for
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
    if result.cut:  # stopped cleanly before its planned steps: scored like any run, and said so
        findings.append(
            Finding(
                name="run cut short",
                severity="warning",
                evidence=f"{result.cut_note}; its checkpoint was saved and is scored as it is",
                steps=[result.steps],
                values={"steps": float(result.steps), "planned_steps": float(result.planned_steps or 0)},
            )
        )
    gain_vs_parent = None if parent is None else round(score - parent.score, 4)
    versus = parent or base
    versus_cmp = compare(evaluation, versus, noise_floor)
    low, high = versus_cmp.low, versus_cmp.high
    significant = versus_cmp.real
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
    best_cmp = compare(evaluation, reference, noise_floor)
    best_low, best_high, kept = best_cmp.low, best_cmp.high, best_cmp.real
    findings.append(keep_finding(score, reference.score, best_before, best_cmp, noise_floor))

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
                values={"first": losses[0], "last": losses[-1]}
                | ({"token_accuracy": float(accuracy)} if isinstance(accuracy, (int, float)) else {}),
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
    rec = recommend(config, result, evaluation, card, findings, kept, target, (parent or base).score)
    base_cmp = compare(evaluation, base)
    base_low, base_high = base_cmp.low, base_cmp.high
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


_reference_name = reference_name  # the keep test lives in agents/critic/keep.py


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


def _value(value: object) -> str:
    """A config value as a person writes it: a halved logged learning rate reads 9.52e-06, not 9.517874396135266e-06."""
    return f"{value:.3g}" if isinstance(value, float) else repr(value)


def render_finding(finding: Finding) -> list[str]:
    """A finding as markdown bullets: what, where (metric and steps), and each remedy with its paper."""
    where = ""
    if finding.metric:
        first, last = (finding.steps[0], finding.steps[-1]) if finding.steps else (None, None)
        span = "" if first is None else (f", step {first}" if first == last else f", steps {first}-{last}")
        where = f" [`{finding.metric}`{span}]"
    lines = [f"- **{finding.name}** ({finding.severity}): {finding.evidence}{where}"]
    for remedy in finding.remedies:
        what = ", ".join(f"`{k}={_value(v)}`" for k, v in remedy.config_delta.items()) or remedy.data_action or ""
        if remedy.config_delta and remedy.data_action:
            what += f"; {remedy.data_action}"
        lines.append(f"  - remedy: {what} (arXiv {remedy.paper})" + (f": {remedy.why}" if remedy.why else ""))
    return lines
