"""The shared real files, curated and then read back by every reader: the trainer's, and `datasets.load_dataset`
as each card tells a reader to call it, in two workspaces at once sharing one warm `datasets` cache.

Each file is curated in one workspace, and its first half, under the same source name and task, in a
second workspace: before dataset names carried a hash and configs the rows' hash, both folders were
`<task>-d2-teacher50-s0` with a `default` config, and the second `load_dataset` got the first one's rows.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from agents.common import state
from agents.critic.evaluate import ensure_eval_split
from agents.curator.curator import curator_step
from agents.trainer.train_entry import load_training_rows
from bus import Workspace
from bus.jsonl import read_jsonl
from bus.schemas import DatasetCard

# The shared reference files' copies and the held-out splits, as test_real_files.py names them.
from .test_real_files import ALPACA_FILE, CHAT_FILE, EVAL, GPQA_FILE, GSM8K_FILE, MATH_FILE, PARTS_CHAT_FILE

# (task, file): every real layout, each with the task it is curated for in test_real_files.py.
FILES = [
    ("gsm8k", GSM8K_FILE),
    ("math", MATH_FILE),
    ("gsm8k", ALPACA_FILE),
    ("gsm8k", CHAT_FILE),
    ("gsm8k", PARTS_CHAT_FILE),
    ("gpqa", GPQA_FILE),
]


def _half(path: Path, folder: Path) -> Path:
    """The first half of a file's rows, in its own layout (all rows but one of a file too small to halve)."""
    out = folder / path.name
    if path.suffix == ".jsonl":
        lines = path.read_bytes().split(b"\n")
        rows = [line for line in lines if line.strip()]
        out.write_bytes(b"\n".join(rows[: _kept(len(rows))]) + b"\n")
    elif path.suffix == ".json":
        rows = json.loads(path.read_text(encoding="utf-8"))
        out.write_text(json.dumps(rows[: _kept(len(rows))], ensure_ascii=False), encoding="utf-8")
    else:
        records = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
        buffer = io.StringIO()
        csv.writer(buffer).writerows(records[: 1 + _kept(len(records) - 1)])
        out.write_text(buffer.getvalue(), encoding="utf-8")
    return out


def _kept(rows: int) -> int:
    return rows // 2 if rows >= 40 else rows - 1  # GPQA's 12 records: half would be too few to train on


def _curate(ws: Workspace, set_goal, task: str, path: Path, **goal) -> DatasetCard:
    goal = set_goal(
        ws,
        task={"name": task, "dataset": str(EVAL[task]), "eval_size": 10},
        data={"local": [{"path": str(path), "name": "data"}], "hub_search": False},
        **goal,
    )
    ensure_eval_split(ws, goal)
    curator_step(ws)
    cards = state.dataset_cards(ws)
    assert len(cards) == 1, "the file gave no usable card"
    return cards[0][1]


@pytest.mark.parametrize(("task", "path"), FILES, ids=[p.stem for _, p in FILES])
def test_each_real_file_reads_back_as_its_card_counts_in_two_workspaces(task, path, tmp_path, set_goal):
    import datasets

    cache = tmp_path / "hf-datasets-cache"  # one warm cache for both workspaces, as on one machine
    (tmp_path / "half").mkdir()
    half = _half(path, tmp_path / "half")
    workspaces = [Workspace.init(tmp_path / "ws-whole"), Workspace.init(tmp_path / "ws-half")]
    cards = [
        _curate(ws, set_goal, task, source, model=UNCHECKED_MODEL)
        for ws, source in zip(workspaces, (path, half), strict=True)
    ]
    assert cards[0].name != cards[1].name  # same task, same source name, other rows: other names
    assert cards[0].rows > cards[1].rows > 0
    for ws, card in zip(workspaces, cards, strict=True):
        folder = ws.path(f"datasets/{card.name}")
        rows = read_jsonl(folder / card.data_file)
        trained, dropped = load_training_rows(folder / card.data_file, None)  # the trainer's own reader
        assert len(rows) == len(trained) == card.rows and dropped == 0
        loaded = datasets.load_dataset(str(folder), split="train", cache_dir=str(cache))
        assert loaded.num_rows == card.rows
        assert loaded["prompt"] == [r["prompt"] for r in rows]
        assert f"load_dataset('datasets/{card.name}', split='train')" in card.body
        assert all(not Path(s).is_absolute() for s in card.source_datasets)  # no path of this machine


