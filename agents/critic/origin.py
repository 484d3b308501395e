"""The origin check: does a run's checkpoint descend from the goal's base model through the recorded runs?

PostTrainBench disqualifies an agent that hands in another model than the one it was given; a
user handing on a model wants the same guarantee. Checked, for the chain base -> ... -> run:

- the records: each link's config and result are the trainer's commits, unedited since, and no record
  of its run or its dataset (card.json, metrics, the contamination report) was changed by hand; each
  started from the goal's base model or from the previous link, whose result was committed
  before the link's config (so it really existed when the link started);
- the hashes: each link's recorded checkpoint sha256 is what the critic evaluated, and the
  checkpoint on disk (or the trainer's discard record, once removed) still has it;
- the model: architecture (tensor names and shapes, model type) and tokenizer (vocabulary and
  special tokens) match the base the goal names, resolved through agents/models/refs.py;
- the weights: every weight matrix still correlates with the base's. Fine-tuning moves weights
  but keeps them aligned with where they started; a model trained from another initialisation
  is uncorrelated with it (cosine about 0, spread 1/sqrt(size)). So each matrix's cosine to the
  base is turned into a z-score (cosine * sqrt(size)), which is about N(0, 1) by chance, and the
  median over matrices must exceed Z_MIN. This is what catches a swapped-in model whose hash was
  written into the records by hand.

Anything that fails is a problem with its reason; anything that cannot be checked here (a Hub
base not in the local cache) is listed as unchecked.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from agents.common import checkpoint_integrity, contamination, records, state
from agents.models.errors import ModelLoadError
from agents.models.refs import materialize_model
from bus import Workspace, layout

# By chance a matrix's z-score is about N(0, 1); 6 is a one-in-a-billion coincidence, while a
# fine-tuned matrix sits in the tens to thousands (its cosine to the base stays well above 0).
Z_MIN = 6.0
AGENT_FILES = {"result.json": "trainer", "evaluation.md": "critic"}


@dataclass
class Link:
    run_id: str
    method: str
    parent: str | None
    checkpoint_sha256: str | None
    checkpoint_present: bool


@dataclass
class OriginReport:
    run_id: str
    base_model: str
    base_seed: int = 0
    chain: list[Link] = field(default_factory=list)  # base first
    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    median_cosine: float | None = None
    median_z: float | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def path(self) -> str:
        return " -> ".join([self.base_model, *(f"{link.run_id} ({link.method})" for link in self.chain)])

    def line(self) -> str:
        """One line for the report and the CLI."""
        if not self.ok:
            return f"Origin check: REFUSED: runs/{self.run_id}/checkpoint: " + "; ".join(self.problems)
        weights = (
            f", weights' median cosine to the base {self.median_cosine:.3f} (z {self.median_z:.0f})"
            if self.median_cosine is not None
            else ""
        )
        extra = f"; not checked: {'; '.join(self.unchecked)}" if self.unchecked else ""
        return f"Origin check: ok: runs/{self.run_id}/checkpoint descends from {self.path()}{weights}{extra}."


def check_origin(ws: Workspace, run_id: str) -> OriginReport:
    goal = ws.goal()
    report = OriginReport(run_id, goal.model)
    views = {r.id: r for r in state.runs(ws)}
    chain = _walk(ws, views, run_id, goal.model, report, records.hand_edits(ws))
    report.chain = list(reversed(chain))
    if not chain or not ws.path(f"{layout.run_checkpoint(run_id)}/config.json").exists():
        return report  # nothing to compare; the problems say why
    root = views[report.chain[0].run_id].config
    report.base_seed = root.seed
    folder = ws.path(layout.run_checkpoint(run_id))
    try:
        base_dir = _base_directory(goal.model, ws.state_dir / "models", root.seed)
    except (ModelLoadError, OSError) as exc:
        report.unchecked.append(f"architecture, tokenizer and weights against the base ({exc})")
        return report
    try:
        _compare_models(folder, base_dir, report)
    except Exception as exc:  # a truncated or garbled weights file (SafetensorError, OSError): a problem, not a crash
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        report.problems.append(
            f"{layout.run_checkpoint(run_id)} cannot be read as a model ({type(exc).__name__}: {first})"
        )
    return report


def _walk(
    ws: Workspace, views: dict, run_id: str, base: str, report: OriginReport, edited: list[records.HandEdit]
) -> list[Link]:
    """The links from `run_id` back to the base, newest first, checking each one's records and hashes."""
    chain: list[Link] = []
    current: str | None = run_id
    while current is not None:
        if any(link.run_id == current for link in chain):
            report.problems.append(f"the parents of {run_id} form a cycle through {current}")
            return chain
        view = views.get(current)
        if view is None or view.config is None or view.result is None:
            report.problems.append(f"{current} has no recorded config and result (runs/{current}/)")
            return chain
        cfg, result = view.config, view.result
        tip = current == run_id
        for name, agent in AGENT_FILES.items():
            problem = _authored(ws, layout.run_file(current, name), agent, required=name != "evaluation.md" or tip)
            if problem:
                report.problems.append(problem)
        own = {layout.run_file(current, name) for name in AGENT_FILES}  # reported above with their author
        mine = (
            f"{layout.run_dir(current)}/",
            f"{layout.dataset_dir(cfg.dataset)}/",
            contamination.report_path(cfg.dataset),
        )
        report.problems.extend(e.line() for e in edited if e.path.startswith(mine) and e.path not in own)
        if not _committed_before(ws, layout.run_config(current), layout.run_result(current), last=True):
            # A human may edit a config before its run starts (steering); after it ran, the record is history.
            report.problems.append(f"{layout.run_config(current)} was changed after the run's result was recorded")
        if result.status != "succeeded" or not result.checkpoint_sha256:
            report.problems.append(f"{current} did not succeed or records no checkpoint sha256")
            return chain
        if cfg.base_model != base:
            report.problems.append(f"{current} was configured from {cfg.base_model!r}, the goal's base is {base!r}")
        if view.evaluation is not None and view.evaluation.checkpoint_sha256 not in (None, result.checkpoint_sha256):
            report.problems.append(
                f"{current}'s result records checkpoint sha256 {result.checkpoint_sha256[:12]}..., the critic "
                f"evaluated {view.evaluation.checkpoint_sha256[:12]}..."
            )
        present = ws.path(f"{layout.run_checkpoint(current)}/config.json").exists()
        report.problems.extend(_hash_problems(ws, current, result.checkpoint_sha256, present, tip))
        chain.append(Link(current, cfg.method, cfg.parent_run, result.checkpoint_sha256, present))
        parent = cfg.parent_run
        if parent is not None:
            if state.run_number(parent) >= state.run_number(current):
                report.problems.append(f"{current} names {parent}, not an earlier run, as its parent")
                return chain
            if not _committed_before(ws, layout.run_result(parent), layout.run_config(current)):
                report.problems.append(f"{parent}'s result was not committed before {current} was configured")
        current = parent
    report.checked.append(f"records and hashes of {len(chain)} run(s), back to the base")
    return chain


