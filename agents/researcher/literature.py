"""The literature for one researcher step: arXiv search, the citation graph, and reading the top papers.

Online, papers found by search and by the graph join the knowledge base in one ranking; the graph is
kept as papers/graph.json and drawn as papers/graph.png. Offline (or once a service fails), the cache
and the knowledge base answer, the graph is drawn from the knowledge base's own citations, and the
step says so once per run.
"""

from __future__ import annotations

import json

from agents.common import state
from agents.researcher.arxiv import build_query, search_arxiv
from agents.researcher.graph import graph_record, kb_node, neighbours_with_fallback, render_png, walk
from agents.researcher.knowledge import context_words, paper_key, score_paper
from agents.researcher.net import Net, NetError, Offline
from agents.researcher.reading import extract, read_full_text
from bus import Workspace, layout
from bus.schemas import Goal

GRAPH_JSON = layout.PAPER_GRAPH_JSON
GRAPH_PNG = layout.PAPER_GRAPH_PNG
_ANNOUNCED: set[str] = set()  # offline reasons already said in this process


def scorer(need: dict, context: str):
    words = context_words(context)
    cited = set(need["papers"])
    return lambda paper: score_paper(paper, need["tags"], need["findings"], words, cited)


def anchor_nodes(anchors: list[str], corpus: list[dict]) -> list[dict]:
    by_key = {paper_key(p): p for p in corpus}
    out = []
    for anchor in anchors:
        if anchor in by_key:
            out.append(kb_node(by_key[anchor]))
        else:  # an anchor outside the knowledge base: its id is all we know until a service answers
            year = 2000 + int(anchor[:2])
            out.append({"key": anchor, "arxiv_id": anchor, "title": f"arXiv {anchor}", "year": year, "source": "arxiv"})
            out[-1] |= {"tags": [], "failure_modes": [], "knobs": {}, "summary": ""}
    return out


def gather(net: Net, goal: Goal, need: dict, corpus: list[dict], context: str) -> tuple[list[dict], dict]:
    """Papers found online (not in the knowledge base), and the citation graph record."""
    found: list[dict] = []
    query = build_query(goal, need["method"], need["findings"])
    try:
        found = search_arxiv(net, query, goal.research.search_results)
        net.notes.append(f"arXiv search {query!r}: {len(found)} papers")
    except NetError as exc:
        net.notes.append(f"arXiv search {query!r} not run: {exc}")
    score = scorer(need, context)
    graph = walk(
        anchor_nodes(goal.research.anchors, corpus),
        goal.research.depth,
        goal.research.papers,
        neighbours_with_fallback(net, corpus),
        score,
    )
    known = {paper_key(p) for p in corpus}
    online = {p["arxiv_id"]: p for p in found if p["arxiv_id"] not in known}
    for node in graph["nodes"]:
        if node["source"] != "knowledge-base" and node.get("summary") and node["key"] not in online:
            online[node["key"]] = node
    return list(online.values()), graph_record(graph, [])


def read_top(net: Net, ranked: list[tuple[float, dict]], count: int) -> dict[str, dict]:
    """Full text of the `count` best papers with an arXiv id when it can be fetched (or is cached);
    the abstract of every online paper otherwise."""
    readings: dict[str, dict] = {}
    for _, paper in ranked:
        key = paper_key(paper)
        if paper.get("source") in ("arxiv", "semantic-scholar") and paper.get("summary"):
            readings[key] = extract(paper["summary"]) | {"read": "abstract"}
    tried = 0
    for _, paper in ranked:
        if tried >= count or not paper.get("arxiv_id"):
            continue
        tried += 1
        try:
            readings[paper_key(paper)] = read_full_text(net, paper["arxiv_id"]) | {"read": "full-text"}
        except Offline:
            break  # the cache had nothing and the network is gone: the rest would fail the same way
        except NetError as exc:
            net.notes.append(f"full text of {paper['arxiv_id']} not read: {exc}")
    return readings


def offline_line(net: Net) -> str:
    """'offline: ...' the first time this process meets a reason to be offline, else ''."""
    reason = net.why_offline or next((n for n in net.notes if "unreachable" in n), "")
    if not reason or reason in _ANNOUNCED:
        return ""
    _ANNOUNCED.add(reason)
    return f"offline ({reason}): knowledge base and cache only"


def write_graph(ws: Workspace, record: dict) -> list[str]:
    """papers/graph.json and papers/graph.png, when the papers or edges changed since the last drawing.

    Neither is written while a human's revert withdraws graph.json (the picture draws it), until they revert
    the revert: a withdrawn artifact is never written back by the agent that made it.
    """
    if GRAPH_JSON in state.withdrawn(ws):
        return []
    if ws.exists(GRAPH_JSON):
        try:
            old = json.loads(ws.read_text(GRAPH_JSON))
            same_nodes = {n["key"] for n in old.get("nodes", [])} == {n["key"] for n in record["nodes"]}
            if same_nodes and old.get("edges") == record["edges"] and ws.exists(GRAPH_PNG):
                return []
        except (ValueError, KeyError, TypeError):
            pass  # a hand-damaged graph.json is simply redrawn
    text = json.dumps(record, indent=2, ensure_ascii=False) + "\n"
    n, e = len(record["nodes"]), len(record["edges"])
    return [
        ws.write_artifact("researcher", GRAPH_JSON, text, f"Citation graph: {n} papers, {e} citations"),
        ws.write_artifact("researcher", GRAPH_PNG, render_png(record), f"Draw the citation graph ({n} papers)"),
    ]
