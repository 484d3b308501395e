"""Which slice the next dataset should lift, read from the files: the instruction, the hypothesis, the diagnosis.

In order: a queue instruction that names a slice (a human's `- [ ] curator: more carry problems`), the
hypothesis's `data_change`, then the critic's diagnosis the hypothesis answers (its "weak slice" finding,
or a remedy whose data action names a slice). The reason is written into the dataset card.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agents.common import state
from bus import Workspace, layout
from bus.schemas import Diagnosis, Hypothesis


@dataclass(frozen=True)
class Target:
    slice: str
    reason: str


def _mentions(text: str, name: str) -> bool:
    """`carry` matches "carry", "carries", "Carry"; `no_carry` also "no carry" and "no-carry"."""
    words = re.split(r"[_\-\s]+", name.lower())
    stem = r"[\s_\-]+".join(re.escape(w) for w in words[:-1])
    last = re.escape(words[-1])
    if last.endswith("y"):
        last = last[:-1] + "(?:y|ies)"
    else:
        last += "s?"
    pattern = (stem + r"[\s_\-]+" if stem else "") + last
    return re.search(rf"(?<![\w]){pattern}(?!\w)", text.lower()) is not None


def named_slice(text: str | None, slices: list[str]) -> str | None:
    """The slice a free text names; longer names first, so "no carry" is not read as "carry"."""
    if not text:
        return None
    for name in sorted(slices, key=len, reverse=True):
        if _mentions(text, name):
            return name
    return None


def _diagnosis_for(ws: Workspace, hyp: Hypothesis | None) -> tuple[str, Diagnosis] | None:
    if hyp is not None and hyp.based_on and hyp.based_on.endswith("diagnosis.md") and ws.exists(hyp.based_on):
        found = ws.load(hyp.based_on)
        if isinstance(found, Diagnosis):
            return hyp.based_on, found
    diagnosed = [r for r in state.runs(ws) if r.diagnosis is not None]
    if diagnosed:
        return layout.run_diagnosis(diagnosed[-1].id), diagnosed[-1].diagnosis
    return None


def weak_slice(ws: Workspace, hyp: Hypothesis | None, instruction: str, slices: list[str]) -> Target | None:
    asked = named_slice(instruction, slices)
    if asked:
        return Target(asked, f"the queue item `{instruction.strip()}` asks for it")
    if hyp is not None:
        changed = named_slice(hyp.data_change, slices)
        if changed:
            return Target(changed, f"hypothesis {hyp.id} asks for it: {hyp.data_change}")
    found = _diagnosis_for(ws, hyp)
    if found is None:
        return None
    path, diagnosis = found
    for finding in diagnosis.findings:
        if finding.name == "weak slice" and finding.metric and finding.metric.startswith("exact_match/"):
            name = finding.metric.split("/", 1)[1]
            if name in slices:
                return Target(name, f"the critic's diagnosis ({path}) finds it weak: {finding.evidence}")
        for remedy in finding.remedies:
            named = named_slice(remedy.data_action, slices)
            if named:
                return Target(named, f"a remedy in {path} ({finding.name}) says: {remedy.data_action}")
    return None


def evaluated_slices(ws: Workspace) -> list[str]:
    """Slice names the critic has scored (tasks without a fixed slice list get theirs from the evaluations)."""
    names: set[str] = set()
    base = state.base_evaluation(ws)
    if base is not None:
        names |= set(base.slices)
    for run in state.runs(ws):
        if run.evaluation is not None:
            names |= set(run.evaluation.slices)
    return sorted(names)
