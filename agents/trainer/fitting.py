"""The inputs of the settings table, read from this machine and this run: the model's shape, the device, the data.

Nothing here downloads: the shape comes from the materialized model's config.json, the lengths from the
training rows through the model's own tokenizer (and chat template, as TRL will render them), the device
from torch (free GPU memory) or psutil (available RAM).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agents.recipes.memory import ModelShape
from agents.recipes.pricing import TINY_PARAMETERS, shape_from_file
from agents.recipes.settings import Device, Lengths, Settings, choose, measure_lengths, tiny_recipe
from bus.jsonl import read_jsonl

MAX_MEASURED_ROWS = 2000


def device_now() -> Device:
    import importlib.util

    import torch

    if torch.cuda.is_available():
        free, _ = torch.cuda.mem_get_info()
        return Device(
            cuda=True,
            memory_bytes=float(free),
            bf16=torch.cuda.is_bf16_supported(),
            vllm=importlib.util.find_spec("vllm") is not None,
            name=torch.cuda.get_device_name(),
        )
    import psutil

    return Device(cuda=False, memory_bytes=float(psutil.virtual_memory().available), name="cpu")


def model_shape(model_path: str) -> ModelShape | None:
    """The shape from the model's config.json: a local folder's, or a Hub id's (that one small file); None if
    neither can be read (a Hub id offline)."""
    config = Path(model_path) / "config.json"
    if config.exists():  # the same reading as the search's price (agents/recipes/pricing.py)
        return shape_from_file(config)
    try:
        from transformers import AutoConfig

        data = AutoConfig.from_pretrained(model_path).to_dict()
    except Exception:
        return None
    data = data.get("text_config", data)  # multimodal wrappers keep the language model's config inside
    try:
        return ModelShape.from_config(data)
    except KeyError:
        return None


def data_lengths(model_path: str, rows: list[dict], method: str) -> Lengths:
    """Token lengths of the rows as training will see them: prompt through the chat template, completion + eos.
    `method` is kept for callers: both methods measure the completion a model is shown or must write."""
    from transformers import AutoTokenizer

    from agents.models.sampling import as_model_prompts

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    rows = rows[:MAX_MEASURED_ROWS]
    prompts = as_model_prompts(tokenizer, [str(r["prompt"]) for r in rows])
    # What the model writes: the worked completion where the data has one (GRPO's bare `answer` is shorter than
    # any completion that reaches it), else the reference answer.
    answers = [str(r.get("completion") or r.get("answer", "")) for r in rows]
    prompt_ids = tokenizer(prompts, add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(answers, add_special_tokens=False)["input_ids"]
    # + the end-of-turn token and the newline a chat template puts after it
    return measure_lengths([len(p) for p in prompt_ids], [len(a) + 2 for a in answer_ids])


def fitted_values(
    method: str,
    model_path: str,
    data_file: Path,
    *,
    digits: int,
    step_scale: float,
    reward: str,
    completion_tokens: int | None,
) -> tuple[dict[str, Any], list[str]]:
    """Config values for a run of `method` from `model_path` on `data_file`, and the notes saying why."""
    shape = model_shape(model_path)
    if shape is None or shape.parameters <= TINY_PARAMETERS:
        values = tiny_recipe(method, digits, step_scale, reward=reward, completion_tokens=completion_tokens)
        why = "row embedded-tiny (its measured recipe)" if shape else f"cannot read {model_path}'s config.json"
        return values, [why]
    # A missing data file is reported by run_training; the settings then keep the row's own lengths.
    rows = read_jsonl(data_file) if data_file.exists() else []
    lengths = data_lengths(model_path, rows, method) if rows else None
    settings: Settings = choose(
        method, shape, device_now(), lengths, step_scale=step_scale, completion_budget=completion_tokens
    )
    values = dict(settings.config)
    if method == "grpo":
        values["reward_funcs"] = {reward: 1.0}
    memory = settings.memory.gib()
    lora = values.get("peft")
    short = (
        f"row {settings.row.name}: {'LoRA r=' + str(lora['r']) if lora else 'full'}, lr {values['learning_rate']:g}, "
        f"batch {values['per_device_train_batch_size']}x{values['gradient_accumulation_steps']}, "
        f"max_length {values['max_length']}, ~{memory['total']} GiB"
    )
    notes = [short, *settings.notes, f"memory estimate {memory['total']} GiB ({memory})"]
    return values, notes
