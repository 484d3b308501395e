"""Generator scripts run in a sandbox: an allowlisted environment, private folders, one output file taken back.

Each test runs under every isolation this machine offers (`none` always; `unshare` and `bwrap` where they work),
so a machine without bubblewrap still covers the rest; the network and file-system tests need OS isolation.
"""

from __future__ import annotations

import json
import shutil
import socket

import pytest

from agents.curator import sandbox
from agents.curator.sandbox import clean_environment, isolation, run_script

HERE = [m for m in sandbox.MODES if m == "none" or (shutil.which(m) and sandbox._works(m))]
ISOLATED = [m for m in HERE if m != "none"]
HF = "hf_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5"
PAT = "ghp_" + "abcdefghijklmnopqrstuvwxyz0123"


@pytest.fixture(params=HERE)
def mode(request, monkeypatch) -> str:
    monkeypatch.setenv("INTERN_SANDBOX", request.param)
    return request.param


def _script(tmp_path, body: str):
    script = tmp_path / "src" / "generate.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(body)
    return script


def test_a_looping_script_is_killed_at_the_timeout_with_a_clear_reason(tmp_path, mode):
    script = _script(
        tmp_path,
        "import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', 'while True: pass'])\nwhile True:\n    pass\n",
    )
    run = run_script(script, [], timeout=1.5)
    assert not run.ok
    assert run.reason == "generate.py did not finish within 1.5 s and was killed (does it loop?)"
    assert run.seconds < 30


def test_the_environment_is_an_allowlist_and_home_and_folder_are_private(tmp_path, mode, monkeypatch):
    # Names no denylist catches, holding real secrets: a database URL with its password, a PAT named "GH_PAT".
    monkeypatch.setenv("DATABASE_URL", "postgres://app:hunter2hunter2@db.internal/prod")
    monkeypatch.setenv("GH_PAT", PAT)
    monkeypatch.setenv("HF_TOKEN", HF)
    token = tmp_path / "realhome" / ".cache" / "huggingface" / "token"
    token.parent.mkdir(parents=True)
    token.write_text(HF)
    monkeypatch.setenv("HOME", str(tmp_path / "realhome"))
    script = _script(
        tmp_path,
        "import json, os\n"
        "home_token = os.path.expanduser('~/.cache/huggingface/token')\n"
        "print(json.dumps({'env': dict(os.environ), 'cwd': os.getcwd(), 'home': os.environ.get('HOME'),\n"
        "  'home_token': os.path.exists(home_token), 'home_files': os.listdir(os.path.expanduser('~'))}))\n",
    )
    run = run_script(script, [], cwd="datasets/d1", hide=[tmp_path / "src"])
    assert run.ok, run.reason
    assert run.isolation == mode
    seen = json.loads(run.stdout)
    assert set(seen["env"]) <= set(sandbox.ALLOWED_ENV) | set(sandbox.OFFLINE_ENV) | {
        "HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "HF_HOME", "TMPDIR", "TMP", "TEMP", "PWD",  # bwrap sets PWD
    }  # fmt: skip
    values = " ".join(seen["env"].values())
    assert "hunter2" not in values and PAT not in values and HF not in values
    assert seen["env"]["HF_HUB_OFFLINE"] == "1" and seen["env"]["PATH"]
    assert seen["home"] != str(tmp_path / "realhome") and not seen["home_token"] and seen["home_files"] == []
    assert seen["cwd"].endswith("/work/datasets/d1") and not seen["cwd"].startswith(str(tmp_path))


