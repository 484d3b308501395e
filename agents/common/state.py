"""A read-only view of the workspace that every agent and the supervisor decide from.

Nothing here is remembered between calls: a restarted `intern go` sees exactly what the files say.
Reverted artifacts are simply gone from the files, so they are gone from the view too; `withdrawn`
reads the history to say which ones a human took back, so that no agent writes them again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bus import ArtifactError, Workspace, layout
from bus.artifacts import SCHEMA_PATHS
from bus.jsonl import parse_jsonl_lenient
from bus.schemas import DatasetCard, Diagnosis, Evaluation, Hypothesis, RunResult, TrainingConfig

BASE_EVALUATION = layout.BASE_EVALUATION
_RUN_ID = re.compile(r"^run-(\d{3,})$")
# Withdrawn choices: a later write of the same path does not bring them back (only a revert of the revert does).
STICKY_WITHDRAWALS = (f"{layout.DATASETS}/", f"{layout.HYPOTHESES}/", f"{layout.PAPERS}/")
# `git revert` (and so `intern revert`) writes this line into the revert's message.
_REVERTS = re.compile(r"^This reverts commit ([0-9a-f]{40})", re.MULTILINE)
_ARTIFACT_TRAILER = re.compile(r"^Intern-Artifact:\s*(\S+)\s*$", re.MULTILINE)


@dataclass
class RunView:
    id: str
    config: TrainingConfig | None
    result: RunResult | None
    evaluation: Evaluation | None
    diagnosis: Diagnosis | None
    problems: list[str]

    @property
    def succeeded(self) -> bool:
        return self.result is not None and self.result.status == "succeeded"


def _maybe(ws: Workspace, rel: str, problems: list[str]):
    if not ws.exists(rel):
        return None
    try:
        return ws.load(rel)
    except ArtifactError as exc:
        problems.append(str(exc))
        return None


def runs(ws: Workspace) -> list[RunView]:
    out = []
    for folder in sorted((ws.root / layout.RUNS).glob("run-*")):
        if not folder.is_dir() or not _RUN_ID.match(folder.name):
            continue
        problems: list[str] = []
        base = layout.run_dir(folder.name)
        out.append(
            RunView(
                id=folder.name,
                config=_maybe(ws, f"{base}/config.yaml", problems),
                result=_maybe(ws, f"{base}/result.json", problems),
                evaluation=_maybe(ws, f"{base}/evaluation.md", problems),
                diagnosis=_maybe(ws, f"{base}/diagnosis.md", problems),
                problems=problems,
            )
        )
    return out


def next_run_id(ws: Workspace) -> str:
    numbers = [int(m.group(1)) for p in (ws.root / layout.RUNS).glob("run-*") if (m := _RUN_ID.match(p.name))]
    return f"run-{max(numbers, default=0) + 1:03d}"


def base_evaluation(ws: Workspace) -> Evaluation | None:
    return _maybe(ws, BASE_EVALUATION, [])


def hypotheses(ws: Workspace) -> list[tuple[str, Hypothesis]]:
    return [(p, h) for p, h in _valid(ws, layout.HYPOTHESIS_FILES) if isinstance(h, Hypothesis)]


def dataset_cards(ws: Workspace, include_rejected: bool = False) -> list[tuple[str, DatasetCard]]:
    """Valid dataset cards, oldest first (by `written`, then path), so the last one is the newest.

    Cards the curator's gate rejected are left out unless asked for: nothing may train on them.
    """
    cards = [
        (p, c)
        for p, c in _valid(ws, layout.DATASET_CARDS)
        if isinstance(c, DatasetCard) and (include_rejected or c.verdict != "rejected")
    ]
    return sorted(cards, key=lambda pc: (pc[1].written, pc[0]))


def _valid(ws: Workspace, pattern: str) -> list:
    out = []
    for full in sorted(ws.root.glob(pattern)):
        rel = full.relative_to(ws.root).as_posix()
        try:
            out.append((rel, ws.load(rel)))
        except ArtifactError:
            continue  # the supervisor reports invalid artifacts; agents skip them
    return out


def withdrawn(ws: Workspace) -> dict[str, str]:
    """Artifact paths a human withdrew by reverting the agent commit that wrote them -> the revert's sha.

    Read from the history, oldest first: a revert of an agent commit withdraws its `Intern-Artifact`;
    a revert of that revert gives it back (and so on, alternating). A withdrawn choice or piece of
    knowledge (a dataset card, a hypothesis, a paper note, the citation graph) stays withdrawn even if
    an agent wrote the path again: it is never trained on, tried or written back. A judgement (an
    evaluation, a diagnosis, a report) is redone by the loop, and the agent commit that redoes it
    supersedes the withdrawal.
    """
    try:
        log = ws.repo.git.log("--reverse", "--format=%H%x00%B%x1e")
    except Exception:  # a repository without commits has no history to read
        return {}
    effect: dict[str, tuple[str, bool]] = {}  # commit sha -> (path, True when it withdraws it)
    out: dict[str, str] = {}
    for record in log.split("\x1e"):
        sha, _, message = record.strip("\n").partition("\x00")
        if not sha:
            continue
        reverted = _REVERTS.search(message)
        if reverted is None:
            written = _ARTIFACT_TRAILER.search(message)
            if written and written.group(1) != "plan.md":  # a reverted plan edit is a plan edit, not a withdrawal
                effect[sha] = (written.group(1), False)  # reverting a write withdraws it
                if not written.group(1).startswith(STICKY_WITHDRAWALS):
                    out.pop(written.group(1), None)
            continue
        target = effect.get(reverted.group(1))
        if target is None:
            continue  # a revert of a human edit or of the supervisor's plan: no artifact to withdraw
        path, target_withdrew = target
        if target_withdrew:
            out.pop(path, None)  # a revert of a revert gives the artifact back
        else:
            out[path] = sha
        effect[sha] = (path, not target_withdrew)
    return out


def invalid_artifacts(ws: Workspace) -> list[str]:
    """Every artifact that fails its schema, as one-line messages."""
    problems = []
    for pattern, _ in SCHEMA_PATHS:
        for full in sorted(ws.root.glob(pattern)):
            rel = full.relative_to(ws.root).as_posix()
            try:
                ws.load(rel)
            except ArtifactError as exc:
                problems.append(str(exc))
    return problems


def read_metrics(path: Path) -> list[dict]:
    """metrics.jsonl rows; a torn last line (a killed run) is skipped, not fatal."""
    if not path.exists():
        return []
    return parse_jsonl_lenient(path.read_text(encoding="utf-8", errors="replace"))[0]


def needs_judging(run: RunView) -> bool:
    """A finished run the critic has not (or no longer, after a revert) evaluated and diagnosed."""
    if run.result is None or run.result.status == "cancelled":  # a cancel is a human's decision, not a failure
        return False
    return run.diagnosis is None or (run.succeeded and run.evaluation is None)


def run_number(run_id: str) -> int:
    """The number of `run-NNN` (run-1000 sorts after run-999, unlike the strings)."""
    match = _RUN_ID.match(run_id)
    return int(match.group(1)) if match else -1


def is_kept(run: RunView) -> bool:
    """The critic kept the run as the new best. Diagnoses written before `kept` existed fall back to `significant`."""
    dg = run.diagnosis
    if dg is None or run.evaluation is None:
        return False  # not judged yet: a score alone never makes a best
    return dg.kept if dg.kept is not None else dg.significant


def best_run(ws: Workspace, before: str | None = None) -> RunView | None:
    """The best KEPT run (optionally among runs numbered below `before`), by held-out score.

    Only kept runs count: a run whose gain over the previous best is within noise is discarded, so a
    lucky draw can neither meet the target nor become the next parent.
    """
    limit = run_number(before) if before else None
    kept = [r for r in runs(ws) if is_kept(r) and (limit is None or run_number(r.id) < limit)]
    return max(kept, key=lambda r: r.evaluation.score, default=None)
