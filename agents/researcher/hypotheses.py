"""Hypotheses: what the loop needs next, the candidate changes that answer it, and their status over time.

A hypothesis is a claim with one change to try (a TrainingConfig delta or a data action), the metric
it should move, its evidence (paper ids, earlier runs), a priority and a status: proposed, running,
supported, refuted or withdrawn. The status is read from the files each time the researcher runs:
the run that tested the hypothesis was kept by the critic (supported) or not (refuted); a human who
reverts a hypothesis withdraws it. A change already refuted is not proposed again unless it names
evidence its predecessor did not cite; a withdrawn one never is.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from agents.common import state
from agents.researcher.knowledge import COLD_START, addressing, paper_key
from bus import Workspace, layout
from bus.artifacts import parse_artifact
from bus.schemas import Hypothesis, Remedy, TrainingConfig

# Below this base pass rate GRPO groups are all-zero: no learning signal without a warm start.
COLD_START_PASS_RATE = 0.05
PAPERS_PER_HYPOTHESIS = 4
_NUMBER = re.compile(r"^hypotheses/(?:H|h-)(\d+)")
_METHOD_SWITCH = re.compile(r"\b(GRPO|SFT)\b")


def current_need(ws: Workspace) -> dict | None:
    """What the next experiment must address: method, parent, tags, config delta, why, findings and their remedies."""
    diagnosed = [r for r in state.runs(ws) if r.diagnosis is not None]
    if diagnosed:
        latest = diagnosed[-1]
        dg = latest.diagnosis
        rec = dg.recommendation
        if rec.action != "train":
            return None
        serious = [f for f in dg.findings if f.severity != "info"]
        return {
            "method": rec.method,
            "parent_run": rec.parent_run,
            "tags": rec.tags,
            "config_delta": rec.config_delta,
            "why": rec.reason,
            "based_on": layout.run_diagnosis(latest.id),
            "findings": [f.name for f in serious],
            "remedies": [(f.name, r) for f in serious for r in f.remedies],
            "papers": rec.papers,
            "run": latest.config,
        }
    base = state.base_evaluation(ws)
    score = base.score if base else 0.0
    common = {"config_delta": {}, "remedies": [], "papers": [], "run": None, "parent_run": None}
    if score < COLD_START_PASS_RATE:
        return common | {
            "method": "sft",
            "tags": ["sft", "cold-start", "distillation"],
            "why": f"the base model solves {score:.1%} of held-out problems, so GRPO groups would all score 0 "
            "and give no gradient; a supervised warm start on demonstrations comes first",
            "based_on": state.BASE_EVALUATION if base else None,
            "findings": [COLD_START],
        }
    return common | {
        "method": "grpo",
        "tags": ["grpo", "verifiable-reward"],
        "why": f"the base model already solves {score:.1%}, enough reward variance for GRPO to learn from",
        "based_on": state.BASE_EVALUATION,
        "findings": [],
    }


# --- what is known: every hypothesis with its current status --------------------------------------


@dataclass
class Known:
    path: str
    hyp: Hypothesis
    status: str
    tested_by: list[str]
    reason: str


def signature(method: str, parent: str | None, delta: dict, data_change: str | None) -> str:
    """Two hypotheses with the same signature make the same change: repeating one tests nothing new."""
    return json.dumps([method, parent, delta, data_change or ""], sort_keys=True)


def hyp_signature(hyp: Hypothesis) -> str:
    return signature(hyp.method, hyp.parent_run, hyp.config_delta, hyp.data_change)


def _status(path: str, runs: list[state.RunView]) -> tuple[str, list[str], str]:
    tested = [r for r in runs if r.config is not None and r.config.hypothesis == path]
    if not tested:
        return "proposed", [], ""
    ids = [r.id for r in tested]
    run = tested[-1]
    if run.diagnosis is None:
        return "running", ids, f"{run.id} is training or waiting for the critic"
    dg = run.diagnosis
    if not run.succeeded:
        return "refuted", ids, f"{run.id} failed, so the change did not deliver a usable model"
    against = dg.best_before or "the base model"
    gain = dg.gain_vs_best if dg.gain_vs_best is not None else dg.gain_vs_base
    interval = dg.gain_vs_best_interval or dg.gain_vs_base_interval
    shown = f"{gain:+.3f} against {against}" + (
        f" (95% interval {interval[0]:+.3f}..{interval[1]:+.3f})" if interval else ""
    )
    if state.is_kept(run):
        return "supported", ids, f"the critic kept {run.id}: {shown}"
    return "refuted", ids, f"the critic did not keep {run.id}: {shown}, within noise or worse"


def _withdrawn_copy(ws: Workspace, path: str, revert_sha: str) -> Hypothesis | None:
    """The hypothesis as it was before the human's revert (the file itself may be gone)."""
    try:
        text = ws.repo.git.show(f"{revert_sha}^:{path}")
        hyp = parse_artifact(text, Hypothesis, path)
    except Exception:  # unreadable history: nothing to compare against, the path alone stays blocked
        return None
    return hyp if isinstance(hyp, Hypothesis) else None


