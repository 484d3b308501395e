"""The GRPO pass-rate filter: keep the prompts the current model sometimes, but not always, solves.

A GRPO group whose k completions all get the same reward has zero advantage and teaches nothing
(DAPO's dynamic sampling, arXiv 2503.14476, drops such groups during training; filtering the data
first avoids paying for them). The model the hypothesis trains from is sampled `samples` times per
prompt with agents/models/sampling.py, the critic's own seeded, batched generation, and graded with the
task's grader. Every prompt is scored, in chunks, until the time budget (`data.pass_rate_seconds`) runs
out; the prompts left are unscored, counted, and kept or dropped as `data.pass_rate_unscored` says.
On CUDA with vLLM installed the model is a vLLM engine (agents/curator/model_checks.py).
"""

from __future__ import annotations

import random
import time

from agents.curator.gate import TOO_EASY, TOO_HARD
from agents.models import sampling
from agents.tasks import get_task
from bus.schemas import TaskSpec

SAMPLES = 4  # small on purpose: 4000 prompts x 4 samples of the tiny model take a few seconds on 2 CPU cores
TEMPERATURE = 1.0  # GRPO's own sampling temperature in the embedded recipe
# Rows (prompt x sample) per generate call, so the time budget is checked between chunks: one batch of the
# sampler, so no call pays for a part-filled batch. One chunk of 512 prompts (before) took 258 s for
# SmolLM2-135M on 2 CPU cores: no budget below that could stop it.
CHUNK_ROWS = sampling.DEFAULT_BATCH_ROWS
UNSCORED = "unscored"  # the drop reason of a prompt left unscored when the policy drops those


def pass_rate_filter(
    model,
    tokenizer,
    spec: TaskSpec,
    checkpoint: str,
    *,
    samples: int = SAMPLES,
    temperature: float = TEMPERATURE,
    seed: int = 0,
    seconds: float | None = None,
    unscored: str = "keep",
):
    """A gate PassFilter: rows -> (per row TOO_EASY, TOO_HARD, UNSCORED or None, the filter's figures).

    Prompts are scored in a seeded random order, so the ones a budget leaves unscored are not all from
    the end of one source.
    """
    task = get_task(spec)

    def apply(rows: list[dict]) -> tuple[list[str | None], dict]:
        started = time.perf_counter()
        order = list(range(len(rows)))
        random.Random(seed).shuffle(order)
        verdicts: list[str | None] = [None] * len(rows)
        scored = 0
        chunk_prompts = max(1, CHUNK_ROWS // samples)
        for start in range(0, len(order), chunk_prompts):
            if seconds is not None and time.perf_counter() - started > seconds:
                break
            chunk = order[start : start + chunk_prompts]
            generation = sampling.generate(
                model,
                tokenizer,
                [rows[i]["prompt"] for i in chunk],
                task.max_new_tokens(spec),
                samples=samples,
                temperature=temperature,
                seed=seed + start,
            )
            for i, completions in zip(chunk, generation.completions, strict=True):
                passes = sum(_solved(task, c, rows[i]["answer"]) for c in completions)
                verdicts[i] = TOO_EASY if passes == samples else TOO_HARD if passes == 0 else None
            scored += len(chunk)
        left = order[scored:]
        if unscored == "drop":
            for i in left:
                verdicts[i] = UNSCORED
        figures = {
            "checkpoint": checkpoint,
            "samples": samples,
            "temperature": temperature,
            "seed": seed,
            "scored": scored,
            "too_easy": verdicts.count(TOO_EASY),
            "too_hard": verdicts.count(TOO_HARD),
            "kept": scored - verdicts.count(TOO_EASY) - verdicts.count(TOO_HARD),
            "unscored": len(left),
            "unscored_policy": "dropped" if unscored == "drop" else "kept",
            "budget_seconds": seconds,
            "backend": "vllm" if sampling.is_vllm_engine(model) else "transformers",
            "seconds": round(time.perf_counter() - started, 2),
        }
        return verdicts, figures

    return apply


def _solved(task, completion: str, answer: str) -> bool:
    try:
        return bool(task.grade(completion, answer))
    except Exception:  # a grader that raises on a completion counts it as unsolved here
        return False
