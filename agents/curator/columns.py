"""Map a source's columns onto the task's training row: prompt, answer, and optional completion, solution, slice.

Common layouts are found automatically (LAYOUTS below, each with the name the dataset card shows):
- our own: `prompt`, `answer` (and `completion`, `slice`);
- GSM8K: `question`, `answer` whose text ends in `#### 72` (the reference is the number after it);
- MATH: `problem`, `solution` with a `\\boxed{}` answer (an `answer` column wins when there is one);
- GPQA's wide layout: `Question`, `Correct Answer`, `Incorrect Answer 1..3`: the four options are shuffled
  with a fixed seed per row into the prompt (agents/tasks/gpqa.py) and the answer is the correct letter;
- chat: `messages` (role/content; content a string or a list of text parts, OpenAI `{"type": "text",
  "text"}` or LLaMA-Factory `{"type": "text", "value"}`) or ShareGPT `conversations` (from/value): the last
  user turn before the final assistant turn is the prompt, that reply the completion, and the turns before
  them the row's `context` (the conversation, for SFT on a chat template);
- Alpaca: `instruction` + `input` (joined with a newline into the prompt, as LLaMA-Factory does), `output`.

Chat and Alpaca replies are free-form: they carry no reference answer the task's grader could check
them against, so such a source is *unverified* (`verified: false` on its rows): its rows can be SFT
demonstrations, never GRPO answers, and the card's agreement figure leaves them out instead of
grading a reply against an answer read from that same reply. A human who knows a column holds
references maps it as `answer` and the source is verified again.

A human can override the mapping in the dataset card's `column_mapping` (our name -> their column); the
curator reads it back on its next run. Mapping a row either gives a training row or raises `RowProblem`
with the drop reason, so the gate can count every dropped row under one reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from agents.tasks import addition, choice, custom, gpqa, gsm8k, math_answers
from agents.tasks.hub import TaskDataError, slice_name
from bus.schemas import TaskSpec

INCORRECT = ("incorrect_1", "incorrect_2", "incorrect_3")  # GPQA's wide layout: the wrong options
OUR_NAMES = ("prompt", "input", "answer", "completion", "solution", "slice", *INCORRECT)
CHAT = "messages"
CONTEXT = "context"  # a chat row's earlier turns, [{role, content}], before the prompt's user turn
VERIFIED = "verified"  # set to False on the rows of a source without references

# Drop reasons a row can get while it is mapped (the gate adds the rest).
MISSING = "missing_fields"
UNPARSEABLE = "unparseable_answer"

# (layout name, our name -> their column), in order of preference: the first whose columns all exist wins.
LAYOUTS: tuple[tuple[str, dict[str, str]], ...] = (
    ("prompt/answer", {"prompt": "prompt", "answer": "answer"}),
    (
        "GPQA wide (options shuffled into the prompt, answer = the letter)",
        {
            "prompt": "Question",
            "answer": "Correct Answer",
            **{ours: f"Incorrect Answer {i}" for i, ours in enumerate(INCORRECT, 1)},
        },
    ),
    ("GSM8K", {"prompt": "question", "answer": "answer"}),
    ("MATH", {"prompt": "problem", "answer": "answer", "solution": "solution"}),
    ("MATH", {"prompt": "problem", "answer": "solution"}),
    ("Alpaca (instruction + input)", {"prompt": "instruction", "input": "input", "completion": "output"}),
    ("Alpaca", {"prompt": "instruction", "completion": "output"}),
    ("input/output", {"prompt": "input", "completion": "output"}),
    ("question/solution", {"prompt": "question", "answer": "solution"}),
)
CHAT_COLUMNS = {"messages": "chat messages (role/content)", "conversations": "ShareGPT conversations (from/value)"}
_OPTIONAL = {
    "completion": ("completion", "response"),
    "slice": ("slice", "level", "subject", "High-level domain", "type", "category"),
}
_ROLES = {"human": "user", "gpt": "assistant", "user": "user", "assistant": "assistant", "system": "system"}


class RowProblem(ValueError):
    """A row that cannot become a training row; `reason` is the drop reason the gate counts."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class MappingError(ValueError):
    """No column of the source maps onto the prompt and the answer: the whole source is unusable."""


