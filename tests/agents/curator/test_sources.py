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


# --- secrets in rows, and sources of any size ------------------------------------------------------

HF = "hf_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5"
AWS = "AKIA" + "ABCDEFGHIJKLMNOP"


def _secret_rows() -> list[dict]:
    return [
        {"prompt": "01+01=", "answer": "002"},
        {"prompt": f"key {HF} 02+02=", "answer": "004"},
        {"prompt": "03+03=", "answer": f"006 {AWS}"},
    ]


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv", "tsv", "parquet"])
def test_rows_holding_secrets_are_masked_counted_and_the_file_is_left_as_it_is(tmp_path, fmt):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / f"train.{fmt}"
    rows = _secret_rows()
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    elif fmt == "json":
        path.write_text(json.dumps(rows))
    elif fmt == "parquet":
        pq.write_table(pa.Table.from_pylist(rows), path)
    else:
        sep = "," if fmt == "csv" else "\t"
        path.write_text(f"prompt{sep}answer\n" + "".join(f"{r['prompt']}{sep}{r['answer']}\n" for r in rows))
    before = path.read_bytes()
    source = read_source("local", str(path))
    assert source.masked_rows == 2
    text = json.dumps(source.rows)
    assert HF not in text and AWS not in text
    assert source.rows[1] == {"prompt": "key [REDACTED] 02+02=", "answer": "004"}
    assert source.rows[0] == rows[0]
    assert path.read_bytes() == before


def test_a_source_larger_than_the_cap_is_sampled_in_file_order_and_says_how_many_it_read(tmp_path, monkeypatch):
    from agents.curator import stream

    monkeypatch.setattr(stream, "MAX_SOURCE_ROWS", 50)
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps({"prompt": f"{i}", "answer": f"{i}"}) + "\n" for i in range(1000)) + "{bad\n")
    source = read_source("local", str(path))
    assert len(source.rows) == 50 and source.rows_seen == 1000
    numbers = [int(r["prompt"]) for r in source.rows]
    assert numbers == sorted(numbers) and source.positions == numbers  # file order, file positions
    assert numbers[-1] > 500  # a sample of the whole file, not its first rows
    assert [r for _, r, _ in source.unreadable] == [CORRUPT_ROW] and source.unreadable[0][0] == 1000
    assert read_source("local", str(path)).rows == source.rows  # seeded: the same sample each time


def test_a_json_document_too_big_to_read_whole_is_refused_with_one_line(tmp_path, monkeypatch):
    from agents.curator import sources

    monkeypatch.setattr(sources, "MAX_JSON_BYTES", 100)
    path = tmp_path / "train.json"
    path.write_text(json.dumps([{"prompt": "x" * 200, "answer": "1"}]))
    with pytest.raises(SourceError, match="write it as JSONL"):
        read_source("local", str(path))
