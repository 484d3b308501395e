"""A finished workspace to export (shared by the export and origin tests), built as the agents build it but in seconds.

The held-out split and both evaluations are the critic's own (`evaluate`), so their hashes and
scores are real and `--verify` has something to reproduce. run-001 is a real fine-tune of the
base: the embedded tiny model (seed 0, the goal's seed) trained 10 Adam steps on addition rows
in this process, saved with save_pretrained, and recorded by the trainer through the bus.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from agents.critic.evaluate import ensure_eval_split, evaluate
from agents.models.tiny import EMBEDDED_TINY, build_tiny_model
from agents.tasks import addition
from bus import Workspace, sha256_file, sha256_tree
from bus.schemas import Diagnosis, Recommendation, RunResult

from .conftest import _make_card, _make_config, _make_hypothesis, _set_goal

DATASET = "addition-d2-teacher50-s0"


def fine_tune(out: Path, rows: list[dict], seed: int = 0, steps: int = 10) -> None:
    """The tiny model of `seed`, trained a little on prompt+completion text, saved like a checkpoint."""
    import torch

    model, tokenizer = build_tiny_model(seed)
    texts = [r["prompt"] + r["completion"] + tokenizer.eos_token for r in rows]
    batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    torch.manual_seed(seed)
    model.train()
    for _ in range(steps):
        loss = model(**batch, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def build_exportable(root: Path) -> Workspace:
    ws = Workspace.init(root)
    _set_goal(ws, task={"eval_size": 40}, budget={"usd": 5.0})
    goal = ws.goal()
    split_rel, _, _ = ensure_eval_split(ws, goal)
    held_out = {json.loads(line)["prompt"] for line in ws.read_text(split_rel).splitlines()}
    problems = addition.sample_problems(32, 2, seed=7, exclude=held_out)
    rows = [{"prompt": p.prompt, "completion": p.answer, "answer": p.answer, "slice": p.slice} for p in problems]
    data_rel = f"datasets/{DATASET}/data/train.jsonl"
    ws.path(data_rel).parent.mkdir(parents=True, exist_ok=True)
    ws.path(data_rel).write_text("".join(json.dumps(r) + "\n" for r in rows))
    card = _make_card(name=DATASET, rows=len(rows), data_sha256=sha256_file(ws.path(data_rel)))
    ws.write_artifact("curator", f"datasets/{DATASET}/README.md", card, "Dataset card")
    ws.write_artifact("researcher", "hypotheses/h-001.md", _make_hypothesis(), "Hypothesis")
    base, _ = evaluate(ws, goal, "base", None, samples=0)

    config = _make_config(hypothesis="hypotheses/h-001.md", max_steps=10)
    ws.write_artifact("trainer", "runs/run-001/config.yaml", config, "Configure run-001")
    ckpt = ws.path("runs/run-001/checkpoint")
    fine_tune(ckpt, rows)
    result = RunResult(
        run_id="run-001",
        method="sft",
        status="succeeded",
        started="2026-01-01T00:00:00+00:00",
        finished="2026-01-01T00:01:00+00:00",
        wall_seconds=3.0,
        steps=10,
        checkpoint="runs/run-001/checkpoint",
        checkpoint_sha256=sha256_tree(ckpt),
    )
    ws.write_artifact("trainer", "runs/run-001/result.json", result, "Result of run-001: succeeded")
    ev, _ = evaluate(ws, goal, "run-001", result.checkpoint, expected_sha256=result.checkpoint_sha256, samples=4)
    diagnosis = Diagnosis(
        run_id="run-001",
        score=ev.score,
        gain_vs_base=ev.score - base.score,
        gain_vs_base_interval=(ev.score - base.score - 0.1, ev.score - base.score + 0.1),
        significant=True,
        kept=True,
        best_before="base",
        recommendation=Recommendation(action="stop", reason="test"),
        body="# Diagnosis of run-001",
    )
    ws.write_artifact("critic", "runs/run-001/diagnosis.md", diagnosis, "Diagnose run-001")
    return ws


@pytest.fixture(scope="session")
def exportable_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once per session; each test gets its own copy (a test may tamper with it)."""
    root = tmp_path_factory.mktemp("exportable") / "ws"
    build_exportable(root)
    return root


@pytest.fixture
def exportable(exportable_template: Path, tmp_path: Path) -> Workspace:
    root = tmp_path / "ws"
    shutil.copytree(exportable_template, root, symlinks=True)
    return Workspace.open(root)


__all__ = ["EMBEDDED_TINY", "build_exportable", "fine_tune"]
