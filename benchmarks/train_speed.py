"""Training step time: intern's trainer against a hand-written plain TRL script, same model, data and config.

CPU part (always): the embedded tiny model on embedded addition data, SFT and GRPO with the built-in
recipes' settings. "intern" builds its trainer through agents/trainer/train_entry.py's own functions
(validation, backend choice, model loading, dataset formatting, reward binding, metrics callback);
"plain" is a TRL script written inline below. The two alternate in one run (intern, plain, intern,
plain, ...), each measurement in its own process so peak memory is that run's alone. Printed: median
step time after warm-up, the ratio plain/intern (>= 0.95 means intern adds no real overhead) and peak
memory (process max RSS; on CUDA, torch's peak allocation).

GPU part (`--gpu`, or automatically with CUDA): GRPO with LoRA on a randomly initialised model shaped
like Qwen3-0.6B (no download): intern's unsloth backend against plain TRL + PEFT, printing step-time
and peak-memory ratios. Needs an NVIDIA GPU and unsloth installed.

`python benchmarks/train_speed.py [--steps 30] [--repeats 3] [--gpu]`
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from model_shapes import QWEN3_06B  # benchmarks/ is on sys.path when a script runs

ROOT = Path(__file__).resolve().parents[1]
WARMUP_STEPS = 3  # first steps allocate and compile; they are not what a long run spends its time on
GPU_LORA = {"r": 16, "alpha": 32, "dropout": 0.0, "target_modules": "all-linear"}


def config_for(method: str, steps: int, gpu: bool) -> dict:
    """The run's TrainingConfig values: the embedded recipe (CPU) or a GPU-sized GRPO with LoRA."""
    from agents.recipes.settings import tiny_recipe as recipe

    values = recipe(method, 2, 1.0)
    values.update(max_steps=steps, warmup_steps=1, run_id="bench", method=method, base_model="bench", dataset="d")
    if gpu:
        values.update(per_device_train_batch_size=16, max_completion_length=128, peft=GPU_LORA, backend="unsloth")
    return values


def rows_for(n: int = 2048) -> list[dict]:
    from agents.tasks import addition

    problems = addition.sample_problems(n, 2, seed=0)
    return [{"prompt": p.prompt, "completion": p.answer, "answer": p.answer} for p in problems]


