"""The citation graph: traversal limits and cycles on a small in-memory graph, the Semantic Scholar protocol
and its fallbacks against a local server serving recorded Graph API responses, and the drawing."""

from __future__ import annotations

import json

from agents.researcher.graph import (
    graph_record,
    kb_neighbours,
    neighbours_with_fallback,
    render_png,
    walk,
)
from agents.researcher.knowledge import load_corpus
from agents.researcher.literature import anchor_nodes
from agents.researcher.net import Net

# A cites B and C; B cites A (a cycle); C cites D; D cites E.
CITES = {"A": ["B", "C"], "B": ["A"], "C": ["D"], "D": ["E"], "E": []}
SCORES = {"A": 0, "B": 1, "C": 5, "D": 2, "E": 9}


def _node(key: str) -> dict:
    return {"key": key, "title": key, "year": 2025, "source": "knowledge-base"}


def _neighbours(calls: list[str]):
    def neighbours(node: dict) -> list[tuple[dict, str, str]]:
        calls.append(node["key"])
        key = node["key"]
        cited = [(_node(k), "cited", "test") for k in CITES[key]]
        citing = [(_node(k), "citing", "test") for k, cs in CITES.items() if key in cs]
        return cited + citing

    return neighbours


def _score(node: dict) -> float:
    return SCORES[node["key"]]


def test_walk_stops_at_the_depth_and_expands_each_paper_once():
    calls: list[str] = []
    graph = walk([_node("A")], depth=2, budget=10, neighbours=_neighbours(calls), score=_score)
    depth = {n["key"]: n["depth"] for n in graph["nodes"]}
    assert depth == {"A": 0, "B": 1, "C": 1, "D": 2}  # E is three hops away
    assert sorted(calls) == ["A", "B", "C"]  # the cycle A <-> B does not bring A back
    edges = {(e["from"], e["to"]) for e in graph["edges"]}
    assert edges == {("A", "B"), ("A", "C"), ("B", "A"), ("C", "D")}


def test_walk_keeps_the_best_scored_papers_within_the_budget():
    graph = walk([_node("A")], depth=3, budget=3, neighbours=_neighbours([]), score=_score)
    assert [n["key"] for n in graph["nodes"]] == ["A", "C", "B"]  # hop 1 both fit; nothing after
    graph = walk([_node("A")], depth=3, budget=2, neighbours=_neighbours([]), score=_score)
    assert [n["key"] for n in graph["nodes"]] == ["A", "C"]  # C (5) beats B (1)
    assert {(e["from"], e["to"]) for e in graph["edges"]} == {("A", "C")}  # no edge to a paper left out
    graph = walk([_node("A")], depth=0, budget=10, neighbours=_neighbours([]), score=_score)
    assert [n["key"] for n in graph["nodes"]] == ["A"]


def _net(tmp_path, **kw) -> Net:
    return Net(
        **({"online": True, "why_offline": "", "timeout": 5, "cache_dir": tmp_path, "delay": 0, "backoff": 0.01} | kw)
    )


def _route_s2(services, recorded) -> None:
    for arxiv_id in ("2402.03300", "2503.14476"):
        for kind in ("citations", "references"):
            services.route(f"/graph/v1/paper/arXiv:{arxiv_id}/{kind}", recorded(f"s2_{kind}_{arxiv_id}.json"))


