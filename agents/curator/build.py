"""Building a dataset in four phases: gather the sources, gate every row, mix the kept rows, write the card.

1. gather: local files (data.local), the task's generator in its sandbox, the LLM brain's rows, else the
   Hub's best fit; secret-shaped strings in rows are masked and counted.
2. gate: each source mapped onto the task's columns and through the quality gate (agents/curator/gate.py);
   for SFT on a task without a generator, the model's own grader-verified samples join as one more source.
3. mix: the usable sources mixed by data.weights, aimed at the plan's weak slice; the verdict.
4. write: data/train.jsonl (out of git, its sha256 on the card), card.json, and the card (README.md).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from agents.common.steps import StepOutcome
from agents.curator import card as cards
from agents.curator import rejection, reweight, sources
from agents.curator.columns import MappingError, check_mapping, describe_mapping, detect_mapping, is_verified
from agents.curator.discovery import discover
from agents.curator.gate import GateResult, SourceRows, measure, run_gate
from agents.curator.language import detect_languages
from agents.curator.model_checks import model_checks
from agents.curator.synthetic import LLM, SYNTHETIC, has_generator, llm_examples, more_examples
from agents.curator.targets import Target
from bus import Workspace, layout, sha256_file
from bus.jsonl import parse_jsonl, write_jsonl
from bus.schemas import (
    DatasetCard,
    Goal,
    MixturePart,
    PassRateFigures,
    RejectionSamplingFigures,
)

GENERATED_LICENSE = "apache-2.0"  # written by intern's own (Apache-2.0) generator


@dataclass
class DataPlan:
    """What the curator decided to build (curator.plan_dataset): its name, for which method, run and hypothesis."""

    name: str
    method: str
    parent_run: str | None
    hypothesis: str | None
    target: Target | None
    note: str | None = None
    own_samples: bool = False  # the hypothesis asks for its starting model's own verified samples (STaR / RFT)


def _sliced_as_evaluated(mapping: dict[str, str], columns: list[str], goal: Goal) -> dict[str, str]:
    """A detected mapping slices rows by the column the held-out split is sliced by (task.columns.slice), when
    the source has it: a weak slice named by the critic must name training rows too."""
    wanted = (goal.task.columns or {}).get("slice")
    return {**mapping, "slice": wanted} if wanted and wanted in columns else mapping


@dataclass
class Gathered:
    """Phase 1: every source's rows with its column mapping and origin, and what went wrong on the way."""

    sources: list[tuple[SourceRows, dict[str, str], str]] = field(default_factory=list)  # (rows, mapping, origin)
    problems: list[str] = field(default_factory=list)
    commits: list[str] = field(default_factory=list)
    licenses: dict[str, str] = field(default_factory=lambda: {SYNTHETIC: GENERATED_LICENSE})
    secrets: dict[str, int] = field(default_factory=dict)  # source -> rows masked for secret-shaped strings
    command: str = ""  # the generator's command line, to rebuild the rows
    llm_note: str = ""
    found: Any = None  # the Hub discovery, when it ran


@dataclass
class Gated:
    """Phase 2: each mapped source through the quality gate (plus rejection-sampled rows for SFT)."""

    results: dict[str, GateResult]
    mappings: dict[str, dict[str, str]]
    origins: dict[str, str]
    sampled_figures: dict | None


@dataclass
class Mixed:
    """Phase 3: the kept rows mixed by weight (aimed at the plan's slice), and the verdict on them."""

    plan: DataPlan
    kept: list[dict]
    mixture: list[MixturePart]
    targeting: dict
    before: float | None
    shrunk: list[str]
    verdict: str
    reasons: list[str]


def build_dataset(
    ws: Workspace, goal: Goal, plan: DataPlan, eval_rel: str, existing: DatasetCard | None
) -> StepOutcome:
    """Gather the sources, gate every row, mix, and write the data, card.json and the card (one commit each)."""
    gathered = gather(ws, goal, plan, eval_rel, existing)
    gated = gate(ws, goal, plan, eval_rel, gathered)
    mixed = mix_gated(goal, plan, gated, gathered.problems)
    if (
        existing is not None
        and existing.verdict == mixed.verdict == "rejected"
        and existing.verdict_reasons == mixed.reasons
    ):
        # Tried again (a human may have fixed the generator or the data) and nothing changed: no new commit.
        summary = f"{plan.name} is still rejected: {'; '.join(mixed.reasons)[:300]}"
        return StepOutcome("curator", summary, gathered.commits, ok=False)
    return write_dataset(ws, goal, gathered, gated, mixed, existing)