def step_timer(times: list[float]):
    from transformers import TrainerCallback

    def now() -> float:
        import torch

        if torch.cuda.is_available():
            torch.cuda.synchronize()  # CUDA work is asynchronous: wait for it before reading the clock
        return time.perf_counter()

    class StepTimer(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            self.start = now()

        def on_step_end(self, args, state, control, **kwargs):
            times.append(now() - self.start)

    return StepTimer()


# --- the two sides -----------------------------------------------------------------------------------


def intern_trainer(method: str, cfg_values: dict, model: str, rows: list[dict], run_dir: Path, times: list[float]):
    """Exactly what train_entry.main does before `trainer.train()`."""
    from agents.trainer import train_entry
    from agents.trainer.backends import prepare_backend
    from agents.trainer.validation import check_training_config, installed_grpo_fields, load_training_config

    config = load_training_config(cfg_values, "addition")
    backend = prepare_backend(config.backend)
    check_training_config(config, "addition", grpo_fields=installed_grpo_fields())
    cfg = dict(config.model_dump(), task="addition", backend=backend)
    callbacks = [train_entry.metrics_callback(run_dir / "metrics.jsonl"), step_timer(times)]
    build = train_entry.build_sft_trainer if method == "sft" else train_entry.build_grpo_trainer
    return build(cfg, model, rows, run_dir, callbacks)


def plain_trainer(method: str, c: dict, model_path: str, rows: list[dict], run_dir: Path, times: list[float]):
    """A plain TRL script, as a user who read the TRL docs (and the CPU facts) would write it."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cuda = torch.cuda.is_available()
    dtype = torch.bfloat16 if c.get("peft") else torch.float32  # LoRA on GPU: bf16 base weights
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=dtype)
    if cuda:
        model = model.to("cuda")
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    peft_config = None
    if c.get("peft"):
        from peft import LoraConfig

        lora = c["peft"]
        peft_config = LoraConfig(
            r=lora["r"], lora_alpha=lora["alpha"], target_modules=lora["target_modules"], task_type="CAUSAL_LM"
        )
    device = {"bf16": True} if cuda else {"use_cpu": True, "bf16": False}
    shared = dict(
        output_dir=str(run_dir / "out"),
        learning_rate=c["learning_rate"],
        lr_scheduler_type=c["lr_scheduler_type"],
        warmup_steps=c["warmup_steps"],
        max_steps=c["max_steps"],
        per_device_train_batch_size=c["per_device_train_batch_size"],
        seed=0,
        logging_steps=max(1, c["max_steps"] // 40),
        save_strategy="no",
        report_to=[],
        disable_tqdm=True,
        gradient_checkpointing=False,
        **device,
    )
    if method == "sft":
        from trl import SFTConfig, SFTTrainer

        data = Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in rows])
        args = SFTConfig(**shared, completion_only_loss=True, max_length=c["max_length"])
        return SFTTrainer(
            model=model,
            args=args,
            train_dataset=data,
            processing_class=tokenizer,
            peft_config=peft_config,
            callbacks=[step_timer(times)],
        )
    from trl import GRPOConfig, GRPOTrainer

    def exact(completions, answer, **kwargs):
        return [1.0 if c.strip()[: len(a)] == a else 0.0 for c, a in zip(completions, answer, strict=True)]

    data = Dataset.from_list([{"prompt": r["prompt"], "answer": r["answer"]} for r in rows])
    args = GRPOConfig(
        **shared,
        num_generations=c["num_generations"],
        max_completion_length=c["max_completion_length"],
        temperature=c["temperature"],
        beta=c["beta"],
        loss_type=c["loss_type"],
        scale_rewards=c["scale_rewards"],
    )
    return GRPOTrainer(
        model=model,
        reward_funcs=[exact],
        args=args,
        train_dataset=data,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[step_timer(times)],
    )


def worker(args: argparse.Namespace) -> None:
    """One measurement, in its own process: build, train, write step times and peak memory."""
    os.environ["INTERN_TRACKIO"] = "0"  # neither side reports to a tracker
    values = config_for(args.method, args.steps, args.gpu)
    rows = rows_for()
    times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        build = intern_trainer if args.worker == "intern" else plain_trainer
        trainer = build(args.method, values, args.model, rows, Path(tmp), times)
        trainer.train()
    import resource

    import torch

    peak = (
        torch.cuda.max_memory_allocated() / 2**20
        if torch.cuda.is_available()
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    Path(args.out).write_text(json.dumps({"step_seconds": times, "peak_mb": peak}))


# --- models ----------------------------------------------------------------------------------------------


def tiny_model(cache: Path) -> str:
    from agents.models.refs import materialize_model
    from agents.models.tiny import EMBEDDED_TINY

    return materialize_model(EMBEDDED_TINY, cache, seed=0)


def qwen3_shaped_model(cache: Path) -> str:
    """Random weights in Qwen3-0.6B's shape, with the embedded character tokenizer padded to its vocabulary."""
    import torch
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast, Qwen3Config

    from agents.models.tiny import TINY_ALPHABET, TINY_SPECIALS

    target = cache / "qwen3-0.6b-shaped"
    chars = TINY_SPECIALS + TINY_ALPHABET
    vocab = {tok: i for i, tok in enumerate(chars + [f"<x{i}>" for i in range(QWEN3_06B["vocab_size"] - len(chars))])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tok.decoder = decoders.Fuse()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>", unk_token="<unk>"
    )
    ids = {"bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id}
    config = Qwen3Config(**QWEN3_06B, **ids, pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return str(target)


# --- the comparison ---------------------------------------------------------------------------------------


def measure(side: str, method: str, model: str, steps: int, gpu: bool) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        cmd = [sys.executable, __file__, "--worker", side, "--method", method, "--model", model]
        cmd += ["--steps", str(steps), "--out", out.name] + (["--gpu"] if gpu else [])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
        proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"{side} {method} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
        result = json.loads(Path(out.name).read_text())
    timed = result["step_seconds"][WARMUP_STEPS:]
    return {"step": statistics.median(timed), "peak_mb": result["peak_mb"]}


def compare(label: str, sides: tuple[str, str], method: str, model: str, steps: int, repeats: int, gpu: bool) -> None:
    """Alternate the two sides `repeats` times; the median of each side's medians is its step time."""
    got: dict[str, list[dict]] = {side: [] for side in sides}
    for _ in range(repeats):
        for side in sides:
            got[side].append(measure(side, method, model, steps, gpu))
    ours, theirs = sides
    step = {s: statistics.median(m["step"] for m in got[s]) for s in sides}
    peak = {s: max(m["peak_mb"] for m in got[s]) for s in sides}
    print(
        f"{label:28} {ours} {step[ours] * 1000:8.1f} ms/step {peak[ours]:8.0f} MB | "
        f"{theirs} {step[theirs] * 1000:8.1f} ms/step {peak[theirs]:8.0f} MB | "
        f"speed ratio {theirs}/{ours} {step[theirs] / step[ours]:.3f}  memory ratio {peak[ours] / peak[theirs]:.3f}"
    )
    spread = {s: [round(m["step"] * 1000, 1) for m in got[s]] for s in sides}
    print(f"{'':28} per-repeat ms/step: {spread}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=30, help="training steps per measurement (default 30)")
    parser.add_argument("--repeats", type=int, default=3, help="alternating measurements per side (default 3)")
    parser.add_argument("--gpu", action="store_true", help="also run the Unsloth GPU comparison")
    parser.add_argument("--worker", choices=("intern", "plain"), help=argparse.SUPPRESS)
    parser.add_argument("--method", choices=("sft", "grpo"), help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    import torch

    cuda = torch.cuda.is_available()
    device = torch.cuda.get_device_name() if cuda else f"CPU, {torch.get_num_threads()} threads"
    print(
        f"train step time, {args.repeats} alternating repeats of {args.steps} steps ({WARMUP_STEPS} warm-up); {device}"
    )
    with tempfile.TemporaryDirectory() as cache:
        tiny = tiny_model(Path(cache))
        for method in ("sft", "grpo"):
            compare(f"tiny {method}", ("intern", "plain"), method, tiny, args.steps, args.repeats, gpu=False)
        if args.gpu or cuda:
            if not cuda:
                raise SystemExit("--gpu needs CUDA; this machine has none")
            model = qwen3_shaped_model(Path(cache))
            steps = max(args.steps // 3, WARMUP_STEPS + 5)
            compare("qwen3-0.6b-shaped grpo lora", ("intern", "plain"), "grpo", model, steps, args.repeats, gpu=True)


if __name__ == "__main__":
    main()
