"""Synthetic examples: a generator script written into the workspace, run in the sandbox, read back as a source.

`more_examples` is the one place that answers "more examples (for slice X)". It runs the task's
generator script (the embedded task has one: agents/curator/addition_generator.py, copied to
`datasets/<name>/generate.py` so a human can read and rerun it), and with an LLM brain it adds the
LLM's examples, each recomputed and graded first (agents/brain/training_rows.py). A task without a
generator gets the LLM's graded examples as a source of their own (`llm_examples`).
Whatever it returns goes through the same quality gate as any other source.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from importlib import resources

from agents.brain.training_rows import add_llm_examples
from agents.curator.gate import SourceRows
from agents.curator.sandbox import TIMEOUT_SECONDS, run_script
from agents.curator.sources import SourceError, read_source
from agents.curator.targets import Target
from agents.tasks import addition
from bus import Workspace, layout
from bus.jsonl import read_jsonl, write_jsonl
from bus.schemas import Goal

SYNTHETIC = "synthetic"
GENERATED_FILE = "data/generated.jsonl"
LLM = "llm"  # the LLM brain's examples, for a task without a generator
LLM_FILE = "data/llm.jsonl"
# Share of rows drawn from the targeted slice. Measured on the embedded demo (2 CPU cores, one run): at 0.9
# the GRPO pass-rate filter left 86% carry rows, and GRPO lifted carry 0.32 -> 0.80 but let no_carry fall
# 0.97 -> 0.65: the other slices need a real share to stay anchored. At 0.8 about two rows in three survive
# as carry rows, close to the untargeted data's 70%, with the weak slice still over-represented.
TARGET_SHARE = 0.8


@dataclass
class Generated:
    source: SourceRows | None
    problem: str | None  # why there is no source, in one line
    command: str = ""  # how a human reruns it, from the dataset's folder
    commits: list[str] = field(default_factory=list)
    llm_note: str = ""  # what the LLM brain added, when it is on
    masked_lines: int = 0  # lines of the generator's output in which the sandbox masked a secret


def has_generator(goal: Goal) -> bool:
    return goal.task.name == addition.NAME


def generator_args(goal: Goal, rows: int, eval_rel: str, target: Target | None) -> list[str]:
    args = [
        f"--rows={rows}",
        f"--digits={goal.task.digits}",
        f"--teacher-error={goal.task.teacher_error}",
        f"--seed={goal.seed}",
        f"--exclude=../../{eval_rel}",
        f"--out={GENERATED_FILE}",
    ]
    if target is not None:
        args += [f"--focus-slice={target.slice}", f"--focus-share={TARGET_SHARE}"]
    return args


def more_examples(
    ws: Workspace,
    goal: Goal,
    dataset: str,
    rows: int,
    eval_rel: str,
    target: Target | None = None,
    timeout: float = TIMEOUT_SECONDS,
) -> Generated:
    """Rows for `dataset` from the task's generator, aimed at `target`'s slice when given."""
    if not has_generator(goal):
        return Generated(None, f"task {goal.task.name} has no example generator (an LLM brain could propose some)")
    folder = layout.dataset_dir(dataset)
    script_rel = f"{folder}/generate.py"
    commits = []
    if not ws.exists(script_rel):  # a generator already there may carry a human's edits: run it as it is
        script = resources.files("agents.curator").joinpath("addition_generator.py").read_text()
        commits.append(ws.write_artifact("curator", script_rel, script, f"Write the data generator for {dataset}"))
    args = generator_args(goal, rows, eval_rel, target)
    command = "python generate.py " + " ".join(shlex.quote(a) for a in args)
    # In the sandbox's private folder, laid out as the workspace is, so the same relative arguments (the command a
    # human reruns) work there; only the output file comes back, masked, beside the script.
    run = run_script(
        ws.path(script_rel),
        args,
        cwd=folder,
        files={eval_rel: ws.path(eval_rel)},
        output=(f"{folder}/{GENERATED_FILE}", ws.path(f"{folder}/{GENERATED_FILE}")),
        hide=[ws.root],
        timeout=timeout,
    )
    if not run.ok:
        return Generated(None, f"generator failed: {run.reason}", command, commits)
    # The LLM brain's examples, each recomputed and graded before they are appended (agents/brain/training_rows.py).
    llm_note = add_llm_examples(ws, goal, f"{folder}/{GENERATED_FILE}", eval_rel) if goal.brain != "none" else ""
    try:
        source = read_source(SYNTHETIC, str(ws.path(f"{folder}/{GENERATED_FILE}")))
    except SourceError as exc:
        return Generated(None, f"generator output unreadable: {exc}", command, commits)
    return Generated(source, None, command, commits, llm_note, run.masked_lines)


def llm_examples(ws: Workspace, goal: Goal, dataset: str, eval_rel: str) -> tuple[SourceRows | None, str]:
    """For a task without a generator: the LLM brain's examples (each graded, agents/brain/training_rows.py) as a
    source, with prompts in the task's format; (None, note) when the brain is off or gave none."""
    from agents.curator.columns import prompt_format

    if goal.brain == "none" or has_generator(goal):
        return None, ""
    rel = layout.dataset_file(dataset, LLM_FILE)
    ws.path(rel).parent.mkdir(parents=True, exist_ok=True)
    ws.path(rel).write_text("")
    note = add_llm_examples(ws, goal, rel, eval_rel)
    rows = read_jsonl(ws.path(rel))
    if not rows:
        return None, note
    formatted = prompt_format(goal.task)
    marker = formatted("").split(" ", 1)[0]  # "Question:" for GSM8K, "Problem:" for MATH, "" when verbatim
    for row in rows:  # the LLM writes the question; the held-out prompts wrap it ("Question: ...\nAnswer:")
        if marker and not row["prompt"].lstrip().startswith(marker):
            row["prompt"] = formatted(row["prompt"])
    write_jsonl(ws.path(rel), rows)
    return SourceRows(LLM, rows, ["prompt", "completion", "answer", "slice"]), note