def known_hypotheses(ws: Workspace) -> list[Known]:
    """Every hypothesis on file or withdrawn, with the status the files give it now."""
    runs = state.runs(ws)
    withdrawn = {p: sha for p, sha in state.withdrawn(ws).items() if layout.under(p, layout.HYPOTHESES)}
    out = []
    for path, hyp in state.hypotheses(ws):
        if path in withdrawn:
            continue
        status, tested_by, reason = _status(path, runs)
        out.append(Known(path, hyp, status, tested_by, reason))
    for path, sha in sorted(withdrawn.items()):
        hyp = _withdrawn_copy(ws, path, sha)
        if hyp is not None:
            out.append(Known(path, hyp, "withdrawn", [], f"a human reverted it ({sha[:8]})"))
    return out


def update_statuses(ws: Workspace, known: list[Known]) -> list[str]:
    """Rewrite each hypothesis whose status the runs changed; one commit each. Withdrawn ones are left alone:
    writing them again would take back the human's withdrawal."""
    commits = []
    for k in known:
        if k.status == "withdrawn" or (k.status, k.tested_by, k.reason) == (
            k.hyp.status,
            k.hyp.tested_by,
            k.hyp.status_reason,
        ):
            continue
        updated = k.hyp.model_copy(update={"status": k.status, "tested_by": k.tested_by, "status_reason": k.reason})
        updated.body = _with_status(updated.body, _status_section(updated))
        commits.append(
            ws.write_artifact("researcher", k.path, updated, f"Hypothesis {k.hyp.id} is {k.status}: {k.reason}"[:120])
        )
    return commits


def _with_status(body: str, section: str) -> str:
    """Replace the Status section in place (text a human added around it stays), or append one."""
    pattern = re.compile(r"\n+## Status\n.*?(?=\n+## |\Z)", flags=re.S)
    if pattern.search(body):
        return pattern.sub(lambda _: section, body, count=1)
    return body.rstrip() + section


def _status_section(hyp: Hypothesis) -> str:
    return f"\n\n## Status\n\n**{hyp.status}**" + (f": {hyp.status_reason}." if hyp.status_reason else ".")


def next_number(known: list[Known]) -> int:
    numbers = [int(m.group(1)) for k in known if (m := _NUMBER.match(k.path))]
    return max(numbers, default=0) + 1


def hypothesis_path(number: int, title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:48].rstrip("-")
    return layout.hypothesis(f"H{number:04d}-{slug}")


# --- candidates and the choice among them -------------------------------------------------------


def _knob_delta(knobs: dict, run: TrainingConfig | None) -> dict:
    """The knobs a TrainingConfig can take that would change the run they are applied to."""
    fields = TrainingConfig.model_fields
    return {k: v for k, v in knobs.items() if k in fields and (run is None or getattr(run, k) != v)}


