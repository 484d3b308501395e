"""The experiment tree: every run a node under the run it started from, read from the workspace files.

Nothing is remembered between calls: a reverted config, evaluation or diagnosis, a hypothesis a human
withdrew or wrote, all change the tree the next time it is built. The policy (policy.py) decides from
this data only, so a simulated tree (a list of Nodes) tests it without training anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from agents.common import state
from agents.models.refs import PACKAGED
from agents.models.tiny import EMBEDDED_TINY
from agents.recipes import pricing  # plain data: the steps the trainer plans when a hypothesis names none
from agents.tasks import addition
from bus import Workspace, layout
from bus.artifacts import parse_artifact
from bus.schemas import DatasetCard, Diagnosis, Evaluation, Finding, Hypothesis, TrainingConfig

BASE = "base"
# Failure causes, named as the launchers word them (agents/trainer/launchers/common.py, local.py).
OOM, TIMEOUT, NON_FINITE, INVALID, CANCELLED, REFUSED, CRASH = (
    "out of memory",
    "timeout",
    "non-finite loss",
    "invalid config",
    "cancelled",
    "refused",
    "crash",
)


@dataclass
class Node:
    """One experiment. `parent` is BASE for a run from the base model; the base node has parent None."""

    id: str
    parent: str | None
    method: str | None = None
    delta: dict = field(default_factory=dict)  # the config change the hypothesis asked for (vs the recipe)
    data: str | None = None  # dataset name
    data_action: str | None = None  # what the curator was asked to do for it
    hypothesis: str | None = None  # path of the hypothesis the run tested
    move: str | None = None  # the kind of move (backlog.py), when the hypothesis names it
    score: float | None = None
    gain: float | None = None  # against `against`, the best kept before it
    interval: tuple[float, float] | None = None  # 95% interval of that gain
    against: str | None = None
    verdict: str = "running"  # base, kept, discarded, failed, running (training), judging (waiting for the critic)
    cause: str | None = None  # failure cause (OOM, TIMEOUT, ...) of a failed run
    error: str | None = None
    minutes: float = 0.0  # training wall time
    eval_minutes: float = 0.0
    steps: int = 0
    config: TrainingConfig | None = None
    evaluation: Evaluation | None = None
    diagnosis: Diagnosis | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def kept(self) -> bool:
        return self.verdict in ("kept", "base")

    def signature(self) -> str:
        return signature(self.method or "", self.parent, self.delta, self.data_action)


@dataclass
class Tree:
    nodes: list[Node]
    target: float = 0.9
    hypotheses: dict[str, tuple[Hypothesis, str]] = field(default_factory=dict)  # path -> (hypothesis, status)
    withdrawn: dict[str, Hypothesis | None] = field(default_factory=dict)  # withdrawn hypothesis paths
    cards: dict[str, DatasetCard] = field(default_factory=dict)
    # The steps the trainer plans for this model and device when a hypothesis names none, and their row.
    default_steps: dict[str, int] = field(default_factory=lambda: {"sft": 800, "grpo": 500})
    recipe: str = pricing.TINY_ROW
    # Whether the curator may sample the model's own solutions for a hypothesis that asks (a task without a
    # generator, data.rejection.enabled), and the time budget that sampling has (data.rejection.seconds).
    self_sampling: bool = False
    sampling_seconds: float = 600.0
    # A GRPO step's seconds over an SFT step's for this model's row (measured there): the price of a first GRPO run.
    grpo_step_ratio: float = 3.0

    def node(self, node_id: str | None) -> Node | None:
        wanted = node_id or BASE
        return next((n for n in self.nodes if n.id == wanted), None)

    @property
    def runs(self) -> list[Node]:
        return [n for n in self.nodes if n.id != BASE]

    def best(self) -> Node | None:
        """The best kept node (the base node when nothing was kept): the comparison every new run must beat."""
        kept = [n for n in self.nodes if n.kept and n.score is not None]
        runs = [n for n in kept if n.id != BASE]
        return max(runs, key=lambda n: n.score, default=None) or self.node(BASE)

    def children(self, node_id: str) -> list[Node]:
        return [n for n in self.runs if (n.parent or BASE) == node_id]

    def depth(self, node: Node) -> int:
        depth, seen = 0, set()
        while node.parent is not None and node.id not in seen:
            seen.add(node.id)
            parent = self.node(node.parent)
            if parent is None:
                break
            node, depth = parent, depth + 1
        return depth


def signature(method: str, parent: str | None, delta: dict, data_action: str | None) -> str:
    """Two experiments with the same signature make the same change from the same start."""
    return json.dumps([method, parent or BASE, delta, data_action or ""], sort_keys=True, default=str)


def failure_kind(error: str | None) -> str:
    """The cause of a failed run, from the one-line error the launcher and the trainer write."""
    text = (error or "").lower()
    if "out of memory" in text or "outofmemoryerror" in text or "sigkill" in text:
        return OOM
    if "timed out" in text or "timeout" in text:
        return TIMEOUT
    if "non-finite" in text or "nan" in text.split() or "nan/inf" in text:
        return NON_FINITE
    if "cancelled" in text:
        return CANCELLED
    if "not trained: the config" in text and ("withdrawn" in text or "breaks" in text or "repeats" in text):
        return REFUSED
    if "invalid config" in text or "validationerror" in text or "valueerror" in text or "input should be" in text:
        return INVALID
    return CRASH


def _hyp_status(path: str, runs: list[state.RunView]) -> str:
    tested = [r for r in runs if r.config is not None and r.config.hypothesis == path]
    if not tested:
        return "proposed"
    run = tested[-1]
    if run.result is None or run.diagnosis is None:
        return "running"
    return "supported" if state.is_kept(run) else "refuted"


def build_tree(ws: Workspace) -> Tree:
    """The tree the files describe now."""
    goal = ws.goal()
    runs = state.runs(ws)
    withdrawn_paths = state.withdrawn(ws)
    hyps = {p: (h, _hyp_status(p, runs)) for p, h in state.hypotheses(ws) if p not in withdrawn_paths}
    withdrawn = {
        p: _withdrawn_copy(ws, p, sha) for p, sha in withdrawn_paths.items() if layout.under(p, layout.HYPOTHESES)
    }
    cards = {c.name: c for _, c in state.dataset_cards(ws, include_rejected=True)}
    base = state.base_evaluation(ws)
    nodes = [
        Node(
            id=BASE,
            parent=None,
            score=base.score if base else None,
            verdict="base",
            evaluation=base,
            eval_minutes=(base.seconds / 60) if base else 0.0,
        )
    ]
    for run in runs:
        if run.config is None:
            continue
        nodes.append(run_node(run, hyps.get(run.config.hypothesis or "", (None, ""))[0]))
    shape = None if goal.model == EMBEDDED_TINY else pricing.first_shape(model_configs(ws, goal.model, runs))
    planned = pricing.planned_steps(shape, shape is not None and pricing.cuda_now(), goal.scale.steps, goal.task.digits)
    self_sampling = goal.task.name != addition.NAME and goal.data.rejection.enabled  # addition has a generator
    return Tree(
        nodes,
        target=goal.target.value,
        hypotheses=hyps,
        withdrawn=withdrawn,
        cards=cards,
        default_steps=planned.steps,
        recipe=planned.row,
        self_sampling=self_sampling,
        sampling_seconds=goal.data.rejection.seconds,
        grpo_step_ratio=planned.grpo_step_ratio,
    )


def model_configs(ws: Workspace, model: str, runs: list[state.RunView]) -> list[Path]:
    """config.json files of this goal's model already on disk, nothing built or converted: the runs'
    checkpoints, a local model folder, or the workspace's conversion of a packaged model."""
    found = [ws.path(layout.run_checkpoint(r.id)) / "config.json" for r in reversed(runs)]
    found += [Path(model).expanduser() / "config.json", ws.root / model / "config.json"]
    if model.lower() in PACKAGED:
        stem = Path(PACKAGED[model.lower()].file).stem.lower()
        found += sorted((ws.state_dir / "models").glob(f"{stem}-*/config.json"))
    return [p for p in found if p.is_file()]


