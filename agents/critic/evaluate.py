"""The held-out split, the integrity checks around it, and the Evaluation artifact.

Only the critic writes `eval/`. When the split is created its sha256 and the hash of the
task's grader source (`grader_sha256`) go into `eval/<task>/README.md`; both are checked before
every evaluation, and a run's checkpoint is checked against the sha256 its result.json records.
Any mismatch is an IntegrityError: the critic reports it as critical and the loop stops, since
a score on other data, with another grader or of another model is not a score of this run.
Two more holes are closed the same way: a card that lost its `grader_sha256` after the split
was used for an evaluation, and a split or card whose last commit was not made by the critic.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from agents.critic.scoring import EvaluationError, Scores, describe, parse_rows, score_checkpoint
from agents.critic.stats import wilson_interval
from agents.models.refs import materialize_model
from agents.tasks import get_task
from agents.tasks.base import Task
from agents.tasks.hub import resolve_dataset
from bus import Workspace, layout, sha256_file, sha256_tree
from bus.artifacts import split_front_matter
from bus.jsonl import dumps_rows
from bus.schemas import Evaluation, Goal, SliceScore

__all__ = ["EvaluationError", "IntegrityError", "evaluate", "wilson_interval"]

EVAL_SEED_OFFSET = 1000  # the split's seed differs from every training seed by construction
# Every loop evaluation also draws this many samples per problem at this temperature for pass@k.
# On the embedded task that costs about 1 s per 500 problems on 2 CPU cores (benchmarks/eval_speed.py).
LOOP_SAMPLES = 8
LOOP_TEMPERATURE = 1.0
LOOP_SAMPLE_SEED = 0
# A pretrained model on a CPU generates some 100x slower than the tiny one (SmolLM2-135M: 60-190 s for 128
# greedy answers on 2 cores, facts file): 8 samples per problem would take 8x the greedy pass, so pass@k is
# estimated from 2 there (pass@1 and pass@2 stay unbiased; only the larger k are not measured).
CPU_REAL_MODEL_SAMPLES = 2
CPU_REAL_MODEL_PARAMETERS = 20_000_000


def loop_samples(model_dir: str) -> int:
    """Samples per problem for pass@k: LOOP_SAMPLES where generation is cheap (the tiny model, any GPU)."""
    import torch

    from agents.models.loading import parameter_count

    if torch.cuda.is_available():
        return LOOP_SAMPLES
    parameters = parameter_count(model_dir)
    return CPU_REAL_MODEL_SAMPLES if parameters and parameters > CPU_REAL_MODEL_PARAMETERS else LOOP_SAMPLES


class IntegrityError(RuntimeError):
    """The split, the grader or the checkpoint is not the one recorded: scores would be meaningless."""


def split_paths(goal: Goal) -> tuple[str, str]:
    folder = layout.eval_dir(goal.task.name)
    return f"{folder}/test.jsonl", f"{folder}/README.md"


def grader_sha256(task: Task) -> str:
    """One hash over the task's grader source files (base names and contents), e.g. agents/tasks/addition.py."""
    digest = hashlib.sha256()
    for name in task.grader_files:
        path = Path(name)
        try:
            digest.update(path.name.encode() + b"\0" + sha256_file(path).encode())
        except OSError as exc:
            raise IntegrityError(f"grader file {path} of task {task.name} cannot be read: {exc}") from exc
    return digest.hexdigest()


def ensure_eval_split(ws: Workspace, goal: Goal) -> tuple[str, str, list[str]]:
    """Create the held-out split once and verify it. Returns (path, sha256, commits made)."""
    data_rel, card_rel = split_paths(goal)
    task = get_task(goal.task)
    if ws.exists(data_rel) and ws.exists(card_rel):
        verify_authors(ws, data_rel, card_rel)  # before anything is recorded on top of another author's edit
        commits = _record_missing_grader_hash(ws, card_rel, task)
        return data_rel, verify_split(ws, goal, task), commits
    # intern.yaml's paths are the workspace's: `intern go` may run from anywhere.
    rows = task.eval_rows(resolve_dataset(goal.task, ws.root), goal.seed + EVAL_SEED_OFFSET)
    if not rows:
        raise EvaluationError(f"task {goal.task.name} gave no held-out rows; there is nothing to evaluate on")
    text = dumps_rows(rows)
    commits = [ws.write_artifact("critic", data_rel, text, f"Create the held-out split ({len(rows)} problems)")]
    digest = sha256_file(ws.path(data_rel))
    slices: dict[str, int] = {}
    for row in rows:
        slices[row.get("slice", "all")] = slices.get(row.get("slice", "all"), 0) + 1
    columns = list(dict.fromkeys(key for row in rows for key in row))
    card = (
        f"---\ntask: {goal.task.name}\nrows: {len(rows)}\nsha256: {digest}\ngrader_sha256: {grader_sha256(task)}\n"
        f"seed: {goal.seed + EVAL_SEED_OFFSET}\ncolumns: [{', '.join(columns)}]\n---\n\n"
        f"# Held-out split: {goal.task.name}\n\n"
        f"{len(rows)} problems drawn from the task definition with seed {goal.seed + EVAL_SEED_OFFSET}, "
        f"slices: {', '.join(f'{k} {v}' for k, v in slices.items())}.\n\n"
        "Only the critic writes this folder. The trainer never reads it; the curator reads the prompts "
        "only to keep training data disjoint from them. Before every evaluation the critic checks the split "
        "against `sha256` and the grader's source files "
        f"({', '.join(Path(f).name for f in task.grader_files) or 'none'}) against `grader_sha256`.\n"
    )
    commits.append(ws.write_artifact("critic", card_rel, card, "Record the held-out split's and the grader's hashes"))
    return data_rel, digest, commits


