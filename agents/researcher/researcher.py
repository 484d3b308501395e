"""The researcher's step: update hypothesis statuses, rank the literature against what the loop needs now,
write paper notes and one new hypothesis.

The need comes from the files: the base evaluation before any run, afterwards the latest
diagnosis (its recommendation, and its findings with their remedies). The knowledge base in
corpus.json is offline and real: arXiv ids, summaries in our own words, the failure modes each
paper addresses and the TRL knobs it motivates.
"""

from __future__ import annotations

from agents.brain import hypothesis as brain_hypothesis
from agents.common import state
from agents.common.steps import StepOutcome
from agents.researcher.hypotheses import (
    build_hypothesis,
    choose,
    current_need,
    hypothesis_path,
    known_hypotheses,
    next_number,
    update_statuses,
)
from agents.researcher.knowledge import load_corpus, paper_key, rank_papers
from agents.researcher.literature import gather, offline_line, read_top, write_graph
from agents.researcher.net import open_net
from agents.researcher.search_choice import chosen_from_search, minutes_left, need_from, search_section
from agents.search import decide
from bus import ArtifactError, Workspace, layout
from bus.schemas import Hypothesis, PaperNote

__all__ = ["NOTES_PER_STEP", "current_need", "load_corpus", "rank_papers", "researcher_step"]

NOTES_PER_STEP = 3
_READ_DEPTH = {"knowledge-base": 0, "abstract": 1, "full-text": 2}


def _note(paper: dict, score: float, need: dict, reading: dict | None) -> PaperNote:
    key = paper_key(paper)
    matched = sorted(set(paper.get("tags", [])) & set(need["tags"]))
    addressed = sorted(set(paper.get("failure_modes", [])) & set(need["findings"]))
    where = f"arXiv {paper['arxiv_id']}" if paper.get("arxiv_id") else paper.get("url", key)
    knobs = ", ".join(f"`{k}={v}`" for k, v in paper.get("knobs", {}).items()) or "none directly"
    in_kb = paper.get("source", "knowledge-base") == "knowledge-base"
    reading = reading or {}
    body = [
        f"# {paper['title']} ({where}, {paper['year']})",
        "",
        paper["summary"] if in_kb else f"Abstract (from arXiv):\n\n> {paper['summary']}",
        "",
        f"Failure modes it addresses: {', '.join(paper.get('failure_modes', [])) or 'none named'}.",
        "",
        f"TRL knobs it motivates: {knobs}.",
    ]
    if paper.get("id_note"):
        body += ["", f"Source: {paper['id_note']}"]
    if reading.get("read") == "full-text":
        kinds = reading["sections"]
        body += ["", "## Read in full (arXiv HTML)", ""]
        body += [f"- {kind} sections: {', '.join(heads) or 'none found'}" for kind, heads in kinds.items()]
    if reading.get("hyperparameters") or reading.get("results"):
        body += ["", "## Extracted", ""]
        body += [f"- `{k}`: {', '.join(v)}" for k, v in reading.get("hyperparameters", {}).items()]
        body += [f"- {row}" for row in reading.get("results", [])]
    body += [
        "",
        "## Why it matters here",
        "",
        f"Relevance {score} to the current need: {need['why']}. "
        f"Matching themes: {', '.join(matched) or 'none'}; findings it addresses: {', '.join(addressed) or 'none'}.",
    ]
    return PaperNote(
        arxiv_id=paper.get("arxiv_id"),
        title=paper["title"],
        year=paper["year"],
        relevance=max(score, 0.0),
        tags=paper.get("tags", []),
        knobs=paper.get("knobs", {}),
        url=paper.get("url"),
        read=reading.get("read", "knowledge-base"),
        failure_modes=paper.get("failure_modes", []),
        hyperparameters=reading.get("hyperparameters", {}),
        datasets=reading.get("datasets", []),
        results=reading.get("results", []),
        citations=paper.get("citations"),
        body="\n".join(body),
    )


