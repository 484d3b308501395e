"""Run code the loop did not write itself (a generator script, a human's edit of it, an LLM's script) in a sandbox.

What it isolates, everywhere:
- the environment is built from an allowlist (`ALLOWED_ENV`), never copied: no token, password or
  `DATABASE_URL` reaches the script whatever its name; offline flags (`OFFLINE_ENV`) are set;
- HOME, TMPDIR and the working folder are private temporary folders, removed afterwards: `~/.cache/huggingface/token`
  and the like are not under the script's HOME, and nothing it writes lands in the workspace;
- the only output taken is the one file it is asked to write, copied out with every line put through the
  secret masker (bus/redact.py); anything else it writes is thrown away with the folder;
- a script that loops is killed with its whole process group at the timeout.
Where the machine offers it (`isolation()` says which is used):
- `bwrap` (Debian's `bubblewrap`): the real file system read-only, the user's home and the workspace
  hidden under empty tmpfs mounts, a private /tmp, and new network, PID and IPC namespaces: no network at all,
  no reading a token by its absolute path, no writing outside the private folder;
- else `unshare -rn` (util-linux, when user namespaces are allowed): no network; the file system is the
  machine's (a script can still read an absolute path its user may read, and write where that user may);
- else a plain subprocess: the allowlisted environment, private folders and offline flags only.
`INTERN_SANDBOX=bwrap|unshare|none` forces one (tests use it to cover each). Every failure comes back as one
line saying why, so the curator records it and the loop goes on.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bus.redact import Masker, redact

TIMEOUT_SECONDS = 120.0
# Names whose values a script may see: none of them is a credential. Anything else is left out, whatever its name.
ALLOWED_ENV = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "PYTHONHASHSEED", "PYTHONIOENCODING")
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "PIP_NO_INDEX": "1",
    "NO_PROXY": "*",
    "no_proxy": "*",
    "PYTHONNOUSERSITE": "1",
}
MODES = ("bwrap", "unshare", "none")


@dataclass
class ScriptRun:
    ok: bool
    reason: str  # "" when ok, else one line: timed out, exit code and the last error line
    stdout: str
    stderr: str
    seconds: float
    isolation: str = "none"  # bwrap, unshare or none: see the module's docstring
    masked_lines: int = 0  # lines of the output file in which a secret was masked


def clean_environment(env: dict[str, str] | None = None, home: str = "", tmp: str = "") -> dict[str, str]:
    """The script's environment: the allowlisted names of `env` (default: this process's), offline flags, private
    HOME and TMPDIR."""
    source = os.environ if env is None else env
    out = {k: source[k] for k in ALLOWED_ENV if k in source}
    out.update(OFFLINE_ENV)
    if home:
        out.update(HOME=home, XDG_CACHE_HOME=f"{home}/.cache", XDG_CONFIG_HOME=f"{home}/.config", HF_HOME=f"{home}/hf")
    if tmp:
        out.update(TMPDIR=tmp, TMP=tmp, TEMP=tmp)
    return out


@functools.cache
def _works(mode: str) -> bool:
    probe = _wrap(mode, [sys.executable, "-c", "pass"], Path(tempfile.gettempdir()), [])
    try:
        return subprocess.run(probe, capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def isolation() -> str:
    """The strongest isolation this machine offers (or the one INTERN_SANDBOX names, when it works)."""
    wanted = os.environ.get("INTERN_SANDBOX", "").strip().lower()
    if wanted in MODES:
        if wanted != "none" and not _works(wanted):
            raise RuntimeError(f"INTERN_SANDBOX={wanted} but {wanted} does not work on this machine")
        return wanted
    return next((m for m in MODES if m == "none" or (shutil.which(m) and _works(m))), "none")


def _hidden_folders(extra: list[Path]) -> list[Path]:
    """Folders a script never needs and that may hold secrets: the user's home (tokens, keys, caches) and `extra`
    (the workspace)."""
    out: list[Path] = []
    for folder in (Path.home(), *extra):
        folder = folder.resolve()
        if folder != Path("/") and folder.is_dir() and folder not in out:
            out.append(folder)
    return out


def _python_folders() -> list[Path]:
    """Python's own folders, mounted back (read-only) when they lie under a hidden one (a venv in the home)."""
    return sorted({Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})


