"""A non-editable install must carry the workspace template as package data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_non_editable_install_finds_the_template(tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    script = (
        "import bus.workspace as w, sys; root = w.template_root(); print(root);"
        "from bus import Workspace; ws = Workspace.init(sys.argv[1]); print(ws.goal().model)"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    # Run from an empty folder so the source tree cannot be imported by accident.
    proc = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "ws")], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    template_path, model = proc.stdout.split()
    assert template_path.startswith(str(target)), template_path
    assert model == "embedded:tiny"
    for name in ("intern.yaml", "plan.md", "README.md", ".gitignore"):
        assert (tmp_path / "ws" / name).is_file(), name
    assert not (tmp_path / "ws" / "__init__.py").exists()
