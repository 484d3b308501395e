"""One coherent prescription per report: remedies that agree with each other and change something.

Each rule proposes its own cures; put side by side they can contradict (halve the learning rate for a
spike, triple it for a plateau) or propose a value the run already has (clip to 1.0
in a run that clips to 1.0). Read from the most severe finding down, the first proposal for a setting
stands; a later, different one for the same setting is dropped, as is any that equals the run's value
(read from its arguments, or TRL's default where the arguments are unknown, which the remedy then says).
"""

from __future__ import annotations

from agents.critic.signals.logrows import RunLog
from agents.critic.signals.pipeline import PIPELINE_FAULTS
from bus.schemas import Finding, Remedy

FROM_LOGS = ("learning_rate", "max_steps", "max_completion_length", "num_generations")  # read off the rows
SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}


def rank(finding: Finding) -> tuple[int, int]:
    """Pipeline faults first, then by severity: the order of the verdict and of the prescription."""
    return (finding.name not in PIPELINE_FAULTS, SEVERITY_RANK.get(finding.severity, 3))


def _current(run: RunLog, key: str) -> object:
    return getattr(run.cfg, key, None)


def coherent(run: RunLog, findings: list[Finding]) -> list[Finding]:
    """The findings in rank order, each keeping only the remedies that agree with the ones before it."""
    chosen: dict[str, object] = {}
    out = []
    for found in sorted(findings, key=rank):
        kept: list[Remedy] = []
        for remedy in found.remedies:
            delta = remedy.config_delta
            if delta and any(k in chosen and chosen[k] != v for k, v in delta.items()):
                continue  # a different value for a setting a more severe finding already set
            if delta and all(_current(run, k) == v for k, v in delta.items()):
                continue  # the run already has it: no change at all
            unknown = [k for k in delta if _current(run, k) is not None and not run.knows(k) and k not in FROM_LOGS]
            if unknown:
                assumed = ", ".join(f"{k} {_current(run, k)!r}" for k in unknown)
                remedy = remedy.model_copy(
                    update={"why": f"{remedy.why} (the run's {assumed} is assumed: not in its logs)"}
                )
            chosen.update(delta)
            kept.append(remedy)
        out.append(found.model_copy(update={"remedies": kept}) if kept != found.remedies else found)
    return out
