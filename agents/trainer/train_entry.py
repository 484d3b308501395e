"""One training run in its own process: `python -m agents.trainer.train_entry RUN_DIR MODEL DATA`.

Reads `RUN_DIR/config.yaml`, trains with TRL (SFTTrainer or GRPOTrainer), appends every log
line to `RUN_DIR/metrics.jsonl` under TRL's metric names, and saves the checkpoint with its
tokenizer to `RUN_DIR/checkpoint/`. It never sees the evaluation split: it is given only the
training data file. The parent process (agents/trainer/trainer.py) commits what it leaves.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path

import yaml


def device_settings() -> dict:
    """Precision and checkpointing from the device: TRL's bf16/gradient-checkpointing defaults
    made a CPU step 9x slower (facts file), so they are only kept on a GPU."""
    import torch

    if torch.cuda.is_available():
        return {"bf16": torch.cuda.is_bf16_supported(), "gradient_checkpointing": False}
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    return {"use_cpu": True, "bf16": False, "fp16": False, "gradient_checkpointing": False}


def metrics_callback(path: Path):
    from transformers import TrainerCallback

    class MetricsToJsonl(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if not logs:
                return
            row = {"step": state.global_step, "time": round(time.time(), 3)}
            for key, value in logs.items():
                if isinstance(value, (int, float)) and math.isfinite(value):
                    row[key] = value
                elif isinstance(value, float):
                    row[key] = str(value)  # nan / inf stay visible instead of vanishing
            with path.open("a") as fh:
                fh.write(json.dumps(row) + "\n")
            if any(isinstance(v, str) and v in ("nan", "inf", "-inf") for v in row.values()):
                raise FloatingPointError(f"non-finite value logged at step {state.global_step}: {row}")

    return MetricsToJsonl()


def common_args(cfg: dict, run_dir: Path) -> dict:
    return {
        "output_dir": str(run_dir / "trainer_output"),
        "learning_rate": cfg["learning_rate"],
        "lr_scheduler_type": cfg["lr_scheduler_type"],
        "warmup_steps": cfg["warmup_steps"],
        "max_steps": cfg["max_steps"],
        "per_device_train_batch_size": cfg["per_device_train_batch_size"],
        "seed": cfg["seed"],
        "max_grad_norm": cfg.get("max_grad_norm", 1.0),
        "logging_steps": max(1, cfg["max_steps"] // 40),
        "save_strategy": "no",
        "report_to": ["trackio"] if os.environ.get("INTERN_TRACKIO", "1") == "1" else [],
        "project": os.environ.get("INTERN_TRACKIO_PROJECT", "intern"),
        "run_name": cfg["run_id"],
        "disable_tqdm": True,
        "dataloader_num_workers": 0,
        **device_settings(),
    }


def train_sft(cfg: dict, model_path: str, rows: list[dict], run_dir: Path, callback) -> object:
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from agents.modeling import load_model

    model, tokenizer = load_model(model_path)
    data = Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in rows])
    args = SFTConfig(**common_args(cfg, run_dir), completion_only_loss=True, max_length=cfg["max_length"])
    trainer = SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tokenizer, callbacks=[callback])
    trainer.train()
    return trainer


GRPO_KNOBS = (
    "loss_type",
    "beta",
    "epsilon",
    "epsilon_high",
    "delta",
    "scale_rewards",
    "num_generations",
    "temperature",
    "top_p",
    "max_completion_length",
    "num_iterations",
    "mask_truncated_completions",
    "importance_sampling_level",
    "top_entropy_quantile",
)


def grpo_config(cfg: dict, run_dir: Path):
    """TRL's GRPOConfig from our TrainingConfig: the names are TRL's, so this is a straight copy.

    A knob the installed TRL lacks is left out: validation already refused any value that asks for
    more than that TRL did before the knob existed.
    """
    import dataclasses

    from trl import GRPOConfig

    fields = {f.name for f in dataclasses.fields(GRPOConfig)}
    knobs = {k: cfg[k] for k in GRPO_KNOBS if k in fields}
    return GRPOConfig(**common_args(cfg, run_dir), **knobs, reward_weights=list(cfg["reward_funcs"].values()))


def bound_rewards(cfg: dict) -> list:
    """The config's reward functions, each with the config values it asks for bound (TRL passes only columns)."""
    import functools

    from agents.tasks import reward_functions
    from agents.tasks.rewards import config_parameters

    values = dict(cfg, overlong_buffer=cfg.get("overlong_buffer") or max(1, cfg["max_completion_length"] // 5))
    out = []
    for name in cfg["reward_funcs"]:
        reward = reward_functions(cfg["task"])[name]
        params = config_parameters(reward)
        if params:
            # update_wrapper keeps __name__, which TRL logs the reward under.
            reward = functools.update_wrapper(functools.partial(reward, **{p: values[p] for p in params}), reward)
        out.append(reward)
    return out


def train_grpo(cfg: dict, model_path: str, rows: list[dict], run_dir: Path, callback) -> object:
    from datasets import Dataset
    from trl import GRPOTrainer

    from agents.modeling import load_model

    model, tokenizer = load_model(model_path)
    rewards = bound_rewards(cfg)
    data = Dataset.from_list([{"prompt": r["prompt"], "answer": r["answer"]} for r in rows])
    args = grpo_config(cfg, run_dir)
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=rewards,
        args=args,
        train_dataset=data,
        processing_class=tokenizer,
        callbacks=[callback],
    )
    trainer.train()
    return trainer


def load_training_rows(data_file: Path, report_file: Path | None) -> tuple[list[dict], int]:
    """The training rows minus those the critic's contamination report lists, and how many were dropped."""
    from agents.contamination import drop_listed, read_report

    rows = [json.loads(line) for line in data_file.read_text().splitlines() if line.strip()]
    if report_file is None:
        return rows, 0
    return drop_listed(rows, read_report(report_file))


def main(argv: list[str]) -> int:
    run_dir, model_path, data_file = Path(argv[0]), argv[1], Path(argv[2])
    from pydantic import ValidationError

    from agents.trainer.validation import installed_grpo_fields, load_training_config

    task = argv[3] if len(argv) > 3 else "addition"
    # Validated again here: a human may have edited config.yaml, and older configs gain the new defaults.
    data = yaml.safe_load((run_dir / "config.yaml").read_text())
    try:
        cfg = load_training_config(data, task, grpo_fields=installed_grpo_fields()).model_dump()
    except ValidationError as exc:
        # One line per field: the trainer reports the last line with "Error" in it as the run's cause.
        for err in exc.errors():
            print(f"ConfigError: {run_dir / 'config.yaml'}: {'.'.join(map(str, err['loc']))}: {err['msg']}")
        return 2
    cfg["task"] = task
    rows, dropped = load_training_rows(data_file, Path(argv[4]) if len(argv) > 4 else None)
    print(f"training on {len(rows)} rows; {dropped} dropped as contaminated by the critic's report", flush=True)
    metrics = run_dir / "metrics.jsonl"
    metrics.write_text("")
    callback = metrics_callback(metrics)
    train = {"sft": train_sft, "grpo": train_grpo}[cfg["method"]]
    trainer = train(cfg, model_path, rows, run_dir, callback)
    out = run_dir / "checkpoint"
    trainer.save_model(str(out))
    trainer.processing_class.save_pretrained(str(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
