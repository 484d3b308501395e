"""How long a human's edit of plan.md takes to be committed, and to change the supervisor's decision.

Runs a real `intern go` on a small embedded goal and, as a human at a second terminal would:
1. adds lines to plan.md while a step runs and times the watcher's commit of them (polling git);
2. adds a queue item while the base evaluation runs and times until the loop starts that item
   (the current step finishes first: this is the step's remaining time plus the decision);
3. pauses the loop, adds a queue item, resumes, and times from the resume to the item's start
   (the decision alone).
Run on demand: `python benchmarks/steering_latency.py [--samples N]`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents import control  # noqa: E402
from tests.steering_harness import Go, intern, small_workspace  # noqa: E402


def _human_commits(root: Path) -> int:
    out = subprocess.run(
        ["git", "-C", str(root), "log", "--format=%s"], capture_output=True, text=True, check=True
    ).stdout
    return sum(1 for line in out.splitlines() if line.startswith("Human edit of plan.md"))


def _add_line(plan: Path, heading: str, line: str) -> float:
    text = plan.read_text()
    plan.write_text(text.replace(f"## {heading}\n", f"## {heading}\n{line}\n", 1))
    return time.time()


def _summary(name: str, values: list[float]) -> str:
    if not values:
        return f"{name}: no sample"
    return (
        f"{name}: median {statistics.median(values):.2f}s, min {min(values):.2f}s, max {max(values):.2f}s "
        f"(n={len(values)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=5, help="edits timed for the commit latency")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="intern-steer-")) / "ws"
    ws = small_workspace(root)
    plan = ws.path("plan.md")
    go = Go(root)
    commit, during_step, decision_only = [], [], []
    try:
        go.wait_for("the first step", lambda: any("] step 1:" in line for _, line in go.lines))
        for i in range(args.samples):  # while the base evaluation runs
            before = _human_commits(root)
            edited = _add_line(plan, "Questions", f"- note {i} from the human")
            seen = go.wait_for("the watcher's commit", lambda b=before: _human_commits(root) > b, poll=0.01)
            commit.append(seen - edited)
        item = "researcher: read about carries first"
        edited = _add_line(plan, "Queue", f"- [ ] {item}")
        started = go.wait_for("the human's item", lambda: go.line_after(edited, item) is not None, poll=0.01)
        during_step.append(started - edited)
        for i in range(2):
            assert intern("pause", str(root)).returncode == 0
            go.wait_for("the pause", lambda: any("paused (run" in line for _, line in go.lines[-5:]), poll=0.01)
            item = f"researcher: paused item {i}"
            _add_line(plan, "Queue", f"- [ ] {item}")
            time.sleep(1.0)  # the watcher commits the edit while paused
            resumed = time.time()
            control.request_resume(ws)  # what `intern resume` does, without its interpreter start-up
            line = go.wait_for("the item after resume", lambda it=item, r=resumed: go.line_after(r, it) is not None)
            decision_only.append((go.line_after(resumed, item) or line) - resumed)
        intern("stop", str(root), "--now")
        go.finish(timeout=300)
    finally:
        if go.proc.poll() is None:
            go.kill9()
    print(_summary("edit of plan.md -> committed as the human (watcher)", commit))
    print(_summary("queue item added during a step -> that item starts (rest of the step + decision)", during_step))
    print(_summary("resume -> the item added while paused starts (decision only)", decision_only))


if __name__ == "__main__":
    main()
