"""The `hf-jobs` launcher: the run trains in a Hugging Face Job and pushes its checkpoint to the Hub.

1. The inputs (config.yaml, training rows, contamination report, a local starting model, and
   intern's agents/ and bus/ source) go to `hub_repo` under <run_id>/inputs/ (upload_folder).
2. `HfApi.run_job` starts hf_job_script.py on the uv image with the installed versions of the
   training stack, on `flavor`, stopped by the Jobs service after `timeout`. HF_TOKEN (and every
   name in `secrets`) goes in the job's secrets, never in its env, never in a file or log here.
3. `inspect_job` is polled (SCHEDULING, RUNNING, COMPLETED, CANCELED, ERROR, DELETED); a cancel
   request (.intern/cancel-run) or the loop's own deadline calls `cancel_job`.
4. On COMPLETED, <run_id>/checkpoint/ and metrics.jsonl are downloaded (snapshot_download) into the
   run folder, so the critic evaluates and hashes them like a local run's, and the metrics are
   logged to the workspace's Trackio project (the job itself logs to no Trackio). Otherwise the run fails
   with the job's message and the tail of its logs (fetch_job_logs), which also land in train.log.
An unreachable Hub fails in seconds with the endpoint named. Tested against a local HTTP server
speaking these endpoints (tests/agents/trainer/launchers/test_hf_jobs.py).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from importlib import metadata, resources
from pathlib import Path

from agents.common.tracking import replay_metrics
from agents.trainer.launchers import cancel
from agents.trainer.launchers.common import LaunchOutcome, LaunchSpec, failure_cause
from bus.redact import redact

UV_IMAGE = "ghcr.io/astral-sh/uv:python3.12-bookworm"
# The job installs the versions installed here, so it trains with the same stack as a local run.
JOB_PACKAGES = (
    "torch",
    "transformers",
    "trl",
    "datasets",
    "accelerate",
    "peft",
    "tokenizers",
    "safetensors",
    "huggingface_hub",
    "pydantic",
    "pyyaml",
    "gitpython",
)
POLL_SECONDS = 10.0
PROBE_TIMEOUT = 5.0
FAILED_STAGES = ("ERROR", "CANCELED", "DELETED")


class HubJobError(RuntimeError):
    """The Hub or the Jobs service refused or could not be reached: one line, no token in it."""


def job_dependencies() -> list[str]:
    deps = []
    for name in JOB_PACKAGES:
        try:
            deps.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            deps.append(name)
    return deps


def job_command(repo: str, run_id: str, task: str) -> list[str]:
    script = resources.files("agents.trainer.launchers").joinpath("hf_job_script.py").read_text()
    cmd = ["uv", "run", "--python", "3.12"]
    for dep in job_dependencies():
        cmd += ["--with", dep]
    return cmd + ["python", "-c", script, repo, run_id, task]


def _token() -> str:
    from huggingface_hub import get_token

    token = os.environ.get("HF_TOKEN") or get_token()
    if not token:
        raise HubJobError("compute hf-jobs needs a Hugging Face token: set HF_TOKEN or run `hf auth login`")
    return token


def _secrets(names: list[str], token: str) -> dict[str, str]:
    missing = [n for n in names if n != "HF_TOKEN" and not os.environ.get(n)]
    if missing:
        raise HubJobError(f"compute.secrets names {', '.join(missing)}, not set in this environment")
    return {"HF_TOKEN": token, **{n: os.environ[n] for n in names if n != "HF_TOKEN"}}


def _namespace(api, compute, token: str) -> str:
    """The Jobs namespace; asking whoami first also proves, within PROBE_TIMEOUT, that the Hub answers."""
    import httpx
    from huggingface_hub import constants

    if os.environ.get("HF_HUB_OFFLINE") == "1" or constants.is_offline_mode():
        raise HubJobError("compute hf-jobs needs the Hub, and HF_HUB_OFFLINE is set (this machine is offline)")
    try:
        response = httpx.get(
            f"{api.endpoint}/api/whoami-v2",
            headers={"authorization": f"Bearer {token}"},
            timeout=PROBE_TIMEOUT,
        )
    except httpx.HTTPError as exc:
        raise HubJobError(f"cannot reach {api.endpoint}: {type(exc).__name__}: {exc}") from None
    if response.status_code != 200:
        raise HubJobError(f"{api.endpoint} refused the token (HTTP {response.status_code} on whoami)")
    return compute.namespace or response.json()["name"]


def stage_inputs(spec: LaunchSpec, folder: Path) -> None:
    """Everything the job needs, in one folder: config, data, report, starting model, intern's code."""
    model, data, _task, report = spec.entry_args
    shutil.copy(spec.run_dir / "config.yaml", folder / "config.yaml")
    shutil.copy(data, folder / "train.jsonl")
    shutil.copy(report, folder / "contamination.json")
    if Path(model).is_dir():
        shutil.copytree(model, folder / "model")
        (folder / "model.txt").write_text("inputs/model\n")
    else:
        (folder / "model.txt").write_text(model + "\n")
    source = Path(resources.files("agents")).parent
    for package in ("agents", "bus"):
        shutil.copytree(
            source / package,
            folder / "code" / package,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )


