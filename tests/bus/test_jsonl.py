"""bus/jsonl.py: the one JSONL reader and writer; rows with raw line-break characters survive a round trip."""

import json

import pytest

from bus.jsonl import (
    JsonlError,
    append_jsonl,
    dumps_row,
    iter_jsonl,
    parse_jsonl,
    parse_jsonl_lenient,
    read_jsonl,
    write_jsonl,
)

TRICKY = {"prompt": "a\u2028b\u2029c\u0085d", "answer": "我是 模型", "tab": "x\ty", "cr": "p\r\nq"}


def test_a_row_is_one_line_whatever_its_text(tmp_path):
    line = dumps_row(TRICKY)
    assert line.endswith("\n") and len(line.splitlines()) == 1  # splitlines: the strictest splitter there is
    assert "我是" in line  # readable, not \\u-escaped
    path = tmp_path / "d.jsonl"
    write_jsonl(path, [TRICKY, {"n": 1}])
    append_jsonl(path, [{"n": 2}])
    assert read_jsonl(path) == [TRICKY, {"n": 1}, {"n": 2}]
    assert list(iter_jsonl(path)) == read_jsonl(path)


def test_a_raw_separator_written_by_another_tool_is_read_as_one_row(tmp_path):
    path = tmp_path / "raw.jsonl"
    path.write_text(json.dumps(TRICKY, ensure_ascii=False) + "\n" + json.dumps({"n": 1}) + "\n", encoding="utf-8")
    assert "\u2028" in path.read_text(encoding="utf-8")
    assert read_jsonl(path) == [TRICKY, {"n": 1}]
    assert list(iter_jsonl(path)) == [TRICKY, {"n": 1}]


def test_windows_line_endings_and_blank_lines(tmp_path):
    path = tmp_path / "crlf.jsonl"
    path.write_bytes(b'{"a": 1}\r\n\r\n{"a": 2}\r\n')
    assert read_jsonl(path) == [{"a": 1}, {"a": 2}]
    assert list(iter_jsonl(path)) == [{"a": 1}, {"a": 2}]


def test_a_bad_row_names_the_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": 1}\n\n{"a": \n[1, 2]\n', encoding="utf-8")
    with pytest.raises(JsonlError, match=r"bad\.jsonl: line 3 is not JSON"):
        read_jsonl(path)
    with pytest.raises(JsonlError, match=r"bad\.jsonl: line 3"):
        list(iter_jsonl(path))
    with pytest.raises(JsonlError, match=r"^t\.jsonl: line 1 is a JSON list, not an object"):
        parse_jsonl("[1]\n", "t.jsonl")
    rows, bad = parse_jsonl_lenient(path.read_text())
    assert rows == [{"a": 1}] and bad == [3, 4]
