"""`compute: hf-jobs` against a local HTTP server that speaks the Hub and Jobs endpoints (hub_server.py).

The real huggingface_hub client does every request: inputs pushed with upload_folder, the job
started with run_job, followed with inspect_job, its logs read with fetch_job_logs, the checkpoint
fetched with snapshot_download. The server plays the remote side: the stages a job goes through
and, on COMPLETED, the push the job script makes (a real tiny model and its metrics).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from huggingface_hub import constants

from agents.models.loading import load_model
from agents.models.refs import materialize_model
from agents.models.tiny import EMBEDDED_TINY
from agents.trainer.launchers import LaunchSpec, cancel, hf_jobs
from agents.trainer.trainer import trainer_step
from bus import sha256_tree
from bus.schemas import Compute

from .hub_server import FakeHub, serve

TOKEN = "hf_" + "x" * 34
REPO = "tester/intern-runs"


@pytest.fixture
def hub(monkeypatch):
    fake = FakeHub(token=TOKEN)
    server, _ = serve(fake)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setenv("HF_ENDPOINT", fake.url)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # the conftest's 1 would refuse every request, even to 127.0.0.1
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hf_jobs, "POLL_SECONDS", 0.05)
    yield fake
    server.shutdown()
    server.server_close()


def _push_checkpoint(models, run_id: str = "run-001"):
    def push(hub: FakeHub) -> None:
        folder = materialize_model(EMBEDDED_TINY, models, seed=5)
        for path in sorted(p for p in Path(folder).iterdir() if p.is_file()):
            hub.push(REPO, f"{run_id}/checkpoint/{path.name}", path.read_bytes())
        rows = [{"step": s, "loss": 2.0 / s} for s in range(1, 11)]
        hub.push(REPO, f"{run_id}/metrics.jsonl", "".join(json.dumps(r) + "\n" for r in rows).encode())

    return push


@pytest.mark.slow
def test_a_completed_job_brings_its_checkpoint_home_and_the_token_stays_a_secret(trainable, set_goal, hub, tmp_path):
    ws = trainable()
    set_goal(ws, compute={"launcher": "hf-jobs", "flavor": "a10g-small", "timeout": "2h", "hub_repo": REPO})
    hub.on_complete = _push_checkpoint(tmp_path / "models")
    hub.log_lines = ["training on 40 rows", f"debug: token={TOKEN}", "done"]
    outcome = trainer_step(ws)
    assert outcome.ok, outcome.summary

    [job] = hub.job_requests
    assert job["flavor"] == "a10g-small" and job["timeoutSeconds"] == 7200
    assert job["secrets"] == {"HF_TOKEN": TOKEN}
    assert TOKEN not in json.dumps(job["environment"]) and TOKEN not in json.dumps(job["command"])
    assert job["command"][:2] == ["uv", "run"] and f"trl=={__import__('trl').__version__}" in job["command"]
    assert job["command"][-3:] == [REPO, "run-001", "addition"]
    pushed = hub.files[REPO]
    assert {"run-001/inputs/config.yaml", "run-001/inputs/train.jsonl", "run-001/inputs/contamination.json"} <= set(
        pushed
    )
    assert (
        "run-001/inputs/model/model.safetensors" in pushed and pushed["run-001/inputs/model.txt"] == b"inputs/model\n"
    )
    assert (
        "run-001/inputs/code/agents/trainer/train_entry.py" in pushed and "run-001/inputs/code/bus/schemas.py" in pushed
    )

    result = ws.load("runs/run-001/result.json")
    assert result.status == "succeeded" and result.steps == 10
    assert result.checkpoint_sha256 == sha256_tree(ws.path("runs/run-001/checkpoint"))
    log = ws.path("runs/run-001/train.log").read_text()
    assert "training on 40 rows" in log and TOKEN not in log and "[REDACTED]" in log
    assert TOKEN not in ws.repo.git.log("-p", "--all")
    # The job logs to no Trackio; its downloaded metrics are logged to the workspace's project afterwards.
    exe = str(Path(sys.executable).with_name("trackio"))
    cmd = [exe, "get", "metric", "--project", ws.root.name, "--run", "run-001", "--metric", "train/loss", "--json"]
    read = subprocess.run(cmd, env={**os.environ, "TRACKIO_DIR": str(ws.state_dir / "trackio")}, capture_output=True)
    assert [v["value"] for v in json.loads(read.stdout)["values"]] == pytest.approx([2.0 / s for s in range(1, 11)])


def _spec(ws, **compute) -> LaunchSpec:
    run_dir = ws.path("runs/run-001")
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text("run_id: run-001\n")
    data = ws.path("data.jsonl")
    data.write_text('{"prompt": "01+02=", "completion": "003"}\n')
    return LaunchSpec(
        run_id="run-001",
        method="sft",
        max_steps=10,
        run_dir=run_dir,
        entry_args=["someone/some-model", str(data), "addition", str(data)],
        env={},
        cwd=ws.root,
        cancel_file=ws.state_dir / cancel.CANCEL_FILE,
        compute=Compute(launcher="hf-jobs", hub_repo=REPO, **compute),
    )


def test_a_job_ending_in_error_fails_the_run_with_its_message_and_logs(ws, hub):
    hub.stages = ["SCHEDULING", "RUNNING", "ERROR"]
    hub.message = "Job failed with exit code: 1"
    hub.log_lines = ["loading someone/some-model", "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate"]
    outcome = hf_jobs.launch_hf_job(_spec(ws))
    assert outcome.error == "job job0001 ended ERROR: Job failed with exit code: 1"
    assert "CUDA out of memory" in outcome.log_tail
    assert "CUDA out of memory" in ws.path("runs/run-001/train.log").read_text()
    assert hub.files[REPO]["run-001/inputs/model.txt"] == b"someone/some-model\n"  # a Hub id is passed, not uploaded


def test_a_cancel_request_cancels_the_job(ws, hub):
    hub.stages = ["SCHEDULING"] + ["RUNNING"] * 1000
    spec = _spec(ws)
    cancel.request_cancel(ws.state_dir, "run-001")
    outcome = hf_jobs.launch_hf_job(spec)
    assert outcome.error.startswith("cancelled by request (.intern/cancel-run); job job0001 cancelled")
    assert hub.cancelled == ["job0001"] and not spec.cancel_file.exists()


def test_a_missing_named_secret_is_refused_before_anything_is_sent(ws, hub):
    outcome = hf_jobs.launch_hf_job(_spec(ws, secrets=["HF_TOKEN", "WANDB_API_KEY"]))
    assert outcome.error == "compute.secrets names WANDB_API_KEY, not set in this environment"
    assert hub.requests == []


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_endpoint_fails_fast_and_says_where(ws, hub, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    outcome = hf_jobs.launch_hf_job(_spec(ws))
    # Decided by the first request, a whoami with a PROBE_TIMEOUT-second limit, not by the client's retries.
    assert outcome.error.startswith("cannot reach http://127.0.0.1:") and "ConnectError" in outcome.error
    assert hub.requests == []


def test_offline_mode_and_a_missing_token_are_said_plainly(ws, hub, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert "HF_HUB_OFFLINE is set" in hf_jobs.launch_hf_job(_spec(ws)).error
    monkeypatch.delenv("HF_TOKEN")
    assert hf_jobs.launch_hf_job(_spec(ws)).error.startswith("compute hf-jobs needs a Hugging Face token")
    assert hub.requests == []


def _run_the_job_here(workdir: Path):
    """Play the Jobs service: run the job's own command (its `python -c SCRIPT ARGS` part) with its env and secrets."""

    def run(hub: FakeHub) -> None:
        [job] = hub.job_requests
        command = job["command"]
        script_and_args = command[command.index("python") + 1 :]
        env = {
            **{k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "PYTHONPATH")},
            **job["environment"],
            **job["secrets"],
            "HF_ENDPOINT": hub.url,
            "INTERN_JOB_DIR": str(workdir),
        }
        proc = subprocess.run([sys.executable, *script_and_args], env=env, capture_output=True, text=True)
        hub.log_lines = (proc.stdout + proc.stderr).splitlines()[-50:]
        if proc.returncode != 0:
            hub.stages[-1] = "ERROR"

    return run


@pytest.mark.slow
def test_the_job_script_really_trains_and_pushes_a_checkpoint_the_loop_can_use(trainable, set_goal, hub, tmp_path):
    """The script the job runs, run here against the same server: it downloads the inputs and intern's code,
    trains 10 SFT steps with train_entry, and pushes checkpoint and metrics, which the launcher brings home."""
    ws = trainable()
    set_goal(ws, compute={"launcher": "hf-jobs", "hub_repo": REPO})
    hub.run_here = _run_the_job_here(tmp_path / "job")
    outcome = trainer_step(ws)
    assert outcome.ok, outcome.summary + "\n" + "\n".join(hub.log_lines)
    assert "run-001/checkpoint/model.safetensors" in hub.files[REPO]
    result = ws.load("runs/run-001/result.json")
    assert result.status == "succeeded" and result.steps == 10
    load_model(str(ws.path("runs/run-001/checkpoint")))
