"""Best-first selection: (tree, backlog, budget) -> the next experiment, as plain functions over data.

Each rule is one function with its own test (tests/agents/search/test_policy.py):
- `parent_allowed`: a candidate starts from the base model or a kept run, never from a regressed or
  discarded one (a retry of a run's change starts from that run's parent);
- `prune_reason`: what was tried, refuted or withdrawn is not tried again;
- `expected_gain`: E[score] - best kept score, from the move's prior, the points it can reach and the
  tree's evidence about that move (every earlier try of the same move that was not kept halves it);
- `cost_minutes`: the steps the trainer's settings row plans for this model and device, times the measured
  seconds per step of this tree's earlier runs of the method (training), plus the sampling its data needs
  (`data_minutes`: own samples, the GRPO pass-rate filter) and evaluation;
- `exploration`: a small bonus for moves the tree has tried least (UCB-like, EXPLORE points at most);
- `fit_budget`: a run the remaining minutes cannot finish is shortened to fit, or not started;
- `differs_from_all`: "something different" is a candidate unlike every tried node in method, parent,
  data or a knob;
- `next_experiment`: the highest (gain + exploration) per minute; the runner-up is kept with its numbers.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from agents.search.backlog import Backlog, Candidate
from agents.search.data_actions import asks_for_own_samples
from agents.search.tree import BASE, Node, Tree

EXPLORE = 0.01  # score points: enough to break near-ties toward untried moves, never to outbid evidence
MIN_WORTH = 0.002  # a candidate expected (with exploration) to add under 0.2 points is not worth a run
SHORTEN_FLOOR = 0.25  # a run shortened below this share of its planned steps is not started
# Seconds per training step before any run of either method was measured (post-training-facts.md: 0.04 s per
# SFT step, 0.11-0.13 s per GRPO step on the embedded task); once one was, the settings row's GRPO/SFT ratio.
DEFAULT_STEP_SECONDS = {"sft": 0.05, "grpo": 0.15}
OVERHEAD_MINUTES = 0.3  # data, contamination check and bookkeeping around a run, before any is measured


@dataclass
class Budget:
    runs_left: int
    minutes_left: float | None = None  # None: no time limit known


@dataclass
class Scored:
    cand: Candidate
    gain: float  # expected held-out gain over the best kept score
    minutes: float
    explore: float
    note: str = ""  # e.g. how it was shortened

    @property
    def value(self) -> float:
        return (self.gain + self.explore) / max(self.minutes, 0.05)

    def describe(self) -> str:
        return (
            f"expected gain {self.gain:+.3f} (+{self.explore:.3f} exploration) in ~{self.minutes:.1f} min = "
            f"{self.value:.3f}/min"
        )


@dataclass
class Decision:
    chosen: Scored | None
    runner_up: Scored | None = None
    ranked: list[Scored] = field(default_factory=list)
    pruned: list[tuple[Candidate, str]] = field(default_factory=list)
    stop: str | None = None
    questions: list[str] = field(default_factory=list)


# --- the rules -------------------------------------------------------------------------------------


def parent_allowed(cand: Candidate, tree: Tree) -> str | None:
    """None when the start is legal, else why not."""
    parent = tree.node(cand.parent)
    if parent is None:
        return f"its parent {cand.parent} is not in the tree"
    if parent.verdict == "base" or parent.verdict == "kept":
        return None
    return f"its parent {parent.id} is {parent.verdict}: a regressed or unkept run is never built on"


def tried(cand: Candidate, tree: Tree) -> Node | None:
    """The node that already made this change: the same signature, or (for a fresh start of a method from a
    parent) any run of that method from that parent, whose retries are knob changes, not a fresh start."""
    key = cand.signature()
    same = next((n for n in tree.runs if n.signature() == key and n.verdict != "running"), None)
    if same is not None:
        return same
    if not cand.delta and cand.move not in ("failure retry", "hypothesis on file"):
        return next(
            (
                n
                for n in tree.runs
                if n.parent == cand.parent
                and n.method == cand.method
                and n.data_action == cand.data_action
                and n.verdict != "running"
            ),
            None,
        )
    return None


def prune_reason(cand: Candidate, tree: Tree) -> str | None:
    """Why the candidate must not run: a bad start, tried already, refuted or withdrawn."""
    bad = parent_allowed(cand, tree)
    if bad:
        return bad
    if cand.hypothesis and cand.hypothesis in tree.withdrawn:
        return f"{cand.hypothesis} was withdrawn by a human"
    key = cand.signature()
    for path, hyp in tree.withdrawn.items():
        if hyp is not None and hyp.method == cand.method and key == _hyp_key(hyp):
            return f"the same change as {path}, which a human withdrew"
    for path, (hyp, status) in tree.hypotheses.items():
        if status == "refuted" and _hyp_key(hyp) == key:
            return f"refuted by {path}"
    twin = tried(cand, tree)
    if twin is not None:
        return f"tried by {twin.id} ({twin.verdict})"
    return None


def _hyp_key(hyp) -> str:
    from agents.search.tree import signature

    return signature(hyp.method, hyp.parent_run, hyp.config_delta, hyp.data_change)


def refuted_tries(cand: Candidate, tree: Tree) -> int:
    """Earlier tries of the same move (from any parent) that were not kept: the tree's evidence against it."""
    return sum(1 for n in tree.runs if n.move == cand.move and n.verdict in ("discarded", "failed"))