EVALUATION_PATHS = (layout.BASE_EVALUATION, layout.RUN_EVALUATIONS)


def split_was_used(ws: Workspace) -> bool:
    """Whether any evaluation was ever committed: git history, so deleting the files does not reset it."""
    return next(ws.repo.iter_commits(paths=list(EVALUATION_PATHS), max_count=1), None) is not None


def verify_authors(ws: Workspace, *paths: str) -> None:
    """Each path's last commit must be the critic's: only the critic writes eval/, and nobody else's edit is trusted."""
    for rel in paths:
        commit = next(ws.repo.iter_commits(paths=[rel], max_count=1), None)
        if commit is None:
            raise IntegrityError(f"{rel} was never committed by the critic; its hashes cannot be trusted")
        if commit.author.name != "critic":
            raise IntegrityError(
                f"{rel} was last changed by {commit.author.name} in commit {commit.hexsha[:12]} "
                f"({commit.summary!r}), not by the critic; evaluation stopped"
            )


def _record_missing_grader_hash(ws: Workspace, card_rel: str, task: Task) -> list[str]:
    """Splits made before grader hashing carry no grader_sha256: record the current grader once (trust on first use).

    Only while the split is unused: once a score was computed on it, a missing hash could hide a grader
    that changed since, so trusting the current one would make old and new scores look comparable.
    """
    text = ws.read_text(card_rel)
    front, _ = split_front_matter(text)
    if "grader_sha256" in front or "sha256" not in front:
        return []
    if split_was_used(ws):
        raise IntegrityError(
            f"{card_rel} records no grader_sha256 but the split was already used for evaluation; the grader "
            "those scores used is unknown, so the current one is not trusted; evaluation stopped"
        )
    line = f"sha256: {front['sha256']}\n"
    updated = text.replace(line, f"{line}grader_sha256: {grader_sha256(task)}\n", 1)
    return [ws.write_artifact("critic", card_rel, updated, "Record the grader's hash for an older held-out split")]


def verify_split(ws: Workspace, goal: Goal, task: Task | None = None) -> str:
    """Check the split and the grader against the hashes recorded at creation. Returns the split's sha256."""
    data_rel, card_rel = split_paths(goal)
    task = task or get_task(goal.task)
    try:
        front, _ = split_front_matter(ws.read_text(card_rel))
    except (OSError, ValueError) as exc:
        raise IntegrityError(f"{card_rel} cannot be read ({exc}); the split's hashes are unknown") from exc
    if not ws.exists(data_rel):
        raise IntegrityError(f"{data_rel} is gone; {card_rel} still records it")
    actual = sha256_file(ws.path(data_rel))
    if front.get("sha256") != actual:
        raise IntegrityError(
            f"{data_rel} changed since it was created (recorded sha256 {str(front.get('sha256'))[:12]}..., "
            f"now {actual[:12]}...); evaluation stopped"
        )
    grader = grader_sha256(task)
    if front.get("grader_sha256") != grader:
        raise IntegrityError(
            f"the grader of task {task.name} changed since the split was created (recorded grader_sha256 "
            f"{str(front.get('grader_sha256'))[:12]}..., now {grader[:12]}...); evaluation stopped"
        )
    verify_authors(ws, data_rel, card_rel)
    return actual


def verify_checkpoint(ws: Workspace, checkpoint: str, expected: str | None) -> str:
    """The checkpoint's sha256, after checking it is the one the run recorded. Missing is an EvaluationError."""
    path = ws.path(checkpoint)
    if not (path / "config.json").exists():
        raise EvaluationError(f"{checkpoint} is missing (checkpoints stay out of git); it cannot be evaluated here")
    actual = sha256_tree(path)
    if expected is None or actual != expected:
        raise IntegrityError(
            f"the evaluated checkpoint is not the one the run produced: {checkpoint} has sha256 {actual[:12]}..., "
            f"result.json records {str(expected)[:12]}..."
        )
    return actual


