"""A human steers a real `intern go` while it runs: plan edits, a revert, stop, and kill -9 at several points.

Each test runs the embedded task end to end in a subprocess (tests/steering_harness.py) on a
small goal, watches the workspace's files and the process's output, and acts when the state it
waits for is reached, as a person at a second terminal would. Nothing is mocked.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
import yaml

from agents.common import state
from bus import Workspace
from tests.steering_harness import Go, artifact_commits, intern, small_workspace

pytestmark = pytest.mark.slow

HUMAN_ITEM = "curator: prepare the training data before anything else"


def _insert(path: Path, heading: str, lines: list[str]) -> None:
    text = path.read_text()
    path.write_text(text.replace(f"## {heading}\n", f"## {heading}\n" + "".join(f"{ln}\n" for ln in lines), 1))


def test_a_queue_item_and_a_rule_added_mid_run_are_followed(tmp_path: Path) -> None:
    ws = small_workspace(tmp_path / "ws")
    go = Go(ws.root)
    try:
        go.wait_for("the base evaluation", lambda: ws.exists("reports/base-evaluation.md"))
        edited = time.time()
        _insert(ws.path("plan.md"), "Queue", [f"- [ ] {HUMAN_ITEM}"])
        _insert(ws.path("plan.md"), "Rules", ["- max learning_rate: 1e-4"])
        go.wait_for("run-001's config", lambda: ws.exists("runs/run-001/config.yaml"))
        assert intern("stop", str(ws.root), "--now").returncode == 0
        assert go.finish() == 0, go.output[-3000:]
    finally:
        if go.proc.poll() is None:
            go.kill9()
    steps = [line.split(": ", 1)[1] for t, line in go.lines if t > edited and "] step " in line]
    assert steps[0] == HUMAN_ITEM, go.output  # the next decision took the human's item
    assert f"- [x] {HUMAN_ITEM} — done:" in ws.read_text("plan.md")
    config = ws.load("runs/run-001/config.yaml")
    assert config.learning_rate == 1e-4  # the recipe's 1e-3, moved to the rule's bound
    message = ws.repo.git.log("-1", "--format=%B", "--", "runs/run-001/config.yaml")
    assert "by the rules: learning_rate 0.001 -> 0.0001 (rule `max learning_rate: 1e-4`)" in message
    assert "stopped by the human (intern stop --now)" in go.output
    assert "stopped by the human (intern stop --now)" in ws.read_text("reports/summary.md")
    # A cancel is a cancel: recorded as such, not diagnosed as a failure, not a spent run.
    assert ws.load("runs/run-001/result.json").status == "cancelled"
    assert not ws.exists("runs/run-001/diagnosis.md")
    assert "| run-001 | sft | base |" in ws.read_text("reports/summary.md") and "| cancelled |" in ws.read_text(
        "reports/summary.md"
    )
    assert "used: 0 of 2 runs" in intern("status", str(ws.root)).stdout
    assert ws.plan().rules() == ["max learning_rate: 1e-4"]  # the human's lines are still there
    human = [c for c in ws.history() if c.agent is None]
    assert any("plan.md" in c.summary for c in human)  # the edit is committed as the human's


def test_a_dataset_card_reverted_mid_run_is_never_used_again(tmp_path: Path) -> None:
    ws = small_workspace(tmp_path / "ws", runs=1)
    go = Go(ws.root)
    try:
        go.wait_for("a dataset card", lambda: artifact_commits(ws.root, r"datasets/[^/]+/README\.md"), poll=0.02)
        sha, card = artifact_commits(ws.root, r"datasets/[^/]+/README\.md")[0]
        result = intern("revert", sha, "-C", str(ws.root))
        assert result.returncode == 0, result.stderr
        assert go.finish() == 0, go.output[-3000:]
    finally:
        if go.proc.poll() is None:
            go.kill9()
    name = card.split("/")[1]
    assert card in state.withdrawn(ws)
    assert f"{card} is withdrawn from the loop" in go.output
    configs = [ws.load(f"runs/{r.name}/config.yaml") for r in sorted((ws.root / "runs").glob("run-*"))]
    assert all(c.dataset != name for c in configs), [c.dataset for c in configs]
    assert "withdrawn by a human: " + card in ws.read_text("plan.md")


def _fsck(root: Path) -> str:
    proc = subprocess.run(["git", "-C", str(root), "fsck", "--strict"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def _kill_when(ws: Workspace, what: str, condition, poll: float = 0.005) -> str:
    """Start intern go, kill -9 it (and its training process) once `condition(go)` holds; its output."""
    go = Go(ws.root)
    try:
        go.wait_for(what, lambda: condition(go), poll=poll)
    finally:
        go.kill9()
    return go.output


def _evaluating(ws: Workspace, go: Go) -> bool:
    """The critic's step on run-001 has started after its result was committed, and has not written yet."""
    started = go.line_after(0, "critic: evaluate and diagnose")
    if started is None or ws.exists("runs/run-001/evaluation.md"):
        return False
    return bool(artifact_commits(ws.root, r"runs/run-001/result\.json")) and time.time() - started > 1.0


