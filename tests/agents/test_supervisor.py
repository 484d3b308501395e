"""The supervisor's decisions, taken from real workspace files (no training here)."""

from __future__ import annotations

from pathlib import Path

from agents.common import state
from agents.supervisor import Context, derive_steps, specialist_node, stop_reason, supervisor_node
from bus import Workspace
from bus.schemas import Evaluation


def _base_evaluation(ws: Workspace, score: float = 0.0) -> None:
    evaluation = Evaluation(
        subject="base",
        checkpoint="embedded:tiny",
        task="addition",
        split="eval/addition/test.jsonl",
        split_sha256="0" * 64,
        n=100,
        score=score,
        ci_low=0.0,
        ci_high=min(1.0, score + 0.05),
        seconds=0.1,
        body="# base",
    )
    ws.write_artifact("critic", state.BASE_EVALUATION, evaluation, "Evaluate base")


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_first_decision_is_the_base_evaluation(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    ctx = Context(ws=ws, watcher=None, say=lambda _: None, goal=ws.goal())
    out = supervisor_node(ctx)({"step": 0})
    assert out["route"] == "critic"
    queue = ws.plan().queue()
    assert [i.text for i in queue] == ["critic: evaluate the base model on the held-out split"]
    assert ws.history()[0].agent == "supervisor"


def test_after_the_base_an_iteration_is_planned_in_order(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    _base_evaluation(ws)
    # The critic checks the new training data against the held-out split before the trainer uses it.
    assert [s.split(":")[0] for s in derive_steps(ws)] == ["researcher", "curator", "critic", "trainer", "critic"]


def test_a_human_item_at_the_top_of_the_queue_runs_first(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    _base_evaluation(ws)
    ctx = Context(ws=ws, watcher=None, say=lambda _: None, goal=ws.goal())
    supervisor_node(ctx)({"step": 0})  # plans researcher, curator, trainer, critic
    plan = ws.path("plan.md")
    _edit(plan, "- [ ] researcher:", "- [ ] curator: add harder examples with carries\n- [ ] researcher:")
    ws.commit_human_edits()
    out = supervisor_node(ctx)({"step": 1})
    assert out["route"] == "curator"
    assert out["instruction"] == "curator: add harder examples with carries"
    assert "curator: add harder examples with carries" in ws.read_text("plan.md")


def test_an_unreadable_queue_line_becomes_a_question_and_the_loop_goes_on(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    _base_evaluation(ws)
    _edit(ws.path("plan.md"), "## Rules", "- [ ] please make it better\nfree text in the queue\n\n## Rules")
    ctx = Context(ws=ws, watcher=None, say=lambda _: None, goal=ws.goal())
    out = supervisor_node(ctx)({"step": 0})
    assert out["route"] == "researcher"  # it planned the next iteration despite the bad lines
    questions = ws.plan().questions()
    assert any("please make it better" in q for q in questions)
    assert any("free text in the queue" in q for q in questions)
    text = ws.read_text("plan.md")
    assert "- [ ] please make it better" in text and "free text in the queue" in text  # never deleted
    human = [c for c in ws.history() if c.agent is None]
    assert human and "plan.md" in human[-1].summary


def test_a_crashing_step_is_recorded_and_the_loop_stops_after_repeated_failures(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    _base_evaluation(ws)
    ctx = Context(ws=ws, watcher=None, say=lambda _: None, goal=ws.goal())
    supervisor_node(ctx)({"step": 0})
    # No dataset and no hypothesis: the trainer cannot run; the failure is ticked with its reason.
    trainer = specialist_node(ctx, "trainer")
    trainer({"instruction": "trainer: run the hypothesis"})
    assert "trainer: run the hypothesis — failed: no untested hypothesis" in ws.read_text("plan.md")
    ctx.failures = 3
    assert stop_reason(ctx, ws.goal()).startswith("stuck")


def test_budget_and_target_stop_the_loop(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    _base_evaluation(ws)
    ctx = Context(ws=ws, watcher=None, say=lambda _: None, goal=ws.goal())
    assert stop_reason(ctx, ws.goal()) is None
    ctx.started -= ws.goal().budget.minutes * 60 + 1
    assert "minutes used" in stop_reason(ctx, ws.goal())


def test_an_invalid_goal_edit_keeps_the_previous_goal_and_asks(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    _base_evaluation(ws)
    ctx = Context(ws=ws, watcher=None, say=lambda _: None, goal=ws.goal())
    _edit(ws.path("intern.yaml"), "value: 0.9", "value: lots")
    out = supervisor_node(ctx)({"step": 0})
    assert out["route"] == "researcher"
    assert ctx.goal.target.value == 0.9
    assert any("intern.yaml is invalid" in q and "target.value" in q for q in ws.plan().questions())
    assert "value: lots" in ws.read_text("intern.yaml")  # the human's text stays, committed as theirs


def test_the_loop_stops_instead_of_spinning_on_a_hypothesis_it_cannot_run(tmp_path: Path) -> None:
    from agents.critic.evaluate import ensure_eval_split
    from agents.supervisor import run_loop
    from bus.schemas import Hypothesis

    ws = Workspace.init(tmp_path / "ws")
    ensure_eval_split(ws, ws.goal())
    _base_evaluation(ws)
    broken = Hypothesis(
        id="h-001",
        title="SFT with a misspelt knob",
        method="sft",
        config_delta={"learning_rat": 0.1},
        papers=["2501.12948"],
        based_on=state.BASE_EVALUATION,
        body="# h-001",
    )
    ws.write_artifact("researcher", "hypotheses/h-001.md", broken, "Hypothesis h-001")
    reason = run_loop(ws, watch=False, say=lambda _: None)
    assert reason.startswith("stuck"), reason
    assert not (ws.root / "runs").exists()
    plan = ws.read_text("plan.md")
    assert "failed: hypotheses/h-001.md asks for an invalid config: learning_rat" in plan
    assert "stuck" in ws.read_text("reports/summary.md")