def detect_mapping(columns: list[str]) -> dict[str, str]:
    """Our name -> their column for a known layout; MappingError naming the columns when none fits."""
    for column in CHAT_COLUMNS:
        if column in columns:
            return {CHAT: column, **_optional(columns, exclude=())}
    for _, layout in LAYOUTS:
        if all(col in columns for col in layout.values()):
            return {**layout, **_optional(columns, exclude=tuple(layout.values()))}
    raise MappingError(
        f"no column layout fits ({', '.join(columns) or 'no columns'}); expected prompt/answer, question/answer, "
        "problem/solution, Question/Correct Answer/Incorrect Answer 1-3, instruction/output, messages or conversations; "
        "set column_mapping (prompt, answer) in the dataset card or data.local[].columns"
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
    if CHAT not in mapping and ("prompt" not in mapping or not {"answer", "completion"} & mapping.keys()):
        raise MappingError("column_mapping must map prompt and answer (or completion, or messages)")
    given = [k for k in INCORRECT if k in mapping]
    if given and (len(given) != len(INCORRECT) or "answer" not in mapping):
        raise MappingError(f"a wide multiple-choice mapping needs answer and all of {', '.join(INCORRECT)}")
    absent = [c for c in mapping.values() if c not in columns]
    if absent:
        raise MappingError(f"column {absent[0]!r} is not in the data; its columns are {', '.join(columns)}")


def is_verified(mapping: dict[str, str]) -> bool:
    """A source is verified when a column holds the reference answer; free-form replies alone are not."""
    return "answer" in mapping


def layout_name(mapping: dict[str, str]) -> str:
    """How the dataset card names a mapping: the known layout it is, or `custom`."""
    if CHAT in mapping:
        return CHAT_COLUMNS.get(mapping[CHAT], "chat messages")
    for name, layout in LAYOUTS:
        rest = {k for k in mapping if k not in layout}
        if all(mapping.get(k) == v for k, v in layout.items()) and rest <= _OPTIONAL.keys():
            return name
    return "custom"


def describe_mapping(mapping: dict[str, str]) -> str:
    """One line for the card: the layout, each of our fields and the column(s) it comes from, verified or not."""
    parts = []
    if CHAT in mapping:
        parts.append(
            f"prompt, completion <- `{mapping[CHAT]}` (last user turn, final assistant turn; earlier turns as context)"
        )
    for ours in ("prompt", "answer", "completion", "solution", "slice"):
        if ours not in mapping:
            continue
        theirs = f"`{mapping[ours]}`"
        if ours == "prompt" and "input" in mapping:
            theirs += f" + newline + `{mapping['input']}`"
        if ours == "prompt" and INCORRECT[0] in mapping:
            theirs += " + the four options in a seeded order"
        if ours == "answer" and INCORRECT[0] in mapping:
            theirs = f"the letter of `{mapping['answer']}` among the options"
        parts.append(f"{ours} <- {theirs}")
    verified = (
        "verified against the task's grader"
        if is_verified(mapping)
        else ("unverified (no reference answer: SFT demonstrations only, never GRPO answers)")
    )
    return f"{layout_name(mapping)}: {'; '.join(parts)}; {verified}"


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


def map_row(row: dict, mapping: dict[str, str], spec: TaskSpec, *, index: int = 0, seed: int = 0) -> dict:
    """One source row as a training row {prompt, answer, completion, [solution], [slice]}; RowProblem if it cannot be.

    `index` (the row's position in its source) and `seed` fix the order of a wide layout's options.
    An unverified row (no answer column) has an empty `answer` and `verified: false`.
    """
    context: list[dict] = []
    if CHAT in mapping:
        context, prompt_text, reply = _chat_turns(row.get(mapping[CHAT]))
        cells = {"prompt": prompt_text, "completion": reply}
        if "answer" in mapping:
            cells["answer"] = row.get(mapping["answer"])
    else:
        cells = {ours: row.get(theirs) for ours, theirs in mapping.items()}
    required = ("prompt", "answer") if is_verified(mapping) else ("prompt", "completion")
    for field in required:
        value = cells.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise RowProblem(MISSING, f"{field} ({mapping.get(field, mapping.get(CHAT, CHAT))}) is empty")
    raw_prompt = str(cells["prompt"])
    extra = cells.get("input")
    if extra is not None and str(extra).strip():
        raw_prompt = f"{raw_prompt.rstrip()}\n{str(extra).strip()}"  # Alpaca: the input follows the instruction
    if not is_verified(mapping):
        out = {"prompt": _formatted(raw_prompt, mapping, spec), "completion": str(cells["completion"]), "answer": ""}
        out[VERIFIED] = False
        if context:
            out[CONTEXT] = context
        return _with_slice(out, row, mapping, spec, None)
    if INCORRECT[0] in mapping:
        return _with_slice(_wide_choice(cells, spec, index, seed), row, mapping, spec, None)
    try:
        answer = reference(spec)(str(cells["answer"]))
    except (TaskDataError, ValueError) as exc:
        raise RowProblem(UNPARSEABLE, str(exc)) from None
    out = {"prompt": _formatted(raw_prompt, mapping, spec)}
    if context:
        out[CONTEXT] = context
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
    return _with_slice(out, row, mapping, spec, solution)


def _formatted(raw_prompt: str, mapping: dict[str, str], spec: TaskSpec) -> str:
    # A `prompt` column is already in the task's format (our own layout); questions and problems are not.
    return raw_prompt if mapping.get("prompt") == "prompt" else prompt_format(spec)(raw_prompt)


def _wide_choice(cells: dict, spec: TaskSpec, index: int, seed: int) -> dict:
    """GPQA's wide layout: the options shuffled into the prompt as the gpqa task does, the answer their letter."""
    texts = ["" if cells.get(k) is None else str(cells[k]) for k in ("answer", *INCORRECT)]
    if not all(t.strip() for t in texts):
        raise RowProblem(
            MISSING, f"option {('answer', *INCORRECT)[[bool(t.strip()) for t in texts].index(False)]} is empty"
        )
    choices, letter = gpqa.shuffled_choices(texts[0], texts[1:], seed, index)
    completion = cells.get("completion")
    return {
        "prompt": gpqa.prompt(str(cells["prompt"]), choices),
        "completion": str(completion) if completion is not None else f" {letter}",
        "answer": letter,
    }


def _with_slice(out: dict, row: dict, mapping: dict[str, str], spec: TaskSpec, solution: object) -> dict:
    if "slice" in mapping:
        out["slice"] = slice_name(row, mapping["slice"])
    elif spec.name == addition.NAME:
        try:
            out["slice"] = addition.slice_of_prompt(out["prompt"])
        except ValueError:
            raise RowProblem(UNPARSEABLE, f"prompt {out['prompt'][:40]!r} is not an addition problem") from None
    elif spec.name == gsm8k.NAME and solution is not None and (steps := gsm8k.steps_slice(str(solution))):
        out["slice"] = steps  # as the critic slices the held-out split
    return out


def _content(content: object) -> str | None:
    """A turn's text: a string, or the text parts of a list ({"type": "text", "text"|"value": ...})."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return None
    texts = []
    for part in content:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, dict) and part.get("type", "text") == "text":
            value = part.get("text", part.get("value"))
            if not isinstance(value, str):
                return None
            texts.append(value)
        else:  # an image or audio part: the turn cannot be written as text
            return None
    return "".join(texts)


def _chat_turns(messages: object) -> tuple[list[dict], str, str]:
    """(the turns before it, the last user turn before the final assistant turn, that assistant turn) of a chat
    or ShareGPT row. The earlier turns ({role, content}, system included) are the conversation the reply
    answers: SFT on a chat template trains on the reply in that context."""
    if not isinstance(messages, list) or not messages:
        raise RowProblem(MISSING, "messages is not a list of turns")
    turns = []
    for m in messages:
        if not isinstance(m, dict):
            continue
        role = _ROLES.get(str(m.get("role", m.get("from", ""))).lower())
        text = _content(m.get("content", m.get("value")))
        if role is not None and text is not None:
            turns.append((role, text))
    replies = [i for i, (role, _) in enumerate(turns) if role == "assistant"]
    if not replies:
        raise RowProblem(MISSING, "messages has no assistant turn with text content")
    last = replies[-1]
    users = [i for i, (role, _) in enumerate(turns[:last]) if role == "user"]
    if not users:
        raise RowProblem(MISSING, "messages has no user turn before the assistant's")
    context = [{"role": role, "content": text} for role, text in turns[: users[-1]]]
    return context, turns[users[-1]][1], turns[last][1]
