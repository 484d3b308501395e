"""Agent records a human changed by hand: a measurement is no longer the agent's, so it is asked about.

Agents write two kinds of files. Markdown artifacts (a hypothesis, an evaluation, plan.md) have a
`## Notes` section: a human's words in them are welcome and kept (bus/ownership.py). JSON and JSONL
records (a run's result.json and metrics.jsonl, a discard record, a dataset's card.json figures, a
contamination report) have no place for a human's words: they say what an agent measured or
produced. A record an agent committed and a human changed afterwards (a truncated card.json, a
result edited in place) is therefore not silently taken as a human edit: the supervisor asks about
it in plan.md, and the origin check refuses a model whose chain relies on it. A file a human made
(never committed by an agent) is theirs, and a revert (`intern revert`) puts back an agent's own
earlier version, so neither is a hand edit. The held-out split (eval/) has its own, stricter check.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from bus import Workspace, layout, sha256_file

# Tracked JSON/JSONL files that agents write (datasets/*/data/ and checkpoints are not in git).
RECORD_GLOBS = (
    f"{layout.RUNS}/*/*.json",
    f"{layout.RUNS}/*/*.jsonl",
    f"{layout.DATASETS}/*/*.json",
    f"{layout.CONTAMINATION_DIR}/*.json",
)
ASKED_FILE = "records-asked.json"  # hand edits already asked about, so a removed question is not asked again


@dataclass(frozen=True)
class HandEdit:
    path: str
    agent: str  # whose record it was
    author: str  # who changed it
    sha: str | None  # the commit that changed it; None: changed on disk, not committed yet

    def line(self) -> str:
        how = f"{self.author} changed it in {self.sha[:8]}" if self.sha else "it was changed on disk (uncommitted)"
        return (
            f"{self.path} is the {self.agent}'s record and {how}: its figures are no longer the {self.agent}'s, "
            "and a model that relies on it fails the origin check"
        )


def hand_edits(ws: Workspace) -> list[HandEdit]:
    """Every record whose last change is a human's, after an agent had committed it; oldest path first."""
    specs = [f":(glob){g}" for g in RECORD_GLOBS]
    try:
        log = ws.repo.git.log(
            "--format=%x1e%H%x1f%an%x1f%(trailers:key=Intern-Agent,valueonly,separator=)%x1f%s",
            "--name-only",
            "--",
            *specs,
        )
        dirty = ws.repo.git.status("--porcelain", "--untracked-files=no", "--", *specs)
    except Exception:  # a repository without commits has no records
        return []
    last: dict[str, tuple[str, str | None, str]] = {}  # path -> (author, agent or None, sha) of its newest commit
    owner: dict[str, str] = {}  # path -> the agent who committed it at some point (the newest such)
    for record in log.split("\x1e"):
        head, _, names = record.strip("\n").partition("\n")
        if not head:
            continue
        sha, author, agent, subject = (head.split("\x1f") + ["", "", "", ""])[:4]
        is_revert = subject.startswith('Revert "')
        for path in (n for n in names.splitlines() if n.strip()):
            if path not in last:
                last[path] = (author, agent.strip() or ("revert" if is_revert else None), sha)
            if agent.strip() and path not in owner:
                owner[path] = agent.strip()
    edits = []
    for path, (author, agent, sha) in sorted(last.items()):
        if agent is None and path in owner and ws.exists(path):
            edits.append(HandEdit(path, owner[path], author, sha))
    changed = {line[3:].strip() for line in dirty.splitlines() if "M" in line[:2]}  # staged or not
    for path in sorted(changed - {e.path for e in edits}):
        if path in owner:
            edits.append(HandEdit(path, owner[path], "a human", None))
    return edits


def new_questions(ws: Workspace) -> list[str]:
    """Questions for plan.md about hand-edited records not asked about before.

    Each edited content is asked about once (keyed by the file's sha256), committed or not yet: a
    question the human deleted is not asked again until the record changes again.
    """
    path = ws.state_dir / ASKED_FILE
    try:
        asked = set(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        asked = set()
    keyed = [(e, f"{e.path}@{sha256_file(ws.path(e.path))}") for e in hand_edits(ws) if ws.path(e.path).is_file()]
    fresh = [(e, key) for e, key in keyed if key not in asked]
    if not fresh:
        return []
    try:
        path.write_text(json.dumps(sorted(asked | {key for _, key in fresh})))
    except OSError:
        pass  # asked again next time, which is better than never
    return [e.line() + ". " + _restore_hint(e) for e, _ in fresh]


def _restore_hint(edit: HandEdit) -> str:
    if edit.sha is None:
        return f"Restore it with `git checkout -- {edit.path}`, or delete what depends on it."
    return f"Restore it (`intern revert {edit.sha[:8]}`), or delete what depends on it."
