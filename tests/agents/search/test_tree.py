"""The tree is read from the workspace files: a revert changes it; `intern tree` prints it; the critic draws it."""

from __future__ import annotations

from agents.cli import main
from agents.critic.critic import write_tree
from agents.search.render import TREE_PNG, render_tree
from agents.search.tree import build_tree
from bus.schemas import Diagnosis, Recommendation, RunResult, utc_now


def _run(ws, make_config, make_evaluation, make_hypothesis, run_id, parent, score, kept, status="succeeded"):
    hyp = make_hypothesis(
        id=f"H{run_id[-3:]}",
        method="grpo" if parent else "sft",
        parent_run=parent,
        config_delta={"learning_rate": 3e-3} if parent else {},
        body="# H\n\n## Search\n\n**Move:** learning rate x3 (standard move)",
    )
    hyp_path = f"hypotheses/H{run_id[-3:]}-x.md"
    ws.write_artifact("researcher", hyp_path, hyp, f"Hypothesis for {run_id}")
    config = make_config(run_id=run_id, parent_run=parent, hypothesis=hyp_path, method=hyp.method)
    ws.write_artifact("trainer", f"runs/{run_id}/config.yaml", config, f"Configure {run_id}")
    result = RunResult(
        run_id=run_id,
        method=config.method,
        status=status,
        started=utc_now(),
        finished=utc_now(),
        wall_seconds=90,
        steps=10,
        error=None if status == "succeeded" else "out of memory: CUDA out of memory",
    )
    ws.write_artifact("trainer", f"runs/{run_id}/result.json", result, f"Result of {run_id}")
    if status != "succeeded":
        return None
    ws.write_artifact("critic", f"runs/{run_id}/evaluation.md", make_evaluation(score, subject=run_id), "Evaluate")
    diagnosis = Diagnosis(
        run_id=run_id,
        score=score,
        gain_vs_base=score,
        significant=kept,
        kept=kept,
        best_before="base" if not parent else parent,
        gain_vs_best=0.05,
        gain_vs_best_interval=(0.01, 0.09) if kept else (-0.02, 0.04),
        recommendation=Recommendation(action="stop", reason="x"),
    )
    return ws.write_artifact("critic", f"runs/{run_id}/diagnosis.md", diagnosis, f"Diagnose {run_id}")


def test_the_tree_follows_the_files_and_a_revert(
    ws, write_base_evaluation, make_config, make_evaluation, make_hypothesis, capsys
):
    write_base_evaluation(ws, 0.0)
    _run(ws, make_config, make_evaluation, make_hypothesis, "run-001", None, 0.6, True)
    second = _run(ws, make_config, make_evaluation, make_hypothesis, "run-002", "run-001", 0.62, False)
    _run(ws, make_config, make_evaluation, make_hypothesis, "run-003", "run-001", 0, False, status="failed")
    tree = build_tree(ws)
    one, two, three = tree.runs
    assert (one.parent, one.verdict, two.parent, two.verdict) == ("base", "kept", "run-001", "discarded")
    assert two.delta == {"learning_rate": 3e-3} and two.move == "learning rate x3" and two.minutes == 1.5
    assert (three.verdict, three.cause) == ("failed", "out of memory")
    assert tree.best().id == "run-001"
    text = render_tree(tree)
    assert "run-002" in text and "discarded (+0.050 vs run-001, 95% -0.020..+0.040)" in text
    assert "failed (out of memory)" in text

    ws.revert(second)  # a human takes the diagnosis back: the critic must judge run-002 again
    assert build_tree(ws).node("run-002").verdict == "judging"

    assert write_tree(ws) is not None and ws.exists(TREE_PNG)
    assert write_tree(ws) is None  # unchanged picture: no new commit
    assert main(["tree", str(ws.root)]) == 0
    out = capsys.readouterr().out
    assert "run-001" in out and "judging" in out and "tree.png" in out
