"""Read a training source row by row, so one bad row is dropped with its reason instead of sinking the file.

JSONL is read line by line as bytes: a line that is not UTF-8 is `non_utf8`, one that is not a JSON
object is `corrupt_row`. CSV and TSV are read record by record with the `csv` module, never by line:
a quoted field may hold newlines (every record of the official GPQA CSV does); a record with bytes
that are not UTF-8 is `non_utf8`, one with the wrong number of fields `corrupt_row`. Parquet is read a
batch of rows at a time. JSONL, CSV, TSV and Parquet are streamed: a file of any size is read in bounded
memory, with progress, keeping a seeded sample of at most `stream.MAX_SOURCE_ROWS` rows (agents/curator/stream.py).
JSON (one document: an array of rows, or an object holding one) is read whole, so one over `MAX_JSON_BYTES` is
refused. Every row of every source (Hub rows too) is put through the secret masker: a secret-shaped string
becomes [REDACTED] in the rows the curator keeps, `masked_rows` counts them for the card, and the file itself
is never rewritten. A file that cannot be opened at all raises `SourceError` with one line
saying why, and the curator records it and goes on with the other sources. Hub datasets are read
with `datasets` through agents/tasks/hub.py (which fails at once, with a message, when offline).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from agents.curator.gate import CORRUPT_ROW, NON_UTF8, SourceRows
from agents.curator.stream import MAX_LINE_BYTES, Progress, Reservoir, jsonl_lines
from agents.tasks.hub import TaskDataError, is_local, load_rows
from bus.jsonl import JsonlError, parse_line
from bus.redact import Masker

SUFFIXES = (".jsonl", ".json", ".parquet", ".csv", ".tsv")
CSV_FIELD_LIMIT = 16 * 1024 * 1024  # the csv module's default (128 KiB) is shorter than some real explanations
MAX_JSON_BYTES = 64 * 1024 * 1024  # one JSON document is parsed whole; a bigger one must be JSONL


class SourceError(ValueError):
    """A whole source cannot be read: missing, empty, corrupt, or offline."""


def read_source(name: str, location: str, split: str | None = None, config: str | None = None) -> SourceRows:
    """Rows of a local file or folder, or of a Hub dataset id."""
    if not is_local(location):
        try:
            rows = load_rows(location, config, split or "train")
        except TaskDataError as exc:
            raise SourceError(str(exc)) from None
        masker = Masker()
        clean = []
        for row in rows:
            row, hit = masker.row(row)
            masker.masked += hit
            clean.append(row)
        return SourceRows(name, clean, list(rows[0]) if rows else [], masked_rows=masker.masked)
    path = Path(location).expanduser()
    if path.is_dir():
        path = _pick_file(path, split)
    if not path.exists():
        raise SourceError(f"{path} does not exist")
    if path.suffix.lower() not in SUFFIXES:
        raise SourceError(f"{path}: unsupported file type; use one of {', '.join(SUFFIXES)}")
    if path.stat().st_size == 0:
        raise SourceError(f"{path} is empty: the split has no rows")
    reader = {".jsonl": _jsonl, ".csv": _csv, ".tsv": _tsv, ".json": _json, ".parquet": _parquet}[path.suffix.lower()]
    source = reader(name, path)
    if source.total == 0:
        raise SourceError(f"{path}: the split has no rows")
    return source


def _pick_file(folder: Path, split: str | None) -> Path:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
    if not files:
        raise SourceError(f"{folder}: no {', '.join(SUFFIXES)} files in this folder")
    wanted = split or "train"
    named = [p for p in files if p.stem.split("-")[0] == wanted]
    if named:
        return named[0]
    if len(files) == 1:
        return files[0]
    raise SourceError(f"{folder}: no file for split {wanted!r} among {', '.join(p.name for p in files)}")


def _jsonl(name: str, path: Path) -> SourceRows:
    bad, columns, masker, keep, progress = [], {}, Masker(), Reservoir(), Progress(path.name)
    for number, raw in jsonl_lines(path):
        number += 1  # people count lines from 1
        progress.tick()
        index = keep.seen + len(bad)
        if raw is None:
            bad.append((index, CORRUPT_ROW, f"line {number}: longer than {MAX_LINE_BYTES:,} bytes"))
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad.append((index, NON_UTF8, f"line {number}: byte {exc.start} is 0x{raw[exc.start]:02x}, not UTF-8"))
            continue
        try:
            row = parse_line(text, "", number)
        except JsonlError as exc:
            bad.append((index, CORRUPT_ROW, str(exc).removeprefix(": ")))
            continue
        if masker.text(text) != text:  # one pass over the line; the row's strings only when it holds a secret
            row, hit = masker.row(row)
            masker.masked += hit
        columns.update(dict.fromkeys(row))
        keep.offer(index, row)
    progress.done()
    return _kept(name, keep, list(columns), bad, masker.masked)


def _kept(name: str, keep: Reservoir, columns: list[str], bad: list, masked: int) -> SourceRows:
    pairs = keep.items()
    return SourceRows(
        name,
        [row for _, row in pairs],  # type: ignore[misc]
        columns,
        bad,
        [position for position, _ in pairs],
        masked_rows=masked,
        rows_seen=keep.seen if keep.sampled else None,
    )


def _tsv(name: str, path: Path) -> SourceRows:
    return _csv(name, path, delimiter="\t")


def _csv(name: str, path: Path, delimiter: str = ",") -> SourceRows:
    csv.field_size_limit(CSV_FIELD_LIMIT)
    # surrogateescape keeps a bad byte in place, so the one record holding it is dropped, not the file.
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        try:
            header = next(reader, [])
        except csv.Error as exc:
            raise SourceError(f"{path}: the header is not {_kind(delimiter)} ({exc})") from None
        if _not_utf8(header):
            raise SourceError(f"{path}: the header line is not UTF-8")
        return _csv_records(name, reader, header)


def _csv_records(name: str, reader, header: list[str]) -> SourceRows:  # noqa: ANN001 (a csv reader)
    bad, masker, keep, progress = [], Masker(), Reservoir(), Progress(name)
    first_line = reader.line_num + 1
    while True:
        index = keep.seen + len(bad)
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # e.g. a NUL byte or a quote left open at the end of the file
            bad.append((index, CORRUPT_ROW, f"record from line {first_line}: {exc}"))
            break
        progress.tick()
        where = (
            f"record at lines {first_line}-{reader.line_num}" if reader.line_num > first_line else f"line {first_line}"
        )
        first_line = reader.line_num + 1
        if not any(v.strip() for v in values):
            continue  # a blank line between records
        if _not_utf8(values):
            bad.append((index, NON_UTF8, f"{where}: holds bytes that are not UTF-8"))
            continue
        if len(values) != len(header):
            bad.append((index, CORRUPT_ROW, f"{where}: {len(values)} fields, the header has {len(header)}"))
            continue
        row, hit = masker.row(dict(zip(header, values, strict=True)))
        masker.masked += hit
        keep.offer(index, row)
    progress.done()
    return _kept(name, keep, header, bad, masker.masked)


def _kind(delimiter: str) -> str:
    return "tab-separated" if delimiter == "\t" else "CSV"


def _not_utf8(values: list[str]) -> bool:
    return any("\udc80" <= ch <= "\udcff" for v in values for ch in v)


def _json(name: str, path: Path) -> SourceRows:
    if path.stat().st_size > MAX_JSON_BYTES:
        raise SourceError(
            f"{path}: a JSON document over {MAX_JSON_BYTES // 2**20} MB is read whole; write it as JSONL (one row per "
            "line), which is read in a stream"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SourceError(f"{path}: not a readable JSON document ({type(exc).__name__})") from None
    if isinstance(
        data, dict
    ):  # {"data": [...]}, {"version": 1, "tags": [...], "train": [...]}, {"data": {"rows": [...]}}
        data = _nested_rows(path, data)
    if not isinstance(data, list):
        raise SourceError(f"{path}: expected a list of rows, found a JSON {type(data).__name__}")
    masker, keep, bad, columns = Masker(), Reservoir(), [], {}
    for i, row in enumerate(data):
        if not isinstance(row, dict):
            bad.append((i, CORRUPT_ROW, "not an object"))
            continue
        row, hit = masker.row(row)
        masker.masked += hit
        columns.update(dict.fromkeys(row))
        keep.offer(i, row)
    return _kept(name, keep, list(columns), bad, masker.masked)


def _nested_rows(path: Path, data: dict) -> list:
    """The list of row objects inside a JSON object: the longest one within three levels, or SourceError naming
    the keys that hold lists (of what) when none holds objects."""
    found: list[tuple[str, list]] = []

    def walk(value: object, where: str, depth: int) -> None:
        if isinstance(value, list):
            found.append((where, value))
        elif isinstance(value, dict) and depth < 3:
            for key, inner in value.items():
                walk(inner, f"{where}.{key}" if where else str(key), depth + 1)

    walk(data, "", 0)
    rows = [(where, v) for where, v in found if v and sum(isinstance(r, dict) for r in v) * 2 > len(v)]
    if rows:
        return max(rows, key=lambda item: len(item[1]))[1]
    if not found:
        raise SourceError(f"{path}: a JSON object with no list of rows under any key ({', '.join(map(str, data))})")
    lists = ", ".join(f"'{where}' ({len(v)} {_kinds(v)})" for where, v in found[:5])
    raise SourceError(f"{path}: no key holds a list of row objects; lists under {lists}")


def _kinds(values: list) -> str:
    kinds = sorted({type(v).__name__ for v in values})
    return "items" if not kinds else f"{'/'.join(kinds)} items"


def _parquet(name: str, path: Path) -> SourceRows:
    import pyarrow.parquet as pq

    masker, keep, progress = Masker(), Reservoir(), Progress(path.name)
    try:
        parquet = pq.ParquetFile(path)
        columns = parquet.schema_arrow.names
        for batch in parquet.iter_batches(batch_size=8192):
            for row in batch.to_pylist():
                progress.tick()
                row, hit = masker.row(row)
                masker.masked += hit
                keep.offer(keep.seen, row)
    except Exception as exc:
        raise SourceError(f"{path}: not a readable Parquet file ({type(exc).__name__}: {str(exc)[:120]})") from None
    progress.done()
    return _kept(name, keep, columns, [], masker.masked)
