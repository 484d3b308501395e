"""The training subprocess never outlives `intern go`, even when go is killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from bus import Workspace


def _trainer_of(ws_root: Path) -> psutil.Process | None:
    for proc in psutil.process_iter(["cmdline"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if "agents.trainer.train_entry" in cmd and str(ws_root) in cmd:
            return proc
    return None


@pytest.mark.slow
def test_killing_go_kills_its_training_run(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    Workspace.init(root)
    go = subprocess.Popen(
        [sys.executable, "-m", "agents.cli", "go", str(root), "--no-watch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 240
        trainer = None
        while trainer is None and time.time() < deadline and go.poll() is None:
            time.sleep(0.5)
            trainer = _trainer_of(root)
        assert trainer is not None, "the loop never started a training run"
        os.kill(go.pid, signal.SIGKILL)
        go.wait()
        gone, alive = psutil.wait_procs([trainer], timeout=15)
        assert not alive, "the training process outlived intern go"
    finally:
        if go.poll() is None:
            go.kill()
        leftover = _trainer_of(root)
        if leftover is not None:
            leftover.kill()
    # The files say what happened: a configured run with no result, which the next go redoes.
    assert (root / "runs" / "run-001" / "config.yaml").exists()
    assert not (root / "runs" / "run-001" / "result.json").exists()
