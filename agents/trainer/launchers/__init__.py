"""Launchers: where a training run executes. One interface, picked by `compute:` in intern.yaml.

    launch(spec: LaunchSpec) -> LaunchOutcome

Every launcher leaves the same files in the run folder (train.log, metrics.jsonl, checkpoint/)
and says only whether the run finished; the trainer turns that into the RunResult. Launchers:

- `local` (default): a subprocess on this machine (local.py).
- `accelerate`: `accelerate launch --num_processes N` on this machine (accelerate_run.py).
- `hf-jobs`: a Hugging Face Job that pushes its checkpoint to the Hub (hf_jobs.py).

Money: before a run starts its cost is estimated (cost.py: zero on this machine, the flavor's
hourly price times the longest it may run on HF Jobs) and reserved against `budget.usd`
(agents/common/spend.py); a run the budget cannot pay for is not started, and ends as a failed
RunResult that says so.

Cancelling: a file `.intern/cancel-run` in the workspace (see cancel.py) stops the run in
progress at the launcher's next poll; the run ends as a failed RunResult that says so.
"""

from __future__ import annotations

import time

from agents.common import spend
from agents.common.prices import PriceError
from agents.trainer.launchers.common import LaunchOutcome, LaunchSpec
from agents.trainer.launchers.cost import estimate_cost


def launch(spec: LaunchSpec) -> LaunchOutcome:
    """Price `spec`, refuse it if the money budget cannot pay, else run it with the launcher compute names."""
    if spec.state_dir is None:
        return _launch(spec)
    try:
        estimate = estimate_cost(spec)
    except PriceError as exc:
        if spec.budget.usd is not None:  # under a cap an unpriced run could cost anything
            return LaunchOutcome(f"not started: {exc}")
        return _launch(spec)
    refused = spend.reserve(spec.state_dir, spec.run_id, estimate, spec.budget.usd)
    if refused:
        return LaunchOutcome(f"not started: the money budget {refused}")
    started = time.time()
    outcome = _launch(spec)  # an exception (Ctrl-C) keeps the whole reservation: the job may still bill
    spend.settle(spec.state_dir, spec.run_id, time.time() - started if outcome.job_started else 0.0)
    return outcome


def _launch(spec: LaunchSpec) -> LaunchOutcome:
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
