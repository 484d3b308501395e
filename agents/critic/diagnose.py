"""Read a finished run the way an expert would: training signals, held-out score, data card.

Thresholds live in THRESHOLDS so a reader can see and argue with every number in one place.
The skeleton's rules cover what the embedded loop meets; issue-level depth comes later.
"""

from __future__ import annotations

import math

from bus.schemas import DatasetCard, Diagnosis, Evaluation, Finding, Goal, Recommendation, RunResult, TrainingConfig

THRESHOLDS = {
    # A slice this far below the best slice is a systematic weakness, not noise.
    "slice_gap": 0.20,
    # Demonstrations that agree with the verifier less than this on a slice are systematically wrong there.
    "label_agreement_low": 0.90,
    # GRPO groups with identical rewards give no gradient; above this share the run learns little.
    "frac_reward_zero_std_high": 0.90,
    # Reward still climbing at the end: mean of the last quarter above the third quarter by this much.
    "reward_still_rising": 0.01,
    # GRPO needs some correct samples per group; below this greedy pass rate, keep training with SFT.
    "min_pass_rate_for_grpo": 0.05,
    # z for the 95% interval of a difference of two proportions.
    "z": 1.96,
}

PAPERS = {
    "grpo": "2402.03300",
    "r1": "2501.12948",
    "dapo": "2503.14476",
    "dr_grpo": "2503.20783",
}


def gain_interval(p_new: float, p_old: float, n: int) -> tuple[float, float]:
    """95% interval of a difference of two accuracies measured on the same n problems (independent approx.)."""
    half = THRESHOLDS["z"] * math.sqrt(max(p_new * (1 - p_new), 1e-9) / n + max(p_old * (1 - p_old), 1e-9) / n)
    return p_new - p_old - half, p_new - p_old + half


def _quarter_means(values: list[float]) -> tuple[float, float] | None:
    if len(values) < 8:
        return None
    q = len(values) // 4
    return sum(values[2 * q : 3 * q]) / q, sum(values[3 * q :]) / len(values[3 * q :])


def diagnose_run(
    goal: Goal,
    config: TrainingConfig,
    result: RunResult,
    evaluation: Evaluation | None,
    base: Evaluation,
    parent: Evaluation | None,
    card: DatasetCard | None,
    metrics: list[dict],
) -> Diagnosis:
    findings: list[Finding] = []
    target = goal.target.value
    if result.status == "failed" or evaluation is None:
        findings.append(
            Finding(name="run failed", severity="critical", evidence=(result.error or "no evaluation")[:400])
        )
        rec = Recommendation(
            action="train",
            method=config.method,
            parent_run=config.parent_run,
            config_delta={"learning_rate": config.learning_rate / 2},
            tags=["stability"],
            reason="the run failed; retry the same idea at half the learning rate",
        )
        return Diagnosis(
            run_id=config.run_id, score=0.0, gain_vs_base=0.0, significant=False, findings=findings, recommendation=rec
        )

    score = evaluation.score
    low, _ = gain_interval(score, base.score, evaluation.n)
    gain_vs_parent = None if parent is None else round(score - parent.score, 4)
    significant = low > 0 if parent is None else gain_interval(score, parent.score, evaluation.n)[0] > 0
    if parent is not None and gain_vs_parent is not None:
        plow, phigh = gain_interval(score, parent.score, evaluation.n)
        verdict = (
            "a real gain"
            if plow > 0
            else ("a real loss" if phigh < 0 else "within noise: the run added nothing measurable")
        )
        findings.append(
            Finding(
                name="gain over parent",
                severity="info" if plow > 0 else "warning",
                evidence=f"{parent.score:.3f} -> {score:.3f} ({gain_vs_parent:+.3f}, 95% interval {plow:+.3f}..{phigh:+.3f}): {verdict}",
            )
        )

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
                )
            )

    teacher_flaw = False
    if card is not None and weak and weak in card.slices:
        agreement = card.slices[weak].label_agreement
        if agreement < THRESHOLDS["label_agreement_low"]:
            teacher_flaw = True
            findings.append(
                Finding(
                    name="systematic demonstration error",
                    severity="warning",
                    evidence=f"dataset {card.name}: only {agreement:.0%} of {weak} demonstrations agree with the "
                    f"verifier; SFT imitates that error",
                )
            )

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
            )
        )
    rewards = [float(m["reward"]) for m in metrics if isinstance(m.get("reward"), (int, float))]
    zero_std = [
        float(m["frac_reward_zero_std"]) for m in metrics if isinstance(m.get("frac_reward_zero_std"), (int, float))
    ]
    rising = False
    if config.method == "grpo":
        quarters = _quarter_means(rewards)
        if quarters:
            rising = quarters[1] - quarters[0] > THRESHOLDS["reward_still_rising"]
            findings.append(
                Finding(
                    name="reward trend",
                    severity="info",
                    evidence=f"mean reward {quarters[0]:.3f} in the third quarter, {quarters[1]:.3f} in the last"
                    + (": still rising" if rising else ": flat"),
                )
            )
        if zero_std and sum(zero_std[-5:]) / len(zero_std[-5:]) > THRESHOLDS["frac_reward_zero_std_high"]:
            findings.append(
                Finding(
                    name="no learning signal",
                    severity="warning",
                    evidence=f"frac_reward_zero_std {zero_std[-1]:.2f} at the end: most groups have identical rewards",
                )
            )

    rec = _recommend(goal, config, score, target, teacher_flaw, rising, significant, parent)
    return Diagnosis(
        run_id=config.run_id,
        score=score,
        gain_vs_base=round(score - base.score, 4),
        gain_vs_parent=gain_vs_parent,
        significant=significant,
        findings=findings,
        recommendation=rec,
    )


def _recommend(goal, config, score, target, teacher_flaw, rising, significant, parent) -> Recommendation:
    run = config.run_id
    if score >= target:
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
    if significant and rising:
        return Recommendation(
            action="train",
            method="grpo",
            parent_run=run,
            tags=["grpo", "longer-training"],
            reason="GRPO gave a real gain and the reward was still rising when it stopped: continue from this checkpoint",
        )
    if significant:
        return Recommendation(
            action="train",
            method="grpo",
            parent_run=run,
            config_delta={"num_generations": 16},
            tags=["grpo", "exploration"],
            reason="GRPO helped but the reward flattened: more generations per prompt widen exploration",
        )
    return Recommendation(
        action="stop",
        reason="GRPO added nothing measurable over its parent; the deterministic brain has no further idea for this task",
    )


def render_diagnosis_body(diagnosis: Diagnosis, goal: Goal) -> str:
    rec = diagnosis.recommendation
    lines = [
        f"# Diagnosis of {diagnosis.run_id}",
        "",
        f"Held-out exact match {diagnosis.score:.3f} (target {goal.target.value:.2f}); "
        f"{diagnosis.gain_vs_base:+.3f} over the base model"
        + (f", {diagnosis.gain_vs_parent:+.3f} over its parent" if diagnosis.gain_vs_parent is not None else "")
        + ".",
        "",
        "## Findings",
        "",
        *[f"- **{f.name}** ({f.severity}): {f.evidence}" for f in diagnosis.findings],
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
