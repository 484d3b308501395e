"""An agent's record changed by hand is asked about once in plan.md; a human's own file and a revert are not."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from agents.common import records
from bus import Workspace

CARD_JSON = "datasets/addition-d2-teacher50-s0/card.json"
FIGURES = json.dumps({"name": "addition-d2-teacher50-s0", "rows": 4000, "verdict": "accepted"}, indent=2) + "\n"


def _truncate(ws: Workspace, rel: str) -> None:
    ws.path(rel).write_text(ws.read_text(rel)[:30])


def test_only_an_agents_record_changed_by_a_human_is_a_hand_edit(ws: Workspace) -> None:
    ws.write_artifact("curator", CARD_JSON, FIGURES, "Figures of the dataset")
    ws.path("datasets/mine/card.json").parent.mkdir(parents=True)
    ws.path("datasets/mine/card.json").write_text('{"mine": true}\n')  # the human's own file: theirs to edit
    ws.commit_human_edits()
    assert records.hand_edits(ws) == []
    _truncate(ws, CARD_JSON)
    [uncommitted] = records.hand_edits(ws)
    assert (uncommitted.path, uncommitted.agent, uncommitted.sha) == (CARD_JSON, "curator", None)
    sha = ws.commit_human_edits()
    [edit] = records.hand_edits(ws)
    assert (edit.path, edit.agent, edit.sha) == (CARD_JSON, "curator", sha)
    [question] = records.new_questions(ws)
    assert question.startswith(f"{CARD_JSON} is the curator's record and ") and f"intern revert {sha[:8]}" in question
    assert records.new_questions(ws) == []  # asked once, not at every decision
    ws.revert(sha)  # the curator's own version back: no longer a hand edit
    assert records.hand_edits(ws) == []


def test_go_asks_about_a_truncated_card_json_in_plan_md(ws: Workspace, finish_run, set_goal, tmp_path) -> None:
    set_goal(ws, budget={"runs": 1}, task={"eval_size": 20})
    finish_run(ws, tmp_path / "models")
    ws.write_artifact("curator", CARD_JSON, FIGURES, "Figures of the dataset")
    _truncate(ws, "runs/run-001/result.json")  # so the 1-run budget is spent at once and go stops quickly
    _truncate(ws, CARD_JSON)
    env = {"PYTHONPATH": str(Path(__file__).resolve().parents[2]), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    go = subprocess.run(
        [sys.executable, "-m", "agents.cli", "go", "--no-watch", str(ws.root)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert go.returncode == 0, go.stdout[-3000:] + go.stderr
    asked = [q for q in ws.plan().questions() if q.startswith(f"{CARD_JSON} is the curator's record")]
    assert len(asked) == 1 and "its figures are no longer the curator's" in asked[0], ws.plan().questions()
    assert f"question: {CARD_JSON} is the curator's record" in go.stdout