def gather(ws: Workspace, goal: Goal, plan: DataPlan, eval_rel: str, existing: DatasetCard | None) -> Gathered:
    """The sources: local files (data.local), the task's generator, the LLM brain's rows, else the Hub's best fit."""
    out = Gathered()
    human_mapping = existing.column_mapping if existing is not None else {}
    for local in goal.data.local:
        name = local.name or Path(local.path).stem
        location = str((ws.root / local.path).resolve()) if not Path(local.path).is_absolute() else local.path
        try:
            rows = sources.read_source(name, location, local.split)
        except sources.SourceError as exc:
            out.problems.append(f"source {name}: {exc}")
            continue
        # The card names the file as the workspace does, never an absolute path of this machine.
        origin = Path(local.path).name if Path(local.path).is_absolute() else local.path
        out.sources.append((rows, human_mapping.get(name) or local.columns or {}, origin))
    generated_masked = 0
    if goal.data.synthetic and has_generator(goal):
        generated = more_examples(ws, goal, plan.name, goal.data.synthetic_rows, eval_rel, plan.target)
        out.commits += generated.commits
        out.command, out.llm_note, generated_masked = generated.command, generated.llm_note, generated.masked_lines
        if generated.source is None:
            out.problems.append(f"source {SYNTHETIC}: {generated.problem}")
        else:
            out.sources.append((generated.source, human_mapping.get(SYNTHETIC, {}), "original"))
    if goal.data.synthetic and not has_generator(goal) and goal.brain != "none":
        llm_rows, out.llm_note = llm_examples(ws, goal, plan.name, eval_rel)
        if llm_rows is not None:
            out.sources.append((llm_rows, human_mapping.get(LLM, {}), "written by the LLM brain"))
    out.found = found = discover(goal) if goal.data.hub_search else None
    if found is not None and not out.sources and found.shortlist:
        best = found.shortlist[0]  # the task has no generator and nothing local: the best fit on the Hub
        try:
            rows = sources.read_source(best.id, best.id, "train", best.config)
            out.sources.append((rows, human_mapping.get(best.id) or best.mapping, best.id))
            out.licenses[best.id] = best.license or "unknown"
        except sources.SourceError as exc:
            out.problems.append(f"source {best.id}: {exc}")
    out.secrets = {rows.name: rows.masked_rows for rows, _, _ in out.sources if rows.masked_rows}
    if generated_masked:
        out.secrets[SYNTHETIC] = out.secrets.get(SYNTHETIC, 0) + generated_masked
    out.problems += [
        f"source {name}: {count} row(s) held secret-shaped strings; they are masked as [REDACTED] in this dataset "
        "(the source file is left as it is)"
        for name, count in out.secrets.items()
    ]
    out.problems += [
        f"source {rows.name}: a sample of {len(rows.rows):,} of its {rows.rows_seen:,} readable rows is used (rows "
        "beyond that are not held in memory)"
        for rows, _, _ in out.sources
        if rows.rows_seen
    ]
    if not out.sources and not out.problems:
        out.problems.append(
            f"no source of training data for task {goal.task.name}: name a file or folder under data.local in "
            "intern.yaml" + (f" ({found.notes[0]})" if found and found.notes else "")
        )
    return out


def gate(ws: Workspace, goal: Goal, plan: DataPlan, eval_rel: str, gathered: Gathered) -> Gated:
    """Each source mapped onto the task's columns and through the quality gate; for SFT on a task without a
    generator, the model's own grader-verified samples are added as one more gated source."""
    problems = gathered.problems
    eval_prompts = [row["prompt"] for row in parse_jsonl(ws.read_text(eval_rel), eval_rel)]
    checks = model_checks(ws, goal, plan.method, plan.parent_run, problems)
    out = Gated({}, {}, {}, None)
    for rows, mapping, origin in gathered.sources:
        try:
            mapping = mapping or _sliced_as_evaluated(detect_mapping(rows.columns), rows.columns, goal)
            check_mapping(mapping, rows.columns)
        except MappingError as exc:
            problems.append(f"source {rows.name}: {exc}")
            continue
        out.mappings[rows.name], out.origins[rows.name] = mapping, origin
        out.results[rows.name] = run_gate(
            rows,
            mapping,
            goal.task,
            eval_prompts,
            demonstrations=plan.method == "sft",
            # SFT aimed at a weak slice: imitating wrong demonstrations there would teach the weakness again.
            verified_only=plan.method == "sft" and plan.target is not None,
            seed=goal.seed,
            added=rows.name == LLM,
            **checks,
        )
    # Sampled from the model the run starts from: always when intern.yaml turns on synthetic data, else when the
    # hypothesis asks for it (the search's "sft on own samples"); never when data.rejection.enabled is false.
    wanted = goal.data.synthetic or plan.own_samples
    if plan.method == "sft" and wanted and goal.data.rejection.enabled and not has_generator(goal):
        sampled = rejection.sampled_source(ws, goal, plan, out.results, eval_prompts, checks, problems)
        if sampled is not None:
            name = rejection.SOURCE
            out.results[name], out.mappings[name], out.origins[name], out.sampled_figures = sampled
    return out


