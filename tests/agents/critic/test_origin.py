"""The origin check: a fine-tune of the goal's base passes; a model swapped in by hand is refused with the reason."""

from __future__ import annotations

import json
import shutil

from agents.critic.origin import check_origin
from agents.models.refs import materialize_model
from agents.models.tiny import EMBEDDED_TINY
from bus import sha256_tree
from bus.artifacts import dump_artifact


def _swap_in_seed1(ws, tmp_path) -> str:
    """Copy a tiny model built with another seed over run-001's checkpoint and put its hash in result.json by hand."""
    ckpt = ws.path("runs/run-001/checkpoint")
    shutil.rmtree(ckpt)
    shutil.copytree(materialize_model(EMBEDDED_TINY, tmp_path / "other", seed=1), ckpt)
    forged = sha256_tree(ckpt)
    result = json.loads(ws.read_text("runs/run-001/result.json"))
    result["checkpoint_sha256"] = forged
    ws.path("runs/run-001/result.json").write_text(json.dumps(result, indent=2) + "\n")
    return forged


def test_a_fine_tune_of_the_base_passes_every_check(exportable):
    report = check_origin(exportable, "run-001")
    assert report.ok, report.problems
    assert report.path() == "embedded:tiny -> run-001 (sft)"
    assert {"architecture", "tokenizer"} <= set(report.checked)
    assert report.median_cosine > 0.5 and report.median_z > 50
    assert report.line().startswith("Origin check: ok: runs/run-001/checkpoint descends from embedded:tiny")


def test_a_swapped_in_checkpoint_with_its_hash_updated_by_hand_is_refused(exportable, tmp_path):
    ws = exportable
    _swap_in_seed1(ws, tmp_path)
    ws.commit_human_edits(["runs/run-001/result.json"])
    report = check_origin(ws, "run-001")
    assert not report.ok
    text = " ".join(report.problems)
    assert "runs/run-001/result.json was last changed by" in text and "not the trainer" in text
    assert "its weights do not descend from the base" in text
    assert "Origin check: REFUSED" in report.line()


def test_a_forgery_that_also_fakes_the_agents_commits_is_still_caught_by_the_weights(exportable, tmp_path):
    """Records rewritten through the bus as the trainer and the critic: only the weights themselves tell."""
    ws = exportable
    forged = _swap_in_seed1(ws, tmp_path)
    ws.path("runs/run-001/result.json").write_text(ws.repo.git.show("HEAD:runs/run-001/result.json"))
    result = ws.load("runs/run-001/result.json")
    result.checkpoint_sha256 = forged
    ws.write_artifact("trainer", "runs/run-001/result.json", result, "Result of run-001")
    evaluation = ws.load("runs/run-001/evaluation.md")
    evaluation.checkpoint_sha256 = forged
    ws.write_artifact("critic", "runs/run-001/evaluation.md", evaluation, "Evaluate run-001")
    report = check_origin(ws, "run-001")
    assert [p for p in report.problems if "weights do not descend" in p], report.problems
    assert abs(report.median_z) < 6 and abs(report.median_cosine) < 0.1
    assert len(report.problems) == 1


def test_an_unrecorded_change_of_the_checkpoint_and_another_architecture_are_refused(exportable):
    ws = exportable
    from transformers import AutoModelForCausalLM, Qwen2Config

    from agents.models.tiny import build_tiny_tokenizer

    tokenizer = build_tiny_tokenizer()
    wider = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=64,
    )
    ckpt = ws.path("runs/run-001/checkpoint")
    shutil.rmtree(ckpt)
    AutoModelForCausalLM.from_config(wider).save_pretrained(ckpt)
    tokenizer.save_pretrained(ckpt)
    report = check_origin(ws, "run-001")
    text = " ".join(report.problems)
    assert "it is not the checkpoint the run produced" in text
    assert "architecture differs from the base" in text


def test_a_parent_named_out_of_order_and_a_base_that_is_not_the_goals_are_refused(exportable):
    ws = exportable
    config = ws.load("runs/run-001/config.yaml")
    config.parent_run = "run-002"
    config.base_model = "someone/other-model"
    ws.path("runs/run-001/config.yaml").write_text(dump_artifact(config))
    ws.commit_human_edits(["runs/run-001/config.yaml"])
    text = " ".join(check_origin(ws, "run-001").problems)
    assert "config.yaml was changed after the run's result was recorded" in text
    assert "configured from 'someone/other-model', the goal's base is 'embedded:tiny'" in text
    assert "names run-002, not an earlier run, as its parent" in text


def test_the_critics_final_report_carries_the_origin_line(exportable, tmp_path):
    from agents.critic.report import render_summary

    ws = exportable
    assert "Origin check" not in render_summary(ws, ws.goal(), None)  # only the final report pays for the check
    assert "Origin check: ok: runs/run-001/checkpoint descends from embedded:tiny" in render_summary(
        ws, ws.goal(), "target met"
    )
    _swap_in_seed1(ws, tmp_path)
    assert "Origin check: REFUSED: runs/run-001/checkpoint" in render_summary(ws, ws.goal(), "target met")


def test_a_dataset_record_of_the_chain_edited_by_hand_fails_the_check(exportable):
    ws = exportable
    rel = "datasets/addition-d2-teacher50-s0/card.json"
    ws.write_artifact("curator", rel, json.dumps({"rows": 32, "verdict": "accepted"}) + "\n", "Figures")
    assert check_origin(ws, "run-001").ok
    ws.path(rel).write_text('{"rows": 3')  # truncated by hand
    ws.commit_human_edits([rel])
    report = check_origin(ws, "run-001")
    assert not report.ok and any(p.startswith(f"{rel} is the curator's record and ") for p in report.problems)
