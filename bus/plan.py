"""plan.md: the shared control surface between the supervisor and the humans.

The file is split into `## ` sections and rendered back byte for byte, so an edit touches
only the section it means to. The supervisor owns Goal and Status (each says so in a comment;
a human's line written there is moved to Notes, see bus/ownership.py); it may tick and append
Queue items and append Questions; it never edits Rules and never drops a human's line. A rule
or a queue item a human wrote in a free-text section (Notes, above the first section) is moved,
verbatim, to Rules or the Queue, where the agents read it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from bus.errors import PathRuleError

SUPERVISOR_SECTIONS = ("Goal", "Status")
HUMAN_SECTIONS = ("Rules",)
# Sections the agents read as structure; anything else (Notes, a human's own headings) is free text.
STRUCTURED_SECTIONS = ("Goal", "Queue", "Rules", "Questions", "Status")
STRUCTURED_SECTIONS_LOWER = {n.lower() for n in STRUCTURED_SECTIONS}
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

    def find(self, name: str) -> list[str] | None:
        """A section's body lines, or None when there is no such section (unlike `section`, adds nothing)."""
        for heading, body in self.sections:
            if heading.lower() == name.lower():
                return body
        return None

    def section(self, name: str) -> list[str]:
        found = self.find(name)
        if found is not None:
            return found
        if self.sections and self.sections[-1][1] and self.sections[-1][1][-1] != "":
            self.sections[-1][1].append("")
        body: list[str] = ["", ""]
        self.sections.append((name, body))  # a human deleted it: put it back at the end
        return body

    def line_index(self, name: str, j: int) -> int | None:
        """The index in the rendered file of line `j` of a section's body."""
        index = len(self.preamble_lines)
        for heading, body in self.sections:
            index += 1
            if heading.lower() == name.lower():
                return index + j
            index += len(body)
        return None

    def set_section(self, name: str, content: str) -> None:
        """Replace a section's body; a one-line comment at its top (who owns the section) stays."""
        body = self.section(name)
        lead = [ln for ln in body[:3] if ln.strip().startswith("<!--") and ln.strip().endswith("-->")][:1]
        body[:] = lead + [""] + content.strip("\n").splitlines() + [""]

    def adopt_stray_lines(self, is_rule: Callable[[str], bool], agents: tuple[str, ...]) -> list[str]:
        """Move rules and queue items written in free text (Notes, the preamble, a human's own section), verbatim.

        A readable rule goes to Rules and a `- [ ] agent: action` item to the end of the Queue, where
        every agent reads them. Returns one notice per moved line.
        """
        notices: list[str] = []
        places = [("the top of plan.md", self.preamble_lines)] + [
            (name, body) for name, body in self.sections if name.lower() not in STRUCTURED_SECTIONS_LOWER
        ]
        for where, lines in places:
            for j in range(len(lines) - 1, -1, -1):
                text = lines[j].strip()
                if text.startswith("<!--") or text.endswith("-->"):
                    continue
                item = _ITEM.match(lines[j])
                agent = _AGENT_ACTION.match(item.group(2)) if item else None
                bare = text[2:].strip() if text.startswith(("- ", "* ")) else text
                if item and agent and agent.group(1).lower() in agents and item.group(1) == " ":
                    line = lines.pop(j)
                    queue = self.section("Queue")
                    while queue and not queue[-1].strip():
                        queue.pop()
                    queue.extend([line.strip(), ""])
                    notices.append(f"moved the queue item `{item.group(2)}` you wrote under {where} to the Queue")
                elif not item and bare and is_rule(bare):
                    line = lines.pop(j)
                    rules = self.section("Rules")
                    while rules and not rules[-1].strip():
                        rules.pop()
                    rules.extend([line.strip(), ""])
                    notices.append(f"moved the rule `{bare}` you wrote under {where} to Rules, where it is enforced")
        return notices

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
    """Refuse a supervisor edit of plan.md that changes Rules or drops any line outside its sections.

    The one move allowed: a human's line from a free-text section into Rules or the Queue, verbatim.
    """
    old, new = Plan.parse(old_text), Plan.parse(new_text)
    new_by_name = {name.lower(): body for name, body in new.sections}
    own = {n.lower() for n in SUPERVISOR_SECTIONS}
    human = {n.lower() for n in HUMAN_SECTIONS}
    free = {ln.strip() for name, body in old.sections if name.lower() not in STRUCTURED_SECTIONS_LOWER for ln in body}
    free |= {ln.strip() for ln in old.preamble_lines}
    relocated = {
        ln.strip()
        for key in ("rules", "queue")
        for ln in new_by_name.get(key, [])
        if ln.strip() in free and ln.strip() not in {o.strip() for o in (old.find(key) or [])}
    }
    for name, body in old.sections:
        key = name.lower()
        if key in own:
            continue
        new_body = new_by_name.get(key, [])
        if key in human and [ln.rstrip() for ln in new_body if ln.strip() and ln.strip() not in relocated] != [
            ln.rstrip() for ln in body if ln.strip()
        ]:
            raise PathRuleError(f"plan.md: the supervisor may not edit the {name} section")
        kept = {_norm(line) for line in new_body}
        for line in body:
            if line.strip() and _norm(line) not in kept and line.strip() not in relocated:
                raise PathRuleError(f"plan.md: the supervisor edit would drop the line {line.strip()!r} from {name}")
    old_pre = [ln.strip() for ln in old.preamble_lines if ln.strip() and ln.strip() not in relocated]
    if old_pre != [ln.strip() for ln in new.preamble_lines if ln.strip()]:
        raise PathRuleError("plan.md: the supervisor may not edit the text above the first section")