def mix_gated(goal: Goal, plan: DataPlan, gated: Gated, problems: list[str]) -> Mixed:
    """The usable sources mixed by data.weights (aimed at the plan's weak slice), and the verdict."""
    plan, targeting, before = _aim_sources(plan, gated.results, goal.seed)
    weights = {n: goal.data.weights.get(n, 1.0) for n in gated.results}
    parts = {n: r.kept for n, r in gated.results.items() if r.verdict != "rejected"}
    # Sampled solutions and the LLM's examples add to the real rows (RFT's augmented set) unless weighted.
    extra = {n: parts.pop(n) for n in (rejection.SOURCE, LLM) if n in parts and n not in goal.data.weights}
    kept, mixture = mix(parts, weights, goal.seed)
    for name, rows in extra.items():
        kept, mixture = rejection.augment(kept, mixture, rows, goal.seed, name)
    shrunk = shrink_warnings(mixture)
    problems[:] = problems + shrunk  # in the card's reasons, and first on the step's line on the terminal
    verdict, reasons = overall_verdict(gated.results, problems, kept)
    return Mixed(plan, kept, mixture, targeting, before, shrunk, verdict, reasons)


def write_dataset(
    ws: Workspace, goal: Goal, gathered: Gathered, gated: Gated, mixed: Mixed, existing: DatasetCard | None
) -> StepOutcome:
    """data/train.jsonl (out of git; its sha256 on the card), then card.json and the card, one commit each."""
    plan, commits, problems = mixed.plan, gathered.commits, gathered.problems
    ws.path(data_rel := layout.dataset_file(plan.name, cards.DATA_FILE)).parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(ws.path(data_rel), mixed.kept)
    sha = sha256_file(ws.path(data_rel))
    if existing is not None and sha == existing.data_sha256 and existing.column_mapping == gated.mappings:
        # Generated data stays out of git; a fresh clone or a cleaned folder rebuilds it bit for bit.
        return StepOutcome("curator", f"rebuilt {data_rel}; it matches the card's sha256", commits)

    results, verdict, llm_note, found = gated.results, mixed.verdict, gathered.llm_note, gathered.found
    license = {gathered.licenses.get(n, "unknown") for n in results}
    card = make_card(
        goal, plan, results, gated.mappings, gated.origins, mixed.kept, mixed.mixture, verdict, mixed.reasons, sha,
        gathered.command,
    )  # fmt: skip
    card.secrets_masked = gathered.secrets
    if plan.target is not None and mixed.before is not None:
        after = reweight.share(mixed.kept, plan.target.slice)
        card.target_share = {"before": round(mixed.before, 4), "after": round(after, 4)}
        card.body = card.body.replace(TARGET_MARK, _target_text(card, mixed.targeting), 1)
    if gated.sampled_figures is not None:
        card.rejection_sampling = RejectionSamplingFigures(**gated.sampled_figures["figures"])
        card.body += "\n" + "\n".join(rejection.card_lines(gated.sampled_figures)) + "\n"
    card.license = license.pop() if len(license) == 1 else "other"
    if llm_note:  # the rebuild command reproduces the generated rows only, not the LLM's
        card.body += f"\nLLM brain: {llm_note}.\n"
    if found is not None:
        card.body += "\n" + "\n".join(f"Discovery: {note}." for note in found.notes) + "\n"
    extra = {
        "problems": problems,
        "secrets_masked": gathered.secrets,
        "mixture": [m.model_dump() for m in mixed.mixture],
        "target": _target_dict(plan),
        "targeting": mixed.targeting,
        "discovery": found.to_dict() if found is not None else None,
        "rejection_sampling": gated.sampled_figures,
    }
    commits.append(
        ws.write_artifact(
            "curator",
            layout.dataset_file(plan.name, cards.FIGURES_FILE),
            cards.figures_json(card, results, extra),
            f"Quality figures for {plan.name}",
        )
    )
    commits.append(
        ws.write_artifact(
            "curator",
            layout.dataset_card(plan.name),
            cards.render(card),
            f"Dataset card for {plan.name}: {card.rows} rows, {verdict}"
            + (f", aimed at slice {plan.target.slice}" if plan.target else "")
            + (f" ({llm_note})" if llm_note else ""),
        )
    )
    said = mixed.shrunk + [r for r in mixed.reasons if r not in mixed.shrunk]
    summary = f"{plan.name}: {card.rows} rows, {verdict}" + (f" ({'; '.join(said)[:400]})" if said else "")
    return StepOutcome("curator", summary, commits, ok=verdict != "rejected")


