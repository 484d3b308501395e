"""The critic's check of every training dataset against the held-out split, before training.

For each dataset card whose data has no report yet (or a report about older data), the
training prompts are compared with the held-out prompts (agents/common/contamination.py) and
`reports/contamination/<dataset>.json` lists the rows the trainer must drop, with the reason
for each. The summary gets one line per dataset.
"""

from __future__ import annotations

import json

from agents.common import contamination, state
from agents.critic.scoring import parse_rows
from agents.tasks import prompt_template
from bus import Workspace, layout, sha256_file
from bus.schemas import DatasetCard, utc_now


def check_dataset(ws: Workspace, card: DatasetCard, split_rel: str, split_sha256: str) -> tuple[str, str | None]:
    """Check one dataset. Returns (a one-line note, the commit or None when nothing was written)."""
    report_rel = contamination.report_path(card.name)
    data_rel = layout.dataset_file(card.name, card.data_file)
    if ws.exists(report_rel):
        try:
            contamination.read_report(ws.path(report_rel), card.data_sha256)
            return f"{card.name} already checked", None
        except contamination.ContaminationReportError:
            pass  # stale or unreadable: check again below
    if not ws.exists(data_rel):
        return f"{card.name}: {data_rel} is missing; the curator rebuilds it before it can be checked", None
    if sha256_file(ws.path(data_rel)) != card.data_sha256:
        return f"{card.name}: {data_rel} differs from its card's sha256; not checked", None
    rows = parse_rows(ws.read_text(data_rel))
    eval_rows = parse_rows(ws.read_text(split_rel))
    # The problems as written: the task template's shared words are not evidence of a leak.
    template = prompt_template(ws.goal().task)
    hits = contamination.find_contamination(
        [str(r.get("prompt", "")) for r in rows], [str(r.get("prompt", "")) for r in eval_rows], template=template
    )
    compared = contamination.compared_form(template)
    report = contamination.make_report(
        card.name,
        data_rel,
        card.data_sha256,
        split_rel,
        split_sha256,
        len(rows),
        len(eval_rows),
        hits,
        utc_now(),
        compared=compared,
    )
    counts = report["counts"]
    summary = (
        f"Contamination check of {card.name}: {counts['dropped']} of {len(rows)} rows dropped "
        f"(exact {counts['exact']}, near-duplicate {counts['near_duplicate']}, 13-gram {counts['ngram_overlap']}; "
        f"compared {compared.split(':')[0]})"
    )
    sha = ws.write_artifact("critic", report_rel, json.dumps(report, indent=1) + "\n", summary)
    return summary, sha


def check_training_data(ws: Workspace, split_rel: str, split_sha256: str) -> tuple[list[str], list[str]]:
    """Check every dataset with a valid card. Returns (notes, commits)."""
    notes, commits = [], []
    for _, card in state.dataset_cards(ws):
        note, sha = check_dataset(ws, card, split_rel, split_sha256)
        if sha is not None:
            notes.append(note)
            commits.append(sha)
        elif "already checked" not in note:
            notes.append(note)
    return notes, commits


def summary_lines(ws: Workspace) -> list[str]:
    """One line per contamination report, for reports/summary.md."""
    lines = []
    for path in sorted(ws.root.glob(f"{contamination.REPORT_DIR}/*.json")):
        try:
            report = contamination.read_report(path)
        except contamination.ContaminationReportError as exc:
            lines.append(f"- {exc}")
            continue
        counts = report.get("counts", {})
        lines.append(
            f"- `{report.get('dataset')}`: {counts.get('dropped', 0)} of {report.get('rows')} training rows dropped "
            f"(exact {counts.get('exact', 0)}, near-duplicate {counts.get('near_duplicate', 0)}, "
            f"13-gram {counts.get('ngram_overlap', 0)}) against `{report.get('split')}`"
        )
    return ["", "## Contamination checks", "", *lines] if lines else []
