"""The quality gate: every source row is kept or dropped with one reason, and every figure is measured.

Checks, in order (a row gets the first reason that applies):
non_utf8 / corrupt_row (found while reading), missing_fields and unparseable_answer (while mapping
columns), unfilled_placeholder (`{{name}}` left to be filled, agents/curator/text_checks.py, which also
turns CRLF into LF and trims blank lines at the ends of each text, counted in `figures.cleaned`), too_long (prompt + completion over the model's context), duplicate / near_duplicate (of an
earlier row, with the same normalisation and 5-gram Jaccard test as the contamination check),
contaminated (against the held-out split, agents/common/contamination.py: the critic's own test),
unverified (a row with no reference answer, agents/curator/columns.py, where only verified rows may be
used: GRPO answers, or SFT aimed at a weak slice), wrong_demonstration (only when asked: SFT data aimed at
a weak slice must not teach its error), and for GRPO too_easy / too_hard (the pass-rate filter,
agents/curator/pass_rate.py). Agreement with the grader is measured on verified rows only: an
unverified reply has nothing to be graded against but itself.

The verdict: `rejected` when nothing usable is left or most rows are malformed (the source is
probably mis-mapped), `usable with warnings` when something deserves a human's look, else `usable`.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from agents.common import contamination
from agents.curator.columns import VERIFIED, RowProblem, map_row, reference
from agents.curator.text_checks import PLACEHOLDER, clean_row, row_placeholders
from agents.tasks import get_task, prompt_template
from bus.schemas import SliceFigures, TaskSpec

NON_UTF8 = "non_utf8"
CORRUPT_ROW = "corrupt_row"
TOO_LONG = "too_long"
DUPLICATE = "duplicate"
NEAR_DUPLICATE = "near_duplicate"
CONTAMINATED = "contaminated"
WRONG_DEMONSTRATION = "wrong_demonstration"
UNVERIFIED = "unverified"
TOO_EASY = "too_easy"
TOO_HARD = "too_hard"
# Reasons that say the rows are broken (not merely unhelpful): many of them mean a mis-mapped source.
MALFORMED = (NON_UTF8, CORRUPT_ROW, "missing_fields", "unparseable_answer")
REJECT_MALFORMED_SHARE = 0.5
WARN_DROP_SHARE = 0.05
WARN_FEW_ROWS = 100
REJECT_FEW_ROWS = 10  # fewer kept rows than this is no training set
EXAMPLES_PER_REASON = 3


@dataclass
class SourceRows:
    """What a reader got from one source: rows as dicts, and the rows it could not read (index, reason, detail)."""

    name: str
    rows: list[dict]
    columns: list[str]
    unreadable: list[tuple[int, str, str]] = field(default_factory=list)
    # File position of each readable row, when unreadable rows were skipped (so reports name the file's row).
    positions: list[int] | None = None
    masked_rows: int = 0  # rows in which a secret-shaped string was masked as [REDACTED] (the file is left as it is)
    rows_seen: int | None = None  # readable rows in the source when more than `rows` (a sample was kept)

    @property
    def total(self) -> int:
        return len(self.rows) + len(self.unreadable)


@dataclass
class GateResult:
    kept: list[dict]
    rows_in: int
    dropped: dict[str, int]
    examples: dict[str, list[dict]]  # reason -> the first few dropped rows (source index and why)
    figures: dict
    verdict: str
    reasons: list[str]


# (prompts, completions) -> token counts of prompt + completion; None: lengths are not checked.
TokenCounter = Callable[[list[str], list[str]], list[int]]
# Kept rows -> per row "too_easy", "too_hard" or None (keep), plus the filter's figures.
PassFilter = Callable[[list[dict]], tuple[list[str | None], dict]]


def run_gate(
    source: SourceRows,
    mapping: dict[str, str],
    spec: TaskSpec,
    eval_prompts: list[str],
    *,
    count_tokens: TokenCounter | None = None,
    max_tokens: int | None = None,
    pass_filter: PassFilter | None = None,
    demonstrations: bool = True,
    verified_only: bool = False,
    seed: int = 0,
    distinct_completions: bool = False,
    added: bool = False,
) -> GateResult:
    """`demonstrations`: the completions will be imitated (SFT), so disagreeing ones deserve a warning; when
    False (GRPO) the `answer` is what counts, so rows without a reference are dropped as unverified.
    `verified_only`: drop disagreeing and unverified rows, as when SFT data is aimed at a weak slice.
    `seed` fixes the option order of a wide multiple-choice layout. `distinct_completions`: rows repeat a
    prompt on purpose (several sampled solutions of one problem), so duplicates are judged on prompt and
    completion together. `added`: the rows are added to other sources' (sampled solutions, an LLM's
    examples), so a few of them is no reason to reject or warn.
    """
    drops: list[tuple[int, str, str]] = list(source.unreadable)
    # Repeats and leaks are judged on the problems as written, not on the task template around them.
    template = prompt_template(spec)
    mapped: list[tuple[int, dict]] = []
    for index, row in zip(source.positions or range(len(source.rows)), source.rows, strict=True):
        try:
            mapped.append((index, map_row(row, mapping, spec, index=index, seed=seed)))
        except RowProblem as exc:
            drops.append((index, exc.reason, str(exc)))

    mapped, cleaned = _clean(mapped, drops)

    if count_tokens is not None and max_tokens is not None and mapped:
        lengths = count_tokens([r["prompt"] for _, r in mapped], [r["completion"] for _, r in mapped])
        keep = []
        for (index, row), n in zip(mapped, lengths, strict=True):
            if n > max_tokens:
                drops.append((index, TOO_LONG, f"{n} tokens > the model's context of {max_tokens}"))
            else:
                keep.append((index, row))
        mapped = keep

    if distinct_completions:  # exact repeats of (prompt, completion) only: two solutions of one problem differ
        seen: dict[tuple[str, str], int] = {}
        repeated = {}
        for position, (_, r) in enumerate(mapped):
            key = (r["prompt"], " ".join(r["completion"].split()))
            if key in seen:
                repeated[position] = contamination.Hit(position, seen[key], contamination.EXACT, 1.0)
            seen.setdefault(key, position)
    else:
        found = contamination.find_near_duplicates([r["prompt"] for _, r in mapped], template=template)
        repeated = {h.train_index: h for h in found}
    keep = []
    for position, (index, row) in enumerate(mapped):
        hit = repeated.get(position)
        if hit is None:
            keep.append((index, row))
            continue
        reason = DUPLICATE if hit.kind == contamination.EXACT else NEAR_DUPLICATE
        drops.append((index, reason, f"repeats source row {mapped[hit.eval_index][0]} (similarity {hit.similarity})"))
    mapped = keep

    found = contamination.find_contamination([r["prompt"] for _, r in mapped], eval_prompts, template=template)
    leaks = {h.train_index: h for h in found}
    compared = " (problems as written, the task template removed)" if any(template) else ""
    keep = []
    for position, (index, row) in enumerate(mapped):
        hit = leaks.get(position)
        if hit is None:
            keep.append((index, row))
        else:  # the eval row's number only, never its text
            drops.append((index, CONTAMINATED, f"{hit.kind} match of held-out row {hit.eval_index}{compared}"))
    mapped = keep

    if verified_only or not demonstrations:
        keep = []
        for index, row in mapped:
            if is_verified_row(row):
                keep.append((index, row))
            else:
                drops.append((index, UNVERIFIED, "no reference answer the grader can check (a free-form reply)"))
        mapped = keep

    if verified_only:
        grade = get_task(spec).grade
        keep = []
        for index, row in mapped:
            if _agrees(grade, row):
                keep.append((index, row))
            else:
                drops.append((index, WRONG_DEMONSTRATION, f"completion {row['completion'][:40]!r} fails the grader"))
        mapped = keep

    pass_figures = None
    if pass_filter is not None and mapped:
        verdicts, pass_figures = pass_filter([r for _, r in mapped])
        keep = []
        for (index, row), verdict in zip(mapped, verdicts, strict=True):
            if verdict is None:
                keep.append((index, row))
            else:
                why = {TOO_EASY: "pass rate 1", TOO_HARD: "pass rate 0"}.get(
                    verdict, "not scored within the time budget"
                )
                drops.append((index, verdict, why))
        mapped = keep

    kept = [row for _, row in mapped]
    dropped = dict(Counter(reason for _, reason, _ in drops))
    examples: dict[str, list[dict]] = {}
    for index, reason, detail in sorted(drops):
        if len(examples.setdefault(reason, [])) < EXAMPLES_PER_REASON:
            examples[reason].append({"row": index, "why": detail[:200]})
    figures = measure(kept, spec)
    figures["pass_rate"] = pass_figures
    figures["cleaned"] = cleaned
    verdict, reasons = judge(source.total, kept, dropped, figures, demonstrations, added)
    return GateResult(kept, source.total, dropped, examples, figures, verdict, reasons)


def _clean(mapped: list[tuple[int, dict]], drops: list) -> tuple[list[tuple[int, dict]], dict[str, int]]:
    """Rows with CRLF and blank lines at the ends cleaned (counted), and rows holding placeholders dropped."""
    keep, cleaned = [], {"crlf": 0, "blank_lines": 0}
    for index, row in mapped:
        found = row_placeholders(row)
        if found:
            drops.append((index, PLACEHOLDER, f"unfilled template placeholder {', '.join(found[:3])}"))
            continue
        row, what = clean_row(row)
        for kind in what:
            cleaned[kind] += 1
        keep.append((index, row))
    return keep, cleaned


def _spread(values: list[int]) -> dict[str, float]:
    if not values:
        return {"min": 0, "mean": 0.0, "median": 0.0, "p90": 0.0, "max": 0}
    ordered = sorted(values)
    return {
        "min": ordered[0],
        "mean": round(statistics.fmean(ordered), 2),
        "median": float(statistics.median(ordered)),
        "p90": float(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]),
        "max": ordered[-1],
    }


def measure(rows: list[dict], spec: TaskSpec) -> dict:
    """Figures of the kept rows: lengths, answers, format and agreement of demonstrations with the grader."""
    task = get_task(spec)
    read = reference(spec)

    def well_formed(completion: str) -> bool:
        got = task.extract(completion)
        try:
            return got is not None and bool(read(got))
        except ValueError:
            return False

    checked = [r for r in rows if is_verified_row(r)]  # an unverified reply is never graded against itself
    agree = [_agrees(task.grade, r) for r in checked]
    slices: dict[str, SliceFigures] = {}
    for name in sorted({r["slice"] for r in checked if "slice" in r}):
        picked = [a for a, r in zip(agree, checked, strict=True) if r.get("slice") == name]
        slices[name] = SliceFigures(rows=len(picked), label_agreement=round(sum(picked) / len(picked), 4))
    answers = Counter(r["answer"] for r in checked)
    n = max(1, len(rows))
    return {
        "rows": len(rows),
        "prompt_length": _spread([len(r["prompt"]) for r in rows]),
        "completion_length": _spread([len(r["completion"]) for r in rows]),
        "answer_format_ok": round(sum(well_formed(r["completion"]) for r in rows) / n, 4),
        "label_agreement": round(sum(agree) / len(checked), 4) if checked else None,
        "verified_rows": len(checked),
        "unverified_rows": len(rows) - len(checked),
        "slices": slices,
        "answers": {
            "distinct": len(answers),
            "most_common": [[a, c] for a, c in answers.most_common(10)],
            "top_share": round(answers.most_common(1)[0][1] / max(1, len(checked)), 4) if answers else 0.0,
        },
    }


def is_verified_row(row: dict) -> bool:
    return row.get(VERIFIED, True) is not False


def _agrees(grade, row: dict) -> bool:
    try:
        return bool(grade(row["completion"], row["answer"]))
    except Exception:  # a grader that raises on a row is a disagreement, not a crash of the gate
        return False


def judge(
    rows_in: int,
    kept: list[dict],
    dropped: dict[str, int],
    figures: dict,
    demonstrations: bool = True,
    added: bool = False,
) -> tuple[str, list[str]]:
    """The verdict and its reasons, from the counts alone."""
    reasons: list[str] = []
    malformed = sum(dropped.get(r, 0) for r in MALFORMED)
    if rows_in == 0:
        return "rejected", ["the source has no rows (empty split)"]
    if malformed / rows_in > REJECT_MALFORMED_SHARE:
        worst = max(MALFORMED, key=lambda r: dropped.get(r, 0))
        return "rejected", [
            f"{malformed} of {rows_in} rows are malformed (most: {worst}, {dropped[worst]}); the columns are "
            "probably mis-mapped: fix column_mapping in the card"
        ]
    if len(kept) < (1 if added else REJECT_FEW_ROWS):
        listed = ", ".join(f"{k} {v}" for k, v in sorted(dropped.items()))
        survived = f"only {len(kept)} rows survived" if kept else "no row survived"
        why = f"{survived} the gate ({listed}); too few to train on"
        if dropped.get(UNVERIFIED):
            why += "; free-form replies carry no reference answer, so they can only be SFT demonstrations"
        return "rejected", [why]
    if figures.get("unverified_rows"):
        reasons.append(
            f"{figures['unverified_rows']} of {len(kept)} rows have no reference answer the grader can check "
            "(free-form replies): SFT demonstrations only, left out of the agreement figure"
        )
    if dropped.get(UNVERIFIED):
        reasons.append(
            f"{dropped[UNVERIFIED]} rows without a reference answer dropped: only verified rows can be "
            + ("GRPO answers" if not demonstrations else "targeted demonstrations")
        )
    if dropped.get(PLACEHOLDER):
        reasons.append(
            f"{dropped[PLACEHOLDER]} of {rows_in} rows hold unfilled template placeholders (e.g. {{{{name}}}}) and "
            "were dropped: fill them in the source and curate again to train on them"
        )
    for reason, count in sorted(dropped.items()):
        if reason in (TOO_EASY, TOO_HARD, UNVERIFIED, PLACEHOLDER, "unscored"):
            continue
        if count / rows_in > WARN_DROP_SHARE:
            reasons.append(f"{count} of {rows_in} rows dropped as {reason}")
    if len(kept) < WARN_FEW_ROWS and not added:
        reasons.append(f"only {len(kept)} rows kept")
    if demonstrations and figures["label_agreement"] is not None and figures["label_agreement"] < 1.0:
        weak = [k for k, s in figures["slices"].items() if s.label_agreement < 1.0]
        reasons.append(
            f"{1 - figures['label_agreement']:.1%} of demonstrations disagree with the grader"
            + (f" (slices {', '.join(weak)})" if weak else "")
            + "; supervised training imitates them, rewards use the verified answer"
        )
    if figures["answers"]["top_share"] > 0.5 and len(kept) >= 10:
        reasons.append(f"one answer is {figures['answers']['top_share']:.0%} of all rows")
    return ("usable with warnings" if reasons else "usable"), reasons