TARGET_MARK = "<!-- target share -->"


def _aim_sources(plan: DataPlan, results: dict[str, GateResult], seed: int) -> tuple[DataPlan, dict, float | None]:
    """Every gated source aimed at the plan's slice; when no row could be, the target is dropped with a note
    (the card then says nothing about targeting). Returns the plan, each source's note, the share before."""
    if plan.target is None:
        return plan, {}, None
    notes, aimed, before = reweight.aim_sources(results, plan.target.slice, seed)
    if not aimed:
        note = f"the files name slice {plan.target.slice} as weak, but no source has rows in it to aim at"
        return replace(plan, target=None, note="; ".join(filter(None, [plan.note, note]))), notes, None
    return plan, notes, before


def _target_text(card: DatasetCard, notes: dict[str, str]) -> str:
    share = card.target_share or {}
    lines = [f"Share of rows in the slice: {share.get('before', 0):.0%} before, {share.get('after', 0):.0%} after."]
    lines += [f"- `{name}`: {note}" for name, note in notes.items()]
    return "\n".join(lines)


def _target_dict(plan: DataPlan) -> dict | None:
    return None if plan.target is None else {"slice": plan.target.slice, "reason": plan.target.reason}


def mix(parts: dict[str, list[dict]], weights: dict[str, float], seed: int) -> tuple[list[dict], list[MixturePart]]:
    """Rows drawn from each source in proportion to its weight, as many as the scarcest source allows.

    One source is used whole and in order. With several, each row gets a `source` column.
    """
    live = {n: rows for n, rows in parts.items() if rows}
    if len(live) <= 1:
        rows = next(iter(live.values()), [])
        return rows, [
            MixturePart(source=n, weight=weights[n], rows_available=len(r), rows_used=len(r)) for n, r in parts.items()
        ]
    total_weight = sum(weights[n] for n in live)
    total = min(len(rows) * total_weight / weights[n] for n, rows in live.items())
    rng = random.Random(seed)
    out, mixture = [], []
    for name, rows in parts.items():
        used = min(len(rows), round(total * weights[name] / total_weight)) if rows else 0
        picked = rng.sample(rows, used)
        out += [{**r, "source": name} for r in picked]
        mixture.append(MixturePart(source=name, weight=weights[name], rows_available=len(rows), rows_used=used))
    rng.shuffle(out)
    return out, mixture


SHRINK_WARN = 0.5  # a source cut to less than this share of its kept rows is said, never done silently


def shrink_warnings(mixture: list[MixturePart]) -> list[str]:
    """One line per source the mixture shrinks a lot: the scarcest source (by weight) sets everyone's size."""
    used = [m for m in mixture if m.rows_used > 0]
    if len(used) < 2:
        return []
    scarcest = min(used, key=lambda m: m.rows_available / m.weight)
    out = []
    for m in used:
        if m.rows_used < SHRINK_WARN * m.rows_available:
            out.append(
                f"the mixture uses {m.rows_used} of {m.source}'s {m.rows_available} rows: {scarcest.source} has only "
                f"{scarcest.rows_available} and the weights are {', '.join(f'{p.source} {p.weight:g}' for p in used)}; "
                f"raise data.weights.{m.source} to keep more of it"
            )
    return out


def overall_verdict(results: dict[str, GateResult], problems: list[str], kept: list[dict]) -> tuple[str, list[str]]:
    several = len(results) + len(problems) > 1
    reasons = [f"{name}: {r}" if several else r for name, res in results.items() for r in res.reasons]
    reasons += problems
    if not kept:
        return "rejected", reasons or ["no source gave a usable row"]
    return ("usable with warnings" if reasons else "usable"), reasons