# A model whose context is not checked offline (a Hub id): no row is dropped as too long for the embedded
# tiny model, as with the real models the issue was found with (the U+2028 row is 2,590 characters).
UNCHECKED_MODEL = "Qwen/Qwen3-0.6B"


def test_a_line_separator_in_a_chat_turn_survives_the_round_trip(ws, set_goal):
    card = _curate(ws, set_goal, "gsm8k", CHAT_FILE, model=UNCHECKED_MODEL)
    data = ws.path(f"datasets/{card.name}/{card.data_file}")
    assert "\u2028" not in data.read_text(encoding="utf-8")  # written escaped...
    rows = read_jsonl(data)
    assert len(data.read_text(encoding="utf-8").splitlines()) == len(rows) == card.rows  # ...so any reader agrees
    assert any("\u2028" in r["prompt"] for r in rows)  # ...and read back as the character it is


def test_chat_files_say_their_languages_lose_their_blank_lines_and_their_placeholders(ws, set_goal, tmp_path):
    card = _curate(ws, set_goal, "gsm8k", CHAT_FILE)
    rows = read_jsonl(ws.path(f"datasets/{card.name}/{card.data_file}"))
    assert card.language[0] == "en" and "zh" in card.language  # 45 rows are written in Chinese
    assert "blank lines" in card.body and not any(r["completion"].startswith("\n") for r in rows)

    other = Workspace.init(tmp_path / "parts")
    parts = _curate(other, set_goal, "gsm8k", PARTS_CHAT_FILE)
    assert parts.dropped["unfilled_placeholder"] == 50  # the {{name}} / {{author}} identity answers
    assert any("unfilled template placeholders" in r for r in parts.verdict_reasons)
    kept = read_jsonl(other.path(f"datasets/{parts.name}/{parts.data_file}"))
    assert not any("{{" in r["completion"] for r in kept)


def test_gpqa_saved_with_windows_line_endings_keeps_no_carriage_return(ws, set_goal, tmp_path):
    crlf = tmp_path / "gpqa_crlf.csv"
    records = list(csv.reader(io.StringIO(GPQA_FILE.read_text(encoding="utf-8"), newline="")))
    with crlf.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows([[c.replace("\n", "\r\n") for c in r] for r in records])
    assert b"\r\n" in crlf.read_bytes()
    card = _curate(ws, set_goal, "gpqa", crlf, model=UNCHECKED_MODEL)
    rows = read_jsonl(ws.path(f"datasets/{card.name}/{card.data_file}"))
    assert rows and not any("\r" in r["prompt"] or "\r" in r["completion"] for r in rows)


def test_math500_halves_drop_only_the_problems_that_really_overlap(ws, set_goal, tmp_path):
    """The shared MATH-500 rows split in two: the second half is the held-out split, the first half plus three
    planted copies of held-out problems is the training file. The template's shared suffix made 10 of the
    first 100 look like 13-gram leaks; compared as written, only the planted copies are."""
    rows = read_jsonl(MATH_FILE)
    train, held = rows[:100], rows[100:]
    planted = [
        dict(held[5]),  # verbatim
        {**held[20], "problem": "  " + held[20]["problem"].upper() + " "},  # re-cased and re-spaced
        {**held[41], "problem": held[41]["problem"].replace(".", " .")},  # re-punctuated
    ]
    (tmp_path / "held.jsonl").write_text("".join(json.dumps(r) + "\n" for r in held))
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in train + planted))
    goal = set_goal(
        ws,
        model=UNCHECKED_MODEL,  # every row kept for its length: only contamination decides
        task={"name": "math", "dataset": str(tmp_path / "held.jsonl"), "eval_size": 100},
        data={"local": [{"path": str(tmp_path / "train.jsonl"), "name": "math-half"}], "hub_search": False},
    )
    ensure_eval_split(ws, goal)
    curator_step(ws)
    card = state.dataset_cards(ws)[0][1]
    assert card.dropped.get("contaminated") == 3
    figures = json.loads(ws.read_text(f"datasets/{card.name}/card.json"))
    dropped = figures["sources"]["math-half"]["examples"]["contaminated"]
    assert [e["row"] for e in dropped] == [100, 101, 102]  # the planted rows, and no first-half problem
    assert all("problems as written" in e["why"] for e in dropped)
