"""Who may write where. The files are the agents' only channel, so these rules are the contract.

The trainer never writes evaluation data; only the critic owns the evaluation split.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from bus import layout
from bus.errors import PathRuleError

AGENTS = ("researcher", "curator", "trainer", "critic", "supervisor")

# Agent -> the path patterns it may write: a view of bus/layout.py, where every place is declared once.
# `*` is one path part, `**` any number of trailing parts.
OWNERSHIP: dict[str, tuple[str, ...]] = layout.ownership()


def _matches(parts: tuple[str, ...], pattern: str) -> bool:
    pat = pattern.split("/")
    if pat[-1] == "**":
        head = pat[:-1]
        return len(parts) > len(head) and all(PurePosixPath(p).match(q) for p, q in zip(parts, head))
    return len(parts) == len(pat) and all(PurePosixPath(p).match(q) for p, q in zip(parts, pat))


def normalize(path: str) -> str:
    """A workspace-relative POSIX path, refusing absolute paths and `..`."""
    if not path or path.startswith(("/", "\\")) or (len(path) > 1 and path[1] == ":"):
        raise PathRuleError(f"{path!r}: absolute paths are refused; give a path relative to the workspace")
    pure = PurePosixPath(path.replace("\\", "/"))
    if ".." in pure.parts:
        raise PathRuleError(f"{path!r}: '..' is refused; artifacts stay inside the workspace")
    if pure.parts and pure.parts[0] in (".git", ".intern"):
        raise PathRuleError(f"{path!r}: {pure.parts[0]}/ belongs to intern itself, not to an agent")
    return pure.as_posix()


def check_write(agent: str, path: str) -> str:
    """Return the normalized path if `agent` may write it, else raise PathRuleError naming the rule."""
    if agent not in OWNERSHIP:
        raise PathRuleError(f"unknown agent {agent!r}; agents are {', '.join(AGENTS)}")
    norm = normalize(path)
    parts = PurePosixPath(norm).parts
    if any(_matches(parts, pattern) for pattern in OWNERSHIP[agent]):
        return norm
    owners = [a for a, pats in OWNERSHIP.items() if any(_matches(parts, p) for p in pats)]
    mine = ", ".join(OWNERSHIP[agent])
    whose = f"it belongs to {', '.join(owners)}" if owners else "no agent owns it"
    raise PathRuleError(f"{agent} may not write {norm}: {whose} ({agent} may write only {mine})")
