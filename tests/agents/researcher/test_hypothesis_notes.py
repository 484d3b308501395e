"""A human's line in a hypothesis survives the researcher rewriting its Status section."""

from __future__ import annotations

from agents.researcher.hypotheses import known_hypotheses, update_statuses
from bus import Workspace
from bus.schemas import RunResult

HYP = "hypotheses/H0001-sft.md"


def test_a_note_under_a_hypothesis_status_is_moved_to_its_notes(ws: Workspace, make_hypothesis, make_config) -> None:
    hyp = make_hypothesis(body="# Hypothesis H0001\n\nTry SFT.\n\n## Status\n\n**proposed**.")
    ws.write_artifact("researcher", HYP, hyp, "Propose H0001")
    ws.path(HYP).write_text(ws.read_text(HYP) + "\nAda: I expect this to fail on carries.\n")  # under Status
    ws.write_artifact("trainer", "runs/run-001/config.yaml", make_config(hypothesis=HYP), "Configure run-001")
    result = RunResult(
        run_id="run-001", method="sft", status="failed", started="a", finished="b", wall_seconds=1, steps=0
    )
    ws.write_artifact("trainer", "runs/run-001/result.json", result, "Result")
    assert update_statuses(ws, known_hypotheses(ws))  # proposed -> running: the Status section is regenerated
    text = ws.read_text(HYP)
    assert "**running**" in text
    assert text.rstrip().endswith("## Notes\nAda: I expect this to fail on carries.")
    assert any("kept your words" in n and HYP in n and "(Status)" in n for n in ws.take_notices())
