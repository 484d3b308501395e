"""The `local` launcher: the run is a subprocess of `intern go` on this machine.

A crash, an out-of-memory kill (SIGKILL), a non-finite loss, a timeout or a cancel request each
end the run with a one-line cause and the log tail; none of them raises, so the loop goes on.
The child asks the kernel for SIGTERM when its parent dies (PR_SET_PDEATHSIG) and leads its own
process group, so stopping it also stops whatever it started (accelerate's worker processes).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil

from agents.common import state
from agents.trainer.launchers import cancel
from agents.trainer.launchers.common import LaunchOutcome, LaunchSpec, failure_cause, progress_line, tail

POLL_SECONDS = 0.5
STOP_GRACE_SECONDS = 10.0


def entry_command(spec: LaunchSpec) -> list[str]:
    return [sys.executable, "-m", "agents.trainer.train_entry", str(spec.run_dir), *spec.entry_args]


def launch_local(spec: LaunchSpec) -> LaunchOutcome:
    return run_process(spec, entry_command(spec))


def run_process(spec: LaunchSpec, cmd: list[str]) -> LaunchOutcome:
    """Run `cmd` with its output in train.log, following metrics, until it ends, times out or is cancelled."""
    spec.run_dir.mkdir(parents=True, exist_ok=True)
    with spec.log_path.open("w") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=spec.env, cwd=str(spec.cwd), preexec_fn=_child_setup
        )
        try:
            stopped = _follow(proc, spec)
        except BaseException:
            _stop(proc)  # Ctrl-C or a crash of the loop: never leave a training process behind
            raise
    if stopped:
        return LaunchOutcome(stopped, tail(spec.log_path))
    return outcome_of_exit(proc.returncode, spec)


def outcome_of_exit(returncode: int, spec: LaunchSpec) -> LaunchOutcome:
    log_tail = tail(spec.log_path)
    if returncode == 0:
        if not (spec.run_dir / "checkpoint" / "config.json").exists():
            return LaunchOutcome("the training process exited cleanly but left no checkpoint", log_tail)
        return LaunchOutcome(None, log_tail)
    if returncode < 0:
        name = signal.Signals(-returncode).name if -returncode in signal.Signals._value2member_map_ else returncode
        if returncode == -signal.SIGKILL:
            return LaunchOutcome("killed by SIGKILL (out of memory?): the kernel's OOM killer sends it", log_tail)
        return LaunchOutcome(f"killed by {name}", log_tail)
    return LaunchOutcome(failure_cause(log_tail, f"exit code {returncode}"), log_tail)


def _child_setup() -> None:
    """Runs in the child before exec: its own process group, and SIGTERM when the parent dies (even by kill -9)."""
    os.setpgrp()
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the run's process group and every descendant, SIGKILL after a grace period.

    Descendants are named one by one too: torchrun (under accelerate) starts its workers in new sessions.
    """
    try:
        family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        family = []
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        for member in family:
            try:
                member.send_signal(sig)
            except psutil.NoSuchProcess:
                pass
        _, alive = psutil.wait_procs(family, timeout=STOP_GRACE_SECONDS)
        try:
            proc.wait(timeout=STOP_GRACE_SECONDS if alive else 1.0)
        except subprocess.TimeoutExpired:
            continue
        if not alive:
            break
    proc.poll()


def _follow(proc: subprocess.Popen, spec: LaunchSpec) -> str | None:
    """Wait for the run, printing a progress line when a new metrics row lands. Returns why it was stopped, if it was."""
    start, seen, last_print = time.time(), 0, 0.0
    cancel_path = spec.cancel_file
    while proc.poll() is None:
        if spec.timeout is not None and time.time() - start > spec.timeout:
            _stop(proc)
            return f"timed out after {spec.timeout:.0f}s (the budget's time ran out)"
        if cancel.cancel_requested(cancel_path, spec.run_id):
            _stop(proc)
            cancel.consume(cancel_path)
            return (
                f"cancelled by request ({cancel_path.parent.name}/{cancel_path.name}) after {time.time() - start:.0f}s"
            )
        time.sleep(POLL_SECONDS)
        if time.time() - last_print < spec.progress_every:
            continue
        rows = state.read_metrics(spec.metrics_path)
        if len(rows) > seen:
            seen, last_print = len(rows), time.time()
            print(progress_line(spec.run_id, spec.method, spec.max_steps, rows[-1]), flush=True)
    return None
