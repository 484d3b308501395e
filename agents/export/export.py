"""`intern export`: the best kept checkpoint as a model a user can hand on, with a card that tells its story.

1. The run: the best kept run (agents/common/state.py), or the one named.
2. The origin check (origin.py): refused, with the reason, unless the checkpoint descends from the
   goal's base through the recorded runs.
3. The model: loaded with transformers (LoRA runs were merged when saved), written as
   safetensors with its tokenizer and generation config.
4. With `verify`, the exported folder is graded again on the held-out split with the critic's
   grader (split and grader hashes checked first); a score that differs from the run's
   evaluation refuses the export, and no card is written.
5. The card (model_card.py): README.md with Hugging Face metadata and the chain from the base.

Everything is written to a scratch folder beside the target and moved into place at the end, so
a refused or interrupted export leaves no half-made model behind.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agents.common import state
from agents.critic.origin import OriginReport, check_origin
from agents.export.model_card import CardFacts, gather_facts, render_card
from agents.models.environment import quiet_progress_bars
from bus import Workspace, layout
from bus.workspace import GOAL_FILE

# Written into every export: the only kind of folder `--force` may replace.
EXPORT_MARKER = ".intern-export.json"


class ExportError(RuntimeError):
    """An export refused or impossible: one line that says why; nothing is left at the target."""


@dataclass
class ExportResult:
    folder: Path
    run_id: str
    origin: OriginReport
    score: float
    verified_score: float | None
    facts: CardFacts


def pick_run(ws: Workspace, run_id: str | None) -> state.RunView:
    runs = {r.id: r for r in state.runs(ws)}
    if run_id is not None:
        run = runs.get(run_id)
        if run is None:
            raise ExportError(f"no run {run_id} in {ws.root / 'runs'} (runs: {', '.join(runs) or 'none'})")
        if not run.succeeded or run.evaluation is None:
            raise ExportError(f"{run_id} has no succeeded, evaluated checkpoint to export")
        return run
    best = state.best_run(ws)
    if best is None:
        raise ExportError(
            "no kept run to export: the critic kept none (no run beat the base model beyond noise); "
            "name one with --run RUN to export it anyway"
        )
    return best


def export_model(
    ws: Workspace,
    to: Path,
    *,
    run_id: str | None = None,
    verify: bool = False,
    force: bool = False,
    say: Callable[[str], None] = print,
) -> ExportResult:
    to = Path(to).expanduser().resolve()
    check_target(ws.root, to, force=force)
    run = pick_run(ws, run_id)
    say(f"exporting {run.id} ({run.config.method}, held-out {run.evaluation.score:.3f})")
    origin = check_origin(ws, run.id)
    say(origin.line())
    if not origin.ok:
        raise ExportError(f"origin check refused {run.id}: " + "; ".join(origin.problems))
    scratch = to.with_name(f".{to.name}.partial")
    if scratch.exists():
        shutil.rmtree(scratch)
    try:
        save_merged(ws.path(layout.run_checkpoint(run.id)), scratch)
        verified = _verify(ws, run, scratch, say) if verify else None
        facts = gather_facts(ws, run, origin, verified)
        (scratch / "README.md").write_text(render_card(facts))
        (scratch / EXPORT_MARKER).write_text(json.dumps({"intern_export": 1, "run": run.id}, indent=2) + "\n")
        if to.exists():
            shutil.rmtree(to)
        scratch.rename(to)
    finally:
        if scratch.exists():
            shutil.rmtree(scratch)
    return ExportResult(to, run.id, origin, run.evaluation.score, verified, facts)


def check_target(workspace: Path, to: Path, *, force: bool) -> None:
    """Refuse a target the export could not replace without destroying something it did not make.

    An existing non-empty target is replaced only with `force`, and only when it is itself an
    earlier export (it holds EXPORT_MARKER) with no workspace in it, and is neither the workspace,
    inside it, nor above it. Everything else is refused with the reason, and nothing is touched.
    """
    workspace = workspace.resolve()
    if to == workspace or workspace in to.parents:  # the watcher would commit gigabytes of weights as a human edit
        raise ExportError(f"{to} is inside the workspace; export outside it (the workspace is git-tracked)")
    if to in workspace.parents:
        raise ExportError(f"{to} holds the workspace {workspace}; an export never replaces it, pick another --to")
    if not to.exists() and not to.is_symlink():
        return
    if to.is_symlink() or not to.is_dir():
        raise ExportError(f"{to} exists and is not a folder; pick another --to (an export replaces only an export)")
    if not any(to.iterdir()):
        return
    if not force:
        raise ExportError(
            f"{to} exists and is not empty; pick another --to or pass --force to replace an earlier export"
        )
    if not (to / EXPORT_MARKER).is_file():
        raise ExportError(
            f"{to} is not an earlier intern export (no {EXPORT_MARKER}); --force replaces only a folder "
            "that intern export wrote, pick another --to"
        )
    found = _workspace_inside(to)
    if found is not None:
        raise ExportError(f"{to} holds a workspace or git repository ({found}); an export never replaces it")


def _workspace_inside(folder: Path) -> Path | None:
    """The first workspace, git repository or goal file inside `folder` (symlinks are not followed)."""
    for path in sorted(folder.rglob("*")):
        if path.name in (".git", GOAL_FILE):
            return path
    return None


def save_merged(checkpoint: Path, out: Path) -> None:
    """The checkpoint as plain transformers safetensors with its tokenizer and generation config.

    LoRA runs are already merged: train_entry saves `merge_and_unload()`'s model, so every checkpoint
    is a full model (an adapter-only folder would fail the origin check's architecture comparison).
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    quiet_progress_bars()
    if (checkpoint / "adapter_config.json").exists():
        raise ExportError(f"{checkpoint} holds LoRA adapters only; intern's trainer saves merged models")
    model = AutoModelForCausalLM.from_pretrained(str(checkpoint))
    tokenizer = AutoTokenizer.from_pretrained(str(checkpoint))
    out.mkdir(parents=True)
    model.save_pretrained(str(out), safe_serialization=True)  # also writes generation_config.json
    tokenizer.save_pretrained(str(out))
    if not (out / "generation_config.json").exists():
        model.generation_config.save_pretrained(str(out))


def _verify(ws: Workspace, run: state.RunView, folder: Path, say: Callable[[str], None]) -> float:
    """Grade the exported folder as the critic graded the run; refuse a score it does not reproduce."""
    from agents.critic.evaluate import grader_sha256, split_paths, verify_split
    from agents.critic.scoring import parse_rows, score_checkpoint
    from agents.tasks import get_task

    goal = ws.goal()
    ev = run.evaluation
    task = get_task(goal.task)
    try:
        split_sha = verify_split(ws, goal, task)
    except Exception as exc:  # IntegrityError: the split or grader is not the recorded one
        raise ExportError(f"cannot verify: {exc}") from exc
    data_rel, _ = split_paths(goal)
    if ev.split != data_rel or ev.split_sha256 != split_sha:
        raise ExportError(
            f"cannot verify: {run.id} was evaluated on {ev.split} ({ev.split_sha256[:12]}...), not this split"
        )
    if ev.grader_sha256 not in (None, grader_sha256(task)):
        raise ExportError(f"cannot verify: {run.id} was graded by another grader ({ev.grader_sha256[:12]}...)")
    rows = parse_rows(ws.read_text(data_rel))
    say(f"verifying: grading the exported model on {len(rows)} held-out problems")
    scores = score_checkpoint(str(folder), rows, task, task.max_new_tokens(goal.task), samples=0)
    if scores.n != ev.n or abs(round(scores.score, 4) - ev.score) > 1e-9:
        raise ExportError(
            f"--verify: the exported model scores {scores.score:.4f} on {scores.n} held-out problems, the report "
            f"says {ev.score:.4f} on {ev.n}; no card is written for numbers that do not reproduce"
        )
    say(f"verified: {scores.score:.4f} held-out exact match, as {run.id}'s evaluation records")
    return round(scores.score, 4)


def push_folder(folder: Path, repo: str, *, private: bool = True, say: Callable[[str], None] = print) -> str:
    """Upload an exported folder to the Hub as a model repo (private unless asked). HF_TOKEN from the environment."""
    import os

    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    from bus.redact import redact

    token = os.environ.get("HF_TOKEN")
    if not token:
        raise ExportError("--push needs a Hugging Face token in HF_TOKEN (it is read from the environment only)")
    api = HfApi(endpoint=os.environ.get("HF_ENDPOINT") or None, token=token)
    try:
        url = api.create_repo(repo, private=private, exist_ok=True, repo_type="model")
        if private and not api.model_info(repo).private:  # create_repo leaves an existing repo as it is
            raise ExportError(f"{repo} exists and is public; pass --public to push to it anyway")
        api.upload_folder(
            repo_id=repo,
            folder_path=str(folder),
            repo_type="model",
            ignore_patterns=[EXPORT_MARKER],
            commit_message="intern export: model, tokenizer and card",
        )
    except (HfHubHTTPError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(f"push to {repo} failed: {redact(first)}") from None
    say(f"pushed to {url} ({'private' if private else 'public'})")
    return str(url)
