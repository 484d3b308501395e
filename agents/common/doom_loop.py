"""Noticing that the loop repeats itself with nothing new learned.

Two signs, both read from the files: a run whose config is the same as an earlier run's (all but
its id and the hypothesis file that asked for it), and the same diagnosis (the same findings and
the same recommendation) for several runs in a row. The supervisor changes strategy on the first
sign and stops, with the reason in the report, when the sign persists.
"""

from __future__ import annotations

from agents.common import state
from bus import Workspace
from bus.schemas import Diagnosis, TrainingConfig

REPEAT_MARK = "nothing new would be learned"  # in the trainer's refusal, read by the supervisor
SAME_DIAGNOSIS_RUNS = 3  # the same diagnosis this many runs in a row is a loop, not noise
# Not what is trained: the run's name and the file that proposed it.
_IDENTITY_FIELDS = {"run_id", "hypothesis", "body"}


def config_key(config: TrainingConfig) -> str:
    """What a config trains, as a comparable string (everything but its identity)."""
    values = config.model_dump(exclude=_IDENTITY_FIELDS & set(type(config).model_fields))
    return repr(sorted(values.items()))


def earlier_same_config(ws: Workspace, config: TrainingConfig) -> str | None:
    """The id of an earlier run that trained exactly this config, if any."""
    key = config_key(config)
    return next(
        (
            r.id
            for r in state.runs(ws)
            if r.config is not None and r.id != config.run_id and config_key(r.config) == key
        ),
        None,
    )


def _diagnosis_key(diagnosis: Diagnosis) -> tuple:
    rec = diagnosis.recommendation
    findings = sorted(f.name for f in diagnosis.findings if f.severity != "info")
    return (tuple(findings), rec.action, rec.method, repr(sorted(rec.config_delta.items())))


def repetition(ws: Workspace) -> str | None:
    """One line saying how the latest work repeats earlier work with nothing learned, or None."""
    runs = [r for r in state.runs(ws) if r.config is not None]
    if runs and (twin := earlier_same_config(ws, runs[-1].config)) is not None:
        return f"{runs[-1].id} trained the same config as {twin}"
    diagnosed = [r for r in runs if r.diagnosis is not None][-SAME_DIAGNOSIS_RUNS:]
    if (
        len(diagnosed) == SAME_DIAGNOSIS_RUNS
        and len({_diagnosis_key(r.diagnosis) for r in diagnosed}) == 1
        and not any(state.is_kept(r) for r in diagnosed[1:])  # a kept run means something was learned
    ):
        last = diagnosed[-1].diagnosis
        names = ", ".join(f.name for f in last.findings if f.severity != "info") or "no finding"
        ids = ", ".join(r.id for r in diagnosed)
        return f"{ids} got the same diagnosis ({names}; {last.recommendation.reason[:80]})"
    return None
