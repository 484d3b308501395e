"""GPU check, prepared for a lent NVIDIA machine (no network there): GRPO steps on the trl and unsloth backends
and vLLM generation, on a randomly initialised Qwen3-0.6B-shaped model; prints step time, peak memory, ratios.

Nothing is downloaded: the model is built from Qwen3-0.6B's published config values (hidden 1024, 28 layers,
16 heads, 8 KV heads, head_dim 128, intermediate 3072, vocabulary 151,936, tied embeddings) with random
weights, and the tokenizer is a word-level one whose vocabulary covers every id (so any sampled id decodes).
Each backend runs in its own process, since unsloth must be imported before trl and transformers. A backend
whose package is missing is reported as skipped, with the reason, and the others still run.

`python benchmarks/gpu_check.py [--steps 5] [--out DIR]` (about 5-8 minutes on one H200); with `--worker
trl|unsloth|vllm` it runs one part and prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from model_shapes import QWEN3_06B  # benchmarks/ is on sys.path when a script runs

PROMPTS = 64


def build_model(folder: Path) -> None:
    """A random Qwen3-0.6B-shaped model and a tokenizer covering its vocabulary, saved as a plain folder."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3ForCausalLM

    if (folder / "config.json").exists():
        return
    specials = ["<pad>", "<unk>", "<|im_start|>", "<|im_end|>"]
    words = [str(i) for i in range(100)] + list("+=?") + ["What", "is"]
    vocab = {t: i for i, t in enumerate(specials + words)}
    vocab.update({f"<t{i}>": i for i in range(len(vocab), QWEN3_06B["vocab_size"])})
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.decoder = decoders.WordPiece(prefix="##")  # joins with spaces
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<|im_start|>", eos_token="<|im_end|>", pad_token="<pad>", unk_token="<unk>"
    )
    fast.chat_template = (
        "{% for m in messages %}<|im_start|> {{ m['content'] }} <|im_end|> {% endfor %}"
        "{% if add_generation_prompt %}<|im_start|> {% endif %}"
    )
    shape = QWEN3_06B | {"max_position_embeddings": 4096}  # a shorter RoPE table: prompts here are short
    config = Qwen3Config(**shape, bos_token_id=2, eos_token_id=3, pad_token_id=0)
    torch.manual_seed(0)
    model = Qwen3ForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(folder)
    fast.save_pretrained(folder)


def grpo_worker(backend: str, model: Path, steps: int, work: Path) -> dict:
    """GRPO steps through intern's own training entry (agents/trainer/train_entry.py) on `backend`."""
    import yaml

    run = work / f"run-{backend}"
    run.mkdir(parents=True, exist_ok=True)
    config = {
        "run_id": f"gpu-{backend}",
        "method": "grpo",
        "base_model": str(model),
        "dataset": "gpu-check",
        "reward_funcs": {"exact_match": 1.0},
        "learning_rate": 1e-6,
        "lr_scheduler_type": "constant",
        "max_steps": steps,
        "per_device_train_batch_size": 32,
        "num_generations": 8,
        "max_completion_length": 64,
        "max_length": 64,
        "backend": backend,
        "use_vllm": False,
        "peft": {"r": 32, "alpha": 64, "target_modules": "all-linear"} if backend == "unsloth" else None,
    }
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    rows = [{"prompt": f"What is {i % 50} + {i % 7} ?", "answer": f"{i % 50 + i % 7:03d}"} for i in range(PROMPTS)]
    data = work / "data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    import torch

    from agents.trainer import train_entry

    started = time.time()
    rc = train_entry.main([str(run), str(model), str(data), "addition"])
    seconds = time.time() - started
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    step_times = [m["step_time"] for m in metrics if "step_time" in m]
    return {
        "part": f"grpo-{backend}",
        "rc": rc,
        "seconds": round(seconds, 1),
        "steps": steps,
        "step_time_s": round(sum(step_times) / len(step_times), 3) if step_times else None,
        "peak_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2),
    }


def vllm_worker(model: Path) -> dict:
    """vLLM generation against intern's transformers sampler, same prompts and budget: tokens per second."""
    import torch

    from agents.models.sampling import generate, load_for_generation

    prompts = [f"What is {i % 50} + {i % 7} ?" for i in range(256)]
    out: dict = {"part": "vllm"}
    for backend in ("transformers", "vllm"):
        llm, tokenizer = load_for_generation(str(model), backend)
        generate(llm, tokenizer, prompts[:8], 8, temperature=1.0)  # warm-up
        gen = generate(llm, tokenizer, prompts, 128, temperature=1.0, seed=0)
        out[f"{backend}_tokens_per_s"] = round(gen.tokens / gen.seconds, 1)
        del llm
        torch.cuda.empty_cache()
    out["ratio_vllm_over_transformers"] = round(out["vllm_tokens_per_s"] / out["transformers_tokens_per_s"], 2)
    out["peak_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    return out


def missing(part: str) -> str | None:
    from importlib.util import find_spec

    need = {"trl": ["trl"], "unsloth": ["unsloth", "trl"], "vllm": ["vllm"]}[part]
    absent = [name for name in need if find_spec(name) is None]
    return f"not installed: {', '.join(absent)}" if absent else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--out", default=os.environ.get("OUT", "/tmp/gpu-check"))
    parser.add_argument("--worker", choices=["trl", "unsloth", "vllm"])
    args = parser.parse_args()
    work = Path(args.out)
    model = work / "qwen3-0.6b-random"
    if args.worker:
        result = vllm_worker(model) if args.worker == "vllm" else grpo_worker(args.worker, model, args.steps, work)
        print("RESULT " + json.dumps(result), flush=True)
        return
    import torch

    if not torch.cuda.is_available():
        print("no CUDA device here: this check runs on a lent GPU machine only")
        sys.exit(2)
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}", flush=True)
    work.mkdir(parents=True, exist_ok=True)
    started = time.time()
    build_model(model)
    print(f"built the random Qwen3-0.6B-shaped model in {time.time() - started:.0f} s", flush=True)
    results = []
    for part in ("trl", "unsloth", "vllm"):
        reason = missing(part)
        if reason:
            results.append({"part": part, "skipped": reason})
            continue
        cmd = [sys.executable, __file__, "--worker", part, "--steps", str(args.steps), "--out", str(work)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=400)
        line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
        results.append(json.loads(line[7:]) if line else {"part": part, "failed": (proc.stderr or proc.stdout)[-800:]})
        print(json.dumps(results[-1]), flush=True)
    times = {r["part"]: r.get("step_time_s") for r in results if r.get("step_time_s")}
    if "grpo-trl" in times and "grpo-unsloth" in times:
        print(f"unsloth / trl step time: {times['grpo-unsloth'] / times['grpo-trl']:.2f}")
    (work / "gpu_check.json").write_text(json.dumps(results, indent=2))
    print(f"done in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
