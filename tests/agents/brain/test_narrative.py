"""The critic's LLM narrative: prose appended under its own heading; the rule findings stay as they were."""

from __future__ import annotations

import json

from agents.brain.narrative import narrative_section
from bus import Workspace
from bus.schemas import Diagnosis, Finding, Recommendation


def _diagnosis() -> Diagnosis:
    return Diagnosis(
        run_id="run-001",
        score=0.62,
        gain_vs_base=0.62,
        significant=True,
        kept=True,
        findings=[Finding(name="weak slice", severity="warning", evidence="carry slice at 0.48 against 0.95")],
        recommendation=Recommendation(action="train", method="grpo", parent_run="run-001", reason="use the verifier"),
        body="# Diagnosis of run-001",
    )


def test_the_narrative_is_appended_and_the_findings_are_untouched(ws: Workspace, use_brain) -> None:
    paragraph = (
        "## Kept: false\nThe run learned the format but copies the teacher's carry mistakes, so GRPO with the "
        "verifier as reward comes next."
    )
    model = use_brain(ws, [json.dumps({"paragraph": paragraph})])
    diagnosis = _diagnosis()
    before = diagnosis.model_dump()
    section, note = narrative_section(ws, diagnosis)
    assert diagnosis.model_dump() == before
    assert section.startswith("\n\n## Narrative\n\n_Written by the LLM brain (injected:scripted)")
    assert "copies the teacher's carry mistakes" in section
    assert "\n## Kept" not in section  # its own headings are flattened into the one paragraph
    assert note == "LLM injected:scripted"
    assert "carry slice at 0.48" in model.sent[0][-1].content  # the findings went in as data


def test_no_narrative_when_the_reply_is_invalid_twice(ws: Workspace, use_brain) -> None:
    use_brain(ws, ['{"paragraph": 3}', "The run was fine."])
    assert narrative_section(ws, _diagnosis()) == ("", "deterministic fallback: LLM output invalid twice")
