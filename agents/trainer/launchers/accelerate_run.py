"""The `accelerate` launcher: `accelerate launch` runs train_entry in N processes on this machine.

With N > 1 it passes `--multi_gpu`, which in accelerate 1.15 means "start N workers with torchrun",
also on a machine with no GPU: `--cpu` would pick accelerate's single-process launcher. Each
worker then trains with TrainingArguments(use_cpu=True) when there is no CUDA (train_entry's
device_settings), which accelerate turns into MULTI_CPU over gloo. Only rank 0 writes metrics,
the tokenizer and the checkpoint (train_entry). Following, timeout, cancel and failure causes
are the local launcher's.
"""

from __future__ import annotations

import socket
import sys

from agents.trainer.launchers.common import LaunchOutcome, LaunchSpec
from agents.trainer.launchers.local import run_process


def free_port() -> int:
    """A port for the workers' rendezvous, so two runs (or test sessions) on one machine never collide."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def accelerate_command(spec: LaunchSpec, port: int | None = None) -> list[str]:
    n = spec.compute.num_processes
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(n), "--num_machines", "1"]
    cmd += ["--mixed_precision", "no", "--dynamo_backend", "no"]  # train_entry picks precision per device
    if n > 1:
        cmd += ["--multi_gpu", "--main_process_port", str(port or free_port())]
    return cmd + ["-m", "agents.trainer.train_entry", str(spec.run_dir), *spec.entry_args]


def launch_accelerate(spec: LaunchSpec) -> LaunchOutcome:
    env = dict(spec.env)
    env.setdefault("OMP_NUM_THREADS", "1")  # N processes share the cores; torch would oversubscribe them
    env["ACCELERATE_LOG_LEVEL"] = env.get("ACCELERATE_LOG_LEVEL", "warning")
    return run_process(LaunchSpec(**{**spec.__dict__, "env": env}), accelerate_command(spec))
