"""Synthetic SFT data for any task, without a generator: rejection sampling from a model.

STaR (arXiv 2203.14465) and RFT (arXiv 2308.01825): sample k completions per training prompt, keep
those the task's grader accepts against the prompt's reference answer, de-duplicate them, and train
on the survivors. The sampler is the model the hypothesis trains from (the current model, as in STaR)
or the teacher `data.rejection.teacher` names in intern.yaml (a local path or a Hub id, as in RFT's
stronger samplers). Generation goes through agents/models/sampling.py, so it uses vLLM on CUDA when it is
installed. Sampling stops at the time budget; prompts left, and prompts too long for the sampler's
context, are counted, never silently skipped. Every kept row's provenance (sampler, k, temperature,
seed, the prompt's pass rate) is written beside the data (`data/sampled.jsonl`).

A right answer reached by a wrong path passes the grader too (STaR's known weakness); the card says
how many completions were drawn and accepted, so a human can judge the pass rates.
"""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass, field

from agents.curator.gate import SourceRows, is_verified_row, run_gate
from agents.models import sampling
from agents.tasks import get_task
from agents.tasks.text import until
from bus import layout
from bus.jsonl import write_jsonl
from bus.schemas import TaskSpec

SOURCE = "rejection-sampled"
PROVENANCE_FILE = "data/sampled.jsonl"
CHUNK_PROMPTS = 64  # prompts per generate call: the time budget is checked between chunks
# Markers of a base model inventing the next problem: what follows is cut from a kept completion.
NEXT_PROBLEM = ("Question:", "Problem:")


@dataclass
class Sampled:
    source: SourceRows | None
    figures: dict  # RejectionSamplingFigures fields
    provenance: list[dict] = field(default_factory=list)  # one row per kept completion


