"""The curator's LLM use: new training examples, each verified before it is used.

The model proposes rows (prompt, completion, answer). A row is kept only if it is new (not in the
held-out split, not already in the data), has the task's prompt format, and is right: where the
task allows it the answer is recomputed from the prompt (addition: the sum), and the completion
must pass the task's grader against that answer. Everything else is counted as rejected. The
model's text is never run or used as a path: a row is data, appended to the curator's own file.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from agents.brain.ask import Brain, ask, current
from agents.common import state
from agents.tasks import addition, get_task
from bus import Workspace
from bus.jsonl import append_jsonl, read_jsonl
from bus.schemas import Goal, TaskSpec

LLM_EXAMPLES = 32  # per curator step; small next to the generated data, enough to lift a weak slice
TASK = (
    "You are the curator. Write new training examples for the task described in `task`: each with the "
    "exact `prompt` format shown in `format_examples`, the correct `answer`, and a `completion` (what the "
    "model should write after the prompt). Favour the slice named in `weak_slice` when there is one. "
    "Every example is checked; wrong or malformed ones are thrown away."
)


class Example(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt: str = Field(max_length=400)
    completion: str = Field(max_length=2000)
    answer: str = Field(max_length=200)


class ExampleBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    examples: list[Example] = Field(max_length=4 * LLM_EXAMPLES)


def verify(spec: TaskSpec, example: Example) -> dict | None:
    """The row to train on, or None when the example is malformed or wrong."""
    grade = get_task(spec).grade
    if spec.name == addition.NAME:
        if not re.fullmatch(rf"\d{{{spec.digits}}}\+\d{{{spec.digits}}}=", example.prompt):
            return None
        a, b = (int(x) for x in example.prompt[:-1].split("+"))
        answer = addition.format_sum(a + b, spec.digits)  # recomputed: the model's own answer is not trusted
        if example.answer != answer or example.completion != answer or not grade(example.completion, answer):
            return None
        return {
            "prompt": example.prompt,
            "completion": answer,
            "answer": answer,
            "slice": addition.slice_of_prompt(example.prompt),
        }
    # No recomputation for this task: the grader must at least accept the completion for the answer given.
    if not example.prompt.strip() or not grade(example.completion, example.answer):
        return None
    return {"prompt": example.prompt, "completion": example.completion, "answer": example.answer, "slice": "llm"}


def _format_examples(spec: TaskSpec) -> list[dict]:
    if spec.name == addition.NAME:
        return [
            {"prompt": p.prompt, "completion": p.answer, "answer": p.answer, "slice": p.slice}
            for p in addition.sample_problems(3, spec.digits, seed=12345)
        ]
    return []


def propose_examples(
    brain: Brain, spec: TaskSpec, n: int, weak_slice: str | None, exclude: frozenset[str] | set[str] = frozenset()
) -> tuple[list[dict], int, str]:
    """Up to `n` verified rows not in `exclude`, how many proposals were rejected, and the note for the commit."""
    context = {
        "task": {"name": spec.name, "digits": spec.digits if spec.name == addition.NAME else None, "how_many": n},
        "format_examples": _format_examples(spec),
        "weak_slice": weak_slice,
    }
    batch, note = ask(brain, TASK, ExampleBatch, context)
    if batch is None:
        return [], 0, note
    rows, rejected, seen = [], 0, set(exclude)
    for example in batch.examples:
        row = verify(spec, example)
        if row is None or row["prompt"] in seen or len(rows) >= n:
            rejected += 1
            continue
        seen.add(row["prompt"])
        rows.append(row)
    return rows, rejected, note


def weakest_slice(ws: Workspace) -> str | None:
    """The lowest-scoring slice of the latest evaluation (a run's, else the base model's)."""
    evaluations = [r.evaluation for r in state.runs(ws) if r.evaluation is not None]
    latest = evaluations[-1] if evaluations else state.base_evaluation(ws)
    if latest is None or not latest.slices:
        return None
    return min(latest.slices.items(), key=lambda kv: kv[1].score)[0]


def add_llm_examples(ws: Workspace, goal: Goal, data_rel: str, eval_rel: str) -> str:
    """Append the LLM's verified examples to the curator's data file; the note for the card and its commit."""
    brain = current(ws)
    if not brain.on:
        return ""
    data, held_out = ws.path(data_rel), ws.path(eval_rel)
    have = {row["prompt"] for row in read_jsonl(data)}
    held = {row["prompt"] for row in read_jsonl(held_out)}
    rows, rejected, note = propose_examples(brain, goal.task, LLM_EXAMPLES, weakest_slice(ws), have | held)
    if note.startswith("LLM"):
        append_jsonl(data, rows)
        note = f"{note}: {len(rows)} verified examples added, {rejected} rejected"
    return note
