"""The policy's rules one by one, then the search on simulated outcome surfaces (no training)."""

from __future__ import annotations

import numpy as np
import pytest

from agents.search.backlog import Backlog, Candidate, candidate
from agents.search.policy import (
    EXPLORE,
    Budget,
    cost_minutes,
    differs_from_all,
    expected_gain,
    exploration,
    fit_budget,
    next_experiment,
    parent_allowed,
    prune_reason,
    score,
    step_seconds,
)
from agents.search.tree import BASE, Node, Tree
from tests.agents.search import simulate as sim


def _tree(*runs: Node, target: float = 0.9) -> Tree:
    return Tree([Node(BASE, None, score=0.0, verdict="base"), *runs], target=target)


def _run(run_id, parent=BASE, method="sft", score=0.6, verdict="kept", **kw) -> Node:
    kw.setdefault("minutes", 0.5)
    kw.setdefault("steps", 800)
    return Node(run_id, parent, method=method, score=score, verdict=verdict, config=sim.config(run_id, method), **kw)


def test_a_discarded_or_regressed_run_is_never_a_parent():
    tree = _tree(
        _run("run-001"), _run("run-002", "run-001", "grpo", 0.3, "discarded"), _run("run-003", verdict="failed")
    )
    assert parent_allowed(candidate("grpo", "run-001", "continue grpo"), tree) is None
    assert parent_allowed(candidate("sft", BASE, "sft cold start"), tree) is None
    assert "discarded" in parent_allowed(candidate("grpo", "run-002", "continue grpo"), tree)
    assert "failed" in parent_allowed(candidate("sft", "run-003", "continue sft"), tree)


def test_tried_refuted_and_withdrawn_changes_are_pruned(make_hypothesis):
    tree = _tree(_run("run-001"), _run("run-002", "run-001", "grpo", 0.5, "discarded", delta={"learning_rate": 1e-4}))
    same = candidate("grpo", "run-001", "learning rate x3", delta={"learning_rate": 1e-4})
    assert "tried by run-002" in prune_reason(same, tree)
    fresh = candidate("grpo", "run-001", "grpo from warm start")  # GRPO from run-001 was tried: retries are knobs
    assert "tried by run-002" in prune_reason(fresh, tree)
    other = candidate("grpo", "run-001", "learning rate /3", delta={"learning_rate": 1e-5})
    assert prune_reason(other, tree) is None
    hyp = make_hypothesis(method="grpo", parent_run="run-001", config_delta={"learning_rate": 1e-5})
    tree.withdrawn["hypotheses/H0003-x.md"] = hyp
    assert "withdrew" in prune_reason(other, tree)
    tree.withdrawn.clear()
    tree.hypotheses["hypotheses/H0004-x.md"] = (hyp, "refuted")
    assert "refuted by hypotheses/H0004-x.md" in prune_reason(other, tree)


def test_expected_gain_is_over_the_best_kept_and_halves_per_failed_try_of_the_move():
    tree = _tree(_run("run-001", score=0.6), _run("run-002", "run-001", "grpo", 0.7))
    from_best = candidate("grpo", "run-002", "learning rate x3", delta={"learning_rate": 1.5e-4}, prior=0.1)
    from_older = candidate("sft", "run-001", "continue sft", prior=0.1)
    assert expected_gain(from_best, tree) == pytest.approx(0.1 * 0.3)
    assert expected_gain(from_older, tree) == pytest.approx(0.6 + 0.1 * 0.4 - 0.7)  # below the best: negative
    tree.nodes.append(_run("run-003", "run-002", "grpo", 0.69, "discarded", move="learning rate x3"))
    assert expected_gain(from_best, tree) == pytest.approx(0.05 * 0.3)


def test_cost_is_measured_seconds_per_step_and_the_method_ratio_before_a_method_ran():
    tree = _tree(_run("run-001", minutes=1.0, steps=600, eval_minutes=0.2))  # 0.1 s per SFT step
    assert step_seconds("sft", tree) == pytest.approx(0.1)
    assert step_seconds("grpo", tree) == pytest.approx(0.3)  # 3x an SFT step (post-training-facts.md)
    grpo = candidate("grpo", "run-001", "grpo from warm start")
    assert cost_minutes(grpo, tree) == pytest.approx(500 * 0.3 / 60 + 0.2 + 0.3)  # measured eval + bookkeeping


