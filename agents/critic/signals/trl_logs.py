"""Read a training run that intern did not make: a TRL/transformers output folder or its trainer_state.json.

`trainer_state.json` holds `log_history`, the list of dicts the Trainer logged (training rows, `eval_*`
rows and a final summary). Next to it a folder may hold `training_args.bin` (the pickled
TrainingArguments / GRPOConfig), the model's `config.json` and a PEFT `adapter_config.json`. Keys are
brought to one set here (trackers' `train/` prefix, older TRL names), so the rules read every run alike.

training_args.bin is a pickle, and unpickling a stranger's file can run their code; it is read with an
unpickler that builds no object at all (every class becomes an inert record), so only the field values
come out.
"""

from __future__ import annotations

import io
import json
import pickle
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.critic.signals.logrows import normalise_rows, training_rows
from agents.critic.signals.methods import config_method, identify, label, method_from_keys
from agents.critic.signals.rewards import estimate_group_size
from bus.errors import BusError
from bus.schemas import TrainingConfig


class LogReadError(BusError):
    """A log the diagnosis cannot read: one line naming the file and the cause."""


def infer_method(rows: list[dict]) -> str:
    """The method intern's config holds for these rows: GRPO's rules for group-reward logs, else supervised
    (preference logs' rewards/* are implicit rewards, not reward functions); methods.identify names it exactly."""
    return config_method(method_from_keys({k for r in rows for k in r}))


# --- training_args.bin without running its code ---------------------------------------------------


TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class _Record:
    """Stands in for any class a pickle names: keeps constructor arguments and state, runs nothing."""

    _name = "?"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.state = args, kwargs or None

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __call__(self, *args: Any, **kwargs: Any) -> _Record:
        return _Record(*args, **kwargs)


class _InertUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> type:
        return type(name, (_Record,), {"_name": f"{module}.{name}"})

    def persistent_load(self, pid: Any) -> None:
        return None  # tensor storages: TrainingArguments holds none worth reading


def _plain(value: Any, depth: int = 0) -> Any:
    if depth > 4:
        return None
    if isinstance(value, _Record):
        if isinstance(value.state, dict):
            return {k: _plain(v, depth + 1) for k, v in value.state.items()}
        if len(value.args) == 1 and isinstance(value.args[0], (str, int, float, bool)):
            return value.args[0]  # an Enum member: SchedulerType("cosine") -> "cosine"
        return None
    if isinstance(value, dict):
        return {k: _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, depth + 1) for v in value]
    return value


def read_training_args(path: Path) -> tuple[dict, str]:
    """The fields of a pickled TrainingArguments / GRPOConfig / SFTConfig, and its class name."""
    if path.stat().st_size > 10_000_000:
        raise LogReadError(f"{path}: {path.stat().st_size} bytes, too large to be training arguments")
    raw = path.read_bytes()
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            name = next((n for n in archive.namelist() if n.endswith("data.pkl")), None)
            if name is None:
                raise LogReadError(f"{path}: a zip without data.pkl, not a torch.save file")
            raw = archive.read(name)
    stream = io.BytesIO(raw)
    obj = _InertUnpickler(stream).load()
    if obj == TORCH_LEGACY_MAGIC:  # torch's legacy format: magic, protocol, sys info, then the object
        for _ in range(2):
            _InertUnpickler(stream).load()
        obj = _InertUnpickler(stream).load()
    fields = _plain(obj)
    if not isinstance(fields, dict):
        raise LogReadError(f"{path}: holds no training arguments")
    return fields, getattr(obj, "_name", "?").rsplit(".", 1)[-1]


# --- a folder, a file, the config -----------------------------------------------------------------


@dataclass
class LoggedRun:
    """A run read from its logs: rows (normalised), a config for the rules, and where each fact came from."""

    name: str
    source: str
    rows: list[dict]
    config: TrainingConfig
    known: frozenset[str]  # config fields read from a real config, not defaulted or guessed
    meta: dict = field(default_factory=dict)  # trainer_state facts: best checkpoint, logging_steps, checkpoints
    notes: list[str] = field(default_factory=list)  # what was inferred and from what
    folder: Path | None = None
    method: str = "sft"  # the exact method (agents/critic/signals/methods.py): dpo, kto, ppo, classifier, ...


def _checkpoint_step(path: Path) -> int:
    match = re.fullmatch(r"checkpoint-(\d+)", path.name)
    return int(match.group(1)) if match else -1


def checkpoints(folder: Path) -> list[Path]:
    return sorted(
        (p for p in folder.glob("checkpoint-*") if p.is_dir() and _checkpoint_step(p) >= 0), key=_checkpoint_step
    )


