"""plan.md: the shared control surface between the supervisor and the humans.

The file is split into `## ` sections and rendered back byte for byte, so an edit touches
only the section it means to. The supervisor owns Goal and Status; it may tick and append
Queue items and append Questions; it never edits Rules and never drops a human's line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from bus.errors import PathRuleError

SUPERVISOR_SECTIONS = ("Goal", "Status")
HUMAN_SECTIONS = ("Rules",)
_ITEM = re.compile(r"^\s*- \[( |x|X)\] (.+?)\s*$")
_AGENT_ACTION = re.compile(r"^(\w+):\s*(.+)$")
DONE_MARK = " — "


@dataclass(frozen=True)
class QueueItem:
    line_no: int  # index within the Queue section's lines
    checked: bool
    text: str
    agent: str | None
    action: str


@dataclass
class Plan:
    preamble_lines: list[str]  # lines above the first `## ` heading
    sections: list[tuple[str, list[str]]]  # (heading, body lines)

    @classmethod
    def parse(cls, text: str) -> Plan:
        # split("\n") (not splitlines) so that render() gives back the exact bytes, trailing newlines included.
        preamble: list[str] = []
        sections: list[tuple[str, list[str]]] = []
        for line in text.split("\n"):
            if line.startswith("## "):
                sections.append((line[3:].strip(), []))
            elif sections:
                sections[-1][1].append(line)
            else:
                preamble.append(line)
        return cls(preamble, sections)

    @property
    def preamble(self) -> str:
        return "\n".join(self.preamble_lines)

    @preamble.setter
    def preamble(self, text: str) -> None:
        self.preamble_lines = text.split("\n")

    def render(self) -> str:
        out = list(self.preamble_lines)
        for name, body in self.sections:
            out.append(f"## {name}")
            out.extend(body)
        return "\n".join(out)

    def section(self, name: str) -> list[str]:
        for heading, body in self.sections:
            if heading.lower() == name.lower():
                return body
        if self.sections and self.sections[-1][1] and self.sections[-1][1][-1] != "":
            self.sections[-1][1].append("")
        body: list[str] = ["", ""]
        self.sections.append((name, body))  # a human deleted it: put it back at the end
        return body

    def set_section(self, name: str, content: str) -> None:
        body = self.section(name)
        body[:] = [""] + content.strip("\n").splitlines() + [""]

    def queue(self) -> list[QueueItem]:
        items = []
        for i, line in self._uncommented("Queue"):
            match = _ITEM.match(line)
            if not match:
                continue
            text = match.group(2)
            agent_action = _AGENT_ACTION.match(text.split(DONE_MARK)[0])
            agent, action = (agent_action.group(1).lower(), agent_action.group(2)) if agent_action else (None, text)
            items.append(QueueItem(i, match.group(1) != " ", text, agent, action))
        return items

    def stray_queue_lines(self) -> list[str]:
        """Non-empty Queue lines that are not checklist items (and not comments)."""
        return [line.strip() for _, line in self._uncommented("Queue") if line.strip() and not _ITEM.match(line)]

    def _uncommented(self, name: str) -> list[tuple[int, str]]:
        """(index, line) of a section's lines outside <!-- ... --> comments."""
        out, in_comment = [], False
        for i, line in enumerate(self.section(name)):
            text = line.strip()
            if in_comment or text.startswith("<!--"):
                in_comment = "-->" not in text
                continue
            out.append((i, line))
        return out

    def append_queue(self, texts: list[str]) -> None:
        body = self.section("Queue")
        while body and not body[-1].strip():
            body.pop()
        body.extend(f"- [ ] {t}" for t in texts)
        body.append("")

    def tick(self, item: QueueItem, note: str) -> None:
        body = self.section("Queue")
        line = body[item.line_no]
        body[item.line_no] = line.replace("- [ ]", "- [x]", 1) + (f"{DONE_MARK}{note}" if note else "")

    def questions(self) -> list[str]:
        return [line.strip()[2:] for line in self.section("Questions") if line.strip().startswith("- ")]

    def add_question(self, question: str) -> bool:
        if question in self.questions():
            return False
        body = self.section("Questions")
        while body and not body[-1].strip():
            body.pop()
        body.extend([f"- {question}", ""])
        return True

    def rules(self) -> list[str]:
        """Every non-empty Rules line outside comments, without its `- ` or `* ` bullet.

        A line a human wrote without a bullet is still a rule they meant; reading it (and asking
        about it when it is unreadable) beats ignoring it in silence.
        """
        out = []
        for _, line in self._uncommented("Rules"):
            text = line.strip()
            if text.startswith(("- ", "* ")):
                text = text[2:].strip()
            if text:
                out.append(text)
        return out


class PlanStep(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    done: bool
    agent: str | None
    action: str
    note: str | None = None


class PlanSnapshot(BaseModel):
    """The plan as data (the schema of plan.md): what the supervisor and `intern status` read."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    goal: str
    queue: list[PlanStep]
    unreadable_queue_lines: list[str]
    rules: list[str]
    questions: list[str]
    status: str


def snapshot(plan: Plan) -> PlanSnapshot:
    steps = []
    for item in plan.queue():
        note = item.text.partition(DONE_MARK)[2].strip()
        action = item.action.partition(DONE_MARK)[0].strip()
        steps.append(PlanStep(done=item.checked, agent=item.agent, action=action, note=note or None))
    return PlanSnapshot(
        goal="\n".join(plan.section("Goal")).strip(),
        queue=steps,
        unreadable_queue_lines=plan.stray_queue_lines(),
        rules=plan.rules(),
        questions=plan.questions(),
        status="\n".join(plan.section("Status")).strip(),
    )


def _norm(line: str) -> str:
    line = line.rstrip()
    match = _ITEM.match(line)
    if match:
        return "- [ ] " + match.group(2).split(DONE_MARK)[0].strip()
    return line


def check_supervisor_edit(old_text: str, new_text: str) -> None:
    """Refuse a supervisor edit of plan.md that changes Rules or drops any line outside its sections."""
    old, new = Plan.parse(old_text), Plan.parse(new_text)
    new_by_name = {name.lower(): body for name, body in new.sections}
    own = {n.lower() for n in SUPERVISOR_SECTIONS}
    human = {n.lower() for n in HUMAN_SECTIONS}
    for name, body in old.sections:
        key = name.lower()
        if key in own:
            continue
        new_body = new_by_name.get(key, [])
        if key in human and [ln.rstrip() for ln in new_body if ln.strip()] != [
            ln.rstrip() for ln in body if ln.strip()
        ]:
            raise PathRuleError(f"plan.md: the supervisor may not edit the {name} section")
        kept = {_norm(line) for line in new_body}
        for line in body:
            if line.strip() and _norm(line) not in kept:
                raise PathRuleError(f"plan.md: the supervisor edit would drop the line {line.strip()!r} from {name}")
    if old.preamble.strip() and old.preamble.strip() != new.preamble.strip():
        raise PathRuleError("plan.md: the supervisor may not edit the text above the first section")
