"""The settings table: the chosen config and its memory estimate fit the device and match the cited sources.

Model shapes are the published config.json values (no download); token lengths are measured on real data
(tests' copies of GSM8K and MATH-500, the GPQA fixture) with SmolLM2's tokenizer, through its chat template.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from agents.recipes import settings
from agents.recipes.memory import GIB, USABLE, ModelShape
from agents.recipes.settings import TABLE, Device, choose, measure_lengths, row_for, tiny_recipe
from agents.trainer.validation import check_training_config
from bus.schemas import TrainingConfig

REAL = Path("/work/shared/reference/real-datasets")
FIXTURES = Path(__file__).parents[2] / "fixtures" / "tasks"

QWEN3_06B = {
    "hidden_size": 1024,
    "intermediate_size": 3072,
    "num_hidden_layers": 28,
    "num_attention_heads": 16,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "vocab_size": 151936,
    "max_position_embeddings": 40960,
    "tie_word_embeddings": True,
}
QWEN3_17B = {
    "hidden_size": 2048,
    "intermediate_size": 6144,
    "num_hidden_layers": 28,
    "num_attention_heads": 16,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "vocab_size": 151936,
    "max_position_embeddings": 40960,
    "tie_word_embeddings": True,
}
QWEN25_7B = {
    "hidden_size": 3584,
    "intermediate_size": 18944,
    "num_hidden_layers": 28,
    "num_attention_heads": 28,
    "num_key_value_heads": 4,
    "vocab_size": 152064,
    "max_position_embeddings": 32768,
    "tie_word_embeddings": False,
}
SMOLLM2_135M = {
    "hidden_size": 576,
    "intermediate_size": 1536,
    "num_hidden_layers": 30,
    "num_attention_heads": 9,
    "num_key_value_heads": 3,
    "vocab_size": 49152,
    "max_position_embeddings": 8192,
    "tie_word_embeddings": True,
}


def trl_default(config_class: str, name: str):
    import trl

    cls = getattr(trl, config_class)
    return next(f.default for f in dataclasses.fields(cls) if f.name == name)


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _data_source(name: str) -> tuple[list[str], list[str]]:
    """(prompts, worked completions) in the task's own prompt format, read from real files."""
    from agents.tasks import gpqa, gsm8k, math_answers
    from agents.tasks.hub import load_rows

    if name == "gsm8k":
        rows = _rows(REAL / "gsm8k" / "test.jsonl")
        return [gsm8k.prompt(r["question"]) for r in rows], [" " + r["answer"] for r in rows]
    if name == "math":
        rows = _rows(REAL / "math500" / "test_ori.jsonl")
        return [math_answers.prompt(r["problem"]) for r in rows], [" " + r["solution"] for r in rows]
    rows = load_rows(str(FIXTURES / "gpqa" / "gpqa_diamond.csv"), split="train")
    prompts = [
        gpqa.prompt(r["Question"], gpqa.shuffled_choices(r["Correct Answer"], [r[c] for c in gpqa.INCORRECT], 0, i)[0])
        for i, r in enumerate(rows)
    ]
    return prompts, [" " + r["Explanation"] for r in rows]


@pytest.fixture(scope="module")
def measure(smollm2_dir):
    from transformers import AutoTokenizer

    from agents.models.sampling import as_model_prompts

    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)

    def lengths(name: str):
        prompts, completions = _data_source(name)
        p = tokenizer(as_model_prompts(tokenizer, prompts), add_special_tokens=False)["input_ids"]
        c = tokenizer(completions, add_special_tokens=False)["input_ids"]
        return measure_lengths([len(x) for x in p], [len(x) + 2 for x in c])

    return lengths


def _check(s: settings.Settings, method: str, device: Device) -> TrainingConfig:
    assert s.memory.total <= device.memory_bytes * USABLE, s.notes
    config = TrainingConfig(
        run_id="run-001",
        method=method,
        base_model="m",
        dataset="d",
        **({"reward_funcs": {"correct": 1.0}} if method == "grpo" else {}),
        **s.config,
    )
    return check_training_config(config, "gsm8k")


def test_parameters_from_the_config_match_the_published_sizes():
    assert ModelShape.from_config(QWEN3_06B).parameters == pytest.approx(0.596e9, rel=0.02)
    assert ModelShape.from_config(QWEN3_17B).parameters == pytest.approx(1.72e9, rel=0.02)
    assert ModelShape.from_config(QWEN25_7B).parameters == pytest.approx(7.6e9, rel=0.02)
    assert ModelShape.from_config(SMOLLM2_135M).parameters == pytest.approx(134_515_008, rel=0.001)


def test_qwen3_06b_gsm8k_on_one_80gb_gpu_trains_in_full(measure):
    lengths = measure("gsm8k")
    device = Device(cuda=True, memory_bytes=79 * GIB, bf16=True, vllm=True)
    shape = ModelShape.from_config(QWEN3_06B)
    sft = choose("sft", shape, device, lengths)
    assert sft.row.name == "gpu-small" and "peft" not in sft.config
    # TRL's own SFT default, as the row cites; max_length covers the measured long tail of GSM8K
    assert sft.config["learning_rate"] == trl_default("SFTConfig", "learning_rate") == 2e-5
    assert lengths.sequence_p99 <= sft.config["max_length"] < lengths.sequence_p99 + 32
    assert sft.config["per_device_train_batch_size"] * sft.config["gradient_accumulation_steps"] == 32
    assert sft.config["gradient_checkpointing"] is False  # it fits without recomputing layers
    _check(sft, "sft", device)
    grpo = choose("grpo", shape, device, lengths, completion_budget=256)
    assert grpo.config["learning_rate"] == trl_default("GRPOConfig", "learning_rate") == 1e-6
    assert grpo.config["num_generations"] == trl_default("GRPOConfig", "num_generations") == 8
    assert grpo.config["use_vllm"] is True and grpo.memory.generation == pytest.approx(0.3 * 79 * GIB)
    assert grpo.config["max_completion_length"] <= 256
    assert grpo.config["per_device_train_batch_size"] % 8 == 0
    _check(grpo, "grpo", device)


