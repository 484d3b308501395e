"""Score a checkpoint on rows of a task: greedy exact match and sampled pass@k, with intervals.

Nothing here touches a workspace, so `intern eval` and the critic's step share it. A row that
cannot be scored (no prompt, no answer, not a JSON object), a completion with no answer in it
and a grader that raises all count as wrong, each with its reason; none of them stops the run.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from agents.critic.stats import bootstrap_interval, ks_for, pass_at_k, wilson_interval
from agents.models.sampling import generate
from agents.tasks.base import Task
from bus.jsonl import JsonlError, parse_line, split_lines

NO_SLICE = "all"
# Reasons a problem counts as wrong; the Evaluation body counts each.
WRONG = "wrong answer"
NO_ANSWER = "no answer in the output"
MISSING_COLUMN = "row lacks a prompt or an answer"
UNREADABLE_ROW = "row is not a JSON object"


class EvaluationError(ValueError):
    """Evaluation cannot start (an empty split, an unloadable model); the message is one line."""


@dataclass
class SliceResult:
    n: int
    correct: int
    ci: tuple[float, float]
    pass_at_max_k: float | None = None
    pass_ci: tuple[float, float] | None = None

    @property
    def score(self) -> float:
        return self.correct / self.n if self.n else 0.0


@dataclass
class Scores:
    n: int
    correct: list[bool]  # greedy, per problem
    completions: list[str]  # greedy, per problem ("" where the row could not be run)
    reasons: Counter  # why greedy answers were wrong
    ci: tuple[float, float]
    slices: dict[str, SliceResult]
    samples: int = 0
    temperature: float = 0.0
    seed: int = 0
    sampled_correct: list[int] = field(default_factory=list)  # correct samples per problem
    pass_at_k: dict[str, float] = field(default_factory=dict)
    pass_at_k_ci: dict[str, tuple[float, float]] = field(default_factory=dict)
    tokens_greedy: int = 0
    tokens_sampled: int = 0
    generation_seconds: float = 0.0

    @property
    def score(self) -> float:
        return sum(self.correct) / self.n

    @property
    def tokens(self) -> int:
        return self.tokens_greedy + self.tokens_sampled

    @property
    def problems_per_second(self) -> float:
        return self.n / self.generation_seconds if self.generation_seconds > 0 else 0.0


def parse_rows(text: str) -> list[dict]:
    """JSONL rows; a line that is not a JSON object becomes a row marked unreadable (scored wrong)."""
    rows = []
    for number, line in split_lines(text):
        try:
            rows.append(parse_line(line, "", number))
        except JsonlError:
            rows.append({"_unreadable": f"line {number}"})
    return rows


def _row_problem(row: dict) -> str | None:
    """Why this row cannot be scored at all, or None."""
    if "_unreadable" in row:
        return UNREADABLE_ROW
    if not isinstance(row.get("prompt"), str) or not isinstance(row.get("answer"), str | int | float):
        return MISSING_COLUMN
    return None


def judge(task: Task, completion: str, answer: str) -> str | None:
    """None when the completion is right, else the reason it is wrong. Extractor or grader errors count as wrong."""
    try:
        if task.extract(completion) is None:
            return NO_ANSWER
    except Exception as exc:
        return f"extractor raised {type(exc).__name__}"
    try:
        return None if task.grade(completion, answer) else WRONG
    except Exception as exc:
        return f"grader raised {type(exc).__name__}"


def score_model(
    model,
    tokenizer,
    rows: list[dict],
    task: Task,
    max_new_tokens: int,
    *,
    samples: int = 0,
    temperature: float = 1.0,
    seed: int = 0,
    thinking: bool = False,
) -> Scores:
    """Greedy exact match on every row, and pass@k from `samples` seeded draws per problem when samples > 1."""
    if not rows:
        raise EvaluationError("the evaluation split has no rows")
    problems = [_row_problem(r) for r in rows]
    runnable = [i for i, p in enumerate(problems) if p is None]
    prompts = [rows[i]["prompt"] for i in runnable]
    started = time.perf_counter()
    greedy = generate(model, tokenizer, prompts, max_new_tokens, thinking=thinking, stop=task.stop)
    completions = [""] * len(rows)
    for i, outs in zip(runnable, greedy.completions, strict=True):
        completions[i] = outs[0]
    verdicts = [
        p if p is not None else judge(task, completions[i], str(rows[i]["answer"])) for i, p in enumerate(problems)
    ]
    correct = [v is None for v in verdicts]
    scores = Scores(
        n=len(rows),
        correct=correct,
        completions=completions,
        reasons=Counter(v for v in verdicts if v is not None),
        ci=wilson_interval(sum(correct), len(rows)),
        slices={},
        tokens_greedy=greedy.tokens,
    )
    if samples > 1:
        sampled = generate(
            model,
            tokenizer,
            prompts,
            max_new_tokens,
            samples=samples,
            temperature=temperature,
            seed=seed,
            thinking=thinking,
            stop=task.stop,
        )
        per_problem = [0] * len(rows)
        for i, outs in zip(runnable, sampled.completions, strict=True):
            per_problem[i] = sum(judge(task, c, str(rows[i]["answer"])) is None for c in outs)
        scores.samples, scores.temperature, scores.seed = samples, temperature, seed
        scores.sampled_correct = per_problem
        scores.tokens_sampled = sampled.tokens
        for k in ks_for(samples):
            values = [pass_at_k(samples, c, k) for c in per_problem]
            scores.pass_at_k[str(k)] = sum(values) / len(values)
            scores.pass_at_k_ci[str(k)] = bootstrap_interval(values, seed=seed)
    scores.generation_seconds = time.perf_counter() - started
    scores.slices = _slices(rows, scores)
    return scores


def _slices(rows: list[dict], scores: Scores) -> dict[str, SliceResult]:
    names = sorted({r["slice"] for r in rows if isinstance(r.get("slice"), str)})
    out = {}
    for name in names:
        picked = [i for i, r in enumerate(rows) if r.get("slice") == name]
        hits = sum(scores.correct[i] for i in picked)
        result = SliceResult(n=len(picked), correct=hits, ci=wilson_interval(hits, len(picked)))
        if scores.samples > 1:
            values = [pass_at_k(scores.samples, scores.sampled_correct[i], scores.samples) for i in picked]
            result.pass_at_max_k = sum(values) / len(values)
            result.pass_ci = bootstrap_interval(values, seed=scores.seed)
        out[name] = result
    return out


def score_checkpoint(
    checkpoint: str,
    rows: list[dict],
    task: Task,
    max_new_tokens: int,
    *,
    samples: int = 0,
    temperature: float = 1.0,
    seed: int = 0,
    thinking: bool = False,
) -> Scores:
    """Load a materialized checkpoint and score it (see score_model), with vLLM where it can run."""
    from agents.models.sampling import choose_backend, load_for_generation

    model, tokenizer = load_for_generation(checkpoint, choose_backend(), seed)
    return score_model(
        model,
        tokenizer,
        rows,
        task,
        max_new_tokens,
        samples=samples,
        temperature=temperature,
        seed=seed,
        thinking=thinking,
    )


def sampled_accuracy(
    model, tokenizer, rows: list[dict], task: Task, max_new_tokens: int, temperature: float, seed: int
) -> float:
    """Share of problems whose single seeded sample is right: one seed's score in a noise-floor measurement."""
    if not rows:
        raise EvaluationError("the evaluation split has no rows")
    runnable = [i for i, r in enumerate(rows) if _row_problem(r) is None]
    prompts = [rows[i]["prompt"] for i in runnable]
    out = generate(model, tokenizer, prompts, max_new_tokens, temperature=temperature, seed=seed, stop=task.stop)
    hits = sum(judge(task, outs[0], str(rows[i]["answer"])) is None for i, outs in zip(runnable, out.completions))
    return hits / len(rows)


