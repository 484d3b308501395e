"""The held-out split and greedy exact-match evaluation against it.

Only the critic writes `eval/`; its hash is recorded when it is created and checked before
every evaluation, so a changed split is caught instead of silently scoring on other data.
"""

from __future__ import annotations

import json
import math
import time

from agents.modeling import greedy_complete, load_model, materialize_model
from agents.tasks import get_task
from agents.tasks.base import Task
from bus import Workspace, sha256_file, sha256_tree
from bus.artifacts import split_front_matter
from bus.schemas import Evaluation, Goal, SliceScore

EVAL_SEED_OFFSET = 1000  # the split's seed differs from every training seed by construction


class IntegrityError(RuntimeError):
    """The held-out split no longer matches the hash recorded when it was created."""


def split_paths(goal: Goal) -> tuple[str, str]:
    folder = f"eval/{goal.task.name}"
    return f"{folder}/test.jsonl", f"{folder}/README.md"


def ensure_eval_split(ws: Workspace, goal: Goal) -> tuple[str, str, list[str]]:
    """Create the held-out split once. Returns (path, sha256, commits made)."""
    data_rel, card_rel = split_paths(goal)
    if ws.exists(data_rel) and ws.exists(card_rel):
        return data_rel, verify_split(ws, goal), []
    task = get_task(goal.task)
    rows = task.eval_rows(goal.task, goal.seed + EVAL_SEED_OFFSET)
    lines = [json.dumps(row) for row in rows]
    text = "\n".join(lines) + "\n"
    commits = [ws.write_artifact("critic", data_rel, text, f"Create the held-out split ({len(lines)} problems)")]
    digest = sha256_file(ws.path(data_rel))
    slices: dict[str, int] = {}
    for row in rows:
        slices[row.get("slice", "all")] = slices.get(row.get("slice", "all"), 0) + 1
    card = (
        f"---\ntask: {goal.task.name}\nrows: {len(lines)}\nsha256: {digest}\nseed: {goal.seed + EVAL_SEED_OFFSET}\n"
        f"columns: [prompt, answer, slice]\n---\n\n# Held-out split: {goal.task.name}\n\n"
        f"{len(lines)} problems drawn from the task definition with seed {goal.seed + EVAL_SEED_OFFSET}, "
        f"slices: {', '.join(f'{k} {v}' for k, v in slices.items())}.\n\n"
        "Only the critic writes this folder. The trainer never reads it; the curator reads the prompts "
        "only to keep training data disjoint from them. The sha256 above is checked before every evaluation.\n"
    )
    commits.append(ws.write_artifact("critic", card_rel, card, "Record the held-out split's hash"))
    return data_rel, digest, commits


def verify_split(ws: Workspace, goal: Goal) -> str:
    data_rel, card_rel = split_paths(goal)
    front, _ = split_front_matter(ws.read_text(card_rel))
    actual = sha256_file(ws.path(data_rel))
    if front.get("sha256") != actual:
        raise IntegrityError(
            f"{data_rel} changed since it was created (recorded sha256 {str(front.get('sha256'))[:12]}..., "
            f"now {actual[:12]}...); evaluation stopped"
        )
    return actual


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def evaluate_checkpoint(
    checkpoint: str, rows: list[dict], task: Task, max_new_tokens: int
) -> tuple[list[str], list[bool]]:
    model, tokenizer = load_model(checkpoint)
    completions = greedy_complete(model, tokenizer, [r["prompt"] for r in rows], max_new_tokens)
    return completions, [task.grade(c, r["answer"]) for c, r in zip(completions, rows, strict=True)]


def evaluate(ws: Workspace, goal: Goal, subject: str, checkpoint: str | None) -> tuple[Evaluation, str]:
    """Score `subject` ("base" or a run id) on the held-out split; write and commit the Evaluation."""
    data_rel, digest, _ = ensure_eval_split(ws, goal)
    rows = [json.loads(line) for line in ws.read_text(data_rel).splitlines() if line.strip()]
    started = time.time()
    if subject == "base":
        checkpoint = materialize_model(goal.model, ws.state_dir / "models", goal.seed)
        checkpoint_hash = None
    else:
        assert checkpoint is not None
        checkpoint_hash = sha256_tree(ws.path(checkpoint))
    task = get_task(goal.task)
    completions, correct = evaluate_checkpoint(
        str(ws.path(checkpoint)) if subject != "base" else checkpoint, rows, task, task.max_new_tokens(goal.task)
    )
    hits = sum(correct)
    low, high = wilson_interval(hits, len(rows))
    slices = {}
    for name in sorted({r["slice"] for r in rows if "slice" in r}):
        picked = [c for c, r in zip(correct, rows, strict=True) if r.get("slice") == name]
        slices[name] = SliceScore(n=len(picked), score=round(sum(picked) / len(picked), 4))
    wrong = [(r, c) for r, c, ok in zip(rows, completions, correct, strict=True) if not ok][:5]
    body = [
        f"# Evaluation of {subject}",
        "",
        f"Greedy exact match on `{data_rel}` ({len(rows)} problems): **{hits / len(rows):.3f}** "
        f"(95% Wilson interval {low:.3f}-{high:.3f}).",
        "",
        "| slice | n | exact match |",
        "|---|---|---|",
        *[f"| {k} | {v.n} | {v.score:.3f} |" for k, v in slices.items()],
        "",
        "Examples of misses (prompt, reference, model output):",
        "",
        *[f"- `{r['prompt']}` -> `{r['answer']}`, model wrote `{c!r}`" for r, c in wrong],
    ]
    evaluation = Evaluation(
        subject=subject,
        checkpoint=checkpoint,
        checkpoint_sha256=checkpoint_hash,
        task=goal.task.name,
        split=data_rel,
        split_sha256=digest,
        n=len(rows),
        score=round(hits / len(rows), 4),
        ci_low=round(low, 4),
        ci_high=round(high, 4),
        slices=slices,
        seconds=round(time.time() - started, 2),
        body="\n".join(body),
    )
    rel = "reports/base-evaluation.md" if subject == "base" else f"runs/{subject}/evaluation.md"
    sha = ws.write_artifact("critic", rel, evaluation, f"Evaluate {subject}: exact match {evaluation.score:.3f}")
    return evaluation, sha
