"""plan.md: the shared control surface between the supervisor and the humans.

The file is split into `## ` sections and rendered back byte for byte, so an edit touches
only the section it means to. The supervisor owns Goal and Status; it may tick and append
Queue items and append Questions; it never edits Rules and never drops a human's line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
    preamble: str
    sections: list[tuple[str, list[str]]]  # (heading, body lines)

    @classmethod
    def parse(cls, text: str) -> Plan:
        lines = text.splitlines()
        preamble: list[str] = []
        sections: list[tuple[str, list[str]]] = []
        for line in lines:
            if line.startswith("## "):
                sections.append((line[3:].strip(), []))
            elif sections:
                sections[-1][1].append(line)
            else:
                preamble.append(line)
        return cls("\n".join(preamble), sections)

    def render(self) -> str:
        out = [self.preamble] if self.preamble else []
        for name, body in self.sections:
            out.append(f"## {name}")
            out.extend(body)
        return "\n".join(out).rstrip("\n") + "\n"

    def section(self, name: str) -> list[str]:
        for heading, body in self.sections:
            if heading.lower() == name.lower():
                return body
        body: list[str] = [""]
        self.sections.append((name, body))  # a human deleted it: put it back at the end
        return body

    def set_section(self, name: str, content: str) -> None:
        body = self.section(name)
        body[:] = [""] + content.strip("\n").splitlines() + [""]

    def queue(self) -> list[QueueItem]:
        items = []
        for i, line in enumerate(self.section("Queue")):
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
        stray, in_comment = [], False
        for line in self.section("Queue"):
            text = line.strip()
            if in_comment or text.startswith("<!--"):
                in_comment = "-->" not in text
                continue
            if text and not _ITEM.match(line):
                stray.append(text)
        return stray

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
        return [line.strip()[2:].strip() for line in self.section("Rules") if line.strip().startswith("- ")]


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
    for name, body in old.sections:
        if name in SUPERVISOR_SECTIONS:
            continue
        kept = {_norm(line) for line in new_by_name.get(name.lower(), [])}
        if name in HUMAN_SECTIONS and new_by_name.get(name.lower()) != body:
            raise PathRuleError(f"plan.md: the supervisor may not edit the {name} section")
        for line in body:
            if line.strip() and _norm(line) not in kept:
                raise PathRuleError(f"plan.md: the supervisor edit would drop the line {line.strip()!r} from {name}")
    if old.preamble.strip() and old.preamble != new.preamble:
        raise PathRuleError("plan.md: the supervisor may not edit the text above the first section")
