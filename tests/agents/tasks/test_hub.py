"""Loading task data: every local format through `datasets`, clear errors, the offline Hub path."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from agents.tasks.hub import TaskDataError, load_rows, resolve_dataset, sample_rows
from bus.schemas import TaskSpec

ROWS = [{"question": f"q{i}", "answer": f"#### {i}", "level": i % 3} for i in range(5)]


def _write(path: Path, rows: list[dict]) -> Path:
    """`rows` in the format the suffix names, written the way the Hub stores them."""
    import pandas as pd

    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(rows)
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    elif path.suffix == ".json":
        path.write_text(json.dumps(rows))
    elif path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv", ".parquet"])
def test_each_local_format_loads_the_same_rows(tmp_path, suffix):
    path = _write(tmp_path / f"data{suffix}", ROWS)
    assert load_rows(str(path)) == ROWS
    assert load_rows(str(path), columns=["answer"]) == [{"answer": r["answer"]} for r in ROWS]


def test_a_folder_picks_the_split_by_file_name(tmp_path):
    _write(tmp_path / "data" / "train-00000-of-00001.parquet", ROWS[:2])
    _write(tmp_path / "data" / "test-00000-of-00001.parquet", ROWS[2:])
    assert load_rows(str(tmp_path), split="test") == ROWS[2:]
    assert load_rows(str(tmp_path), split="train") == ROWS[:2]
    with pytest.raises(TaskDataError, match="no split 'validation'; it has"):
        load_rows(str(tmp_path), split="validation")


def test_a_json_file_with_no_rows_is_an_empty_split(tmp_path):
    path = _write(tmp_path / "d.json", [])
    with pytest.raises(TaskDataError, match=r"d\.json: the split has no rows"):
        load_rows(str(path), split="test", columns=["question"])


def test_a_folder_with_one_file_is_its_only_split(tmp_path):
    _write(tmp_path / "gsm8k.jsonl", ROWS)
    assert load_rows(str(tmp_path), split="test") == ROWS


def test_optional_columns_are_kept_when_present(tmp_path):
    path = _write(tmp_path / "d.jsonl", ROWS)
    rows = load_rows(str(path), columns=["question"], optional=["level", "subject"])
    assert rows[0] == {"question": "q0", "level": 0}


def test_missing_column_names_the_file_and_the_column(tmp_path):
    path = _write(tmp_path / "d.jsonl", ROWS)
    with pytest.raises(TaskDataError, match=r"d\.jsonl: column 'problem' is missing; its columns are question, answer"):
        load_rows(str(path), columns=["question", "problem"])


def test_empty_file_and_empty_split(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(TaskDataError, match=r"empty\.jsonl is empty"):
        load_rows(str(empty))
    header_only = tmp_path / "header.csv"
    header_only.write_text("question,answer\n")
    with pytest.raises(TaskDataError, match=r"header\.csv: the split has no rows"):
        load_rows(str(header_only), split="test", columns=["question", "answer"])


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_non_utf8_file_names_the_file_and_the_byte(tmp_path, suffix):
    path = tmp_path / f"latin1{suffix}"
    text = '{"question": "caf\u00e9", "answer": "1"}\n' if suffix == ".jsonl" else "question,answer\ncaf\u00e9,1\n"
    path.write_bytes(text.encode("latin-1"))
    offset = text.encode("latin-1").index(b"\xe9")
    with pytest.raises(TaskDataError, match=rf"latin1\{suffix} is not UTF-8 text \(byte {offset} is 0xe9\)"):
        load_rows(str(path))


def test_missing_path_and_unsupported_type(tmp_path):
    with pytest.raises(TaskDataError, match="does not exist"):
        load_rows(str(tmp_path / "nope.jsonl"))
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    with pytest.raises(TaskDataError, match="unsupported file type"):
        load_rows(str(other))
    (tmp_path / "emptydir").mkdir()
    with pytest.raises(TaskDataError, match="emptydir: no .jsonl, .json, .parquet, .csv files"):
        load_rows(str(tmp_path / "emptydir"))


def test_malformed_json_is_one_clear_line(tmp_path):
    path = tmp_path / "broken.jsonl"
    path.write_text('{"question": "q", "answer": "1"}\n{"question": \n')
    with pytest.raises(TaskDataError, match=r"cannot read .*broken\.jsonl: "):
        load_rows(str(path))


def test_offline_hub_id_fails_fast_with_the_offline_message(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty cache: nothing is there
    started = time.monotonic()
    with pytest.raises(TaskDataError, match=r"'openai/gsm8k' is a Hub id, this machine is offline.*task\.dataset"):
        load_rows("openai/gsm8k", "main", "test")
    assert time.monotonic() - started < 5


def test_sample_rows_keeps_dataset_indices_and_order():
    rows = [{"i": i} for i in range(50)]
    picked = sample_rows(rows, 10, seed=3)
    assert picked == sample_rows(rows, 10, seed=3)
    assert picked != sample_rows(rows, 10, seed=4)
    assert [i for i, _ in picked] == sorted(i for i, _ in picked)
    assert all(row == {"i": i} for i, row in picked)
    assert sample_rows(rows[:5], 10, seed=3) == list(enumerate(rows[:5]))


def test_resolve_dataset_against_the_workspace(tmp_path):
    _write(tmp_path / "data" / "gsm8k.jsonl", ROWS)
    spec = TaskSpec(name="gsm8k", dataset="data/gsm8k.jsonl")
    resolved = resolve_dataset(spec, tmp_path)
    assert resolved.dataset == str((tmp_path / "data" / "gsm8k.jsonl").resolve())
    assert load_rows(resolved.dataset) == ROWS
    assert spec.dataset == "data/gsm8k.jsonl"  # the original spec is untouched
    hub = TaskSpec(name="gsm8k", dataset="openai/gsm8k")
    assert resolve_dataset(hub, tmp_path) is hub
    assert resolve_dataset(TaskSpec(), tmp_path).dataset is None
