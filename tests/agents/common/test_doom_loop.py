"""The doom-loop guard: the same config again, the same diagnosis again and again (real files, no training)."""

from __future__ import annotations

from agents.common import doom_loop
from agents.supervisor import Context, supervisor_node
from agents.trainer.trainer import build_config, trainer_step
from bus import Workspace
from bus.schemas import Diagnosis, Evaluation, Finding, Recommendation, RunResult, TrainingConfig

CARD = "datasets/addition-d2-teacher50-s0/README.md"


def _run(ws: Workspace, run_id: str, lr: float = 1e-3, kept: bool = False, finding: str = "loss plateau") -> None:
    config = TrainingConfig(
        run_id=run_id,
        method="sft",
        base_model="embedded:tiny",
        dataset="addition-d2-teacher50-s0",
        hypothesis=f"hypotheses/{run_id}.md",
        learning_rate=lr,
        max_steps=10,
        per_device_train_batch_size=8,
    )
    ws.write_artifact("trainer", f"runs/{run_id}/config.yaml", config, f"Configure {run_id}")
    result = RunResult(
        run_id=run_id, method="sft", status="succeeded", started="t0", finished="t1", wall_seconds=1.0, steps=10
    )
    ws.write_artifact("trainer", f"runs/{run_id}/result.json", result, f"Result of {run_id}")
    evaluation = Evaluation(
        subject=run_id,
        checkpoint=f"runs/{run_id}/checkpoint",
        task="addition",
        split="eval/addition/test.jsonl",
        split_sha256="0" * 64,
        n=100,
        score=0.1,
        ci_low=0.05,
        ci_high=0.15,
        seconds=0.1,
        body="# evaluation",
    )
    ws.write_artifact("critic", f"runs/{run_id}/evaluation.md", evaluation, f"Evaluate {run_id}")
    diagnosis = Diagnosis(
        run_id=run_id,
        score=0.1,
        gain_vs_base=0.0,
        significant=False,
        kept=kept,
        findings=[Finding(name=finding, severity="warning", evidence="flat")],
        recommendation=Recommendation(action="train", method="sft", config_delta={"learning_rate": 3e-3}, reason="r"),
    )
    ws.write_artifact("critic", f"runs/{run_id}/diagnosis.md", diagnosis, f"Diagnose {run_id}")


def test_a_config_is_compared_without_its_id_and_hypothesis(ws: Workspace) -> None:
    _run(ws, "run-001")
    assert doom_loop.repetition(ws) is None
    _run(ws, "run-002", lr=2e-3)
    assert doom_loop.repetition(ws) is None
    _run(ws, "run-003", lr=2e-3)
    assert doom_loop.repetition(ws) == "run-003 trained the same config as run-002"


def test_the_same_diagnosis_three_runs_in_a_row_is_a_repetition(ws: Workspace) -> None:
    for number, lr in enumerate((1e-3, 2e-3, 3e-3), start=1):
        _run(ws, f"run-{number:03d}", lr=lr)
    assert doom_loop.repetition(ws) == "run-001, run-002, run-003 got the same diagnosis (loss plateau; r)"


def test_a_kept_run_or_a_new_finding_is_not_a_repetition(ws: Workspace) -> None:
    _run(ws, "run-001", lr=1e-3)
    _run(ws, "run-002", lr=2e-3, kept=True)
    _run(ws, "run-003", lr=3e-3)
    assert doom_loop.repetition(ws) is None
    _run(ws, "run-004", lr=4e-3, finding="reward hacking")
    assert doom_loop.repetition(ws) is None


def test_the_supervisor_changes_strategy_then_stops_with_the_reason(ws: Workspace, write_base_evaluation) -> None:
    write_base_evaluation(ws, 0.0)
    _run(ws, "run-001")
    _run(ws, "run-002")  # the same config again
    ctx = Context(ws=ws, watcher=None, say=lambda _: None, goal=ws.goal())
    out = supervisor_node(ctx)({"step": 0})
    assert out["instruction"].startswith(
        "researcher: propose a hypothesis unlike the last ones (run-002 trained the same config as run-001; "
    )
    assert out["instruction"].endswith("minutes left)")  # the search fits the next run into them
    assert any(q.startswith("The loop repeats itself: run-002 trained the same config") for q in ws.plan().questions())
    # The human ticks the planned items away; a third run repeats the first again.
    ws.path("plan.md").write_text(ws.read_text("plan.md").replace("- [ ] ", "- [x] "))
    _run(ws, "run-003")
    out = supervisor_node(ctx)({"step": 1})
    assert out["stop"].startswith("doom loop: run-003 trained the same config as run-001, again after a change")
    assert out["route"] == "critic"  # the critic writes the reason into reports/summary.md


def test_the_trainer_refuses_a_config_an_earlier_run_trained(ws: Workspace, make_card, make_hypothesis) -> None:
    card = make_card()
    ws.write_artifact("curator", CARD, card, "Dataset card")
    first = make_hypothesis()
    ws.write_artifact("researcher", "hypotheses/h-001.md", first, "Hypothesis h-001")
    ws.write_artifact(
        "trainer", "runs/run-001/config.yaml", build_config(ws, "run-001", "hypotheses/h-001.md", first, card), "Cfg"
    )
    result = RunResult(
        run_id="run-001", method="sft", status="succeeded", started="t0", finished="t1", wall_seconds=1.0, steps=10
    )
    ws.write_artifact("trainer", "runs/run-001/result.json", result, "Result of run-001")
    ws.write_artifact("researcher", "hypotheses/h-002.md", make_hypothesis(id="h-002"), "Hypothesis h-002")
    outcome = trainer_step(ws)
    assert not outcome.ok
    assert outcome.summary == (
        "refused the config for hypotheses/h-002.md: it repeats run-001's config: nothing new would be learned"
    )
    assert not ws.exists("runs/run-002/config.yaml")
