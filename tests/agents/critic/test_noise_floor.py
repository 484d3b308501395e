"""The noise floor on a real (untrained) tiny checkpoint: seeds move the score, and the report carries it."""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest

from agents.critic.evaluate import ensure_eval_split
from agents.critic.noise_floor import (
    NOISE_FLOOR_REPORT,
    ensure_noise_floor,
    measure_noise_floor,
    read_noise_floor,
)
from agents.critic.stats import sample_std
from agents.models.refs import materialize_model
from agents.models.tiny import EMBEDDED_TINY
from agents.tasks import addition, get_task
from bus import sha256_tree
from bus.artifacts import split_front_matter


def _lenient_task():
    """Addition rows, but any answer that starts with a digit counts: at temperature 1.0 the untrained
    model gets roughly half right, so each seed's score lands somewhere else."""
    return replace(
        get_task("addition"), grade=lambda completion, answer: addition.extract_answer(completion) is not None
    )


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return materialize_model(EMBEDDED_TINY, tmp_path_factory.mktemp("models"))


def _rows(n: int) -> list[dict]:
    return [{"prompt": p.prompt, "answer": p.answer} for p in addition.sample_problems(n, 2, seed=2)]


def test_seeds_spread_the_score_and_the_floor_is_twice_their_std(checkpoint):
    floor = measure_noise_floor(checkpoint, _rows(60), _lenient_task(), 4)
    assert floor.seeds == [0, 1, 2, 3, 4] and len(floor.scores) == 5
    assert len(set(floor.scores)) > 1, floor.scores
    assert floor.noise_floor > 0
    assert floor.noise_floor == pytest.approx(2 * sample_std(floor.scores))
    again = measure_noise_floor(checkpoint, _rows(60), _lenient_task(), 4)
    assert again.scores == floor.scores  # seeded: the same seeds give the same scores


def test_the_real_grader_on_the_untrained_model_gives_no_spread(checkpoint):
    """Nothing right under any seed: a floor of zero, which is why the critic waits for a checkpoint above 0.05."""
    floor = measure_noise_floor(checkpoint, _rows(30), get_task("addition"), 4, seeds=(0, 1, 2))
    assert floor.scores == [0.0, 0.0, 0.0] and floor.noise_floor == 0.0


def test_a_noise_floor_needs_two_seeds(checkpoint):
    with pytest.raises(ValueError, match="two seeds"):
        measure_noise_floor(checkpoint, _rows(10), get_task("addition"), 4, seeds=(0,))


def test_measured_once_per_workspace_above_the_threshold(ws, set_goal, checkpoint):
    set_goal(ws, task={"eval_size": 40})
    split_rel, _, _ = ensure_eval_split(ws, ws.goal())
    shutil.copytree(checkpoint, ws.path("runs/run-001/checkpoint"))
    sha = sha256_tree(ws.path("runs/run-001/checkpoint"))
    task = _lenient_task()
    assert read_noise_floor(ws) == 0.0  # not measured yet

    args = (ws, task, 4, split_rel, "run-001", "runs/run-001/checkpoint", sha)
    assert ensure_noise_floor(*args, 0.05) is None  # too weak a checkpoint to say anything
    assert not ws.exists(NOISE_FLOOR_REPORT)

    commit = ensure_noise_floor(*args, 0.4)
    assert commit == ws.repo.head.commit.hexsha and ws.history()[0].author == "critic"
    front, body = split_front_matter(ws.read_text(NOISE_FLOOR_REPORT))
    assert front["seeds"] == [0, 1, 2, 3, 4] and len(front["scores"]) == 5
    assert front["checkpoint"] == "runs/run-001/checkpoint" and front["checkpoint_sha256"] == sha
    assert front["noise_floor"] == pytest.approx(2 * sample_std(front["scores"]), abs=1e-5)
    assert front["noise_floor"] > 0
    # It measures sampled spread, so it is reported as such and never applied to greedy differences.
    assert front["applies_to"] == "sampled" and "sampling seeds" in front["measures"]
    assert read_noise_floor(ws, "sampled") == pytest.approx(front["noise_floor"])
    assert read_noise_floor(ws) == 0.0
    assert "twice" in body and "not applied to greedy differences" in body

    assert ensure_noise_floor(*args, 0.9) is None  # once per workspace


def test_an_unreadable_report_reads_as_no_floor(ws):
    ws.write_artifact("critic", NOISE_FLOOR_REPORT, "no front matter here\n", "A broken report")
    assert read_noise_floor(ws) == 0.0
