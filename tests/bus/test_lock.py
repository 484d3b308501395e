"""bus.lock: one `intern go` per workspace, taken over when its holder is dead."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from bus import WorkspaceLockedError
from bus.lock import WorkspaceLock, read_lock

HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from bus.lock import WorkspaceLock
    WorkspaceLock(Path(sys.argv[1])).acquire()
    time.sleep(60)
    """
)


def _wait_for_holder(path, proc, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        holder = read_lock(path)
        if holder and holder.get("pid") == proc.pid:
            return holder
        assert proc.poll() is None, f"lock holder exited early with {proc.returncode}"
        time.sleep(0.02)
    raise AssertionError("the subprocess never took the lock")


@pytest.fixture
def lock_path(ws):
    return ws.state_dir / "lock"


@pytest.fixture
def dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_acquire_writes_our_pid_and_release_removes_it(ws):
    lock = ws.lock()
    assert lock.path == ws.root / ".intern" / "lock"
    lock.acquire()
    try:
        holder = json.loads(lock.path.read_text())
        assert holder["pid"] == os.getpid()
        assert holder["host"] == socket.gethostname()
        assert holder["since"]
        assert lock.held
    finally:
        lock.release()
    assert not lock.path.exists()
    assert not lock.held


def test_context_manager_and_reacquire_by_the_same_process(lock_path):
    with WorkspaceLock(lock_path) as lock:
        assert lock.held and lock_path.exists()
        again = WorkspaceLock(lock_path)
        again.acquire()  # the same pid holds it already: no error
        assert again.held
    assert not lock_path.exists()


def test_acquire_creates_the_state_dir(tmp_path):
    path = tmp_path / "fresh" / ".intern" / "lock"
    with WorkspaceLock(path):
        assert read_lock(path)["pid"] == os.getpid()


def test_a_live_holder_in_another_process_refuses(lock_path):
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(lock_path)])
    try:
        _wait_for_holder(lock_path, proc)
        lock = WorkspaceLock(lock_path)
        with pytest.raises(WorkspaceLockedError, match=f"in use by another intern go \\(pid {proc.pid}, since "):
            lock.acquire()
        assert not lock.held
        lock.release()  # not held: must not remove the other process's lock
        assert read_lock(lock_path)["pid"] == proc.pid
    finally:
        proc.kill()
        proc.wait()


def test_lock_of_a_killed_process_is_taken_over(lock_path):
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(lock_path)])
    try:
        _wait_for_holder(lock_path, proc)
    finally:
        proc.kill()
        proc.wait()
    with WorkspaceLock(lock_path):
        assert read_lock(lock_path)["pid"] == os.getpid()


def test_stale_lock_with_a_dead_pid_is_taken_over(lock_path, dead_pid):
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock_path.write_text(json.dumps({"pid": dead_pid, "host": socket.gethostname(), "since": "2024-01-01 00:00:00"}))
    lock = WorkspaceLock(lock_path)
    lock.acquire()
    assert lock.held
    assert read_lock(lock_path)["pid"] == os.getpid()
    lock.release()
    assert not lock_path.exists()


@pytest.mark.parametrize("content", ["", "{not json", "[]"])
def test_unreadable_lock_is_taken_over(lock_path, content):
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock_path.write_text(content)
    old = time.time() - 60  # left by a crash a minute ago
    os.utime(lock_path, (old, old))
    with WorkspaceLock(lock_path):
        assert read_lock(lock_path)["pid"] == os.getpid()


def test_a_lock_being_written_right_now_is_not_taken_over(lock_path):
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock_path.write_text("")  # another process has just created it
    with pytest.raises(WorkspaceLockedError, match="being written"):
        WorkspaceLock(lock_path).acquire()
    assert lock_path.read_text() == ""


def test_release_leaves_a_lock_that_is_not_ours(lock_path, dead_pid):
    with WorkspaceLock(lock_path) as lock:
        other = {"pid": dead_pid, "host": socket.gethostname(), "since": "x"}
        lock_path.write_text(json.dumps(other))  # someone took it over in the meantime
    assert not lock.held
    assert read_lock(lock_path) == other
