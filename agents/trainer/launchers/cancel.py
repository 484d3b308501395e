"""Cancelling the run in progress from outside the loop (e.g. `intern stop`): a file, so any process can ask.

`.intern/cancel-run` in the workspace: empty (or `*`) cancels whatever run is in progress, or the
next one to start; a run id cancels only that run. The launcher that honours it deletes it. The
trainer deletes a request naming another run at the start of each run, so a stale request
cannot cancel a later one.
"""

from __future__ import annotations

from pathlib import Path

CANCEL_FILE = "cancel-run"


def cancel_file(state_dir: Path) -> Path:
    return state_dir / CANCEL_FILE


def request_cancel(state_dir: Path, run_id: str | None = None) -> Path:
    """Ask the launcher to stop `run_id` (or whatever run is in progress) at its next poll."""
    path = cancel_file(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text((run_id or "*") + "\n")
    return path


def cancel_requested(path: Path, run_id: str) -> bool:
    try:
        wanted = path.read_text().strip()
    except OSError:
        return False
    return wanted in ("", "*", run_id)


def clear_stale_request(path: Path, run_id: str) -> None:
    """Drop a request naming a run other than `run_id` (that run is over)."""
    try:
        wanted = path.read_text().strip()
    except OSError:
        return
    if wanted not in ("", "*", run_id):
        path.unlink(missing_ok=True)


def consume(path: Path) -> None:
    path.unlink(missing_ok=True)
