"""The GRPO pass-rate filter: keep the prompts the current model sometimes, but not always, solves.

A GRPO group whose k completions all get the same reward has zero advantage and teaches nothing
(DAPO's dynamic sampling, arXiv 2503.14476, drops such groups during training; filtering the data
first avoids paying for them). The model the hypothesis trains from is sampled `samples` times per
prompt with agents/sampling.py, the critic's own seeded, batched generation, and graded with the
task's grader. Prompts past `max_prompts` are not sampled and are kept, counted as unscored.
"""

from __future__ import annotations

import random
import time

from agents import sampling
from agents.curator.gate import TOO_EASY, TOO_HARD
from agents.tasks import get_task
from bus.schemas import TaskSpec

SAMPLES = 4  # small on purpose: 4000 prompts x 4 samples of the tiny model take a few seconds on 2 CPU cores
TEMPERATURE = 1.0  # GRPO's own sampling temperature in the embedded recipe
MAX_PROMPTS = 4096


def pass_rate_filter(
    model,
    tokenizer,
    spec: TaskSpec,
    checkpoint: str,
    *,
    samples: int = SAMPLES,
    temperature: float = TEMPERATURE,
    seed: int = 0,
    max_prompts: int = MAX_PROMPTS,
):
    """A gate PassFilter: rows -> (per row TOO_EASY, TOO_HARD or None, the filter's figures)."""
    task = get_task(spec)

    def apply(rows: list[dict]) -> tuple[list[str | None], dict]:
        started = time.perf_counter()
        scored = list(range(len(rows)))
        if len(rows) > max_prompts:
            scored = sorted(random.Random(seed).sample(scored, max_prompts))
        generation = sampling.generate(
            model,
            tokenizer,
            [rows[i]["prompt"] for i in scored],
            task.max_new_tokens(spec),
            samples=samples,
            temperature=temperature,
            seed=seed,
        )
        verdicts: list[str | None] = [None] * len(rows)
        for i, completions in zip(scored, generation.completions, strict=True):
            passes = sum(_solved(task, c, rows[i]["answer"]) for c in completions)
            verdicts[i] = TOO_EASY if passes == samples else TOO_HARD if passes == 0 else None
        figures = {
            "checkpoint": checkpoint,
            "samples": samples,
            "temperature": temperature,
            "seed": seed,
            "scored": len(scored),
            "too_easy": verdicts.count(TOO_EASY),
            "too_hard": verdicts.count(TOO_HARD),
            "kept": len(scored) - verdicts.count(TOO_EASY) - verdicts.count(TOO_HARD),
            "unscored": len(rows) - len(scored),
            "seconds": round(time.perf_counter() - started, 2),
        }
        return verdicts, figures

    return apply


def _solved(task, completion: str, answer: str) -> bool:
    try:
        return bool(task.grade(completion, answer))
    except Exception:  # a grader that raises on a completion counts it as unsolved here
        return False
