"""One real `intern go` against a busy human, an editor and a second terminal, all at once.

While the loop runs (the embedded task, one small run): the human writes notes into every
section an agent rewrites, a rule at the very end of plan.md, 100 commits of their own with
plain git, pastes a token, breaks intern.yaml for a while, and `intern revert`s an agent commit
from another terminal; their editor leaves swap and temp files about. Afterwards every human
word, every human commit and the revert are on the branch, no secret and no editor file is in
the history, and `intern status` tells the truth. Nothing is mocked.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from agents.cli import exit_code
from tests.steering_harness import Go, artifact_commits, intern, small_workspace

pytestmark = pytest.mark.slow

TOKEN = "hf_" + "QwErTyUiOpAsDfGhJkLzXcVbNm123456"
EDITOR_FILES = [".plan.md.swp", "plan.md~", ".goutputstream-Q1W2E3", "reports/.summary.md.swp", "4913"]


def _git(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)


def _insert(path: Path, heading: str, line: str) -> None:
    text = path.read_text()
    path.write_text(text.replace(f"## {heading}\n", f"## {heading}\n{line}\n", 1))


def _human_commits(root: Path, n: int, made: list[str], stop: threading.Event) -> None:
    """A person committing with their own git, retrying as a person would when git says HEAD moved."""
    (root / "notes").mkdir(exist_ok=True)
    for i in range(n):
        if stop.is_set():
            return
        (root / "notes" / f"n{i:03d}.txt").write_text(f"thought {i}\n")
        for _ in range(100):
            add = _git(root, "add", f"notes/n{i:03d}.txt")
            done = _git(root, "commit", "-q", "-m", f"my note {i}")
            if add.returncode == 0 and done.returncode == 0:
                made.append(_git(root, "rev-parse", "HEAD").stdout.strip())
                break
            if "nothing to commit" in done.stdout + done.stderr:
                break  # the watcher committed the file as this human's edit first: theirs all the same
            time.sleep(0.02)
        time.sleep(0.05)


def test_human_words_commits_and_secrets_survive_a_busy_run(tmp_path: Path) -> None:
    ws = small_workspace(tmp_path / "ws", runs=1, eval_size=60)
    subprocess.run(["git", "-C", str(ws.root), "config", "user.name", "Ada"], check=True)
    subprocess.run(["git", "-C", str(ws.root), "config", "user.email", "ada@example.org"], check=True)
    plan = ws.path("plan.md")
    made: list[str] = []
    stop = threading.Event()
    committer = threading.Thread(target=_human_commits, args=(ws.root, 100, made, stop))
    go = Go(ws.root)
    try:
        go.wait_for("the base evaluation and its summary", lambda: ws.exists("reports/summary.md"))
        committer.start()
        for name in EDITOR_FILES:
            ws.path(name).write_text("an editor's scratch")
        _insert(plan, "Goal", "Ada: the goal is fine, keep it.")
        _insert(plan, "Status", "Ada: I am watching this.")
        plan.write_text(plan.read_text() + f"my token {TOKEN}\n- max learning_rate: 2e-4\n")
        summary = ws.path("reports/summary.md")
        summary.write_text(summary.read_text().replace("# Summary\n", "# Summary\nAda: base looks right.\n", 1))
        goal = ws.path("intern.yaml").read_text()
        ws.path("intern.yaml").write_text(goal.replace("runs: 1", "runs: [oops"))  # a typo saved mid-run...
        go.wait_for("the typo noticed", lambda: "intern.yaml is invalid" in go.output)
        ws.path("intern.yaml").write_text(goal)  # ... and fixed a moment later
        go.wait_for("a paper note", lambda: artifact_commits(ws.root, r"papers/[^/]+\.md"))
        sha, paper = artifact_commits(ws.root, r"papers/[^/]+\.md")[0]
        reverted = intern("revert", sha, "-C", str(ws.root))  # from a second terminal, mid-run
        assert reverted.returncode == 0, reverted.stderr
        code = go.finish()
    finally:
        stop.set()
        if go.proc.poll() is None:
            go.kill9()
        if committer.is_alive():
            committer.join()
    assert code == 0, go.output[-3000:]  # budget spent: 1 of 1 runs
    assert "stopping: budget spent" in go.output and "keeping the previous goal" in go.output

    # 100 human commits and the revert: all on the branch, none orphaned.
    on_branch = set(_git(ws.root, "rev-list", "HEAD").stdout.split())
    assert len(made) >= 90 and set(made) <= on_branch, (len(made), len(set(made) - on_branch))
    assert all((ws.root / "notes" / f"n{i:03d}.txt").exists() for i in range(100))
    assert not _git(ws.root, "status", "--porcelain", "notes").stdout  # every note committed
    revert_sha = reverted.stdout.split(" as ")[1].split(";")[0]
    assert any(s.startswith(revert_sha) for s in on_branch)
    assert f"{paper} is withdrawn from the loop" in go.output
    for sha in _git(ws.root, "log", "--format=%H", "--author=trainer", "--author=researcher").stdout.split():
        files = _git(ws.root, "show", "--name-only", "--format=", sha).stdout.split()
        assert not [f for f in files if f.startswith("notes/")], files  # nothing of the human's in an agent commit

    # Human words in every section an agent rewrote: moved verbatim to Notes, and said so.
    notes = ws.plan().section("Notes")
    for line in ("Ada: the goal is fine, keep it.", "Ada: I am watching this."):
        assert line in notes
    assert "Ada: base looks right." in ws.read_text("reports/summary.md").split("\n## Notes\n")[1]
    assert "Why the loop stopped: budget spent" in ws.read_text("reports/summary.md")
    assert any("kept your words" in q for q in ws.plan().questions())
    assert "kept your words" in go.output
    # The rule written at the end of plan.md went to Rules and was obeyed.
    assert "max learning_rate: 2e-4" in ws.plan().rules()
    assert ws.load("runs/run-001/config.yaml").learning_rate == 2e-4

    # The pasted token: masked in the file, never in any commit; plan.md and the terminal say so.
    history = _git(ws.root, "log", "-p", "--all").stdout
    assert TOKEN not in history and TOKEN not in ws.read_text("plan.md")
    assert "masked a secret you pasted into plan.md (Hugging Face token)" in go.output
    assert any("masked a secret you pasted into plan.md" in q.lower() for q in ws.plan().questions())
    # Editor files: left on disk, never committed.
    committed = set(_git(ws.root, "log", "--all", "--name-only", "--format=").stdout.split())
    assert not committed & set(EDITOR_FILES), committed & set(EDITOR_FILES)

    # Honest status, and no traceback when its reader goes away.
    status = intern("status", str(ws.root))
    assert status.returncode == 0, status.stderr
    assert "intern go: not running" in status.stdout and "(target 0.90: not met)" in status.stdout
    assert "last stop: budget spent: 1 of 1 runs used" in status.stdout
    piped = subprocess.run(
        f"{' '.join(map(str, ['PYTHONPATH=' + str(Path(__file__).resolve().parents[1]), *_cli()]))} status "
        f"{ws.root} | head -1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert piped.stdout.startswith("workspace:") and "Traceback" not in piped.stderr and not piped.stderr

    # A finished workspace steered again: a larger budget makes the next intern go carry on and train a new run.
    # run-001 (SFT from a base that solves nothing, its rate capped by Ada's rule) was learning but not kept, so
    # the search repeats it from the base model with twice the steps, within the rule, rather than GRPO from a
    # model whose every group would score 0.
    ws.path("intern.yaml").write_text(ws.read_text("intern.yaml").replace("runs: 1", "runs: 2"))
    again = Go(ws.root)
    code = again.finish()
    assert "] step 1: researcher: propose" in again.output, again.output[-3000:]  # not "budget spent: 1 of 1"
    assert "budget spent: 1 of 1" not in again.output
    reason = again.output.split("] done: ", 1)[1].split(". Report:", 1)[0]
    assert code == exit_code(reason) == 0, (code, reason, again.output[-3000:])
    second, first = ws.load("runs/run-002/config.yaml"), ws.load("runs/run-001/config.yaml")
    assert (second.method, second.parent_run, second.learning_rate) == ("sft", None, 2e-4)
    assert second.max_steps == 2 * first.max_steps
    assert ws.exists("runs/run-002/evaluation.md") and ws.exists("runs/run-002/diagnosis.md")
    assert "Ada: I am watching this." in ws.plan().section("Notes")  # and the notes are still there after it
    assert "Ada: base looks right." in ws.read_text("reports/summary.md")


def _cli() -> list[str]:
    return [sys.executable, "-m", "agents.cli"]
