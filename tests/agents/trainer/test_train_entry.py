"""The training process itself: real SFT and GRPO runs of a few steps on the embedded tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from agents.modeling import EMBEDDED_TINY, materialize_model
from agents.trainer import train_entry

ROWS = [
    {"prompt": f"{a:02d}+{b:02d}=", "completion": f"{a + b:03d}", "answer": f"{a + b:03d}"}
    for a in range(0, 40, 5)
    for b in range(0, 40, 7)
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> str:
    return materialize_model(EMBEDDED_TINY, tmp_path_factory.mktemp("models"), seed=0)


@pytest.fixture(autouse=True)
def _no_trackio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERN_TRACKIO", "0")


def _run(tmp_path: Path, model: str, **config) -> tuple[int, Path]:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    base = {"run_id": "run-001", "base_model": EMBEDDED_TINY, "dataset": "d", "learning_rate": 1e-3, "max_steps": 3}
    (run_dir / "config.yaml").write_text(yaml.safe_dump({**base, **config}))
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return train_entry.main([str(run_dir), model, str(data), "addition"]), run_dir


def _metrics(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_sft_trains_and_saves_a_loadable_checkpoint(tmp_path, tiny):
    code, run_dir = _run(tmp_path, tiny, method="sft", per_device_train_batch_size=8)
    assert code == 0
    rows = _metrics(run_dir)
    assert rows[-1]["step"] == 3 and any("loss" in r for r in rows)
    assert (run_dir / "checkpoint" / "config.json").exists()
    assert not (run_dir / "checkpoint" / "adapter_config.json").exists()


def test_grpo_trains_with_a_config_bound_reward(tmp_path, tiny):
    code, run_dir = _run(
        tmp_path,
        tiny,
        method="grpo",
        per_device_train_batch_size=8,
        num_generations=4,
        max_completion_length=5,
        reward_funcs={"exact_match": 1.0, "soft_overlong": 0.5},
        overlong_buffer=2,
    )
    assert code == 0
    rows = _metrics(run_dir)
    logged = {k for r in rows for k in r}
    # TRL logged both rewards under their names; the soft punishment is never positive.
    assert {"rewards/exact_match_reward/mean", "rewards/soft_overlong_reward/mean"} <= logged
    assert all(r["rewards/soft_overlong_reward/mean"] <= 0 for r in rows if "rewards/soft_overlong_reward/mean" in r)


def test_an_edited_config_that_is_invalid_stops_before_training(tmp_path, tiny, capsys):
    code, run_dir = _run(tmp_path, tiny, method="grpo", per_device_train_batch_size=8, reward_funcs={"bleu": 1.0})
    assert code == 2
    out = capsys.readouterr().out
    assert "ConfigError:" in out and "reward_funcs: reward 'bleu' is not a reward of task addition" in out
    assert not (run_dir / "metrics.jsonl").exists() and not (run_dir / "checkpoint").exists()
