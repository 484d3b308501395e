"""Time `intern init` + `intern go` on the embedded default and split the wall time.

Prints the held-out score per run, the wall time of the whole loop, and the share of it
spent outside training and evaluation (the supervisor, the bus, the agents' own work,
process start-up). Run on demand: `make bench` or `python benchmarks/demo_loop.py [--keep DIR]`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="run in this (new) directory and keep it")
    parser.add_argument("--steps", type=float, default=1.0, help="scale.steps for the goal (default 1.0)")
    args = parser.parse_args()
    tmp = None if args.keep else Path(tempfile.mkdtemp(prefix="intern-bench-"))
    root = args.keep or tmp / "ws"
    cli = [sys.executable, "-m", "agents.cli"]
    subprocess.run([*cli, "init", str(root)], check=True, capture_output=True)
    if args.steps != 1.0:
        goal = yaml.safe_load((root / "intern.yaml").read_text())
        goal["scale"]["steps"] = args.steps
        (root / "intern.yaml").write_text(yaml.safe_dump(goal, sort_keys=False))
    start = time.time()
    proc = subprocess.run([*cli, "go", str(root)], capture_output=True, text=True)
    wall = time.time() - start
    if proc.returncode != 0:
        print(proc.stdout[-2000:], proc.stderr[-2000:])
        raise SystemExit(f"intern go failed with exit code {proc.returncode}")

    train = sum(json.loads(p.read_text())["wall_seconds"] for p in root.glob("runs/*/result.json"))
    evals = 0.0
    print(f"{'subject':10} {'method':6} {'held-out':>9} {'train s':>8} {'eval s':>7}")
    for path in [root / "reports/base-evaluation.md", *sorted(root.glob("runs/*/evaluation.md"))]:
        front = yaml.safe_load(path.read_text().split("---")[1])
        evals += front["seconds"]
        run_dir = path.parent
        method, seconds = "-", 0.0
        if (run_dir / "config.yaml").exists():
            method = yaml.safe_load((run_dir / "config.yaml").read_text())["method"]
            seconds = json.loads((run_dir / "result.json").read_text())["wall_seconds"]
        print(f"{front['subject']:10} {method:6} {front['score']:9.3f} {seconds:8.1f} {front['seconds']:7.2f}")
    commits = int(
        subprocess.run(["git", "-C", str(root), "rev-list", "--count", "HEAD"], capture_output=True, text=True).stdout
    )
    outside = wall - train - evals
    print(f"intern go wall time: {wall:.1f} s; training {train:.1f} s; evaluation {evals:.1f} s")
    print(f"outside training and evaluation: {outside:.1f} s ({outside / wall:.1%} of the wall time)")
    print(f"commits: {commits}")
    print(proc.stdout.strip().splitlines()[-1])
    if tmp:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
