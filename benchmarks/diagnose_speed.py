"""Speed of `intern diagnose` on runs intern did not make: the fourteen real logs, then long logs.

Times reading each tests/fixtures/real-trl-logs/<run>/trainer_state.json and running every rule on it,
then the same for one real log repeated to ROWS logged rows (a long run logged every step), which
is where the per-rule passes over the rows show. Run on demand: `python benchmarks/diagnose_speed.py
[--rows 20000] [--repeats 3]`.
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

from agents.critic.rundir import diagnose_logged, verdict
from agents.critic.signals.trl_logs import read_logged_run

LOGS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "real-trl-logs"


def best_of(repeats: int, work) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for folder in sorted(p for p in LOGS.iterdir() if p.is_dir()):
        seconds = best_of(args.repeats, lambda f=folder: diagnose_logged(read_logged_run(f)))
        found = diagnose_logged(read_logged_run(folder))
        print(f"{folder.name:<40} {len(found.metrics):>5} rows  {seconds * 1000:7.1f} ms  {verdict(found)}")
    for name in ("grpo-redteam-sparse-reward-zero-std", "sft-tinyllama-healthy-converging"):
        logged = read_logged_run(LOGS / name)
        rows = [copy.copy(logged.rows[i % len(logged.rows)]) for i in range(args.rows)]
        for i, row in enumerate(rows):
            row["step"] = i + 1
        logged.rows = rows
        seconds = best_of(args.repeats, lambda lg=logged: diagnose_logged(lg))
        print(f"{name} repeated to {args.rows} rows: {seconds:.2f} s ({args.rows / seconds:,.0f} rows/s)")


if __name__ == "__main__":
    main()
