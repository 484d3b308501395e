"""What a Hugging Face Job runs for one intern training run: `python -c <this file> REPO RUN_ID TASK`.

Self-contained apart from the inputs the launcher pushed to REPO under RUN_ID/inputs/: the run's
config.yaml, the training rows, the critic's contamination report, the starting model when it is
a local one, and intern's own agents/ and bus/ source, so the job trains with exactly the code
that trains locally (agents.trainer.train_entry). It pushes RUN_ID/checkpoint/ and
RUN_ID/metrics.jsonl back to REPO. The token arrives as the HF_TOKEN secret, never as plain env.
"""

import os
import shutil
import subprocess
import sys

from huggingface_hub import HfApi, snapshot_download


def main(repo: str, run_id: str, task: str) -> int:
    work = os.environ.get("INTERN_JOB_DIR", "/tmp/intern-job")
    local = snapshot_download(repo, allow_patterns=[f"{run_id}/inputs/**"], local_dir=work)
    inputs = os.path.join(local, run_id, "inputs")
    run_dir = os.path.join(work, run_id, "run")
    os.makedirs(run_dir, exist_ok=True)
    shutil.copy(os.path.join(inputs, "config.yaml"), run_dir)
    with open(os.path.join(inputs, "model.txt")) as fh:
        model = fh.read().strip()  # a Hub id, or "inputs/model" for a model the launcher uploaded
    if model == "inputs/model":
        model = os.path.join(inputs, "model")
    env = {**os.environ, "PYTHONPATH": os.path.join(inputs, "code"), "INTERN_TRACKIO": "0"}
    env.setdefault("GIT_PYTHON_REFRESH", "quiet")  # bus imports GitPython; the job needs no git
    cmd = [sys.executable, "-m", "agents.trainer.train_entry", run_dir, model]
    cmd += [os.path.join(inputs, "train.jsonl"), task, os.path.join(inputs, "contamination.json")]
    code = subprocess.call(cmd, env=env)
    pushed = ["metrics.jsonl"] + (["checkpoint/*"] if code == 0 else [])
    HfApi().upload_folder(
        repo_id=repo,
        folder_path=run_dir,
        path_in_repo=run_id,
        allow_patterns=pushed,
        commit_message=f"intern {run_id}: {'checkpoint and metrics' if code == 0 else 'metrics of a failed run'}",
    )
    return code


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
