"""What a specialist step returns to the supervisor: a reference to what it committed, no data."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class StepOutcome:
    agent: str
    summary: str
    commits: list[str] = field(default_factory=list)
    ok: bool = True
    # An integrity failure (changed split, grader or checkpoint): the supervisor stops the loop with the summary.
    critical: bool = False
