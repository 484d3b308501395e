"""Where a workspace's Trackio data lives, shared by the trainer (which logs) and `intern dashboard` (which shows).

One Trackio project per workspace, named after its folder; one Trackio run per training run, named
by its run id; the SQLite data under the workspace's ignored `.intern/trackio`, so it never reaches git.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from bus import Workspace


def trackio_dir(ws: Workspace) -> Path:
    return ws.state_dir / "trackio"


def trackio_project(ws: Workspace) -> str:
    return ws.root.name


def trackio_env(ws: Workspace) -> dict[str, str]:
    """What a training process needs in its environment to log to this workspace's Trackio project."""
    return {"TRACKIO_DIR": str(trackio_dir(ws)), "INTERN_TRACKIO_PROJECT": trackio_project(ws)}


def dashboard_command(ws: Workspace) -> list[str]:
    """`trackio show` for this workspace's project (run with trackio_env's TRACKIO_DIR)."""
    exe = shutil.which("trackio") or str(Path(sys.executable).with_name("trackio"))
    return [exe, "show", "--project", trackio_project(ws)]


def replay_metrics(metrics: Path, run_id: str, env: dict[str, str]) -> str | None:
    """Log a finished run's metrics.jsonl into the workspace's Trackio project (runs trained elsewhere, e.g. a
    Hugging Face Job, log nothing here while they train). Returns why it could not, or None."""
    import subprocess

    cmd = [sys.executable, "-m", "agents.common.tracking", str(metrics), run_id]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    return None if done.returncode == 0 else (done.stderr.strip().splitlines() or ["trackio failed"])[-1]


def _replay(metrics: Path, run_id: str) -> None:
    """Runs in its own process: trackio reads TRACKIO_DIR when it is imported."""
    import os

    import trackio

    trackio.init(project=os.environ.get("INTERN_TRACKIO_PROJECT", "intern"), name=run_id, embed=False)
    from bus.jsonl import parse_jsonl_lenient

    for row in parse_jsonl_lenient(metrics.read_text(encoding="utf-8", errors="replace"))[0]:
        values = {f"train/{k}": v for k, v in row.items() if k not in ("step", "time") and isinstance(v, (int, float))}
        if values:
            trackio.log(values, step=row.get("step"))
    trackio.finish()


if __name__ == "__main__":
    _replay(Path(sys.argv[1]), sys.argv[2])