def launch_hf_job(spec: LaunchSpec) -> LaunchOutcome:
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    compute = spec.compute
    log_lines: list[str] = []
    job_id, api, namespace = None, None, None
    try:
        token = _token()
        secrets = _secrets(compute.secrets, token)
        api = HfApi(endpoint=os.environ.get("HF_ENDPOINT") or None, token=token)
        namespace = _namespace(api, compute, token)
        repo = compute.hub_repo
        api.create_repo(repo, private=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            stage_inputs(spec, Path(tmp))
            api.upload_folder(
                repo_id=repo,
                folder_path=tmp,
                path_in_repo=f"{spec.run_id}/inputs",
                commit_message=f"intern {spec.run_id}: training inputs",
            )
        job = api.run_job(
            image=UV_IMAGE,
            command=job_command(repo, spec.run_id, spec.entry_args[2]),
            env={"PYTHONUNBUFFERED": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1"},
            secrets=secrets,
            flavor=compute.flavor,
            timeout=compute.timeout,
            labels={"intern-run": spec.run_id},
            namespace=namespace,
        )
        job_id = job.id
        print(f"  [{spec.run_id}] Hugging Face Job {job_id} on {compute.flavor}: {job.url}", flush=True)
        stage, message, stopped = _follow(api, spec, job_id, namespace)
        log_lines = _logs(api, job_id, namespace)
        _write_log(spec, log_lines)
        if stopped:
            return LaunchOutcome(stopped, _tail(log_lines))
        if stage != "COMPLETED":
            tail = _tail(log_lines)
            return LaunchOutcome(f"job {job_id} ended {stage}: " + (message or failure_cause(tail, "no message")), tail)
        _fetch_results(spec, repo, api.endpoint, token)
        if not (spec.run_dir / "checkpoint" / "config.json").exists():
            return LaunchOutcome(f"job {job_id} completed but pushed no checkpoint to {repo}", _tail(log_lines))
        if spec.metrics_path.exists():
            problem = replay_metrics(spec.metrics_path, spec.run_id, spec.env)
            if problem:  # the curves are a convenience; the checkpoint and metrics.jsonl are what count
                print(f"  [{spec.run_id}] not logged to Trackio: {problem}", flush=True)
        return LaunchOutcome(None, _tail(log_lines))
    except HubJobError as exc:
        return LaunchOutcome(str(exc), _tail(log_lines), job_started=job_id is not None)
    except (HfHubHTTPError, OSError) as exc:
        first = redact(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        where = f" (job {job_id})" if job_id else ""
        return LaunchOutcome(f"Hugging Face Jobs{where}: {first}", _tail(log_lines), job_started=job_id is not None)
    except BaseException:
        if job_id and api is not None:
            _cancel_quietly(api, job_id, namespace)  # Ctrl-C of the loop: do not leave a paid job running
        raise


def _follow(api, spec: LaunchSpec, job_id: str, namespace: str) -> tuple[str, str | None, str | None]:
    """Poll the job until it ends. Returns (stage, its message, why we stopped it if we did)."""
    start, last_stage = time.time(), None
    while True:
        info = api.inspect_job(job_id=job_id, namespace=namespace)
        stage = str(info.status.stage)
        if stage != last_stage:
            print(f"  [{spec.run_id}] job {job_id}: {stage}", flush=True)
            last_stage = stage
        if stage == "COMPLETED" or stage in FAILED_STAGES:
            return stage, info.status.message, None
        if cancel.cancel_requested(spec.cancel_file, spec.run_id):
            api.cancel_job(job_id=job_id, namespace=namespace)
            cancel.consume(spec.cancel_file)
            return stage, None, f"cancelled by request (.intern/{spec.cancel_file.name}); job {job_id} cancelled"
        if spec.timeout is not None and time.time() - start > spec.timeout:
            api.cancel_job(job_id=job_id, namespace=namespace)
            return (
                stage,
                None,
                f"timed out after {spec.timeout:.0f}s (the budget's time ran out); job {job_id} cancelled",
            )
        time.sleep(POLL_SECONDS)


def _logs(api, job_id: str, namespace: str) -> list[str]:
    try:
        return [redact(line) for line in api.fetch_job_logs(job_id=job_id, namespace=namespace)]
    except Exception as exc:  # logs are a courtesy: their absence must not hide the job's outcome
        return [f"(logs unavailable: {type(exc).__name__})"]


def _write_log(spec: LaunchSpec, lines: list[str]) -> None:
    spec.run_dir.mkdir(parents=True, exist_ok=True)
    spec.log_path.write_text("".join(line if line.endswith("\n") else line + "\n" for line in lines))


def _tail(lines: list[str], chars: int = 2000) -> str:
    return "\n".join(line.rstrip("\n") for line in lines)[-chars:]


def _fetch_results(spec: LaunchSpec, repo: str, endpoint: str, token: str) -> None:
    from huggingface_hub import snapshot_download

    with tempfile.TemporaryDirectory() as tmp:
        got = Path(
            snapshot_download(
                repo,
                allow_patterns=[f"{spec.run_id}/checkpoint/*", f"{spec.run_id}/metrics.jsonl"],
                local_dir=tmp,
                endpoint=endpoint,
                token=token,
            )
        )
        pushed = got / spec.run_id
        target = spec.run_dir / "checkpoint"
        if target.exists():
            shutil.rmtree(target)
        if (pushed / "checkpoint").is_dir():
            shutil.copytree(pushed / "checkpoint", target, ignore=shutil.ignore_patterns(".cache"))
        if (pushed / "metrics.jsonl").is_file():
            shutil.copy(pushed / "metrics.jsonl", spec.metrics_path)


def _cancel_quietly(api, job_id: str, namespace: str | None) -> None:
    """Best effort while another error unwinds; a job left running costs money, so say so if it may be."""
    try:
        api.cancel_job(job_id=job_id, namespace=namespace)
    except Exception as exc:
        print(f"could not cancel Hugging Face Job {job_id} ({type(exc).__name__}); cancel it by hand", flush=True)
