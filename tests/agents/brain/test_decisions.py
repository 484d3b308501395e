"""The supervisor's LLM pick among the legal starts of the derived steps, on real workspace files."""

from __future__ import annotations

from agents.brain.decisions import legal_starts
from agents.supervisor import Context, derive_steps, supervisor_node
from bus import Workspace


def _decide(ws: Workspace) -> dict:
    ctx = Context(ws=ws, watcher=None, say=lambda _: None, goal=ws.goal())
    return supervisor_node(ctx)({"step": 0})


def _with_untested_hypothesis(ws: Workspace, write_base_evaluation, make_hypothesis) -> None:
    write_base_evaluation(ws, 0.0)
    ws.write_artifact("researcher", "hypotheses/h-001.md", make_hypothesis(), "Hypothesis h-001")


def test_the_llm_may_skip_research_when_a_hypothesis_is_untested(
    ws: Workspace, use_brain, write_base_evaluation, make_hypothesis
) -> None:
    _with_untested_hypothesis(ws, write_base_evaluation, make_hypothesis)
    assert legal_starts(ws, derive_steps(ws)) == [0, 1]
    model = use_brain(ws, ['{"choice": 1, "reason": "h-001 is untested, so train it before reading more papers"}'])
    out = _decide(ws)
    assert out["route"] == "curator"
    assert [i.agent for i in ws.plan().queue()] == ["curator", "critic", "trainer", "critic"]
    status = "\n".join(ws.plan().section("Status"))
    assert "h-001 is untested" in status and "LLM injected:scripted" in status
    assert ws.history()[0].summary.startswith("Plan: planned: curator:")
    assert '"index": 1' in model.sent[0][-1].content  # the legal candidates went in as data


def test_an_illegal_choice_twice_keeps_the_derived_order_and_the_commit_says_so(
    ws: Workspace, use_brain, write_base_evaluation, make_hypothesis
) -> None:
    _with_untested_hypothesis(ws, write_base_evaluation, make_hypothesis)
    use_brain(ws, ['{"choice": 3, "reason": "train now"}', '{"choice": -1, "reason": "stop everything"}'])
    out = _decide(ws)
    assert out["route"] == "researcher"
    assert ws.history()[0].summary.startswith("Plan: deterministic fallback: LLM output invalid twice; planned:")


def test_with_one_legal_start_nothing_is_asked(ws: Workspace, use_brain, write_base_evaluation) -> None:
    write_base_evaluation(ws, 0.0)
    model = use_brain(ws, ['{"choice": 0, "reason": "x"}'])
    assert _decide(ws)["route"] == "researcher"
    assert model.sent == []


def test_a_withdrawn_or_disallowed_hypothesis_offers_no_shortcut(
    ws: Workspace, use_brain, write_base_evaluation, make_hypothesis
) -> None:
    _with_untested_hypothesis(ws, write_base_evaluation, make_hypothesis)  # an SFT hypothesis
    plan = ws.path("plan.md")
    plan.write_text(plan.read_text().replace("## Rules\n", "## Rules\n\n- method: grpo only\n", 1))
    ws.commit_human_edits()
    assert legal_starts(ws, derive_steps(ws)) == [0]  # the trainer could not take it under the rule

    plan.write_text(plan.read_text().replace("- method: grpo only\n", "", 1))
    ws.commit_human_edits()
    assert legal_starts(ws, derive_steps(ws)) == [0, 1]
    ws.revert(next(c.sha for c in ws.history() if c.artifact == "hypotheses/h-001.md"))
    ws.write_artifact("researcher", "hypotheses/h-001.md", make_hypothesis(), "Hypothesis h-001 again")
    assert legal_starts(ws, derive_steps(ws)) == [0]  # a withdrawn hypothesis stays withdrawn