def describe(scores: Scores) -> list[str]:
    """Markdown lines shared by the Evaluation body and `intern eval`."""
    low, high = scores.ci
    lines = [
        f"Greedy exact match: **{scores.score:.3f}** (95% Wilson interval {low:.3f}-{high:.3f}, n={scores.n}).",
    ]
    if scores.samples > 1:
        ks = ", ".join(
            f"pass@{k} {v:.3f} ({scores.pass_at_k_ci[k][0]:.3f}-{scores.pass_at_k_ci[k][1]:.3f})"
            for k, v in scores.pass_at_k.items()
        )
        lines.append(
            f"Sampled, {scores.samples} per problem at temperature {scores.temperature:g}, seed {scores.seed}: {ks} "
            "(unbiased estimator of Chen et al. 2021; 95% bootstrap intervals over problems)."
        )
    if scores.slices:
        with_k = scores.samples > 1
        lines += [
            "",
            "| slice | n | exact match | 95% interval |"
            + (f" pass@{scores.samples} | 95% interval |" if with_k else ""),
            "|---|---|---|---|" + ("---|---|" if with_k else ""),
        ]
        for name, s in scores.slices.items():
            extra = ""
            if with_k and s.pass_at_max_k is not None and s.pass_ci is not None:
                extra = f" {s.pass_at_max_k:.3f} | {s.pass_ci[0]:.3f}-{s.pass_ci[1]:.3f} |"
            lines.append(f"| {name} | {s.n} | {s.score:.3f} | {s.ci[0]:.3f}-{s.ci[1]:.3f} |{extra}")
    lines += [
        "",
        f"Spent {scores.generation_seconds:.2f} s generating and grading ({scores.problems_per_second:.1f} problems/s), "
        f"{scores.tokens} generated tokens ({scores.tokens_greedy} greedy, {scores.tokens_sampled} sampled; padding "
        "excluded).",
    ]
    if scores.reasons:
        lines += ["", "Why answers were wrong (greedy):", ""]
        lines += [f"- {reason}: {count}" for reason, count in scores.reasons.most_common()]
    return lines
