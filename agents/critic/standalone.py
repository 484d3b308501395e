"""`intern eval`: score any checkpoint on a task's held-out rows, outside the loop and without a workspace.

The rows are drawn exactly as the critic draws a workspace's split (seed + EVAL_SEED_OFFSET), so
`intern eval CKPT --task addition` with the default seed scores the same problems the loop does.
Generation runs on vLLM where it can (a GPU with vllm installed), else on transformers; see
agents/models/sampling.choose_backend.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from agents.critic.evaluate import EVAL_SEED_OFFSET
from agents.critic.scoring import EvaluationError, Scores, score_model
from agents.models.environment import set_offline_flags_if_offline
from agents.models.refs import materialize_model
from agents.models.sampling import Backend, choose_backend, load_for_generation
from agents.tasks import get_task
from bus.schemas import TaskSpec


def parse_columns(text: str) -> dict[str, str]:
    """`prompt=question,answer=answer` -> {"prompt": "question", "answer": "answer"}; TaskSpec checks the keys."""
    columns: dict[str, str] = {}
    for item in text.split(","):
        ours, sep, theirs = item.partition("=")
        if not sep or not ours.strip() or not theirs.strip():
            raise ValueError(f"--columns item {item.strip()!r} is not OURS=THEIRS (e.g. prompt=question,answer=answer)")
        columns[ours.strip()] = theirs.strip()
    return columns


def task_spec(
    name: str,
    eval_size: int | None = None,
    *,
    dataset: str | None = None,
    config: str | None = None,
    split: str | None = None,
    columns: str | dict[str, str] | None = None,
    grader: str | None = None,
    max_new_tokens: int | None = None,
) -> TaskSpec:
    """The TaskSpec `intern eval`'s flags describe; invalid combinations raise pydantic's ValidationError."""
    if dataset is not None and Path(dataset).expanduser().exists():
        dataset = str(Path(dataset).expanduser().resolve())  # the same file whatever the working directory
    given = {
        "eval_size": eval_size,
        "dataset": dataset,
        "config": config,
        "split": split,
        "columns": parse_columns(columns) if isinstance(columns, str) else columns,
        "grader": grader,
        "max_new_tokens": max_new_tokens,
    }
    return TaskSpec(name=name, **{k: v for k, v in given.items() if v is not None})


def evaluate_outside_loop(
    checkpoint: str,
    task: str | TaskSpec,
    eval_size: int | None = None,
    seed: int = 0,
    samples: int = 0,
    temperature: float = 1.0,
    backend: Backend | None = None,
) -> tuple[Scores, float]:
    """Scores of `checkpoint` (a directory, `embedded:tiny` or a cached Hub id), and the wall seconds.

    `task` is a task name or a full spec (a custom task, or a named one on another dataset); `backend`
    defaults to `choose_backend()`.
    """
    started = time.time()
    spec = task if isinstance(task, TaskSpec) else task_spec(task, eval_size)
    if isinstance(task, TaskSpec) and eval_size is not None:
        spec = spec.model_copy(update={"eval_size": eval_size})
    scorer = get_task(spec)
    if samples == 1:
        raise EvaluationError("--samples 1 gives no pass@k beyond greedy; use 2 or more, or leave it out")
    backend = backend or choose_backend()
    set_offline_flags_if_offline()  # before any Hub lookup: offline, they hang for seconds per call otherwise
    rows = scorer.eval_rows(spec, seed + EVAL_SEED_OFFSET)
    with tempfile.TemporaryDirectory(prefix="intern-eval-") as cache:
        reference = materialize_model(checkpoint, Path(cache), seed)
        model, tokenizer = load_for_generation(reference, backend, seed)
        scores = score_model(
            model,
            tokenizer,
            rows,
            scorer,
            scorer.max_new_tokens(spec),
            samples=samples,
            temperature=temperature,
            seed=seed,
        )
    return scores, time.time() - started


def render_text(
    checkpoint: str, task_name: str, seed: int, scores: Scores, wall: float, backend: str = "transformers"
) -> list[str]:
    low, high = scores.ci
    lines = [
        f"{checkpoint} on {task_name}: {scores.n} held-out problems (split seed {seed + EVAL_SEED_OFFSET})",
        f"greedy exact match  {scores.score:.3f}  (95% Wilson interval {low:.3f}-{high:.3f})",
    ]
    for name, s in scores.slices.items():
        sampled = ""
        if s.pass_at_max_k is not None and s.pass_ci is not None:
            sampled = f"; pass@{scores.samples} {s.pass_at_max_k:.3f} ({s.pass_ci[0]:.3f}-{s.pass_ci[1]:.3f})"
        lines.append(f"  slice {name:<12} n={s.n:<5} {s.score:.3f}  ({s.ci[0]:.3f}-{s.ci[1]:.3f}){sampled}")
    if scores.samples > 1:
        lines.append(f"sampled: {scores.samples} per problem, temperature {scores.temperature:g}, seed {scores.seed}")
        for k, value in scores.pass_at_k.items():
            lo, hi = scores.pass_at_k_ci[k]
            lines.append(f"  pass@{k:<4} {value:.3f}  (95% bootstrap interval {lo:.3f}-{hi:.3f})")
    if scores.reasons:
        lines.append("wrong (greedy): " + ", ".join(f"{r} {c}" for r, c in scores.reasons.most_common()))
    lines.append(
        f"throughput: {scores.problems_per_second:.1f} problems/s; {scores.tokens} tokens generated "
        f"({scores.tokens_greedy} greedy, {scores.tokens_sampled} sampled); {wall:.1f} s in all, model load included; "
        f"{backend} backend"
    )
    return lines
