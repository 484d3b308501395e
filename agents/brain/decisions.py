"""The supervisor's LLM decision: which of the legal next steps to start from, and why.

The deterministic brain (agents/supervisor.py derive_steps) lists the steps the files call for, in
order. Starting later in that list is legal only when every skipped step is unnecessary given the
files: today, skipping the researcher when an untested hypothesis is already there. With a single
legal start nothing is asked (no tokens spent on a non-choice). The model answers with an index;
an index outside the legal ones is an invalid answer, and the derived order stands.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from agents.brain import budget
from agents.brain.ask import ask, current
from agents.common import plan_rules, state
from bus import ArtifactError, Workspace

TASK = (
    "You are the supervisor. Pick where the next iteration starts among the legal candidates given in the "
    "`candidates` data block (each names its index, its first step and the steps that follow), using the "
    "evidence. Answer with the candidate's index and a one-sentence reason."
)


class StepChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")
    choice: int = Field(description="index of the chosen candidate")
    reason: str = Field(min_length=1, max_length=400, description="one sentence: why this start")


def untested_hypotheses(ws: Workspace) -> list[str]:
    """Hypotheses the trainer would take: not tried, not withdrawn, and of a method the human's rules allow."""
    tested = {r.config.hypothesis for r in state.runs(ws) if r.config is not None}
    withdrawn = state.withdrawn(ws)
    rules, _ = plan_rules.parse_rules(ws.plan().rules())
    allowed = [r.value for r in rules if r.kind == "methods"]
    return [
        path
        for path, hyp in state.hypotheses(ws)
        if path not in tested
        and path not in withdrawn
        and hyp.status == "proposed"
        and all(hyp.method in methods for methods in allowed)
    ]


def legal_starts(ws: Workspace, steps: list[str]) -> list[int]:
    """Indices of `steps` the iteration may start at; 0 always."""
    legal = [0]
    if len(steps) > 1 and steps[0].startswith("researcher:") and untested_hypotheses(ws):
        legal.append(1)  # the trainer takes the untested hypothesis there is; no new research needed first
    return legal


def _evidence(ws: Workspace) -> dict:
    base = state.base_evaluation(ws)
    runs = [
        {
            "run": r.id,
            "method": r.config.method if r.config else None,
            "score": r.evaluation.score if r.evaluation else None,
            "recommendation": r.diagnosis.recommendation.reason if r.diagnosis else None,
        }
        for r in state.runs(ws)
    ]
    hypotheses = {p: h.title for p, h in state.hypotheses(ws)}
    return {
        "base_score": base.score if base else None,
        "runs": runs,
        "untested_hypotheses": {p: hypotheses.get(p) for p in untested_hypotheses(ws)},
    }


def pick_next_steps(ws: Workspace, steps: list[str]) -> tuple[list[str], str]:
    """The steps to queue and the decision for the Status and the commit (the LLM's reason, or its fallback)."""
    planned = f"planned: {steps[0]}"
    legal = legal_starts(ws, steps)
    if len(legal) < 2:
        return steps, planned
    brain = current(ws)
    if not brain.on:
        return steps, planned
    try:
        target = ws.goal().target.value
    except ArtifactError:
        target = None
    context = {
        "candidates": [{"index": i, "first_step": steps[i], "then": steps[i + 1 :]} for i in legal],
        "evidence": {**_evidence(ws), "target": target},
    }

    def check(choice: StepChoice) -> str | None:
        return None if choice.choice in legal else f"choice {choice.choice} is not a legal index ({legal})"

    choice, note = ask(brain, TASK, StepChoice, context, check)
    if choice is None:
        return steps, f"{note}; {planned}"  # the fallback first: the commit's one line is cut at 120 characters
    return steps[choice.choice :], f"planned: {steps[choice.choice]} ({note}: {' '.join(choice.reason.split())})"


def brain_notices(ws: Workspace) -> list[str]:
    """What the human must hear once about the brain (its budget is spent), as plan.md questions."""
    try:
        goal = ws.goal()
    except ArtifactError:
        return []
    if goal.brain == "none":
        return []
    notice = budget.spent_notice(ws.state_dir, goal.brain_budget.tokens)
    return [notice] if notice else []
