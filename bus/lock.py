"""Two locks, both under `.intern/`.

- `lock`: one `intern go` per workspace, a pid lock taken over when its holder is dead.
- `write.lock`: one writer at a time across processes. Every commit the bus makes (an agent's
  artifact, a human's edit, `intern revert`) holds it, so an `intern revert` run from a second
  terminal waits for the commit in flight instead of racing it. It is an flock: the kernel
  releases it when its holder dies, so a `kill -9` can never leave it stuck.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import threading
import time
from pathlib import Path

from bus.errors import WorkspaceLockedError

STALE_UNREADABLE_SECONDS = 5.0


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
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "pid" in data else None


def live_holder(path: Path) -> dict | None:
    """The lock's content when a live process on this host holds it (a running `intern go`), else None."""
    holder = read_lock(path)
    if holder is None or holder.get("host") != socket.gethostname():
        return None
    return holder if _alive(int(holder.get("pid", 0))) else None


class WorkspaceLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.held = False

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        me = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%d %H:%M:%S")}
        # Write the content first, then link it into place: the lock never exists half-written.
        tmp = self.path.with_name(f"lock.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(me))
        try:
            for _ in range(3):
                try:
                    os.link(tmp, self.path)
                except FileExistsError:
                    holder = read_lock(self.path)
                    if holder and holder.get("host") == me["host"] and holder.get("pid") == me["pid"]:
                        self.held = True  # this process holds it already
                        return
                    self._take_over_if_stale(me)
                    continue
                self.held = True
                return
        finally:
            tmp.unlink(missing_ok=True)
        raise WorkspaceLockedError(f"could not take the lock {self.path}; another process keeps recreating it")

    def _take_over_if_stale(self, me: dict) -> None:
        holder = read_lock(self.path)
        if holder is None and time.time() - self.path.stat().st_mtime < STALE_UNREADABLE_SECONDS:
            raise WorkspaceLockedError(f"{self.path} is being written by another process; try again")
        if holder and holder.get("host") == me["host"] and _alive(int(holder.get("pid", 0))):
            raise WorkspaceLockedError(
                f"workspace is in use by another intern go (pid {holder['pid']}, since {holder.get('since')}); "
                "stop it first or wait for it to finish"
            )
        # A dead holder, or an unreadable lock left by a crash long ago: take it over.
        self.path.unlink(missing_ok=True)

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


class WriteLock:
    """The cross-process writer lock (`.intern/write.lock`), re-entrant within one process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mutex = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    def acquire(self, timeout: float = 120.0) -> None:
        self._mutex.acquire()
        if self._depth == 0:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
                deadline = time.monotonic() + timeout
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() > deadline:
                            os.close(fd)
                            raise WorkspaceLockedError(
                                f"another intern command kept {self.path} for {timeout:.0f}s; try again"
                            ) from None
                        time.sleep(0.02)
                self._fd = fd
            except BaseException:
                self._mutex.release()
                raise
        self._depth += 1

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        self._mutex.release()

    def __enter__(self) -> WriteLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
