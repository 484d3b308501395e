"""`compute: accelerate`: a real 2-process run on CPU (torchrun workers, gloo) of the tiny model, 10 SFT steps."""

from __future__ import annotations

import pytest

from agents.common import state
from agents.models.loading import load_model
from agents.trainer.launchers import LaunchSpec, cancel
from agents.trainer.launchers.accelerate_run import accelerate_command
from agents.trainer.trainer import trainer_step
from bus import sha256_tree
from bus.schemas import Compute


def test_the_command_starts_n_workers_without_forcing_the_single_process_cpu_launcher(tmp_path):
    spec = LaunchSpec(
        run_id="run-001",
        method="sft",
        max_steps=10,
        run_dir=tmp_path / "run-001",
        entry_args=["MODEL", "DATA", "addition", "REPORT"],
        env={},
        cwd=tmp_path,
        cancel_file=tmp_path / cancel.CANCEL_FILE,
        compute=Compute(launcher="accelerate", num_processes=3),
    )
    cmd = accelerate_command(spec, port=29999)
    assert cmd[1:3] == ["-m", "accelerate.commands.launch"]
    assert cmd[cmd.index("--num_processes") + 1] == "3" and "--multi_gpu" in cmd and "--cpu" not in cmd
    assert cmd[cmd.index("--main_process_port") + 1] == "29999"
    assert cmd[-7:] == ["-m", "agents.trainer.train_entry", str(spec.run_dir), "MODEL", "DATA", "addition", "REPORT"]
    spec.compute = Compute(launcher="accelerate", num_processes=1)
    assert "--multi_gpu" not in accelerate_command(spec)


@pytest.mark.slow
def test_two_cpu_processes_train_and_only_rank_zero_writes(trainable, set_goal):
    ws = trainable()  # 10 SFT steps
    set_goal(ws, compute={"launcher": "accelerate", "num_processes": 2})
    outcome = trainer_step(ws)
    log = ws.path("runs/run-001/train.log").read_text()
    assert outcome.ok, outcome.summary + "\n" + log[-3000:]
    assert "(rank 0 of 2)" in log and "(rank 1 of 2)" in log  # both workers ran
    rows = state.read_metrics(ws.path("runs/run-001/metrics.jsonl"))
    loss_steps = [row["step"] for row in rows if "loss" in row]
    assert loss_steps == list(range(1, 11))  # one writer: each step logged once, not once per rank
    assert sum("train_runtime" in row for row in rows) == 1
    result = ws.load("runs/run-001/result.json")
    assert result.status == "succeeded" and result.steps == 10
    checkpoint = ws.path("runs/run-001/checkpoint")
    assert result.checkpoint_sha256 == sha256_tree(checkpoint)
    model, tokenizer = load_model(str(checkpoint))
    assert tokenizer("12+34=")["input_ids"] and model.num_parameters() > 300_000
