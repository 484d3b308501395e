"""`intern diagnose` on runs intern did not make: TRL output folders, trainer_state.json files, Trackio runs."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agents.critic.rundir import diagnose_path
from agents.critic.signals.logrows import normalise_key, normalise_rows
from agents.critic.signals.trl_logs import (
    LogReadError,
    find_trainer_state,
    infer_method,
    read_logged_run,
    read_training_args,
)

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"
LOGS = FIXTURES / "real-trl-logs"
ARGS = FIXTURES / "trl-output" / "grpo-training_args.bin"
REPO = Path(__file__).resolve().parents[4]


def _intern(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "agents.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )


def _trl_output(tmp_path: Path, log: str = "grpo-chaos-economy-truncation") -> Path:
    """A GRPOTrainer output_dir: two checkpoints (the newer with the whole history), args, model and adapter config."""
    out = tmp_path / "my-grpo-run"
    state = json.loads((LOGS / log / "trainer_state.json").read_text())
    early = {**state, "global_step": 100, "log_history": state["log_history"][:20]}
    for step, data in ((100, early), (200, state)):
        ckpt = out / f"checkpoint-{step}"
        ckpt.mkdir(parents=True)
        (ckpt / "trainer_state.json").write_text(json.dumps(data))
        shutil.copy(ARGS, ckpt / "training_args.bin")
        (ckpt / "adapter_config.json").write_text(
            json.dumps({"base_model_name_or_path": "Qwen/Qwen2.5-0.5B-Instruct", "r": 16, "lora_alpha": 32})
        )
    (out / "config.json").write_text(json.dumps({"_name_or_path": "Qwen/Qwen2.5-0.5B-Instruct"}))
    return out


def test_keys_of_trackers_and_older_trl_read_as_the_modern_ones():
    assert normalise_key("train/loss") == "loss" and normalise_key("eval/loss") == "eval_loss"
    assert normalise_key("completion_length") == "completions/mean_length"
    assert normalise_key("rewards/correctness_reward_func") == "rewards/correctness_reward_func/mean"
    assert normalise_key("rewards/fn/std") == "rewards/fn/std" and normalise_key("rewards/margins") == "rewards/margins"
    rows = normalise_rows([{"completion_length": 9.0, "completions/mean_length": 10.0, "train/global_step": 3}])
    assert rows[0]["completions/mean_length"] == 10.0  # the modern key wins over its old alias
    assert infer_method(rows) == "grpo" and infer_method([{"loss": 1.0}]) == "sft"
    assert infer_method([{"rewards/chosen": 1.0, "rewards/margins": 0.1}]) == "sft"  # DPO's implicit rewards


def test_training_args_are_read_without_running_the_pickle():
    fields, cls = read_training_args(ARGS)
    assert cls == "GRPOConfig" and fields["num_generations"] == 2 and fields["max_completion_length"] == 512
    assert fields["lr_scheduler_type"] == "linear"  # an Enum member comes out as its value


def test_a_hostile_training_args_bin_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"

    class Hostile:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    (tmp_path / "training_args.bin").write_bytes(pickle.dumps(Hostile()))
    with pytest.raises(LogReadError, match="holds no training arguments"):
        read_training_args(tmp_path / "training_args.bin")
    assert not marker.exists()


def test_a_trl_output_folder_with_checkpoints_diagnoses_in_one_command(tmp_path):
    out = _trl_output(tmp_path)
    assert find_trainer_state(out) == out / "checkpoint-200" / "trainer_state.json"
    logged = read_logged_run(out)
    assert logged.config.method == "grpo" and logged.config.num_generations == 2
    assert {"num_generations", "max_completion_length", "method"} <= logged.known
    assert logged.meta["checkpoints"] == [100, 200] and logged.config.base_model == "Qwen/Qwen2.5-0.5B-Instruct"
    proc = _intern("diagnose", str(out), "--plot")
    assert proc.returncode == 0, proc.stderr
    assert "my-grpo-run (GRPO run, 40 logged rows, steps 5-200) from" in proc.stdout
    assert "method GRPO: GRPOConfig in training_args.bin" in proc.stdout
    assert "truncation / length blow-up (critical)" in proc.stdout
    assert "group too small (warning): 2 completions per group (num_generations in the config)" in proc.stdout
    assert "verdict: broken:" in proc.stdout
    png = (out / "curves.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000


def test_json_for_scripts_on_a_trainer_state_file(tmp_path):
    proc = _intern("diagnose", str(LOGS / "sft-classifier-overfit-eval-rising" / "trainer_state.json"), "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["kind"] == "trl" and data["method"] == "classifier" and data["steps"] == [500, 10350]
    over = next(f for f in data["findings"] if f["name"] == "over-fitting")
    assert over["values"]["best_step"] == 3105 and over["remedies"][0]["paper"] == "2501.17161"
    assert data["verdict"] == "needs attention: over-fitting (warning)" and data["healthy"] is False
    assert data["checked"] and data["diagnosis"] is None


@pytest.mark.parametrize(
    ("what", "message"),
    [
        ("empty", "nothing to diagnose"),
        ("garbage", "not JSON"),
        ("no-history", "no log_history"),
        ("txt", "not a directory"),
    ],
)
def test_a_folder_without_metrics_gets_one_clear_line(tmp_path, what, message):
    target = tmp_path / "outputs"
    target.mkdir()
    (target / "README.md").write_text("a model card, no logs\n")
    if what == "garbage":
        (target / "trainer_state.json").write_text("{torn")
    elif what == "no-history":
        (target / "trainer_state.json").write_text('{"global_step": 3}')
    elif what == "txt":
        target = target / "README.md"
    proc = _intern("diagnose", str(target))
    assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and message in proc.stderr


def test_a_trackio_run_is_read_through_trackios_api(tmp_path):
    env = {"TRACKIO_DIR": str(tmp_path / "trackio"), "HF_HUB_OFFLINE": "1"}
    rows = [
        r
        for r in json.loads((LOGS / "sft-classifier-overfit-eval-rising" / "trainer_state.json").read_text())[
            "log_history"
        ]
    ]
    script = (
        "import json, sys, trackio\n"
        "trackio.init(project='news', name='cls-1', config={'learning_rate': 2e-5}, embed=False)\n"
        "for row in json.loads(sys.stdin.read()):\n"
        "    step = row.pop('step')\n"
        "    prefix = 'eval/' if any(k.startswith('eval_') for k in row) else 'train/'\n"
        "    trackio.log({prefix + k.removeprefix('eval_'): v for k, v in row.items()}, step=step)\n"
        "trackio.finish()\n"
    )
    made = subprocess.run(
        [sys.executable, "-c", script], input=json.dumps(rows), capture_output=True, text=True, timeout=120,
        env={**os.environ, **env},
    )  # fmt: skip
    assert made.returncode == 0, made.stderr[-2000:]
    proc = _intern("diagnose", "--trackio", "news/cls-1", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["source"] == "trackio news/cls-1" and data["kind"] == "trackio"
    assert next(f for f in data["findings"] if f["name"] == "over-fitting")["values"]["best_step"] == 3105
    missing = _intern("diagnose", "--trackio", "news/nope", env=env)
    assert missing.returncode == 2 and "has no run 'nope'" in missing.stderr and "cls-1" in missing.stderr


def test_an_intern_run_folder_still_reads_as_before(tmp_path):
    run = tmp_path / "run-001"
    run.mkdir()
    (run / "config.yaml").write_text((FIXTURES / "metrics" / "sft-healthy.config.yaml").read_text())
    (run / "metrics.jsonl").write_text((FIXTURES / "metrics" / "sft-healthy.jsonl").read_text())
    found = diagnose_path(run)
    assert found.logged is None and found.findings == [] and found.checked


def test_an_unreadable_training_args_bin_leaves_the_logs_to_speak(tmp_path):
    run = tmp_path / "results" / "checkpoint-10350"
    run.mkdir(parents=True)
    shutil.copy(LOGS / "sft-classifier-overfit-eval-rising" / "trainer_state.json", run)
    (run / "training_args.bin").write_bytes(b"PK\x03\x04 not really a zip")
    found = diagnose_path(run)
    assert found.config.run_id == "results" and any("training_args.bin: unreadable" in n for n in found.logged.notes)
    assert "over-fitting" in [f.name for f in found.findings]