def test_kill_9_at_several_points_then_go_finishes_with_a_clean_history(tmp_path: Path) -> None:
    ws = small_workspace(tmp_path / "ws", runs=1, eval_size=60)
    writing = ws.state_dir / "writing.json"
    outputs = [
        # 1. during an artifact write: between the journal entry and its commit
        _kill_when(ws, "an artifact write", lambda go: writing.exists(), poll=0.001),
        # 2. during training: metrics are being written by the training process
        _kill_when(ws, "training", lambda go: bool(state.read_metrics(ws.path("runs/run-001/metrics.jsonl")))),
        # 3. during evaluation: the run's result is committed, the critic is evaluating it
        _kill_when(ws, "run-001's evaluation", lambda go: _evaluating(ws, go), poll=0.05),
    ]
    go = Go(ws.root)
    assert go.finish() == 0, go.output[-3000:]
    restarts = "\n".join(outputs[1:] + [go.output])
    print(restarts)  # what each restart repaired, for the record (pytest -s)
    assert "recovering:" in restarts  # at least one restart found something to repair, and said so
    _fsck(ws.root)
    assert not ws.repo.is_dirty(untracked_files=True)
    assert state.invalid_artifacts(ws) == []
    assert [c for c in ws.history() if c.agent is None and c.summary.startswith("Human edit")][0].summary == (
        "Human edit of intern.yaml"  # the only human edit is the goal; nothing of the agents' was swept up
    )
    assert len([c for c in ws.history() if c.agent is None and c.summary.startswith("Human edit")]) == 1
    configs = artifact_commits(ws.root, r"runs/run-[0-9]+/config\.yaml")
    assert len(configs) == len({path for _, path in configs})  # one config commit per run id: no duplicate
    results = artifact_commits(ws.root, r"runs/run-[0-9]+/result\.json")
    assert len(results) == len({path for _, path in results})
    runs = state.runs(ws)
    assert runs and all(r.result is not None and r.diagnosis is not None for r in runs)
    assert "Why the loop stopped:" in ws.read_text("reports/summary.md")
    assert yaml.safe_load(ws.read_text("intern.yaml"))["budget"]["runs"] == 1


def test_pause_resume_and_stop_from_another_terminal(tmp_path: Path) -> None:
    ws = small_workspace(tmp_path / "ws")
    go = Go(ws.root)
    try:
        go.wait_for("the first step", lambda: go.line_after(0, "] step 1:") is not None)
        assert intern("pause", str(ws.root)).returncode == 0
        paused = go.wait_for("the pause", lambda: go.line_after(0, "paused (run `intern resume`") is not None)
        assert "paused" in intern("status", str(ws.root)).stdout
        time.sleep(1.5)
        assert go.line_after(paused, "] step ") is None  # nothing runs while paused
        _insert(ws.path("plan.md"), "Queue", ["- [ ] researcher: look at carries while I was away"])
        assert intern("resume", str(ws.root)).returncode == 0
        go.wait_for("the item added while paused", lambda: go.line_after(paused, "look at carries") is not None)
        assert intern("stop", str(ws.root)).returncode == 0
        assert go.finish() == 0, go.output[-3000:]
    finally:
        if go.proc.poll() is None:
            go.kill9()
    steps = [line for t, line in go.lines if t > paused and "] step " in line]
    assert "researcher: look at carries while I was away" in steps[0]
    assert "stopped by the human (intern stop)" in ws.read_text("reports/summary.md")
    assert intern("stop", str(ws.root)).returncode == 2  # nothing left to stop
