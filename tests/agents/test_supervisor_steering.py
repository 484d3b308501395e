"""The supervisor follows the human at every decision: Rules, intern.yaml and reverts (no training here)."""

from __future__ import annotations

from agents.common import state
from agents.supervisor import Context, derive_steps, stop_reason, supervisor_node
from bus import Workspace
from bus.schemas import Diagnosis, Recommendation, RunResult


def _add_rules(ws: Workspace, *rules: str) -> None:
    text = ws.read_text("plan.md")
    ws.path("plan.md").write_text(text.replace("## Rules\n", "## Rules\n" + "".join(f"- {r}\n" for r in rules), 1))


def _judged_run(ws: Workspace, make_evaluation, make_config, score: float) -> None:
    """run-001 trained, evaluated and kept by the critic, which recommends another run."""
    config = make_config()
    ws.write_artifact("trainer", "runs/run-001/config.yaml", config, "Configure run-001")
    result = RunResult(
        run_id="run-001", method="sft", status="succeeded", started="t0", finished="t1", wall_seconds=1.0, steps=10
    )
    ws.write_artifact("trainer", "runs/run-001/result.json", result, "Result of run-001")
    ws.write_artifact("critic", "runs/run-001/evaluation.md", make_evaluation(score, subject="run-001"), "Evaluate")
    diagnosis = Diagnosis(
        run_id="run-001",
        score=score,
        gain_vs_base=score,
        significant=True,
        kept=True,
        recommendation=Recommendation(action="train", method="grpo", parent_run="run-001", reason="go on"),
    )
    ws.write_artifact("critic", "runs/run-001/diagnosis.md", diagnosis, "Diagnose run-001")


def _decide(ctx: Context) -> dict:
    return supervisor_node(ctx)({"step": 0})


def test_an_unreadable_rule_becomes_a_question_and_stays(ws: Workspace, write_base_evaluation) -> None:
    write_base_evaluation(ws, 0.0)
    _add_rules(ws, "max learning_rate: 1e-4", "no grpo before sft")
    ctx = Context(ws=ws, watcher=None, say=lambda _: None, goal=ws.goal())
    out = _decide(ctx)
    assert out["route"] == "researcher"  # the loop goes on
    questions = ws.plan().questions()
    assert any("Rule `no grpo before sft` is not one I can enforce" in q for q in questions)
    assert not any(q.startswith("Rule `max learning_rate") for q in questions)
    assert ws.plan().rules() == ["max learning_rate: 1e-4", "no grpo before sft"]  # the human's lines stay
    _decide(ctx)
    assert len([q for q in ws.plan().questions() if "no grpo before sft" in q]) == 1  # asked once


def test_a_max_runs_rule_tightens_the_budget(
    ws: Workspace, write_base_evaluation, make_evaluation, make_config
) -> None:
    write_base_evaluation(ws, 0.0)
    _judged_run(ws, make_evaluation, make_config, 0.5)
    ctx = Context(ws=ws, watcher=None, say=lambda _: None, goal=ws.goal())
    assert _decide(ctx)["route"] == "researcher"
    _add_rules(ws, "max runs: 1")
    out = _decide(ctx)
    assert out["stop"] == "budget spent: 1 of 1 runs used (a rule in plan.md)"
    assert "- runs: 1 of 1;" in ws.read_text("plan.md")


def test_intern_yaml_edits_apply_at_the_next_decision(
    ws: Workspace, write_base_evaluation, make_evaluation, make_config, set_goal
) -> None:
    write_base_evaluation(ws, 0.0)
    _judged_run(ws, make_evaluation, make_config, 0.5)
    ctx = Context(ws=ws, watcher=None, say=lambda _: None, goal=ws.goal())
    assert _decide(ctx)["route"] == "researcher"
    set_goal(ws, target={"value": 0.5})
    assert _decide(ctx)["stop"].startswith("target met: run-001 scores 0.500 >= 0.50")
    set_goal(ws, target={"value": 0.95}, budget={"runs": 1})
    assert _decide(ctx)["stop"] == "budget spent: 1 of 1 runs used"
    assert state.best_run(ws).id == "run-001"


def test_a_revert_made_while_it_runs_is_noticed_and_the_evaluation_redone(
    ws: Workspace, write_base_evaluation, make_evaluation, make_config
) -> None:
    write_base_evaluation(ws, 0.0)
    _judged_run(ws, make_evaluation, make_config, 0.5)
    said: list[str] = []
    ctx = Context(ws=ws, watcher=None, say=said.append, goal=ws.goal())
    assert _decide(ctx)["route"] == "researcher"
    evaluation = next(c.sha for c in ws.history() if c.artifact == "runs/run-001/evaluation.md")
    revert = ws.revert(evaluation)  # as `intern revert` from another terminal
    out = _decide(ctx)
    assert f"noticed the revert {revert[:8]}: runs/run-001/evaluation.md is withdrawn from the loop" in "\n".join(said)
    assert f"- withdrawn by a human: runs/run-001/evaluation.md (revert {revert[:8]})" in ws.read_text("plan.md")
    # The queued researcher item runs first (the human's queue wins); once it is gone, the critic redoes the evaluation.
    assert out["route"] == "researcher"
    assert derive_steps(ws) == ["critic: evaluate and diagnose run-001"]
    assert stop_reason(ctx, ws.goal()) is None  # a run waiting for its evaluation is never counted as judged
