"""Load a task's rows from a local file or folder, or from the Hugging Face Hub.

Everything goes through `datasets.load_dataset`, so a local `.jsonl`/`.json`/`.parquet`/`.csv` file
reads the same way the Hub copy does. Problems come back as one `TaskDataError` line that names the
file or dataset and the cause, never as a stack trace from deep inside `datasets`.
"""

from __future__ import annotations

import codecs
import os
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from agents.models.environment import set_offline_flags_if_offline
from bus.schemas import TaskSpec

BUILDERS = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}
_TEXT_SUFFIXES = (".jsonl", ".json", ".csv")


class TaskDataError(ValueError):
    """A task's data cannot be used: missing file or column, empty split, bad encoding, offline Hub id."""


@dataclass(frozen=True)
class DataSource:
    """Where a task's rows come from; `columns` maps our names (prompt, answer, slice) to the dataset's."""

    dataset: str
    config: str | None
    split: str
    columns: dict[str, str]


def source_for(spec: TaskSpec, default: DataSource) -> DataSource:
    """The task's default source with the spec's overrides; another dataset does not inherit the default config."""
    dataset = spec.dataset or default.dataset
    config = spec.config if spec.config is not None else (default.config if dataset == default.dataset else None)
    return DataSource(
        dataset=dataset,
        config=config,
        split=spec.split or default.split,
        columns={**default.columns, **(spec.columns or {})},
    )


def resolve_dataset(spec: TaskSpec, root: Path) -> TaskSpec:
    """The spec with a relative local `dataset` made absolute against `root` (the workspace), if it exists there.

    intern.yaml is edited by people who write paths relative to the workspace, while `intern go`
    may run from anywhere; Hub ids and paths that do not exist under `root` are left as they are.
    """
    if not spec.dataset or Path(spec.dataset).expanduser().is_absolute():
        return spec
    candidate = root / spec.dataset
    if not candidate.exists():
        return spec
    return spec.model_copy(update={"dataset": str(candidate.resolve())})


def load_source(source: DataSource, extra: Iterable[str] = (), optional: Iterable[str] = ()) -> list[dict]:
    """Rows of `source` holding its mapped columns and `extra` ones (checked present), plus `optional` ones if any."""
    return load_rows(source.dataset, source.config, source.split, [*source.columns.values(), *extra], optional)


def slice_name(row: dict, column: str) -> str:
    """A row's slice as text: strings as they are, other values prefixed by the column (`level-3`)."""
    value = row.get(column)
    if value is None or (isinstance(value, str) and not value.strip()):
        return "unknown"
    return value.strip() if isinstance(value, str) else f"{column}-{value}"


def is_local(dataset: str) -> bool:
    """A path that exists, or one that is plainly meant as a path (so a typo is not sent to the Hub)."""
    return (
        Path(dataset).expanduser().exists() or dataset.startswith(("/", ".", "~")) or dataset.endswith(tuple(BUILDERS))
    )


def load_rows(
    dataset: str,
    config: str | None = None,
    split: str = "train",
    columns: Iterable[str] | None = None,
    optional: Iterable[str] = (),
) -> list[dict]:
    """Rows of `dataset` (a local file or folder, or a Hub id) as dicts.

    With `columns`, those must all be present and only they are kept, with the `optional` ones that exist.

    A local file is one split whatever its name, so `split` only picks among a folder's or the Hub's splits.
    """
    _quiet()
    if is_local(dataset):
        data, source = _load_local(Path(dataset).expanduser(), split)
    else:
        data, source = _load_hub(dataset, config, split), f"{dataset} ({config or 'default'}/{split})"
    if columns is not None:
        missing = [c for c in columns if c not in data.column_names]
        if missing:
            raise TaskDataError(
                f"{source}: column {missing[0]!r} is missing; its columns are {', '.join(data.column_names)}"
            )
        kept = [*columns, *(c for c in optional if c in data.column_names)]
        data = data.select_columns(list(dict.fromkeys(kept)))
    if len(data) == 0:
        raise TaskDataError(f"{source}: split {split!r} has no rows")
    return data.to_list()


