"""The researcher's step: rank the paper corpus against what the loop needs now, write notes and a hypothesis.

The need comes from the files: the base evaluation before any run, afterwards the latest
diagnosis's recommendation (its tags say which ideas fit). The corpus is offline and real:
arXiv ids, titles and summaries in our own words, with the TRL knobs each paper motivates.
"""

from __future__ import annotations

import json
import re
from importlib import resources

from agents import state
from agents.brain.hypothesis import propose_hypothesis
from agents.steps import StepOutcome
from bus import Workspace
from bus.schemas import Hypothesis, PaperNote

NOTES_PER_STEP = 3
# Below this base pass rate GRPO groups are all-zero: no learning signal without a warm start.
COLD_START_PASS_RATE = 0.05


def load_corpus() -> list[dict]:
    return json.loads(resources.files("agents.researcher").joinpath("corpus.json").read_text())


def current_need(ws: Workspace) -> dict | None:
    """What the next experiment must address: method, parent, tags, config delta, why, and its source."""
    diagnosed = [r for r in state.runs(ws) if r.diagnosis is not None]
    if diagnosed:
        latest = diagnosed[-1]
        rec = latest.diagnosis.recommendation
        if rec.action != "train":
            return None
        return {
            "method": rec.method,
            "parent_run": rec.parent_run,
            "tags": rec.tags,
            "config_delta": rec.config_delta,
            "why": rec.reason,
            "based_on": f"runs/{latest.id}/diagnosis.md",
        }
    base = state.base_evaluation(ws)
    score = base.score if base else 0.0
    if score < COLD_START_PASS_RATE:
        return {
            "method": "sft",
            "parent_run": None,
            "tags": ["sft", "cold-start", "distillation"],
            "config_delta": {},
            "why": f"the base model solves {score:.1%} of held-out problems, so GRPO groups would all score 0 "
            "and give no gradient; a supervised warm start on demonstrations comes first",
            "based_on": state.BASE_EVALUATION if base else None,
        }
    return {
        "method": "grpo",
        "parent_run": None,
        "tags": ["grpo", "verifiable-reward"],
        "config_delta": {},
        "why": f"the base model already solves {score:.1%}, enough reward variance for GRPO to learn from",
        "based_on": state.BASE_EVALUATION,
    }


def rank_papers(corpus: list[dict], tags: list[str], context: str) -> list[tuple[float, dict]]:
    """Score = 2 per matching tag + 0.5 per context word in the summary + a small recency bonus."""
    words = {w for w in re.findall(r"[a-z][a-z\-]{3,}", context.lower())}
    scored = []
    for paper in corpus:
        tag_hits = len(set(paper["tags"]) & set(tags))
        text = (paper["title"] + " " + paper["summary"]).lower()
        word_hits = sum(1 for w in words if w in text)
        score = 2.0 * tag_hits + 0.5 * min(word_hits, 6) + 0.05 * (paper["year"] - 2017)
        scored.append((round(score, 2), paper))
    scored.sort(key=lambda sp: (-sp[0], sp[1]["arxiv_id"]))
    return scored


def researcher_step(ws: Workspace, instruction: str = "") -> StepOutcome:
    need = current_need(ws)
    if need is None:
        return StepOutcome("researcher", "no experiment is called for: the latest diagnosis says stop")
    tested = {r.config.hypothesis for r in state.runs(ws) if r.config is not None}
    for path, hyp in state.hypotheses(ws):
        if path not in tested and hyp.based_on == need["based_on"]:
            return StepOutcome("researcher", f"{path} already answers {need['based_on']}; not repeating it")

    goal = ws.goal()
    context = f"{goal.task.name} {instruction} {need['why']}"
    ranked = rank_papers(load_corpus(), need["tags"], context)
    top = ranked[:NOTES_PER_STEP]
    commits = []
    for score, paper in top:
        rel = f"papers/{paper['arxiv_id']}.md"
        if ws.exists(rel):
            continue
        matched = sorted(set(paper["tags"]) & set(need["tags"]))
        note = PaperNote(
            arxiv_id=paper["arxiv_id"],
            title=paper["title"],
            year=paper["year"],
            relevance=score,
            tags=paper["tags"],
            knobs=paper["knobs"],
            body=f"# {paper['title']} (arXiv {paper['arxiv_id']}, {paper['year']})\n\n{paper['summary']}\n\n"
            f"## Why it matters here\n\nRelevance {score} to the current need: {need['why']}. "
            f"Matching themes: {', '.join(matched) or 'none (ranked by summary overlap)'}.\n\n"
            f"TRL knobs it motivates: {', '.join(f'`{k}={v}`' for k, v in paper['knobs'].items()) or 'none directly'}.",
        )
        commits.append(
            ws.write_artifact("researcher", rel, note, f"Note on arXiv {paper['arxiv_id']}: {paper['title'][:60]}")
        )

    backing = [p["arxiv_id"] for s, p in top if set(p["tags"]) & set(need["tags"])] or [top[0][1]["arxiv_id"]]
    number = len(state.hypotheses(ws)) + 1
    start = f"from {need['parent_run']}" if need["parent_run"] else "from the base model"
    title = f"{need['method'].upper()} {start}" + (f" with {need['config_delta']}" if need["config_delta"] else "")
    hyp = Hypothesis(
        id=f"h-{number:03d}",
        title=title,
        method=need["method"],
        parent_run=need["parent_run"],
        config_delta=need["config_delta"],
        papers=backing,
        based_on=need["based_on"],
        body=f"# Hypothesis h-{number:03d}: {title}\n\n"
        f"**Why:** {need['why']}.\n\n"
        f"**Test:** train with {need['method']} {start} on the curator's data, then compare held-out exact match "
        f"with its parent; the critic's noise interval decides whether it helped.\n\n"
        f"**Papers:** {', '.join(f'arXiv {p}' for p in backing)}.",
    )
    hyp, by = propose_hypothesis(ws, need, [paper for _, paper in top], hyp)  # the LLM brain's, if one is set
    title = hyp.title + (f" ({by})" if by else "")
    rel = f"hypotheses/h-{number:03d}.md"
    commits.append(ws.write_artifact("researcher", rel, hyp, f"Hypothesis h-{number:03d}: {title}"))
    return StepOutcome("researcher", f"{rel}: {title} (papers {', '.join(hyp.papers)})", commits)