def evaluate(
    ws: Workspace,
    goal: Goal,
    subject: str,
    checkpoint: str | None,
    *,
    expected_sha256: str | None = None,
    samples: int | None = None,
    temperature: float = LOOP_TEMPERATURE,
    seed: int = LOOP_SAMPLE_SEED,
) -> tuple[Evaluation, str]:
    """Score `subject` ("base" or a run id) on the held-out split; write and commit the Evaluation.

    For a run, `expected_sha256` is the checkpoint hash from its result.json; a different
    checkpoint raises IntegrityError before anything is generated. `samples` None: `loop_samples`.
    """
    data_rel, digest, _ = ensure_eval_split(ws, goal)
    task = get_task(goal.task)
    started = time.time()
    if subject == "base":
        checkpoint = materialize_model(goal.model, ws.state_dir / "models", goal.seed)
        checkpoint_hash, load_from = None, checkpoint
    else:
        if checkpoint is None:
            raise EvaluationError(f"{subject} records no checkpoint to evaluate")
        checkpoint_hash = verify_checkpoint(ws, checkpoint, expected_sha256)
        load_from = str(ws.path(checkpoint))
    rows = parse_rows(ws.read_text(data_rel))
    if samples is None:
        samples = loop_samples(load_from)
    scores = score_checkpoint(
        load_from,
        rows,
        task,
        task.max_new_tokens(goal.task),
        samples=samples,
        temperature=temperature,
        seed=seed,
        thinking=goal.task.thinking,
    )
    evaluation = build_evaluation(scores, rows, subject, checkpoint, checkpoint_hash, goal, data_rel, digest, task)
    evaluation.seconds = round(time.time() - started, 2)
    if subject == "base":
        _add_language_check(evaluation, ws, goal)
    rel = layout.BASE_EVALUATION if subject == "base" else layout.run_evaluation(subject)
    sha = ws.write_artifact("critic", rel, evaluation, f"Evaluate {subject}: exact match {evaluation.score:.3f}")
    return evaluation, sha


def _add_language_check(evaluation: Evaluation, ws: Workspace, goal: Goal) -> None:
    """The pre-flight's language figure (agents/models/language_check.py), where the goal's model had one."""
    from agents.models.language_check import read_language_check

    kept = read_language_check(ws.state_dir, goal.model)
    if kept is None:
        return
    evaluation.language_check = {
        k: kept[k] for k in ("bits_per_byte", "perplexity", "bound", "passed", "seconds") if k in kept
    }
    lines = [
        "",
        f"Language check before training: {kept['bits_per_byte']:.2f} bits per byte (perplexity "
        f"{kept['perplexity']:,.1f}) on the project's reference text; real language models stay under "
        f"{kept['bound']}. Greedy continuations:",
        "",
        *[f"- `{p}` -> `{c!r}`" for p, c in kept.get("continuations", {}).items()],
    ]
    evaluation.body = evaluation.body + "\n" + "\n".join(lines)


def build_evaluation(
    scores: Scores,
    rows: list[dict],
    subject: str,
    checkpoint: str,
    checkpoint_hash: str | None,
    goal: Goal,
    data_rel: str,
    digest: str,
    task: Task,
) -> Evaluation:
    misses = [(r, c) for r, c, ok in zip(rows, scores.completions, scores.correct, strict=True) if not ok][:5]
    body = [
        f"# Evaluation of {subject}",
        "",
        f"On `{data_rel}` ({scores.n} problems). The headline score is greedy exact match.",
        "",
        *describe(scores),
        "",
        "Examples of misses (prompt, reference, model output):",
        "",
        *[f"- `{r.get('prompt')}` -> `{r.get('answer')}`, model wrote `{c!r}`" for r, c in misses],
    ]
    return Evaluation(
        subject=subject,
        checkpoint=checkpoint,
        checkpoint_sha256=checkpoint_hash,
        task=goal.task.name,
        split=data_rel,
        split_sha256=digest,
        n=scores.n,
        score=round(scores.score, 4),
        ci_low=round(scores.ci[0], 4),
        ci_high=round(scores.ci[1], 4),
        slices={k: SliceScore(n=s.n, score=round(s.score, 4)) for k, s in scores.slices.items()},
        slice_ci={k: (round(s.ci[0], 4), round(s.ci[1], 4)) for k, s in scores.slices.items()},
        grader_sha256=grader_sha256(task),
        samples_per_problem=scores.samples,
        temperature=scores.temperature,
        sample_seed=scores.seed if scores.samples > 1 else None,
        pass_at_k={k: round(v, 4) for k, v in scores.pass_at_k.items()},
        pass_at_k_ci={k: (round(lo, 4), round(hi, 4)) for k, (lo, hi) in scores.pass_at_k_ci.items()},
        tokens_generated=scores.tokens,
        problems_per_second=round(scores.problems_per_second, 2),
        wrong_reasons=dict(scores.reasons),
        correct="".join("1" if ok else "0" for ok in scores.correct),
        seconds=0.0,
        body="\n".join(body),
    )