def _wrap(mode: str, command: list[str], private: Path, hidden: list[Path], cwd: Path | None = None) -> list[str]:
    if mode == "bwrap":
        mounts = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
        for folder in hidden:
            mounts += ["--tmpfs", str(folder)]
        for folder in _python_folders():
            if any(folder.is_relative_to(h) for h in [Path("/tmp"), *hidden]):
                mounts += ["--ro-bind", str(folder), str(folder)]
        mounts += ["--bind", str(private), str(private)]
        return ["bwrap", *mounts, "--unshare-all", "--die-with-parent", "--chdir", str(cwd or private), "--", *command]
    if mode == "unshare":
        return ["unshare", "--map-root-user", "--net", "--", *command]
    return command


def run_script(
    script: Path,
    args: list[str],
    *,
    cwd: str = ".",
    files: dict[str, Path] | None = None,
    output: tuple[str, Path] | None = None,
    hide: list[Path] | None = None,
    timeout: float = TIMEOUT_SECONDS,
) -> ScriptRun:
    """Run `script` with `args` from `cwd` inside a private folder holding a copy of the script and of `files`
    (relative path -> file to copy in). `output`: (the path, relative to the private folder, the script is asked to
    write; where the masked copy goes). Only that file comes out; a run that did not write it is a failure.
    `hide`: folders the script must not see where the machine can hide them (the workspace)."""
    mode = isolation()
    with tempfile.TemporaryDirectory(prefix="intern-sandbox-") as tmp:
        root = Path(tmp).resolve()
        work, home, scratch = root / "work", root / "home", root / "tmp"
        for folder in (work / cwd, home, scratch):
            folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(script, work / cwd / script.name)
        for rel, source in (files or {}).items():
            (work / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, work / rel)
        command = _wrap(mode, [sys.executable, script.name, *args], root, _hidden_folders(hide or []), work / cwd)
        run = _run(command, work / cwd, clean_environment(home=str(home), tmp=str(scratch)), timeout, script.name)
        run.isolation = mode
        if run.ok and output is not None:
            run.ok, run.reason, run.masked_lines = _take_output(work, *output, script.name)
        return run


def _run(command: list[str], cwd: Path, env: dict[str, str], timeout: float, name: str) -> ScriptRun:
    started = time.perf_counter()
    proc = subprocess.Popen(
        command,
        cwd=str(cwd),
        env=env,
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
        return ScriptRun(
            False,
            f"{name} did not finish within {timeout:g} s and was killed (does it loop?)",
            redact(out or "")[-2000:],
            redact(err or "")[-2000:],
            time.perf_counter() - started,
        )
    seconds = time.perf_counter() - started
    out, err = redact(out or ""), redact(err or "")
    if proc.returncode != 0:
        last = next((ln.strip() for ln in reversed(err.splitlines()) if ln.strip()), "no error message")
        return ScriptRun(
            False, f"{name} exited with code {proc.returncode}: {last[:300]}", out[-2000:], err[-2000:], seconds
        )
    return ScriptRun(True, "", out[-2000:], err[-2000:], seconds)


def _take_output(work: Path, rel: str, destination: Path, name: str) -> tuple[bool, str, int]:
    """Copy the one file the script was asked to write out of the private folder, masking secrets line by line."""
    source = work / rel
    if source.is_symlink() or not source.is_file() or not source.resolve().is_relative_to(work.resolve()):
        return False, f"{name} did not write {rel} (the only file taken from its run)", 0
    masker, masked = Masker(), 0
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f"{destination.name}.tmp-{os.getpid()}")
    try:
        with (
            source.open("r", encoding="utf-8", errors="surrogateescape", newline="") as src,
            partial.open("w", encoding="utf-8", errors="surrogateescape", newline="") as dst,
        ):
            for line in src:
                clean = masker.text(line)
                masked += clean != line
                dst.write(clean)
        os.replace(partial, destination)
    finally:
        partial.unlink(missing_ok=True)
    return True, "", masked


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