def make_card(goal, plan, results, mappings, origins, kept, mixture, verdict, reasons, sha, command) -> DatasetCard:
    spec = goal.task
    figures = measure(kept, spec)
    dropped: dict[str, int] = {}
    for r in results.values():
        for reason, count in r.dropped.items():
            dropped[reason] = dropped.get(reason, 0) + count
    pass_figures = next((r.figures.get("pass_rate") for r in results.values() if r.figures.get("pass_rate")), None)
    columns = list(dict.fromkeys(k for row in kept[:1000] for k in row)) or ["prompt", "answer"]
    card = DatasetCard(
        pretty_name=f"intern {plan.name}",
        license="unknown",  # set by the caller, who knows each source's licence
        language=detect_languages(kept),
        task_categories=[cards.task_category(spec)],
        size_categories=[cards.size_category(len(kept))],
        source_datasets=sorted(set(origins.values())),
        configs=cards.configs_for(cards.DATA_FILE, sha),
        name=plan.name,
        task=spec.name,
        rows=len(kept),
        columns=columns,
        data_file=cards.DATA_FILE,
        data_sha256=sha,
        generator="generate.py" if SYNTHETIC in results else None,
        column_mapping=mappings,
        verdict=verdict,
        verdict_reasons=reasons,
        rows_in=sum(r.rows_in for r in results.values()),
        dropped=dropped,
        duplicates=dropped.get("duplicate", 0) + dropped.get("near_duplicate", 0),
        prompt_length={k: figures["prompt_length"][k] for k in ("min", "mean", "max")},
        answer_format_ok=figures["answer_format_ok"],
        label_agreement=figures["label_agreement"],
        verified_rows=figures["verified_rows"],
        slices=figures["slices"],
        eval_overlap=0,  # the gate dropped every contaminated row (counted under dropped.contaminated)
        pass_rate=PassRateFigures(**pass_figures) if pass_figures else None,
        targets_slice=plan.target.slice if plan.target else None,
        target_reason=plan.target.reason if plan.target else None,
        mixture=mixture if len(mixture) > 1 else [],
        figures_file=cards.FIGURES_FILE,
        note=plan.note,
        hypothesis=plan.hypothesis,
        source_layouts={n: describe_mapping(m) for n, m in mappings.items()},
        unverified_sources=[n for n, m in mappings.items() if not is_verified(m)],
    )
    cleaned: dict[str, int] = {}
    for r in results.values():
        for kind, count in (r.figures.get("cleaned") or {}).items():
            cleaned[kind] = cleaned.get(kind, 0) + count
    figures["cleaned"] = cleaned
    merged = GateResult(kept, card.rows_in or 0, dropped, _examples(results), figures, verdict, reasons)
    body = _intro(goal, plan, card, command) + cards.source_lines(card) + cards.quality_lines(card, merged)
    card.body = "\n".join(body) + "\n"
    return card


def _examples(results: dict[str, GateResult]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for name, r in results.items():
        for reason, rows in r.examples.items():
            out.setdefault(reason, []).extend({**e, "why": f"{name}: {e['why']}"} for e in rows)
    return out


def _intro(goal: Goal, plan: DataPlan, card: DatasetCard, command: str) -> list[str]:
    lines = [f"# Dataset {plan.name}", ""]
    what = {"sft": "supervised fine-tuning (prompt -> completion)", "grpo": "GRPO (prompt, verified answer)"}
    lines.append(
        f"Training data for {what.get(plan.method, plan.method)} on task `{goal.task.name}`"
        + (f", for {plan.hypothesis}" if plan.hypothesis else "")
        + f". Columns: {', '.join(f'`{c}`' for c in card.columns)}; `answer` is the verified reference rewards use."
    )
    if plan.target is not None:
        lines += ["", f"**Targets slice `{plan.target.slice}`:** {plan.target.reason}.", "", TARGET_MARK]
    if plan.note:
        lines += ["", f"Note: {plan.note}."]
    if command:
        lines += ["", f"Rebuild the generated rows from this folder with `{command}`, then rerun the curator's gate."]
    lines += [
        "",
        f"Load it with `datasets.load_dataset('datasets/{plan.name}', split='train')` (data file `{card.data_file}`, "
        f"config `{card.configs[0]['config_name']}`: named by the rows' hash, so a warm `datasets` cache cannot "
        "give another dataset's rows).",
        "",
    ]
    if card.rows and card.label_agreement is None and plan.method == "sft":
        lines += ["No demonstration has a reference answer to check it against: they are used as they are.", ""]
    elif plan.method == "sft" and card.label_agreement is not None and card.label_agreement < 1.0:
        lines += [
            "**Warning:** on some slice the demonstrations disagree with the grader; supervised training "
            "will imitate that error. Rewards use the verified `answer` column.",
            "",
        ]
    elif card.rows and plan.method == "sft":
        lines += [
            "All demonstrations agree with the grader"
            + (" (of those with a reference answer)." if card.unverified_sources else "."),
            "",
        ]
    elif card.rows:
        lines += ["GRPO trains on the prompts and the verified `answer`; the `completion` column is not used.", ""]
    return lines
