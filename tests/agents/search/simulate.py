"""Simulated outcome surfaces for the search: a function config -> true score, and greedy evaluations drawn
item by item from it, so the policy and the keep test are exercised without training anything.

Items have a latent difficulty shared by every checkpoint (greedy decoding of related checkpoints gets
mostly the same items right); a checkpoint of true score s gets item i right with probability
sigmoid(a * (skill(s) - d_i)). `a` sets how strongly checkpoints agree item by item.
"""

from __future__ import annotations

import numpy as np

from agents.critic.keep import compare
from agents.search.backlog import Backlog, Candidate
from agents.search.policy import Budget, next_experiment
from agents.search.tree import BASE, Node, Tree
from bus.schemas import Evaluation, TrainingConfig

AGREEMENT = 4.0  # items' logits scale: two checkpoints of score 0.6 disagree on about a sixth of the items


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def skill_for(score: float, difficulty: np.ndarray, agreement: float = AGREEMENT) -> float:
    """The skill whose expected accuracy over these items is `score` (bisection)."""
    lo, hi = -20.0, 20.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _sigmoid(agreement * (mid - difficulty)).mean() < score else (lo, mid)
    return (lo + hi) / 2


def draw_correct(score: float, difficulty: np.ndarray, rng: np.random.Generator, agreement: float = AGREEMENT):
    p = _sigmoid(agreement * (skill_for(score, difficulty, agreement) - difficulty))
    return rng.random(difficulty.size) < p


def evaluation(subject: str, correct) -> Evaluation:
    bits = "".join("1" if c else "0" for c in correct)
    score = bits.count("1") / len(bits)
    return Evaluation(
        subject=subject,
        checkpoint=subject,
        task="addition",
        split="eval/addition/test.jsonl",
        split_sha256="0" * 64,
        n=len(bits),
        score=score,
        ci_low=0.0,
        ci_high=1.0,
        seconds=6.0,
        correct=bits,
    )


def config(run_id: str, method: str = "sft", parent: str | None = None, **kw) -> TrainingConfig:
    values = dict(learning_rate=1e-3 if method == "sft" else 5e-5, max_steps=800 if method == "sft" else 500)
    values["per_device_train_batch_size"] = 64 if method == "sft" else 128
    values.update(kw)
    return TrainingConfig(
        run_id=run_id, method=method, base_model="embedded:tiny", parent_run=parent, dataset="d", **values
    )


def start_tree(parent_score: float, difficulty: np.ndarray, rng: np.random.Generator) -> tuple[Tree, dict]:
    """Base at 0 and a kept SFT run-001 at `parent_score` (measured in seconds per step like the embedded task)."""
    vectors = {BASE: np.zeros(difficulty.size, dtype=bool), "run-001": draw_correct(parent_score, difficulty, rng)}
    base = Node(BASE, None, score=0.0, verdict="base", evaluation=evaluation(BASE, vectors[BASE]), eval_minutes=0.1)
    run = Node(
        "run-001",
        BASE,
        method="sft",
        score=float(vectors["run-001"].mean()),
        verdict="kept",
        minutes=800 * 0.04 / 60,
        steps=800,
        config=config("run-001"),
        evaluation=evaluation("run-001", vectors["run-001"]),
        eval_minutes=0.1,
    )
    return Tree([base, run], target=0.99), vectors


def run_candidate(
    tree: Tree, vectors: dict, cand: Candidate, true_score: float, difficulty, rng, agreement: float = AGREEMENT
) -> Node:
    """'Train' the candidate: draw its evaluation from the surface and judge it against the best kept run."""
    run_id = f"run-{len(tree.runs) + 1:03d}"
    correct = draw_correct(true_score, difficulty, rng, agreement)
    best = tree.best()
    cmp = compare(evaluation(run_id, correct), evaluation(best.id, vectors[best.id]))
    steps = cand.steps or int(cand.delta.get("max_steps", tree.default_steps[cand.method]))
    per_step = 0.04 if cand.method == "sft" else 0.12
    node = Node(
        run_id,
        cand.parent,
        method=cand.method,
        delta=dict(cand.delta),
        data_action=cand.data_action,
        move=cand.move,
        score=float(correct.mean()),
        gain=cmp.gain,
        interval=(cmp.low, cmp.high),
        against=best.id,
        verdict="kept" if cmp.real else "discarded",
        minutes=steps * per_step / 60,
        eval_minutes=0.1,
        steps=steps,
        config=config(run_id, cand.method, None if cand.parent == BASE else cand.parent),
    )
    vectors[run_id] = correct
    tree.nodes.append(node)
    return node


def search_until(tree, vectors, cands, surface, difficulty, rng, runs: int, agreement: float = AGREEMENT):
    """Let the policy pick and run up to `runs` experiments; returns the candidates it ran, in order."""
    order = []
    for _ in range(runs):
        decision = next_experiment(tree, Backlog(cands), Budget(runs_left=runs - len(order)))
        if decision.chosen is None:
            break
        cand = decision.chosen.cand
        order.append(cand)
        run_candidate(tree, vectors, cand, surface(cand), difficulty, rng, agreement)
    return order