def find_trainer_state(folder: Path) -> Path | None:
    """trainer_state.json at the folder's root, or in its newest checkpoint-* (the one with most history)."""
    saved = [c / "trainer_state.json" for c in reversed(checkpoints(folder)) if (c / "trainer_state.json").is_file()]
    found = [c for c in [folder / "trainer_state.json", *saved[:1]] if c.is_file()]
    if not found:
        return None

    def global_step(p: Path) -> int:
        try:
            return int(json.loads(p.read_text(encoding="utf-8")).get("global_step") or 0)
        except (ValueError, OSError, AttributeError):
            return -1

    return max(found, key=global_step)  # max keeps the first on ties: the root, then the newest checkpoint


def _json_file(path: Path, notes: list[str]) -> dict:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        notes.append(f"{path.name}: unreadable ({exc}); ignored")
        return {}
    return data if isinstance(data, dict) else {}


def read_trainer_state(path: Path) -> tuple[list[dict], dict]:
    try:
        state = json.loads(path.read_text(encoding="utf-8", errors="replace"))
    except ValueError as exc:
        raise LogReadError(f"{path}: not JSON ({exc})") from None
    if not isinstance(state, dict) or not isinstance(state.get("log_history"), list):
        raise LogReadError(f"{path}: no log_history list; not a transformers trainer_state.json")
    meta = {k: v for k, v in state.items() if k != "log_history"}
    return normalise_rows(state["log_history"]), meta


def _first(*values: Any) -> Any:
    """The first value that is not None."""
    return next((v for v in values if v is not None), None)


def _number(value: Any, top: float = float("inf")) -> float | None:
    """`value` when it is a real number in (0, top], else None: a config from a stranger's file may hold anything."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if 0 < value <= top else None


def _scale_rewards(value: Any) -> Any:
    """TRL before 0.22 took a bool: True meant per-group scaling, False none."""
    return {True: "group", False: "none"}[value] if isinstance(value, bool) else value


def _count(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number >= 1 else None


def build_config(name: str, rows: list[dict], args: dict, args_class: str, meta: dict, extra: dict) -> LoggedRun:
    """A TrainingConfig for the rules from training args where known, else the logs, else TRL's defaults."""
    notes: list[str] = []
    train = training_rows(rows)
    exact, how = identify(rows, args, args_class)
    method = config_method(exact)
    meta["method"] = exact
    if isinstance(args.get("loss_type"), str):
        meta["loss_type"] = args["loss_type"]  # DPO's sigmoid, ipo, ...: which constant means "no difference"
    notes.append(f"method {label(exact)}: {how}")
    lrs = [r["learning_rate"] for r in train if _number(r.get("learning_rate")) is not None]
    lengths = [r["completions/max_length"] for r in train if isinstance(r.get("completions/max_length"), (int, float))]
    clipped = any(
        isinstance(r.get("completions/clipped_ratio"), (int, float)) and r["completions/clipped_ratio"] > 0
        for r in train
    )
    values: dict[str, Any] = {
        "run_id": name,
        "method": method,
        "base_model": str(_first(extra.get("base_model"), "unknown")),
        "dataset": "unknown",
        "learning_rate": _first(_number(args.get("learning_rate"), 1.0), _number(max(lrs, default=None), 1.0), 1e-5),
        "max_steps": _first(
            _count(args.get("max_steps")),
            _count(meta.get("max_steps")),
            _count(meta.get("global_step")),
            max(len(train), 1),
        ),
        "per_device_train_batch_size": _first(
            _count(args.get("per_device_train_batch_size")), _count(meta.get("train_batch_size")), 1
        ),
    }
    known = {"method"} if args_class != "?" else set()
    optional = {
        "max_grad_norm": args.get("max_grad_norm") or (1e9 if args.get("max_grad_norm") == 0 else None),
        "num_generations": args.get("num_generations") or extra.get("group_size"),
        "max_completion_length": args.get("max_completion_length")
        or (int(max(lengths)) if lengths and clipped else None),
        "beta": args.get("beta"),
        "loss_type": args.get("loss_type"),
        "epsilon": args.get("epsilon"),
        "epsilon_high": args.get("epsilon_high"),
        "num_iterations": args.get("num_iterations"),
        "temperature": args.get("temperature"),
        "mask_truncated_completions": args.get("mask_truncated_completions"),
        "importance_sampling_level": args.get("importance_sampling_level"),
        "top_entropy_quantile": args.get("top_entropy_quantile"),
        "scale_rewards": _scale_rewards(args.get("scale_rewards")),
        "lr_scheduler_type": args.get("lr_scheduler_type"),
        "warmup_steps": args.get("warmup_steps"),
        "max_length": args.get("max_length") or args.get("max_seq_length"),
    }
    config = TrainingConfig(**values)
    for key, value in optional.items():
        if value is None:
            continue
        try:
            config = TrainingConfig(**{**config.model_dump(), key: value})
        except ValueError:
            notes.append(f"{key} {value!r}: not a value intern's config takes; ignored")
            continue
        if key in args:
            known.add(key)
    for key in ("learning_rate", "max_steps", "per_device_train_batch_size"):
        if key in args and getattr(config, key) == args[key]:
            known.add(key)
    if "max_completion_length" not in known and optional["max_completion_length"]:
        known.add("max_completion_length")  # where the cut completions stop is the cap: as good as the config
        notes.append(
            f"max_completion_length {config.max_completion_length}: the longest logged completion, where the cut ones stop"
        )
    if "num_generations" not in known and extra.get("group_size"):
        notes.append(
            f"num_generations {config.num_generations}: estimated from the logged fractions ({extra['group_size_how']})"
        )
    if not args:
        notes.append("no training arguments: learning rate from the logged schedule, other knobs at TRL's defaults")
    return LoggedRun(name, "", rows, config, frozenset(known), meta, notes, method=exact)


