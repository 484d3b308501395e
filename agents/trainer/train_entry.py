"""One training run in its own process: `python -m agents.trainer.train_entry RUN_DIR MODEL DATA`.

Reads and re-validates `RUN_DIR/config.yaml` (agents/trainer/validation.py), picks the backend
(agents/trainer/backends.py: unsloth on an NVIDIA GPU when installed, imported before TRL; else TRL),
trains with TRL's SFTTrainer or GRPOTrainer (full or LoRA), appends every log line to
`RUN_DIR/metrics.jsonl` under TRL's metric names, and saves the checkpoint (LoRA merged in) with its
tokenizer to `RUN_DIR/checkpoint/`. It never sees the evaluation split: it is given only the
training data file. The parent process (agents/trainer/trainer.py) commits what it leaves.
"""

from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path

import yaml

from agents.trainer.deadline import CUT_FILE, deadline_from_env, stop_before
from bus.jsonl import append_jsonl, read_jsonl


def device_settings() -> dict:
    """Precision and checkpointing from the device: TRL's bf16/gradient-checkpointing defaults
    made a CPU step 9x slower (facts file), so they are only kept on a GPU."""
    import torch

    if torch.cuda.is_available():
        # Mixed precision over fp32 weights: bf16 where the card has it (Ampere on), fp16 on older cards.
        # Checkpointing off: TRL's would recompute every layer; Unsloth brings its own, cheaper one.
        bf16 = torch.cuda.is_bf16_supported()
        return {"bf16": bf16, "fp16": not bf16, "gradient_checkpointing": False}
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
            if state.is_world_process_zero:  # under accelerate every rank logs the same, gathered values
                append_jsonl(path, [row])
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
        "gradient_accumulation_steps": cfg.get("gradient_accumulation_steps", 1),
        **device_settings(),
        # A config that asks for checkpointing (the out-of-memory remedy) gets it on any device.
        **(
            {"gradient_checkpointing": cfg["gradient_checkpointing"]}
            if cfg.get("gradient_checkpointing") is not None
            else {}
        ),
    }


def load_for_training(cfg: dict, model_path: str) -> tuple[object, object, object]:
    """Model, tokenizer and TRL's `peft_config` for the chosen backend (cfg["backend"] is resolved by now)."""
    from agents.trainer.backends import load_unsloth, lora_config

    if cfg["backend"] == "unsloth":
        model, tokenizer = load_unsloth(model_path, cfg)
        return model, tokenizer, None  # LoRA is already in the model
    from agents.models.loading import load_model

    model, tokenizer = load_model(model_path)
    return model, tokenizer, lora_config(cfg)


def training_dataset(cfg: dict, rows: list[dict], tokenizer, columns: tuple[str, ...]):
    """The rows TRL trains on: chat messages when the model is a chat model (or the config says so), else text.

    TRL applies the tokenizer's chat template itself to a `prompt` (and `completion`) given as messages.
    """
    from datasets import Dataset

    from agents.models.tokens import closes_turns_with_eos

    chat = cfg.get("chat_template")
    if chat is None:
        chat = closes_turns_with_eos(tokenizer)
    elif chat and not getattr(tokenizer, "chat_template", None):
        raise ValueError("chat_template: true, but the model's tokenizer has no chat template")
    from agents.models.sampling import chat_template_kwargs

    # Thinking off unless the goal turns it on, as the critic scores (enable_thinking where the template reads it).
    extra = chat_template_kwargs(tokenizer, bool(cfg.get("enable_thinking"))) if chat else {}
    out = []
    for row in rows:
        item = {c: row[c] for c in columns}
        if chat:
            # A chat row's earlier turns (the curator's `context`) are the conversation the reply answers.
            item["prompt"] = [*row.get("context", []), {"role": "user", "content": row["prompt"]}]
            if "completion" in item:
                item["completion"] = [{"role": "assistant", "content": row["completion"]}]
            if extra:
                item["chat_template_kwargs"] = extra  # TRL's SFTTrainer reads it per row
        out.append(item)
    print(f"prompts as {'chat messages' if chat else 'plain text'}", flush=True)
    return Dataset.from_list(out)


def build_sft_trainer(cfg: dict, model_path: str, rows: list[dict], run_dir: Path, callbacks: list) -> object:
    from trl import SFTConfig, SFTTrainer

    from agents.trainer.completion_logits import score_completion_positions_only

    score_completion_positions_only()  # the output layer at completion tokens only (a large vocabulary on a CPU)
    model, tokenizer, peft_config = load_for_training(cfg, model_path)
    data = training_dataset(cfg, rows, tokenizer, ("prompt", "completion"))
    args = SFTConfig(**common_args(cfg, run_dir), completion_only_loss=True, max_length=cfg["max_length"])
    return SFTTrainer(
        model=model,
        args=args,
        train_dataset=data,
        processing_class=tokenizer,
        callbacks=callbacks,
        peft_config=peft_config,
    )


def train_sft(cfg: dict, model_path: str, rows: list[dict], run_dir: Path, callbacks: list) -> object:
    trainer = build_sft_trainer(cfg, model_path, rows, run_dir, callbacks)
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


