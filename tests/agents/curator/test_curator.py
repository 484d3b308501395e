"""The curator: its standalone generator, the quality figures, and its step on a real workspace."""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from agents.common import state
from agents.critic.evaluate import ensure_eval_split
from agents.curator import addition_generator
from agents.curator.curator import TRAIN_ROWS, curator_step, dataset_name
from agents.curator.synthetic import TARGET_SHARE
from agents.tasks import addition
from bus import Workspace
from bus.schemas import DatasetCard, DataSpec, Goal, LocalDataset, TaskSpec

# Share of 2-digit pairs with a carry: no digit pair may reach 10, 55 of 100 pairs per digit don't.
CARRY_SHARE = 1 - 0.55**2


# --- the generator ------------------------------------------------------------------------


def test_generate_excludes_prompts_and_is_deterministic():
    exclude = {p.prompt for p in addition.sample_problems(500, 2, seed=1000)}
    rows = addition_generator.generate(2000, 2, 0.5, 0, exclude)
    again = addition_generator.generate(2000, 2, 0.5, 0, exclude)
    other = addition_generator.generate(2000, 2, 0.5, 1, exclude)
    assert rows == again
    assert rows != other
    prompts = [r["prompt"] for r in rows]
    assert len(set(prompts)) == 2000
    assert not set(prompts) & exclude


def test_generate_rows_agree_with_the_task_definition():
    rows = addition_generator.generate(1000, 2, 0.5, 3, set())
    for row in rows:
        a, b = (int(x) for x in row["prompt"].rstrip("=").split("+"))
        problem = addition.Problem(a, b, 2)
        assert row["prompt"] == problem.prompt
        assert row["answer"] == problem.answer
        assert row["slice"] == problem.slice
        if row["completion"] != row["answer"]:  # only the teacher's dropped carry may differ
            assert row["slice"] == "carry"
            assert row["completion"] == addition.format_sum(addition.sum_without_carry(a, b, 2), 2)


def test_generate_refuses_more_rows_than_are_left():
    exclude = {p.prompt for p in addition.all_problems(1)[:50]}
    with pytest.raises(SystemExit, match="only 50"):
        addition_generator.generate(51, 1, 0.5, 0, exclude)


# --- dataset names --------------------------------------------------------------------------


def test_dataset_name_says_what_the_data_is_and_hashes_what_it_is_built_from(tmp_path):
    goal = Goal(task=TaskSpec(digits=3, teacher_error=0.25), seed=4)
    name = dataset_name(goal)
    assert re.fullmatch(r"addition-generated-d3-teacher25-s4-[0-9a-f]{8}", name)
    assert dataset_name(goal) == name  # the same inputs, the same name
    assert dataset_name(goal.model_copy(update={"data": DataSpec(synthetic_rows=500)})) != name
    # Other tasks carry no generator knobs: the task, the sources, the seed and the hash.
    (tmp_path / "chat.jsonl").write_text('{"messages": []}\n')
    (tmp_path / "alpaca.json").write_text("[]\n")
    chat = Goal(task=TaskSpec(name="gsm8k"), data=DataSpec(local=[LocalDataset(path="chat.jsonl", name="mine")]))
    alpaca = chat.model_copy(update={"data": DataSpec(local=[LocalDataset(path="alpaca.json", name="mine")])})
    assert re.fullmatch(r"gsm8k-mine-s0-[0-9a-f]{8}", dataset_name(chat, tmp_path))
    assert dataset_name(chat, tmp_path) != dataset_name(alpaca, tmp_path)  # same source name, other files
    before = dataset_name(chat, tmp_path)
    (tmp_path / "chat.jsonl").write_text('{"messages": [1]}\n')
    assert dataset_name(chat, tmp_path) != before  # a new version of the file


def test_dataset_name_distinguishes_nearby_teacher_errors():
    names = {e: dataset_name(Goal(task=TaskSpec(teacher_error=e))) for e in (0.28, 0.29, 0.57, 0.58)}
    assert len(set(names.values())) == 4
    assert "teacher29" in names[0.29]
    assert "teacher57" in names[0.57]


# --- the curator step on a workspace -----------------------------------------------------------


