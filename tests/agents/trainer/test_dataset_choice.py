"""The trainer trains a hypothesis on the dataset built for it, and refuses when that one is missing or rejected."""

from __future__ import annotations

from agents.common import state
from agents.supervisor import Context, specialist_node
from agents.trainer.trainer import hypothesis_card, trainer_step
from bus import Workspace


def _card(ws: Workspace, make_card, name: str, **fields) -> None:
    ws.write_artifact("curator", f"datasets/{name}/README.md", make_card(name=name, **fields), f"Card {name}")


def test_the_hypothesis_gets_its_own_card_not_the_newest(ws: Workspace, make_card, make_hypothesis) -> None:
    ws.write_artifact("researcher", "hypotheses/h-001.md", make_hypothesis(), "Hypothesis h-001")
    ws.write_artifact("researcher", "hypotheses/h-002.md", make_hypothesis(id="h-002"), "Hypothesis h-002")
    _card(ws, make_card, "for-h1", hypothesis="hypotheses/h-001.md", written="2026-01-01T00:00:00+00:00")
    _card(ws, make_card, "for-h2", hypothesis="hypotheses/h-002.md", written="2026-01-02T00:00:00+00:00")
    _card(ws, make_card, "general", written="2026-01-03T00:00:00+00:00")
    assert hypothesis_card(ws, "hypotheses/h-001.md", [])[0].name == "for-h1"
    assert hypothesis_card(ws, "hypotheses/h-002.md", [])[0].name == "for-h2"
    assert hypothesis_card(ws, "hypotheses/h-003.md", [])[0].name == "general"  # names none: serves any
    outcome = trainer_step(ws)  # h-001 first; its card has no contamination report, so it stops there
    assert not outcome.ok and "dataset for-h1 is not checked" in outcome.summary


def test_a_missing_card_is_a_clear_failed_step(ws: Workspace, make_card, make_hypothesis) -> None:
    ws.write_artifact("researcher", "hypotheses/h-001.md", make_hypothesis(), "Hypothesis h-001")
    _card(ws, make_card, "for-h9", hypothesis="hypotheses/h-009.md")
    outcome = trainer_step(ws)
    assert not outcome.ok
    assert outcome.summary.startswith("hypotheses/h-001.md cannot run: no checked dataset names it yet")
    assert state.runs(ws) == []


def test_a_rejected_card_stops_the_run_with_the_reason_in_plan_md(ws: Workspace, make_card, make_hypothesis) -> None:
    ws.write_artifact("researcher", "hypotheses/h-001.md", make_hypothesis(), "Hypothesis h-001")
    hyp = "hypotheses/h-001.md"
    _card(ws, make_card, "older-ok", hypothesis=hyp, written="2026-01-01T00:00:00+00:00")
    _card(ws, make_card, "general", written="2026-01-02T00:00:00+00:00")
    reason = "only 3 rows survived the gate (too_hard 397); too few to train on"
    _card(
        ws,
        make_card,
        "newest-bad",
        hypothesis=hyp,
        rows=0,
        verdict="rejected",
        verdict_reasons=[reason],
        written="2026-01-03T00:00:00+00:00",
    )
    ctx = Context(ws=ws, watcher=None, goal=ws.goal(), say=lambda _: None)
    specialist_node(ctx, "trainer")({"instruction": "trainer: run the hypothesis"})
    status = "\n".join(ws.plan().section("Status"))
    assert "failed: hypotheses/h-001.md cannot run: its dataset newest-bad was rejected" in status
    assert reason in status
    assert state.runs(ws) == []  # neither the older card nor the general one was trained on instead
