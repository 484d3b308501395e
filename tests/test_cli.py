"""The `intern` command line: help texts, one-line errors, and the read-only commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bus import Workspace
from bus.schemas import PaperNote

CLI = [sys.executable, "-m", "agents.cli"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


@pytest.mark.parametrize("command", ["init", "go", "status", "log", "revert", "eval", "diagnose", "dashboard"])
def test_every_command_explains_itself(command: str) -> None:
    proc = run(command, "--help")
    assert proc.returncode == 0
    assert "usage: intern " + command in proc.stdout
    assert len(proc.stdout.splitlines()) > 3


def test_top_level_help_shows_the_quick_start() -> None:
    proc = run("--help")
    assert proc.returncode == 0 and "intern init workspace/" in proc.stdout


def test_errors_are_one_line_not_a_traceback(tmp_path: Path) -> None:
    proc = run("go", str(tmp_path))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0
    assert "not an intern workspace" in proc.stderr and "intern init" in proc.stderr


def test_init_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    proc = run("init", str(tmp_path))
    assert proc.returncode == 2 and "not empty" in proc.stderr
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_log_status_and_revert(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    assert run("init", str(root)).returncode == 0
    ws = Workspace.open(root)
    note = PaperNote(arxiv_id="2402.03300", title="DeepSeekMath", year=2024, relevance=1.0, body="GRPO.")
    sha = ws.write_artifact("researcher", "papers/2402.03300.md", note, "Note on GRPO")

    log = run("log", str(root))
    assert log.returncode == 0
    first = log.stdout.splitlines()[0]
    assert first.startswith(sha[:8]) and "researcher" in first and "papers/2402.03300.md" in first

    status = run("status", str(root))
    assert status.returncode == 0 and "not running" in status.stdout and "not evaluated yet" in status.stdout

    reverted = run("revert", sha, "-C", str(root))
    assert reverted.returncode == 0, reverted.stderr
    assert not (root / "papers" / "2402.03300.md").exists()
    assert "Revert" in ws.repo.head.commit.message

    bad = run("revert", "deadbeef", "-C", str(root))
    assert bad.returncode == 2 and "no commit" in bad.stderr


def test_dashboard_prints_trackio_show_for_the_workspace_project(tmp_path, capsys):
    """--print-command shows the exact command and starts no server."""
    from agents.cli import main

    root = tmp_path / "my-study"
    assert main(["init", str(root)]) == 0
    capsys.readouterr()
    assert main(["dashboard", str(root), "--print-command"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith(f"TRACKIO_DIR={root / '.intern' / 'trackio'} ")
    assert out.endswith("trackio show --project my-study")
    assert main(["dashboard", str(root)]) == 2  # no run yet: nothing to show, said plainly
    assert "no Trackio data yet" in capsys.readouterr().err


def test_go_exit_codes_tell_a_met_target_from_stuck_and_integrity() -> None:
    from agents.cli import EXIT_DONE, EXIT_INTEGRITY, EXIT_STUCK, exit_code

    assert exit_code("target met: run-002 scores 0.930 >= 0.90") == EXIT_DONE == 0
    assert exit_code("budget spent: 2 of 2 runs used") == EXIT_DONE
    assert exit_code("money budget spent: $1.20 of budget.usd $1.00 used") == EXIT_DONE
    assert exit_code("money budget unknown: no price for this flavor") == 2
    assert exit_code("stopped by the human (intern stop --now)") == EXIT_DONE
    assert exit_code("stuck: 3 steps in a row failed; see the Queue notes in plan.md") == EXIT_STUCK == 3
    assert exit_code("doom loop: the same diagnosis again") == EXIT_STUCK
    assert exit_code("no idea left: GRPO added nothing measurable") == EXIT_STUCK
    assert exit_code("critical: integrity check failed: the held-out split changed") == EXIT_INTEGRITY == 4


def test_status_says_when_the_locks_holder_is_dead(tmp_path: Path) -> None:
    import json
    import socket

    root = tmp_path / "ws"
    assert run("init", str(root)).returncode == 0
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (root / ".intern" / "lock").write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(), "since": "x"}))
    status = run("status", str(root))
    assert status.returncode == 0, status.stderr
    assert f"not running (the lock names pid {dead.pid}, which is no longer alive" in status.stdout
    assert "best: none kept yet (target 0.90: not met)" in status.stdout and "used: 0 of" in status.stdout
