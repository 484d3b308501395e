"""The inputs a goal names, checked before `intern go` starts and at every decision.

A model path that does not exist, a data file outside the workspace (unless `--allow-outside-data`)
or a data file that is not UTF-8 text would otherwise be found deep inside a step, after minutes of
work, and reported as something else ("no columns"). Each problem is one line naming the field,
the file and what to do.
"""

from __future__ import annotations

from pathlib import Path

from bus import ArtifactError, BusError, Workspace
from bus.schemas import Goal

TEXT_SUFFIXES = (".jsonl", ".json", ".csv", ".txt")
_CHECK_BYTES = 256 * 1024 * 1024  # read at most this much of one data file for its encoding
_checked: dict[tuple[str, int, int], str | None] = {}  # (path, size, mtime) -> problem: a file is read once


class SetupError(BusError):
    """An input the goal names can never work; the loop does not start (exit code 5)."""


def _encoding_problem(path: Path) -> str | None:
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _checked:
        problem = None
        with path.open("rb") as fh:
            data = fh.read(_CHECK_BYTES)
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(data) - 4:  # not only a multi-byte character cut by the read limit
                line = data.count(b"\n", 0, exc.start) + 1
                problem = (
                    f"is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}; Latin-1 or Windows-1252?): "
                    "re-save it as UTF-8"
                )
        _checked[key] = problem
    return _checked[key]


def _data_problem(ws: Workspace, field: str, location: str, allow_outside: bool) -> str | None:
    raw = Path(location).expanduser()
    path = (raw if raw.is_absolute() else ws.root / raw).resolve()
    inside = path.is_relative_to(ws.root.resolve())
    if not inside and not allow_outside:
        where = "is an absolute path" if raw.is_absolute() else "leaves the workspace"
        return (
            f"{field} {location!r} {where}: data paths are relative to the workspace ({ws.root}); copy the file "
            "into it, or run `intern go --allow-outside-data` to read it where it is"
        )
    if not path.exists():
        return f"{field} {location!r} does not exist (looked for {path})"
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        if file.suffix.lower() in TEXT_SUFFIXES:
            problem = _encoding_problem(file)
            if problem:
                return f"{field} {location!r}: {file.name} {problem}"
    return None


def _looks_local(reference: str, ws: Workspace) -> bool:
    return reference.startswith(("/", ".", "~")) or (ws.root / reference).exists()


GGUF_MAGIC = b"GGUF"
MODEL_FORMS = "a .gguf file, a transformers folder (with config.json), a packaged name or a Hub id"


def _model_problem(ws: Workspace, model: str) -> str | None:
    """What is wrong with a local model reference (a .gguf file or a folder), or None; reads 4 bytes at most."""
    is_gguf = model.lower().endswith(".gguf")
    if model.startswith("embedded:") or not (is_gguf or _looks_local(model, ws)):
        return None  # a packaged name or a Hub id: resolved (and refused offline) by materialize_model
    path = Path(model).expanduser()
    path = path if path.is_absolute() or path.exists() else ws.root / path
    if not path.exists():
        kind = "GGUF file" if is_gguf else "local path"
        return f"model {model!r} does not exist (a {kind}, relative to the workspace or absolute; looked for {path.resolve()})"
    if path.is_file():
        if not is_gguf:
            return f"model {model!r} is a file but not a .gguf file: name {MODEL_FORMS}"
        with path.open("rb") as fh:
            magic = fh.read(4)
        if magic != GGUF_MAGIC:
            return f"model {model!r} is not a GGUF file (it starts with {magic!r}, not {GGUF_MAGIC!r}): damaged or renamed?"
        return None
    if not (path / "config.json").exists():
        inside = sorted(p.name for p in path.glob("*.gguf"))
        if inside:
            return f"model {model!r} is a folder without config.json that holds {inside[0]}: name the file, {model.rstrip('/')}/{inside[0]}"
        return f"model {model!r} has no config.json: not a transformers model directory; name {MODEL_FORMS}"
    return None


def goal_problems(ws: Workspace, goal: Goal, allow_outside: bool = False) -> list[str]:
    """One line per input of `goal` that cannot work (cheap: no model is loaded)."""
    problems = []
    problem = _model_problem(ws, goal.model)
    if problem:
        problems.append(problem)
    for i, local in enumerate(goal.data.local):
        problem = _data_problem(ws, f"data.local[{i}].path", local.path, allow_outside)
        if problem:
            problems.append(problem)
    dataset = goal.task.dataset
    if dataset and _looks_local(dataset, ws):
        problem = _data_problem(ws, "task.dataset", dataset, allow_outside)
        if problem:
            problems.append(problem)
    return problems


def _language_problem(ws: Workspace, goal: Goal, model_dir: str) -> str | None:
    """A model that does not model language is refused before anything is spent on it (once per model).

    Not for the embedded tiny model: a from-scratch addition model whose vocabulary cannot spell English.
    """
    from agents.models.errors import ModelLoadError
    from agents.models.language_check import ensure_language_check
    from agents.models.tiny import EMBEDDED_TINY

    if goal.model == EMBEDDED_TINY:
        return None
    try:
        return ensure_language_check(goal.model, model_dir, ws.state_dir).refusal
    except ModelLoadError as exc:
        return str(exc)


def check_setup(ws: Workspace, allow_outside: bool = False) -> Goal:
    """The goal, when intern.yaml is valid and every input it names can work; else SetupError with one line."""
    from agents.models.errors import ModelLoadError
    from agents.models.refs import materialize_model

    try:
        goal = ws.goal()
    except ArtifactError as exc:
        raise SetupError(f"{exc}; fix intern.yaml, then run intern go again") from None
    problems = goal_problems(ws, goal, allow_outside)
    if not problems:
        try:  # a Hub id this machine cannot reach, a directory without weights: now, not at the first evaluation
            model_dir = materialize_model(goal.model, ws.state_dir / "models", goal.seed)
        except ModelLoadError as exc:
            problems.append(f"model: {exc}")
        else:
            problem = _language_problem(ws, goal, model_dir)
            if problem:
                problems.append(f"model: {problem}")
    if problems:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise SetupError(f"intern.yaml: {problems[0]}{more}")
    return goal
