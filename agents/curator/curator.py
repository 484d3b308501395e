"""The curator's step: write the generator into the workspace, run it, check the data, write the card.

The card's figures are measured on the file just written: duplicates, prompt lengths, answer
format, agreement of the demonstrations with the task's grader (overall and per slice), and
overlap with the held-out prompts, which must be zero.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from importlib import resources

from agents import state
from agents.brain.examples import add_llm_examples
from agents.steps import StepOutcome
from agents.tasks import addition
from bus import Workspace, sha256_file
from bus.schemas import DatasetCard, Goal, SliceFigures

TRAIN_ROWS = 4000


def dataset_name(goal: Goal) -> str:
    # A percentage through `:g`: int(0.29 * 100) would be 28, and 0.555 stays 55.5.
    return f"{goal.task.name}-d{goal.task.digits}-teacher{goal.task.teacher_error * 100:g}-s{goal.seed}"


def quality_figures(rows: list[dict], digits: int, eval_prompts: set[str]) -> dict:
    prompts = [r["prompt"] for r in rows]
    lengths = [len(p) for p in prompts]
    agree = [addition.grade(r["completion"], r["answer"]) for r in rows]
    well_formed = [r["completion"].isdigit() and len(r["completion"]) == digits + 1 for r in rows]
    slices = {}
    for name in addition.SLICES:
        picked = [a for a, r in zip(agree, rows, strict=True) if r["slice"] == name]
        if picked:
            slices[name] = SliceFigures(rows=len(picked), label_agreement=round(sum(picked) / len(picked), 4))
    return {
        "rows": len(rows),
        "duplicates": len(prompts) - len(set(prompts)),
        "prompt_length": {"min": min(lengths), "mean": round(statistics.fmean(lengths), 2), "max": max(lengths)},
        "answer_format_ok": round(sum(well_formed) / len(rows), 4),
        "label_agreement": round(sum(agree) / len(rows), 4),
        "slices": slices,
        "eval_overlap": len(set(prompts) & eval_prompts),
    }


def curator_step(ws: Workspace, instruction: str = "") -> StepOutcome:
    goal = ws.goal()
    name = dataset_name(goal)
    card_rel = f"datasets/{name}/README.md"
    data_rel = f"datasets/{name}/data/train.jsonl"
    existing = next((card for path, card in state.dataset_cards(ws) if path == card_rel), None)
    if existing is not None and ws.exists(data_rel) and sha256_file(ws.path(data_rel)) == existing.data_sha256:
        return StepOutcome("curator", f"{card_rel} already holds a checked dataset for this goal; reusing it")
    if goal.task.name != addition.NAME:
        return StepOutcome("curator", f"no data builder for task {goal.task.name!r} yet", ok=False)

    eval_rel = f"eval/{goal.task.name}/test.jsonl"
    if not ws.exists(eval_rel):
        return StepOutcome(
            "curator", "the held-out split does not exist yet; the critic must create it first", ok=False
        )
    commits = []
    script_rel = f"datasets/{name}/generate.py"
    if not ws.exists(script_rel):  # a generator already there may carry a human's edits: run it as it is
        script = resources.files("agents.curator").joinpath("addition_generator.py").read_text()
        commits.append(ws.write_artifact("curator", script_rel, script, f"Write the data generator for {name}"))

    args = [
        sys.executable,
        str(ws.path(script_rel)),
        f"--rows={TRAIN_ROWS}",
        f"--digits={goal.task.digits}",
        f"--teacher-error={goal.task.teacher_error}",
        f"--seed={goal.seed}",
        f"--exclude={ws.path(eval_rel)}",
        f"--out={ws.path(data_rel)}",
    ]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        return StepOutcome("curator", f"generator failed: {proc.stderr.strip()[-300:]}", commits, ok=False)

    # The LLM brain's examples, each recomputed and graded before they are appended (agents/brain/examples.py).
    by = add_llm_examples(ws, goal, data_rel, eval_rel) if goal.brain != "none" else ""
    rows = [json.loads(line) for line in ws.read_text(data_rel).splitlines() if line.strip()]
    eval_prompts = {json.loads(line)["prompt"] for line in ws.read_text(eval_rel).splitlines() if line.strip()}
    if existing is not None and sha256_file(ws.path(data_rel)) == existing.data_sha256:
        # Generated data stays out of git; a fresh clone or a cleaned folder rebuilds it bit for bit.
        return StepOutcome("curator", f"rebuilt {data_rel}; it matches the card's sha256", commits)
    figures = quality_figures(rows, goal.task.digits, eval_prompts)
    if figures["eval_overlap"]:
        return StepOutcome(
            "curator", f"{figures['eval_overlap']} training prompts leak into the held-out split", commits, ok=False
        )
    hypothesis = _latest_hypothesis(ws)
    slice_lines = [f"| {k} | {v.rows} | {v.label_agreement:.1%} |" for k, v in figures["slices"].items()]
    body = (
        f"# Dataset {name}\n\n"
        f"{figures['rows']} fixed-width addition problems with {goal.task.digits}-digit operands, none of them in "
        f"the held-out split. Columns: `prompt`; `completion`, the embedded teacher's demonstration; `answer`, "
        f"the verified sum that rewards use; `slice`.\n\n"
        f"Rebuild it with `python {script_rel.split('/')[-1]} --rows {TRAIN_ROWS} --digits {goal.task.digits} "
        f"--teacher-error {goal.task.teacher_error} --seed {goal.seed} --exclude ../../{eval_rel} --out data/train.jsonl` "
        f"from this folder.\n\n"
        f"## Quality\n\n"
        f"- duplicates: {figures['duplicates']}\n"
        f"- prompt length: {figures['prompt_length']}\n"
        f"- answers in the expected format: {figures['answer_format_ok']:.1%}\n"
        f"- demonstrations that agree with the grader: {figures['label_agreement']:.1%}\n\n"
        f"| slice | rows | agreement with grader |\n|---|---|---|\n"
        + "\n".join(slice_lines)
        + "\n\n"
        + (
            "**Warning:** on some slice the teacher's demonstrations disagree with the grader; supervised "
            "training will imitate that error. Rewards use the verified `answer` column.\n"
            if figures["label_agreement"] < 1.0
            else "All demonstrations agree with the grader.\n"
        )
    )
    if by:  # the rebuild command above reproduces the generated rows only, not the LLM's
        body += f"\nLLM brain: {by}.\n"
    card = DatasetCard(
        name=name,
        task=goal.task.name,
        columns=["prompt", "completion", "answer", "slice"],
        data_file="data/train.jsonl",
        data_sha256=sha256_file(ws.path(data_rel)),
        generator="generate.py",
        hypothesis=hypothesis,
        body=body,
        **figures,
    )
    commits.append(
        ws.write_artifact(
            "curator",
            card_rel,
            card,
            f"Dataset card for {name}: {figures['rows']} rows, {figures['label_agreement']:.0%} agree with the grader"
            + (f" ({by})" if by else ""),
        )
    )
    return StepOutcome(
        "curator", f"{name}: {figures['rows']} rows, label agreement {figures['label_agreement']:.1%}", commits
    )


def _latest_hypothesis(ws: Workspace) -> str | None:
    found = state.hypotheses(ws)
    return found[-1][0] if found else None
