"""The search's choice (agents/search) as the researcher's hypothesis: what to rank papers for, the chosen
candidate with its evidence, the other candidates, and a Search section with the numbers behind the choice.
"""

from __future__ import annotations

import re

from agents.common import state
from agents.researcher.hypotheses import PAPERS_PER_HYPOTHESIS, Known, choose
from agents.researcher.knowledge import addressing, paper_key
from agents.search import Decision, describe
from agents.search.backlog import MOVE_TAGS
from agents.search.policy import Scored
from agents.search.tree import BASE, Tree
from bus import Workspace, layout

_MINUTES_LEFT = re.compile(r"(\d+(?:\.\d+)?) minutes left")


def minutes_left(instruction: str) -> float | None:
    """The supervisor writes the minutes left into the queue item it gives the researcher."""
    found = _MINUTES_LEFT.search(instruction or "")
    return float(found.group(1)) if found else None


def need_from(ws: Workspace, tree: Tree, decision: Decision) -> dict:
    """What the literature is ranked for: the chosen move's themes, its reason, the findings behind it."""
    cand = decision.chosen.cand
    origin = tree.node(cand.retry_of) or tree.node(cand.parent)
    findings = [f.name for f in (origin.findings if origin else []) if f.severity != "info"]
    diagnosed = [r for r in state.runs(ws) if r.diagnosis is not None]
    based_on = layout.run_diagnosis(diagnosed[-1].id) if diagnosed else state.BASE_EVALUATION
    return {
        "method": cand.method,
        "parent_run": None if cand.parent == BASE else cand.parent,
        "tags": MOVE_TAGS.get(cand.move, [cand.method]),
        "config_delta": cand.delta,
        "why": cand.reason,
        "based_on": based_on if ws.exists(based_on) else None,
        "findings": findings,
        "remedies": [],
        "papers": [p for p in cand.papers if p],
        "run": origin.config if origin else None,
    }


def _as_chosen(scored: Scored, need: dict, lead: list[str], priority: int) -> dict:
    cand = scored.cand
    papers = list(dict.fromkeys([p for p in cand.papers if p] + lead))[:PAPERS_PER_HYPOTHESIS]
    return {
        "method": cand.method,
        "parent_run": None if cand.parent == BASE else cand.parent,
        "config_delta": cand.delta,
        "data_change": cand.data_action,
        "papers": papers or lead[:1] or ["2402.03300"],
        "why": f"{cand.reason}; the search's choice: {scored.describe()}" + (f"; {scored.note}" if scored.note else ""),
        "priority": priority,
    }


def chosen_from_search(
    decision: Decision, need: dict, ranked: list[tuple[float, dict]], corpus: list[dict], known: list[Known]
) -> tuple[dict | None, list[dict], list[str]]:
    """(chosen, all candidates in the search's order, lines on those passed over), as build_hypothesis takes them.

    The researcher's own rule still applies on top: a change a hypothesis on file already makes (proposed,
    running, supported, withdrawn, or refuted without new evidence) is passed over for the next one.
    """
    by_finding = [pid for f in need["findings"] for pid in addressing(corpus, f)]
    matching = [paper_key(p) for _, p in ranked if set(p.get("tags", [])) & set(need["tags"])]
    # A candidate that answers a finding cites the papers addressing it; any other, the papers on its themes.
    lead = list(dict.fromkeys([p for p in matching if p in by_finding] + by_finding if by_finding else matching))
    cands = [_as_chosen(s, need, lead, i) for i, s in enumerate(decision.ranked, start=1)]
    passed = [f"{describe(c)}: {why}" for c, why in decision.pruned[:12]]
    for cand in cands:
        ok, skipped = choose([cand], known, need, corpus)
        passed += skipped
        if ok is not None:
            return ok | {"priority": cand["priority"]}, cands, passed
    return None, cands, passed


def search_section(decision: Decision) -> str:
    """The hypothesis's Search section: the move, the choice and the runner-up with their numbers."""
    chosen = decision.chosen
    lines = ["", "", "## Search", "", f"**Move:** {chosen.cand.move} ({chosen.cand.source or 'standard move'})", ""]
    lines.append(
        f"- chosen: {describe(chosen.cand)}: {chosen.describe()}" + (f"; {chosen.note}" if chosen.note else "")
    )
    if decision.runner_up is not None:
        r = decision.runner_up
        lines.append(f"- runner-up: {describe(r.cand)}: {r.describe()}; {r.cand.reason}")
    lines.append(
        f"- {len(decision.ranked)} candidates in the running, {len(decision.pruned)} pruned (tried, refuted, "
        "withdrawn, or from a run that was not kept)"
    )
    return "\n".join(lines)
