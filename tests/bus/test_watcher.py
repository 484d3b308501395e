"""bus.watcher: human edits made while `intern go` runs are committed as the human within about a second."""

from __future__ import annotations

import time

import pytest

from bus.watcher import QUIET_SECONDS, HumanEditWatcher

WITHIN = 2.0  # seconds a human edit may take to be committed
SETTLE = QUIET_SECONDS + 0.5  # long enough for the watcher to have acted on anything it saw


def n_commits(ws) -> int:
    return int(ws.repo.git.rev_list("--count", "HEAD"))


def wait_for_commits(ws, count: int, timeout: float = WITHIN) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if n_commits(ws) >= count:
            return True
        time.sleep(0.05)
    return n_commits(ws) >= count


@pytest.fixture
def watcher(ws):
    w = HumanEditWatcher(ws).start()
    try:
        yield w
    finally:
        w.stop()


def test_hand_edit_is_committed_as_the_human(ws, human, watcher):
    before = n_commits(ws)
    text = ws.read_text("plan.md") + "\n- a line Ada typed\n"
    with open(ws.path("plan.md"), "w", encoding="utf-8") as fh:
        fh.write(text)
    assert wait_for_commits(ws, before + 1), f"no commit within {WITHIN} s of a hand edit"
    commit = ws.repo.head.commit
    assert (commit.author.name, commit.author.email) == human
    assert "plan.md" in commit.message.splitlines()[0]
    assert ws.repo.git.show("HEAD:plan.md", strip_newline_in_stdout=False) == text
    events = watcher.drain()
    assert len(events) == 1
    assert events[0].sha == commit.hexsha
    assert events[0].paths == ["plan.md"]
    assert watcher.drain() == []


def test_several_quick_saves_become_one_commit(ws, human, watcher):
    before = n_commits(ws)
    for i in range(5):
        ws.path("plan.md").write_text(f"# Plan, take {i}\n")
        time.sleep(0.02)
    assert wait_for_commits(ws, before + 1)
    time.sleep(SETTLE)
    assert n_commits(ws) == before + 1
    assert ws.read_text("plan.md") == "# Plan, take 4\n"
    assert ws.pending_human_edits() == []


def test_bus_write_is_not_taken_for_a_human_edit(ws, human, watcher, make_paper):
    before = n_commits(ws)
    ws.write_artifact("researcher", "papers/x.md", make_paper(), "Note x")
    time.sleep(SETTLE)
    assert n_commits(ws) == before + 1
    assert ws.repo.head.commit.author.name == "researcher"
    assert watcher.drain() == []


def test_agent_scratch_file_is_not_committed_as_human(ws, human, watcher):
    before = n_commits(ws)
    with ws.agent_writing("runs/r1/metrics.jsonl"):
        ws.path("runs/r1").mkdir(parents=True)
        with open(ws.path("runs/r1/metrics.jsonl"), "w") as fh:
            for step in range(3):
                fh.write(f'{{"step": {step}}}\n')
                fh.flush()
                time.sleep(0.05)
        time.sleep(SETTLE)
        assert n_commits(ws) == before
        ws.write_artifact("trainer", "runs/r1/metrics.jsonl", ws.read_text("runs/r1/metrics.jsonl"), "Metrics")
    time.sleep(SETTLE)
    assert n_commits(ws) == before + 1
    assert ws.repo.head.commit.author.name == "trainer"
    assert watcher.drain() == []


def test_state_dir_changes_are_ignored(ws, watcher):
    before = n_commits(ws)
    (ws.state_dir / "notes").write_text("internal")
    time.sleep(SETTLE)
    assert n_commits(ws) == before


def test_stop_flushes_pending_edits(ws, human):
    w = HumanEditWatcher(ws).start()
    try:
        ws.path("README.md").write_text("edited just before stop\n")
    finally:
        w.stop()
    assert ws.pending_human_edits() == []
    assert ws.repo.head.commit.author.name == human[0]
    assert [e.paths for e in w.drain()] == [["README.md"]]


def test_relevant_paths(ws):
    w = HumanEditWatcher(ws)
    root = str(ws.root)
    assert w.relevant(f"{root}/plan.md")
    assert w.relevant(f"{root}/papers/x.md")
    assert not w.relevant(f"{root}/.git/index")
    assert not w.relevant(f"{root}/.intern/lock")
    assert not w.relevant(f"{root}/papers/x.md.tmp-12-34")
    assert not w.relevant(root)
    for junk in (".plan.md.swp", "plan.md~", ".goutputstream-XYZ1", "4913", "papers/.x.md.swo"):
        assert not w.relevant(f"{root}/{junk}"), junk  # editors' files: never a human's edit


def test_hand_edit_of_gitignore_is_noticed(ws):
    assert HumanEditWatcher(ws).relevant(f"{ws.root}/.gitignore")
