"""A finished goal can be steered again: a raised target, a larger budget or a human's Queue item carry on."""

from __future__ import annotations

from agents.common import state
from agents.critic.critic import stale_stop
from agents.supervisor import Context, derive_steps, stop_reason, supervisor_node
from bus import Workspace
from bus.schemas import Diagnosis, Recommendation, RunResult


def _met_run(ws: Workspace, make_evaluation, make_config, score: float = 0.93, stop: bool = True) -> None:
    """run-001 kept at `score`; its diagnosis says stop, the target (0.90) being met."""
    ws.write_artifact("trainer", "runs/run-001/config.yaml", make_config(), "Configure run-001")
    result = RunResult(
        run_id="run-001", method="sft", status="succeeded", started="t0", finished="t1", wall_seconds=60.0, steps=10
    )
    ws.write_artifact("trainer", "runs/run-001/result.json", result, "Result of run-001")
    ws.write_artifact("critic", "runs/run-001/evaluation.md", make_evaluation(score, subject="run-001"), "Evaluate")
    diagnosis = Diagnosis(
        run_id="run-001",
        score=score,
        gain_vs_base=score,
        significant=True,
        kept=True,
        recommendation=Recommendation(action="stop", reason=f"target met: {score:.3f} >= 0.900")
        if stop
        else Recommendation(action="train", method="grpo", parent_run="run-001", reason="go on"),
    )
    ws.write_artifact("critic", "runs/run-001/diagnosis.md", diagnosis, "Diagnose run-001")


def _decide(ctx: Context) -> dict:
    return supervisor_node(ctx)({"step": 0})


def test_a_raised_target_re_derives_the_stop_and_asks_the_critic_again(
    ws: Workspace, write_base_evaluation, make_evaluation, make_config, set_goal
) -> None:
    write_base_evaluation(ws, 0.0)
    _met_run(ws, make_evaluation, make_config)
    ctx = Context(ws=ws, watcher=None, say=lambda _: None, goal=ws.goal())
    assert stop_reason(ctx, ws.goal()).startswith("target met: run-001 scores 0.930 >= 0.90")
    set_goal(ws, target={"value": 0.99})  # the human raises the target of the finished workspace
    ctx = Context(ws=ws, watcher=None, say=lambda _: None, goal=ws.goal())  # the next intern go
    run = state.runs(ws)[0]
    assert stale_stop(run, ws.goal())
    assert stop_reason(ctx, ws.goal()) is None  # not "no idea left: target met: 0.930 >= 0.900"
    assert derive_steps(ws) == ["critic: diagnose run-001 again against today's target"]
    out = _decide(ctx)
    assert out["route"] == "critic" and "again against today's target" in out["instruction"]


def test_a_larger_budget_carries_on(ws: Workspace, write_base_evaluation, make_evaluation, make_config, set_goal):
    write_base_evaluation(ws, 0.0)
    _met_run(ws, make_evaluation, make_config, score=0.5, stop=False)
    set_goal(ws, target={"value": 0.95}, budget={"runs": 1})
    ctx = Context(ws=ws, watcher=None, say=lambda _: None, goal=ws.goal())
    assert stop_reason(ctx, ws.goal()) == "budget spent: 1 of 1 runs used"
    set_goal(ws, budget={"runs": 3})
    assert stop_reason(ctx, ws.goal()) is None


def test_a_humans_queue_item_runs_on_a_finished_goal_but_leftover_items_do_not(
    ws: Workspace, write_base_evaluation, make_evaluation, make_config
) -> None:
    write_base_evaluation(ws, 0.0)
    _met_run(ws, make_evaluation, make_config)
    said: list[str] = []
    ctx = Context(ws=ws, watcher=None, say=said.append, goal=ws.goal())
    ws.update_plan(lambda p: p.append_queue(["researcher: an item the supervisor queued"]), "Queue")
    assert "stop" in _decide(ctx)  # the supervisor's own leftover item does not reopen a finished goal
    text = ws.read_text("plan.md")
    ws.path("plan.md").write_text(text.replace("## Queue\n", "## Queue\n- [ ] trainer: one more run, please\n", 1))
    out = _decide(ctx)
    assert out["route"] == "trainer" and out["instruction"] == "trainer: one more run, please"
    assert any("carrying on for the Queue item" in line for line in said)


def test_a_cancelled_run_is_neither_judged_nor_counted(ws: Workspace, write_base_evaluation, make_config, set_goal):
    write_base_evaluation(ws, 0.0)
    set_goal(ws, budget={"runs": 1})
    ws.write_artifact("trainer", "runs/run-001/config.yaml", make_config(), "Configure run-001")
    cancelled = RunResult(
        run_id="run-001",
        method="sft",
        status="cancelled",
        started="t0",
        finished="t1",
        wall_seconds=3.0,
        steps=0,
        error="cancelled by request (.intern/cancel-run) after 3s",
    )
    ws.write_artifact("trainer", "runs/run-001/result.json", cancelled, "Result of run-001: cancelled")
    ctx = Context(ws=ws, watcher=None, say=lambda _: None, goal=ws.goal())
    run = state.runs(ws)[0]
    assert not state.needs_judging(run)  # not a failure for the critic to diagnose
    assert stop_reason(ctx, ws.goal()) is None  # not a spent run
    assert derive_steps(ws)[2] == "trainer: finish the interrupted run"  # trained again under its id


def test_a_data_file_made_unusable_mid_run_keeps_the_last_valid_goal_until_fixed(ws: Workspace, set_goal) -> None:
    ws.path("mine.jsonl").write_text('{"prompt": "1+1=", "answer": "2"}\n')
    set_goal(ws, data={"local": [{"path": "mine.jsonl"}]})
    said: list[str] = []
    ctx = Context(ws=ws, watcher=None, say=said.append, goal=ws.goal())
    supervisor_node(ctx)({"step": 0})
    ws.path("mine.jsonl").write_bytes('{"prompt": "caf\xe9", "answer": "2"}\n'.encode("latin-1"))
    set_goal(ws, target={"value": 0.5})  # a change that must wait until the data file is fixed
    supervisor_node(ctx)({"step": 0})
    assert ctx.goal.target.value == 0.9 and ws.goal().target.value == 0.9  # the agents read the kept goal too
    assert any("mine.jsonl" in q and "not UTF-8" in q for q in ws.plan().questions())
    ws.path("mine.jsonl").write_text('{"prompt": "1+1=", "answer": "2"}\n')  # fixed
    supervisor_node(ctx)({"step": 0})
    assert ctx.goal.target.value == 0.5 and ws.goal().target.value == 0.5