def test_a_longer_retry_shortened_to_no_longer_than_its_run_is_not_started():
    undertrained = _run("run-001", score=0.0, verdict="discarded", minutes=800 * 0.1 / 60, eval_minutes=0.1)
    tree = _tree(undertrained)
    longer = candidate("sft", BASE, "longer sft", delta={"max_steps": 1600}, steps=1600, retry_of="run-001")
    short, note = fit_budget(score(longer, tree), tree, Budget(3, minutes_left=2.5))  # room for ~1100 steps
    assert short is not None and 800 < short.cand.steps < 1600, note
    none, note = fit_budget(score(longer, tree), tree, Budget(3, minutes_left=1.2))  # ~500 steps: shorter than 800
    assert none is None and "no longer than the 800 of run-001" in note


def test_exploration_favours_untried_moves_and_stays_small():
    tree = _tree(_run("run-001", move="sft cold start"))
    untried = exploration(candidate("grpo", "run-001", "grpo from warm start"), tree)
    tried = exploration(candidate("sft", "run-001", "sft cold start"), tree)
    assert tried < untried <= EXPLORE


def test_a_run_the_budget_cannot_finish_is_shortened_or_not_started():
    tree = _tree(_run("run-001", minutes=800 * 0.1 / 60, eval_minutes=0.1))  # 0.1 s per step: 800 steps = 1.3 min
    scored = score(candidate("sft", "run-001", "continue sft", prior=0.2), tree)
    same, note = fit_budget(scored, tree, Budget(3, minutes_left=30))
    assert same is scored and note == ""
    short, note = fit_budget(scored, tree, Budget(3, minutes_left=1.2))
    assert short.cand.delta["max_steps"] < 800 and "shortened from 800 to" in note
    assert short.minutes <= 1.2 + 1e-9 and short.gain < scored.gain
    none, note = fit_budget(scored, tree, Budget(3, minutes_left=0.45))
    assert none is None and "not started" in note
    decision = next_experiment(tree, Backlog([scored.cand]), Budget(3, minutes_left=0.45))
    assert decision.chosen is None and decision.stop.startswith("budget:") and "not started" in decision.stop


def test_something_different_differs_from_every_tried_node():
    tree = _tree(_run("run-001"), _run("run-002", "run-001", "grpo", 0.6, "discarded", delta={"num_generations": 16}))
    assert not differs_from_all(candidate("grpo", "run-001", "more generations", delta={"num_generations": 16}), tree)
    assert differs_from_all(candidate("grpo", "run-001", "more generations", delta={"num_generations": 4}), tree)
    assert differs_from_all(candidate("grpo", BASE, "more generations", delta={"num_generations": 16}), tree)
    assert differs_from_all(
        candidate("grpo", "run-001", "more generations", delta={"num_generations": 16}, data_action="x"), tree
    )


def test_the_choice_is_the_best_value_and_the_runner_up_is_kept_with_its_numbers():
    tree = _tree(_run("run-001", score=0.6))
    cheap = candidate("sft", "run-001", "continue sft", prior=0.2, delta={"max_steps": 400})
    dear = candidate("grpo", "run-001", "grpo from warm start", prior=0.2)
    decision = next_experiment(tree, Backlog([dear, cheap]), Budget(3))
    assert decision.chosen.cand is cheap and decision.runner_up.cand is dear  # same gain, a quarter of the cost
    assert decision.chosen.value > decision.runner_up.value
    assert "expected gain +0.080" in decision.chosen.describe() and "/min" in decision.chosen.describe()


def test_it_stops_when_the_target_is_met_or_nothing_is_worth_a_run():
    met = _tree(_run("run-001", score=0.95))
    assert next_experiment(met, Backlog([candidate("sft", "run-001", "continue sft")]), Budget(3)).stop.startswith(
        "target met"
    )
    tree = _tree(_run("run-001", score=0.6), _run("run-002", "run-001", "grpo", 0.8))
    stale = candidate("sft", "run-001", "continue sft", prior=0.05)  # 0.6 + 0.02 is far below the best 0.8
    decision = next_experiment(tree, Backlog([stale]), Budget(3))
    assert decision.chosen is None and decision.stop.startswith("no idea left")
    assert next_experiment(tree, Backlog([]), Budget(0)).stop.startswith("budget spent")


# --- simulated outcome surfaces ---------------------------------------------------------------------


