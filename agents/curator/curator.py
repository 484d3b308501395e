"""The curator's step: gather sources, put every row through the quality gate, mix, and write the dataset card.

Sources: the task's generator script (synthetic, aimed at a weak slice when the files name one),
local datasets named in `intern.yaml` (`data.local`), and Hub datasets found by discovery when the
task has no generator and nothing local. Each source is mapped onto the task's columns and gated
(agents/curator/gate.py); for a GRPO hypothesis the gate also runs the pass-rate filter on the model
the hypothesis trains from. The kept rows are mixed by `data.weights` into `data/train.jsonl`, and
`README.md` (a Hugging Face dataset card) and `card.json` record every figure and the verdict.
A rejected dataset gets a card saying why, and nothing trains on it (agents/state.dataset_cards).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, replace
from pathlib import Path

from agents.common import plan_rules, state
from agents.common.steps import StepOutcome
from agents.curator import card as cards
from agents.curator import rejection, reweight, sources
from agents.curator.columns import MappingError, check_mapping, describe_mapping, detect_mapping, is_verified
from agents.curator.discovery import discover
from agents.curator.gate import GateResult, SourceRows, measure, run_gate
from agents.curator.language import detect_languages
from agents.curator.model_checks import model_checks
from agents.curator.naming import dataset_name
from agents.curator.synthetic import LLM, SYNTHETIC, has_generator, llm_examples, more_examples
from agents.curator.targets import Target, evaluated_slices, weak_slice
from agents.tasks import addition
from bus import Workspace, layout, sha256_file
from bus.jsonl import parse_jsonl, write_jsonl
from bus.schemas import (
    DatasetCard,
    DataSpec,
    Goal,
    Hypothesis,
    MixturePart,
    PassRateFigures,
    RejectionSamplingFigures,
)

TRAIN_ROWS = DataSpec().synthetic_rows  # the default; intern.yaml data.synthetic_rows changes it
GENERATED_LICENSE = "apache-2.0"  # written by intern's own (Apache-2.0) generator


@dataclass
class DataPlan:
    name: str
    method: str
    parent_run: str | None
    hypothesis: str | None
    target: Target | None
    note: str | None = None


def _next_hypothesis(ws: Workspace) -> tuple[str, Hypothesis] | None:
    """The hypothesis the data is for: the one the trainer runs next (the first no run has configured, not
    withdrawn, of a method the plan's rules allow), else the latest. The card names it, and the trainer
    trains that hypothesis on that card only."""
    found = state.hypotheses(ws)
    tested = {r.config.hypothesis for r in state.runs(ws) if r.config is not None}
    withdrawn = state.withdrawn(ws)
    rules, _ = plan_rules.parse_rules(ws.plan().rules())
    allowed = [r.value for r in rules if r.kind == "methods"]
    runnable = (
        (p, h) for p, h in found if p not in tested and p not in withdrawn and all(h.method in m for m in allowed)
    )
    return next(runnable, found[-1] if found else None)


def withdrawn_names(ws: Workspace) -> dict[str, str]:
    """Dataset names a human withdrew (reverted a commit under datasets/<name>/) -> the revert's sha."""
    return {
        p.split("/")[1]: sha
        for p, sha in state.withdrawn(ws).items()
        if layout.under(p, layout.DATASETS) and p.count("/") >= 2
    }


def plan_dataset(ws: Workspace, goal: Goal, instruction: str = "") -> DataPlan:
    found = _next_hypothesis(ws)
    path, hyp = found if found else (None, None)
    slices = list(addition.SLICES) if goal.task.name == addition.NAME else evaluated_slices(ws)
    target = weak_slice(ws, hyp, instruction, slices)
    method = hyp.method if hyp else "sft"
    parent = hyp.parent_run if hyp else None
    name = dataset_name(goal, ws.root)
    if target is not None:
        name += f"-{target.slice.replace('_', '-')}"
    if method == "grpo":
        name += f"-grpo-{parent or 'base'}"  # pass rates belong to the model they were measured on
    note = None
    withdrawn = withdrawn_names(ws)
    if name in withdrawn:
        # Never re-create or reuse what a human took back: the next free version of the name instead.
        version = next(v for v in range(2, 10_000) if f"{name}-v{v}" not in withdrawn)
        note = (
            f"named -v{version} because a human withdrew datasets/{name} (revert {withdrawn[name][:8]}); "
            "the withdrawn dataset is never re-created or reused"
        )
        name = f"{name}-v{version}"
    return DataPlan(name, method, parent, path, target, note)


def curator_step(ws: Workspace, instruction: str = "") -> StepOutcome:
    goal = ws.goal()
    plan = plan_dataset(ws, goal, instruction)
    card_rel = layout.dataset_card(plan.name)
    data_rel = layout.dataset_file(plan.name, cards.DATA_FILE)
    existing = next((c for p, c in state.dataset_cards(ws, include_rejected=True) if p == card_rel), None)
    if existing is not None and existing.verdict != "rejected" and not _mapping_edited(ws, plan.name, existing):
        if ws.exists(data_rel) and sha256_file(ws.path(data_rel)) == existing.data_sha256:
            return _reuse(ws, card_rel, existing, plan)
    eval_rel = layout.eval_split(goal.task.name)
    if not ws.exists(eval_rel):
        return StepOutcome(
            "curator", "the held-out split does not exist yet; the critic must create it first", ok=False
        )
    return build_dataset(ws, goal, plan, eval_rel, existing)


def _reuse(ws: Workspace, card_rel: str, card: DatasetCard, plan: DataPlan) -> StepOutcome:
    """The same data plan again (a later hypothesis repeats an earlier one's data): the checked dataset serves it
    too, and its card says so, so the trainer finds the data built for the hypothesis it runs."""
    said = f"{card_rel} already holds a checked dataset for this data plan; reusing it"
    hyp = plan.hypothesis
    if hyp is None or card.hypothesis is None or hyp == card.hypothesis or hyp in card.serves:
        # (a card built for no hypothesis already serves any that has none of its own)
        return StepOutcome("curator", said)
    served = card.model_copy(update={"serves": [*card.serves, hyp]})
    sha = ws.write_artifact(
        "curator",
        card_rel,
        cards.render(served),
        f"Reuse {card.name} for {hyp}: the same data plan as {card.hypothesis}",
    )
    return StepOutcome("curator", f"{said} for {hyp} (built for {card.hypothesis})", [sha])


def _sliced_as_evaluated(mapping: dict[str, str], columns: list[str], goal: Goal) -> dict[str, str]:
    """A detected mapping slices rows by the column the held-out split is sliced by (task.columns.slice), when
    the source has it: a weak slice named by the critic must name training rows too."""
    wanted = (goal.task.columns or {}).get("slice")
    return {**mapping, "slice": wanted} if wanted and wanted in columns else mapping


def _mapping_edited(ws: Workspace, name: str, card: DatasetCard) -> bool:
    """A human changed the card's column_mapping since the curator wrote card.json: rebuild with theirs."""
    rel = layout.dataset_file(name, cards.FIGURES_FILE)
    if not card.column_mapping or not ws.exists(rel):
        return False
    try:
        return json.loads(ws.read_text(rel)).get("column_mapping") != card.column_mapping
    except ValueError:
        return True


def build_dataset(
    ws: Workspace, goal: Goal, plan: DataPlan, eval_rel: str, existing: DatasetCard | None
) -> StepOutcome:
    commits: list[str] = []
    problems: list[str] = []
    gathered: list[tuple[SourceRows, dict[str, str], str]] = []  # (rows, mapping, origin)
    command = llm_note = ""
    generated_masked = 0
    licenses = {SYNTHETIC: GENERATED_LICENSE}
    human_mapping = existing.column_mapping if existing is not None else {}
    for local in goal.data.local:
        name = local.name or Path(local.path).stem
        location = str((ws.root / local.path).resolve()) if not Path(local.path).is_absolute() else local.path
        try:
            rows = sources.read_source(name, location, local.split)
        except sources.SourceError as exc:
            problems.append(f"source {name}: {exc}")
            continue
        # The card names the file as the workspace does, never an absolute path of this machine.
        origin = Path(local.path).name if Path(local.path).is_absolute() else local.path
        gathered.append((rows, human_mapping.get(name) or local.columns or {}, origin))
    if goal.data.synthetic and has_generator(goal):
        generated = more_examples(ws, goal, plan.name, goal.data.synthetic_rows, eval_rel, plan.target)
        commits += generated.commits
        command = generated.command
        llm_note = generated.llm_note
        generated_masked = generated.masked_lines
        if generated.source is None:
            problems.append(f"source {SYNTHETIC}: {generated.problem}")
        else:
            gathered.append((generated.source, human_mapping.get(SYNTHETIC, {}), "original"))
    if goal.data.synthetic and not has_generator(goal) and goal.brain != "none":
        llm_rows, llm_note = llm_examples(ws, goal, plan.name, eval_rel)
        if llm_rows is not None:
            gathered.append((llm_rows, human_mapping.get(LLM, {}), "written by the LLM brain"))
    found = discover(goal) if goal.data.hub_search else None
    if found is not None and not gathered and found.shortlist:
        best = found.shortlist[0]  # the task has no generator and nothing local: the best fit on the Hub
        try:
            rows = sources.read_source(best.id, best.id, "train", best.config)
            gathered.append((rows, human_mapping.get(best.id) or best.mapping, best.id))
            licenses[best.id] = best.license or "unknown"
        except sources.SourceError as exc:
            problems.append(f"source {best.id}: {exc}")
    secrets = {rows.name: rows.masked_rows for rows, _, _ in gathered if rows.masked_rows}
    if generated_masked:
        secrets[SYNTHETIC] = secrets.get(SYNTHETIC, 0) + generated_masked
    problems += [
        f"source {name}: {count} row(s) held secret-shaped strings; they are masked as [REDACTED] in this dataset "
        "(the source file is left as it is)"
        for name, count in secrets.items()
    ]
    problems += [
        f"source {rows.name}: a sample of {len(rows.rows):,} of its {rows.rows_seen:,} readable rows is used (rows "
        "beyond that are not held in memory)"
        for rows, _, _ in gathered
        if rows.rows_seen
    ]
    if not gathered and not problems:
        problems.append(
            f"no source of training data for task {goal.task.name}: name a file or folder under data.local in "
            "intern.yaml" + (f" ({found.notes[0]})" if found and found.notes else "")
        )

    eval_prompts = [row["prompt"] for row in parse_jsonl(ws.read_text(eval_rel), eval_rel)]
    checks = model_checks(ws, goal, plan.method, plan.parent_run, problems)
    sampled_figures = None
    results: dict[str, GateResult] = {}
    mappings: dict[str, dict[str, str]] = {}
    origins: dict[str, str] = {}
    for rows, mapping, origin in gathered:
        try:
            mapping = mapping or _sliced_as_evaluated(detect_mapping(rows.columns), rows.columns, goal)
            check_mapping(mapping, rows.columns)
        except MappingError as exc:
            problems.append(f"source {rows.name}: {exc}")
            continue
        mappings[rows.name], origins[rows.name] = mapping, origin
        results[rows.name] = run_gate(
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

    if plan.method == "sft" and goal.data.synthetic and goal.data.rejection.enabled and not has_generator(goal):
        sampled = rejection.sampled_source(ws, goal, plan, results, eval_prompts, checks, problems)
        if sampled is not None:
            results[rejection.SOURCE], mappings[rejection.SOURCE], origins[rejection.SOURCE], sampled_figures = sampled
    plan, targeting, before = _aim_sources(plan, results, goal.seed)
    weights = {n: goal.data.weights.get(n, 1.0) for n in results}
    parts = {n: r.kept for n, r in results.items() if r.verdict != "rejected"}
    # Sampled solutions and the LLM's examples add to the real rows (RFT's augmented set) unless weighted.
    extra = {n: parts.pop(n) for n in (rejection.SOURCE, LLM) if n in parts and n not in goal.data.weights}
    kept, mixture = mix(parts, weights, goal.seed)
    for name, rows in extra.items():
        kept, mixture = rejection.augment(kept, mixture, rows, goal.seed, name)
    shrunk = shrink_warnings(mixture)
    problems = problems + shrunk  # in the card's reasons, and first on the step's line on the terminal
    verdict, reasons = overall_verdict(results, problems, kept)
    if existing is not None and existing.verdict == verdict == "rejected" and existing.verdict_reasons == reasons:
        # Tried again (a human may have fixed the generator or the data) and nothing changed: no new commit.
        return StepOutcome("curator", f"{plan.name} is still rejected: {'; '.join(reasons)[:300]}", commits, ok=False)
    ws.path(data_rel := layout.dataset_file(plan.name, cards.DATA_FILE)).parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(ws.path(data_rel), kept)
    sha = sha256_file(ws.path(data_rel))
    if existing is not None and sha == existing.data_sha256 and existing.column_mapping == mappings:
        # Generated data stays out of git; a fresh clone or a cleaned folder rebuilds it bit for bit.
        return StepOutcome("curator", f"rebuilt {data_rel}; it matches the card's sha256", commits)

    license = {licenses.get(n, "unknown") for n in results}
    card = make_card(goal, plan, results, mappings, origins, kept, mixture, verdict, reasons, sha, command)
    card.secrets_masked = secrets
    if plan.target is not None and before is not None:
        card.target_share = {"before": round(before, 4), "after": round(reweight.share(kept, plan.target.slice), 4)}
        card.body = card.body.replace(TARGET_MARK, _target_text(card, targeting), 1)
    if sampled_figures is not None:
        card.rejection_sampling = RejectionSamplingFigures(**sampled_figures["figures"])
        card.body += "\n" + "\n".join(rejection.card_lines(sampled_figures)) + "\n"
    card.license = license.pop() if len(license) == 1 else "other"
    if llm_note:  # the rebuild command reproduces the generated rows only, not the LLM's
        card.body += f"\nLLM brain: {llm_note}.\n"
    if found is not None:
        card.body += "\n" + "\n".join(f"Discovery: {note}." for note in found.notes) + "\n"
    extra = {
        "problems": problems,
        "secrets_masked": secrets,
        "mixture": [m.model_dump() for m in mixture],
        "target": _target_dict(plan),
        "targeting": targeting,
        "discovery": found.to_dict() if found is not None else None,
        "rejection_sampling": sampled_figures,
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
    said = shrunk + [r for r in reasons if r not in shrunk]
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