def sample_rows(rows: list[dict], n: int, seed: int) -> list[tuple[int, dict]]:
    """(index, row) pairs: all rows when there are at most `n`, else `n` drawn with `seed`, in dataset order.

    The index is the row's position in the full dataset, so anything derived from it (a choice
    shuffle) does not depend on which other rows were drawn.
    """
    if len(rows) <= n:
        return list(enumerate(rows))
    picked = sorted(random.Random(seed).sample(range(len(rows)), n))
    return [(i, rows[i]) for i in picked]


def _quiet() -> None:
    from datasets.utils.logging import disable_progress_bar, set_verbosity_error

    disable_progress_bar()
    set_verbosity_error()


def _load_local(path: Path, split: str):
    from datasets import load_dataset

    if not path.exists():
        raise TaskDataError(f"task dataset {path} does not exist")
    if path.is_file():
        builder = BUILDERS.get(_suffix(path))
        if builder is None:
            raise TaskDataError(f"{path}: unsupported file type; use one of {', '.join(BUILDERS)}")
        _check_text(path)
        data = _guarded(path, lambda: load_dataset(builder, data_files=str(path), split="train"))
        return data, str(path)
    files = sorted(p for p in path.rglob("*") if p.is_file() and _suffix(p) in BUILDERS and ".cache" not in p.parts)
    if not files:
        raise TaskDataError(f"{path}: no {', '.join(BUILDERS)} files in this folder")
    for file in files:
        _check_text(file)
    # `datasets` infers splits from file names in a folder (test.jsonl, data/test-00000-of-00001.parquet).
    splits = _guarded(path, lambda: load_dataset(str(path)))
    if split in splits:
        return splits[split], f"{path} (split {split})"
    if len(splits) == 1:
        only = next(iter(splits))
        return splits[only], f"{path} (split {only})"
    raise TaskDataError(f"{path}: no split {split!r}; it has {', '.join(splits)}")


def _load_hub(dataset: str, config: str | None, split: str):
    from datasets import load_dataset

    set_offline_flags_if_offline()
    offline = os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1"
    try:
        return load_dataset(dataset, config, split=split)
    except Exception as exc:
        if offline:
            raise TaskDataError(
                f"dataset {dataset!r} is a Hub id, this machine is offline and it is not in the local "
                "Hugging Face cache; download it elsewhere and set task.dataset to a local .jsonl, .json, "
                ".parquet or .csv file or folder"
            ) from exc
        raise TaskDataError(
            f"cannot load dataset {dataset!r} (config {config!r}, split {split!r}): {_one_line(exc)}; gated "
            "datasets (such as GPQA) need their terms accepted on the Hub and `hf auth login`, or set "
            "task.dataset to a local file"
        ) from exc


def _guarded(path: Path, load):
    try:
        return load()
    except TaskDataError:
        raise
    except Exception as exc:
        # `datasets` cannot build a split of zero rows (a CSV with only its header); say so plainly.
        if "corresponds to no data" in str(exc):
            raise TaskDataError(f"{path}: the split has no rows") from exc
        raise TaskDataError(f"cannot read {path}: {_one_line(exc)}") from exc


def _check_text(path: Path) -> None:
    """Empty and non-UTF-8 files are caught here: `datasets` reports them with an unhelpful error."""
    if path.stat().st_size == 0:
        raise TaskDataError(f"{path} is empty: the split has no rows")
    if _suffix(path) not in _TEXT_SUFFIXES:
        return
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            carried = len(decoder.getstate()[0])  # bytes of a character split across chunks
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise TaskDataError(
                    f"{path} is not UTF-8 text (byte {offset + exc.start - carried} is "
                    f"0x{exc.object[exc.start]:02x}); "
                    "re-save it as UTF-8"
                ) from None
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise TaskDataError(f"{path} is not UTF-8 text (it ends inside a character)") from None


def _suffix(path: Path) -> str:
    return path.suffix.lower()


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