def researcher_step(ws: Workspace, instruction: str = "") -> StepOutcome:
    known = known_hypotheses(ws)
    commits = update_statuses(ws, known)
    known = known_hypotheses(ws) if commits else known
    tree, decision = decide(ws, minutes_left(instruction), different="unlike the last ones" in instruction)
    if decision.chosen is None:
        return StepOutcome("researcher", f"no experiment is called for: {decision.stop}", commits)
    need = need_from(ws, tree, decision)
    if decision.chosen.cand.hypothesis:
        path = decision.chosen.cand.hypothesis
        return StepOutcome(
            "researcher", f"the search chose {path}, already on file ({decision.chosen.describe()})", commits
        )
    for k in known:
        if k.status == "proposed" and k.hyp.based_on == need["based_on"]:
            return StepOutcome("researcher", f"{k.path} already answers {need['based_on']}; not repeating it", commits)

    goal = ws.goal()
    corpus = load_corpus()
    context = f"{goal.task.name} {instruction} {need['why']} {' '.join(need['findings'])}"
    net = open_net(ws, goal.research)
    online, record = gather(net, goal, need, corpus, context)
    ranked = rank_papers(corpus + online, need["tags"], context, need["findings"], cited=set(need["papers"]))
    readings = read_top(net, ranked, goal.research.read_full_text)
    record["notes"] = net.notes
    commits += write_graph(ws, record)
    chosen, cands, passed = chosen_from_search(decision, need, ranked, corpus, known)
    said = offline_line(net)
    if chosen is None:
        why = "; ".join(passed) or "no candidate change"
        summary = f"no new hypothesis for {need['based_on']}: {why}"
        return StepOutcome("researcher", summary + (f"; {said}" if said else ""), commits, ok=False)

    by_key = {paper_key(p): (s, p) for s, p in ranked}
    to_note = list(dict.fromkeys(chosen["papers"] + [paper_key(p) for _, p in ranked[:NOTES_PER_STEP]]))
    to_note += [k for k in readings if k not in to_note][: goal.research.read_full_text]
    withdrawn = state.withdrawn(ws)  # a note a human withdrew by a revert is not written back
    for key in to_note:
        rel = layout.paper_note(key)
        if key not in by_key or rel in withdrawn or not _worth_writing(ws, rel, readings.get(key)):
            continue
        score, paper = by_key[key]
        note = _note(paper, score, need, readings.get(key))
        commits.append(
            ws.write_artifact("researcher", rel, note, f"Note on {key} ({note.read}): {paper['title'][:60]}")
        )

    number = next_number(known)
    titles = {key: p["title"] for key, (_, p) in by_key.items()}
    hyp = build_hypothesis(number, chosen, cands, passed, need, titles)
    hyp.body = hyp.body.replace("\n\n## Status", search_section(decision) + "\n\n## Status", 1)
    hyp, by = _brain_draft(ws, need, ranked, corpus, known, hyp)
    title = hyp.title + (f" ({by})" if by else "")
    rel = hypothesis_path(number, hyp.title)
    commits.append(ws.write_artifact("researcher", rel, hyp, f"Hypothesis {hyp.id}: {title}"))
    summary = f"{rel}: {title} (papers {', '.join(hyp.papers)})"
    return StepOutcome("researcher", summary + (f"; {said}" if said else ""), commits)


def _brain_draft(ws: Workspace, need: dict, ranked: list, corpus: list[dict], known: list, fallback: Hypothesis):
    """The LLM brain's version of the hypothesis when one is set (agents/brain), held to the same rule as ours:
    a draft that repeats a withdrawn, tested or refuted change is dropped for the deterministic one."""
    papers = [p for _, p in ranked[:8] if p.get("arxiv_id")]
    drafted, by = brain_hypothesis.propose_hypothesis(ws, need, papers, fallback)
    if drafted is fallback:
        return fallback, by
    cand = {
        "method": drafted.method,
        "parent_run": drafted.parent_run,
        "config_delta": drafted.config_delta,
        "data_change": drafted.data_change,
        "papers": drafted.papers,
        "why": drafted.claim,
    }
    ok, passed = choose([cand], known, need, corpus)
    if ok is None:
        return fallback, f"the LLM brain's draft was dropped: {passed[0]}"
    return drafted.model_copy(update={"new_evidence": ok.get("new_evidence", [])}), by


def _worth_writing(ws: Workspace, rel: str, reading: dict | None) -> bool:
    """A new note, or a deeper reading (abstract, then full text) than the note on file."""
    if not ws.exists(rel):
        return True
    try:
        old = ws.load(rel)
    except ArtifactError:
        return False  # a note a human broke is theirs to fix; the supervisor reports it
    return _READ_DEPTH[(reading or {}).get("read", "knowledge-base")] > _READ_DEPTH[old.read]
