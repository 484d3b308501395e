"""The citation graph: breadth-first from anchor papers to the papers that cite them and those they cite.

Neighbours come from the Semantic Scholar Graph API (/paper/{id}/citations and /references); while it
is down, from arXiv listings (papers whose abstract names the paper's method); offline, from the
knowledge base's own `cites` lists. Each hop keeps the best-scored new papers until the paper budget
is spent; a paper reached twice is kept once and expanded once, so cycles end. Edges point from the
citing paper to the cited one.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable

from agents.researcher import net as netmod
from agents.researcher.arxiv import search_arxiv
from agents.researcher.knowledge import derive_tags, paper_key
from agents.researcher.net import Net, NetError

S2_FIELDS = "paperId,externalIds,title,year,citationCount,abstract"
NEIGHBOURS_PER_CALL = 50
LISTING_RESULTS = 10

Neighbours = Callable[[dict], list[tuple[dict, str, str]]]  # node -> [(neighbour, "citing" | "cited", source)]


def s2_node(raw: object, corpus_by_key: dict[str, dict]) -> dict | None:
    """A Semantic Scholar paper object as a graph node; None when it has no title or no id at all."""
    if not isinstance(raw, dict) or not raw.get("title"):
        return None
    arxiv_id = (raw.get("externalIds") or {}).get("ArXiv")
    key = arxiv_id or (f"s2:{raw['paperId']}" if raw.get("paperId") else None)
    if key is None:
        return None
    node = {
        "key": key,
        "arxiv_id": arxiv_id,
        "s2_id": raw.get("paperId"),
        "title": " ".join(str(raw["title"]).split()),
        "year": raw.get("year") or 0,
        "citations": raw.get("citationCount") or 0,
        "summary": raw.get("abstract") or "",
        "source": "semantic-scholar",
    }
    return kb_node(corpus_by_key[key], node) if key in corpus_by_key else node | derive_tags(node)


def kb_node(paper: dict, online: dict | None = None) -> dict:
    """A knowledge-base paper as a node; what an online source knows (citation count) is kept."""
    node = dict(paper) | {"key": paper_key(paper), "source": "knowledge-base"}
    if online:
        node["citations"] = online.get("citations", 0)
        node["s2_id"] = online.get("s2_id")
    return node


def _s2_headers() -> dict[str, str]:
    """Semantic Scholar's optional API key (a higher rate limit), from the environment only."""
    key = os.environ.get("SEMANTIC_SCHOLAR_API_KEY")
    return {"x-api-key": key} if key else {}


def s2_neighbours(net: Net, node: dict, corpus_by_key: dict[str, dict]) -> list[tuple[dict, str, str]]:
    ident = f"arXiv:{node['arxiv_id']}" if node.get("arxiv_id") else node.get("s2_id")
    if not ident:
        raise NetError(f"{node['key']} has neither an arXiv nor a Semantic Scholar id")
    out = []
    for kind, field, direction in (("citations", "citingPaper", "citing"), ("references", "citedPaper", "cited")):
        url = f"{netmod.SEMANTIC_SCHOLAR_API}/paper/{ident}/{kind}"
        try:
            data = netmod.get_json(net, url, {"fields": S2_FIELDS, "limit": NEIGHBOURS_PER_CALL}, _s2_headers())
        except NetError as exc:
            if exc.status == 404:  # a paper Semantic Scholar does not know: no neighbours, the service is fine
                continue
            raise
        rows = data.get("data")
        if not isinstance(rows, list):
            raise NetError(f"Semantic Scholar's {kind} of {ident} has no 'data' list")
        for row in rows:
            found = s2_node(row.get(field) if isinstance(row, dict) else None, corpus_by_key)
            if found is not None:
                out.append((found, direction, "semantic-scholar"))
    return out


def listing_neighbours(net: Net, node: dict, corpus_by_key: dict[str, dict]) -> list[tuple[dict, str, str]]:
    """Recent arXiv papers whose abstract names the node's method: they build on it (edge kind 'listing')."""
    name = node.get("short") or node["title"]
    name = name.split(" (")[0]
    papers = search_arxiv(net, f'abs:"{name}"', LISTING_RESULTS)
    out = []
    for paper in papers:
        if paper["arxiv_id"] == node.get("arxiv_id"):
            continue
        key = paper["arxiv_id"]
        found = kb_node(corpus_by_key[key]) if key in corpus_by_key else paper | {"key": key} | derive_tags(paper)
        out.append((found, "citing", "arxiv-listing"))
    return out


def kb_neighbours(corpus: list[dict], node: dict) -> list[tuple[dict, str, str]]:
    by_key = {paper_key(p): p for p in corpus}
    citing = [(kb_node(p), "citing", "knowledge-base") for p in corpus if node["key"] in p.get("cites", [])]
    cited = [(kb_node(by_key[k]), "cited", "knowledge-base") for k in node.get("cites", []) if k in by_key]
    return citing + cited


def neighbours_with_fallback(net: Net, corpus: list[dict]) -> Neighbours:
    """Semantic Scholar, then arXiv listings, then the knowledge base; a source that failed is not retried."""
    by_key = {paper_key(p): p for p in corpus}
    down: dict[str, str] = {}

    def neighbours(node: dict) -> list[tuple[dict, str, str]]:
        for name, fetch in (("semantic-scholar", s2_neighbours), ("arxiv-listing", listing_neighbours)):
            if name in down:
                continue
            try:
                return fetch(net, node, by_key)
            except NetError as exc:
                down[name] = str(exc)
                net.notes.append(f"{name} unavailable ({exc}); falling back")
        return kb_neighbours(corpus, node)

    return neighbours


