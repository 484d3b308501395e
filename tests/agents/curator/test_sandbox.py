"""Generator scripts run in a subprocess with a timeout and without the environment's secrets."""

from __future__ import annotations

import json

from agents.curator.sandbox import clean_environment, run_script


def test_a_looping_script_is_killed_at_the_timeout_with_a_clear_reason(tmp_path):
    script = tmp_path / "generate.py"
    script.write_text(
        "import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', 'while True: pass'])\nwhile True:\n    pass\n"
    )
    run = run_script(script, [], cwd=tmp_path, timeout=1.5)
    assert not run.ok
    assert run.reason == "generate.py did not finish within 1.5 s and was killed (does it loop?)"
    assert run.seconds < 30


def test_the_script_sees_no_secret_and_runs_in_the_given_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_abcdefghijklmnopqrstuvwxyz123456")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secretsecretsecretsecret")
    monkeypatch.setenv("DB_PASSWORD", "hunter2hunter2")
    monkeypatch.setenv("MY_SECRET", "shh-shh-shh-shh")
    monkeypatch.setenv("HARMLESS_SETTING", "kept")
    script = tmp_path / "generate.py"
    script.write_text(
        "import json, os\n"
        "values = ' '.join(os.environ.values())\n"
        "print(json.dumps({'keys': sorted(os.environ), 'cwd': os.getcwd(), 'harmless': os.environ.get('HARMLESS_SETTING'),"
        " 'leaked': [s for s in ('hf_abcdef', 'sk-secret', 'hunter2', 'shh-shh') if s in values]}))\n"
    )
    run = run_script(script, [], cwd=tmp_path)
    assert run.ok, run.reason
    seen = json.loads(run.stdout)
    assert not {"HF_TOKEN", "OPENAI_API_KEY", "DB_PASSWORD", "MY_SECRET"} & set(seen["keys"])
    assert seen["leaked"] == []
    assert seen["harmless"] == "kept"
    assert seen["cwd"] == str(tmp_path)
    assert "hf_abcdef" not in run.stdout and "hunter2" not in run.stdout


def test_a_crashing_script_gives_its_last_error_line(tmp_path):
    script = tmp_path / "generate.py"
    script.write_text("raise SystemExit('asked for 9000 rows but only 100 problems are left')\n")
    run = run_script(script, ["--rows=9000"], cwd=tmp_path)
    assert not run.ok
    assert run.reason == "generate.py exited with code 1: asked for 9000 rows but only 100 problems are left"


def test_clean_environment_drops_credential_names_only():
    env = clean_environment({"HF_TOKEN": "x", "AWS_SECRET_ACCESS_KEY": "y", "PATH": "/bin", "HOME": "/h"})
    assert env == {"PATH": "/bin", "HOME": "/h"}
