"""The gate's checks that need the model: its context length (too_long) and, for GRPO, the pass-rate filter.

The model is the one the hypothesis trains from: the parent run's checkpoint, else the goal's base
model (the embedded tiny model is built once in `.intern/models`, where the trainer finds it too).
When the model cannot be loaded (a Hub id offline), the length check is skipped and the card says so.
"""

from __future__ import annotations

from bus import Workspace, layout
from bus.schemas import Goal


def model_reference(ws: Workspace, goal: Goal, parent_run: str | None) -> tuple[str, str]:
    """(a path from_pretrained can load, how the card names it)."""
    from agents.models.refs import materialize_model

    if parent_run:
        rel = layout.run_checkpoint(parent_run)
        if not ws.path(f"{rel}/config.json").exists():
            raise FileNotFoundError(f"{rel} has no checkpoint")
        return str(ws.path(rel)), rel
    return materialize_model(goal.model, ws.state_dir / "models", goal.seed), goal.model


def model_checks(ws: Workspace, goal: Goal, method: str, parent_run: str | None, problems: list[str]) -> dict:
    """Keyword arguments for gate.run_gate: count_tokens and max_tokens, and pass_filter for GRPO."""
    from transformers import AutoConfig, AutoTokenizer

    from agents.models.errors import ModelLoadError

    try:
        path, label = model_reference(ws, goal, parent_run)
        tokenizer = AutoTokenizer.from_pretrained(path)
        config = AutoConfig.from_pretrained(path)
    except (ModelLoadError, FileNotFoundError, OSError) as exc:
        problems.append(f"lengths and pass rates not checked: {str(exc).splitlines()[0][:200]}")
        return {}
    context = getattr(config, "max_position_embeddings", None)

    def count_tokens(prompts: list[str], completions: list[str]) -> list[int]:
        ids_p = tokenizer(prompts, add_special_tokens=False)["input_ids"]
        ids_c = tokenizer(completions, add_special_tokens=False)["input_ids"]
        return [len(p) + len(c) + 1 for p, c in zip(ids_p, ids_c, strict=True)]  # + the end-of-sequence token

    checks: dict = {"count_tokens": count_tokens, "max_tokens": context} if context else {}
    if method == "grpo":
        from agents.curator.pass_rate import pass_rate_filter
        from agents.models import sampling

        model, sampling_tokenizer = sampling.load_for_generation(path, sampling.choose_backend(), seed=goal.seed)
        checks["pass_filter"] = pass_rate_filter(
            model,
            sampling_tokenizer,
            goal.task,
            label,
            seed=goal.seed,
            seconds=goal.data.pass_rate_seconds,
            unscored=goal.data.pass_rate_unscored,
        )
    return checks


def load_sampler(ws: Workspace, goal: Goal, parent_run: str | None) -> tuple[object, object, str, int | None]:
    """(model, tokenizer, label, context) for rejection sampling: the teacher intern.yaml names, else the model
    the hypothesis trains from. vLLM on CUDA when installed (agents/models/sampling.choose_backend), else transformers.
    Raises OSError-like errors with one line when the model cannot be loaded (a Hub id offline)."""
    from pathlib import Path

    from transformers import AutoConfig

    from agents.models import sampling
    from agents.models.environment import set_offline_flags_if_offline
    from agents.models.refs import materialize_model

    teacher = goal.data.rejection.teacher
    if teacher:
        local = ws.root / teacher
        path = str(local.resolve()) if not Path(teacher).is_absolute() and local.exists() else teacher
        set_offline_flags_if_offline()
        path, label = materialize_model(path, ws.state_dir / "models", goal.seed), teacher
    else:
        path, label = model_reference(ws, goal, parent_run)
    context = getattr(AutoConfig.from_pretrained(path), "max_position_embeddings", None)
    model, tokenizer = sampling.load_for_generation(path, sampling.choose_backend(), seed=goal.seed)
    return model, tokenizer, label, context