def run_node(run: state.RunView, hyp: Hypothesis | None) -> Node:
    cfg = run.config
    node = Node(
        id=run.id,
        parent=cfg.parent_run or BASE,
        method=cfg.method,
        delta=dict(hyp.config_delta) if hyp else {},
        data=cfg.dataset,
        data_action=hyp.data_change if hyp else None,
        hypothesis=cfg.hypothesis,
        move=_move_of(hyp),
        config=cfg,
        evaluation=run.evaluation,
        diagnosis=run.diagnosis,
        findings=list(run.diagnosis.findings) if run.diagnosis else [],
    )
    result = run.result
    if result is None:
        return node
    node.minutes, node.steps = result.wall_seconds / 60, result.steps
    if result.status == "failed":
        node.verdict, node.error, node.cause = "failed", result.error, failure_kind(result.error)
        return node
    if run.evaluation is None or run.diagnosis is None:
        node.verdict = "judging"
        return node
    dg = run.diagnosis
    node.score, node.eval_minutes = run.evaluation.score, run.evaluation.seconds / 60
    node.gain, node.interval = dg.gain_vs_best, dg.gain_vs_best_interval
    node.against = dg.best_before or BASE
    node.verdict = "kept" if state.is_kept(run) else "discarded"
    return node


def _move_of(hyp: Hypothesis | None) -> str | None:
    """The move a hypothesis written by the search names in its body (`Move: ...`)."""
    if hyp is None:
        return None
    for line in hyp.body.splitlines():
        if line.startswith("**Move:**"):
            return line.removeprefix("**Move:**").strip().split(" (")[0] or None
    return None


def _withdrawn_copy(ws: Workspace, path: str, revert_sha: str) -> Hypothesis | None:
    """The hypothesis as it was before the human's revert, so the same change is not proposed again."""
    try:
        found = parse_artifact(ws.repo.git.show(f"{revert_sha}^:{path}"), Hypothesis, path)
    except Exception:  # unreadable history: the path alone stays blocked
        return None
    return found if isinstance(found, Hypothesis) else None
