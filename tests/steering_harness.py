"""A real `intern go` in a subprocess, driven the way a human drives it: edits, reverts, stop, kill -9.

Shared by tests/test_steering.py and benchmarks/steering_latency.py. Nothing is mocked: the
process runs the embedded task end to end; the test only watches the workspace's files and the
process's output, and acts when the state it waits for is reached.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from bus import Workspace

CLI = [sys.executable, "-m", "agents.cli"]
REPO = Path(__file__).resolve().parents[1]


def small_workspace(root: Path, runs: int = 2, steps: float = 0.1, eval_size: int = 100) -> Workspace:
    """`intern init` plus the human's edit that makes the goal small enough for a test."""
    subprocess.run([*CLI, "init", str(root)], check=True, capture_output=True, text=True, env=_env())
    goal = yaml.safe_load((root / "intern.yaml").read_text())
    goal["budget"]["runs"] = runs
    goal["task"]["eval_size"] = eval_size
    goal["scale"]["steps"] = steps
    (root / "intern.yaml").write_text(yaml.safe_dump(goal, sort_keys=False))
    return Workspace.open(root)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def intern(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=_env(), timeout=60)


class Go:
    """`intern go DIR` running in the background; its output lines are kept with the time they arrived."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.lines: list[tuple[float, str]] = []
        self.proc = subprocess.Popen(
            [*CLI, "go", str(root)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=_env(),
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append((time.time(), line.rstrip("\n")))

    @property
    def output(self) -> str:
        return "\n".join(line for _, line in self.lines)

    def wait_for(self, what: str, condition: Callable[[], bool], timeout: float = 240, poll: float = 0.05) -> float:
        """Poll until `condition()` holds; returns when it did. Fails with the output when go ends first."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if condition():
                return time.time()
            if self.proc.poll() is not None:
                raise AssertionError(f"intern go ended before {what}:\n{self.output[-3000:]}")
            time.sleep(poll)
        raise AssertionError(f"timed out waiting for {what}:\n{self.output[-3000:]}")

    def line_after(self, since: float, needle: str) -> float | None:
        return next((t for t, line in self.lines if t >= since and needle in line), None)

    def kill9(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)  # go and its training process, as a power cut would
        self.proc.wait()
        self._reader.join(timeout=5)

    def finish(self, timeout: float = 600) -> int:
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            raise AssertionError(f"intern go did not finish in {timeout}s:\n{self.output[-3000:]}") from None
        self._reader.join(timeout=5)
        return code


def artifact_commits(root: Path, pattern: str) -> list[tuple[str, str]]:
    """(sha, artifact path) of every commit whose `Intern-Artifact` matches an extended regex, oldest first."""
    out = subprocess.run(
        [
            "git",
            "-C",
            str(root),
            "log",
            "--reverse",
            "-E",
            "--grep",
            f"^Intern-Artifact: {pattern}$",
            "--format=%H %(trailers:key=Intern-Artifact,valueonly,separator=)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [tuple(line.split(" ", 1)) for line in out.splitlines() if line.strip()]
