"""Map a source's columns onto the task's training row: prompt, answer, and optional completion, solution, slice.

Common layouts are found automatically:
- our own: `prompt`, `answer` (and `completion`, `slice`);
- GSM8K: `question`, `answer` whose text ends in `#### 72` (the reference is the number after it);
- MATH: `problem`, `solution` with a `\\boxed{}` answer (an `answer` column wins when there is one);
- chat: `messages`, a list of {role, content}: the last user turn is the prompt, the assistant's reply the
  completion, and the answer is what the task's extractor reads from that reply;
- `instruction`/`input`/`output` and `question`/`answer` without `####`.

A human can override the mapping in the dataset card's `column_mapping` (our name -> their column); the
curator reads it back on its next run. Mapping a row either gives a training row or raises `RowProblem`
with the drop reason, so the gate can count every dropped row under one reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from agents.tasks import addition, choice, custom, get_task, gsm8k, math_answers
from agents.tasks.hub import TaskDataError, slice_name
from bus.schemas import TaskSpec

OUR_NAMES = ("prompt", "answer", "completion", "solution", "slice")
CHAT = "messages"

# Drop reasons a row can get while it is mapped (the gate adds the rest).
MISSING = "missing_fields"
UNPARSEABLE = "unparseable_answer"

# (their column for prompt, their column for the answer or solution) in order of preference.
_LAYOUTS: tuple[tuple[str, dict[str, str]], ...] = (
    ("prompt/answer", {"prompt": "prompt", "answer": "answer"}),
    ("gsm8k", {"prompt": "question", "answer": "answer"}),
    ("math", {"prompt": "problem", "answer": "answer", "solution": "solution"}),
    ("math", {"prompt": "problem", "answer": "solution"}),
    ("instruction/output", {"prompt": "instruction", "answer": "output"}),
    ("input/output", {"prompt": "input", "answer": "output"}),
    ("question/solution", {"prompt": "question", "answer": "solution"}),
)
_OPTIONAL = {"completion": ("completion", "response"), "slice": ("slice", "level", "subject", "type", "category")}


class RowProblem(ValueError):
    """A row that cannot become a training row; `reason` is the drop reason the gate counts."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class MappingError(ValueError):
    """No column of the source maps onto the prompt and the answer: the whole source is unusable."""


def detect_mapping(columns: list[str]) -> dict[str, str]:
    """Our name -> their column for a known layout; MappingError naming the columns when none fits."""
    if CHAT in columns:
        return {CHAT: CHAT, **_optional(columns, exclude=())}
    for _, layout in _LAYOUTS:
        if all(col in columns for col in layout.values()):
            return {**layout, **_optional(columns, exclude=tuple(layout.values()))}
    raise MappingError(
        f"no column layout fits ({', '.join(columns) or 'no columns'}); expected prompt/answer, question/answer, "
        "problem/solution or messages; set column_mapping (prompt, answer) in the dataset card or data.local[].columns"
    )


def _optional(columns: list[str], exclude: tuple[str, ...]) -> dict[str, str]:
    found = {}
    for ours, candidates in _OPTIONAL.items():
        column = next((c for c in candidates if c in columns and c not in exclude), None)
        if column is not None:
            found[ours] = column
    return found


def check_mapping(mapping: dict[str, str], columns: list[str]) -> None:
    """A mapping (possibly a human's) that names our fields and their existing columns, or MappingError."""
    unknown = [k for k in mapping if k not in (*OUR_NAMES, CHAT)]
    if unknown:
        raise MappingError(f"column_mapping key {unknown[0]!r} is not one of {', '.join((*OUR_NAMES, CHAT))}")
    if CHAT not in mapping and not {"prompt", "answer"} <= mapping.keys():
        raise MappingError("column_mapping must map prompt and answer (or messages)")
    absent = [c for c in mapping.values() if c not in columns]
    if absent:
        raise MappingError(f"column {absent[0]!r} is not in the data; its columns are {', '.join(columns)}")


