"""SFT step time with a 262k vocabulary on a CPU: the output layer at every position against completions only.

The gemma3 shape of issue 21 (random weights, benchmarks/model_shapes.py) and SmolLM2-135M (the packaged model,
converted) train on the same batch: the same token ids, the same prompt/completion split, through TRL's
SFTTrainer as agents/trainer/train_entry.py builds it (completion_only_loss, fp32, AdamW). Each model runs with
TRL's CPU default (every position through the output layer) and with
agents/trainer/completion_logits.py (completion positions only). The figure is the median step after a warm-up.

    flock /tmp/heavy.lock python benchmarks/large_vocab_sft.py [--steps 4] [--rows 8] [--prompt 150] [--completion 50]

Measured for issue 21 (2 shared CPU cores, load 4-8, TRL 1.16, defaults above), s/step through SFTTrainer:
SmolLM2 91.1 (every position) / 96.7 (completions only); gemma3 shape 109.7 / 107.9: 1.13x and 1.12x SmolLM2.
--breakdown, completions only (forward, backward, AdamW): SmolLM2 11.3 + 21.3 + 4.2 s, gemma3 10.4 + 24.5 + 4.3 s.
TRL 1.16's chunked fused head already keeps the 262k logits from being materialised; the 4.9x of the issue was
not reproduced on this batch, and the load on the machine moves single figures by more than the change does.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # model_shapes.py beside this file

from model_shapes import GEMMA3_270M  # noqa: E402


def gemma3_model():
    import torch
    from transformers import AutoModelForCausalLM, Gemma3TextConfig

    torch.manual_seed(0)
    return AutoModelForCausalLM.from_config(Gemma3TextConfig(**GEMMA3_270M))


def smollm2_model():
    from agents.models.loading import load_model
    from agents.models.refs import materialize_model

    model, _ = load_model(materialize_model("smollm2-135m-instruct", Path(tempfile.mkdtemp()) / "models"))
    return model


def batch_rows(rows: int, prompt: int, completion: int, vocab: int) -> list[dict]:
    import torch

    g = torch.Generator().manual_seed(0)
    return [
        {
            "input_ids": torch.randint(3, vocab, (prompt + completion,), generator=g).tolist(),
            "completion_mask": [0] * prompt + [1] * completion,
        }
        for _ in range(rows)
    ]


def step_seconds(model, tokenizer, rows: list[dict], steps: int, compact: bool) -> float:
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import SFTConfig, SFTTrainer
    from trl.trainer import utils as trl_utils

    from agents.trainer.completion_logits import score_completion_positions_only

    original = trl_utils._use_triton
    if compact:
        score_completion_positions_only()
    times: list[float] = []

    class Timer(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            self.start = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            times.append(time.perf_counter() - self.start)

    try:
        with tempfile.TemporaryDirectory() as out:
            args = SFTConfig(
                output_dir=out,
                max_steps=steps,
                per_device_train_batch_size=len(rows),
                learning_rate=1e-5,
                completion_only_loss=True,
                max_length=None,
                report_to=[],
                save_strategy="no",
                logging_steps=steps,
                use_cpu=True,
                dataloader_num_workers=0,
            )
            trainer = SFTTrainer(
                model=model,
                args=args,
                train_dataset=Dataset.from_list(rows * steps),
                processing_class=tokenizer,
                callbacks=[Timer()],
            )
            trainer.train()
    finally:
        trl_utils._use_triton = original
    return statistics.median(times[1:]) if len(times) > 1 else times[0]


def breakdown(model, rows: list[dict], repeats: int = 2) -> dict[str, float]:
    """Seconds of forward, backward and AdamW step for one batch, completion positions only (median of repeats)."""
    import torch
    from trl.trainer import utils as trl_utils
    from trl.trainer.utils import add_fused_lm_head

    from agents.trainer.completion_logits import score_completion_positions_only

    original = trl_utils._use_triton
    score_completion_positions_only()
    add_fused_lm_head(model, outputs=("log_probs", "entropy", "is_top1"))
    ids = torch.tensor([r["input_ids"] for r in rows])
    labels = ids.masked_fill(torch.tensor([r["completion_mask"] for r in rows]) == 0, -100)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    parts: dict[str, list[float]] = {"forward": [], "backward": [], "optimizer": []}
    try:
        for _ in range(repeats + 1):
            t0 = time.perf_counter()
            loss = model(input_ids=ids, labels=labels, fused_lm_head=True).loss
            t1 = time.perf_counter()
            loss.backward()
            t2 = time.perf_counter()
            optimizer.step()
            optimizer.zero_grad()
            t3 = time.perf_counter()
            for key, value in zip(parts, (t1 - t0, t2 - t1, t3 - t2)):
                parts[key].append(value)
    finally:
        trl_utils._use_triton = original
    return {k: statistics.median(v[1:]) for k, v in parts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--rows", type=int, default=8)
    parser.add_argument("--prompt", type=int, default=150)
    parser.add_argument("--completion", type=int, default=50)
    parser.add_argument("--breakdown", action="store_true", help="only time forward/backward/AdamW per model")
    args = parser.parse_args()

    import torch
    from transformers import AutoTokenizer

    from agents.models.refs import materialize_model

    tokenizer = AutoTokenizer.from_pretrained(materialize_model("smollm2-135m-instruct", Path(tempfile.mkdtemp())))
    rows = batch_rows(args.rows, args.prompt, args.completion, len(tokenizer))  # ids both vocabularies hold
    print(
        f"batch: {args.rows} rows x ({args.prompt} prompt + {args.completion} completion) tokens; "
        f"torch threads {torch.get_num_threads()}"
    )
    if args.breakdown:
        for name, build in (("smollm2-135m", smollm2_model), ("gemma3-270m shape", gemma3_model)):
            parts = breakdown(build(), rows)
            print(f"{name:20s} " + ", ".join(f"{k} {v:.2f} s" for k, v in parts.items()), flush=True)
        return
    results = {}
    for name, build in (("smollm2-135m (49k vocab)", smollm2_model), ("gemma3-270m shape (262k vocab)", gemma3_model)):
        for compact in (False, True):
            model = build()
            seconds = step_seconds(model, tokenizer, rows, args.steps, compact)
            results[(name, compact)] = seconds
            label = "completion positions only" if compact else "every position (TRL's CPU default)"
            print(f"{name:32s} {label:38s} {seconds:6.2f} s/step", flush=True)
            del model
    small = results[("smollm2-135m (49k vocab)", True)]
    for compact in (False, True):
        big = results[("gemma3-270m shape (262k vocab)", compact)]
        print(f"gemma3 / smollm2 ({'completions only' if compact else 'every position'}): {big / small:.2f}x")


if __name__ == "__main__":
    main()
