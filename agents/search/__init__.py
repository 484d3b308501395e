"""The experiment search: the tree of runs (tree.py), the backlog of candidates (backlog.py), the
best-first policy over them (policy.py), the paired keep test (keep.py) and the picture (render.py).

`decide(ws)` is the one call the researcher and the supervisor make: the files in, a Decision out.
"""

from __future__ import annotations

from agents.common import plan_rules
from agents.search.backlog import Backlog, Candidate, build_backlog
from agents.search.policy import Budget, Decision, describe, next_experiment
from agents.search.tree import Tree, build_tree
from bus import Workspace, layout

__all__ = ["Backlog", "Budget", "Candidate", "Decision", "budget_of", "decide", "describe", "status_lines"]


def budget_of(ws: Workspace, tree: Tree, minutes_left: float | None = None) -> Budget:
    """Runs left under intern.yaml's budget and the human's `max runs` rule; minutes as the caller measured."""
    goal = ws.goal()
    rules, _ = plan_rules.parse_rules(ws.plan().rules())
    limit = plan_rules.loop_limit(rules, "runs")
    runs = min(goal.budget.runs, int(limit)) if limit is not None else goal.budget.runs
    finished = sum(1 for n in tree.runs if n.verdict != "running")
    return Budget(runs_left=runs - finished, minutes_left=minutes_left)


def decide(
    ws: Workspace, minutes_left: float | None = None, papers: list[dict] | None = None, different: bool = False
) -> tuple[Tree, Decision]:
    """The next experiment the files call for (or why none), with the human's method rules applied."""
    tree = build_tree(ws)
    backlog = build_backlog(tree, papers if papers is not None else paper_notes(ws))
    rules, _ = plan_rules.parse_rules(ws.plan().rules())
    allowed = [r.value for r in rules if r.kind == "methods"]
    if allowed:
        keep = [c for c in backlog.candidates if all(c.method in m for m in allowed)]
        backlog = Backlog(keep, backlog.questions)
    return tree, next_experiment(tree, backlog, budget_of(ws, tree, minutes_left), different)


def paper_notes(ws: Workspace) -> list[dict]:
    """The researcher's paper notes on file, as the knob dicts the backlog reads."""
    from agents.common import state
    from bus.schemas import PaperNote

    out = []
    for path, note in state._valid(ws, layout.PAPER_NOTES):
        if isinstance(note, PaperNote):
            key = path.removeprefix(f"{layout.PAPERS}/").removesuffix(".md")
            out.append(
                {
                    "arxiv_id": note.arxiv_id or key,
                    "short": note.title,
                    "knobs": note.knobs,
                    "hyperparameters": note.hyperparameters,
                    "failure_modes": note.failure_modes,
                }
            )
    return out


def status_lines(decision: Decision) -> list[str]:
    """The choice and the runner-up with their numbers, for plan.md's Status and the hypothesis."""
    if decision.chosen is None:
        return [f"- search: {decision.stop}"]
    lines = [f"- search chose: {describe(decision.chosen.cand)} ({decision.chosen.describe()})"]
    if decision.chosen.note:
        lines.append(f"  - {decision.chosen.note}")
    if decision.runner_up is not None:
        lines.append(f"- runner-up: {describe(decision.runner_up.cand)} ({decision.runner_up.describe()})")
    lines.append(f"- backlog: {len(decision.ranked)} candidates in the running, {len(decision.pruned)} pruned")
    return lines
