"""`intern stop`, `intern pause` and `intern resume`: requests a running `intern go` reads from files.

The requests are small files in the workspace's ignored `.intern/` folder, so they need no
socket, survive nothing they should not (a new `intern go` clears them) and cannot end up in git:
`stop` holds `after-step` or `now`; `pause` exists while paused; `cancel-run` asks the training
launcher to end the running training at once (written by `intern stop --now`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from bus import Workspace
from bus.errors import BusError
from bus.lock import live_holder

STOP = "stop"
PAUSE = "pause"
CANCEL_RUN = "cancel-run"
POLL_SECONDS = 0.2


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _require_running(ws: Workspace) -> int:
    holder = live_holder(ws.state_dir / "lock")
    if holder is None:
        raise BusError(f"no intern go is running in {ws.root}; nothing to stop, pause or resume")
    return int(holder["pid"])


def request_stop(ws: Workspace, now: bool = False) -> int:
    """Ask the running loop to stop after its current step (or, `now`, to cancel the training at once)."""
    pid = _require_running(ws)
    if now:
        _write(ws.state_dir / CANCEL_RUN, "*\n")  # `*`: whatever run is training (the launcher's format)
    _write(ws.state_dir / STOP, "now\n" if now else "after-step\n")
    return pid


def request_pause(ws: Workspace) -> int:
    pid = _require_running(ws)
    _write(ws.state_dir / PAUSE, time.strftime("%Y-%m-%d %H:%M:%S\n"))
    return pid


def request_resume(ws: Workspace) -> int:
    pid = _require_running(ws)
    (ws.state_dir / PAUSE).unlink(missing_ok=True)
    return pid


def stop_requested(ws: Workspace) -> str | None:
    """`after-step` or `now` when a human asked the loop to stop, else None."""
    try:
        text = (ws.state_dir / STOP).read_text().strip()
    except OSError:
        return None
    return "now" if text == "now" else "after-step"


def paused(ws: Workspace) -> bool:
    return (ws.state_dir / PAUSE).exists()


def clear(ws: Workspace) -> None:
    """Forget old requests: a new `intern go` is itself the human's request to run."""
    for name in (STOP, PAUSE, CANCEL_RUN):
        (ws.state_dir / name).unlink(missing_ok=True)


def wait_while_paused(ws: Workspace, say: Callable[[str], None], tick: Callable[[], None] = lambda: None) -> None:
    """Block between steps while paused (a stop request ends the wait); `tick` runs at each poll."""
    if not paused(ws):
        return
    say("paused (run `intern resume` to go on, `intern stop` to end)")
    since = time.time()
    while paused(ws) and stop_requested(ws) is None:
        tick()
        time.sleep(POLL_SECONDS)
    say(f"resumed after {time.time() - since:.0f}s paused" if not paused(ws) else "stop requested while paused")


def stop_reason(request: str) -> str:
    return "stopped by the human (intern stop --now)" if request == "now" else "stopped by the human (intern stop)"
