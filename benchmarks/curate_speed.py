"""Throughput of the curator's quality gate: rows per second, without and with the GRPO pass-rate filter.

Generates ROWS addition training rows with the curator's own generator (the held-out split of the
default goal excluded), then times `gate.run_gate` on them: once with the checks that need no model
but the tokenizer (mapping, lengths, duplicates, near-duplicates, contamination), once adding the
pass-rate filter that samples CHECKPOINT (default: the embedded tiny model) k times per prompt.
Then rejection sampling (agents/curator/rejection.py, the synthetic data of tasks without a generator):
completions sampled and graded per second, with how many the grader accepted.
Run on demand: `python benchmarks/curate_speed.py [--rows 4000] [--samples 4] [--checkpoint DIR]
[--rejection-prompts 1000]`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from agents.critic.evaluate import EVAL_SEED_OFFSET
from agents.curator import addition_generator
from agents.curator.columns import detect_mapping
from agents.curator.gate import SourceRows, run_gate
from agents.curator.pass_rate import pass_rate_filter
from agents.curator.rejection import rejection_sample
from agents.models.loading import load_model
from agents.models.refs import materialize_model
from agents.models.tiny import EMBEDDED_TINY
from agents.tasks import get_task
from bus.schemas import TaskSpec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=4000, help="training rows through the gate (default 4000)")
    parser.add_argument("--samples", type=int, default=4, help="pass-rate samples per prompt (default 4)")
    parser.add_argument("--checkpoint", default=EMBEDDED_TINY, help="model to sample (default: embedded:tiny)")
    parser.add_argument("--repeats", type=int, default=2, help="timed repeats; the best is reported (default 2)")
    parser.add_argument("--rejection-prompts", type=int, default=1000, help="prompts rejection-sampled (default 1000)")
    args = parser.parse_args()

    import torch

    spec = TaskSpec()
    eval_prompts = [r["prompt"] for r in get_task(spec).eval_rows(spec, EVAL_SEED_OFFSET)]
    rows = addition_generator.generate(args.rows, spec.digits, spec.teacher_error, 0, set(eval_prompts))
    source = SourceRows("synthetic", rows, list(rows[0]))
    mapping = detect_mapping(source.columns)
    with tempfile.TemporaryDirectory() as cache:
        model, tokenizer = load_model(materialize_model(args.checkpoint, Path(cache)), inference=True)

    def count_tokens(prompts: list[str], completions: list[str]) -> list[int]:
        p = tokenizer(prompts, add_special_tokens=False)["input_ids"]
        c = tokenizer(completions, add_special_tokens=False)["input_ids"]
        return [len(a) + len(b) + 1 for a, b in zip(p, c, strict=True)]

    lengths = {"count_tokens": count_tokens, "max_tokens": model.config.max_position_embeddings}
    run_gate(SourceRows("warm-up", rows[:64], source.columns), mapping, spec, eval_prompts, **lengths)
    print(
        f"{len(rows)} addition rows against {len(eval_prompts)} held-out prompts; {args.checkpoint}; "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    print(f"{'gate':34} {'rows/s':>9} {'seconds':>8} {'kept':>6}  dropped")
    filters = {"without pass-rate filter": None}
    filters[f"with pass-rate filter (k={args.samples})"] = pass_rate_filter(
        model, tokenizer, spec, args.checkpoint, samples=args.samples
    )
    for label, pass_filter in filters.items():
        best = None
        for _ in range(args.repeats):
            started = time.perf_counter()
            result = run_gate(source, mapping, spec, eval_prompts, pass_filter=pass_filter, **lengths)
            seconds = time.perf_counter() - started
            best = (seconds, result) if best is None or seconds < best[0] else best
        seconds, result = best
        print(f"{label:34} {len(rows) / seconds:9.0f} {seconds:8.2f} {len(result.kept):6d}  {result.dropped}")
    print()
    print(f"{'rejection sampling':34} {'samples/s':>9} {'seconds':>8} {'prompts':>7} {'accepted':>8} {'kept':>6}")
    picked = rows[: args.rejection_prompts]
    for k in (args.samples, 4 * args.samples):
        best = None
        for _ in range(args.repeats):
            sampled = rejection_sample(
                model, tokenizer, spec, picked, sampler=args.checkpoint, samples=k, temperature=1.0, seed=0
            )
            f = sampled.figures
            best = f if best is None or f["seconds"] < best["seconds"] else best
        rate = best["completions"] / max(best["seconds"], 1e-9)
        print(
            f"{f'k={k}, temperature 1':34} {rate:9.0f} {best['seconds']:8.2f} {best['sampled_prompts']:7d} "
            f"{best['accepted']:8d} {best['kept']:6d}"
        )


if __name__ == "__main__":
    main()