def test_only_the_asked_file_comes_back_and_its_secrets_are_masked(tmp_path, mode):
    script = _script(
        tmp_path,
        "import json, pathlib, sys\n"
        "pathlib.Path('data').mkdir()\n"
        f"pathlib.Path('data/out.jsonl').write_text(json.dumps({{'prompt': 'p', 'note': '{HF}'}}) + '\\n'"
        " + json.dumps({'prompt': 'q'}) + '\\n')\n"
        "pathlib.Path('stray.txt').write_text('not asked for')\n"
        "print(open(sys.argv[1]).read())\n",
    )
    inputs = tmp_path / "eval.jsonl"
    inputs.write_text("held-out\n")
    destination = tmp_path / "ws" / "datasets" / "d1" / "data" / "out.jsonl"
    run = run_script(
        script,
        ["../../eval/test.jsonl"],
        cwd="datasets/d1",
        files={"eval/test.jsonl": inputs},
        output=("datasets/d1/data/out.jsonl", destination),
    )
    assert run.ok, run.reason
    assert "held-out" in run.stdout  # the input it was given, at the same relative path as in the workspace
    rows = [json.loads(line) for line in destination.read_text().splitlines()]
    assert rows == [{"prompt": "p", "note": "[REDACTED]"}, {"prompt": "q"}]
    assert run.masked_lines == 1
    assert sorted(p.name for p in destination.parent.parent.rglob("*")) == ["data", "out.jsonl"]


def test_a_run_that_does_not_write_the_asked_file_fails_with_one_line(tmp_path, mode):
    script = _script(tmp_path, "import os\nos.symlink('/etc/passwd', 'out.jsonl')\n")
    run = run_script(script, [], output=("out.jsonl", tmp_path / "out.jsonl"))
    assert not run.ok
    assert run.reason == "generate.py did not write out.jsonl (the only file taken from its run)"
    assert not (tmp_path / "out.jsonl").exists()


def test_a_crashing_script_gives_its_last_error_line(tmp_path, mode):
    script = _script(tmp_path, "raise SystemExit('asked for 9000 rows but only 100 problems are left')\n")
    run = run_script(script, ["--rows=9000"])
    assert not run.ok
    assert run.reason == "generate.py exited with code 1: asked for 9000 rows but only 100 problems are left"


@pytest.mark.skipif(not ISOLATED, reason="neither bwrap nor unshare works on this machine")
@pytest.mark.parametrize("isolated", ISOLATED)
def test_an_isolated_script_has_no_network(tmp_path, monkeypatch, isolated):
    monkeypatch.setenv("INTERN_SANDBOX", isolated)
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        script = _script(
            tmp_path,
            "import socket\n"
            "try:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=2); print('connected')\n"
            "except OSError as exc:\n"
            "    print('refused', type(exc).__name__)\n",
        )
        run = run_script(script, [])
    assert run.ok, run.reason
    assert run.stdout.startswith("refused"), run.stdout


@pytest.mark.skipif("bwrap" not in HERE, reason="bubblewrap is not installed or does not work here")
def test_under_bwrap_the_home_and_workspace_are_hidden_and_nothing_outside_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERN_SANDBOX", "bwrap")
    secret = tmp_path / "ws" / ".env"
    secret.parent.mkdir()
    secret.write_text(f"HF_TOKEN={HF}\n")
    outside = tmp_path / "outside.txt"
    script = _script(
        tmp_path,
        "import pathlib\n"
        "for path in [" + repr(str(secret)) + ", " + repr(str(tmp_path / "src" / "generate.py")) + "]:\n"
        "    print(path, pathlib.Path(path).exists())\n"
        "try:\n"
        f"    pathlib.Path({str(outside)!r}).write_text('escaped')\n"
        "except OSError as exc:\n"
        "    print('write refused', type(exc).__name__)\n",
    )
    run = run_script(script, [], hide=[tmp_path / "ws", tmp_path / "src"])
    assert run.ok, run.reason
    assert f"{secret} False" in run.stdout and "generate.py False" in run.stdout
    assert not outside.exists()


def test_isolation_is_the_strongest_that_works_or_the_one_asked_for(monkeypatch):
    monkeypatch.delenv("INTERN_SANDBOX", raising=False)
    assert isolation() == HERE[0]
    monkeypatch.setenv("INTERN_SANDBOX", "none")
    assert isolation() == "none"


def test_clean_environment_keeps_only_allowlisted_names():
    env = clean_environment(
        {"HF_TOKEN": "x", "DATABASE_URL": "postgres://u:p@h/d", "GH_PAT": PAT, "PATH": "/bin", "HOME": "/h"},
        home="/private/home",
    )
    assert env["PATH"] == "/bin" and env["HOME"] == "/private/home"
    assert not {"HF_TOKEN", "DATABASE_URL", "GH_PAT"} & set(env)
    assert env["HF_HUB_OFFLINE"] == "1"  # offline flags always set
