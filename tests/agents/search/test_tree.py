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


# SmolLM2-135M's config.json (the keys the settings table reads), as the converted model writes it.
SMOLLM2_CONFIG = {
    "hidden_size": 576,
    "intermediate_size": 1536,
    "num_hidden_layers": 30,
    "num_attention_heads": 9,
    "num_key_value_heads": 3,
    "vocab_size": 49152,
    "max_position_embeddings": 8192,
    "tie_word_embeddings": True,
}


def test_a_real_model_is_priced_from_its_own_row_and_measured_step_time(
    ws, set_goal, make_config, make_evaluation, make_hypothesis
):
    """Issue 20's case: after a 40-step SFT run of SmolLM2 at 10.9 s a step, the next SFT run is priced with the
    small-cpu row's 40 steps (~8 min), not the embedded tiny model's 800 (~146 min), and fits 10.4 minutes."""
    import json

    from agents.search.backlog import candidate
    from agents.search.policy import Budget, fit_budget, score

    set_goal(ws, model="smollm2-135m-instruct")
    _run(ws, make_config, make_evaluation, make_hypothesis, "run-001", None, 0.483, True)
    result = ws.load("runs/run-001/result.json").model_copy(update={"wall_seconds": 436.0, "steps": 40})
    ws.write_artifact("trainer", "runs/run-001/result.json", result, "Result of run-001: 40 steps")
    checkpoint = ws.path("runs/run-001/checkpoint")
    checkpoint.mkdir(parents=True)
    (checkpoint / "config.json").write_text(json.dumps(SMOLLM2_CONFIG))

    tree = build_tree(ws)
    assert tree.recipe == "small-cpu" and tree.default_steps == {"sft": 40, "grpo": 20}
    scored = score(candidate("sft", "run-001", "continue sft", prior=0.2), tree)
    assert 40 * 10.9 / 60 < scored.minutes < 40 * 10.9 / 60 + 2  # the row's steps x the measured 10.9 s
    fit, note = fit_budget(scored, tree, Budget(3, minutes_left=10.4))
    assert fit is scored and note == ""
    short, note = fit_budget(scored, tree, Budget(3, minutes_left=5.0))
    assert short is not None and 10 <= short.cand.steps < 40
    assert f"shortened from 40 to {short.cand.steps} steps" in note and "10.90 s per step" in note


def test_the_embedded_model_keeps_its_own_recipe_steps(ws):
    tree = build_tree(ws)
    assert tree.recipe == "embedded-tiny" and tree.default_steps["sft"] == 800
