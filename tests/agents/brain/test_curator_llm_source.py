"""A task without a generator: the LLM brain's examples become a source of their own, each graded first."""

from __future__ import annotations

import json
from pathlib import Path

from agents.common import state
from agents.critic.evaluate import ensure_eval_split
from agents.curator.curator import curator_step
from agents.curator.synthetic import LLM

EVAL = Path(__file__).parents[2] / "fixtures/tasks/gsm8k/test.jsonl"
REAL_GSM8K = Path(__file__).parents[2] / "fixtures/real-datasets/gsm8k/test.jsonl"


def test_gsm8k_gets_the_llm_examples_the_grader_accepts(ws, set_goal, use_brain):
    set_goal(
        ws,
        task={"name": "gsm8k", "dataset": str(EVAL), "eval_size": 10},
        data={
            "local": [{"path": str(REAL_GSM8K), "name": "gsm8k"}],
            "hub_search": False,
            "rejection": {"enabled": False},
        },
    )
    ensure_eval_split(ws, ws.goal())
    examples = [
        {"prompt": "Ana has 2 cats and gets 3 more. How many cats?", "completion": " 2+3=5\n#### 5", "answer": "5"},
        {
            "prompt": "Question: Li reads 4 pages a day for 2 days. How many pages?\nAnswer:",
            "completion": " #### 8",
            "answer": "8",
        },
        {"prompt": "Sam has 9 pens and loses 4. How many?", "completion": " #### 6", "answer": "5"},  # fails the grader
    ]
    use_brain(ws, [json.dumps({"examples": examples})])
    outcome = curator_step(ws)
    assert outcome.ok, outcome.summary
    [(_, card)] = state.dataset_cards(ws)
    assert card.column_mapping[LLM] == {
        "prompt": "prompt",
        "answer": "answer",
        "completion": "completion",
        "slice": "slice",
    }
    parts = {m.source: m for m in card.mixture}
    real = parts["gsm8k"].rows_available
    assert parts["gsm8k"].rows_used == real and parts[LLM].rows_used == 2  # added to the real rows, not mixed down
    assert card.rows == real + 2 and card.label_agreement == 1.0
    llm = [json.loads(line) for line in ws.read_text(f"datasets/{card.name}/data/llm.jsonl").splitlines()]
    assert [r["prompt"] for r in llm] == [
        "Question: Ana has 2 cats and gets 3 more. How many cats?\nAnswer:",  # put in the task's format
        "Question: Li reads 4 pages a day for 2 days. How many pages?\nAnswer:",  # already in it
    ]
    assert "2 verified examples added, 1 rejected" in card.body