@pytest.fixture(scope="module")
def curated(tmp_path_factory) -> tuple[Workspace, str, DatasetCard]:
    ws = Workspace.init(tmp_path_factory.mktemp("curated") / "ws")
    ensure_eval_split(ws, ws.goal())
    outcome = curator_step(ws)
    assert outcome.ok, outcome.summary
    assert len(outcome.commits) == 3
    name = dataset_name(ws.goal(), ws.root)
    card = ws.load(f"datasets/{name}/README.md")
    assert isinstance(card, DatasetCard)
    return ws, name, card


def test_curator_commits_generator_then_card_as_curator(curated):
    ws, name, _ = curated
    newest, figures, first = ws.history()[:3]
    assert first.artifact == f"datasets/{name}/generate.py"
    assert figures.artifact == f"datasets/{name}/card.json"
    assert newest.artifact == f"datasets/{name}/README.md"
    for commit in (newest, figures, first):
        assert commit.author == "curator"
        assert commit.agent == "curator"
    assert ws.read_text(f"datasets/{name}/generate.py") == Path(addition_generator.__file__).read_text()
    assert not ws.pending_human_edits()


def test_curator_card_figures(curated):
    ws, name, card = curated
    assert card.name == name
    assert card.rows == TRAIN_ROWS
    assert card.eval_overlap == 0
    assert card.duplicates == 0
    assert card.answer_format_ok == 1.0
    assert card.columns == ["prompt", "completion", "answer", "slice"]
    assert card.label_agreement == pytest.approx(1 - 0.5 * CARRY_SHARE, abs=0.03)
    assert card.slices["carry"].label_agreement == pytest.approx(0.5, abs=0.04)
    assert card.slices["no_carry"].label_agreement == 1.0
    assert card.slices["carry"].rows + card.slices["no_carry"].rows == TRAIN_ROWS
    assert card.slices["carry"].rows / TRAIN_ROWS == pytest.approx(CARRY_SHARE, abs=0.03)
    assert "Warning" in card.body


def test_curator_data_matches_card_and_is_disjoint_from_the_split(curated):
    ws, name, card = curated
    data = ws.path(f"datasets/{name}/{card.data_file}")
    assert hashlib.sha256(data.read_bytes()).hexdigest() == card.data_sha256
    train = {json.loads(line)["prompt"] for line in data.read_text().splitlines()}
    held_out = {json.loads(line)["prompt"] for line in ws.read_text("eval/addition/test.jsonl").splitlines()}
    assert len(train) == TRAIN_ROWS
    assert not train & held_out
    assert [c for _, c in state.dataset_cards(ws)] == [card]


