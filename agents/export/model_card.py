"""The exported model's card: README.md with Hugging Face metadata, and a body that tells the chain.

Front matter (huggingface_hub.ModelCardData): base_model (when the base is a Hub id), datasets,
library_name, tags, license (the base's), pipeline_tag and model-index with the held-out results
and their 95% intervals. The body: the results against the base, then every run from the base to
this model (method, the config as trained, its dataset card with hash and source), the held-out
split's and grader's hashes, the origin check, the workspace commit exported from, the steps a
human steered, and the money spent. Facts are gathered first (`gather_facts`, plain data), then
rendered, so tests read the same numbers the card prints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agents.common import spend, state
from agents.critic.origin import OriginReport
from agents.models.refs import materialize_model
from agents.models.tiny import EMBEDDED_TINY
from bus import Workspace, layout
from bus.artifacts import split_front_matter
from bus.schemas import DatasetCard, Evaluation

_HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")
INTERN_LICENSE = "apache-2.0"  # the embedded tiny model is built by intern's own code


@dataclass
class LinkFacts:
    run_id: str
    method: str
    parent: str | None
    hypothesis: str | None
    config_yaml: str
    steps: int
    wall_seconds: float
    checkpoint_sha256: str
    score: float | None
    ci: tuple[float, float] | None
    dataset: dict[str, Any]


@dataclass
class CardFacts:
    name: str
    base_model: str
    base_hub_id: str | None
    license: str
    license_note: str | None
    task: str
    target: float
    evaluation: Evaluation
    base_evaluation: Evaluation | None
    gain_vs_base: float | None
    gain_interval: tuple[float, float] | None
    verified_score: float | None
    chain: list[LinkFacts]
    split: dict[str, Any]
    origin: OriginReport
    commit: str
    dirty: bool
    human_steps: list[str]
    rules: list[str]
    money: str
    datasets: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


def gather_facts(ws: Workspace, run: state.RunView, origin: OriginReport, verified: float | None) -> CardFacts:
    goal = ws.goal()
    views = {r.id: r for r in state.runs(ws)}
    chain = [_link(ws, views[link.run_id]) for link in origin.chain]
    license_id, note = base_license(goal.model, ws.state_dir / "models", origin.base_seed)
    dg = run.diagnosis
    split_card = layout.eval_card(goal.task.name)
    split_front = split_front_matter(ws.read_text(split_card))[0] if ws.exists(split_card) else {}
    datasets = []
    for link in chain:
        card = link.dataset
        # "original" is the Hub's word for data made for the card itself, not a dataset id.
        datasets += [*(d for d in card.get("source_datasets", []) if d != "original"), card["name"]]
    methods = sorted({link.method for link in chain})
    return CardFacts(
        name=f"intern-{goal.task.name}-{run.id}",
        base_model=goal.model,
        base_hub_id=goal.model if _HUB_ID.match(goal.model) and not Path(goal.model).exists() else None,
        license=license_id,
        license_note=note,
        task=goal.task.name,
        target=goal.target.value,
        evaluation=run.evaluation,
        base_evaluation=state.base_evaluation(ws),
        gain_vs_base=dg.gain_vs_base if dg else None,
        gain_interval=dg.gain_vs_base_interval if dg else None,
        verified_score=verified,
        chain=chain,
        split={
            "path": run.evaluation.split,
            "sha256": run.evaluation.split_sha256,
            "grader_sha256": run.evaluation.grader_sha256 or split_front.get("grader_sha256"),
            "rows": split_front.get("rows", run.evaluation.n),
            "seed": split_front.get("seed"),
        },
        origin=origin,
        commit=ws.repo.head.commit.hexsha,
        dirty=ws.repo.is_dirty(untracked_files=False),
        human_steps=human_steps(ws),
        rules=list(ws.plan().rules()),
        money=spend.status_line(ws.state_dir, goal.budget.usd),
        datasets=list(dict.fromkeys(datasets)),
        tags=["intern", "trl", *methods, goal.task.name, "text-generation"],
    )


def _link(ws: Workspace, view: state.RunView) -> LinkFacts:
    cfg, result, ev = view.config, view.result, view.evaluation
    rel = layout.dataset_card(cfg.dataset)
    card = ws.load(rel) if ws.exists(rel) else None
    hyp = ws.load(cfg.hypothesis) if cfg.hypothesis and ws.exists(cfg.hypothesis) else None
    return LinkFacts(
        run_id=view.id,
        method=cfg.method,
        parent=cfg.parent_run,
        hypothesis=f"{cfg.hypothesis}: {hyp.title}" if hyp else cfg.hypothesis,
        config_yaml=ws.read_text(layout.run_config(view.id)),
        steps=result.steps,
        wall_seconds=result.wall_seconds,
        checkpoint_sha256=result.checkpoint_sha256 or "",
        score=ev.score if ev else None,
        ci=(ev.ci_low, ev.ci_high) if ev else None,
        dataset=_dataset_facts(cfg.dataset, card),
    )


def _dataset_facts(name: str, card: DatasetCard | None) -> dict[str, Any]:
    if not isinstance(card, DatasetCard):
        return {"name": name, "missing": True}
    sources = [f"{m.source} (weight {m.weight:g}, {m.rows_used} rows)" for m in card.mixture]
    if not sources:
        sources = [f"generator datasets/{name}/{card.generator}"] if card.generator else list(card.source_datasets)
    return {
        "name": name,
        "rows": card.rows,
        "data_sha256": card.data_sha256,
        "verdict": card.verdict,
        "sources": sources,
        "source_datasets": list(card.source_datasets),
        "label_agreement": card.label_agreement,
        "targets_slice": card.targets_slice,
        "pass_rate": (
            f"kept {card.pass_rate.kept} of {card.pass_rate.scored} prompts that {card.pass_rate.checkpoint} "
            f"solves in some but not all of {card.pass_rate.samples} samples"
            if card.pass_rate
            else None
        ),
    }


def human_steps(ws: Workspace) -> list[str]:
    """Every commit a human made (edits of the goal, the plan, configs; reverts), oldest first."""
    steps = [c for c in ws.history() if c.agent is None]
    return [f"`{c.short}` {c.author}: {c.summary}" for c in reversed(steps)]


def base_license(reference: str, cache: Path, seed: int) -> tuple[str, str | None]:
    """The base's license id from its own card, and a note when it could not be read."""
    if reference == EMBEDDED_TINY:
        return INTERN_LICENSE, "the embedded tiny model is built by intern's own code, under intern's license"
    try:
        found = Path(materialize_model(reference, cache, seed))
        if not found.is_dir():
            from huggingface_hub import hf_hub_download

            found = Path(hf_hub_download(reference, "README.md")).parent
        front, _ = split_front_matter((found / "README.md").read_text())
        if front.get("license"):
            return str(front["license"]), None
    except Exception as exc:  # no card, offline, not cached: the card says so rather than guessing
        return "other", f"the base's license could not be read ({type(exc).__name__}); check it before sharing"
    return "other", "the base's card names no license; check it before sharing"


