"""Backend choice (trl / unsloth) and the import order the training process keeps for unsloth."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from agents.trainer.backends import UNSLOTH_ALL_LINEAR, BackendError, choose_backend, lora_config

ROOT = Path(__file__).parents[3]


@pytest.mark.parametrize(
    ("requested", "cuda", "unsloth", "expected"),
    [
        ("auto", True, True, "unsloth"),
        ("auto", True, False, "trl"),
        ("auto", False, True, "trl"),
        ("auto", False, False, "trl"),
        ("trl", True, True, "trl"),
        ("unsloth", True, True, "unsloth"),
    ],
)
def test_choice(requested, cuda, unsloth, expected):
    assert choose_backend(requested, cuda, unsloth) == expected


def test_unsloth_without_cuda_is_refused_clearly():
    with pytest.raises(BackendError, match="backend unsloth needs an NVIDIA GPU \\(CUDA\\) and this machine has none"):
        choose_backend("unsloth", cuda=False, unsloth_installed=True)


def test_unsloth_not_installed_is_refused_clearly():
    with pytest.raises(BackendError, match="backend unsloth is not installed here \\(pip install unsloth\\)"):
        choose_backend("unsloth", cuda=True, unsloth_installed=False)


def test_lora_config_from_the_training_config():
    assert lora_config({"peft": None}) is None
    lora = lora_config({"peft": {"r": 4, "alpha": 8, "dropout": 0.1, "target_modules": ["q_proj", "v_proj"]}})
    assert (lora.r, lora.lora_alpha, lora.lora_dropout) == (4, 8, 0.1)
    assert set(lora.target_modules) == {"q_proj", "v_proj"} and lora.task_type == "CAUSAL_LM"
    assert "down_proj" in UNSLOTH_ALL_LINEAR


# Runs train_entry.main in a fresh interpreter that records every top-level import, with CUDA reported
# present so `backend: unsloth` gets as far as importing unsloth (not installed here).
_PROBE = """
import json, sys
order = []
class Recorder:
    def find_spec(self, name, path=None, target=None):
        if "." not in name and name not in order:
            order.append(name)
        return None
sys.meta_path.insert(0, Recorder())
import torch
torch.cuda.is_available = lambda: True
from agents.trainer import train_entry
code = train_entry.main(sys.argv[1:])
print("ORDER=" + json.dumps(order))
sys.exit(code)
"""


def _probe(tmp_path: Path, backend: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    config = {
        "run_id": "run-001",
        "method": "sft",
        "base_model": "embedded:tiny",
        "dataset": "d",
        "learning_rate": 1e-3,
        "max_steps": 1,
        "per_device_train_batch_size": 2,
        "backend": backend,
    }
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "train.jsonl").write_text("")
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, str(run_dir), "unused-model", str(tmp_path / "train.jsonl"), "addition"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("ORDER="))
    return proc, json.loads(line.removeprefix("ORDER="))


@pytest.mark.skipif(
    __import__("importlib").util.find_spec("unsloth") is not None, reason="checks the path where unsloth is absent"
)
def test_train_entry_tries_unsloth_before_importing_trl_or_transformers(tmp_path):
    proc, order = _probe(tmp_path, "unsloth")
    assert proc.returncode == 2
    assert "BackendError: backend unsloth is not installed here" in proc.stdout
    # Validation and the choice ran without trl or transformers: unsloth could still patch them.
    assert "trl" not in order and "transformers" not in order
    assert "torch" in order


def test_backend_unsloth_on_a_machine_without_cuda_stops_the_run_with_the_reason(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    config = {
        "run_id": "run-001",
        "method": "sft",
        "base_model": "embedded:tiny",
        "dataset": "d",
        "learning_rate": 1e-3,
        "max_steps": 1,
        "per_device_train_batch_size": 2,
        "backend": "unsloth",
    }
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    from agents.trainer import train_entry

    if __import__("torch").cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert train_entry.main([str(run_dir), "unused-model", str(tmp_path / "none.jsonl"), "addition"]) == 2
    assert "BackendError: backend unsloth needs an NVIDIA GPU" in capsys.readouterr().out
    assert not (run_dir / "metrics.jsonl").exists()