def test_generator_runs_standalone_with_help(curated, tmp_path):
    ws, name, _ = curated
    script = ws.path(f"datasets/{name}/generate.py")
    # -I -S: no site-packages, no project on the path: only the standard library is available.
    proc = subprocess.run(
        [sys.executable, "-I", "-S", str(script), "--help"], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "--teacher-error" in proc.stdout and "--exclude" in proc.stdout


def test_card_rebuild_command_reproduces_the_data(curated):
    ws, name, card = curated
    folder = ws.path(f"datasets/{name}")
    line = next(ln for ln in card.body.splitlines() if ln.startswith("Rebuild the generated rows"))
    command = shlex.split(line.split("`")[1])
    assert command[:2] == ["python", "generate.py"]
    generated = folder / "data/generated.jsonl"
    generated.unlink()
    proc = subprocess.run(
        [sys.executable, "-I", "-S", *command[1:]], capture_output=True, text=True, cwd=folder, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    # The gate dropped nothing from these rows, so the rebuilt generator output is the training file itself.
    assert card.dropped == {}
    assert hashlib.sha256(generated.read_bytes()).hexdigest() == card.data_sha256


def test_second_curator_step_makes_no_commit(curated):
    ws, _, _ = curated
    head = ws.repo.head.commit.hexsha
    outcome = curator_step(ws)
    assert outcome.ok
    assert outcome.commits == []
    assert "reusing" in outcome.summary
    assert ws.repo.head.commit.hexsha == head


def test_curator_waits_for_the_held_out_split(ws):
    head = ws.repo.head.commit.hexsha
    outcome = curator_step(ws)
    assert not outcome.ok
    assert "held-out split" in outcome.summary
    assert ws.repo.head.commit.hexsha == head
    assert not ws.exists(f"datasets/{dataset_name(ws.goal(), ws.root)}")


def test_curator_reports_a_failing_generator(ws, set_goal):
    goal = set_goal(ws, task={"digits": 1, "teacher_error": 0.0, "eval_size": 20}, seed=3)
    ensure_eval_split(ws, goal)
    # 1-digit operands leave only 80 problems after the split: fewer than TRAIN_ROWS, so the generator refuses.
    outcome = curator_step(ws)
    assert not outcome.ok
    assert "generator failed" in outcome.summary and "only 80" in outcome.summary
    card = ws.load(f"datasets/{dataset_name(goal, ws.root)}/README.md")
    assert card.verdict == "rejected" and card.rows == 0
    assert any("only 80" in reason for reason in card.verdict_reasons)
    assert state.dataset_cards(ws) == []  # nothing trains on a rejected dataset
    head = ws.repo.head.commit.hexsha
    again = curator_step(ws)  # tried again in case a human fixed it; nothing changed, so no new commit
    assert not again.ok and "still rejected" in again.summary
    assert ws.repo.head.commit.hexsha == head


def test_curator_clean_teacher_has_full_agreement_and_records_the_hypothesis(ws, set_goal, make_hypothesis):
    goal = set_goal(ws, task={"teacher_error": 0.0, "eval_size": 100})
    ensure_eval_split(ws, goal)
    ws.write_artifact("researcher", "hypotheses/h-001.md", make_hypothesis(), "Hypothesis h-001")
    outcome = curator_step(ws)
    assert outcome.ok, outcome.summary
    card = ws.load(f"datasets/{dataset_name(goal, ws.root)}/README.md")
    assert dataset_name(goal, ws.root).startswith("addition-generated-d2-teacher0-s0-")
    assert card.label_agreement == 1.0
    assert all(s.label_agreement == 1.0 for s in card.slices.values())
    assert card.hypothesis == "hypotheses/h-001.md"
    assert "All demonstrations agree" in card.body


def test_a_later_hypothesis_with_the_same_data_plan_reuses_the_dataset_and_the_card_says_so(
    ws, set_goal, make_hypothesis, make_config
):
    from agents.trainer.trainer import hypothesis_card

    goal = set_goal(ws, task={"teacher_error": 0.0, "eval_size": 100})
    ensure_eval_split(ws, goal)
    ws.write_artifact("researcher", "hypotheses/h-001.md", make_hypothesis(), "Hypothesis h-001")
    assert curator_step(ws).ok
    name = dataset_name(goal, ws.root)
    config = make_config(dataset=name, hypothesis="hypotheses/h-001.md")
    ws.write_artifact("trainer", "runs/run-001/config.yaml", config, "Configure run-001")
    longer = make_hypothesis(id="h-002", config_delta={"max_steps": 160})
    ws.write_artifact("researcher", "hypotheses/h-002.md", longer, "Hypothesis h-002")
    data_before = ws.read_text(f"datasets/{name}/data/train.jsonl")
    outcome = curator_step(ws)
    assert outcome.ok and "reusing it for hypotheses/h-002.md" in outcome.summary, outcome.summary
    card = ws.load(f"datasets/{name}/README.md")
    assert card.hypothesis == "hypotheses/h-001.md" and card.serves == ["hypotheses/h-002.md"]
    assert ws.read_text(f"datasets/{name}/data/train.jsonl") == data_before  # the same rows, not rebuilt
    found, how = hypothesis_card(ws, "hypotheses/h-002.md", [])
    assert found is not None and found.name == name and "reused for it" in how
    assert len(curator_step(ws).commits) == 0  # asked again: nothing new to say


def test_cards_come_oldest_first_and_rejected_ones_are_left_out(ws, make_card):
    older = make_card(name="zz-old", written="2026-01-01T00:00:00+00:00")
    newer = make_card(name="aa-new", written="2026-01-02T00:00:00+00:00")
    rejected = make_card(name="mm-bad", rows=0, verdict="rejected", verdict_reasons=["empty split"])
    for card in (newer, older, rejected):
        ws.write_artifact("curator", f"datasets/{card.name}/README.md", card, f"Card {card.name}")
    assert [c.name for _, c in state.dataset_cards(ws)] == ["zz-old", "aa-new"]  # the last is the newest
    assert "mm-bad" in [c.name for _, c in state.dataset_cards(ws, include_rejected=True)]


# --- local sources, mixtures, a human's column mapping ----------------------------------------


def _write_human_file(ws: Workspace, rel: str, data: bytes) -> None:
    path = ws.path(rel)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    ws.commit_human_edits([rel])


def test_a_local_dataset_is_gated_and_mixed_with_the_generated_rows_by_weight(ws, set_goal):
    goal = set_goal(
        ws,
        task={"eval_size": 100},
        data={"local": [{"path": "extra/train.jsonl", "name": "extra"}], "weights": {"synthetic": 3.0}},
    )
    ensure_eval_split(ws, goal)
    held_out = json.loads(ws.read_text("eval/addition/test.jsonl").splitlines()[0])["prompt"]
    lines = [
        json.dumps({"question": f"{a:02d}+{b:02d}=", "answer": f"{a}+{b}\n#### {a + b:03d}"})
        for a in range(10)
        for b in range(90, 100)
    ]
    lines = [ln for ln in lines if held_out not in ln]
    lines += [json.dumps({"question": held_out, "answer": "#### 000"}), "{broken", '{"question": "caf\xe9"}']
    _write_human_file(ws, "extra/train.jsonl", "\n".join(lines[:-1]).encode() + b'\n{"question": "caf\xe9"}\n')
    outcome = curator_step(ws)
    assert outcome.ok, outcome.summary
    card = ws.load(f"datasets/{dataset_name(goal, ws.root)}/README.md")
    assert card.column_mapping["extra"] == {"prompt": "question", "answer": "answer"}
    assert card.dropped["contaminated"] >= 1 and card.dropped["corrupt_row"] == 1 and card.dropped["non_utf8"] == 1
    parts = {m.source: m for m in card.mixture}
    assert set(parts) == {"synthetic", "extra"}
    assert parts["synthetic"].rows_used == 3 * parts["extra"].rows_used  # weights 3 : 1
    # ~300 of the 4000 generated rows: the mixture shrank a source, and says so in the card and on the terminal.
    shrink = f"the mixture uses {parts['synthetic'].rows_used} of synthetic's {parts['synthetic'].rows_available} rows"
    assert any(r.startswith(shrink) for r in card.verdict_reasons) and shrink in outcome.summary
    assert card.rows == parts["synthetic"].rows_used + parts["extra"].rows_used
    assert card.license == "other" and set(card.source_datasets) == {"original", "extra/train.jsonl"}
    rows = [json.loads(line) for line in ws.read_text(f"datasets/{card.name}/data/train.jsonl").splitlines()]
    assert {r["source"] for r in rows} == {"synthetic", "extra"}
    assert held_out not in {r["prompt"] for r in rows}


def test_a_human_column_mapping_in_the_card_is_used_on_the_next_run(ws, set_goal):
    goal = set_goal(ws, task={"eval_size": 100}, data={"local": [{"path": "quiz.jsonl"}], "synthetic": False})
    ensure_eval_split(ws, goal)
    rows = [{"q": f"{a:02d}+{b:02d}=", "a": f"{a + b:03d}"} for a in range(50, 60) for b in range(10, 20)]
    _write_human_file(ws, "quiz.jsonl", "".join(json.dumps(r) + "\n" for r in rows).encode())
    first = curator_step(ws)
    assert not first.ok and "no column layout fits" in first.summary
    rel = f"datasets/{dataset_name(goal, ws.root)}/README.md"
    assert ws.load(rel).verdict == "rejected"
    text = ws.read_text(rel).replace("column_mapping: {}", "column_mapping:\n  quiz:\n    prompt: q\n    answer: a")
    ws.path(rel).write_text(text)
    ws.commit_human_edits([rel])
    second = curator_step(ws)
    assert second.ok, second.summary
    card = ws.load(rel)
    assert card.column_mapping == {"quiz": {"prompt": "q", "answer": "a"}}
    assert card.rows == len([r for r in rows if r["q"] not in ws.read_text("eval/addition/test.jsonl")])
    assert "hub search skipped" in ws.read_text(f"datasets/{card.name}/card.json").lower()


# --- data aimed at the weak slice, for GRPO from the parent's checkpoint -------------------------


def test_after_a_diagnosis_names_a_weak_slice_the_next_dataset_targets_it(
    ws, set_goal, finish_run, make_hypothesis, make_evaluation, tmp_path
):
    from bus.schemas import Diagnosis, Finding, Recommendation

    goal = set_goal(ws, task={"eval_size": 100}, data={"synthetic_rows": 400})
    ensure_eval_split(ws, goal)
    finish_run(ws, tmp_path / "models")  # run-001 with an (untrained) tiny checkpoint
    ws.write_artifact(
        "critic",
        "runs/run-001/evaluation.md",
        make_evaluation(0.6, subject="run-001", slices={"carry": 0.45, "no_carry": 1.0}),
        "Evaluate run-001",
    )
    weak = Finding(
        name="weak slice",
        severity="warning",
        evidence="slice carry scores 0.450 against 1.000 for the best slice",
        metric="exact_match/carry",
    )
    diagnosis = Diagnosis(
        run_id="run-001",
        score=0.6,
        gain_vs_base=0.6,
        significant=True,
        findings=[weak],
        recommendation=Recommendation(action="train", method="grpo", parent_run="run-001", reason="fix carries"),
        body="# Diagnosis",
    )
    ws.write_artifact("critic", "runs/run-001/diagnosis.md", diagnosis, "Diagnose run-001")
    hyp = make_hypothesis(id="h-002", method="grpo", parent_run="run-001", based_on="runs/run-001/diagnosis.md")
    ws.write_artifact("researcher", "hypotheses/h-002.md", hyp, "Hypothesis h-002")

    outcome = curator_step(ws)
    name = f"{dataset_name(goal, ws.root)}-carry-grpo-run-001"
    card = ws.load(f"datasets/{name}/README.md")
    assert card.targets_slice == "carry"
    assert "runs/run-001/diagnosis.md" in card.target_reason and "0.450" in card.target_reason
    assert "**Targets slice `carry`:**" in card.body
    generated = [json.loads(line) for line in ws.read_text(f"datasets/{name}/data/generated.jsonl").splitlines()]
    assert sum(r["slice"] == "carry" for r in generated) == round(TARGET_SHARE * len(generated))
    # The pass-rate filter sampled the parent checkpoint: an untrained model never solves a sum.
    assert card.pass_rate is not None and card.pass_rate.checkpoint == "runs/run-001/checkpoint"
    assert card.pass_rate.scored == 400 and card.pass_rate.samples == 4
    assert card.pass_rate.too_hard >= 390 and card.pass_rate.too_easy == 0  # a lucky guess is rare, not impossible
    assert card.verdict == "rejected" and not outcome.ok
    assert "too few to train on" in card.verdict_reasons[0]
    assert name not in [c.name for _, c in state.dataset_cards(ws)]  # the trainer never gets it


def test_a_withdrawn_dataset_is_never_re_created_the_next_one_gets_a_new_name(ws, set_goal):
    goal = set_goal(ws, task={"eval_size": 100}, data={"synthetic_rows": 300})
    ensure_eval_split(ws, goal)
    assert curator_step(ws).ok
    name = dataset_name(goal, ws.root)
    card_commit = next(c for c in ws.history() if c.artifact == f"datasets/{name}/README.md")
    ws.revert(card_commit.sha)  # what `intern revert` does
    assert not ws.exists(f"datasets/{name}/README.md")
    outcome = curator_step(ws)
    assert outcome.ok, outcome.summary
    assert not ws.exists(f"datasets/{name}/README.md")  # not re-created
    card = ws.load(f"datasets/{name}-v2/README.md")
    assert card.note.startswith(f"named -v2 because a human withdrew datasets/{name} (revert ")
    assert [c.name for _, c in state.dataset_cards(ws)] == [f"{name}-v2"]


def test_a_queue_item_naming_a_slice_aims_sft_data_at_it_without_wrong_demonstrations(ws, set_goal, make_hypothesis):
    goal = set_goal(ws, task={"eval_size": 100}, data={"synthetic_rows": 300})
    ensure_eval_split(ws, goal)
    ws.write_artifact("researcher", "hypotheses/h-001.md", make_hypothesis(), "Hypothesis h-001")
    outcome = curator_step(ws, "curator: add harder examples with carries")
    assert outcome.ok, outcome.summary
    card = ws.load(f"datasets/{dataset_name(goal, ws.root)}-carry/README.md")
    assert card.targets_slice == "carry" and "add harder examples with carries" in card.target_reason
    assert card.dropped["wrong_demonstration"] > 0  # the teacher dropped the carry on half of them
    assert card.label_agreement == 1.0


# --- secrets: in a local source's rows, and in what a human's generator writes -------------------------

HF = "hf_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5"
AWS = "AKIA" + "ABCDEFGHIJKLMNOP"


def test_secrets_in_local_rows_are_masked_in_the_dataset_counted_in_the_card_and_never_in_git(ws, set_goal):
    goal = set_goal(ws, task={"eval_size": 100}, data={"local": [{"path": "mydata/train.jsonl"}], "synthetic": False})
    ensure_eval_split(ws, goal)
    held_out = set(ws.read_text("eval/addition/test.jsonl").split('"'))
    rows = [
        {"question": f"{a:02d}+{b:02d}=", "answer": f"#### {a + b:03d}"}
        for a in range(60, 70)
        for b in range(20, 30)
        if f"{a:02d}+{b:02d}=" not in held_out
    ]
    rows[3]["answer"] = f"my key {HF}\n" + rows[3]["answer"]  # in the worked solution, which the dataset keeps
    rows[7]["answer"] = f"{AWS}\n" + rows[7]["answer"]
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    ws.path("mydata").mkdir()
    ws.path("mydata/train.jsonl").write_bytes(data)
    ws.commit_human_edits()  # what the watcher does: the file holds secrets, so it stays out of git
    outcome = curator_step(ws)
    card = ws.load(f"datasets/{dataset_name(goal, ws.root)}/README.md")
    assert card.secrets_masked == {"train": 2}, outcome.summary
    assert any("2 row(s) held secret-shaped strings" in r for r in card.verdict_reasons)
    written = ws.read_text(f"datasets/{card.name}/data/train.jsonl")
    assert HF not in written and AWS not in written and written.count("[REDACTED]") == 2
    assert ws.path("mydata/train.jsonl").read_bytes() == data  # the source is never rewritten
    history = ws.repo.git.log("-p", "--all")
    assert HF not in history and AWS not in history


HOSTILE_GENERATOR = (
    """
import json, os, pathlib, sys
out = next(a.split('=', 1)[1] for a in sys.argv if a.startswith('--out='))
pathlib.Path(out).parent.mkdir(parents=True, exist_ok=True)
rows = [{'prompt': f'{a:02d}+{b:02d}=', 'completion': f'{a + b:03d}', 'answer': f'{a + b:03d}'}
        for a in range(30, 50) for b in range(40, 60)]
rows[0]['completion'] += ' ' + os.environ.get('DATABASE_URL', 'no-db-url') + ' HF_TOKEN=' + __import__('base64').b64decode(
    '"""
    + __import__("base64").b64encode(HF.encode()).decode()
    + """').decode()
pathlib.Path(out).write_text(''.join(json.dumps(r) + '\\n' for r in rows))
pathlib.Path('stolen.txt').write_text(json.dumps(dict(os.environ)))
print('wrote', len(rows))
"""
)


def test_a_human_edited_generator_gets_no_secret_and_only_its_masked_output_comes_back(ws, set_goal, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://app:hunter2hunter2@db/prod")
    goal = set_goal(ws, task={"eval_size": 100, "teacher_error": 0.0}, data={"synthetic_rows": 400})
    ensure_eval_split(ws, goal)
    folder = f"datasets/{dataset_name(goal, ws.root)}"
    ws.path(folder).mkdir(parents=True)
    ws.path(f"{folder}/generate.py").write_text(HOSTILE_GENERATOR)
    ws.commit_human_edits()
    human_head = ws.repo.head.commit.hexsha
    curator_step(ws)
    assert not ws.exists(f"{folder}/stolen.txt")  # written in the sandbox's private folder, thrown away
    generated = ws.read_text(f"{folder}/data/generated.jsonl")
    assert "hunter2" not in generated and HF not in generated and "HF_TOKEN=[REDACTED]" in generated
    card = ws.load(f"{folder}/README.md")
    assert card.secrets_masked == {"synthetic": 1}
    later = list(ws.repo.iter_commits(f"{human_head}..HEAD"))
    assert later and all(c.author.name == "curator" for c in later)  # nothing of the run under the human's name
    assert "hunter2" not in ws.repo.git.log("-p", "--all") and HF not in ws.repo.git.log("-p", "--all")
