"""A kept checkpoint damaged after it was recorded: no run starts from it, `intern go` stops with exit 4."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agents.common import checkpoint_integrity
from agents.critic.contamination_check import check_training_data
from agents.critic.evaluate import split_paths
from bus import Workspace, sha256_file, sha256_tree

from ..conftest import _make_hypothesis, _set_goal
from ..exportable import build_exportable

REPO = Path(__file__).resolve().parents[3]
CKPT = "runs/run-001/checkpoint"


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # a full disk, a copy cut short


@pytest.fixture(scope="module")
def kept_parent_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """run-001 trained, evaluated and kept; h-002 asks to train again from it; the data is checked; 3 runs allowed."""
    ws = build_exportable(tmp_path_factory.mktemp("kept") / "ws")
    _set_goal(ws, budget={"runs": 3})
    hyp = _make_hypothesis(id="h-002", title="SFT again from run-001", parent_run="run-001", body="# Hypothesis h-002")
    ws.write_artifact("researcher", "hypotheses/h-002.md", hyp, "Hypothesis h-002")
    split_rel, _ = split_paths(ws.goal())
    check_training_data(ws, split_rel, sha256_file(ws.path(split_rel)))
    return ws.root


@pytest.fixture
def kept_parent(kept_parent_template: Path, tmp_path: Path) -> Workspace:
    shutil.copytree(kept_parent_template, tmp_path / "ws", symlinks=True)
    ws = Workspace.open(tmp_path / "ws")
    checkpoint_integrity.record(ws, CKPT)  # as the trainer does when it records run-001's result
    return ws


def test_go_stops_with_exit_4_naming_the_damaged_parent_file_and_trains_nothing(kept_parent: Workspace) -> None:
    ws = kept_parent
    plan = ws.path("plan.md")
    plan.write_text(plan.read_text().replace("## Queue\n", "## Queue\n- [ ] trainer: run h-002 from run-001\n", 1))
    _truncate(ws.path(f"{CKPT}/model.safetensors"))
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": str(ws.root.parent), "HF_HUB_OFFLINE": "1"}
    go = subprocess.run(
        [sys.executable, "-m", "agents.cli", "go", "--no-watch", str(ws.root)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    out = go.stdout + go.stderr
    assert go.returncode == 4, out[-3000:]
    assert "integrity check failed" in out and f"{CKPT}/model.safetensors changed" in out, out[-3000:]
    assert not ws.exists("runs/run-002"), "a run was configured or trained from the damaged checkpoint"
    assert "integrity check failed" in ws.read_text("reports/summary.md")


def test_an_unchanged_checkpoint_is_not_read_again_and_any_write_is_seen(
    kept_parent: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = kept_parent
    reads: list[str] = []
    real = checkpoint_integrity.sha256_file
    monkeypatch.setattr(checkpoint_integrity, "sha256_file", lambda p: reads.append(p.name) or real(p))
    assert checkpoint_integrity.mismatch(ws, "run-001") is None
    assert reads == []  # every file's size and mtime as recorded: nothing hashed again
    weights = ws.path(f"{CKPT}/model.safetensors")
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # one byte flipped, same size
    weights.write_bytes(bytes(data))
    problem = checkpoint_integrity.mismatch(ws, "run-001")
    assert reads == ["model.safetensors"] and problem is not None
    assert problem.startswith(f"{CKPT}/model.safetensors changed:") and "result.json records" in problem
    # The export's check reads every byte, whatever the cache says, and agrees with bus.sha256_tree.
    assert checkpoint_integrity.tree_hash(ws, CKPT, full=True).sha256 == sha256_tree(ws.path(CKPT))
