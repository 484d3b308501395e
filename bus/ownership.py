"""Who owns which words in a file an agent rewrites, and where a human's words go so they are never lost.

An agent regenerates its files (a hypothesis, an evaluation, reports/summary.md) and the supervisor
regenerates plan.md's Goal and Status. A human may write into any of them. Each such file ends with
a one-line comment saying that the agent rewrites it and that a human's text is kept under
`## Notes`, which no agent ever rewrites. When an agent writes a new version, every line a human
wrote (git blame says whose each line is) that the new version does not have any more is moved
there verbatim, and the bus says so in plan.md and on the terminal.
"""

from __future__ import annotations

import re
from pathlib import Path

import git

from bus.plan import SUPERVISOR_SECTIONS, Plan

NOTES = "Notes"
ZERO_SHA = "0" * 40
_NOTES_HEADING = re.compile(r"^##\s+notes\s*$", re.IGNORECASE)
_OWN_MARK = re.compile(r"^(<!-- \w+ rewrites this file\b.*-->|# \w+ rewrites this file\b.*)\s*$")
_MARK_TEXT = "{agent} rewrites this file; text you add is kept, verbatim, under ## Notes at its next rewrite"


def own_mark(agent: str, front_matter: bool = False) -> str:
    """The ownership comment: a YAML comment in front matter (the parsed body stays the agent's), else HTML."""
    text = _MARK_TEXT.format(agent=agent)
    return f"# {text}" if front_matter else f"<!-- {text} -->"


def _split_notes(lines: list[str]) -> tuple[list[str], list[str], int | None]:
    """(lines outside Notes, Notes body lines, index of the Notes heading or None)."""
    for i, line in enumerate(lines):
        if _NOTES_HEADING.match(line):
            end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("## ")), len(lines))
            return lines[:i] + lines[end:], lines[i + 1 : end], i
    return lines, [], None


def _section_of(lines: list[str], index: int) -> str:
    for line in reversed(lines[: index + 1]):
        if line.startswith("#"):
            return line.lstrip("#").strip() or "top"
    return "top"


def keep_human_words(
    new_text: str, current: str | None, human_lines: list[int], agent: str
) -> tuple[str, list[tuple[str, str]]]:
    """The agent's `new_text` with the current file's Notes kept and the human's other lines moved there.

    Returns the text to write and the (section, line) pairs moved. `human_lines` indexes `current`'s lines.
    """
    front = new_text.startswith("---\n")
    body, new_notes, _ = _split_notes(new_text.rstrip("\n").split("\n"))
    body = [ln for ln in body if not _OWN_MARK.match(ln)]
    while body and not body[-1].strip():
        body.pop()
    notes = new_notes
    moved: list[tuple[str, str]] = []
    if current is not None:
        cur = current.split("\n")
        _, cur_notes, notes_at = _split_notes(cur)
        if any(ln.strip() for ln in cur_notes):
            notes = cur_notes  # the file's own Notes are the human's latest version of them
        notes_end = None
        if notes_at is not None:
            notes_end = notes_at + 1 + len(cur_notes)
        kept = {ln.rstrip() for ln in body} | {ln.rstrip() for ln in notes}
        for i in human_lines:
            if i >= len(cur) or (notes_at is not None and notes_at <= i < (notes_end or 0)):
                continue
            line = cur[i]
            if not line.strip() or _OWN_MARK.match(line) or line.rstrip() in kept:
                continue
            moved.append((_section_of(cur, i), line))
            kept.add(line.rstrip())
    while notes and not notes[-1].strip():
        notes.pop()
    while notes and not notes[0].strip():
        notes.pop(0)
    notes += [line for _, line in moved]
    out = [body[0], own_mark(agent, True), *body[1:]] if front else [*body, "", own_mark(agent)]
    if notes:
        out += ["", f"## {NOTES}", *notes]
    return "\n".join(out) + "\n", moved


def move_plan_words(plan: Plan, human_lines: list[int]) -> list[tuple[str, str]]:
    """Move the lines a human wrote in plan.md's supervisor sections (Goal, Status) to Notes, verbatim."""
    wanted = set(human_lines)
    index = len(plan.preamble_lines)
    to_move: list[tuple[str, int, str]] = []
    own = {n.lower() for n in SUPERVISOR_SECTIONS}
    for name, body in plan.sections:
        index += 1  # the heading
        for j, line in enumerate(body):
            if index + j in wanted and name.lower() in own and line.strip() and not line.strip().startswith("<!--"):
                to_move.append((name, j, line))
        index += len(body)
    if not to_move:
        return []
    for name, j, _ in sorted(to_move, key=lambda t: -t[1]):
        body = plan.find(name)
        assert body is not None
        del body[j]
    notes = plan.section(NOTES)
    while notes and not notes[-1].strip():
        notes.pop()
    notes.extend(line for _, _, line in to_move)
    notes.append("")
    return [(name, line) for name, _, line in to_move]


def human_lines(repo: git.Repo, root: Path, rel: str) -> list[int]:
    """Indexes of the lines of the working file `rel` that a human wrote (by git blame; uncommitted ones too)."""
    try:
        raw = repo.git.blame("--porcelain", "--contents", str(root / rel), "--", rel)
    except git.GitCommandError:
        text = (root / rel).read_text(encoding="utf-8", errors="replace")
        return list(range(len(text.split("\n"))))  # never committed: every line is whoever made the file
    owners: list[str] = []
    current = ZERO_SHA
    for line in raw.split("\n"):
        if line.startswith("\t"):
            owners.append(current)
        elif re.match(r"^[0-9a-f]{40} \d+ \d+", line):
            current = line[:40]
    shas = sorted({s for s in owners if s != ZERO_SHA})
    agents_own: set[str] = set()
    if shas:
        log = repo.git.show("-s", "--format=%H%x00%B%x1e", *shas)
        for record in log.split("\x1e"):
            sha, _, message = record.strip("\n").partition("\x00")
            if "\nIntern-Agent:" in "\n" + message or "This reverts commit" in message:
                agents_own.add(sha.strip())
    return [i for i, sha in enumerate(owners) if sha not in agents_own]
