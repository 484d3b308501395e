"""The curator's LLM examples: each recomputed and graded before use; the rest counted as rejected."""

from __future__ import annotations

import json

from agents.brain import Brain
from agents.brain.training_rows import Example, add_llm_examples, propose_examples, verify
from agents.curator.curator import curator_step, dataset_name
from bus import Workspace, sha256_file
from bus.schemas import TaskSpec

from .conftest import Scripted

EVAL = "eval/addition/test.jsonl"
EVAL_PROMPTS = ["11+11=", "12+12=", "13+13="]
SPEC = TaskSpec(name="addition", digits=2)


def _examples(*rows: tuple[str, str, str]) -> str:
    return json.dumps({"examples": [{"prompt": p, "completion": c, "answer": a} for p, c, a in rows]})


GOOD = [("57+68=", "125", "125"), ("19+23=", "042", "042")]
BAD = [
    ("45+38=", "073", "073"),  # the carry forgotten: the recomputed sum is 083
    ("5+7=", "12", "12"),  # not the fixed-width format
    ("../eval/addition/test.jsonl", "000", "000"),  # a path is just a malformed prompt
    ("11+11=", "022", "022"),  # in the held-out split
    ("99+99=", "198 because", "198"),  # not a clean completion
    ("10+10=", "020", "021"),  # the model's own answer disagrees with the recomputed one
]


def test_verify_recomputes_the_sum_and_grades_the_completion() -> None:
    assert verify(SPEC, Example(prompt="57+68=", completion="125", answer="125")) == {
        "prompt": "57+68=",
        "completion": "125",
        "answer": "125",
        "slice": "carry",
    }
    for prompt, completion, answer in BAD[:3] + BAD[4:]:
        assert verify(SPEC, Example(prompt=prompt, completion=completion, answer=answer)) is None


def test_propose_keeps_verified_new_rows_and_counts_the_rest() -> None:
    model = Scripted(responses=[_examples(*GOOD, *BAD, GOOD[0])])  # GOOD[0] twice: a duplicate
    rows, rejected, note = propose_examples(Brain("injected:x", model), SPEC, 10, "carry", set(EVAL_PROMPTS))
    assert [r["prompt"] for r in rows] == ["57+68=", "19+23="]
    assert rejected == len(BAD) + 1 and note == "LLM injected:x"
    assert '"weak_slice"' in model.sent[0][-1].content and "carry" in model.sent[0][-1].content


def _with_split(ws: Workspace) -> str:
    rows = "".join(json.dumps({"prompt": p, "answer": "0", "slice": "no_carry"}) + "\n" for p in EVAL_PROMPTS)
    ws.write_artifact("critic", EVAL, rows, "Create the held-out split")
    return sha256_file(ws.path(EVAL))


def test_add_llm_examples_appends_only_verified_rows(ws: Workspace, use_brain) -> None:
    _with_split(ws)
    data = ws.path("datasets/d/data/train.jsonl")
    data.parent.mkdir(parents=True)
    data.write_text(json.dumps({"prompt": "19+23=", "completion": "042", "answer": "042", "slice": "carry"}) + "\n")
    use_brain(ws, [_examples(*GOOD, *BAD)])
    note = add_llm_examples(ws, ws.goal(), "datasets/d/data/train.jsonl", EVAL)
    assert note == f"LLM injected:scripted: 1 verified examples added, {len(BAD) + 1} rejected"
    assert [json.loads(line)["prompt"] for line in data.read_text().splitlines()] == ["19+23=", "57+68="]


def test_the_curator_uses_them_and_its_commit_says_so(ws: Workspace, use_brain) -> None:
    before = _with_split(ws)
    use_brain(ws, [_examples(*GOOD, *BAD)])
    outcome = curator_step(ws)
    assert outcome.ok, outcome.summary
    card = ws.load(f"datasets/{dataset_name(ws.goal(), ws.root)}/README.md")
    accepted = card.rows - 4000
    assert accepted in (1, 2)  # the generator may already hold one of the two good prompts
    assert "verified examples added" in card.body
    assert ws.history()[0].summary.endswith(f"{accepted} verified examples added, {len(BAD) + 2 - accepted} rejected)")
    assert sha256_file(ws.path(EVAL)) == before


def test_malformed_twice_leaves_the_generated_data_alone(ws: Workspace, use_brain) -> None:
    _with_split(ws)
    use_brain(ws, ["Sure! Here are some examples: 1+1=2", '{"examples": "none"}'])
    outcome = curator_step(ws)
    card = ws.load(f"datasets/{dataset_name(ws.goal(), ws.root)}/README.md")
    assert outcome.ok and card.rows == 4000
    assert ws.history()[0].summary.endswith("(deterministic fallback: LLM output invalid twice)")
