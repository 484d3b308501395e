"""One GRPO step on a real model, taken apart: rollouts (generation) against the rest (rewards and the update).

Builds the trainer's own GRPOTrainer (agents/trainer/train_entry.build_grpo_trainer) for MODEL (default: the
packaged SmolLM2-135M-Instruct, converted once into CACHE; pass an SFT checkpoint to time the step the loop
takes after its first run) on DATA (rows with `prompt` and `answer`, e.g. a curator's datasets/<name>/data.jsonl;
default: the smollm2-word-problems example's training problems), runs STEPS steps and prints, per step, the
wall time, the time inside generation, the rest (reward functions, log-probabilities, backward, optimizer),
the completion tokens generated per second of generation, and the mean reward. With --save DIR the model is
saved there after the steps, so `intern eval DIR ...` can score what the settings did. Run on demand:

    python benchmarks/grpo_step.py [--model PATH] [--data FILE] [--steps 6] [--prompts 4] [--generations 4]
        [--completion-length 32] [--learning-rate 1e-5] [--save DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from agents.models.refs import materialize_model
from agents.tasks import correctness_reward_name
from bus.jsonl import read_jsonl
from bus.schemas import TaskSpec, TrainingConfig


def example_rows() -> list[dict]:
    """The example's training problems as the curator maps them: the question and the number after ####."""
    from agents.example_goals import word_problems

    return [
        {"prompt": r["question"], "answer": r["answer"].split("####")[-1].strip()}
        for r in word_problems(400, 2, held_out=False)
    ]


def timed_generation(trainer) -> list[tuple[float, int]]:
    """Wrap the trainer's rollout call; returns the list it fills with (seconds, completion tokens) per call."""
    calls: list[tuple[float, int]] = []
    inner = trainer._generate_single_turn

    def wrapped(*args, **kwargs):
        started = time.perf_counter()
        out = inner(*args, **kwargs)
        completion_ids = out[0]  # (completion ids, logprobs)
        calls.append((time.perf_counter() - started, sum(len(c) for c in completion_ids)))
        return out

    trainer._generate_single_turn = wrapped
    return calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2-135m-instruct", help="model path or reference")
    parser.add_argument("--cache", default=str(Path.home() / ".cache" / "intern" / "models"), help="conversion cache")
    parser.add_argument("--data", default=None, help="JSONL rows with prompt and answer (default: the example's)")
    parser.add_argument("--task", default="gsm8k")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--prompts", type=int, default=4, help="prompts per step (default 4)")
    parser.add_argument("--generations", type=int, default=4, help="completions per prompt (default 4)")
    parser.add_argument("--completion-length", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-5)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--save", default=None, help="save the model here after the steps")
    args = parser.parse_args()

    from transformers import TrainerCallback

    from agents.trainer.train_entry import build_grpo_trainer

    model = materialize_model(args.model, Path(args.cache)) if not Path(args.model).is_dir() else args.model
    rows = read_jsonl(Path(args.data)) if args.data else example_rows()
    spec = TaskSpec(name=args.task)
    completions = args.prompts * args.generations
    config = TrainingConfig(
        run_id="grpo-step-bench",
        method="grpo",
        base_model=str(model),
        dataset="bench",
        reward_funcs={correctness_reward_name(spec): 1.0},
        learning_rate=args.learning_rate,
        lr_scheduler_type="constant",
        warmup_steps=0,
        max_steps=args.steps,
        per_device_train_batch_size=completions,
        num_generations=args.generations,
        temperature=args.temperature,
        max_completion_length=args.completion_length,
    )
    cfg = config.model_dump() | {"task": args.task, "backend": "trl"}
    step_ends: list[float] = []
    rewards: list[float] = []

    class Clock(TrainerCallback):
        def on_step_end(self, a, state, control, **kw):
            step_ends.append(time.perf_counter())

        def on_log(self, a, state, control, logs=None, **kw):
            if logs and "reward" in logs:
                rewards.append(float(logs["reward"]))

    os.environ.setdefault("INTERN_TRACKIO", "0")  # a benchmark is not a run to track
    with tempfile.TemporaryDirectory() as tmp:
        trainer = build_grpo_trainer(cfg, str(model), rows, Path(tmp), [Clock()])
        trainer.args.logging_steps = 1
        calls = timed_generation(trainer)
        started = time.perf_counter()
        trainer.train()
        if args.save:
            trainer.save_model(args.save)
            trainer.processing_class.save_pretrained(args.save)
    print(f"model {model}; {len(rows)} prompts; {args.prompts} prompts x {args.generations} generations per step, ")
    print(f"{args.completion_length} completion tokens at most, lr {args.learning_rate:g}")
    print("step  wall_s  generate_s  rest_s  gen_tokens/s  reward")
    walls, gens = [], []
    previous = started
    for i, end in enumerate(step_ends):
        wall, (gen, tokens) = end - previous, calls[i] if i < len(calls) else (0.0, 0)
        previous = end
        walls.append(wall)
        gens.append(gen)
        reward = f"{rewards[i]:.3f}" if i < len(rewards) else "-"
        print(f"{i + 1:>4}  {wall:6.1f}  {gen:10.1f}  {wall - gen:6.1f}  {tokens / max(gen, 1e-9):12.1f}  {reward}")
    later = walls[1:] or walls  # the first step pays one-off warm-up
    gen_share = sum(gens[1:] or gens) / max(sum(later), 1e-9)
    print(f"median step {statistics.median(later):.1f} s (after the first); generation {gen_share:.0%} of it")


if __name__ == "__main__":
    main()
