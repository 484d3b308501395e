"""The critic checks training data against the held-out split before training; the trainer drops what it lists."""

from __future__ import annotations

import json

import pytest

from agents.common.contamination import read_report, report_path
from agents.critic.contamination_check import check_training_data, summary_lines
from agents.critic.critic import critic_step
from agents.critic.evaluate import ensure_eval_split
from agents.supervisor import CONTAMINATION_CHECK, derive_steps
from agents.tasks import addition
from agents.trainer.train_entry import load_training_rows
from agents.trainer.trainer import trainer_step
from bus import sha256_file

NAME = "addition-d2-teacher50-s0"


def _dataset(ws, make_card, leaked_at: dict[int, str]) -> list[dict]:
    """A curated dataset of clean problems, with eval prompts (possibly re-spaced or re-cased) at given rows."""
    eval_prompts = {json.loads(line)["prompt"] for line in ws.read_text("eval/addition/test.jsonl").splitlines()}
    clean = addition.sample_problems(40, 2, seed=7, exclude=eval_prompts)
    rows = [{"prompt": p.prompt, "completion": p.answer, "answer": p.answer, "slice": p.slice} for p in clean]
    for index, prompt in leaked_at.items():
        rows[index]["prompt"] = prompt
    data_rel = f"datasets/{NAME}/data/train.jsonl"
    ws.path(data_rel).parent.mkdir(parents=True, exist_ok=True)
    ws.path(data_rel).write_text("".join(json.dumps(r) + "\n" for r in rows))  # gitignored, like the curator's
    card = make_card(name=NAME, rows=len(rows), data_sha256=sha256_file(ws.path(data_rel)))
    ws.write_artifact("curator", f"datasets/{NAME}/README.md", card, "Dataset card")
    return rows


@pytest.fixture
def split_ws(ws, set_goal):
    set_goal(ws, task={"eval_size": 30})
    ensure_eval_split(ws, ws.goal())
    return ws


def _eval_prompts(ws) -> list[str]:
    return [json.loads(line)["prompt"] for line in ws.read_text("eval/addition/test.jsonl").splitlines()]


def test_leaked_rows_are_listed_and_the_trainer_drops_exactly_those(split_ws, make_card):
    ws = split_ws
    ev = _eval_prompts(ws)
    rows = _dataset(ws, make_card, {3: ev[0], 11: f"  {ev[5]} ", 25: ev[9]})
    split_rel, split_sha, _ = ensure_eval_split(ws, ws.goal())
    notes, commits = check_training_data(ws, split_rel, split_sha)
    assert len(commits) == 1 and ws.history()[0].author == "critic"
    assert "3 of 40 rows dropped" in notes[0]

    report = read_report(ws.path(report_path(NAME)), sha256_file(ws.path(f"datasets/{NAME}/data/train.jsonl")))
    assert [(d["row"], d["reason"], d["eval_row"]) for d in report["dropped"]] == [
        (3, "exact", 0),
        (11, "exact", 5),
        (25, "exact", 9),
    ]
    assert report["counts"]["dropped"] == 3 and report["counts"]["kept"] == 37
    assert report["split_sha256"] == split_sha
    assert report["method"]["compared"].startswith("prompts as given")  # the addition task has no template

    kept, dropped = load_training_rows(ws.path(f"datasets/{NAME}/data/train.jsonl"), ws.path(report_path(NAME)))
    assert dropped == 3
    assert kept == [r for i, r in enumerate(rows) if i not in (3, 11, 25)]
    assert not {r["prompt"].strip() for r in kept} & set(ev)

    # Checked once: the same data is not checked again.
    assert check_training_data(ws, split_rel, split_sha) == ([], [])


def test_clean_data_gets_an_empty_report_and_a_summary_line(split_ws, make_card, write_base_evaluation):
    ws = split_ws
    write_base_evaluation(ws, 0.0, n=30)
    _dataset(ws, make_card, {})
    outcome = critic_step(ws, CONTAMINATION_CHECK)
    assert outcome.ok, outcome.summary
    report = json.loads(ws.read_text(report_path(NAME)))
    assert report["dropped"] == [] and report["counts"]["dropped"] == 0
    assert any(f"`{NAME}`: 0 of 40 training rows dropped" in line for line in summary_lines(ws))
    assert f"`{NAME}`: 0 of 40 training rows dropped" in ws.read_text("reports/summary.md")


def test_changed_data_is_checked_again(split_ws, make_card):
    ws = split_ws
    _dataset(ws, make_card, {})
    split_rel, split_sha, _ = ensure_eval_split(ws, ws.goal())
    check_training_data(ws, split_rel, split_sha)
    _dataset(ws, make_card, {0: _eval_prompts(ws)[1]})  # the curator rewrote it, with a leak this time
    notes, commits = check_training_data(ws, split_rel, split_sha)
    assert len(commits) == 1 and "1 of 40 rows dropped" in notes[0]


def test_missing_data_is_noted_not_checked(split_ws, make_card):
    ws = split_ws
    _dataset(ws, make_card, {})
    ws.path(f"datasets/{NAME}/data/train.jsonl").unlink()
    split_rel, split_sha, _ = ensure_eval_split(ws, ws.goal())
    notes, commits = check_training_data(ws, split_rel, split_sha)
    assert commits == [] and "missing" in notes[0]


def test_the_trainer_waits_for_the_check(split_ws, make_card, make_hypothesis):
    ws = split_ws
    _dataset(ws, make_card, {})
    ws.write_artifact("researcher", "hypotheses/h-001.md", make_hypothesis(), "Hypothesis")
    head = ws.repo.head.commit.hexsha
    outcome = trainer_step(ws)
    assert not outcome.ok and "not checked against the held-out split" in outcome.summary
    assert ws.repo.head.commit.hexsha == head and not ws.exists("runs/run-001/config.yaml")


def test_the_check_is_planned_between_curator_and_trainer(split_ws, write_base_evaluation):
    ws = split_ws
    write_base_evaluation(ws, 0.0)
    steps = derive_steps(ws)
    agents = [s.split(":")[0] for s in steps]
    assert agents == ["researcher", "curator", "critic", "trainer", "critic"]
    assert steps[2] == CONTAMINATION_CHECK


def test_load_training_rows_without_a_report_keeps_everything(tmp_path):
    data = tmp_path / "train.jsonl"
    data.write_text('{"prompt": "a"}\n\n{"prompt": "b"}\n')
    assert load_training_rows(data, None) == ([{"prompt": "a"}, {"prompt": "b"}], 0)
