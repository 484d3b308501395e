"""agents.curator.stream: a source of any size read in bounded memory, with progress, and stopped by Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from agents.curator import stream


def test_progress_says_rows_and_rows_per_second(tmp_path, monkeypatch):
    from agents.curator.sources import read_source

    monkeypatch.setattr(stream, "PROGRESS_SECONDS", 0.0)
    said: list[str] = []
    monkeypatch.setattr(stream.Progress, "__init__", _capturing(stream.Progress.__init__, said))
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps({"prompt": str(i), "answer": str(i)}) + "\n" for i in range(5000)))
    read_source("local", str(path))
    assert said and all("rows/s" in line for line in said)
    assert said[0].startswith("curator: reading train.jsonl: 1,024 rows, ")
    assert said[-1].startswith("curator: read train.jsonl: 5,000 rows at ")


def _capturing(init, said):
    def patched(self, what, say=None):
        init(self, what, said.append)

    return patched


def test_reservoir_keeps_each_item_about_equally_often():
    counts = [0] * 100
    for seed in range(400):
        keep = stream.Reservoir(10, seed)
        for i in range(100):
            keep.offer(i, i)
        for position, _ in keep.items():
            counts[position] += 1
    assert min(counts) > 15 and max(counts) < 70  # 40 expected each


def test_an_overlong_line_is_reported_not_held(tmp_path, monkeypatch):
    monkeypatch.setattr(stream, "MAX_LINE_BYTES", 100)
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"a": 1}\n' + b"y" * 350 + b"\n" + b'{"a": 2}\n')
    assert list(stream.jsonl_lines(path)) == [(0, b'{"a": 1}\n'), (1, None), (2, b'{"a": 2}\n')]


READER = """
import sys
from agents.curator import stream
from agents.curator.sources import read_source
stream.PROGRESS_SECONDS = 0.2
try:
    read_source("local", sys.argv[1])
    print("finished", flush=True)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(130)
"""


def test_ctrl_c_stops_reading_a_big_source_within_a_second_or_two(tmp_path):
    path = tmp_path / "big.jsonl"
    row = json.dumps({"prompt": "what is 12345 + 67890?", "answer": "80235", "note": "x" * 40}) + "\n"
    with path.open("w") as fh:
        for _ in range(60):
            fh.write(row * 10_000)  # 600,000 rows (~60 MB): several seconds to read on this machine
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    proc = subprocess.Popen(
        [sys.executable, "-c", READER, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    line = proc.stderr.readline()  # the first progress line: it is reading
    assert line.startswith("curator: reading big.jsonl"), line
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    stopped = time.monotonic() - sent
    assert out.strip() == "interrupted" and proc.returncode == 130
    assert stopped < 2.0, f"took {stopped:.1f} s to stop"
