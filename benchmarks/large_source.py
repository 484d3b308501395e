"""A 200 MB JSONL named under data.local: kept out of git, and read by the curator in bounded memory.

Builds a JSONL of about SIZE_MB (default 200 MB; GSM8K-like rows, one in 50,000 holding a token) in a
temporary workspace, then measures:
1. the human-edit commit (what the watcher does when the file appears): seconds, and that the file is not
   in git (listed in .gitignore, recorded with its size and sha256 in data-references.json);
2. the curator reading it (agents/curator/sources.read_source, a stream): rows per second, the rows kept (a
   seeded sample of at most stream.MAX_SOURCE_ROWS), the rows whose secrets were masked, and peak memory
   (the process's maximum resident set, before and after reading);
3. the quality gate on the kept sample (optional, --gate): rows per second.
Run on demand: `python benchmarks/large_source.py [--size-mb 200] [--gate]`.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

from agents.curator.sources import read_source
from bus import Workspace
from bus.data_refs import REFERENCES_FILE

TOKEN = "hf_" + "Bench0123456789abcdefghijklmnop"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def build(path: Path, size_mb: int) -> int:
    """GSM8K-shaped rows until the file reaches size_mb; returns the row count."""
    rows, target = 0, size_mb * 2**20
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        while fh.tell() < target:
            block = []
            for i in range(rows, rows + 10_000):
                a, b = i % 9973, (i * 7) % 10007
                note = f" (key {TOKEN})" if i % 50_000 == 7 else ""
                question = f"Sam has {a} apples and buys {b} more{note}. How many apples does Sam have now?"
                block.append(json.dumps({"question": question, "answer": f"{a} + {b} = {a + b}\n#### {a + b}"}))
            fh.write("\n".join(block) + "\n")
            rows += len(block)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=200, help="size of the JSONL to build (default 200)")
    parser.add_argument("--gate", action="store_true", help="also time the quality gate on the kept rows")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="intern-large-") as tmp:
        ws = Workspace.init(Path(tmp) / "ws")
        data = ws.path("mydata/train.jsonl")
        started = time.perf_counter()
        rows = build(data, args.size_mb)
        size = data.stat().st_size
        print(f"built {data.name}: {size / 2**20:.0f} MB, {rows:,} rows in {time.perf_counter() - started:.1f} s")

        started = time.perf_counter()
        ws.commit_human_edits()
        in_git = "mydata/train.jsonl" in ws.repo.git.ls_files().splitlines()
        recorded = json.loads(ws.read_text(REFERENCES_FILE))["files"].get("mydata/train.jsonl", {})
        print(
            f"human-edit commit: {time.perf_counter() - started:.2f} s; in git: {in_git}; "
            f"recorded size {recorded.get('size', 0):,} bytes, sha256 {recorded.get('sha256', '')[:16]}..."
        )

        before = peak_mb()
        started = time.perf_counter()
        source = read_source("mydata", str(data))
        seconds = time.perf_counter() - started
        print(
            f"curator read: {source.rows_seen or len(source.rows):,} rows in {seconds:.1f} s = "
            f"{(source.rows_seen or len(source.rows)) / seconds:,.0f} rows/s; kept {len(source.rows):,}; "
            f"rows masked {source.masked_rows}; peak memory {before:.0f} MB before reading, {peak_mb():.0f} MB after"
        )
        if args.gate:
            from agents.curator.columns import detect_mapping
            from agents.curator.gate import run_gate
            from bus.schemas import TaskSpec

            started = time.perf_counter()
            result = run_gate(source, detect_mapping(source.columns), TaskSpec(name="gsm8k"), [])
            seconds = time.perf_counter() - started
            print(
                f"gate: {len(source.rows):,} rows in {seconds:.1f} s = {len(source.rows) / seconds:,.0f} rows/s; "
                f"kept {len(result.kept):,}; peak memory {peak_mb():.0f} MB"
            )


if __name__ == "__main__":
    main()
