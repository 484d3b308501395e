"""The held-out split, its integrity checks (split, grader, checkpoint), and real evaluations of the tiny model."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import pytest

from agents.critic.evaluate import (
    EVAL_SEED_OFFSET,
    EvaluationError,
    IntegrityError,
    ensure_eval_split,
    evaluate,
    grader_sha256,
    verify_checkpoint,
    verify_split,
)
from agents.models.refs import materialize_model
from agents.models.tiny import EMBEDDED_TINY
from agents.tasks import get_task
from bus import sha256_file, sha256_tree
from bus.artifacts import split_front_matter
from bus.schemas import Evaluation


def test_ensure_eval_split_creates_split_and_card_once(ws):
    goal = ws.goal()
    rel, digest, commits = ensure_eval_split(ws, goal)
    assert rel == "eval/addition/test.jsonl"
    assert len(commits) == 2
    rows = [json.loads(line) for line in ws.read_text(rel).splitlines()]
    assert len(rows) == goal.task.eval_size
    assert len({r["prompt"] for r in rows}) == len(rows)
    assert set(rows[0]) == {"prompt", "answer", "slice"}
    assert {r["slice"] for r in rows} == {"carry", "no_carry"}

    front, body = split_front_matter(ws.read_text("eval/addition/README.md"))
    assert front["sha256"] == digest == sha256_file(ws.path(rel))
    assert front["grader_sha256"] == grader_sha256(get_task(goal.task))
    assert front["rows"] == goal.task.eval_size
    assert front["seed"] == goal.seed + EVAL_SEED_OFFSET
    assert "addition.py" in body
    critic = ws.history(agent="critic")
    assert [c.artifact for c in critic] == ["eval/addition/README.md", rel]
    assert all(c.author == "critic" for c in critic)

    head = ws.repo.head.commit.hexsha
    again = ensure_eval_split(ws, goal)
    assert again == (rel, digest, [])
    assert ws.repo.head.commit.hexsha == head


def test_eval_split_is_deterministic_across_workspaces(tmp_path):
    from bus import Workspace

    a, b = Workspace.init(tmp_path / "a"), Workspace.init(tmp_path / "b")
    assert ensure_eval_split(a, a.goal())[1] == ensure_eval_split(b, b.goal())[1]


def test_tampered_split_is_caught(ws):
    goal = ws.goal()
    rel, _, _ = ensure_eval_split(ws, goal)
    lines = ws.read_text(rel).splitlines()
    row = json.loads(lines[0])
    row["answer"] = "999"
    ws.path(rel).write_text("\n".join([json.dumps(row), *lines[1:]]) + "\n")
    with pytest.raises(IntegrityError, match="changed since it was created"):
        verify_split(ws, goal)
    with pytest.raises(IntegrityError):
        ensure_eval_split(ws, goal)


def test_a_changed_grader_file_is_caught(ws, tmp_path):
    """A task whose grader source changes after the split was made: its hash no longer matches."""
    goal = ws.goal()
    grader = tmp_path / "grader.py"
    grader.write_text("def grade(completion, answer):\n    return completion.strip() == answer\n")
    task = replace(get_task(goal.task), grader_files=(str(grader),))
    ensure_eval_split(ws, goal)
    # Record the hash of this grader as if the split had been made with it.
    card = ws.read_text("eval/addition/README.md")
    front, _ = split_front_matter(card)
    ws.path("eval/addition/README.md").write_text(
        card.replace(f"grader_sha256: {front['grader_sha256']}", f"grader_sha256: {grader_sha256(task)}")
    )
    verify_split(ws, goal, task)  # unchanged: passes
    grader.write_text("def grade(completion, answer):\n    return True  # every answer is right now\n")
    with pytest.raises(IntegrityError, match="grader of task addition changed"):
        verify_split(ws, goal, task)


def test_a_split_made_before_grader_hashing_gets_the_hash_recorded_once(ws):
    goal = ws.goal()
    ensure_eval_split(ws, goal)
    card = ws.read_text("eval/addition/README.md")
    front, _ = split_front_matter(card)
    old_card = card.replace(f"grader_sha256: {front['grader_sha256']}\n", "")
    ws.write_artifact("critic", "eval/addition/README.md", old_card, "A card from before grader hashing")
    _, _, commits = ensure_eval_split(ws, goal)
    assert len(commits) == 1 and ws.history()[0].author == "critic"
    assert split_front_matter(ws.read_text("eval/addition/README.md"))[0]["grader_sha256"] == front["grader_sha256"]


def test_a_removed_grader_hash_on_a_used_split_is_an_integrity_failure(ws, write_base_evaluation):
    goal = ws.goal()
    ensure_eval_split(ws, goal)
    write_base_evaluation(ws, 0.0)  # the split has been used
    card = ws.read_text("eval/addition/README.md")
    front, _ = split_front_matter(card)
    old_card = card.replace(f"grader_sha256: {front['grader_sha256']}\n", "")
    ws.write_artifact("critic", "eval/addition/README.md", old_card, "Drop the grader hash")
    ws.path("reports/base-evaluation.md").unlink()  # deleting the evidence does not make the split new again
    with pytest.raises(IntegrityError, match="records no grader_sha256 but the split was already used"):
        ensure_eval_split(ws, goal)
    assert "grader_sha256" not in split_front_matter(ws.read_text("eval/addition/README.md"))[0]


def test_a_split_rewritten_by_someone_else_is_an_integrity_failure_even_with_matching_hashes(ws):
    goal = ws.goal()
    ensure_eval_split(ws, goal)
    verify_split(ws, goal)  # the critic's own files pass
    # A human swaps in easier answers AND updates the card's sha256, so every hash matches again.
    data_rel, card_rel = "eval/addition/test.jsonl", "eval/addition/README.md"
    lines = ws.read_text(data_rel).splitlines()
    row = json.loads(lines[0])
    ws.path(data_rel).write_text("\n".join([json.dumps({**row, "answer": "000"}), *lines[1:]]) + "\n")
    old = split_front_matter(ws.read_text(card_rel))[0]["sha256"]
    ws.path(card_rel).write_text(ws.read_text(card_rel).replace(old, sha256_file(ws.path(data_rel))))
    sha = ws.commit_human_edits([data_rel, card_rel])
    with pytest.raises(IntegrityError, match=f"{data_rel} was last changed by .* in commit {sha[:12]}"):
        ensure_eval_split(ws, goal)
    with pytest.raises(IntegrityError, match="not by the critic"):
        verify_split(ws, goal)


@pytest.fixture
def small_goal_ws(ws, set_goal):
    set_goal(ws, task={"eval_size": 24})
    return ws


def test_evaluate_base_tiny_model(small_goal_ws):
    ws = small_goal_ws
    goal = ws.goal()
    evaluation, sha = evaluate(ws, goal, "base", None, samples=4)

    assert sha == ws.repo.head.commit.hexsha
    assert ws.history()[0].author == "critic"
    assert ws.history()[0].artifact == "reports/base-evaluation.md"
    stored = ws.load("reports/base-evaluation.md")
    assert isinstance(stored, Evaluation)
    assert stored == evaluation

    assert evaluation.subject == "base"
    assert evaluation.n == 24
    assert evaluation.score <= 0.1  # an untrained model does not add
    assert evaluation.ci_low <= evaluation.score <= evaluation.ci_high
    assert set(evaluation.slices) == set(evaluation.slice_ci) == {"carry", "no_carry"}
    assert sum(s.n for s in evaluation.slices.values()) == 24
    assert evaluation.split == "eval/addition/test.jsonl"
    assert evaluation.split_sha256 == sha256_file(ws.path(evaluation.split))
    assert evaluation.grader_sha256 == grader_sha256(get_task(goal.task))
    assert evaluation.checkpoint_sha256 is None
    assert evaluation.samples_per_problem == 4 and evaluation.temperature == 1.0
    assert set(evaluation.pass_at_k) == set(evaluation.pass_at_k_ci) == {"1", "2", "4"}
    # 24 greedy completions of at most 4 tokens, plus 96 sampled ones.
    assert 0 < evaluation.tokens_generated <= 24 * 4 + 96 * 4
    assert evaluation.problems_per_second > 0
    assert sum(evaluation.wrong_reasons.values()) == round(24 * (1 - evaluation.score))
    assert "Examples of misses" in evaluation.body and "pass@4" in evaluation.body


def test_evaluate_a_run_checkpoint_checks_and_records_its_hash(small_goal_ws, tmp_path):
    ws = small_goal_ws
    goal = ws.goal()
    source = materialize_model(EMBEDDED_TINY, tmp_path / "models", seed=5)
    shutil.copytree(source, ws.path("runs/run-001/checkpoint"))  # what a finished run leaves (gitignored)
    expected = sha256_tree(ws.path("runs/run-001/checkpoint"))
    evaluation, _ = evaluate(ws, goal, "run-001", "runs/run-001/checkpoint", expected_sha256=expected, samples=0)
    assert ws.exists("runs/run-001/evaluation.md")
    assert ws.history()[0].run == "run-001"
    assert evaluation.subject == "run-001"
    assert evaluation.checkpoint == "runs/run-001/checkpoint"
    assert evaluation.checkpoint_sha256 == expected
    assert evaluation.n == 24
    assert evaluation.samples_per_problem == 0 and evaluation.pass_at_k == {}


def test_a_swapped_checkpoint_is_caught_before_generation(small_goal_ws, tmp_path):
    ws = small_goal_ws
    ckpt = ws.path("runs/run-001/checkpoint")
    shutil.copytree(materialize_model(EMBEDDED_TINY, tmp_path / "models", seed=5), ckpt)
    expected = sha256_tree(ckpt)
    ensure_eval_split(ws, ws.goal())
    other = materialize_model(EMBEDDED_TINY, tmp_path / "models", seed=6)
    shutil.copy(f"{other}/model.safetensors", ckpt / "model.safetensors")  # another model's weights, same name
    head = ws.repo.head.commit.hexsha
    with pytest.raises(IntegrityError, match="not the one the run produced"):
        evaluate(ws, ws.goal(), "run-001", "runs/run-001/checkpoint", expected_sha256=expected)
    with pytest.raises(IntegrityError, match="not the one the run produced"):
        verify_checkpoint(ws, "runs/run-001/checkpoint", None)  # a run that recorded no hash proves nothing
    assert not ws.exists("runs/run-001/evaluation.md")
    assert ws.repo.head.commit.hexsha == head


def test_a_missing_checkpoint_is_an_evaluation_error_not_an_integrity_one(small_goal_ws):
    with pytest.raises(EvaluationError, match="missing"):
        verify_checkpoint(small_goal_ws, "runs/run-009/checkpoint", "0" * 64)


def test_evaluate_refuses_a_tampered_split(small_goal_ws):
    ws = small_goal_ws
    goal = ws.goal()
    rel, _, _ = ensure_eval_split(ws, goal)
    extra = json.dumps({"prompt": "01+01=", "answer": "002", "slice": "no_carry"})
    ws.path(rel).write_text(ws.read_text(rel) + extra + "\n")  # one easy problem slipped in
    head = ws.repo.head.commit.hexsha
    with pytest.raises(IntegrityError):
        evaluate(ws, goal, "base", None)
    assert not ws.exists("reports/base-evaluation.md")
    assert ws.repo.head.commit.hexsha == head


def test_a_relative_task_dataset_is_read_from_the_workspace_wherever_go_runs(ws, set_goal, tmp_path, monkeypatch):
    rows = [{"question": f"What is {i} + 1?", "answer": f"{i} + 1 = {i + 1}\n#### {i + 1}"} for i in range(30)]
    (ws.root / "data").mkdir()
    (ws.root / "data" / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    goal = set_goal(ws, task={"name": "gsm8k", "dataset": "data/test.jsonl", "eval_size": 12})
    monkeypatch.chdir(tmp_path)  # not the workspace: the path must not depend on the working directory
    data_rel, _, _ = ensure_eval_split(ws, goal)
    split = [json.loads(line) for line in ws.read_text(data_rel).splitlines()]
    assert len(split) == 12 and all(r["prompt"].startswith("Question: What is ") for r in split)
    assert ws.goal().task.dataset == "data/test.jsonl"  # the human's text is left as written


def test_a_pretrained_model_on_a_cpu_draws_two_samples_the_tiny_one_eight(tmp_path):
    from agents.critic.evaluate import LOOP_SAMPLES, loop_samples

    tiny = materialize_model(EMBEDDED_TINY, tmp_path)
    assert loop_samples(tiny) == LOOP_SAMPLES == 8
    assert loop_samples("org/some-hub-id") == LOOP_SAMPLES  # unknown size: the default


def test_a_pretrained_model_on_a_cpu_draws_two_samples(smollm2_dir):
    from agents.critic.evaluate import CPU_REAL_MODEL_SAMPLES, loop_samples

    assert loop_samples(smollm2_dir) == CPU_REAL_MODEL_SAMPLES == 2


def test_the_base_evaluation_carries_the_language_check_kept_at_start(small_goal_ws):
    """The pre-flight keeps the goal model's language figure (agents/models/language_check.py); the base report shows it."""
    import json as _json

    from agents.models.language_check import REPORT_FILE

    ws = small_goal_ws
    goal = ws.goal()
    kept = {"model": goal.model, "bits_per_byte": 0.91, "perplexity": 15.7, "bound": 1.35, "passed": True}
    kept["continuations"] = {"The capital of France is": " Paris."}
    (ws.state_dir / REPORT_FILE).write_text(_json.dumps(kept))
    evaluation, _ = evaluate(ws, goal, "base", None, samples=0)
    assert evaluation.language_check["bits_per_byte"] == 0.91 and evaluation.language_check["passed"] is True
    assert "Language check before training: 0.91 bits per byte (perplexity 15.7)" in evaluation.body
    assert "- `The capital of France is` -> `' Paris.'`" in evaluation.body
    assert ws.load("reports/base-evaluation.md").language_check == evaluation.language_check
