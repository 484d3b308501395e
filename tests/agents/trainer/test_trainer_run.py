"""A short real run through the trainer step: the checkpoint and its hash, and the run's curves in Trackio."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agents.common import state
from agents.models.loading import load_model
from agents.trainer.trainer import trainer_step
from bus import sha256_tree


def _trackio_metric(trackio_dir: Path, project: str, run: str, metric: str) -> dict:
    """Read a metric back with trackio's own CLI (`trackio get metric ... --json`), as a user would."""
    exe = str(Path(sys.executable).with_name("trackio"))
    cmd = [exe, "get", "metric", "--project", project, "--run", run, "--metric", metric, "--json"]
    out = subprocess.run(cmd, env={**os.environ, "TRACKIO_DIR": str(trackio_dir)}, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads(out.stdout)


@pytest.mark.slow
def test_a_short_sft_run_succeeds_and_logs_to_the_workspace_trackio(trainable):
    ws = trainable()  # 10 SFT steps
    outcome = trainer_step(ws)
    assert outcome.ok, outcome.summary
    result = ws.load("runs/run-001/result.json")
    assert result.status == "succeeded" and result.steps == 10
    config = ws.load("runs/run-001/config.yaml")  # the run, its dataset and its hypothesis name each other
    assert ws.load(f"datasets/{config.dataset}/README.md").hypothesis == config.hypothesis == "hypotheses/h-001.md"
    assert result.checkpoint_sha256 == sha256_tree(ws.path("runs/run-001/checkpoint"))
    load_model(str(ws.path("runs/run-001/checkpoint")))

    loss = _trackio_metric(ws.state_dir / "trackio", ws.root.name, "run-001", "train/loss")
    logged = [row["loss"] for row in state.read_metrics(ws.path("runs/run-001/metrics.jsonl")) if "loss" in row]
    assert [v["value"] for v in loss["values"]] == pytest.approx(logged)  # the same curve, every logged step
    assert len(logged) == 10
    ws.repo.git.check_ignore(".intern/trackio/ws.db")  # raises when git would track it


@pytest.mark.slow
def test_a_run_whose_deadline_comes_mid_training_is_saved_and_scored_as_cut(trainable):
    """8000 planned SFT steps and a deadline ~40 s away: the run stops itself, saves, and the critic scores it."""
    import time

    from agents.critic.critic import critic_step

    ws = trainable(steps=10.0)  # 800 * 10 = 8000 steps: far more than the time it has
    started = time.time()
    outcome = trainer_step(ws, deadline=started + 40)
    assert outcome.ok, outcome.summary
    assert time.time() < started + 40 + 15  # stopped by itself near the deadline, not killed after the grace
    result = ws.load("runs/run-001/result.json")
    assert result.status == "succeeded" and result.cut == "the budget's deadline"
    assert result.planned_steps == 8000 and 1 <= result.steps < 8000
    assert result.checkpoint_sha256 == sha256_tree(ws.path("runs/run-001/checkpoint"))
    assert f"cut at step {result.steps} of 8000" in outcome.summary
    # The record of the cut lives in result.json; nothing stray is left for the watcher to commit as a human's.
    assert ws.pending_human_edits() == []

    judged = critic_step(ws)
    assert "run-001" in judged.summary
    evaluation, diagnosis = ws.load("runs/run-001/evaluation.md"), ws.load("runs/run-001/diagnosis.md")
    assert evaluation.subject == "run-001" and diagnosis.score == evaluation.score
    cut = next(f for f in diagnosis.findings if f.name == "run cut short")
    assert cut.evidence.startswith(f"cut at step {result.steps} of 8000: the budget's deadline")