def test_qwen3_17b_gpqa_on_one_24gb_gpu_needs_lora(measure):
    lengths = measure("gpqa")
    device = Device(cuda=True, memory_bytes=23.5 * GIB, bf16=True)
    shape = ModelShape.from_config(QWEN3_17B)
    sft = choose("sft", shape, device, lengths)
    # Full fine-tuning: 16 bytes per parameter (ZeRO's accounting) is ~27.5 GB, more than the card has.
    assert 16 * shape.parameters > device.memory_bytes
    assert sft.config["peft"] == {"r": 32, "alpha": 64, "dropout": 0.0, "target_modules": "all-linear"}
    assert sft.config["learning_rate"] == settings.LORA_LEARNING_RATE["sft"] == 2e-4  # Unsloth's notebooks
    assert any("LoRA r=32" in n for n in sft.notes)
    _check(sft, "sft", device)
    grpo = choose("grpo", shape, device, lengths, completion_budget=32)
    assert grpo.config["peft"]["r"] == 32 and grpo.config["learning_rate"] == 5e-6
    assert grpo.config["use_vllm"] is False  # vllm not installed on this device
    assert grpo.config["max_completion_length"] <= 32
    _check(grpo, "grpo", device)


def test_7b_math_on_one_141gb_gpu_full_sft_but_lora_grpo_beside_vllm(measure):
    lengths = measure("math")
    device = Device(cuda=True, memory_bytes=140 * GIB, bf16=True, vllm=True)
    shape = ModelShape.from_config(QWEN25_7B)
    sft = choose("sft", shape, device, lengths)
    assert sft.row.name == "gpu-large"
    # 16 bytes per parameter (~122 GB) leaves room on 140 GB for one MATH sequence at a time: full fine-tuning,
    # the effective batch of 32 reached by accumulation.
    assert "peft" not in sft.config
    assert sft.config["per_device_train_batch_size"] * sft.config["gradient_accumulation_steps"] == 32
    assert sft.config["per_device_train_batch_size"] <= 2
    _check(sft, "sft", device)
    # vLLM colocated takes 30% of the card (TRL's vllm_gpu_memory_utilization): full weights no longer fit.
    assert trl_default("GRPOConfig", "vllm_gpu_memory_utilization") == settings.VLLM_SHARE
    grpo = choose("grpo", shape, device, lengths, completion_budget=512)
    assert grpo.config["peft"]["r"] == 32 and grpo.config["use_vllm"] is True
    _check(grpo, "grpo", device)


def test_smollm2_on_this_cpu_is_the_measured_full_fine_tuning(measure):
    lengths = measure("gsm8k")
    device = Device(cuda=False, memory_bytes=8 * GIB)
    shape = ModelShape.from_config(SMOLLM2_135M)
    sft = choose("sft", shape, device, lengths)
    assert sft.row.name == "small-cpu" and "peft" not in sft.config
    # The facts file's measurement: full fine-tuning, AdamW lr 5e-5, batch 16.
    assert sft.config["learning_rate"] == 5e-5 and "5e-5" in sft.row.source
    assert sft.config["per_device_train_batch_size"] * sft.config["gradient_accumulation_steps"] == 16
    assert sft.config["gradient_checkpointing"] is False  # never on a CPU: 9x slower (facts file)
    # About 4x the fp32 weights (~2.2 GB) plus activations, as the facts file measured.
    assert 2.0 * GIB < sft.memory.weights + sft.memory.gradients + sft.memory.optimizer < 2.3 * GIB
    _check(sft, "sft", device)


def test_the_tiny_models_row_is_todays_recipe():
    tiny = row_for(350_000, cuda=False)
    assert tiny.name == "embedded-tiny" and row_for(350_000, cuda=True) is tiny
    assert tiny_recipe("sft", 2, 1.0) == {
        "learning_rate": 1e-3,
        "lr_scheduler_type": "cosine",
        "warmup_steps": 30,
        "max_steps": 800,
        "per_device_train_batch_size": 64,
        "max_length": 64,
    }
    assert tiny_recipe("grpo", 2, 1.0)["per_device_train_batch_size"] == 128


def test_every_row_cites_a_source_and_rows_cover_every_size():
    for row in TABLE:
        assert row.source and row.when
    for parameters in (1e5, 1e8, 2e9, 7e9, 7e10):
        for cuda in (False, True):
            assert row_for(int(parameters), cuda) is not None


def test_without_rows_to_measure_the_lengths_are_said_to_be_assumed():
    s = choose("sft", ModelShape.from_config(SMOLLM2_135M), Device(cuda=False, memory_bytes=8 * GIB), None)
    assert s.config["max_length"] == 1024 and any("assumed" in n for n in s.notes)
    _check(s, "sft", Device(cuda=False, memory_bytes=8 * GIB))