def test_semantic_scholar_walk_from_an_anchor(services, recorded, tmp_path):
    _route_s2(services, recorded)
    corpus = load_corpus()
    net = _net(tmp_path)
    graph = walk(anchor_nodes(["2402.03300"], corpus), 2, 10, neighbours_with_fallback(net, corpus), lambda n: 1.0)
    keys = {n["key"] for n in graph["nodes"]}
    # The paper with no title is skipped; the one with no arXiv id is kept under its Semantic Scholar id.
    assert keys == {
        "2402.03300",
        "2503.14476",
        "2509.01234",
        "1707.06347",
        "s2:1234567890abcdef1234567890abcdef12345678",
    }
    edges = {(e["from"], e["to"]) for e in graph["edges"]}
    assert {("2503.14476", "2402.03300"), ("2402.03300", "1707.06347"), ("2509.01234", "2503.14476")} <= edges
    assert {e["source"] for e in graph["edges"]} == {"semantic-scholar"}
    dapo = next(n for n in graph["nodes"] if n["key"] == "2503.14476")
    assert dapo["source"] == "knowledge-base" and dapo["citations"] == 950  # our notes, their count
    sent = services.requests[0]
    assert sent.startswith("/graph/v1/paper/arXiv:2402.03300/citations?")
    assert "fields=paperId%2CexternalIds%2Ctitle%2Cyear%2CcitationCount%2Cabstract" in sent
    assert not any("unavailable" in note for note in net.notes)  # 404s for unknown papers are not outages
    # Cached: the same walk again makes no request.
    before = len(services.requests)
    walk(anchor_nodes(["2402.03300"], corpus), 2, 10, neighbours_with_fallback(_net(tmp_path), corpus), lambda n: 1.0)
    assert len(services.requests) == before


def test_a_semantic_scholar_api_key_is_sent_but_never_stored(services, recorded, tmp_path, monkeypatch):
    monkeypatch.setenv("SEMANTIC_SCHOLAR_API_KEY", "s2-key-abc123")
    _route_s2(services, recorded)
    corpus = load_corpus()
    walk(anchor_nodes(["2402.03300"], corpus), 1, 5, neighbours_with_fallback(_net(tmp_path), corpus), lambda n: 1.0)
    assert services.headers and all(h.get("x-api-key") == "s2-key-abc123" for h in services.headers)
    assert services.headers[0]["User-Agent"].startswith("intern-researcher")
    cached = " ".join(p.read_text() for p in tmp_path.rglob("*.json"))
    assert cached and "s2-key-abc123" not in cached


def test_semantic_scholar_down_falls_back_to_arxiv_listings(services, recorded, tmp_path):
    services.route("/graph/v1/paper/arXiv:2402.03300/citations", (503, "Service Unavailable"))
    services.route("/api/query", recorded("arxiv_search_grpo_entropy.xml"), recorded("arxiv_empty_page.xml"))
    corpus = load_corpus()
    net = _net(tmp_path, retries=1)
    graph = walk(anchor_nodes(["2402.03300"], corpus), 1, 10, neighbours_with_fallback(net, corpus), lambda n: 1.0)
    assert any("semantic-scholar unavailable" in note and "503" in note for note in net.notes)
    edges = {(e["from"], e["to"], e["source"]) for e in graph["edges"]}
    assert edges == {("2509.01234", "2402.03300", "arxiv-listing"), ("2505.22312", "2402.03300", "arxiv-listing")}
    assert services.count("/graph/v1/") == 2  # one try, one retry, then never again this step


def test_offline_the_knowledge_base_draws_the_graph(tmp_path):
    corpus = load_corpus()
    net = _net(tmp_path, online=False, why_offline="cut")
    graph = walk(anchor_nodes(["2402.03300"], corpus), 1, 50, neighbours_with_fallback(net, corpus), lambda n: 1.0)
    keys = {n["key"] for n in graph["nodes"]}
    builds_on_grpo = {
        n["key"] for n, d, _ in kb_neighbours(corpus, anchor_nodes(["2402.03300"], corpus)[0]) if d == "citing"
    }
    assert {"2503.14476", "2501.12948", "2505.22312"} <= builds_on_grpo <= keys
    assert "1707.06347" in keys  # what GRPO itself builds on
    assert {e["source"] for e in graph["edges"]} == {"knowledge-base"}


def test_record_and_picture(tmp_path):
    corpus = load_corpus()
    graph = walk(
        anchor_nodes(["2402.03300", "2501.12948"], corpus),
        1,
        12,
        lambda n: kb_neighbours(corpus, n),
        lambda n: n["year"] - 2000.0,
    )
    record = graph_record(graph, ["a note"])
    text = json.dumps(record)
    assert "summary" not in text and record["sources"] == ["knowledge-base"] and record["notes"] == ["a note"]
    assert len(record["nodes"]) == 12 and record["anchors"] == ["2402.03300", "2501.12948"]
    png = render_png(record)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
