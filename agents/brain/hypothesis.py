"""The researcher's LLM use: from the ranked papers and the current need, a hypothesis.

The model fills a draft (title, reason, config change, papers). What it may change is closed:
`config_delta` keys must be TrainingConfig knobs (not the run's identity: its id, method, model,
parent, dataset, hypothesis, seed or rewards; nor its backend) and the values must pass TrainingConfig's own
validation; `papers` must be arXiv ids the researcher showed it or already holds notes on. The
method, the starting checkpoint and the evidence it answers stay the deterministic brain's (they
come from the critic's recommendation). Anything else, twice, and the deterministic hypothesis is used.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents.brain.ask import ask, current
from bus import Workspace, layout
from bus.schemas import Hypothesis, TrainingConfig

# The run's identity is the trainer's and the critic's business, and where it runs is the machine's;
# a hypothesis changes only how it trains.
_NOT_A_HYPOTHESIS = {"run_id", "method", "base_model", "parent_run", "dataset", "hypothesis", "seed", "reward_funcs"}
_NOT_A_HYPOTHESIS |= {"backend"}
KNOBS = tuple(name for name in TrainingConfig.model_fields if name not in _NOT_A_HYPOTHESIS)

TASK = (
    "You are the researcher. From the `need` (what the last evaluation or diagnosis calls for) and the "
    "`papers` (notes on real post-training papers), write a hypothesis for the next training run: a short "
    "title, why it should help, the training-config changes it makes (only keys from `allowed_config_keys`, "
    "TRL names and values), and the arXiv ids of the papers behind it (only ids from `papers`)."
)


class HypothesisDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=3, max_length=120)
    why: str = Field(min_length=3, max_length=1200)
    config_delta: dict[str, Any] = {}
    papers: list[str] = Field(min_length=1, max_length=5)


def check_draft(draft: HypothesisDraft, method: str, known_papers: set[str]) -> str | None:
    unknown_keys = sorted(set(draft.config_delta) - set(KNOBS))
    if unknown_keys:
        return f"config_delta keys {unknown_keys} are not allowed; use only {', '.join(KNOBS)}"
    unknown_papers = sorted(set(draft.papers) - known_papers)
    if unknown_papers:
        return f"papers {unknown_papers} are not among the papers given ({', '.join(sorted(known_papers))})"
    probe = {"learning_rate": 1e-5, "max_steps": 1, "per_device_train_batch_size": 1, **draft.config_delta}
    try:
        TrainingConfig(run_id="run-000", method=method, base_model="probe", dataset="probe", **probe)
    except ValidationError as exc:
        return "config_delta fails TrainingConfig: " + "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5]
        )
    return None


def _one_line(text: str, limit: int) -> str:
    return " ".join(text.split())[:limit]


def propose_hypothesis(ws: Workspace, need: dict, papers: list[dict], fallback: Hypothesis) -> tuple[Hypothesis, str]:
    """The LLM's hypothesis for `need`, or `fallback` (the deterministic one); and the note for the commit."""
    brain = current(ws)
    if not brain.on:
        return fallback, ""
    noted = {p.stem for p in (ws.root / layout.PAPERS).glob("*.md")}
    known = {p["arxiv_id"] for p in papers} | noted
    context = {
        "need": {k: need.get(k) for k in ("method", "parent_run", "tags", "config_delta", "why")},
        "papers": [{k: p.get(k) for k in ("arxiv_id", "title", "year", "summary", "knobs", "tags")} for p in papers],
        "allowed_config_keys": list(KNOBS),
    }
    draft, note = ask(brain, TASK, HypothesisDraft, context, lambda d: check_draft(d, fallback.method, known))
    if draft is None:
        return fallback, note
    title = _one_line(draft.title, 120)
    delta = {**fallback.config_delta, **draft.config_delta}
    claim = f"{title} raises held-out {fallback.metric}: {_one_line(draft.why, 1200)}"
    start = fallback.parent_run or "the base model"
    change = f"TrainingConfig delta `{json.dumps(delta)}`" if delta else "no knob change"
    body = [
        f"# Hypothesis {fallback.id}: {title}",
        "",
        f"**Claim:** {claim}.",
        "",
        f"**Change to try:** {change}; {fallback.method} from {start}.",
        "",
        f"**Expected effect:** {fallback.expected or 'a held-out gain beyond the critic interval and noise floor'}.",
        "",
        "## Evidence",
        "",
        *[f"- arXiv {p}" for p in draft.papers],
        *([f"- {fallback.based_on}"] if fallback.based_on else []),
        "",
        f"_Drafted by the LLM brain ({brain.spec}); intern checked its config change against TrainingConfig and "
        f"its papers against the ones it was shown. The deterministic brain proposed: {fallback.title}._",
        "",
        "## Status",
        "",
        "**proposed**.",
    ]
    fields = {
        **fallback.model_dump(),
        "title": title,
        "claim": claim,
        "config_delta": delta,
        "papers": draft.papers,
        "body": "\n".join(body),
    }
    return Hypothesis(**fields), note
