"""What `intern go` repairs at start after a crash: real repositories left as a killed process leaves them."""

from __future__ import annotations

import pytest

from agents.common import recovery, state
from bus import Workspace

CARD = "datasets/addition-d2-teacher50-s0/README.md"


def test_a_clean_workspace_needs_no_repair(ws: Workspace) -> None:
    assert recovery.recover(ws) == []


def test_a_stale_index_lock_is_removed_and_commits_work_again(ws: Workspace, make_card) -> None:
    (ws.root / ".git" / "index.lock").write_text("")
    (ws.root / ".git" / "refs" / "heads" / "main.lock").write_text("")
    notes = recovery.recover(ws)
    assert notes == [
        "removed the stale git lock .git/index.lock",
        "removed the stale git lock .git/refs/heads/main.lock",
    ]
    ws.write_artifact("curator", CARD, make_card(), "Dataset card")
    assert ws.history()[0].artifact == CARD


def test_an_artifact_written_but_not_committed_is_committed_as_its_agent(
    ws: Workspace, make_card, monkeypatch: pytest.MonkeyPatch
) -> None:
    def killed(*args, **kwargs):  # the process dies between the file's rename and its commit
        raise SystemExit("killed")

    monkeypatch.setattr(ws, "_commit", killed)
    with pytest.raises(SystemExit):
        ws.write_artifact("curator", CARD, make_card(), "Dataset card for addition")
    again = Workspace.open(ws.root)  # the next intern go
    assert again.pending_human_edits() == [CARD]
    notes = recovery.recover(again)
    assert len(notes) == 1 and notes[0].startswith("committed an artifact written just before the crash")
    head = again.history()[0]
    assert (head.agent, head.artifact) == ("curator", CARD)
    assert head.summary == "Dataset card for addition (committed after a restart)"
    assert again.pending_human_edits() == []


def test_a_file_a_human_changed_after_the_crash_stays_theirs(
    ws: Workspace, make_card, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ws, "_commit", lambda *a, **k: (_ for _ in ()).throw(SystemExit("killed")))
    with pytest.raises(SystemExit):
        ws.write_artifact("curator", CARD, make_card(), "Dataset card")
    again = Workspace.open(ws.root)
    again.path(CARD).write_text(again.read_text(CARD) + "\nA human's line.\n")
    assert recovery.recover(again) == []
    assert again.pending_human_edits() == [CARD]  # committed as the human's edit by the next write


def test_an_interrupted_run_is_cleared_for_a_fresh_retry_under_the_same_id(ws: Workspace, make_config) -> None:
    ws.write_artifact("trainer", "runs/run-001/config.yaml", make_config(), "Configure run-001")
    run_dir = ws.path("runs/run-001")
    (run_dir / "metrics.jsonl").write_text('{"step": 1, "loss": 2.0}\n{"step": 2, "lo')
    (run_dir / "checkpoint").mkdir()
    (run_dir / "checkpoint" / "model.safetensors").write_bytes(b"half")
    (run_dir / "config.yaml.tmp-123-456").write_text("half")
    (ws.root / "runs" / "run-002").mkdir()
    (ws.root / "runs" / "run-002" / "config.yaml.tmp-9-9").write_text("half")  # killed before its rename
    notes = recovery.recover(ws)
    assert (
        "run-001 was interrupted; it will be trained again from its config with a fresh output "
        "(removed runs/run-001/checkpoint/, runs/run-001/metrics.jsonl)" in notes
    )
    assert not (run_dir / "metrics.jsonl").exists() and not (run_dir / "checkpoint").exists()
    assert not (run_dir / "config.yaml.tmp-123-456").exists()
    assert ws.pending_human_edits() == []
    assert not (ws.root / "runs" / "run-002").exists()
    assert state.next_run_id(ws) == "run-002" and [r.id for r in state.runs(ws)] == ["run-001"]


def _kept_chain(ws: Workspace, make_config, make_evaluation) -> None:
    """run-001 (kept, the parent) and run-002 from it; both with checkpoints on disk."""
    from bus.schemas import RunResult

    for run, parent in (("run-001", None), ("run-002", "run-001")):
        ws.write_artifact("trainer", f"runs/{run}/config.yaml", make_config(run_id=run, parent_run=parent), "Configure")
        result = RunResult(
            run_id=run, method="sft", status="succeeded", started="t0", finished="t1", wall_seconds=1.0, steps=10
        )
        ws.write_artifact("trainer", f"runs/{run}/result.json", result, f"Result of {run}")
        ws.write_artifact("critic", f"runs/{run}/evaluation.md", make_evaluation(0.5, subject=run), "Evaluate")
        (ws.path(f"runs/{run}/checkpoint")).mkdir()
        ws.path(f"runs/{run}/checkpoint/model.safetensors").write_bytes(b"weights")


def test_a_truncated_result_is_a_question_and_loses_no_checkpoint(ws: Workspace, make_config, make_evaluation) -> None:
    _kept_chain(ws, make_config, make_evaluation)
    result = ws.path("runs/run-001/result.json")
    result.write_text(result.read_text()[:40])  # truncated (a full disk, a bad copy)
    notes = recovery.recover(ws)
    assert len(notes) == 1 and "runs/run-001/result.json is there but unreadable" in notes[0]
    assert "nothing of run-001 was removed or retrained" in notes[0]
    assert ws.path("runs/run-001/checkpoint/model.safetensors").read_bytes() == b"weights"
    assert ws.path("runs/run-002/checkpoint/model.safetensors").exists()
    run = state.runs(ws)[0]
    assert recovery.result_unreadable(ws, run) and not recovery.interrupted(ws, run)
    recovery.write_notes(ws)
    assert any("runs/run-001/result.json is there but unreadable" in q for q in ws.plan().questions())


def test_a_parents_checkpoint_is_never_removed(ws: Workspace, make_config, make_evaluation) -> None:
    _kept_chain(ws, make_config, make_evaluation)
    ws.path("runs/run-001/result.json").unlink()  # deleted by hand: looks interrupted, but run-002 is its child
    notes = recovery.recover(ws)
    assert notes == [
        "question: run-001 has no result but its checkpoint stays (it is the parent of run-002); nothing was removed"
    ]
    assert ws.path("runs/run-001/checkpoint/model.safetensors").exists()


def test_a_run_with_an_unreadable_result_still_spends_the_budget(ws: Workspace, finish_run, set_goal, tmp_path) -> None:
    """`intern status` and a real `intern go`: the damaged run counts, so a 1-run budget trains nothing more."""
    import subprocess
    import sys
    from pathlib import Path

    set_goal(ws, budget={"runs": 1}, task={"eval_size": 20})
    finish_run(ws, tmp_path / "models")
    result = ws.path("runs/run-001/result.json")
    result.write_text(result.read_text()[:40])  # truncated by hand or by a full disk
    env = {"PYTHONPATH": str(Path(__file__).resolve().parents[2]), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    cli = [sys.executable, "-m", "agents.cli"]
    status = subprocess.run([*cli, "status", str(ws.root)], capture_output=True, text=True, env=env, timeout=120)
    assert "run-001  sft   unreadable result" in status.stdout and "used: 1 of 1 runs" in status.stdout, status.stdout
    go = subprocess.run([*cli, "go", "--no-watch", str(ws.root)], capture_output=True, text=True, env=env, timeout=300)
    assert go.returncode == 0 and "budget spent: 1 of 1 runs used" in go.stdout, go.stdout[-3000:] + go.stderr
    assert not ws.exists("runs/run-002")
    assert any("runs/run-001/result.json is there but unreadable" in q for q in ws.plan().questions())
