"""Reading sources row by row: a non-UTF-8 or corrupt row is dropped with its reason; a broken file is one clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.curator.gate import CORRUPT_ROW, NON_UTF8, run_gate
from agents.curator.sources import SourceError, read_source
from bus.schemas import TaskSpec


def test_jsonl_keeps_good_rows_and_names_bad_ones(tmp_path):
    path = tmp_path / "train.jsonl"
    good = json.dumps({"prompt": "07+45=", "answer": "052"}).encode()
    path.write_bytes(
        good + b"\n" + b'{"prompt": "caf\xe9", "answer": "001"}\n' + b"{not json\n" + b"[1, 2]\n" + good + b"\n"
    )
    source = read_source("local", str(path))
    assert len(source.rows) == 2 and source.total == 5
    reasons = [(i, r) for i, r, _ in source.unreadable]
    assert reasons == [(1, NON_UTF8), (2, CORRUPT_ROW), (3, CORRUPT_ROW)]
    assert "0xe9" in source.unreadable[0][2]
    result = run_gate(source, {"prompt": "prompt", "answer": "answer"}, TaskSpec(), [])
    assert result.dropped == {NON_UTF8: 1, CORRUPT_ROW: 2, "duplicate": 1}
    assert result.examples["duplicate"] == [{"row": 4, "why": "repeats source row 0 (similarity 1.0)"}]
    assert len(result.kept) == 1


def test_csv_and_folder_with_train_split(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "test.csv").write_text("question,answer\n01+01=,002\n")
    (folder / "train.csv").write_bytes(b"question,answer\n07+45=,052\n12+\xff=,001\n03+04=,007,extra\n")
    source = read_source("folder", str(folder))
    assert source.columns == ["question", "answer"]
    assert source.rows == [{"question": "07+45=", "answer": "052"}]
    assert [r for _, r, _ in source.unreadable] == [NON_UTF8, CORRUPT_ROW]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.jsonl", b"", "is empty"),
        ("blank.jsonl", b"\n\n", "has no rows"),
        ("bad.parquet", b"PAR1 this is not parquet", "not a readable Parquet file"),
        ("bad.json", b"{", "not a readable JSON document"),
        ("notes.txt", b"hello", "unsupported file type"),
    ],
)
def test_unreadable_files_are_one_clear_error(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SourceError, match=message):
        read_source("x", str(path))


def test_missing_path_and_offline_hub_id_fail_at_once(tmp_path):
    with pytest.raises(SourceError, match="does not exist"):
        read_source("x", str(tmp_path / "nope.jsonl"))
    with pytest.raises(SourceError, match="offline"):
        read_source("hub", "someone/some-dataset-that-is-not-cached")


def test_parquet_rows(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "train.parquet"
    pq.write_table(pa.table({"problem": ["What is $1+1$?"], "solution": ["$\\boxed{2}$"]}), path)
    source = read_source("p", str(path))
    assert source.rows == [{"problem": "What is $1+1$?", "solution": "$\\boxed{2}$"}]


GPQA_CSV = Path(__file__).parents[2] / "fixtures/curator/gpqa_main_layout.csv"


def test_csv_records_with_quoted_newlines_are_read_whole():
    # The official GPQA CSV layout: 28 columns, a newline inside the question and the explanation of every record.
    source = read_source("gpqa", str(GPQA_CSV))
    assert GPQA_CSV.read_text().count("\n") == 61  # physical lines: line splitting would see 61 rows
    assert source.total == len(source.rows) == 12 and source.unreadable == []
    assert len(source.columns) == 28 and source.columns[7] == "Question"
    first = source.rows[0]
    assert first["Question"].splitlines()[1] == "What is the probability of finding it in the middle third of the well?"
    assert first["Correct Answer"] == "1/3 + sqrt(3)/(2 pi)" and first["High-level domain"] == "Physics"
    assert source.rows[-1]["Record ID"] == "recIntern0011"


def test_a_broken_multi_line_record_is_dropped_alone(tmp_path):
    path = tmp_path / "train.csv"
    path.write_bytes(b'q,a\n"two\nlines",1\n"caf\xe9\nau lait",2\n"three\nfields",3,extra\n"last",4\n')
    source = read_source("x", str(path))
    assert source.rows == [{"q": "two\nlines", "a": "1"}, {"q": "last", "a": "4"}]
    assert [(i, r) for i, r, _ in source.unreadable] == [(1, NON_UTF8), (2, CORRUPT_ROW)]
    assert "lines 4-5" in source.unreadable[0][2] and "3 fields" in source.unreadable[1][2]
    assert source.positions == [0, 3]


def test_tsv_and_json_array(tmp_path):
    tsv = tmp_path / "train.tsv"
    tsv.write_text('question\tanswer\n"a\tquoted tab"\t#### 3\n')
    assert read_source("t", str(tsv)).rows == [{"question": "a\tquoted tab", "answer": "#### 3"}]
    array = tmp_path / "train.json"
    array.write_text(json.dumps([{"instruction": "Add.", "input": "1+2", "output": "3"}, 7]))
    source = read_source("j", str(array))
    assert source.rows == [{"instruction": "Add.", "input": "1+2", "output": "3"}]
    assert [r for _, r, _ in source.unreadable] == [CORRUPT_ROW]


def test_a_json_object_is_searched_for_its_rows_or_the_error_names_the_lists(tmp_path):
    nested = tmp_path / "nested.json"
    rows = [{"question": "q1", "answer": "#### 1"}, {"question": "q2", "answer": "#### 2"}]
    nested.write_text(json.dumps({"version": 2, "tags": ["math", "easy"], "data": {"train": rows}}))
    assert read_source("n", str(nested)).rows == rows  # under a key, after another list
    no_rows = tmp_path / "lists.json"
    no_rows.write_text(json.dumps({"tags": ["a", "b"], "ids": [1, 2, 3]}))
    with pytest.raises(SourceError, match=r"no key holds a list of row objects; lists under 'tags' \(2 str items\)"):
        read_source("l", str(no_rows))
