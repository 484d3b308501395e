"""One `intern go` per workspace: a pid lock in `.intern/lock`, taken over when its holder is dead."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from bus.errors import WorkspaceLockedError


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_lock(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


class WorkspaceLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.held = False

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        me = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%d %H:%M:%S")}
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = read_lock(self.path)
                if holder and holder.get("host") == me["host"] and _alive(int(holder.get("pid", 0))):
                    if int(holder["pid"]) == me["pid"]:
                        self.held = True
                        return
                    raise WorkspaceLockedError(
                        f"workspace is in use by another intern go (pid {holder['pid']}, since {holder.get('since')}); "
                        "stop it first or wait for it to finish"
                    ) from None
                # A dead holder (or an unreadable lock left by a crash): take it over.
                self.path.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w") as fh:
                json.dump(me, fh)
            self.held = True
            return
        raise WorkspaceLockedError(f"could not take the lock {self.path}; another process keeps recreating it")

    def release(self) -> None:
        if self.held:
            holder = read_lock(self.path)
            if holder and holder.get("pid") == os.getpid():
                self.path.unlink(missing_ok=True)
            self.held = False

    def __enter__(self) -> WorkspaceLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