def read_logged_run(path: str | Path) -> LoggedRun:
    """A TRL/transformers output folder (trainer_state.json at its root or in checkpoint-*) or the file itself."""
    given = Path(path).expanduser().resolve()
    folder = given.parent if given.is_file() else given
    state_path = given if given.is_file() else find_trainer_state(given)
    if state_path is None:
        raise LogReadError(
            f"{given}: no trainer_state.json at its root or in a checkpoint-*/ folder, and no intern "
            "metrics.jsonl: nothing to diagnose"
        )
    rows, meta = read_trainer_state(state_path)
    notes: list[str] = []
    run_root = folder.parent if re.fullmatch(r"checkpoint-\d+", folder.name) else folder
    meta["checkpoints"] = [_checkpoint_step(c) for c in checkpoints(run_root)]
    args, args_class = {}, "?"
    for where in (state_path.parent, run_root):
        if (where / "training_args.bin").is_file():
            try:
                args, args_class = read_training_args(where / "training_args.bin")
            except Exception as exc:  # a stranger's pickle can fail in any way; the logs still speak
                notes.append(f"training_args.bin: unreadable ({type(exc).__name__}: {exc}); read the logs alone")
            break
    model = _json_file(state_path.parent / "config.json", notes) or _json_file(run_root / "config.json", notes)
    adapter = _json_file(state_path.parent / "adapter_config.json", notes) or _json_file(
        run_root / "adapter_config.json", notes
    )
    extra: dict[str, Any] = {"base_model": adapter.get("base_model_name_or_path") or model.get("_name_or_path")}
    extra["group_size"], extra["group_size_how"] = estimate_group_size(training_rows(rows))
    run = build_config(run_root.name, rows, args, args_class, meta, extra)
    run.source, run.folder = str(state_path), run_root
    run.notes = notes + run.notes
    if adapter:
        run.notes.append(
            f"LoRA adapter r={adapter.get('r')} alpha={adapter.get('lora_alpha')} on {adapter.get('base_model_name_or_path')}"
        )
    return run


def read_trackio(spec: str) -> LoggedRun:
    """A Trackio run, `PROJECT/RUN`, through trackio's own API (local data under TRACKIO_DIR)."""
    project, sep, name = spec.partition("/")
    if not sep or not project or not name:
        raise LogReadError(f"--trackio {spec!r}: give PROJECT/RUN, e.g. my-project/run-3")
    try:
        import trackio
        from trackio.sqlite_storage import SQLiteStorage
    except ImportError as exc:
        raise LogReadError(f"--trackio needs trackio installed (pip install trackio): {exc}") from None
    try:
        runs = list(trackio.Api().runs(project))
    except ValueError:
        raise LogReadError(
            f"trackio project {project!r} not found (TRACKIO_DIR is {trackio.utils.TRACKIO_DIR})"
        ) from None
    run = next((r for r in runs if r.name == name), None)
    if run is None:
        known = ", ".join(r.name for r in runs[:10]) or "none"
        raise LogReadError(f"trackio project {project!r} has no run {name!r} (runs: {known})")
    logs = SQLiteStorage.get_logs(project, name)
    if not logs:
        raise LogReadError(f"trackio run {spec}: no logged metrics")
    rows = normalise_rows([{k: v for k, v in row.items() if k != "timestamp"} for row in logs])
    config = run.config if isinstance(run.config, dict) else {}
    args = {k: v for k, v in config.items() if not k.startswith("_")}
    extra = {"base_model": config.get("_name_or_path") or config.get("model_name_or_path")}
    extra["group_size"], extra["group_size_how"] = estimate_group_size(training_rows(rows))
    logged = build_config(name, rows, args, "?", {}, extra)
    logged.source = f"trackio {project}/{name}"
    return logged
