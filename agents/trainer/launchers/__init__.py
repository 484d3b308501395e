"""Launchers: where a training run executes. One interface, picked by `compute:` in intern.yaml.

    launch(spec: LaunchSpec) -> LaunchOutcome

Every launcher leaves the same files in the run folder (train.log, metrics.jsonl, checkpoint/)
and says only whether the run finished; the trainer turns that into the RunResult. Launchers:

- `local` (default): a subprocess on this machine (local.py).
- `accelerate`: `accelerate launch --num_processes N` on this machine (accelerate_run.py).
- `hf-jobs`: a Hugging Face Job that pushes its checkpoint to the Hub (hf_jobs.py).

Cancelling: a file `.intern/cancel-run` in the workspace (see cancel.py) stops the run in
progress at the launcher's next poll; the run ends as a failed RunResult that says so.
"""

from __future__ import annotations

from agents.trainer.launchers.common import LaunchOutcome, LaunchSpec


def launch(spec: LaunchSpec) -> LaunchOutcome:
    """Run `spec` with the launcher its compute settings name."""
    kind = spec.compute.launcher
    if kind == "accelerate":
        from agents.trainer.launchers.accelerate_run import launch_accelerate

        return launch_accelerate(spec)
    if kind == "hf-jobs":
        from agents.trainer.launchers.hf_jobs import launch_hf_job

        return launch_hf_job(spec)
    from agents.trainer.launchers.local import launch_local

    return launch_local(spec)


__all__ = ["LaunchOutcome", "LaunchSpec", "launch"]
