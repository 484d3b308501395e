"""The dataset card: a Hugging Face card (`README.md`) that is also intern's artifact, plus `card.json`.

The README's front matter holds the Hugging Face metadata (license, task_categories, size_categories,
source_datasets, and `configs` pointing at the data file, so `datasets.load_dataset(folder)` finds it)
and intern's fields (the schema in bus/schemas.py); it is rendered with `huggingface_hub.DatasetCard`
and validated by the bus when written. `card.json` holds every figure of the gate, including a few
example rows per drop reason, for a human or a script that wants more than the summary.
"""

from __future__ import annotations

import json

from agents.curator.gate import GateResult
from bus.schemas import DatasetCard, TaskSpec

DATA_FILE = "data/train.jsonl"
FIGURES_FILE = "card.json"
TEMPLATE = "---\n{{ card_data }}\n---\n\n{{ body }}\n"
_SIZES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"))
TASK_CATEGORY = {"gpqa": "question-answering"}  # the others are answered by generating text


def size_category(rows: int) -> str:
    return next((label for top, label in _SIZES if rows < top), "n>1M")


def hf_metadata(card: DatasetCard) -> dict:
    """The card's fields as Hugging Face card metadata (intern's fields ride along as extra keys)."""
    return card.model_dump(mode="json", exclude={"body"})


def render(card: DatasetCard) -> str:
    """The README text, rendered by huggingface_hub's DatasetCard from its card data."""
    from huggingface_hub import DatasetCard as HubDatasetCard
    from huggingface_hub import DatasetCardData

    hub_card = HubDatasetCard.from_template(
        DatasetCardData(**hf_metadata(card)), template_str=TEMPLATE, body=card.body.strip()
    )
    return str(hub_card)


def configs_for(data_file: str, data_sha256: str) -> list[dict]:
    """The card's one `datasets` config, named by the data's hash.

    `datasets.load_dataset(folder)` caches a local folder under its folder name and config name only
    (not its path or its bytes): two workspaces with a `default` config in same-named folders share one
    cache entry, and the second gets the first one's rows. A config named by the rows' hash gets its own.
    """
    return [{"config_name": f"data-{data_sha256[:12]}", "data_files": [{"split": "train", "path": data_file}]}]


def source_lines(card: DatasetCard) -> list[str]:
    """## Sources: how each source's columns became prompt, answer and completion, and whether it is verified."""
    if not card.source_layouts:
        return []
    lines = ["## Sources and column mapping", ""]
    lines += [f"- `{name}`: {text}" for name, text in card.source_layouts.items()]
    if card.unverified_sources:
        lines += [
            "",
            f"Unverified ({', '.join(card.unverified_sources)}): free-form replies with no reference answer; their "
            "rows carry `verified: false`, are never GRPO answers, and are left out of the agreement figure.",
        ]
    return [*lines, ""]


def quality_lines(card: DatasetCard, result: GateResult) -> list[str]:
    """The markdown a human reads to judge the data: verdict, drops, lengths, answers, slices, pass rate."""
    lines = [f"## Verdict: {card.verdict}", ""]
    lines += [f"- {reason}" for reason in card.verdict_reasons] or ["- nothing to report"]
    lines += ["", "## Quality gate", "", f"{result.rows_in} rows in, {card.rows} kept.", ""]
    if result.dropped:
        lines += ["| dropped because | rows | e.g. |", "|---|---|---|"]
        for reason, count in sorted(result.dropped.items(), key=lambda kv: -kv[1]):
            example = result.examples.get(reason, [{}])[0]
            lines.append(f"| {reason} | {count} | row {example.get('row')}: {example.get('why', '')} |")
        lines.append("")
    prompt, completion = result.figures["prompt_length"], result.figures["completion_length"]
    answers = result.figures["answers"]
    lines += [
        f"- prompt length (characters): min {prompt['min']}, median {prompt['median']:g}, p90 {prompt['p90']:g}, "
        f"max {prompt['max']}",
        f"- completion length (characters): min {completion['min']}, median {completion['median']:g}, "
        f"max {completion['max']}",
        f"- answers: {answers['distinct']} distinct; the most common is {answers['top_share']:.1%} of rows",
        f"- demonstrations in the expected answer format: {card.answer_format_ok:.1%}",
        "- demonstrations that agree with the grader: "
        + (
            f"{card.label_agreement:.1%}"
            + (f" of {card.verified_rows} verified rows" if card.unverified_sources else "")
            if card.label_agreement is not None
            else "not measured (no row has a reference answer)"
        ),
    ]
    cleaned = result.figures.get("cleaned") or {}
    if any(cleaned.values()):
        lines.append(
            f"- cleaned as read: {cleaned.get('blank_lines', 0)} rows with blank lines at the start or end of a "
            f"text (trimmed), {cleaned.get('crlf', 0)} rows with Windows line endings (CRLF turned into LF)"
        )
    if card.slices:
        lines += ["", "| slice | rows | agreement with grader |", "|---|---|---|"]
        lines += [f"| {k} | {v.rows} | {v.label_agreement:.1%} |" for k, v in card.slices.items()]
    if card.pass_rate is not None:
        p = card.pass_rate
        lines += [
            "",
            f"Pass-rate filter: `{p.checkpoint}` sampled {p.samples} times per prompt at temperature "
            f"{p.temperature:g}: {p.too_easy} prompts too easy (always solved), {p.too_hard} too hard (never "
            f"solved), {p.kept} kept"
            + (
                f"; {p.unscored} left unscored when the {p.budget_seconds:g} s budget ran out, and {p.unscored_policy}"
                if p.unscored
                else ""
            )
            + f" ({p.scored} scored in {p.seconds:g} s"
            + (f" with {p.backend}" if p.backend else "")
            + ").",
        ]
    if card.mixture:
        lines += ["", "| source | weight | rows kept by the gate | rows used |", "|---|---|---|---|"]
        lines += [f"| {m.source} | {m.weight:g} | {m.rows_available} | {m.rows_used} |" for m in card.mixture]
    lines += ["", f"Every figure, with example rows for each drop reason: `{FIGURES_FILE}`."]
    return lines


def figures_json(card: DatasetCard, results: dict[str, GateResult], extra: dict) -> str:
    """card.json: the card's figures and, per source, every count and the example drops."""
    data = {
        "name": card.name,
        "verdict": card.verdict,
        "verdict_reasons": card.verdict_reasons,
        "rows": card.rows,
        "data_file": card.data_file,
        "data_sha256": card.data_sha256,
        "column_mapping": card.column_mapping,
        "sources": {
            name: {
                "rows_in": r.rows_in,
                "kept": len(r.kept),
                "dropped": r.dropped,
                "examples": r.examples,
                "verdict": r.verdict,
                "verdict_reasons": r.reasons,
                "figures": {k: _plain(v) for k, v in r.figures.items()},
            }
            for name, r in results.items()
        },
        **extra,
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _plain(value):
    if hasattr(value, "model_dump"):
        return value.model_dump()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def task_category(spec: TaskSpec) -> str:
    return TASK_CATEGORY.get(spec.name, "text-generation")
