"""The settings' inputs read from a real run: the model's config, this device, token lengths of the data."""

from __future__ import annotations

import json

from agents.example_goals import word_problems
from agents.models.refs import materialize_model
from agents.models.tiny import EMBEDDED_TINY
from agents.recipes.settings import tiny_recipe
from agents.trainer.fitting import device_now, fitted_values, model_shape


def _data(tmp_path, rows):
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_the_tiny_model_gets_todays_recipe_exactly(tmp_path):
    tiny = materialize_model(EMBEDDED_TINY, tmp_path / "models")
    data = _data(tmp_path, [{"prompt": "07+45=", "completion": "052", "answer": "052"}])
    for method in ("sft", "grpo"):
        values, notes = fitted_values(
            method, tiny, data, digits=2, step_scale=1.0, reward="exact_match", completion_tokens=None
        )
        assert values == tiny_recipe(method, 2, 1.0, reward="exact_match")
        assert notes[0] == "row embedded-tiny (its measured recipe)"


def test_smollm2_on_this_cpu_gets_lengths_measured_on_its_data(smollm2_dir, tmp_path):
    rows = [
        {"prompt": f"Question: {r['question']}\nAnswer:", "completion": " " + r["answer"], "answer": r["answer"][-3:]}
        for r in word_problems(64, seed=3, held_out=False)
    ]
    data = _data(tmp_path, rows)
    assert model_shape(smollm2_dir).parameters == 134_515_008
    assert not device_now().cuda
    values, notes = fitted_values(
        "sft", smollm2_dir, data, digits=2, step_scale=1.0, reward="correct", completion_tokens=48
    )
    assert values["learning_rate"] == 5e-5 and "peft" not in values and values["gradient_checkpointing"] is False
    # Chat-wrapped prompt (with SmolLM2's default system prompt) + worked answer: about 70-90 tokens, not 64.
    assert 64 < values["max_length"] <= 128 and values["max_length"] % 32 == 0
    assert values["per_device_train_batch_size"] * values["gradient_accumulation_steps"] == 16
    assert notes[0].startswith("row small-cpu: full, lr 5e-05, batch 16x1, max_length ")
    assert any("memory estimate" in n for n in notes)
    grpo, _ = fitted_values("grpo", smollm2_dir, data, digits=2, step_scale=1.0, reward="correct", completion_tokens=48)
    # Room for the worked answers (about 15 tokens), within the task's 48 new tokens.
    assert grpo["reward_funcs"] == {"correct": 1.0} and 16 <= grpo["max_completion_length"] <= 48
    assert grpo["per_device_train_batch_size"] % grpo["num_generations"] == 0
