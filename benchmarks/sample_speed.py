"""Seeded sampling speed at a real vocabulary: agents/models/sampling.py against plain `model.generate(do_sample=True)`.

Loads MODEL (default: the packaged SmolLM2-135M-Instruct, vocabulary 49,152; converted once into CACHE),
then samples the same BATCH chat prompts for NEW_TOKENS tokens at temperature 1.0, first with intern's
seeded per-row sampler, then with transformers' own multinomial sampling (top-k and top-p off, so both
draw from the full softmax), and prints sampled tokens per second for each and their ratio (target >= 0.8:
batch-independent seeding should cost almost nothing next to the forward passes). Run on demand:
`python benchmarks/sample_speed.py [--model smollm2-135m-instruct] [--batch 32] [--new-tokens 32]`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from agents.models.loading import load_model
from agents.models.refs import materialize_model
from agents.models.sampling import _eos_ids, as_model_prompts, count_generated, generate


def plain_sampling(model, tokenizer, prompts: list[str], new_tokens: int) -> tuple[int, float]:
    """(tokens up to the first eos, seconds) for `generate(do_sample=True)` on the same chat prompts."""
    import torch

    eos = _eos_ids(model, tokenizer)
    tokenizer.padding_side = "left"
    enc = tokenizer(as_model_prompts(tokenizer, prompts), return_tensors="pt", padding=True, add_special_tokens=False)
    enc = {k: v.to(model.device) for k, v in enc.items()}
    started = time.perf_counter()
    with torch.no_grad():
        out = model.generate(
            **enc,
            max_new_tokens=new_tokens,
            do_sample=True,
            temperature=1.0,
            top_k=0,
            top_p=1.0,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=eos,
        )
    seconds = time.perf_counter() - started
    return sum(count_generated(out[:, enc["input_ids"].shape[1] :], eos)), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2-135m-instruct", help="model reference (default: packaged SmolLM2)")
    parser.add_argument("--cache", default=str(Path.home() / ".cache" / "intern" / "models"), help="conversion cache")
    parser.add_argument("--batch", type=int, default=32, help="prompts per batch, one sample each (default 32)")
    parser.add_argument("--new-tokens", type=int, default=32, help="new tokens per completion (default 32)")
    parser.add_argument("--repeats", type=int, default=2, help="timed repeats; the best is reported (default 2)")
    args = parser.parse_args()

    import torch

    model, tokenizer = load_model(materialize_model(args.model, Path(args.cache)), inference=True)
    prompts = [f"Tom has {10 + i} apples and buys {20 + 2 * i} more. How many apples does he have?" for i in range(99)]
    prompts = (prompts * (args.batch // len(prompts) + 1))[: args.batch]
    vocab = model.get_output_embeddings().weight.shape[0]
    print(
        f"{args.model}: vocabulary {vocab:,}, batch {args.batch}, {args.new_tokens} new tokens, temperature 1.0, "
        f"device {model.device}, torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    generate(model, tokenizer, prompts[:4], 4, temperature=1.0)  # warm-up: first calls allocate
    best: dict[str, tuple[float, int]] = {}
    for _ in range(args.repeats):
        started = time.perf_counter()
        ours = generate(model, tokenizer, prompts, args.new_tokens, temperature=1.0, seed=0, batch_rows=args.batch)
        seconds = time.perf_counter() - started
        if "intern seeded" not in best or ours.tokens / seconds > best["intern seeded"][1] / best["intern seeded"][0]:
            best["intern seeded"] = (seconds, ours.tokens)
        tokens, seconds = plain_sampling(model, tokenizer, prompts, args.new_tokens)
        if (
            "generate(do_sample)" not in best
            or tokens / seconds > best["generate(do_sample)"][1] / best["generate(do_sample)"][0]
        ):
            best["generate(do_sample)"] = (seconds, tokens)
    print(f"{'sampler':22} {'tokens/s':>9} {'seconds':>8} {'tokens':>7}")
    rates = {}
    for name, (seconds, tokens) in best.items():
        rates[name] = tokens / seconds
        print(f"{name:22} {rates[name]:9.1f} {seconds:8.2f} {tokens:7d}")
    ratio = rates["intern seeded"] / rates["generate(do_sample)"]
    print(f"ratio (intern / generate): {ratio:.2f} (target >= 0.8)")


if __name__ == "__main__":
    main()
