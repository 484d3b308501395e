"""The trainer honours the human's Rules in plan.md and their reverts (no training happens here)."""

from __future__ import annotations

from agents.common import state
from agents.trainer.trainer import trainer_step
from bus import Workspace
from bus.schemas import TrainingConfig

CARD = "datasets/addition-d2-teacher50-s0/README.md"


def _add_rules(ws: Workspace, *rules: str) -> None:
    text = ws.read_text("plan.md")
    ws.path("plan.md").write_text(text.replace("## Rules\n", "## Rules\n" + "".join(f"- {r}\n" for r in rules), 1))
    ws.commit_human_edits()


def _pending_run(ws: Workspace, config: TrainingConfig) -> None:
    ws.write_artifact("trainer", "runs/run-001/config.yaml", config, "Configure run-001")


def test_an_interrupted_run_that_breaks_a_new_rule_is_closed_untrained(ws: Workspace, make_card, make_config) -> None:
    ws.write_artifact("curator", CARD, make_card(), "Dataset card")
    _pending_run(ws, make_config())
    _add_rules(ws, "max learning_rate: 1e-4")
    outcome = trainer_step(ws)
    assert not outcome.ok
    assert "rule `max learning_rate: 1e-4`: learning_rate is 0.001" in outcome.summary
    result = state.runs(ws)[0].result
    assert result.status == "failed" and result.steps == 0
    assert "max learning_rate: 1e-4" in result.error
    assert not ws.exists("runs/run-001/train.log")  # no training process was started


def test_an_interrupted_run_on_a_withdrawn_card_is_closed_untrained(ws: Workspace, make_card, make_config) -> None:
    card_sha = ws.write_artifact("curator", CARD, make_card(), "Dataset card")
    _pending_run(ws, make_config())
    revert = ws.revert(card_sha)
    outcome = trainer_step(ws)
    assert not outcome.ok
    assert f"{CARD} was withdrawn by the revert {revert[:8]}" in outcome.summary
    assert state.runs(ws)[0].result.status == "failed"


def test_a_method_the_rules_forbid_is_not_configured(ws: Workspace, make_card, make_hypothesis) -> None:
    ws.write_artifact("curator", CARD, make_card(), "Dataset card")
    ws.write_artifact("researcher", "hypotheses/h-001.md", make_hypothesis(method="grpo"), "Hypothesis h-001")
    _add_rules(ws, "method: sft only")
    outcome = trainer_step(ws)
    assert not outcome.ok
    assert outcome.summary == "no untested hypothesis to run under the rule `method: sft only`"
    assert state.runs(ws) == []


def test_a_withdrawn_or_forbidden_card_is_not_trained_on(ws: Workspace, make_card, make_hypothesis) -> None:
    ws.write_artifact("researcher", "hypotheses/h-001.md", make_hypothesis(), "Hypothesis h-001")
    ws.write_artifact("curator", CARD, make_card(), "Dataset card")
    _add_rules(ws, "never use dataset: addition-d2-teacher50-s0")
    outcome = trainer_step(ws)
    assert not outcome.ok and "no checked dataset" in outcome.summary
    assert state.runs(ws) == []


def test_a_value_moved_to_a_bound_must_still_make_a_trainable_config(ws: Workspace, make_card, make_hypothesis) -> None:
    ws.write_artifact("curator", CARD, make_card(), "Dataset card")
    ws.write_artifact("researcher", "hypotheses/h-001.md", make_hypothesis(method="grpo"), "Hypothesis h-001")
    _add_rules(ws, "max num_generations: 3")  # the GRPO batch of the recipe is not a multiple of 3
    outcome = trainer_step(ws)
    assert not outcome.ok
    assert outcome.summary.startswith("hypotheses/h-001.md asks for an invalid config")
    assert state.runs(ws) == []
