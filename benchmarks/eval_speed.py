"""Evaluation throughput of the embedded tiny model: greedy and sampled, problems per second.

Scores CHECKPOINT (default: the untrained embedded tiny model) on the embedded addition task's
held-out problems, once greedy and once with N samples per problem, and prints problems per
second, generated tokens per second and wall time. Run on demand:
`python benchmarks/eval_speed.py [--problems 500] [--samples 8] [--checkpoint DIR]`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from agents.critic.evaluate import EVAL_SEED_OFFSET
from agents.critic.scoring import score_model
from agents.models.loading import load_model
from agents.models.refs import materialize_model
from agents.models.tiny import EMBEDDED_TINY
from agents.tasks import get_task
from bus.schemas import TaskSpec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", default=EMBEDDED_TINY, help="model directory (default: embedded:tiny)")
    parser.add_argument("--problems", type=int, default=500, help="held-out problems (default 500)")
    parser.add_argument("--samples", type=int, default=8, help="samples per problem for pass@k (default 8)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats; the best is reported (default 3)")
    args = parser.parse_args()

    import torch

    spec = TaskSpec(eval_size=args.problems)
    task = get_task(spec)
    rows = task.eval_rows(spec, EVAL_SEED_OFFSET)
    with tempfile.TemporaryDirectory() as cache:
        model, tokenizer = load_model(materialize_model(args.checkpoint, Path(cache)))
    print(
        f"{args.checkpoint} on {len(rows)} addition problems; torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    score_model(model, tokenizer, rows[:16], task, task.max_new_tokens(spec))  # warm-up: first calls allocate
    print(f"{'mode':16} {'problems/s':>11} {'tokens/s':>9} {'seconds':>8} {'tokens':>7}  score")
    for label, samples in (("greedy", 0), (f"greedy+{args.samples} samples", args.samples)):
        best = None
        for _ in range(args.repeats):
            started = time.perf_counter()
            scores = score_model(model, tokenizer, rows, task, task.max_new_tokens(spec), samples=samples, seed=0)
            seconds = time.perf_counter() - started
            best = (seconds, scores) if best is None or seconds < best[0] else best
        seconds, scores = best
        extra = f" pass@{args.samples} {scores.pass_at_k[str(args.samples)]:.3f}" if samples else ""
        print(
            f"{label:16} {len(rows) / seconds:11.1f} {scores.tokens / seconds:9.0f} {seconds:8.2f} "
            f"{scores.tokens:7d}  {scores.score:.3f}{extra}"
        )


if __name__ == "__main__":
    main()
