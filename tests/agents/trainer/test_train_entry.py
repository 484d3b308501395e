"""The training process itself: real SFT and GRPO runs of a few steps on the embedded tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from agents.models.refs import materialize_model
from agents.models.tiny import EMBEDDED_TINY
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


def test_lora_trains_adapters_only_and_saves_a_merged_checkpoint(tmp_path, tiny):
    from transformers import AutoModelForCausalLM

    lora = {"r": 4, "alpha": 8, "target_modules": ["q_proj", "v_proj"]}
    code, run_dir = _run(tmp_path, tiny, method="sft", per_device_train_batch_size=8, learning_rate=1e-2, peft=lora)
    assert code == 0
    checkpoint = run_dir / "checkpoint"
    assert not (checkpoint / "adapter_config.json").exists()  # merged: plain transformers loads it
    trained = AutoModelForCausalLM.from_pretrained(checkpoint).state_dict()
    base = AutoModelForCausalLM.from_pretrained(tiny).state_dict()
    assert not any("lora" in k for k in trained)
    changed = {k for k in base if not (base[k] == trained[k]).all()}
    # Only the layers LoRA wrapped moved; embeddings and MLPs are the base model's.
    assert changed and all(("q_proj" in k or "v_proj" in k) for k in changed)


def test_grpo_with_lora(tmp_path, tiny):
    code, run_dir = _run(
        tmp_path,
        tiny,
        method="grpo",
        per_device_train_batch_size=8,
        num_generations=4,
        max_completion_length=4,
        reward_funcs={"digits": 1.0},
        peft={"r": 2},
        max_steps=2,
    )
    assert code == 0 and (run_dir / "checkpoint" / "config.json").exists()
    assert any("rewards/digit_partial_reward/mean" in r for r in _metrics(run_dir))


def test_prompts_go_as_text_to_a_model_whose_template_would_not_teach_it_to_stop(tmp_path, tiny, capsys):
    from agents.models.loading import load_model

    _, tokenizer = load_model(tiny)
    rows = [{"prompt": "07+45=", "completion": "052"}]
    assert train_entry.training_dataset({}, rows, tokenizer, ("prompt", "completion"))[0] == rows[0]
    forced = train_entry.training_dataset({"chat_template": True}, rows, tokenizer, ("prompt", "completion"))[0]
    assert forced["prompt"] == [{"role": "user", "content": "07+45="}]
    assert forced["completion"] == [{"role": "assistant", "content": "052"}]
    context = [{"role": "user", "content": "Add."}, {"role": "assistant", "content": "Which numbers?"}]
    chat_row = {**rows[0], "context": context}
    turns = train_entry.training_dataset({"chat_template": True}, [chat_row], tokenizer, ("prompt", "completion"))[0]
    assert turns["prompt"] == [*context, {"role": "user", "content": "07+45="}]  # earlier turns come first
    tokenizer.chat_template = None
    with pytest.raises(ValueError, match="chat_template: true, but the model's tokenizer has no chat template"):
        train_entry.training_dataset({"chat_template": True}, rows, tokenizer, ("prompt", "completion"))


def test_a_config_that_is_not_yaml_stops_with_one_line(tmp_path, tiny, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text("run_id: [unclosed\n")
    assert train_entry.main([str(run_dir), tiny, str(tmp_path / "none.jsonl"), "addition"]) == 2
    assert "config.yaml is not valid YAML" in capsys.readouterr().out


def test_a_run_whose_deadline_comes_mid_training_stops_cleanly_and_saves(tmp_path, tiny, monkeypatch):
    """Planned for far more steps than the seconds it has: it stops before the deadline, saves a loadable
    checkpoint, and says where it was cut."""
    import time

    from agents.models.loading import load_model
    from agents.trainer.deadline import DEADLINE_ENV, read_cut

    deadline = time.time() + 8.0  # 5 s of it kept for the save: a few seconds of training
    monkeypatch.setenv(DEADLINE_ENV, f"{deadline:.3f}")
    code, run_dir = _run(tmp_path, tiny, method="sft", per_device_train_batch_size=8, max_steps=100_000)
    assert code == 0
    cut = read_cut(run_dir)
    assert cut is not None and cut["planned"] == 100_000 and 1 < cut["step"] < 100_000
    assert cut["reason"] == "the budget's deadline"
    assert _metrics(run_dir)[-1]["step"] == cut["step"]
    assert time.time() < deadline  # stopped and saved before the deadline, not after 100k steps
    load_model(str(run_dir / "checkpoint"))


def test_a_deadline_that_is_not_a_number_stops_before_training(tmp_path, tiny, monkeypatch, capsys):
    from agents.trainer.deadline import DEADLINE_ENV

    monkeypatch.setenv(DEADLINE_ENV, "soon")
    code, run_dir = _run(tmp_path, tiny, method="sft", per_device_train_batch_size=8)
    assert code == 2 and "INTERN_TRAIN_DEADLINE='soon' is not epoch seconds" in capsys.readouterr().out
    assert not (run_dir / "checkpoint").exists()
