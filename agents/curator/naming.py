"""Dataset names: what the data is, and a short hash of what it is built from.

`datasets/<name>/` is where a card and its rows live, and `datasets.load_dataset(folder)` caches a
local folder by its name: a name that two workspaces (or two intern versions) could give to different
rows would mix them up. The hash covers every input of the rows, so equal names mean equal inputs.
"""

from __future__ import annotations

import hashlib
import json
import re
from importlib import resources
from pathlib import Path

from agents.curator.synthetic import has_generator
from bus import sha256_file
from bus.schemas import Goal


def dataset_name(goal: Goal, root: Path | None = None) -> str:
    """`<task>-<sources>[-<generator knobs>]-s<seed>-<hash>`: what the data is, and a short hash of what it is
    built from (the task and data settings, the generator's code, each local file's bytes, read from `root`).

    Another file, another setting or another intern version gives another name, so two workspaces never
    hold different rows under one name (and `datasets`' cache, keyed by folder name, cannot mix them up).
    """
    parts = [goal.task.name, "+".join(_source_labels(goal))]
    if has_generator(goal):  # the addition generator's own knobs; other tasks have none
        # A percentage through `:g`: int(0.29 * 100) would be 28, and 0.555 stays 55.5.
        parts.append(f"d{goal.task.digits}-teacher{goal.task.teacher_error * 100:g}")
    parts += [f"s{goal.seed}", _inputs_hash(goal, root)]
    return "-".join(parts)


def _source_labels(goal: Goal) -> list[str]:
    labels = [_slug(local.name or Path(local.path).stem) for local in goal.data.local]
    if goal.data.synthetic and has_generator(goal):
        labels.append("generated")
    elif goal.data.synthetic and goal.brain != "none":
        labels.append("llm")
    if not labels:
        labels.append("hub")
    label = "+".join(labels)
    return [label if len(label) <= 40 else f"{labels[0][:30]}+{len(labels) - 1}more"]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:30] or "data"


def _inputs_hash(goal: Goal, root: Path | None) -> str:
    digest = hashlib.sha256()
    settings = {"task": goal.task.model_dump(mode="json"), "data": goal.data.model_dump(mode="json")}
    settings.update(seed=goal.seed, brain=goal.brain)
    digest.update(json.dumps(settings, sort_keys=True).encode())
    if has_generator(goal):
        digest.update(resources.files("agents.curator").joinpath("addition_generator.py").read_bytes())
    for local in goal.data.local:
        path = Path(local.path) if root is None or Path(local.path).is_absolute() else root / local.path
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            digest.update(sha256_file(file).encode() if file.is_file() else b"missing")
    return digest.hexdigest()[:8]
