"""The researcher online and offline, end to end through its step, against a local HTTP server that serves
recorded arXiv Atom feeds, Semantic Scholar Graph API JSON and arXiv HTML (see conftest.py)."""

from __future__ import annotations

import json

import pytest

from agents.common import state
from agents.researcher import literature
from agents.researcher.knowledge import load_corpus
from agents.researcher.literature import gather, offline_line, read_top
from agents.researcher.net import open_net
from agents.researcher.researcher import current_need, researcher_step
from bus.schemas import PaperNote


@pytest.fixture
def online_ws(ws, services, recorded, set_goal, write_base_evaluation):
    """A cold-start workspace whose researcher sees arXiv and Semantic Scholar (served locally)."""
    set_goal(ws, research={"anchors": ["2402.03300"], "depth": 2, "papers": 8, "read_full_text": 2})
    write_base_evaluation(ws, 0.0)
    services.route("/api/query", recorded("arxiv_search_grpo_entropy.xml"), recorded("arxiv_empty_page.xml"))
    for arxiv_id in ("2402.03300", "2503.14476"):
        for kind in ("citations", "references"):
            services.route(f"/graph/v1/paper/arXiv:{arxiv_id}/{kind}", recorded(f"s2_{kind}_{arxiv_id}.json"))
    services.route("/html/2509.01234", recorded("arxiv_html_2509.01234.html"))
    return ws


def test_online_step_searches_walks_reads_and_writes_the_graph(online_ws, services):
    ws = online_ws
    outcome = researcher_step(ws)
    assert outcome.ok and "offline" not in outcome.summary
    graph = json.loads(ws.read_text("papers/graph.json"))
    assert graph["sources"] == ["semantic-scholar"] and graph["depth"] == 2 and len(graph["nodes"]) <= 8
    assert any(n["key"] == "2509.01234" and n["source"] == "semantic-scholar" for n in graph["nodes"])
    assert any("arXiv search" in note for note in graph["notes"])
    assert ws.path("papers/graph.png").read_bytes()[:4] == b"\x89PNG"
    # The paper found online has a note from its abstract, quoted and attributed, with what the reader pulled out.
    note = ws.load("papers/2509.01234.md")
    assert isinstance(note, PaperNote) and note.read in ("abstract", "full-text")
    assert "Abstract (from arXiv)" in note.body and "GSM8K" in note.datasets
    # The hypothesis is still the cold start's, backed by the papers that address a cold start.
    [(_, hyp)] = state.hypotheses(ws)
    assert hyp.method == "sft" and hyp.papers[0] == "2501.12948"
    assert services.count("/graph/v1/") > 0 and services.count("/api/query") > 0


def test_a_rerun_costs_no_request(online_ws, services):
    ws = online_ws
    goal, corpus, need = ws.goal(), load_corpus(), current_need(ws)
    first_net = open_net(ws, goal.research)
    online, record = gather(first_net, goal, need, corpus, "")
    first_reads = read_top(first_net, [(1.0, p) for p in online], 2)
    made = len(services.requests)
    assert made == first_net.requests_made > 0
    again_net = open_net(ws, goal.research)
    assert gather(again_net, goal, need, corpus, "") == (online, record)
    assert read_top(again_net, [(1.0, p) for p in online], 2) == first_reads
    assert len(services.requests) == made and again_net.requests_made == 0
    assert first_reads["2509.01234"]["read"] == "full-text"


def test_offline_makes_no_request_and_says_so_once(ws, services, set_goal, write_base_evaluation, monkeypatch):
    monkeypatch.setattr(literature, "_ANNOUNCED", set())
    set_goal(ws, research={"online": False})
    write_base_evaluation(ws, 0.0)
    outcome = researcher_step(ws)
    assert outcome.ok and "offline (research.online is false in intern.yaml)" in outcome.summary
    assert services.requests == []
    graph = json.loads(ws.read_text("papers/graph.json"))
    assert graph["sources"] == ["knowledge-base"]
    assert any("semantic-scholar unavailable" in note for note in graph["notes"])
    # Said once per run: the next step that meets the same reason stays quiet about it.
    assert offline_line(open_net(ws, ws.goal().research)) == ""
