"""Rejection sampling: SFT data for a task with no generator, every kept row accepted by the task's grader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.common import state
from agents.critic.evaluate import ensure_eval_split
from agents.curator import rejection
from agents.curator.curator import curator_step
from agents.models.loading import load_model
from agents.models.refs import materialize_model
from agents.models.tiny import EMBEDDED_TINY
from agents.tasks import get_task
from bus.schemas import TaskSpec

EVAL = Path(__file__).parents[2] / "fixtures/tasks/gsm8k/test.jsonl"
# Short problems in GSM8K's published layout (calculator annotations, `#### answer`) with one-digit
# answers: the embedded tiny model writes digits only, so it guesses some of them right.
NAMES = ("Tom", "Ana", "Li", "Sam", "Mia", "Raj", "Eve", "Bo")
SPEC = TaskSpec(name="gsm8k", max_new_tokens=3)


def _problems(n: int = 40) -> list[dict]:
    rows = []
    for i in range(n):
        a, b, who = 1 + i % 4, 1 + (i // 4) % 5, NAMES[i % 8]
        rows.append(
            {
                "question": f"{who} has {a} pens and gets {b} more on day {i}. How many pens now?",
                "answer": f"{who} has {a}+{b}=<<{a}+{b}={a + b}>>{a + b} pens.\n#### {a + b}",
            }
        )
    return rows


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return load_model(materialize_model(EMBEDDED_TINY, tmp_path_factory.mktemp("models")), inference=True)


def _training_rows() -> list[dict]:
    from agents.curator.columns import detect_mapping, map_row

    problems = _problems()
    mapping = detect_mapping(list(problems[0]))
    return [map_row(r, mapping, SPEC) for r in problems]


def test_kept_rows_all_pass_the_grader_and_the_figures_add_up(tiny):
    model, tokenizer = tiny
    rows = _training_rows()
    sampled = rejection.rejection_sample(model, tokenizer, SPEC, rows, sampler="embedded:tiny", samples=16)
    f = sampled.figures
    assert f["prompts"] == f["sampled_prompts"] == 40 and f["completions"] == 640
    assert 0 < f["kept"] <= f["accepted"] < f["completions"]  # an untrained model guesses a few, not all
    grade = get_task(SPEC).grade
    assert all(grade(r["completion"], r["answer"]) for r in sampled.source.rows)
    assert len({(r["prompt"], r["completion"].strip()) for r in sampled.source.rows}) == f["kept"]  # distinct
    assert f["prompts_solved"] == len({r["prompt"] for r in sampled.source.rows})
    for row in sampled.provenance:
        assert row["sampler"] == "embedded:tiny" and row["samples"] == 16 and row["temperature"] == 0.7
        assert 0 < row["pass_rate"] <= 1
    again = rejection.rejection_sample(model, tokenizer, SPEC, rows, sampler="embedded:tiny", samples=16)
    assert again.source.rows == sampled.source.rows  # seeded: the same data every time


def test_prompts_too_long_or_past_the_budget_are_counted_not_hidden(tiny):
    model, tokenizer = tiny
    rows = _training_rows()
    # The tiny tokenizer keeps only digits and operators: each prompt is 3 or more tokens, plus 3 new ones.
    short = rejection.rejection_sample(model, tokenizer, SPEC, rows, sampler="t", context=5)
    assert short.figures["too_long"] == 40 and short.figures["sampled_prompts"] == 0 and short.source is None
    assert "too long for the sampler's context of 5" in short.figures["unscored_reason"]
    late = rejection.rejection_sample(model, tokenizer, SPEC, rows, sampler="t", seconds=1e-9)
    assert late.figures["sampled_prompts"] == 0 and "40 left when the time budget" in late.figures["unscored_reason"]
    capped = rejection.rejection_sample(model, tokenizer, SPEC, rows, sampler="t", max_prompts=5)
    assert (
        capped.figures["sampled_prompts"] == 5
        and "35 over data.rejection.max_prompts" in (capped.figures["unscored_reason"])
    )


def test_a_gsm8k_goal_without_a_generator_gets_rejection_sampled_sft_data(ws, set_goal, make_hypothesis):
    path = ws.path("train.jsonl")
    path.write_text("".join(json.dumps(r) + "\n" for r in _problems()))
    ws.commit_human_edits(["train.jsonl"])
    goal = set_goal(
        ws,
        task={"name": "gsm8k", "dataset": str(EVAL), "eval_size": 10, "max_new_tokens": 3},
        data={"local": [{"path": "train.jsonl", "name": "pens"}], "hub_search": False, "rejection": {"samples": 16}},
    )
    ensure_eval_split(ws, goal)
    ws.write_artifact("researcher", "hypotheses/h-001.md", make_hypothesis(), "Hypothesis h-001")
    outcome = curator_step(ws)
    assert outcome.ok, outcome.summary
    [(_, card)] = state.dataset_cards(ws)
    assert card.hypothesis == "hypotheses/h-001.md"
    figures = card.rejection_sampling
    assert figures.sampler == "embedded:tiny" and figures.samples == 16 and figures.completions == 640
    parts = {m.source: m for m in card.mixture}
    assert parts["pens"].rows_used == 40  # the real rows are all kept: sampled rows add to them
    assert parts[rejection.SOURCE].rows_used == figures.kept > 0
    rows = [json.loads(line) for line in ws.read_text(f"datasets/{card.name}/{card.data_file}").splitlines()]
    sampled = [r for r in rows if r["source"] == rejection.SOURCE]
    assert len(sampled) == figures.kept and len(rows) == card.rows == 40 + figures.kept
    grade = get_task(goal.task).grade
    assert all(grade(r["completion"], r["answer"]) for r in rows)  # every row, sampled or real, passes the grader
    assert "## Rejection-sampled rows" in card.body
    assert f"{figures.completions} sampled, {figures.accepted} accepted" in card.body
    provenance = ws.read_text(f"datasets/{card.name}/{rejection.PROVENANCE_FILE}").splitlines()
    assert len(provenance) == figures.kept and all("pass_rate" in json.loads(line) for line in provenance)


def test_a_teacher_that_cannot_be_loaded_is_recorded_and_the_real_rows_stay(ws, set_goal):
    ws.path("train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _problems()))
    ws.commit_human_edits(["train.jsonl"])
    goal = set_goal(
        ws,
        task={"name": "gsm8k", "dataset": str(EVAL), "eval_size": 10, "max_new_tokens": 3},
        data={
            "local": [{"path": "train.jsonl", "name": "pens"}],
            "hub_search": False,
            "rejection": {"teacher": "someone/teacher-not-in-the-cache"},
        },
    )
    ensure_eval_split(ws, goal)
    outcome = curator_step(ws)
    assert outcome.ok, outcome.summary
    [(_, card)] = state.dataset_cards(ws)
    assert card.rows == 40 and card.rejection_sampling is None
    assert any(r.startswith("source rejection-sampled: sampler not loaded") for r in card.verdict_reasons)


def test_a_local_teacher_path_is_the_sampler(ws, set_goal, tmp_path):
    import shutil

    from agents.curator.model_checks import load_sampler

    shutil.copytree(materialize_model(EMBEDDED_TINY, tmp_path / "models", seed=5), ws.path("teacher"))
    goal = set_goal(ws, data={"rejection": {"teacher": "teacher"}})  # relative to the workspace
    model, tokenizer, label, context = load_sampler(ws, goal, None)
    assert label == "teacher" and context == 64
    assert model.config.vocab_size == len(tokenizer)


def test_a_hypothesis_asking_for_its_models_own_samples_gets_them_though_synthetic_data_is_off(
    ws, set_goal, make_hypothesis, finish_run, tmp_path
):
    from agents.search.backlog import DATA_ACTIONS

    ws.path("train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _problems()))
    ws.commit_human_edits(["train.jsonl"])
    data = {"local": [{"path": "train.jsonl", "name": "pens"}], "hub_search": False, "synthetic": False}
    goal = set_goal(
        ws,
        task={"name": "gsm8k", "dataset": str(EVAL), "eval_size": 10, "max_new_tokens": 3},
        data=data | {"rejection": {"samples": 16}},
    )
    ensure_eval_split(ws, goal)
    finish_run(ws, tmp_path / "models")  # run-001: a tiny checkpoint to sample from
    own = DATA_ACTIONS["own samples"].format(run="run-001")
    ws.write_artifact(
        "researcher",
        "hypotheses/h-002.md",
        make_hypothesis(id="h-002", parent_run="run-001", data_change=own),
        "Hypothesis h-002",
    )
    outcome = curator_step(ws)
    assert outcome.ok, outcome.summary
    [(_, card)] = state.dataset_cards(ws)
    assert card.name.endswith("-own-run-001") and card.hypothesis == "hypotheses/h-002.md"
    assert card.rejection_sampling is not None and card.rejection_sampling.sampler == "runs/run-001/checkpoint"
    assert {m.source for m in card.mixture} == {"pens", rejection.SOURCE}


def _pens_goal(ws, set_goal, **data):
    ws.path("train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _problems()))
    ws.commit_human_edits(["train.jsonl"])
    base = {"local": [{"path": "train.jsonl", "name": "pens"}], "hub_search": False, "synthetic": False}
    task = {"name": "gsm8k", "dataset": str(EVAL), "eval_size": 10, "max_new_tokens": 3}
    ensure_eval_split(ws, set_goal(ws, task=task, data=base | data))


def test_no_sampling_when_synthetic_data_is_off_and_no_hypothesis_asks(ws, set_goal, make_hypothesis):
    _pens_goal(ws, set_goal)
    ws.write_artifact("researcher", "hypotheses/h-001.md", make_hypothesis(), "Hypothesis h-001")
    assert curator_step(ws).ok
    [(_, card)] = state.dataset_cards(ws)
    assert card.rejection_sampling is None and card.rows == 40


def test_a_human_who_turned_rejection_off_is_obeyed_though_a_hypothesis_asks(ws, set_goal, make_hypothesis):
    from agents.curator.curator import plan_dataset
    from agents.search.backlog import DATA_ACTIONS

    _pens_goal(ws, set_goal, rejection={"enabled": False})
    own = DATA_ACTIONS["own samples"].format(run="base")
    ws.write_artifact("researcher", "hypotheses/h-001.md", make_hypothesis(data_change=own), "Hypothesis h-001")
    assert plan_dataset(ws, ws.goal()).own_samples  # asked for ...
    assert curator_step(ws).ok
    [(_, card)] = state.dataset_cards(ws)
    assert card.rejection_sampling is None and card.rows == 40  # ... and refused by the human's setting
