"""What every launcher is given and what it hands back, plus the log-reading helpers they share."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from bus.schemas import Budget, Compute

LOG_TAIL_CHARS = 2000
_NON_FINITE = re.compile(r"non-finite value logged at step (\d+)")
# How torchrun (under accelerate) reports a worker the kernel killed.
_WORKER_KILLED = re.compile(r"exitcode\s*:\s*-9\b|Signal 9 \(SIGKILL\)")


@dataclass
class LaunchSpec:
    """One training run, ready to start.

    `entry_args` are agents.trainer.train_entry's arguments after the run folder (model, data, task,
    contamination report); `run_dir` is where train.log, metrics.jsonl and checkpoint/ must end up.
    """

    run_id: str
    method: str
    max_steps: int
    run_dir: Path
    entry_args: list[str]
    env: dict[str, str]
    cwd: Path
    cancel_file: Path
    timeout: float | None = None
    compute: Compute = field(default_factory=Compute)
    progress_every: float = 10.0
    # The goal's money budget and the workspace's .intern/ where its spend is kept (None: not counted).
    budget: Budget = field(default_factory=Budget)
    state_dir: Path | None = None

    @property
    def log_path(self) -> Path:
        return self.run_dir / "train.log"

    @property
    def metrics_path(self) -> Path:
        return self.run_dir / "metrics.jsonl"


@dataclass
class LaunchOutcome:
    """`error` is None when the run finished and left its checkpoint; otherwise the one-line cause."""

    error: str | None = None
    log_tail: str = ""
    job_started: bool = True  # False: refused before any billed work began (the money ledger charges nothing)

    @property
    def ok(self) -> bool:
        return self.error is None


def tail(path: Path, chars: int = LOG_TAIL_CHARS) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def failure_cause(log_tail: str, fallback: str) -> str:
    """The line that says why a run died: a non-finite loss first, then out-of-memory, then the last error line."""
    found = _NON_FINITE.search(log_tail)
    if found:
        return f"non-finite loss or gradient (NaN/inf) at step {found.group(1)}: lower the learning rate or clip harder"
    if _WORKER_KILLED.search(log_tail):
        return "a worker process was killed by SIGKILL (out of memory?): the kernel's OOM killer sends it"
    lines = log_tail.splitlines()
    oom = next((ln for ln in reversed(lines) if "OutOfMemoryError" in ln or "out of memory" in ln.lower()), None)
    if oom:
        return f"out of memory: {oom.strip()[:250]}"
    line = next((ln for ln in reversed(lines) if "Error" in ln or "error" in ln), fallback)
    return line.strip()[:300]


def progress_line(run_id: str, method: str, max_steps: int, row: dict) -> str:
    shown = {k: row[k] for k in ("loss", "reward", "mean_token_accuracy") if isinstance(row.get(k), (int, float))}
    return f"  [{run_id} {method}] step {row.get('step', '?')}/{max_steps} " + " ".join(
        f"{k}={v:.3f}" for k, v in shown.items()
    )
