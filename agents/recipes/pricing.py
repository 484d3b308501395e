"""The steps the trainer will plan for a model's next run, so the search prices what will actually run.

The trainer (agents/trainer/fitting.py) takes its settings from the table's row for the model's size and the
device (settings.row_for), or the embedded tiny model's measured recipe when the model is that small or its
config.json cannot be read. The search asks here for the same row's `max_steps`, with nothing built,
converted or downloaded: the model's shape comes from a config.json already on disk.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from agents.recipes.memory import ModelShape
from agents.recipes.settings import row_for, row_named, tiny_recipe

TINY_PARAMETERS = 5_000_000  # at or below this the model is the embedded tiny one (or its size): its measured row
TINY_ROW = "embedded-tiny"


@dataclass(frozen=True)
class PlannedSteps:
    steps: dict[str, int]  # method -> max_steps the trainer will plan
    row: str  # the settings row they come from
    grpo_step_ratio: float = 3.0  # a GRPO step's seconds over an SFT step's with that row's settings


def shape_from_file(config_json: Path) -> ModelShape | None:
    """The shape a model's config.json describes; None when it is missing or not a causal LM's config."""
    try:
        data = json.loads(config_json.read_text())
    except (OSError, ValueError):
        return None
    data = data.get("text_config", data)  # multimodal wrappers keep the language model's config inside
    try:
        return ModelShape.from_config(data)
    except (KeyError, TypeError, ValueError):
        return None


def first_shape(config_files: list[Path]) -> ModelShape | None:
    """The shape from the first readable config.json among `config_files` (checkpoints of one base model)."""
    for path in config_files:
        shape = shape_from_file(path)
        if shape is not None:
            return shape
    return None


def cuda_now() -> bool:
    """Whether this machine trains on CUDA, as the trainer's device check (fitting.device_now) sees it."""
    import torch

    return bool(torch.cuda.is_available())


def planned_steps(shape: ModelShape | None, cuda: bool, step_scale: float, digits: int) -> PlannedSteps:
    """Each method's max_steps as the trainer will set them for this model and device (before any delta)."""
    if shape is None or shape.parameters <= TINY_PARAMETERS:
        steps = {m: int(tiny_recipe(m, digits, step_scale)["max_steps"]) for m in ("sft", "grpo")}
        return PlannedSteps(steps, TINY_ROW, row_named(TINY_ROW).grpo_step_ratio)
    row = row_for(shape.parameters, cuda)
    # The same scaling as settings.choose.
    rows = {"sft": row.sft, "grpo": row.grpo}
    steps = {m: max(10, int(round(values["max_steps"] * step_scale))) for m, values in rows.items()}
    return PlannedSteps(steps, row.name, row.grpo_step_ratio)