def _moves(rng) -> tuple[list[Candidate], list[float]]:
    """Eight candidate moves from run-001 (0.6), each with a prior and a true gain the prior predicts noisily."""
    names = ["continue sft", "grpo from warm start", "learning rate x3", "learning rate /3", "more generations"]
    cands, gains = [], []
    for i in range(8):
        prior = float(rng.uniform(0.02, 0.4))
        method = "grpo" if i % 2 else "sft"
        steps = int(rng.choice([200, 400, 800]))
        cands.append(
            candidate(method, "run-001", names[i % len(names)], delta={"max_steps": steps, "seed": i}, prior=prior)
        )
        gains.append(max(-0.1, prior * 0.4 + float(rng.normal(0, 0.03))))  # the prior is informative, not exact
    return cands, gains


def test_the_search_finds_the_best_move_in_fewer_runs_than_the_fixed_order():
    rng = np.random.default_rng(0)
    difficulty = rng.normal(0, 1, 500)
    search_runs, fixed_runs = [], []
    for _ in range(40):
        cands, gains = _moves(rng)
        best = int(np.argmax(gains))
        tree, vectors = sim.start_tree(0.6, difficulty, rng)
        surface = {c.signature(): 0.6 + g for c, g in zip(cands, gains, strict=True)}
        ran = sim.search_until(
            tree, vectors, cands, lambda c, surface=surface: surface[c.signature()], difficulty, rng, runs=8
        )
        keys = [c.signature() for c in ran]
        search_runs.append(keys.index(cands[best].signature()) + 1 if cands[best].signature() in keys else 9)
        fixed_runs.append(best + 1)  # the fixed order runs the list as it comes
    assert np.mean(search_runs) < np.mean(fixed_runs)
    print(f"runs to the best move: search {np.mean(search_runs):.2f}, fixed order {np.mean(fixed_runs):.2f}")


def test_the_search_never_keeps_a_null_change_and_never_starts_from_a_regressed_run():
    rng = np.random.default_rng(1)
    difficulty = rng.normal(0, 1, 500)
    kept = ran_total = 0
    for _ in range(30):
        cands, _ = _moves(rng)
        tree, vectors = sim.start_tree(0.6, difficulty, rng)
        parent_score = tree.node("run-001").score
        # Half the moves change nothing, half regress: nothing should ever be kept or built on.
        surface = {c.signature(): parent_score - (0.1 if i % 2 else 0.0) for i, c in enumerate(cands)}
        cands += [candidate("grpo", f"run-{i:03d}", "continue grpo", prior=0.4) for i in range(2, 10)]
        for _ in range(8):
            decision = next_experiment(tree, Backlog(cands), Budget(runs_left=8))
            if decision.chosen is None:
                break
            parent = tree.node(decision.chosen.cand.parent)
            assert parent.verdict in ("kept", "base"), f"started from {parent.id} ({parent.verdict})"
            node = sim.run_candidate(
                tree,
                vectors,
                decision.chosen.cand,
                surface.get(decision.chosen.cand.signature(), parent_score),
                difficulty,
                rng,
            )
            kept += node.verdict == "kept"
            ran_total += 1
    assert ran_total >= 60
    assert kept / ran_total <= 0.05


def test_own_samples_are_priced_with_their_sampling_time_measured_or_budgeted():
    from agents.search.backlog import DATA_ACTIONS
    from agents.search.policy import data_minutes
    from bus.schemas import DatasetCard, RejectionSamplingFigures

    tree = _tree(_run("run-001", minutes=1.0, steps=600, eval_minutes=0.2))
    tree.sampling_seconds = 240.0
    own = candidate(
        "sft", "run-001", "sft on own samples", data_action=DATA_ACTIONS["own samples"].format(run="run-001")
    )
    plain = candidate("sft", "run-001", "continue sft")
    assert data_minutes(plain, tree) == 0.0
    assert data_minutes(own, tree) == pytest.approx(4.0)  # nothing measured: the budget data.rejection.seconds gives
    assert cost_minutes(own, tree) == pytest.approx(cost_minutes(plain, tree) + 4.0)
    figures = RejectionSamplingFigures(
        sampler="run-001", samples=4, temperature=0.7, seed=0, prompts=100, sampled_prompts=100, completions=400,
        accepted=200, kept=150, prompts_solved=80, seconds=90.0,
    )  # fmt: skip
    card = DatasetCard.model_construct(name="d", rejection_sampling=figures, pass_rate=None)
    tree.cards = {"d": card}
    assert data_minutes(own, tree) == pytest.approx(1.5)  # measured once: that time, not the budget
