"""A training run that dies for real (NaN loss, SIGKILL) leaves a failed RunResult with its cause, and the loop goes on.

Real training processes on the embedded tiny model: the NaN comes from a parent checkpoint whose
weights are NaN, the kill is a SIGKILL sent to the running training process (what the kernel's
OOM killer does).
"""

from __future__ import annotations

import threading
import time

import psutil
import pytest
from safetensors.torch import load_file, save_file

from agents.common import state
from agents.trainer.trainer import trainer_step
from bus import sha256_tree


def _poison(checkpoint) -> None:
    weights = load_file(checkpoint / "model.safetensors")
    save_file(
        {k: v.float().fill_(float("nan")).to(v.dtype) for k, v in weights.items()}, checkpoint / "model.safetensors"
    )


@pytest.mark.slow
def test_a_nan_loss_fails_the_run_with_its_step_and_the_loop_goes_on(trainable, finish_run, tmp_path):
    ws = trainable(parent_run="run-001")
    checkpoint = ws.path(finish_run(ws, tmp_path / "models"))
    _poison(checkpoint)
    # The parent run produced these NaN weights (its record says so), so the integrity check passes them on.
    result = ws.load("runs/run-001/result.json")
    result.checkpoint_sha256 = sha256_tree(checkpoint)
    ws.write_artifact("trainer", "runs/run-001/result.json", result, "Result of run-001")
    outcome = trainer_step(ws)
    assert not outcome.ok and outcome.summary.startswith("run-002 failed")
    result = ws.load("runs/run-002/result.json")
    assert result.status == "failed"
    assert result.error.startswith("non-finite loss or gradient (NaN/inf) at step 1")
    assert "FloatingPointError" in result.log_tail
    assert ws.exists("runs/run-002/metrics.jsonl")  # the rows up to the NaN are kept for the critic
    # The failed run is finished business: the next step neither reruns nor crashes.
    again = trainer_step(ws)
    assert again.summary == "no untested hypothesis to run"


def _kill_training_once_it_logs(ws, killed: list[int]) -> None:
    metrics = ws.path("runs/run-001/metrics.jsonl")
    deadline = time.time() + 120
    while time.time() < deadline:
        if metrics.exists() and metrics.read_text().strip():
            for proc in psutil.process_iter(["cmdline"]):
                cmd = " ".join(proc.info["cmdline"] or [])
                if "agents.trainer.train_entry" in cmd and str(ws.root) in cmd:
                    proc.kill()
                    killed.append(proc.pid)
                    return
        time.sleep(0.1)


@pytest.mark.slow
def test_a_sigkilled_run_fails_as_a_probable_oom_and_the_loop_goes_on(trainable):
    ws = trainable(steps=1.0)  # 800 steps: it is killed long before the end
    killed: list[int] = []
    killer = threading.Thread(target=_kill_training_once_it_logs, args=(ws, killed))
    killer.start()
    outcome = trainer_step(ws)
    killer.join()
    assert killed, "the training process was never seen logging"
    result = ws.load("runs/run-001/result.json")
    assert result.status == "failed" and result.error.startswith("killed by SIGKILL (out of memory?)")
    assert "training on 40 rows" in result.log_tail
    assert not outcome.ok and "killed by SIGKILL" in outcome.summary
    assert [r.id for r in state.runs(ws) if r.result is None] == []