def expected_gain(cand: Candidate, tree: Tree) -> float:
    """E[new score] - best kept score. E[new] = parent score + prior x points reachable, the prior halved for
    each earlier try of the same move that was not kept."""
    parent = tree.node(cand.parent)
    best = tree.best()
    start = parent.score if parent is not None and parent.score is not None else 0.0
    top = best.score if best is not None and best.score is not None else 0.0
    room = cand.headroom if cand.headroom is not None else max(0.0, 1.0 - start)
    prior = cand.prior * 0.5 ** refuted_tries(cand, tree)
    return start + prior * room - top


def step_seconds(method: str, tree: Tree) -> float:
    """Median measured seconds per step of the method's finished runs; else the other method's x the row's ratio."""

    def measured(m: str) -> list[float]:
        return [n.minutes * 60 / n.steps for n in tree.runs if n.method == m and n.steps > 0 and n.minutes > 0]

    own = measured(method)
    if own:
        return statistics.median(own)
    other = "sft" if method == "grpo" else "grpo"
    theirs = measured(other)
    if theirs:  # the GRPO/SFT ratio of this model's settings row (agents/recipes/settings.py, measured there)
        ratio = tree.grpo_step_ratio if method == "grpo" else 1 / tree.grpo_step_ratio
        return statistics.median(theirs) * ratio
    return DEFAULT_STEP_SECONDS.get(method, 0.1)


def planned_steps(cand: Candidate, tree: Tree) -> int:
    """The candidate's own steps, else those of the settings row the trainer will use for this model
    (tree.default_steps, agents/recipes/pricing.py): never another model's recipe."""
    if cand.steps:
        return cand.steps
    if "max_steps" in cand.delta:
        return int(cand.delta["max_steps"])
    return tree.default_steps.get(cand.method, 500)


def overhead_minutes(tree: Tree) -> float:
    """Evaluation (measured) plus data and bookkeeping around a run."""
    evals = [n.eval_minutes for n in tree.nodes if n.eval_minutes > 0]
    return (statistics.mean(evals) if evals else 0.2) + OVERHEAD_MINUTES


def data_minutes(cand: Candidate, tree: Tree) -> float:
    """Sampling the curator does for the candidate's data before training: the model's own solutions (STaR) or
    the GRPO pass-rate filter. The median of the tree's measured ones of that kind, else its time budget
    (data.rejection.seconds) for own samples; the pass-rate filter, unmeasured, is left to the overhead."""
    if cand.method == "sft" and asks_for_own_samples(cand.data_action):
        done = [c.rejection_sampling.seconds for c in tree.cards.values() if c.rejection_sampling is not None]
        return (statistics.median(done) if done else tree.sampling_seconds) / 60
    if cand.method == "grpo":
        done = [c.pass_rate.seconds for c in tree.cards.values() if c.pass_rate is not None and c.pass_rate.seconds]
        return statistics.median(done) / 60 if done else 0.0
    return 0.0


def cost_minutes(cand: Candidate, tree: Tree, steps: int | None = None) -> float:
    training = (steps or planned_steps(cand, tree)) * step_seconds(cand.method, tree) / 60
    return training + data_minutes(cand, tree) + overhead_minutes(tree)


def exploration(cand: Candidate, tree: Tree) -> float:
    """UCB-like: EXPLORE x sqrt(ln(2 + runs) / (1 + tries of this move)), at most EXPLORE."""
    tries = sum(1 for n in tree.runs if n.move == cand.move)
    return min(EXPLORE, EXPLORE * math.sqrt(math.log(2 + len(tree.runs)) / (1 + tries)) / math.sqrt(math.log(2)))


