"""The held-out split, its integrity check, the Wilson interval, and a real evaluation of the tiny model."""

from __future__ import annotations

import json
import shutil

import pytest

from agents.critic.evaluate import (
    EVAL_SEED_OFFSET,
    IntegrityError,
    ensure_eval_split,
    evaluate,
    verify_split,
    wilson_interval,
)
from agents.modeling import EMBEDDED_TINY, materialize_model
from bus import sha256_file, sha256_tree
from bus.artifacts import split_front_matter
from bus.schemas import Evaluation


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        (0, 500, 0.0, 0.00762),
        (250, 500, 0.4563, 0.5437),
        (500, 500, 0.99238, 1.0),
        (1, 10, 0.01787, 0.40415),
        (0, 0, 0.0, 1.0),
    ],
)
def test_wilson_interval_known_values(successes, n, low, high):
    lo, hi = wilson_interval(successes, n)
    assert lo == pytest.approx(low, abs=1e-4)
    assert hi == pytest.approx(high, abs=1e-4)


def test_wilson_interval_contains_the_estimate_and_narrows_with_n():
    for k, n in [(3, 20), (30, 200), (300, 2000)]:
        lo, hi = wilson_interval(k, n)
        assert 0.0 <= lo < k / n < hi <= 1.0
    widths = [hi - lo for lo, hi in (wilson_interval(30, 200), wilson_interval(300, 2000))]
    assert widths[1] < widths[0]


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
    assert front["rows"] == goal.task.eval_size
    assert front["seed"] == goal.seed + EVAL_SEED_OFFSET
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


def test_split_for_an_unknown_task_is_refused(ws, set_goal):
    goal = set_goal(ws, task={"name": "sorting"})
    with pytest.raises(ValueError, match="sorting"):
        ensure_eval_split(ws, goal)
    assert not ws.exists("eval/sorting/test.jsonl")


@pytest.fixture
def small_goal_ws(ws, set_goal):
    set_goal(ws, task={"eval_size": 24})
    return ws


def test_evaluate_base_tiny_model(small_goal_ws):
    ws = small_goal_ws
    goal = ws.goal()
    evaluation, sha = evaluate(ws, goal, "base", None)

    assert sha == ws.repo.head.commit.hexsha
    assert ws.history()[0].author == "critic"
    assert ws.history()[0].artifact == "reports/base-evaluation.md"
    stored = ws.load("reports/base-evaluation.md")
    assert isinstance(stored, Evaluation)
    assert stored.score == evaluation.score

    assert evaluation.subject == "base"
    assert evaluation.n == 24
    assert evaluation.score <= 0.1  # an untrained model does not add
    assert evaluation.ci_low <= evaluation.score <= evaluation.ci_high
    assert set(evaluation.slices) == {"carry", "no_carry"}
    assert sum(s.n for s in evaluation.slices.values()) == 24
    assert evaluation.split == "eval/addition/test.jsonl"
    assert evaluation.split_sha256 == sha256_file(ws.path(evaluation.split))
    assert evaluation.checkpoint_sha256 is None
    assert "Examples of misses" in evaluation.body


def test_evaluate_a_run_checkpoint_records_its_hash(small_goal_ws, tmp_path):
    ws = small_goal_ws
    goal = ws.goal()
    source = materialize_model(EMBEDDED_TINY, tmp_path / "models", seed=5)
    shutil.copytree(source, ws.path("runs/run-001/checkpoint"))  # what a finished run leaves (gitignored)
    evaluation, _ = evaluate(ws, goal, "run-001", "runs/run-001/checkpoint")
    assert ws.exists("runs/run-001/evaluation.md")
    assert ws.history()[0].run == "run-001"
    assert evaluation.subject == "run-001"
    assert evaluation.checkpoint == "runs/run-001/checkpoint"
    assert evaluation.checkpoint_sha256 == sha256_tree(ws.path("runs/run-001/checkpoint"))
    assert evaluation.n == 24


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