def walk(anchors: list[dict], depth: int, budget: int, neighbours: Neighbours, score: Callable[[dict], float]) -> dict:
    """Breadth-first to `depth` hops, at most `budget` papers; the best-scored new papers of each hop first."""
    nodes = {a["key"]: a | {"depth": 0, "score": score(a)} for a in anchors[:budget]}
    edges: dict[tuple[str, str], str] = {}
    frontier = list(nodes.values())
    for hop in range(1, depth + 1):
        found: dict[str, dict] = {}
        for node in frontier:
            for other, direction, source in neighbours(node):
                if other["key"] == node["key"]:
                    continue
                edge = (other["key"], node["key"]) if direction == "citing" else (node["key"], other["key"])
                edges.setdefault(edge, source)
                if other["key"] not in nodes:
                    found.setdefault(other["key"], other)
        room = budget - len(nodes)
        ranked = sorted(found.values(), key=lambda n: (-score(n), n["key"]))[: max(room, 0)]
        frontier = []
        for node in ranked:
            nodes[node["key"]] = node | {"depth": hop, "score": score(node)}
            frontier.append(nodes[node["key"]])
        if not frontier:
            break
    kept = sorted((e, s) for e, s in edges.items() if e[0] in nodes and e[1] in nodes)
    return {
        "anchors": [a["key"] for a in anchors],
        "depth": depth,
        "budget": budget,
        "nodes": sorted(nodes.values(), key=lambda n: (n["depth"], -n["score"], n["key"])),
        "edges": [{"from": a, "to": b, "source": s} for (a, b), s in kept],
    }


def graph_record(graph: dict, notes: list[str]) -> dict:
    """What papers/graph.json keeps of each node: enough to read and redraw, not the abstracts."""
    fields = ("key", "arxiv_id", "title", "short", "year", "citations", "score", "depth", "source")
    return {
        "anchors": graph["anchors"],
        "depth": graph["depth"],
        "budget": graph["budget"],
        "sources": sorted({e["source"] for e in graph["edges"]}),
        "nodes": [{f: n.get(f) for f in fields} for n in graph["nodes"]],
        "edges": graph["edges"],
        "notes": notes,
    }


def render_png(record: dict) -> bytes:
    """The graph as a picture: anchors in the middle ring, colour by where a paper came from, size by score."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import networkx as nx

    graph = nx.DiGraph()
    for node in record["nodes"]:
        graph.add_node(node["key"], **node)
    graph.add_edges_from((e["from"], e["to"]) for e in record["edges"])
    shells = [[n["key"] for n in record["nodes"] if n["depth"] == d] for d in range(record["depth"] + 1)]
    pos = nx.shell_layout(graph, [s for s in shells if s]) if len(graph) > 1 else {n: (0, 0) for n in graph}
    colours = {"knowledge-base": "#4C72B0", "semantic-scholar": "#55A868", "arxiv": "#DD8452"}
    anchor_colour, other_colour = "#C44E52", "#8172B3"
    fig, ax = plt.subplots(figsize=(13, 10), dpi=90)
    top = max((n["score"] or 0 for n in record["nodes"]), default=1) or 1
    sizes = {n["key"]: 250 + 1200 * max(n["score"] or 0, 0) / top for n in record["nodes"]}

    def colour(node: dict) -> str:
        return anchor_colour if node["depth"] == 0 else colours.get(node["source"], other_colour)

    for node in record["nodes"]:
        nx.draw_networkx_nodes(
            graph,
            pos,
            nodelist=[node["key"]],
            ax=ax,
            node_size=sizes[node["key"]],
            node_color=colour(node),
            edgecolors="black" if node["depth"] == 0 else "none",
        )
    # Edges after the nodes, told each node's size, so every arrowhead ends at its node's rim instead of under it.
    nodelist = list(graph.nodes)
    nx.draw_networkx_edges(
        graph,
        pos,
        ax=ax,
        nodelist=nodelist,
        node_size=[sizes.get(n, 300) for n in nodelist],
        alpha=0.7,
        arrows=True,
        arrowstyle="-|>",
        arrowsize=16,
        width=1.0,
        edge_color="#333333",
    )
    from matplotlib.lines import Line2D

    # The legend is built from the colours actually drawn, so it can never disagree with the picture.
    drawn = {"anchor": anchor_colour} if any(n["depth"] == 0 for n in record["nodes"]) else {}
    for n in record["nodes"]:
        if n["depth"] != 0:
            drawn.setdefault(n["source"] if n["source"] in colours else "other source", colour(n))
    handles = [
        Line2D([], [], marker="o", linestyle="", markersize=10, markerfacecolor=c, markeredgecolor="none", label=name)
        for name, c in drawn.items()
    ]
    if handles:
        ax.legend(handles=handles, loc="lower left", fontsize=9, frameon=True)
    labels = {n["key"]: f"{_label(n)}\n{n['year'] or ''}" for n in record["nodes"]}
    box = {"facecolor": "white", "alpha": 0.75, "edgecolor": "none", "pad": 0.5}
    nx.draw_networkx_labels(graph, pos, labels, ax=ax, font_size=7, bbox=box)
    ax.set_title(
        f"Citation graph from {', '.join(record['anchors'])}: {len(record['nodes'])} papers, depth "
        f"{record['depth']}, from {', '.join(record['sources']) or 'the anchors only'}\n"
        "size = relevance; arrows point from citing to cited",
        fontsize=9,
    )
    ax.axis("off")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _label(node: dict) -> str:
    text = node.get("short") or node["title"]
    text = text.split(":")[0]
    return text if len(text) <= 28 else text[:26] + "..."