def render_card(facts: CardFacts) -> str:
    return "---\n" + yaml.safe_dump(front_matter(facts), sort_keys=False, allow_unicode=True) + "---\n\n" + _body(facts)


def front_matter(facts: CardFacts) -> dict[str, Any]:
    from huggingface_hub import EvalResult, ModelCardData

    ev = facts.evaluation
    common = dict(
        task_type="text-generation",
        task_name=f"{facts.task} (verifiable answers)",
        dataset_type=f"intern/{facts.task}-held-out",
        dataset_name=f"{facts.task} held-out split (sha256 {ev.split_sha256[:12]})",
        dataset_split="test",
        verified=False,
    )
    results = [
        EvalResult(
            metric_type="exact_match", metric_value=ev.score, metric_name="held-out exact match (greedy)", **common
        ),
        EvalResult(
            metric_type="exact_match_ci95_low", metric_value=ev.ci_low, metric_name="95% Wilson interval, low", **common
        ),
        EvalResult(
            metric_type="exact_match_ci95_high",
            metric_value=ev.ci_high,
            metric_name="95% Wilson interval, high",
            **common,
        ),
    ]
    for k, value in sorted(ev.pass_at_k.items(), key=lambda kv: int(kv[0])):
        results.append(EvalResult(metric_type=f"pass@{k}", metric_value=value, metric_name=f"pass@{k}", **common))
    data = ModelCardData(
        model_name=facts.name,
        base_model=facts.base_hub_id,
        datasets=facts.datasets or None,
        library_name="transformers",
        pipeline_tag="text-generation",
        tags=facts.tags,
        license=facts.license,
        eval_results=results,
    )
    out = data.to_dict()
    out["intern"] = {
        "base_model": facts.base_model,
        "base_seed": facts.origin.base_seed,
        "run": facts.chain[-1].run_id if facts.chain else None,
        "workspace_commit": facts.commit,
        "held_out_split_sha256": facts.split["sha256"],
        "grader_sha256": facts.split["grader_sha256"],
        "origin_check": "ok" if facts.origin.ok else "refused",
        "verified_score": facts.verified_score,
    }
    return out


def _interval(low: float, high: float) -> str:
    return f"{low:.3f}-{high:.3f}"


