"""The local launcher on real child processes: crash, SIGKILL, NaN, timeout, cancel and progress lines.

The commands are small Python programs standing in for the training process, so each case is fast
and certain; tests/agents/trainer/test_trainer_failures.py drives the same paths through real training.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from agents.trainer.launchers import LaunchSpec, cancel, launch
from agents.trainer.launchers.local import run_process


def _spec(tmp_path: Path, **overrides) -> LaunchSpec:
    fields = dict(
        run_id="run-001",
        method="sft",
        max_steps=10,
        run_dir=tmp_path / "runs" / "run-001",
        entry_args=[],
        env=dict(os.environ),
        cwd=tmp_path,
        cancel_file=tmp_path / ".intern" / cancel.CANCEL_FILE,
    )
    fields.update(overrides)
    return LaunchSpec(**fields)


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_a_crash_gives_its_error_line_and_the_log_tail(tmp_path):
    outcome = run_process(
        _spec(tmp_path), _python("print('loading model'); raise RuntimeError('shape mismatch 3 vs 4')")
    )
    assert not outcome.ok
    assert outcome.error == "RuntimeError: shape mismatch 3 vs 4"
    assert "loading model" in outcome.log_tail and "Traceback" in outcome.log_tail


def test_a_sigkill_reads_as_a_probable_out_of_memory_kill(tmp_path):
    code = "import os, signal; print('step 3', flush=True); os.kill(os.getpid(), signal.SIGKILL)"
    outcome = run_process(_spec(tmp_path), _python(code))
    assert outcome.error.startswith("killed by SIGKILL (out of memory?)")
    assert "step 3" in outcome.log_tail


def test_a_non_finite_loss_is_named_with_its_step(tmp_path):
    # What train_entry's metrics callback raises when a logged value is nan or inf.
    code = "raise FloatingPointError(\"non-finite value logged at step 7: {'loss': 'nan'}\")"
    outcome = run_process(_spec(tmp_path), _python(code))
    assert outcome.error.startswith("non-finite loss or gradient (NaN/inf) at step 7")
    assert "FloatingPointError" in outcome.log_tail


def test_exiting_cleanly_without_a_checkpoint_is_a_failure(tmp_path):
    outcome = run_process(_spec(tmp_path), _python("print('done?')"))
    assert outcome.error == "the training process exited cleanly but left no checkpoint"


def test_a_timeout_stops_the_process(tmp_path):
    pid_file = tmp_path / "pid"
    code = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    outcome = run_process(_spec(tmp_path, timeout=1.0), _python(code))
    assert outcome.error.startswith("timed out after 1s")
    assert not _alive(int(pid_file.read_text()))


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize("named", [None, "run-001"])
def test_a_cancel_request_stops_the_run_and_its_children(tmp_path, named):
    """The child starts a grandchild, as accelerate starts workers: both must be gone after the cancel."""
    pids = tmp_path / "pids"
    code = (
        "import os, subprocess, sys, time\n"
        "kid = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pids)!r}, 'w').write(f'{{os.getpid()}} {{kid.pid}}')\n"
        "time.sleep(60)\n"
    )
    spec = _spec(tmp_path)

    def ask_when_started() -> None:
        while not pids.exists():
            time.sleep(0.05)
        cancel.request_cancel(spec.cancel_file.parent, named)

    asker = threading.Thread(target=ask_when_started)
    asker.start()
    outcome = run_process(spec, _python(code))
    asker.join()
    assert outcome.error.startswith("cancelled by request (.intern/cancel-run)")
    assert not spec.cancel_file.exists(), "an honoured request must be consumed"
    parent, kid = (int(p) for p in pids.read_text().split())
    assert not _alive(parent)
    psutil.wait_procs([p for p in psutil.process_iter() if p.pid == kid], timeout=5)
    assert not _alive(kid)


def test_a_request_for_another_run_is_stale_and_cleared(tmp_path):
    path = cancel.request_cancel(tmp_path, "run-007")
    assert not cancel.cancel_requested(path, "run-008")
    cancel.clear_stale_request(path, "run-008")
    assert not path.exists()
    path = cancel.request_cancel(tmp_path)  # no run named: whichever runs now
    cancel.clear_stale_request(path, "run-008")
    assert cancel.cancel_requested(path, "run-008")


def test_progress_lines_follow_the_metrics_and_success_needs_a_checkpoint(tmp_path, capsys):
    spec = _spec(tmp_path, progress_every=0.0)
    rows = [{"step": s, "loss": 1.0 / s} for s in (5, 10)]
    code = (
        "import json, os, time\n"
        f"run = {str(spec.run_dir)!r}\n"
        f"for row in {rows!r}:\n"
        "    open(run + '/metrics.jsonl', 'a').write(json.dumps(row) + '\\n'); time.sleep(0.7)\n"
        "os.makedirs(run + '/checkpoint'); open(run + '/checkpoint/config.json', 'w').write('{}')\n"
    )
    spec.run_dir.mkdir(parents=True)
    outcome = run_process(spec, _python(code))
    assert outcome.ok, outcome.error
    out = capsys.readouterr().out
    assert "[run-001 sft] step 5/10 loss=0.200" in out
    assert json.loads((spec.run_dir / "metrics.jsonl").read_text().splitlines()[-1]) == rows[-1]


def test_launch_picks_local_by_default_and_runs_train_entry(tmp_path):
    """`compute: local` runs agents.trainer.train_entry: with no config.yaml it fails, and says which file."""
    spec = _spec(tmp_path, entry_args=["embedded:tiny", str(tmp_path / "none.jsonl")])
    spec.env["PYTHONPATH"] = str(Path(__file__).resolve().parents[4])
    outcome = launch(spec)
    assert not outcome.ok and "config.yaml" in outcome.error


def test_a_worker_killed_under_torchrun_reads_as_a_probable_oom():
    from agents.trainer.launchers.common import failure_cause

    tail = "[rank1]: ...\nE1127 torch.distributed.elastic.multiprocessing.api: failed (exitcode: -9) local_rank: 1\n"
    tail += (
        "  exitcode  : -9 (pid: 4242)\nsubprocess.CalledProcessError: Command '[...]' returned non-zero exit status 1."
    )
    assert failure_cause(tail, "exit code 1").startswith("a worker process was killed by SIGKILL (out of memory?)")
