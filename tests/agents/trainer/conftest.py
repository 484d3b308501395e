"""A workspace the trainer can really train in: held-out split, a curated dataset checked by the critic, a hypothesis.

Everything is written the way the agents write it (through the bus); the dataset is 40 clean
addition problems disjoint from the held-out split, so a short run takes seconds.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from agents.critic.contamination_check import check_training_data
from agents.critic.evaluate import ensure_eval_split
from agents.tasks import addition
from bus import Workspace, sha256_file

DATASET = "addition-d2-teacher50-s0"


def _prepare(ws: Workspace, set_goal, make_card, make_hypothesis, steps: float, **hypothesis_fields) -> Workspace:
    set_goal(ws, task={"eval_size": 20}, scale={"steps": steps})
    split_rel, split_sha, _ = ensure_eval_split(ws, ws.goal())
    held_out = {json.loads(line)["prompt"] for line in ws.read_text(split_rel).splitlines()}
    problems = addition.sample_problems(40, 2, seed=7, exclude=held_out)
    rows = [{"prompt": p.prompt, "completion": p.answer, "answer": p.answer, "slice": p.slice} for p in problems]
    data_rel = f"datasets/{DATASET}/data/train.jsonl"
    ws.path(data_rel).parent.mkdir(parents=True, exist_ok=True)
    ws.path(data_rel).write_text("".join(json.dumps(r) + "\n" for r in rows))
    # The card names the hypothesis it serves, as the curator writes it: config, card and hypothesis agree.
    card = make_card(
        name=DATASET, rows=len(rows), data_sha256=sha256_file(ws.path(data_rel)), hypothesis="hypotheses/h-001.md"
    )
    ws.write_artifact("curator", f"datasets/{DATASET}/README.md", card, "Dataset card")
    check_training_data(ws, split_rel, split_sha)
    ws.write_artifact("researcher", "hypotheses/h-001.md", make_hypothesis(**hypothesis_fields), "Hypothesis")
    return ws


@pytest.fixture
def trainable(ws, set_goal, make_card, make_hypothesis) -> Callable[..., Workspace]:
    """`trainable(steps=0.0125, **hypothesis_fields)`: the workspace, ready for trainer_step (800 * 0.0125 = 10 SFT steps)."""

    def make(steps: float = 0.0125, **hypothesis_fields) -> Workspace:
        return _prepare(ws, set_goal, make_card, make_hypothesis, steps, **hypothesis_fields)

    return make