def _distinct(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def rejection_sample(
    model,
    tokenizer,
    spec: TaskSpec,
    rows: list[dict],
    *,
    sampler: str,
    samples: int = 4,
    temperature: float = 0.7,
    seed: int = 0,
    max_prompts: int = 1024,
    seconds: float = 600.0,
    context: int | None = None,
) -> Sampled:
    """Rows {prompt, completion, answer, [slice]} whose completion the grader accepts, sampled from `model`.

    `rows` are verified training rows (a prompt and its reference answer); each distinct prompt is
    sampled `samples` times at most once. `context`: the sampler's context length, when known.
    """
    task = get_task(spec)
    max_new = task.max_new_tokens(spec)
    started = time.perf_counter()
    by_prompt: dict[str, dict] = {}
    for row in rows:
        by_prompt.setdefault(row["prompt"], row)
    prompts = list(by_prompt.values())
    too_long = 0
    if context is not None and prompts:
        model_prompts = sampling.as_model_prompts(tokenizer, [r["prompt"] for r in prompts])
        lengths = [len(ids) for ids in tokenizer(model_prompts, add_special_tokens=False)["input_ids"]]
        fits = [r for r, n in zip(prompts, lengths, strict=True) if n + max_new <= context]
        too_long = len(prompts) - len(fits)
        prompts = fits
    picked = prompts
    if len(prompts) > max_prompts:
        chosen = sorted(random.Random(seed).sample(range(len(prompts)), max_prompts))
        picked = [prompts[i] for i in chosen]
    out, provenance = [], []
    sampled = accepted = solved = 0
    for start in range(0, len(picked), CHUNK_PROMPTS):
        if time.perf_counter() - started > seconds:
            break
        chunk = picked[start : start + CHUNK_PROMPTS]
        generation = sampling.generate(
            model,
            tokenizer,
            [r["prompt"] for r in chunk],
            max_new,
            samples=samples,
            temperature=temperature,
            seed=seed + start,  # per chunk, so a prompt's draws do not repeat another chunk's
        )
        for row, completions in zip(chunk, generation.completions, strict=True):
            sampled += 1
            good = [c for c in (until(c, *NEXT_PROBLEM) for c in completions) if c.strip() and _grades(task, c, row)]
            accepted += len(good)
            solved += bool(good)
            distinct = list({_distinct(c): c for c in good}.values())
            for completion in distinct:
                kept = {"prompt": row["prompt"], "completion": completion, "answer": row["answer"]}
                if "slice" in row:
                    kept["slice"] = row["slice"]
                out.append(kept)
                provenance.append(
                    {
                        **kept,
                        "sampler": sampler,
                        "samples": samples,
                        "temperature": temperature,
                        "seed": seed,
                        "pass_rate": round(len(good) / samples, 4),
                    }
                )
    unsampled = len(picked) - sampled
    reasons = []
    if too_long:
        reasons.append(f"{too_long} prompts too long for the sampler's context of {context} with {max_new} new tokens")
    if len(prompts) > max_prompts:
        reasons.append(f"{len(prompts) - max_prompts} over data.rejection.max_prompts ({max_prompts})")
    if unsampled:
        reasons.append(f"{unsampled} left when the time budget of {seconds:g} s ran out")
    figures = {
        "sampler": sampler,
        "samples": samples,
        "temperature": temperature,
        "seed": seed,
        "prompts": len(by_prompt),
        "sampled_prompts": sampled,
        "too_long": too_long,
        "completions": sampled * samples,
        "accepted": accepted,
        "kept": len(out),
        "prompts_solved": solved,
        "seconds": round(time.perf_counter() - started, 2),
        "unscored_reason": "; ".join(reasons) or None,
    }
    source = SourceRows(SOURCE, out, ["prompt", "completion", "answer", "slice"]) if out else None
    return Sampled(source, figures, provenance)


def _grades(task, completion: str, row: dict) -> bool:
    try:
        return bool(task.grade(completion, row["answer"]))
    except Exception:  # a grader that raises on a completion rejects it
        return False


def pass_rate_histogram(provenance: list[dict], figures: dict) -> dict[str, int]:
    """Prompts by pass rate: never solved, solved sometimes (below half, half or more), always solved."""
    rates: dict[str, float] = {}
    for row in provenance:
        rates[row["prompt"]] = row["pass_rate"]
    never = figures["sampled_prompts"] - len(rates)
    return {
        "0": never,
        "(0, 0.5)": sum(0 < r < 0.5 for r in rates.values()),
        "[0.5, 1)": sum(0.5 <= r < 1 for r in rates.values()),
        "1": sum(r == 1 for r in rates.values()),
    }


def sampled_source(ws, goal, plan, results: dict, eval_prompts: list[str], checks: dict, problems: list[str]):
    """(gate result, mapping, origin, figures) of rows sampled for the verified prompts of the other sources,
    gated like any source; None (with the reason in `problems`) when there is nothing to sample or keep."""
    from agents.curator.model_checks import load_sampler

    rows = [r for res in results.values() if res.verdict != "rejected" for r in res.kept if is_verified_row(r)]
    if not rows:
        problems.append(f"source {SOURCE}: no training prompt with a reference answer to sample from")
        return None
    spec = goal.data.rejection
    try:
        model, tokenizer, label, context = load_sampler(ws, goal, plan.parent_run)
    except Exception as exc:  # offline Hub id, missing checkpoint, a broken teacher: recorded, the rest goes on
        problems.append(f"source {SOURCE}: sampler not loaded: {str(exc).splitlines()[0][:200]}")
        return None
    sampled = rejection_sample(
        model,
        tokenizer,
        goal.task,
        rows,
        sampler=label,
        samples=spec.samples,
        temperature=spec.temperature,
        seed=goal.seed,
        max_prompts=spec.max_prompts,
        seconds=spec.seconds,
        context=context,
    )
    provenance_rel = layout.dataset_file(plan.name, PROVENANCE_FILE)
    ws.path(provenance_rel).parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(ws.path(provenance_rel), sampled.provenance)
    figures = {
        "figures": sampled.figures,
        "pass_rates": pass_rate_histogram(sampled.provenance, sampled.figures),
    }
    if sampled.source is None:
        problems.append(
            f"source {SOURCE}: {sampled.figures['completions']} completions sampled from {label}, none "
            "accepted by the grader"
            + (f" ({sampled.figures['unscored_reason']})" if sampled.figures["unscored_reason"] else "")
        )
        return None
    mapping = {"prompt": "prompt", "answer": "answer", "completion": "completion", "slice": "slice"}
    if not any("slice" in r for r in sampled.source.rows):
        del mapping["slice"]
    gated = run_gate(
        sampled.source,
        mapping,
        goal.task,
        eval_prompts,
        seed=goal.seed,
        distinct_completions=True,
        added=True,
        **checks,
    )
    return gated, mapping, f"sampled from {label}", figures


def card_lines(sampled: dict) -> list[str]:
    """The card's section on the sampled rows: how many were drawn, accepted and kept, and why."""
    f, rates = sampled["figures"], sampled["pass_rates"]
    lines = [
        "## Rejection-sampled rows",
        "",
        f"Source `{SOURCE}` (STaR arXiv 2203.14465, RFT arXiv 2308.01825): `{f['sampler']}` sampled "
        f"{f['samples']} completions per training prompt at temperature {f['temperature']:g} (seed {f['seed']}); "
        f"kept: the completions the task's grader accepts against the prompt's reference answer, distinct ones only.",
        "",
        f"- prompts with a reference: {f['prompts']}; sampled: {f['sampled_prompts']}"
        + (f" ({f['unscored_reason']})" if f["unscored_reason"] else ""),
        f"- completions: {f['completions']} sampled, {f['accepted']} accepted "
        f"({f['accepted'] / max(1, f['completions']):.1%}), {f['kept']} kept after de-duplication",
        f"- prompts solved at least once: {f['prompts_solved']} of {f['sampled_prompts']}; by pass rate: "
        + ", ".join(f"{k}: {v}" for k, v in rates.items()),
        f"- provenance of every kept row (sampler, k, temperature, seed, the prompt's pass rate): `{PROVENANCE_FILE}`",
    ]
    return lines


def augment(
    kept: list[dict], mixture: list, sampled: list[dict], seed: int, source: str = SOURCE
) -> tuple[list[dict], list]:
    """RFT's augmented set: every row the other sources give, plus every added row (each with its `source`).

    Used unless `data.weights` names the added source: mixing by weight would cut the real rows down to
    as many as the sampler happened to solve.
    """
    from bus.schemas import MixturePart

    live = [m.source for m in mixture if m.rows_used]
    base = [r if "source" in r or len(live) != 1 else {**r, "source": live[0]} for r in kept]
    out = base + [{**r, "source": source} for r in sampled]
    random.Random(seed).shuffle(out)
    part = MixturePart(source=source, weight=1.0, rows_available=len(sampled), rows_used=len(sampled))
    return out, [*mixture, part]
