"""The critic's LLM use: a narrative paragraph on top of the rule findings of a diagnosis.

The rules decide (findings, significance, kept, recommendation); the paragraph only explains them
in prose and is appended under its own heading, marked as the LLM's. Nothing in the Diagnosis's
fields comes from the model.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from agents.brain.ask import ask, current
from bus import Workspace
from bus.schemas import Diagnosis

TASK = (
    "You are the critic. In one paragraph (at most 8 sentences), explain to the person running this "
    "experiment what the `diagnosis` found, why the recommendation follows, and what to watch next. Use only "
    "the figures given; do not invent numbers, and do not change or dispute the findings or the keep decision."
)


class Narrative(BaseModel):
    model_config = ConfigDict(extra="forbid")
    paragraph: str = Field(min_length=20, max_length=2000)


def narrative_section(ws: Workspace, diagnosis: Diagnosis) -> tuple[str, str]:
    """Markdown to append to the diagnosis body ("" when there is none) and the note for the commit."""
    brain = current(ws)
    if not brain.on:
        return "", ""
    facts = diagnosis.model_dump(exclude={"body", "written"})
    answer, note = ask(brain, TASK, Narrative, {"diagnosis": facts})
    if answer is None:
        return "", note
    # One paragraph of prose: no headings or rules of its own that could pass for the critic's sections.
    text = " ".join(answer.paragraph.split()).lstrip("#-=> ")
    section = (
        f"\n\n## Narrative\n\n_Written by the LLM brain ({brain.spec}) from the findings above; the findings, "
        f"the keep decision and the recommendation are the rules', not the LLM's._\n\n{text}\n"
    )
    return section, note
