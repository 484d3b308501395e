"""The diagnosis's recommendation: the best next step one run's own evidence supports.

The critic judges one run at a time and writes what that run calls for; the search over the whole tree
(agents/search/__init__.py `decide`) is what the researcher and the supervisor act on, so a branch the
run does not know about can still win. Both use the same backlog rules and the same policy.
"""

from __future__ import annotations

from agents.search.backlog import MOVE_TAGS, continuations, failure_retries, finding_remedies
from agents.search.policy import describe, parent_allowed, score
from agents.search.tree import BASE, Node, Tree, failure_kind
from bus.schemas import DatasetCard, Evaluation, Finding, Recommendation, RunResult, TrainingConfig


def recommend(
    config: TrainingConfig,
    result: RunResult,
    evaluation: Evaluation | None,
    card: DatasetCard | None,
    findings: list[Finding],
    kept: bool,
    target: float,
    parent_score: float | None = None,
    delta: dict | None = None,
) -> Recommendation:
    """Stop when a kept run meets the target; otherwise the run's best candidate by expected gain per minute."""
    score_now = evaluation.score if evaluation is not None else None
    if kept and score_now is not None and score_now >= target:
        return Recommendation(action="stop", reason=f"target met: {score_now:.3f} >= {target:.3f}")
    failed = result.status == "failed" or evaluation is None
    node = Node(
        id=config.run_id,
        parent=config.parent_run or BASE,
        method=config.method,
        delta=dict(delta or {}),
        data=config.dataset,
        score=score_now,
        verdict="failed" if failed else ("kept" if kept else "discarded"),
        cause=failure_kind(result.error) if failed else None,
        error=result.error,
        minutes=result.wall_seconds / 60,
        steps=result.steps,
        config=config,
        evaluation=evaluation,
        findings=findings,
    )
    parent = Node(id=node.parent, parent=None if node.parent == BASE else BASE, score=parent_score, verdict="kept")
    if node.parent == BASE:
        parent.verdict = "base"
    tree = Tree(nodes=[parent, node] if node.parent == BASE else [Node(BASE, None, verdict="base"), parent, node])
    tree.target = target
    if card is not None:
        tree.cards[card.name] = card
    if failed:
        cands, questions = failure_retries(node, tree)
        if not cands:
            why = questions[0] if questions else f"{config.run_id} failed ({node.cause}); it is not retried"
            return Recommendation(action="stop", reason=why)
    elif kept:
        cands = continuations(node, tree) + finding_remedies(node, tree)
    else:
        cands = finding_remedies(node, tree)
    ranked = sorted((score(c, tree) for c in cands if parent_allowed(c, tree) is None), key=lambda s: -s.value)
    if not ranked:
        return Recommendation(
            action="stop",
            reason=f"{config.run_id} added nothing measurable and its findings name no cure the trainer or the "
            "curator can apply; the search looks at the rest of the tree",
        )
    top = ranked[0]
    cand = top.cand
    return Recommendation(
        action="train",
        method=cand.method,
        parent_run=None if cand.parent == BASE else cand.parent,
        config_delta=cand.delta,
        tags=[*MOVE_TAGS.get(cand.move, [cand.method]), cand.move],
        papers=[p for p in cand.papers if p],
        reason=f"{describe(cand)}: {cand.reason} ({top.describe()})",
    )
