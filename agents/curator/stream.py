"""Reading a source of any size in bounded memory: lines one at a time, a seeded sample of the rows, progress.

A local file is never read whole. Its lines (JSONL) or records (CSV, TSV) or batches (Parquet) go by one at
a time; every row is put through the secret masker; at most `MAX_SOURCE_ROWS` readable rows are kept, a
uniform sample drawn with a fixed seed (reservoir sampling, Vitter's algorithm R) and put back in file order,
so the curator's memory does not grow with the file. Reading a big file prints its progress (rows read and
rows per second) every `PROGRESS_SECONDS`; Ctrl-C stops it at the next row, since nothing here blocks.

The JSONL line reader is local to this module; bus/jsonl.py (one JSONL reader and writer for the project)
may replace it.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

# Rows kept from one source: more than a real GSM8K or MATH train split (7.5k rows), 2.5 times the generator's
# default (data.synthetic_rows, 4000), about 5 MB of typical rows. The gate's near-duplicate search grows with the
# square of the rows (4,000 templated rows: ~20 s on 2 busy cores; 20,000: over 5 minutes), so this bounds the
# curator's time as well as its memory. A larger file is sampled down to this many, and the card says so.
MAX_SOURCE_ROWS = 10_000
PROGRESS_SECONDS = 2.0
SAMPLE_SEED = 0
MAX_LINE_BYTES = 64 * 1024 * 1024  # a longer "line" is not a row: it is reported, not held


def jsonl_lines(path: Path) -> Iterator[tuple[int, bytes | None]]:
    """(line number from 0, the line's bytes) for each non-blank line; None for a line over MAX_LINE_BYTES."""
    with path.open("rb") as fh:
        number = 0
        while line := fh.readline(MAX_LINE_BYTES + 1):
            if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                while (rest := fh.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                    pass
                yield number, None
            elif line.strip():
                yield number, line
            number += 1


class Progress:
    """Says how far reading a file has got, when it takes long enough for a human to wonder."""

    def __init__(self, what: str, say: Callable[[str], None] | None = None) -> None:
        self.what = what
        self.say = say or (lambda line: print(line, file=sys.stderr, flush=True))
        self.started = self.last = time.monotonic()
        self.rows = 0

    def tick(self) -> None:
        self.rows += 1
        if self.rows & 1023:
            return
        now = time.monotonic()
        if now - self.last >= PROGRESS_SECONDS:
            self.last = now
            self.say(f"curator: reading {self.what}: {self.rows:,} rows, {self.rate():,.0f} rows/s")

    def rate(self) -> float:
        return self.rows / max(time.monotonic() - self.started, 1e-9)

    def done(self) -> None:
        if time.monotonic() - self.started >= PROGRESS_SECONDS:
            self.say(f"curator: read {self.what}: {self.rows:,} rows at {self.rate():,.0f} rows/s")


class Reservoir:
    """At most `size` of the items offered, each item equally likely to be kept; `items()` in the order offered."""

    def __init__(self, size: int | None = None, seed: int = SAMPLE_SEED) -> None:
        self.size = MAX_SOURCE_ROWS if size is None else size
        self.seen = 0
        self._kept: list[tuple[int, object]] = []
        self._rng = random.Random(seed)

    def offer(self, position: int, item: object) -> None:
        self.seen += 1
        if len(self._kept) < self.size:
            self._kept.append((position, item))
            return
        slot = self._rng.randrange(self.seen)
        if slot < self.size:
            self._kept[slot] = (position, item)

    def items(self) -> list[tuple[int, object]]:
        return sorted(self._kept, key=lambda pair: pair[0])

    @property
    def sampled(self) -> bool:
        return self.seen > self.size
