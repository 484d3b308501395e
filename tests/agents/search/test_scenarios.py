"""Real scenarios on the embedded task at reduced steps: the specialists run for real (data, training, held-out
evaluation, diagnosis) and the search decides from the files they wrote.

- a learning rate that diverges is diagnosed and followed by a lower rate from the same parent;
- clean demonstrations (teacher_error 0): nothing sends the search to GRPO after SFT, and once SFT meets the
  target the loop stops there;
- an out-of-memory failure (the training process dies as CUDA's allocator reports it, through the real local
  launcher) gets the smaller-batch-with-accumulation remedy.
"""

from __future__ import annotations

import sys

import pytest

from agents import search
from agents.critic.critic import critic_step
from agents.curator.curator import curator_step
from agents.researcher.researcher import researcher_step
from agents.search.tree import BASE, OOM
from agents.trainer import trainer as trainer_module
from agents.trainer.launchers import local
from agents.trainer.trainer import trainer_step

pytestmark = pytest.mark.slow


def _small(ws, set_goal, teacher_error: float = 0.5, target: float = 0.9, steps: float = 0.1) -> None:
    set_goal(
        ws,
        task={"eval_size": 60, "teacher_error": teacher_error},
        target={"value": target},
        scale={"steps": steps},  # 0.1: SFT 80 steps, GRPO 50
        data={"synthetic_rows": 800, "hub_search": False},
        research={"online": False},
    )


def _human_hypothesis(ws, method: str, parent: str | None, delta: dict, title: str) -> str:
    rel = "hypotheses/H0001-human.md"
    parent_line = f"parent_run: {parent}\n" if parent else ""
    ws.path(rel).parent.mkdir(parents=True, exist_ok=True)
    ws.path(rel).write_text(
        f"---\nid: H0001\ntitle: {title}\nmethod: {method}\n{parent_line}config_delta: {delta}\n"
        f"papers: ['2402.03300']\nclaim: {title}\n---\n\n# {title}\n"
    )
    ws.commit_human_edits([rel])
    return rel


def _train_next(ws) -> None:
    """One iteration as the supervisor queues it: data, contamination check, training, evaluation and diagnosis."""
    assert curator_step(ws).ok
    assert critic_step(ws).ok
    trainer_step(ws)
    critic_step(ws)


def test_a_diverging_learning_rate_is_followed_by_a_lower_rate_from_the_same_parent(ws, set_goal):
    _small(ws, set_goal)
    assert critic_step(ws).ok  # the split and the base model
    _human_hypothesis(ws, "sft", None, {"learning_rate": 1.0}, "SFT at a learning rate of 1.0")
    _train_next(ws)
    tree, decision = search.decide(ws)
    diverged = tree.node("run-001")
    assert diverged.verdict in ("failed", "discarded") and not diverged.kept
    chosen = decision.chosen.cand
    assert chosen.parent == BASE and chosen.method == "sft"  # the same parent, never the diverged run
    assert chosen.delta["learning_rate"] <= 0.1 and chosen.retry_of == "run-001"
    print(
        f"after {diverged.id} ({diverged.verdict}, {diverged.cause or ''}): {search.describe(chosen)}: {chosen.reason}"
    )


def test_clean_demonstrations_do_not_lead_to_grpo_and_stop_after_sft(ws, set_goal):
    _small(ws, set_goal, teacher_error=0.0, steps=0.4)  # 320 SFT steps: enough to learn something
    assert critic_step(ws).ok
    assert researcher_step(ws).ok  # the search's first hypothesis: SFT from the base model
    _train_next(ws)
    tree, decision = search.decide(ws)
    sft = tree.node("run-001")
    assert sft.method == "sft" and sft.verdict == "kept"
    assert not any(f.name == "systematic demonstration error" for f in sft.findings)
    moves = [s.cand.move for s in decision.ranked]
    assert "grpo fixes demonstration error" not in moves
    if decision.chosen is not None:
        assert decision.chosen.cand.method == "sft"  # clean labels: GRPO has nothing systematic to correct
        print(
            f"clean SFT at {sft.score:.3f}: next {search.describe(decision.chosen.cand)} ({decision.chosen.describe()})"
        )
    set_goal(ws, target={"value": max(0.01, sft.score)})  # SFT meets the target: the loop stops there
    _, after = search.decide(ws)
    assert after.chosen is None and after.stop.startswith("target met: run-001")


def test_an_out_of_memory_failure_gets_a_smaller_batch_with_gradient_accumulation(ws, set_goal, monkeypatch):
    _small(ws, set_goal)
    assert critic_step(ws).ok
    _human_hypothesis(ws, "sft", None, {"per_device_train_batch_size": 64}, "SFT with batch 64")
    oom = (
        "import sys; print('torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; "
        "79.15 GiB total capacity)'); sys.exit(1)"
    )
    monkeypatch.setattr(local, "entry_command", lambda spec: [sys.executable, "-c", oom])
    monkeypatch.setattr(trainer_module, "launch", lambda spec: local.launch_local(spec))
    _train_next(ws)
    tree, decision = search.decide(ws)
    failed = tree.node("run-001")
    assert failed.verdict == "failed" and failed.cause == OOM, failed.error
    chosen = decision.chosen.cand
    assert chosen.parent == BASE and chosen.retry_of == "run-001"
    assert chosen.delta["per_device_train_batch_size"] == 32 and chosen.delta["gradient_accumulation_steps"] == 2
    assert "out of memory" in chosen.reason
    alternatives = [s.cand.delta for s in decision.ranked]
    assert {"per_device_train_batch_size": 64, "gradient_checkpointing": True} in alternatives
    print(f"after {failed.id} (out of memory): {search.describe(chosen)}")