def _body(f: CardFacts) -> str:
    ev, base = f.evaluation, f.base_evaluation
    lines = [
        f"# {f.name}",
        "",
        f"`{f.base_model}` post-trained by intern on the `{f.task}` task "
        f"({' -> '.join(link.method.upper() for link in f.chain)}), exported from `runs/{f.chain[-1].run_id}`.",
        "Load it with plain transformers: `AutoModelForCausalLM.from_pretrained(folder)`.",
        "",
        "## Results on the held-out split",
        "",
        "| model | greedy exact match | 95% interval | n |",
        "|---|---|---|---|",
    ]
    if base is not None:
        lines.append(
            f"| base `{f.base_model}` | {base.score:.3f} | {_interval(base.ci_low, base.ci_high)} | {base.n} |"
        )
    lines.append(f"| this model | {ev.score:.3f} | {_interval(ev.ci_low, ev.ci_high)} | {ev.n} |")
    lines.append("")
    language = base.language_check if base is not None else {}
    if language.get("bits_per_byte") is not None:
        lines.append(
            f"Language check of the base before training: {language['bits_per_byte']:.2f} bits per byte "
            f"(perplexity {language.get('perplexity', float('nan')):,.1f}) on intern's reference text "
            f"(bound {language.get('bound')})."
        )
        lines.append("")
    if f.gain_vs_base is not None:
        gap = f" (95% interval {f.gain_interval[0]:+.3f} to {f.gain_interval[1]:+.3f})" if f.gain_interval else ""
        lines.append(f"Gain over the base: {f.gain_vs_base:+.3f}{gap}. Target: {f.target:.2f}.")
    if ev.slices:
        parts = [
            f"{name} {s.score:.3f}"
            + (f" ({_interval(*ev.slice_ci[name])})" if name in ev.slice_ci else "")
            + f", n={s.n}"
            for name, s in ev.slices.items()
        ]
        lines.append(f"Per slice: {'; '.join(parts)}.")
    if ev.pass_at_k:
        shown = [
            f"pass@{k} {v:.3f}" + (f" ({_interval(*ev.pass_at_k_ci[k])})" if k in ev.pass_at_k_ci else "")
            for k, v in sorted(ev.pass_at_k.items(), key=lambda kv: int(kv[0]))
        ]
        lines.append(f"Sampled at temperature {ev.temperature:g}: {', '.join(shown)}.")
    if f.verified_score is not None:
        lines.append(
            f"Verified at export: this folder regraded on the held-out split scores {f.verified_score:.4f}, "
            "as the critic's evaluation records."
        )
    else:
        lines.append("Not regraded at export (`intern export --verify` does that).")
    lines += [
        "",
        "## How it was made: from the base to this model",
        "",
        f"Base: `{f.base_model}`" + (f" (seed {f.origin.base_seed})" if f.base_model == EMBEDDED_TINY else "") + ".",
        "",
    ]
    for i, link in enumerate(f.chain, 1):
        start = f"`{link.parent}`" if link.parent else "the base model"
        score = f", held-out {link.score:.3f} ({_interval(*link.ci)})" if link.score is not None else ""
        lines += [
            f"### {i}. `{link.run_id}`: {link.method.upper()} from {start}",
            "",
            f"Hypothesis: {link.hypothesis or '-'}. {link.steps} steps in {link.wall_seconds:.0f} s{score}; "
            f"checkpoint sha256 `{link.checkpoint_sha256}`.",
            "",
            *_dataset_lines(link.dataset),
            "",
            "<details><summary>config.yaml as trained</summary>",
            "",
            "```yaml",
            link.config_yaml.rstrip(),
            "```",
            "",
            "</details>",
            "",
        ]
    lines += [
        "## Evaluation",
        "",
        f"Held-out split `{f.split['path']}` ({f.split['rows']} problems"
        + (f", seed {f.split['seed']}" if f.split.get("seed") is not None else "")
        + f"), sha256 `{f.split['sha256']}`; grader sha256 `{f.split['grader_sha256']}`. "
        "The split is drawn once by the critic, never seen by the trainer, and every training set was checked "
        "against it for exact, near-duplicate and 13-gram overlap.",
        "",
        "## Origin",
        "",
        f.origin.line(),
        "",
        *(f"- checked: {c}" for c in f.origin.checked),
        *(f"- not checked: {c}" for c in f.origin.unchecked),
        "",
        "## Provenance",
        "",
        f"Exported from workspace commit `{f.commit}`" + (" (with uncommitted changes)" if f.dirty else "") + ".",
        f"License: {f.license}" + (f" ({f.license_note})." if f.license_note else "."),
        f"{f.money[0].upper()}{f.money[1:]}.",
        "",
        "Steps a human steered (commits not made by an agent):",
        "",
        *([f"- {s}" for s in f.human_steps] or ["- none: the agents decided every step"]),
    ]
    if f.rules:
        lines += ["", "Rules in plan.md at export:", "", *(f"- `{r}`" for r in f.rules)]
    return "\n".join(lines) + "\n"


def _dataset_lines(d: dict[str, Any]) -> list[str]:
    if d.get("missing"):
        return [f"Dataset `{d['name']}`: its card is missing from the workspace."]
    lines = [
        f"Dataset `{d['name']}`: {d['rows']} rows, sha256 `{d['data_sha256']}`, verdict {d['verdict']}, "
        f"label agreement {d['label_agreement']:.2f}; source: {', '.join(d['sources']) or 'not recorded'}."
    ]
    if d.get("targets_slice"):
        lines.append(f"Aimed at the weak slice `{d['targets_slice']}`.")
    if d.get("pass_rate"):
        lines.append(f"Pass-rate filter: {d['pass_rate']}.")
    return lines