def prompt_format(spec: TaskSpec) -> Callable[[str], str]:
    """How the task's held-out prompts are written, so training prompts look the same."""
    return {gsm8k.NAME: gsm8k.prompt, math_answers.NAME: math_answers.prompt}.get(spec.name, lambda text: text)


def reference(spec: TaskSpec) -> Callable[[str], str]:
    """The task's reading of an answer cell (or a full solution) into its reference; raises on an unreadable one."""
    if spec.name == addition.NAME:
        width = spec.digits + 1

        def fixed_width(cell: str) -> str:
            text = str(cell).rsplit("####", 1)[-1].strip()  # a worked solution ends in `#### 052`
            if not re.fullmatch(rf"\d{{{width}}}", text):
                raise TaskDataError(f"answer {text[:40]!r} is not a {width}-digit sum")
            return text

        return fixed_width
    if spec.name == gsm8k.NAME:
        return gsm8k.reference_answer
    if spec.name == math_answers.NAME:
        return math_answers.reference_answer
    if spec.name == custom.NAME:
        return custom.grader_for(spec).reference
    return lambda cell: choice.reference_letter(cell)  # gpqa


def map_row(row: dict, mapping: dict[str, str], spec: TaskSpec) -> dict:
    """One source row as a training row {prompt, answer, completion, [solution], [slice]}; RowProblem if it cannot be."""
    if CHAT in mapping:
        prompt_text, reply = _chat_turns(row.get(mapping[CHAT]))
        extracted = get_task(spec).extract(reply)
        if extracted is None:
            raise RowProblem(UNPARSEABLE, f"the assistant's reply gives no answer the {spec.name} task can read")
        cells = {"prompt": prompt_text, "answer": extracted, "completion": reply}
    else:
        cells = {ours: row.get(theirs) for ours, theirs in mapping.items()}
    for field in ("prompt", "answer"):
        value = cells.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise RowProblem(MISSING, f"{field} ({mapping.get(field, CHAT)}) is empty")
    try:
        answer = reference(spec)(str(cells["answer"]))
    except (TaskDataError, ValueError) as exc:
        raise RowProblem(UNPARSEABLE, str(exc)) from None
    raw_prompt = str(cells["prompt"])
    # A `prompt` column is already in the task's format (our own layout); questions and problems are not.
    out = {"prompt": raw_prompt if mapping.get("prompt") == "prompt" else prompt_format(spec)(raw_prompt)}
    solution = cells.get("solution")
    if solution is None and str(cells["answer"]).strip() != answer:
        solution = cells["answer"]  # a full worked solution sat in the answer column (GSM8K, MATH)
    completion = cells.get("completion")
    if completion is None:
        # Demonstrations for SFT: the worked solution when there is one, else the bare reference.
        completion = f" {str(solution).strip()}" if solution is not None and spec.name != addition.NAME else answer
    out.update({"completion": str(completion), "answer": answer})
    if solution is not None:
        out["solution"] = str(solution)
    if "slice" in mapping:
        out["slice"] = slice_name(row, mapping["slice"])
    elif spec.name == addition.NAME:
        try:
            out["slice"] = addition.slice_of_prompt(out["prompt"])
        except ValueError:
            raise RowProblem(UNPARSEABLE, f"prompt {out['prompt'][:40]!r} is not an addition problem") from None
    return out


def _chat_turns(messages: object) -> tuple[str, str]:
    """(last user turn before the final assistant turn, that assistant turn) of a chat row."""
    if not isinstance(messages, list) or not messages:
        raise RowProblem(MISSING, "messages is not a list of turns")
    turns = [m for m in messages if isinstance(m, dict) and isinstance(m.get("content"), str)]
    replies = [i for i, m in enumerate(turns) if m.get("role") == "assistant"]
    if not replies:
        raise RowProblem(MISSING, "messages has no assistant turn")
    last = replies[-1]
    users = [m for m in turns[:last] if m.get("role") == "user"]
    if not users:
        raise RowProblem(MISSING, "messages has no user turn before the assistant's")
    return users[-1]["content"], turns[last]["content"]
