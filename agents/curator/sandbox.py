"""Run a generator script the way a careful human would: in a subprocess, in the workspace, with a time limit.

The script may be the curator's own template, a human's edit of it, or one an LLM wrote; none of them
gets the environment's secrets (HF_TOKEN and anything named like a token, secret, key or password), and
one that loops is killed with its whole process group at the timeout. Every failure comes back as one
line saying why, so the curator records it and the loop goes on.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bus.redact import redact

TIMEOUT_SECONDS = 120.0
_SECRET = re.compile(r"(?i)(TOKEN|SECRET|KEY|PASSWORD|CREDENTIAL)")


@dataclass
class ScriptRun:
    ok: bool
    reason: str  # "" when ok, else one line: timed out, exit code and the last error line
    stdout: str
    stderr: str
    seconds: float


def clean_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment minus every variable whose name looks like a credential."""
    source = dict(os.environ if env is None else env)
    return {k: v for k, v in source.items() if not _SECRET.search(k)}


def run_script(script: Path, args: list[str], cwd: Path, timeout: float = TIMEOUT_SECONDS) -> ScriptRun:
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, str(script), *args],
        cwd=str(cwd),
        env=clean_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, so children it starts die with it
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        seconds = time.perf_counter() - started
        return ScriptRun(
            False,
            f"{script.name} did not finish within {timeout:g} s and was killed (does it loop?)",
            redact(out or "")[-2000:],
            redact(err or "")[-2000:],
            seconds,
        )
    seconds = time.perf_counter() - started
    out, err = redact(out or ""), redact(err or "")
    if proc.returncode != 0:
        last = next((ln.strip() for ln in reversed(err.splitlines()) if ln.strip()), "no error message")
        return ScriptRun(
            False, f"{script.name} exited with code {proc.returncode}: {last[:300]}", out[-2000:], err[-2000:], seconds
        )
    return ScriptRun(True, "", out[-2000:], err[-2000:], seconds)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