def grpo_config(cfg: dict, run_dir: Path, tokenizer=None):
    """TRL's GRPOConfig from our TrainingConfig: the names are TRL's, so this is a straight copy.

    A knob the installed TRL lacks is left out: validation already refused any value that asks for
    more than that TRL did before the knob existed.
    """
    import dataclasses

    from trl import GRPOConfig

    fields = {f.name for f in dataclasses.fields(GRPOConfig)}
    knobs = {k: cfg[k] for k in GRPO_KNOBS if k in fields}
    if tokenizer is not None and "chat_template_kwargs" in fields:
        from agents.models.sampling import chat_template_kwargs

        extra = chat_template_kwargs(tokenizer, bool(cfg.get("enable_thinking")))
        if extra:
            knobs["chat_template_kwargs"] = extra
    if cfg.get("use_vllm") and cfg.get("backend") != "unsloth":  # unsloth brings its own vLLM (fast_inference)
        knobs.update(use_vllm=True, vllm_mode="colocate")
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


def build_grpo_trainer(cfg: dict, model_path: str, rows: list[dict], run_dir: Path, callbacks: list) -> object:
    from trl import GRPOTrainer

    model, tokenizer, peft_config = load_for_training(cfg, model_path)
    return GRPOTrainer(
        model=model,
        reward_funcs=bound_rewards(cfg),
        args=grpo_config(cfg, run_dir, tokenizer),
        train_dataset=training_dataset(cfg, rows, tokenizer, ("prompt", "answer")),
        processing_class=tokenizer,
        callbacks=callbacks,
        peft_config=peft_config,
    )


def train_grpo(cfg: dict, model_path: str, rows: list[dict], run_dir: Path, callbacks: list) -> object:
    trainer = build_grpo_trainer(cfg, model_path, rows, run_dir, callbacks)
    trainer.train()
    return trainer


def save_checkpoint(trainer, out: Path) -> None:
    """The trained model with its tokenizer; LoRA adapters are merged in, so the checkpoint loads with plain
    transformers (the critic evaluates it, a later run starts from it) like a full fine-tune's."""
    model = trainer.model
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    model.save_pretrained(str(out))
    trainer.processing_class.save_pretrained(str(out))


def load_training_rows(data_file: Path, report_file: Path | None) -> tuple[list[dict], int]:
    """The training rows minus those the critic's contamination report lists, and how many were dropped."""
    from agents.common.contamination import drop_listed, read_report

    rows = read_jsonl(data_file)
    if report_file is None:
        return rows, 0
    return drop_listed(rows, read_report(report_file))


def is_rank_zero() -> bool:
    """Rank 0 of an `accelerate launch` / torchrun group, or the only process."""
    return os.environ.get("RANK", "0") == "0"


def main(argv: list[str]) -> int:
    run_dir, model_path, data_file = Path(argv[0]), argv[1], Path(argv[2])
    from pydantic import ValidationError

    from agents.trainer.backends import BackendError, prepare_backend
    from agents.trainer.validation import check_training_config, installed_grpo_fields, load_training_config

    task = argv[3] if len(argv) > 3 else "addition"
    # Validated again here: a human may have edited config.yaml, and older configs gain the new defaults.
    # First without importing trl: unsloth, when chosen, must be imported before it.
    try:
        data = yaml.safe_load((run_dir / "config.yaml").read_text())
    except yaml.YAMLError as exc:
        print(f"ConfigError: {run_dir / 'config.yaml'} is not valid YAML: {' '.join(str(exc).split())}")
        return 2
    try:
        config = load_training_config(data, task)
        backend = prepare_backend(config.backend)
        check_training_config(config, task, grpo_fields=installed_grpo_fields())
    except ValidationError as exc:
        # One line per field: the trainer reports the last line with "Error" in it as the run's cause.
        for err in exc.errors():
            print(f"ConfigError: {run_dir / 'config.yaml'}: {'.'.join(map(str, err['loc']))}: {err['msg']}")
        return 2
    except BackendError as exc:
        print(f"BackendError: {exc}")
        return 2
    cfg = config.model_dump()
    cfg["task"], cfg["backend"] = task, backend
    print(f"backend: {backend}", flush=True)
    rows, dropped = load_training_rows(data_file, Path(argv[4]) if len(argv) > 4 else None)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    where = f" (rank {os.environ.get('RANK', '0')} of {world})" if world > 1 else ""
    print(f"training on {len(rows)} rows; {dropped} dropped as contaminated by the critic's report{where}", flush=True)
    metrics = run_dir / "metrics.jsonl"
    if is_rank_zero():
        metrics.write_text("")
    callbacks = [metrics_callback(metrics)]
    (run_dir / CUT_FILE).unlink(missing_ok=True)  # a rerun of an interrupted run starts uncut
    try:
        deadline = deadline_from_env(os.environ)
    except ValueError as exc:
        print(f"ConfigError: {exc}")
        return 2
    if deadline is not None:  # stop cleanly before the goal's deadline and save what was learned
        callbacks.append(stop_before(deadline, run_dir))
    train = {"sft": train_sft, "grpo": train_grpo}[cfg["method"]]
    trainer = train(cfg, model_path, rows, run_dir, callbacks)
    if trainer.args.should_save:  # rank 0 only under accelerate: one writer per file
        save_checkpoint(trainer, run_dir / "checkpoint")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
