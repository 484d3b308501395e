"""The one JSONL reader and writer of the project.

A JSONL row is one line ended by "\\n". Two traps make hand-written readers and writers disagree:
- `json.dumps(..., ensure_ascii=False)` leaves U+2028, U+2029 and U+0085 raw (JSON allows them inside a
  string), and `str.splitlines()` splits on them: a chat turn holding a LINE SEPARATOR becomes two broken
  rows. Writers here escape the three, and readers split on "\\n" only, so either side alone is enough.
- A file saved on Windows ends its lines with "\\r\\n": the "\\r" is line ending, not data.

Readers come in two kinds: strict (`parse_jsonl`, `read_jsonl`, `iter_jsonl`) raise `JsonlError` naming
the file and line of the first bad row; lenient (`parse_jsonl_lenient`) returns the readable rows and
the line numbers it could not read, for files a killed process may have torn (metrics.jsonl).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

# Characters `str.splitlines()` treats as line breaks that JSON leaves unescaped in strings.
_RAW_BREAKS = {"\u2028": "\\u2028", "\u2029": "\\u2029", "\u0085": "\\u0085"}


class JsonlError(ValueError):
    """A JSONL line that is not a JSON object; the message names the file and the line."""


def dumps_row(row: Any) -> str:
    """One JSONL line (ending in "\\n"); non-ASCII text stays readable, the three raw line breaks are escaped."""
    text = json.dumps(row, ensure_ascii=False)
    if any(ch in text for ch in _RAW_BREAKS):
        for raw, escaped in _RAW_BREAKS.items():
            text = text.replace(raw, escaped)
    return text + "\n"


def dumps_rows(rows: Iterable[Any]) -> str:
    """A whole JSONL text: one `dumps_row` line per row."""
    return "".join(dumps_row(row) for row in rows)


def write_jsonl(path: Path, rows: Iterable[Any]) -> None:
    """Write `rows` to `path` (parents created), replacing what was there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps_rows(rows), encoding="utf-8")


def append_jsonl(path: Path, rows: Iterable[Any]) -> None:
    """Append `rows` to `path` (created if missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(dumps_rows(rows))


def split_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number from 1, line) for each non-blank line; splits on "\\n" only and drops a CRLF's "\\r"."""
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if line.strip():
            yield number, line


def split_byte_lines(data: bytes) -> Iterator[tuple[int, bytes]]:
    """`split_lines` for undecoded bytes (a reader that reports a bad byte per line rather than per file)."""
    for number, line in enumerate(data.split(b"\n"), start=1):
        line = line.removesuffix(b"\r")
        if line.strip():
            yield number, line


def parse_line(line: str, name: str, number: int) -> dict:
    """One line as a JSON object, or `JsonlError` saying `name:number` and why."""
    try:
        row = json.loads(line)
    except ValueError as exc:
        msg = getattr(exc, "msg", str(exc))
        raise JsonlError(f"{name}: line {number} is not JSON ({msg})") from None
    if not isinstance(row, dict):
        raise JsonlError(f"{name}: line {number} is a JSON {type(row).__name__}, not an object")
    return row


def parse_jsonl(text: str, name: str = "<jsonl>") -> list[dict]:
    """Every row of a JSONL text; the first bad line raises `JsonlError` naming `name` and the line."""
    return [parse_line(line, name, number) for number, line in split_lines(text)]


def parse_jsonl_lenient(text: str) -> tuple[list[dict], list[int]]:
    """The rows that read as JSON objects, and the line numbers of those that did not (e.g. a torn last line)."""
    rows, bad = [], []
    for number, line in split_lines(text):
        try:
            rows.append(parse_line(line, "", number))
        except JsonlError:
            bad.append(number)
    return rows, bad


def iter_jsonl(path: Path) -> Iterator[dict]:
    """The rows of a JSONL file, one at a time; a bad line raises `JsonlError` naming the file and line."""
    with path.open(encoding="utf-8", newline="\n") as fh:  # lines end at "\n" only, "\r" kept to drop below
        for number, line in enumerate(fh, start=1):
            line = line.removesuffix("\n").removesuffix("\r")
            if line.strip():
                yield parse_line(line, str(path), number)


def read_jsonl(path: Path) -> list[dict]:
    """Every row of a JSONL file; a bad line raises `JsonlError` naming the file and line."""
    return parse_jsonl(path.read_text(encoding="utf-8"), str(path))
