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
