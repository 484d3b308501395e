"""init + go on the embedded default with a reduced budget: the whole loop, real training, real commits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from agents.models.loading import load_model
from agents.models.sampling import greedy_complete
from agents.tasks import addition
from bus import Workspace

pytestmark = pytest.mark.slow


def _shrink_goal(root: Path) -> None:
    goal = yaml.safe_load((root / "intern.yaml").read_text())
    goal["budget"]["runs"] = 2
    goal["task"]["eval_size"] = 200
    goal["scale"]["steps"] = 0.5
    (root / "intern.yaml").write_text(yaml.safe_dump(goal, sort_keys=False))


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    root = tmp_path_factory.mktemp("e2e") / "ws"
    cli = [sys.executable, "-m", "agents.cli"]
    subprocess.run([*cli, "init", str(root)], check=True, capture_output=True, text=True)
    _shrink_goal(root)  # a human edit before go: go must commit it as the human first
    proc = subprocess.run([*cli, "go", str(root)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return root, proc


def test_every_agent_commits(finished) -> None:
    root, _ = finished
    ws = Workspace.open(root)
    agents = {c.agent for c in ws.history() if c.agent}
    assert {"researcher", "curator", "trainer", "critic", "supervisor"} <= agents
    human = [c for c in ws.history() if c.agent is None and c.summary.startswith("Human edit")]
    assert any("intern.yaml" in c.summary for c in human), "the hand edit of intern.yaml was not committed as human"
    assert not any("metrics.jsonl" in c.summary for c in human), "trainer output was mistaken for a human edit"
    assert ws.repo.is_dirty(untracked_files=True) is False


def test_sft_then_grpo_with_honest_report(finished) -> None:
    root, proc = finished
    ws = Workspace.open(root)
    runs = sorted((root / "runs").glob("run-*"))
    methods = [yaml.safe_load((r / "config.yaml").read_text())["method"] for r in runs]
    assert methods[:2] == ["sft", "grpo"]
    for run in runs:
        result = json.loads((run / "result.json").read_text())
        assert result["status"] == "succeeded"
        assert (run / "checkpoint" / "config.json").exists()
        assert (run / "evaluation.md").exists() and (run / "diagnosis.md").exists()
        assert sum(1 for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()) > 3
    summary = (root / "reports" / "summary.md").read_text()
    assert "Why the loop stopped:" in summary and "still running" not in summary
    assert "run-001" in summary and "run-002" in summary
    assert "done:" in proc.stdout
    assert ws.goal().budget.runs == 2


def test_best_checkpoint_regrades_to_the_reported_score(finished) -> None:
    root, _ = finished
    ws = Workspace.open(root)
    evaluations = {
        p.parent.name: ws.load(f"runs/{p.parent.name}/evaluation.md") for p in root.glob("runs/*/evaluation.md")
    }
    best_id, best = max(evaluations.items(), key=lambda kv: kv[1].score)
    rows = [json.loads(line) for line in (root / "eval/addition/test.jsonl").read_text().splitlines()]
    model, tokenizer = load_model(str(root / "runs" / best_id / "checkpoint"))
    outputs = greedy_complete(model, tokenizer, [r["prompt"] for r in rows], max_new_tokens=4)
    by_hand = sum(addition.grade(o, r["answer"]) for o, r in zip(outputs, rows)) / len(rows)
    assert by_hand == pytest.approx(best.score, abs=1e-9)
    assert f"{best.score:.3f}" in (root / "reports" / "summary.md").read_text()


def test_go_again_carries_on_without_new_runs(finished) -> None:
    root, _ = finished
    before = sorted(p.name for p in (root / "runs").glob("run-*"))
    proc = subprocess.run(
        [sys.executable, "-m", "agents.cli", "go", str(root)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(p.name for p in (root / "runs").glob("run-*")) == before
    assert "budget spent" in proc.stdout or "target met" in proc.stdout


def test_grpo_data_targets_the_weak_slice_and_that_slice_moves(finished) -> None:
    root, _ = finished
    ws = Workspace.open(root)
    sft, grpo = (ws.load(f"runs/run-00{i}/config.yaml") for i in (1, 2))
    card = ws.load(f"datasets/{grpo.dataset}/README.md")
    assert card.targets_slice == "carry" and "runs/run-001/diagnosis.md" in card.target_reason
    assert card.pass_rate is not None and card.pass_rate.checkpoint == "runs/run-001/checkpoint"
    assert ws.load(f"datasets/{sft.dataset}/README.md").targets_slice is None
    before = ws.load("runs/run-001/evaluation.md").slices["carry"].score
    after = ws.load("runs/run-002/evaluation.md").slices["carry"].score
    assert after > before + 0.1, (before, after)


def test_the_best_run_exports_verified_with_a_card_huggingface_hub_reads(finished, tmp_path) -> None:
    from huggingface_hub import ModelCard
    from transformers import AutoModelForCausalLM

    root, _ = finished
    out = tmp_path / "exported"
    proc = subprocess.run(
        [sys.executable, "-m", "agents.cli", "export", str(root), "--to", str(out), "--verify"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Origin check: ok" in proc.stdout and "verified:" in proc.stdout
    AutoModelForCausalLM.from_pretrained(out)
    card = ModelCard.load(out / "README.md")
    best = Workspace.open(root).load(f"runs/{card.data.to_dict()['intern']['run']}/evaluation.md")
    assert {r.metric_type: r.metric_value for r in card.data.eval_results}["exact_match"] == best.score
    assert card.data.to_dict()["intern"]["verified_score"] == best.score


def test_a_raised_target_on_the_finished_workspace_trains_a_new_run_from_the_best(finished) -> None:
    # Issue 12: the goal is met and the loop stops; a person raises the bar in intern.yaml and runs go again. The
    # loop must not answer "target met" against the old bar, but train from the best kept run.
    root, _ = finished
    ws = Workspace.open(root)
    cli = [sys.executable, "-m", "agents.cli", "go", str(root)]
    before = sorted(p.name for p in (root / "runs").glob("run-*"))
    kept = [r for r in before if ws.load(f"runs/{r}/diagnosis.md").kept]
    best = max(kept, key=lambda r: ws.load(f"runs/{r}/evaluation.md").score)
    goal = yaml.safe_load((root / "intern.yaml").read_text())
    goal["target"]["value"] = round(ws.load(f"runs/{best}/evaluation.md").score - 0.05, 3)  # met by the best
    goal["budget"]["runs"] = len(before) + 1  # a run to spare: only the target can hold the loop back
    goal["scale"]["steps"] = 0.02  # the shortest run (10 steps): the point is that it starts, from the right parent
    (root / "intern.yaml").write_text(yaml.safe_dump(goal, sort_keys=False))
    met = subprocess.run(cli, capture_output=True, text=True, timeout=300)
    assert met.returncode == 0 and f"] done: target met: {best}" in met.stdout, met.stdout[-2000:]
    assert sorted(p.name for p in (root / "runs").glob("run-*")) == before

    goal["target"]["value"] = 0.999  # raised: nothing else changes
    (root / "intern.yaml").write_text(yaml.safe_dump(goal, sort_keys=False))
    proc = subprocess.run(cli, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    new = sorted(set(p.name for p in (root / "runs").glob("run-*")) - set(before))
    assert len(new) == 1, (new, proc.stdout[-3000:])
    config = ws.load(f"runs/{new[0]}/config.yaml")
    assert config.parent_run == best, (config.parent_run, best)
    assert (root / "runs" / new[0] / "evaluation.md").exists() and (root / "runs" / new[0] / "diagnosis.md").exists()
    assert "target met" not in proc.stdout.split("] step 1:", 1)[0]  # it did not stop against the old bar
    assert f"budget spent: {len(before) + 1} of {len(before) + 1}" in proc.stdout or "target met" in proc.stdout