def candidates(need: dict, ranked: list[tuple[float, dict]], corpus: list[dict]) -> list[dict]:
    """Changes that answer the need, best first: the critic's recommendation, then each finding's remedies,
    then the knobs of the best-ranked papers that address a finding. Identical changes are merged."""
    top = [paper_key(p) for s, p in ranked if s > 0][:PAPERS_PER_HYPOTHESIS]
    matching = [paper_key(p) for _, p in ranked if set(p.get("tags", [])) & set(need["tags"])]
    by_finding = [pid for f in need["findings"] for pid in addressing(corpus, f)]
    lead = list(dict.fromkeys(need["papers"] + [p for p in matching if p in by_finding] + matching + top))
    out = [
        {
            "method": need["method"],
            "parent_run": need["parent_run"],
            "config_delta": need["config_delta"],
            "data_change": None,
            "papers": lead[:PAPERS_PER_HYPOTHESIS] or top[:1],
            "why": need["why"],
        }
    ]
    run: TrainingConfig | None = need["run"]
    if run is not None:
        remedy: Remedy
        for finding, remedy in need["remedies"]:
            delta = _knob_delta(remedy.config_delta, run)
            if remedy.config_delta and delta != remedy.config_delta:
                continue  # a knob the trainer does not offer, or no change at all
            if not delta and _METHOD_SWITCH.search(remedy.data_action or ""):
                continue  # "GRPO from this checkpoint": a change of method is the recommendation's, not a data action
            papers = list(dict.fromkeys([remedy.paper, *addressing(corpus, finding)]))[:PAPERS_PER_HYPOTHESIS]
            out.append(
                {
                    "method": run.method,
                    "parent_run": run.parent_run,
                    "config_delta": delta,
                    "data_change": remedy.data_action,
                    "papers": papers,
                    "why": f"{run.run_id} shows {finding}; {remedy.why} (arXiv {remedy.paper})",
                }
            )
        for _, paper in ranked[:8]:
            addressed = [f for f in need["findings"] if f in paper.get("failure_modes", [])]
            delta = _knob_delta(paper.get("knobs", {}), run)
            if addressed and delta and run.method == "grpo":
                out.append(
                    {
                        "method": "grpo",
                        "parent_run": run.parent_run,
                        "config_delta": delta,
                        "data_change": None,
                        "papers": [paper_key(paper)],
                        "why": f"{run.run_id} shows {', '.join(addressed)}, which {paper['short']} addresses with {delta}",
                    }
                )
    merged: dict[str, dict] = {}
    for cand in out:
        key = signature(cand["method"], cand["parent_run"], cand["config_delta"], cand["data_change"])
        if key in merged:
            merged[key]["papers"] = list(dict.fromkeys(merged[key]["papers"] + cand["papers"]))
        else:
            merged[key] = cand
    return list(merged.values())


def choose(cands: list[dict], known: list[Known], need: dict, corpus: list[dict]) -> tuple[dict | None, list[str]]:
    """The first candidate that repeats nothing withdrawn, running, supported or (without new evidence) refuted.

    Returns it (with `priority` and `new_evidence` set) and one line per candidate passed over, saying why.
    """
    passed: list[str] = []
    relevant = {pid for f in need["findings"] for pid in addressing(corpus, f)} | set(need["papers"])
    for priority, cand in enumerate(cands, start=1):
        key = signature(cand["method"], cand["parent_run"], cand["config_delta"], cand["data_change"])
        same = [k for k in known if hyp_signature(k.hyp) == key]
        blocking = next((k for k in same if k.status in ("withdrawn", "running", "supported", "proposed")), None)
        if blocking is not None:
            passed.append(f"{_describe(cand)}: same change as {blocking.path} ({blocking.status})")
            continue
        refuted = [k for k in same if k.status == "refuted"]
        if refuted:
            cited_before = {p for k in refuted for p in k.hyp.papers + k.hyp.new_evidence}
            new = [p for p in cand["papers"] if p not in cited_before and p in relevant]
            if not new:
                passed.append(f"{_describe(cand)}: refuted by {refuted[-1].path} and no new evidence")
                continue
            cand = cand | {"new_evidence": new}
        return cand | {"priority": priority}, passed
    return None, passed