def _authored(ws: Workspace, rel: str, agent: str, required: bool) -> str | None:
    """None when `rel` is `agent`'s commit, unedited since; else why not."""
    if not ws.exists(rel):
        return f"{rel} is missing" if required else None
    commit = next(ws.repo.iter_commits(paths=[rel], max_count=1), None)
    if commit is None:
        return f"{rel} was never committed"
    if commit.author.name != agent:
        return (
            f"{rel} was last changed by {commit.author.name} ({commit.hexsha[:8]} {commit.summary!r}), not the {agent}"
        )
    if ws.repo.git.status("--porcelain", "--", rel).strip():
        return f"{rel} was edited after the {agent} committed it (uncommitted change)"
    return None


def _hash_problems(ws: Workspace, run_id: str, recorded: str, present: bool, tip: bool) -> list[str]:
    if present:
        # Every byte read again (an mtime can be set back); the message names the changed file where it is known.
        problem = checkpoint_integrity.mismatch(ws, run_id, full=True)
        return [problem] if problem else []
    if tip:
        return [f"{layout.run_checkpoint(run_id)} is not here (checkpoints stay out of git)"]
    record = layout.run_discarded(run_id)
    if not ws.exists(record):
        return [f"{layout.run_checkpoint(run_id)} is gone and no discard record says why"]
    discarded = json.loads(ws.read_text(record))
    if discarded.get("checkpoint_sha256") != recorded:
        return [f"{record} records another sha256 than runs/{run_id}/result.json"]
    return []


def _committed_before(ws: Workspace, earlier: str, later: str, last: bool = False) -> bool:
    """Whether `earlier`'s first commit (its last with `last`) precedes `later`'s last commit, unedited since."""
    if not ws.exists(earlier) or ws.repo.git.status("--porcelain", "--", earlier).strip():
        return False
    commits = list(ws.repo.iter_commits(paths=[earlier]))
    first = (commits[0] if last else commits[-1]) if commits else None
    then = next(ws.repo.iter_commits(paths=[later], max_count=1), None)
    if first is None or then is None:
        return False
    return ws.repo.is_ancestor(first, then)


def _base_directory(reference: str, cache: Path, seed: int) -> Path:
    """The base model's files on this machine: materialized by agents/models/refs.py, or a Hub id's cached snapshot."""
    found = materialize_model(reference, cache, seed)
    if Path(found).is_dir():
        return Path(found)
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(found, allow_patterns=["*.json", "*.safetensors", "*.model", "*.txt"]))


