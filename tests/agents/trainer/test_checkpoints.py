"""Keep-or-discard: the trainer removes checkpoints the critic did not keep, records their hashes, refuses them as parents."""

from __future__ import annotations

import pytest

from agents.critic.critic import critic_step
from agents.critic.evaluate import ensure_eval_split
from agents.trainer.checkpoints import discard_unkept, parent_problem, record_path
from agents.trainer.trainer import trainer_step
from bus import sha256_tree
from bus.schemas import Diagnosis, Recommendation, TrainingConfig


def _config(run_id: str, parent: str | None = None) -> TrainingConfig:
    return TrainingConfig(
        run_id=run_id,
        method="sft",
        base_model="embedded:tiny",
        parent_run=parent,
        dataset="addition-d2-teacher50-s0",
        learning_rate=1e-3,
        max_steps=10,
        per_device_train_batch_size=8,
    )


@pytest.fixture
def judged(ws, tmp_path, finish_run, make_evaluation):
    """`judged(run_id, kept, score, recommend_parent=None)`: a finished run with a real checkpoint, evaluated and diagnosed."""

    def make(run_id: str, kept: bool, score: float, recommend_parent: str | None = None) -> str:
        rel = finish_run(ws, tmp_path / "models", _config(run_id))
        evaluation = make_evaluation(score, subject=run_id, n=20, checkpoint=rel)
        evaluation.checkpoint_sha256 = sha256_tree(ws.path(rel))
        ws.write_artifact("critic", f"runs/{run_id}/evaluation.md", evaluation, f"Evaluate {run_id}")
        rec = (
            Recommendation(action="train", method="grpo", parent_run=recommend_parent, reason="go on")
            if recommend_parent
            else Recommendation(action="stop", reason="enough")
        )
        diagnosis = Diagnosis(
            run_id=run_id, score=score, gain_vs_base=score, significant=kept, kept=kept, recommendation=rec
        )
        ws.write_artifact("critic", f"runs/{run_id}/diagnosis.md", diagnosis, f"Diagnose {run_id}")
        return rel

    return make


def test_an_unkept_checkpoint_is_removed_and_its_hash_recorded(ws, judged):
    kept = judged("run-001", kept=True, score=0.6)
    dropped = judged("run-002", kept=False, score=0.55)
    sha = ws.load("runs/run-002/result.json").checkpoint_sha256
    commits, discarded = discard_unkept(ws)
    assert discarded == ["run-002"] and len(commits) == 1
    assert not ws.path(dropped).exists() and ws.path(kept).is_dir()
    record = ws.load(record_path("run-002"))
    assert record.checkpoint_sha256 == sha and record.checkpoint == dropped
    assert record.bytes_freed > 100_000 and record.score == 0.55 and record.best_run == "run-001"
    assert ws.history()[0].agent == "trainer"
    assert discard_unkept(ws) == ([], [])  # once


@pytest.mark.parametrize("how", ["hypothesis", "pending run", "recommendation"])
def test_a_checkpoint_a_later_run_may_start_from_is_kept(ws, judged, make_hypothesis, how):
    judged("run-001", kept=False, score=0.3, recommend_parent="run-001" if how == "recommendation" else None)
    if how == "hypothesis":
        hyp = make_hypothesis(method="grpo", parent_run="run-001")
        ws.write_artifact("researcher", "hypotheses/h-001.md", hyp, "Hypothesis")
    elif how == "pending run":
        ws.write_artifact("trainer", "runs/run-002/config.yaml", _config("run-002", "run-001"), "Configure run-002")
    assert discard_unkept(ws) == ([], [])
    assert ws.path("runs/run-001/checkpoint/config.json").exists()


def test_a_discarded_parent_is_refused_with_the_reason_and_a_kept_one_is_not(ws, judged, make_card, make_hypothesis):
    judged("run-001", kept=True, score=0.6)
    judged("run-002", kept=False, score=0.5)
    discard_unkept(ws)
    assert parent_problem(ws, "run-001") is None
    problem = parent_problem(ws, "run-002")
    assert "run-002's checkpoint was discarded" in problem and "start from a kept run (run-001)" in problem

    ws.write_artifact("curator", "datasets/addition-d2-teacher50-s0/README.md", make_card(), "Dataset card")
    ws.write_artifact("researcher", "hypotheses/h-001.md", make_hypothesis(parent_run="run-002"), "Hypothesis")
    head = ws.repo.head.commit.hexsha
    outcome = trainer_step(ws)
    assert not outcome.ok and "hypotheses/h-001.md cannot run: parent run run-002's checkpoint was discarded" in (
        outcome.summary
    )
    assert ws.repo.head.commit.hexsha == head and not ws.exists("runs/run-003/config.yaml")


def test_the_trainer_step_discards_first_and_says_so(ws, judged):
    judged("run-001", kept=False, score=0.1)
    outcome = trainer_step(ws)
    assert outcome.summary.startswith("no untested hypothesis to run; discarded the checkpoints of run-001")
    assert len(outcome.commits) == 1 and ws.exists(record_path("run-001"))


def test_the_critic_does_not_call_a_discarded_checkpoint_tampered(ws, set_goal, judged, write_base_evaluation):
    set_goal(ws, task={"eval_size": 20})
    ensure_eval_split(ws, ws.goal())
    write_base_evaluation(ws, 0.0, n=20)
    judged("run-001", kept=False, score=0.1)
    discard_unkept(ws)
    outcome = critic_step(ws)
    assert outcome.ok and not outcome.critical, outcome.summary
    # Even when its evaluation is withdrawn (a human reverted it), the run is not re-scored nor called tampered.
    ws.path("runs/run-001/evaluation.md").unlink()
    ws.commit_human_edits()
    outcome = critic_step(ws)
    assert not outcome.critical and outcome.ok, outcome.summary
    assert "run-001 not evaluated again: its checkpoint was discarded" in outcome.summary
