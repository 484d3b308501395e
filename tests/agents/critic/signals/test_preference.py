"""Preference and PPO runs from the metric names TRL's trainers log, checked against the installed trl's sources.

No shared real log shows these methods, so the logs here are built from the names TRL writes
(trl/trainer/dpo_trainer.py, kto_trainer.py, experimental/orpo, experimental/cpo; PPO's from TRL's PPO
trainer documentation, its trainer no longer being in trl): a run that learns, one whose margins never
leave 0, and one whose DPO loss is ln 2 at every step.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from agents.critic.rundir import diagnose_path, format_report, verdict
from agents.critic.signals.methods import method_from_keys

DPO_KEYS = (
    "rewards/chosen",
    "rewards/rejected",
    "rewards/accuracies",
    "rewards/margins",
    "logps/chosen",
    "logps/rejected",
)
PPO_KEYS = ("objective/kl", "objective/entropy", "objective/rlhf_reward", "objective/scores", "loss/policy_avg",
            "loss/value_avg", "val/clipfrac_avg", "policy/approxkl_avg")  # fmt: skip


def _trl_source(relative: str) -> str:
    trl = pytest.importorskip("trl")
    return (Path(trl.__file__).parent / relative).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("source", "keys"),
    [
        ("trainer/dpo_trainer.py", DPO_KEYS),
        ("trainer/kto_trainer.py", (*DPO_KEYS[:2], "rewards/margins", "kl")),
        ("experimental/orpo/orpo_trainer.py", ("log_odds_ratio", "nll_loss", *DPO_KEYS[:4])),
        ("experimental/cpo/cpo_trainer.py", ("nll_loss", *DPO_KEYS[:4])),
    ],
)
def test_the_names_these_logs_use_are_the_ones_trl_logs(source, keys):
    text = _trl_source(source)
    for key in keys:
        assert f'"{key}"' in text or f'{{prefix}}{key}"' in text, f"{key} not logged by {source}"


def _state(tmp_path: Path, rows: list[dict], name: str = "run") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    state = {"global_step": rows[-1]["step"], "log_history": rows}
    (folder / "trainer_state.json").write_text(json.dumps(state), encoding="utf-8")
    return folder


def _dpo(step: int, loss: float, margin: float, accuracy: float, lr: float = 5e-7) -> dict:
    chosen = margin / 2
    return {
        "step": step, "epoch": step / 100, "loss": loss, "grad_norm": 2.0 + 0.3 * math.sin(step),
        "learning_rate": lr, "rewards/chosen": chosen, "rewards/rejected": chosen - margin,
        "rewards/accuracies": accuracy, "rewards/margins": margin, "logps/chosen": -120.0 + chosen,
        "logps/rejected": -130.0 + chosen - margin, "logits/chosen": -1.2, "logits/rejected": -1.3,
    }  # fmt: skip


def _learning_dpo() -> list[dict]:
    return [_dpo(s, math.log(2) * math.exp(-s / 300), 0.02 * s, min(0.95, 0.5 + 0.006 * s)) for s in range(10, 410, 10)]


def test_a_learning_dpo_run_names_its_method_first_and_reads_healthy(tmp_path):
    found = diagnose_path(_state(tmp_path, _learning_dpo()))
    first = format_report(found, tmp_path).splitlines()[0]
    assert "(DPO run," in first
    assert verdict(found) == "healthy", [f.name for f in found.findings]
    assert any(c.startswith("preference margins") for c in found.checked)
    assert not any(f.name == "loss plateau" for f in found.findings)


def test_a_dpo_loss_at_ln2_every_step_is_a_policy_equal_to_its_reference_said_first(tmp_path):
    rows = [_dpo(s, math.log(2) + 1e-5 * (s % 3), 0.0, 0.0) for s in range(10, 410, 10)]
    found = diagnose_path(_state(tmp_path, rows))
    first = found.findings[0]
    assert first.name == "policy equals its reference" and first.severity == "critical"
    assert "ln 2" in first.evidence and "0.6931" in first.evidence
    assert verdict(found).startswith("broken: policy equals its reference")
    assert "loss plateau" not in {f.name for f in found.findings}  # the cause is named, not a plateau


def test_dpo_margins_that_never_leave_zero_learned_no_preference(tmp_path):
    rows = [_dpo(s, 0.69 + 0.01 * math.sin(s), 0.01 * math.sin(s / 7), 0.5) for s in range(10, 410, 10)]
    found = diagnose_path(_state(tmp_path, rows))
    by = {f.name: f for f in found.findings}
    assert by["no preference learned"].severity == "warning"
    assert "never leaves 0" in by["no preference learned"].evidence
    assert "policy equals its reference" not in by  # the loss moves: not pinned at ln 2


def test_a_real_dpo_loss_at_zero_from_the_start_has_nothing_to_learn_from(tmp_path):
    rows = [_dpo(s, 0.0, 0.0, 0.0) | {"grad_norm": 0.0} for s in range(10, 210, 10)]
    found = diagnose_path(_state(tmp_path, rows))
    assert found.findings[0].name == "nothing to learn from" and found.findings[0].severity == "critical"


@pytest.mark.parametrize(
    ("extra", "method", "label"),
    [
        ({"kl": 0.1}, "kto", "KTO"),
        ({"log_odds_ratio": -0.5, "nll_loss": 1.2}, "orpo", "ORPO"),
        ({"nll_loss": 1.2}, "cpo", "CPO"),
    ],
)
def test_kto_orpo_and_cpo_are_told_apart_by_their_own_keys(tmp_path, extra, method, label):
    rows = [r | extra for r in _learning_dpo()]
    assert method_from_keys({k for r in rows for k in r}) == method
    found = diagnose_path(_state(tmp_path, rows))
    assert f"({label} run," in format_report(found, tmp_path).splitlines()[0]
    assert "policy equals its reference" not in {f.name for f in found.findings}  # ln 2 is DPO's constant only


def test_a_ppo_run_is_named_and_its_verdict_says_only_general_signals_were_read(tmp_path):
    rows = [
        {"step": s, "episode": 64 * s, "lr": 3e-6, "eps": 12, "objective/kl": 0.01 * s, "objective/entropy": 40.0,
         "objective/rlhf_reward": 0.5 + 0.01 * s, "objective/scores": 0.6 + 0.01 * s, "loss/policy_avg": -0.01,
         "loss/value_avg": 0.3, "val/clipfrac_avg": 0.05, "policy/approxkl_avg": 0.002}
        for s in range(1, 41)
    ]  # fmt: skip
    found = diagnose_path(_state(tmp_path, rows))
    assert found.logged.method == "ppo"
    assert "(PPO run," in format_report(found, tmp_path).splitlines()[0]
    assert "no PPO-specific rules" in verdict(found)