def fit_budget(scored: Scored, tree: Tree, budget: Budget) -> tuple[Scored | None, str]:
    """The candidate as it fits the minutes left: unchanged, shortened (max_steps cut) or None, and why."""
    if budget.minutes_left is None or scored.minutes <= budget.minutes_left:
        return scored, ""
    cand = scored.cand
    planned = planned_steps(cand, tree)
    spare = budget.minutes_left - overhead_minutes(tree) - data_minutes(cand, tree)
    per_step = step_seconds(cand.method, tree)
    fit = int(spare * 60 / per_step) if spare > 0 else 0
    if fit < max(10, SHORTEN_FLOOR * planned):
        return None, (
            f"{describe(cand)} needs ~{scored.minutes:.1f} min and only {budget.minutes_left:.1f} are left; shortened "
            f"to fit it would keep {fit} of {planned} steps (under {SHORTEN_FLOOR:.0%}), so it is not started"
        )
    origin = tree.node(cand.retry_of) if cand.move == "longer sft" else None
    if origin is not None and fit <= origin.steps:
        return None, (
            f"{describe(cand)} needs ~{scored.minutes:.1f} min and only {budget.minutes_left:.1f} are left; shortened "
            f"to fit it would run {fit} steps, no longer than the {origin.steps} of {origin.id} it is meant to extend"
        )
    short = Candidate(**{**cand.__dict__, "delta": cand.delta | {"max_steps": fit}, "steps": fit})
    gain = scored.gain * fit / planned  # fewer steps, proportionally less of the expected gain
    note = (
        f"shortened from {planned} to {fit} steps to fit the {budget.minutes_left:.1f} minutes left "
        f"({per_step:.2f} s per step, {scored.minutes:.1f} min planned, ~{fit * per_step / 60:.1f} min of training kept)"
    )
    return Scored(short, gain, cost_minutes(short, tree, fit), scored.explore, note), note


def differs_from_all(cand: Candidate, tree: Tree) -> bool:
    """Unlike every tried node in method, parent, data or a knob (the whole config delta)."""
    for node in tree.runs:
        if (
            node.method == cand.method
            and (node.parent or BASE) == cand.parent
            and (node.data_action or "") == (cand.data_action or "")
            and node.delta == cand.delta
        ):
            return False
    return True


def score(cand: Candidate, tree: Tree) -> Scored:
    return Scored(cand, expected_gain(cand, tree), cost_minutes(cand, tree), exploration(cand, tree))


def next_experiment(tree: Tree, backlog: Backlog, budget: Budget, different: bool = False) -> Decision:
    """The best candidate by (expected gain + exploration) per minute, within the budget, or why none."""
    questions = list(backlog.questions)
    best = tree.best()
    if best is not None and best.id != BASE and best.score is not None and best.score >= tree.target:
        return Decision(None, stop=f"target met: {best.id} scores {best.score:.3f} >= {tree.target:.2f}")
    if budget.runs_left <= 0:
        return Decision(None, stop="budget spent: no run left", questions=questions)
    pruned: list[tuple[Candidate, str]] = []
    live: list[Scored] = []
    for cand in backlog.candidates:
        why = prune_reason(cand, tree)
        if why is None and different and not differs_from_all(cand, tree):
            why = "not different from every tried experiment"
        if why is not None:
            pruned.append((cand, why))
            continue
        live.append(score(cand, tree))
    live.sort(key=lambda s: s.value, reverse=True)
    worth = [s for s in live if s.gain + s.explore > MIN_WORTH]
    if not worth:
        why = "no candidate is expected to beat the best kept run" if live else "every candidate was tried or pruned"
        return Decision(None, ranked=live, pruned=pruned, stop=f"no idea left: {why}", questions=questions)
    fitted: list[Scored] = []
    not_started: list[str] = []
    for s in worth:
        fit, note = fit_budget(s, tree, budget)
        if fit is None:
            not_started.append(note)
        else:
            fitted.append(fit)
    fitted.sort(key=lambda s: s.value, reverse=True)
    if not fitted:
        return Decision(None, ranked=worth, pruned=pruned, stop=f"budget: {not_started[0]}", questions=questions)
    return Decision(fitted[0], fitted[1] if len(fitted) > 1 else None, fitted, pruned, None, questions)


def describe(cand: Candidate) -> str:
    start = "the base model" if cand.parent == BASE else cand.parent
    change = f" with {cand.delta}" if cand.delta else ""
    data = f"; data: {cand.data_action}" if cand.data_action else ""
    return f"{cand.method.upper()} from {start}{change}{data}"