def _cite(paper_id: str) -> str:
    return f"arXiv {paper_id}" if re.match(r"^\d{4}\.\d{4,5}$", paper_id) else paper_id


def _describe(cand: dict) -> str:
    start = f"from {cand['parent_run']}" if cand["parent_run"] else "from the base model"
    change = f" with {cand['config_delta']}" if cand["config_delta"] else ""
    data = f" after: {cand['data_change']}" if cand["data_change"] else ""
    return f"{cand['method'].upper()} {start}{change}{data}"


def propose_hypothesis(
    need: dict, ranked: list[tuple[float, dict]], corpus: list[dict], known: list[Known]
) -> tuple[dict | None, list[dict], list[str]]:
    """The deterministic brain's proposal: (the chosen candidate or None, all candidates, lines on those passed over).

    An LLM brain may replace this call; it must return the same shape and leave the de-duplication to `choose`.
    """
    cands = candidates(need, ranked, corpus)
    chosen, passed = choose(cands, known, need, corpus)
    return chosen, cands, passed


def build_hypothesis(
    number: int, chosen: dict, cands: list[dict], passed: list[str], need: dict, titles: dict[str, str]
) -> Hypothesis:
    """The artifact for the chosen candidate, its body readable on its own."""
    hid = f"H{number:04d}"
    title = _describe(chosen)
    metric = "exact_match"
    reference = f"its parent {chosen['parent_run']}" if chosen["parent_run"] else "the base model"
    expected = (
        f"held-out {metric} above {reference} and above the best kept run, with the gain's paired 95% interval "
        "(both graded on the same held-out items) above 0"
    )
    claim = f"{title} raises held-out {metric}: {chosen['why']}"
    evidence = [f"- {_cite(p)}: {titles.get(p, '')}".rstrip(": ") for p in chosen["papers"]]
    if need["based_on"]:
        evidence.append(
            f"- {need['based_on']}" + (f" (findings: {', '.join(need['findings'])})" if need["findings"] else "")
        )
    mine = signature(chosen["method"], chosen["parent_run"], chosen["config_delta"], chosen["data_change"])
    others = [
        f"- priority {i}: {_describe(c)}"
        for i, c in enumerate(cands, start=1)
        if signature(c["method"], c["parent_run"], c["config_delta"], c["data_change"]) != mine
    ]
    body = [
        f"# Hypothesis {hid}: {title}",
        "",
        f"**Claim:** {claim}.",
        "",
        "**Change to try:** "
        + (
            f"TrainingConfig delta `{json.dumps(chosen['config_delta'])}`"
            if chosen["config_delta"]
            else "no knob change"
        )
        + (f"; data action: {chosen['data_change']}" if chosen["data_change"] else "")
        + f"; {chosen['method']} from {chosen['parent_run'] or 'the base model'}.",
        "",
        f"**Expected effect:** {expected}.",
        "",
        "## Evidence",
        "",
        *evidence,
    ]
    if chosen.get("new_evidence"):
        body += ["", f"Repeats a refuted change because of new evidence: {', '.join(chosen['new_evidence'])}."]
    if others or passed:
        body += ["", "## Other candidates", "", *others, *[f"- passed over: {line}" for line in passed]]
    return Hypothesis(
        id=hid,
        title=title,
        method=chosen["method"],
        parent_run=chosen["parent_run"],
        config_delta=chosen["config_delta"],
        data_change=chosen["data_change"],
        papers=chosen["papers"],
        based_on=need["based_on"],
        claim=claim,
        metric=metric,
        expected=expected,
        priority=chosen["priority"],
        new_evidence=chosen.get("new_evidence", []),
        body="\n".join(body) + "\n\n## Status\n\n**proposed**.",
    )