def _compare_models(folder: Path, base_dir: Path, report: OriginReport) -> None:
    ours, theirs = _tensor_shapes(folder), _tensor_shapes(base_dir)
    if not ours or not theirs:
        report.unchecked.append("weights (no safetensors files in the checkpoint or the base)")
    else:
        common = {n for n in ours if theirs.get(n) == ours[n]}  # same name and shape
        differ = sorted(n for n in set(ours) | set(theirs) if ours.get(n) != theirs.get(n))
        if differ:
            report.problems.append(
                f"architecture differs from the base: {len(differ)} tensors differ in name or shape "
                f"(e.g. {differ[0]}: {ours.get(differ[0])} here, {theirs.get(differ[0])} in the base)"
            )
        kind = _config(folder).get("model_type"), _config(base_dir).get("model_type")
        if kind[0] != kind[1]:
            report.problems.append(f"model type {kind[0]!r} differs from the base's {kind[1]!r}")
        if not differ and kind[0] == kind[1]:
            report.checked.append("architecture")
        _compare_weights(folder, base_dir, sorted(common), report)
    _compare_tokenizers(folder, base_dir, report)


def _config(folder: Path) -> dict:
    try:
        return json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return {}


def _tensor_shapes(folder: Path) -> dict[str, tuple[int, ...]]:
    from safetensors import safe_open

    shapes: dict[str, tuple[int, ...]] = {}
    for file in sorted(folder.glob("*.safetensors")):
        with safe_open(str(file), framework="pt") as handle:
            for name in handle.keys():
                shapes[name] = tuple(handle.get_slice(name).get_shape())
    return shapes


def _tensor_files(folder: Path) -> dict[str, Path]:
    from safetensors import safe_open

    where: dict[str, Path] = {}
    for file in sorted(folder.glob("*.safetensors")):
        with safe_open(str(file), framework="pt") as handle:
            where.update({name: file for name in handle.keys()})
    return where


def _compare_weights(folder: Path, base_dir: Path, names: list[str], report: OriginReport) -> None:
    """Median cosine and z-score of the checkpoint's weight matrices against the base's, one tensor at a time."""
    import torch
    from safetensors import safe_open

    ours, theirs = _tensor_files(folder), _tensor_files(base_dir)
    cosines, zs = [], []
    for name in names:
        with safe_open(str(ours[name]), framework="pt") as a, safe_open(str(theirs[name]), framework="pt") as b:
            if len(a.get_slice(name).get_shape()) != 2:
                continue  # norms and biases start at constants: alike for any initialisation
            x, y = a.get_tensor(name).double().flatten(), b.get_tensor(name).double().flatten()
        denom = float(x.norm() * y.norm())
        if denom == 0:
            continue
        cosine = float(torch.dot(x, y)) / denom
        cosines.append(cosine)
        zs.append(cosine * math.sqrt(x.numel()))
    if not zs:
        report.unchecked.append("weights (no weight matrix in common with the base)")
        return
    report.median_cosine, report.median_z = _median(cosines), _median(zs)
    if report.median_z < Z_MIN:
        report.problems.append(
            f"its weights do not descend from the base: median cosine to the base {report.median_cosine:.3f} over "
            f"{len(zs)} weight matrices (z {report.median_z:.1f}; by chance about 0 +- 1, a fine-tune far above "
            f"{Z_MIN:g}): a model trained from another initialisation"
        )
    else:
        report.checked.append(f"weights ({len(zs)} matrices correlate with the base)")


def _compare_tokenizers(folder: Path, base_dir: Path, report: OriginReport) -> None:
    from transformers import AutoTokenizer

    try:
        ours, theirs = AutoTokenizer.from_pretrained(str(folder)), AutoTokenizer.from_pretrained(str(base_dir))
    except (OSError, ValueError) as exc:
        report.unchecked.append(f"tokenizer ({type(exc).__name__}: {str(exc)[:120]})")
        return
    vocab, base_vocab = ours.get_vocab(), theirs.get_vocab()
    if vocab != base_vocab:
        moved = sorted(set(vocab.items()) ^ set(base_vocab.items()))[:3]
        report.problems.append(
            f"tokenizer differs from the base: {len(vocab)} tokens here, {len(base_vocab)} in the base (e.g. {moved})"
        )
    elif ours.special_tokens_map != theirs.special_tokens_map:
        report.problems.append(
            f"special tokens differ from the base: {ours.special_tokens_map} here, {theirs.special_tokens_map}"
        )
    else:
        report.checked.append("tokenizer")


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
