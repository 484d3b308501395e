"""Seeing the search: the tree as text (`intern tree`) and as a picture (reports/tree.png, linked from the summary)."""

from __future__ import annotations

import io

from agents.search.tree import BASE, Node, Tree
from bus import layout

TREE_PNG = layout.TREE_PNG
_COLOURS = {"base": "#9e9e9e", "kept": "#2e7d32", "discarded": "#ef6c00", "failed": "#c62828"}


def change_of(node: Node) -> str:
    """What the experiment changed, in a few words: method, knobs, data."""
    if node.id == BASE:
        return "the model as given"
    parts = [node.method.upper() if node.method else "?"]
    if node.delta:
        parts.append(", ".join(f"{k}={_short(v)}" for k, v in node.delta.items()))
    if node.data_action:
        parts.append(f"data: {node.data_action}")
    return "; ".join(parts)


def _short(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _verdict(node: Node) -> str:
    if node.verdict == "failed":
        return f"failed ({node.cause})"
    if node.verdict in ("kept", "discarded") and node.gain is not None and node.interval is not None:
        against = "base" if node.against in (None, BASE) else node.against
        return f"{node.verdict} ({node.gain:+.3f} vs {against}, 95% {node.interval[0]:+.3f}..{node.interval[1]:+.3f})"
    return node.verdict


def _order(tree: Tree) -> list[tuple[Node, int]]:
    """Depth-first from the base node; runs whose parent is missing hang under the base."""
    known = {n.id for n in tree.nodes}
    out: list[tuple[Node, int]] = []

    def walk(node: Node, depth: int) -> None:
        out.append((node, depth))
        for child in tree.runs:
            parent = child.parent if child.parent in known else BASE
            if parent == node.id and child.id != node.id:
                walk(child, depth + 1)

    base = tree.node(BASE)
    if base is not None:
        walk(base, 0)
    return out


def render_tree(tree: Tree) -> str:
    """One line per node: node, parent, change, score, verdict (gain and its interval), minutes."""
    lines = [f"experiment tree (target {tree.target:.2f}; kept = gain over the best kept run with a paired 95% "
             "interval above 0)", ""]  # fmt: skip
    for node, depth in _order(tree):
        indent = "   " * max(0, depth - 1) + ("└─ " if depth else "")
        score = f"{node.score:.3f}" if node.score is not None else "  -  "
        minutes = f"{node.minutes + node.eval_minutes:.1f} min" if node.id != BASE else ""
        parent = f"<- {node.parent}" if node.parent else ""
        move = f" [{node.move}]" if node.move else ""
        lines.append(
            f"{indent + node.id:<18} {parent:<11} {score}  {_verdict(node):<50} {minutes:>8}  {change_of(node)}{move}"
        )
    return "\n".join(lines) + "\n"


def tree_png(tree: Tree) -> bytes:
    """The tree as a picture: one box per node (colour = verdict), an edge from each run to its parent."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    order = _order(tree)
    rows = {node.id: i for i, (node, _) in enumerate(order)}
    depth = {node.id: d for node, d in order}
    fig = Figure(figsize=(10, 1.0 + 0.7 * len(order)))
    ax = fig.add_subplot(1, 1, 1)
    for node, d in order:
        y = -rows[node.id]
        if node.parent is not None and node.parent in rows:
            ax.plot([depth[node.parent], d], [-rows[node.parent], y], color="#bdbdbd", zorder=1)
        label = f"{node.id}  {node.score:.3f}" if node.score is not None else node.id
        label += f"\n{change_of(node)[:60]}\n{_verdict(node)[:60]}"
        ax.text(
            d,
            y,
            label,
            fontsize=8,
            va="center",
            ha="left",
            zorder=2,
            bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": _COLOURS.get(node.verdict, "#1565c0")},
        )
    ax.set_xlim(-0.2, max(depth.values(), default=0) + 2.5)
    ax.set_ylim(-len(order) + 0.4, 0.6)
    ax.axis("off")
    ax.set_title(f"experiment tree (target {tree.target:.2f})", fontsize=10)
    FigureCanvasAgg(fig)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=80, metadata={"Software": None})
    return out.getvalue()
