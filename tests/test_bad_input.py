"""Each bad input gets one clear line naming it, and `intern go` a setup exit code, before any work starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from agents.inputs import SetupError, check_setup, goal_problems
from bus import Workspace

CLI = [sys.executable, "-m", "agents.cli"]


def _set(ws: Workspace, **changes) -> None:
    goal = yaml.safe_load(ws.read_text("intern.yaml"))
    goal.update(changes)
    ws.path("intern.yaml").write_text(yaml.safe_dump(goal, sort_keys=False))


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.init(tmp_path / "ws")


def test_a_missing_model_path_is_named_at_start(ws: Workspace) -> None:
    _set(ws, model="./models/my-model")
    with pytest.raises(SetupError, match=r"model './models/my-model' does not exist"):
        check_setup(ws)


def test_a_data_file_outside_the_workspace_is_refused_unless_allowed(ws: Workspace, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.jsonl"
    outside.write_text('{"prompt": "1+1=", "answer": "2"}\n')
    _set(ws, data={"local": [{"path": str(outside)}]})
    with pytest.raises(SetupError, match=r"data.local\[0\].path .* is an absolute path.*--allow-outside-data"):
        check_setup(ws)
    assert goal_problems(ws, ws.goal(), allow_outside=True) == []
    _set(ws, data={"local": [{"path": "../elsewhere.jsonl"}]})
    assert "leaves the workspace" in goal_problems(ws, ws.goal())[0]


def test_a_latin1_data_file_is_named_as_not_utf8(ws: Workspace) -> None:
    ws.path("mine.csv").write_bytes("prompt,answer\ncaf\xe9 1+1=,2\n".encode("latin-1"))
    _set(ws, data={"local": [{"path": "mine.csv"}]})
    with pytest.raises(SetupError, match=r"mine.csv is not UTF-8 text \(byte 0xe9 on line 2; Latin-1"):
        check_setup(ws)


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(Path(__file__).resolve().parents[1]), "PATH": "/usr/bin:/bin", "HOME": "/tmp"}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120, env=env)


def test_go_and_status_answer_bad_files_in_one_line(ws: Workspace) -> None:
    ws.path("intern.yaml").write_text(ws.read_text("intern.yaml").replace("value: 0.9", "value: lots"))
    go = _cli("go", str(ws.root))
    assert go.returncode == 2 and "Traceback" not in go.stderr and go.stderr.strip().count("\n") == 0
    assert "cannot start: intern.yaml: field 'target.value'" in go.stderr
    helped = _cli("go", "--help").stdout
    assert "exit codes:" in helped and "3    stuck" in helped and "4    integrity" in helped
    ws.path("intern.yaml").write_text(ws.read_text("intern.yaml").replace("value: lots", "value: 0.9"))
    ws.path("plan.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff")  # a binary pasted over plan.md
    status = _cli("status", str(ws.root))
    assert status.returncode == 0 and "Traceback" not in status.stderr
    assert "plan.md: plan.md was not UTF-8 text" in status.stdout and "recreates it from the template" in status.stdout
    ws.path("intern.yaml").write_bytes(b"model: caf\xe9\n")
    status = _cli("status", str(ws.root))
    assert status.returncode == 2 and status.stderr.strip().count("\n") == 0
    assert "intern.yaml: field '(file)': is not UTF-8 text (byte 0xe9" in status.stderr


def test_init_on_a_file_or_under_one_is_one_sentence_and_touches_nothing(tmp_path: Path) -> None:
    mine = tmp_path / "thesis.txt"
    mine.write_text("three years of work\n")
    for target, said in ((mine, "is a file, not a folder"), (mine / "ws", "part of this path is a file, not a folder")):
        init = _cli("init", str(target))
        assert init.returncode == 2 and init.stderr.count("\n") == 1 and said in init.stderr, init.stderr
        assert "Traceback" not in init.stderr and "Error" not in init.stderr
    assert mine.read_text() == "three years of work\n"


def _read_only(folder: Path) -> list[str]:
    """A command prefix under which `folder` is a read-only bind mount (a user namespace: no root needed)."""
    if subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode != 0:
        pytest.skip("this machine allows no user namespace (unshare -rm) to mount a folder read-only")
    return ["unshare", "-rm", "sh", "-c", 'mount --bind -o ro "$1" "$1" && shift && exec "$@"', "sh", str(folder)]


def test_a_read_only_workspace_is_one_sentence_and_exit_2(ws: Workspace) -> None:
    env = {"PYTHONPATH": str(Path(__file__).resolve().parents[1]), "PATH": "/usr/bin:/bin", "HOME": "/tmp"}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*_read_only(ws.root), *CLI, *args], capture_output=True, text=True, env=env, timeout=120)

    for args in (("go", str(ws.root)), ("revert", ws.repo.head.commit.hexsha, "-C", str(ws.root))):
        done = cli(*args)
        assert done.returncode == 2 and done.stderr.count("\n") == 1, (args, done.stderr)
        assert f"cannot write in {ws.root}" in done.stderr and "read-only file system" in done.stderr
    assert cli("status", str(ws.root)).returncode == 0  # reading needs no write
