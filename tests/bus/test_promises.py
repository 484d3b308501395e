"""The bus keeps its promises against people, editors and other processes (no `intern go` here).

Human words in any file an agent rewrites, one writer across processes, commits made against the
HEAD they read, editor files, pasted secrets, a broken plan.md or intern.yaml.
"""

from __future__ import annotations

import subprocess
import threading
import time

import pytest

from bus import Workspace
from bus.lock import WriteLock
from bus.plan import Plan

TOKEN = "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz012345"


def _git(ws: Workspace, *args: str) -> str:
    return subprocess.run(["git", "-C", str(ws.root), *args], capture_output=True, text=True, check=True).stdout


def test_a_note_in_every_rewritten_markdown_artifact_survives(ws, human, make_paper) -> None:
    rel = "papers/2402.03300.md"
    ws.write_artifact("researcher", rel, make_paper(), "Note")
    assert "# researcher rewrites this file" in ws.read_text(rel)  # the file says who rewrites it
    ws.path(rel).write_text(ws.read_text(rel) + "\nMy own remark: check the baseline.\n")
    ws.write_artifact("researcher", rel, make_paper(body="A rewritten body."), "Note again")
    text = ws.read_text(rel)
    assert "A rewritten body." in text
    assert text.rstrip().endswith("## Notes\nMy own remark: check the baseline.")
    assert any("kept your words" in n and rel in n for n in ws.take_notices())
    ws.write_artifact("researcher", rel, make_paper(body="Third body."), "Note, third")
    assert ws.read_text(rel).count("My own remark: check the baseline.") == 1  # kept once, not repeated
    assert ws.load(rel).body.startswith("Third body.")


def test_a_note_in_the_summary_survives_each_rewrite(ws, human) -> None:
    rel = "reports/summary.md"
    ws.write_artifact("critic", rel, "# Summary\n\nrun-001 0.5\n\nWhy the loop stopped: x\n", "Summary")
    ws.path(rel).write_text(ws.read_text(rel).replace("run-001 0.5", "run-001 0.5 (I doubt this one)"))
    ws.write_artifact("critic", rel, "# Summary\n\nrun-001 0.6\n\nWhy the loop stopped: y\n", "Summary again")
    text = ws.read_text(rel)
    assert "run-001 0.6" in text and "## Notes\nrun-001 0.5 (I doubt this one)" in text
    assert "<!-- critic rewrites this file" in text


@pytest.mark.parametrize("section", ["Goal", "Status"])
def test_a_line_in_a_supervisor_section_moves_to_notes(ws, human, section) -> None:
    text = ws.read_text("plan.md")
    ws.path("plan.md").write_text(text.replace(f"## {section}\n", f"## {section}\nAda: keep runs short.\n", 1))
    ws.update_plan(lambda p: p.set_section(section, "Rewritten by the supervisor."), "Rewrite")
    plan = ws.plan()
    assert "Ada: keep runs short." not in "\n".join(plan.section(section))
    assert "Ada: keep runs short." in plan.section("Notes")
    assert any(f"under {section} to ## Notes" in q for q in plan.questions())


def _save_once_during_the_write(monkeypatch, rel: str, ws: Workspace, heading: str, line: str) -> None:
    # `heading`: the line the human writes under, as it stands in the file ("## Goal", "# Summary")
    """A human saving `rel` while the agent's write is being synced to disk (after the agent read the file)."""
    import bus.workspace as module

    real = module.os.fsync
    saved: list[bool] = []

    def fsync(fd: int) -> None:
        if not saved:
            saved.append(True)
            text = ws.path(rel).read_text()
            assert heading + "\n" in text
            ws.path(rel).write_text(text.replace(f"{heading}\n", f"{heading}\n{line}\n", 1))
        real(fd)

    monkeypatch.setattr(module.os, "fsync", fsync)


def test_a_save_during_the_supervisors_write_of_plan_md_is_kept(ws, human, monkeypatch) -> None:
    _save_once_during_the_write(monkeypatch, "plan.md", ws, "## Goal", "Ada: the goal is fine, keep it.")
    ws.update_plan(lambda p: p.set_section("Status", "new status"), "Status")
    plan = ws.plan()
    assert "Ada: the goal is fine, keep it." in plan.section("Notes")  # moved there on the retry, never lost
    assert "new status" in "\n".join(plan.section("Status"))


def test_a_save_during_an_agents_write_of_a_markdown_artifact_is_kept(ws, human, monkeypatch) -> None:
    rel = "reports/summary.md"
    ws.write_artifact("critic", rel, "# Summary\n\nrun-001 0.5\n", "Summary")
    _save_once_during_the_write(monkeypatch, rel, ws, "# Summary", "Ada: base looks right.")
    ws.write_artifact("critic", rel, "# Summary\n\nrun-001 0.6\n", "Summary again")
    text = ws.read_text(rel)
    assert "run-001 0.6" in text and "Ada: base looks right." in text.split("\n## Notes\n")[1]


def test_text_appended_at_the_end_of_plan_md_is_kept_and_a_rule_there_is_adopted(ws, human) -> None:
    ws.path("plan.md").write_text(ws.read_text("plan.md") + "- max runs: 1\nremember the carries\n")

    def edit(plan: Plan) -> None:
        plan.set_section("Status", "new status")
        plan.adopt_stray_lines(lambda line: line == "max runs: 1", ("trainer",))

    ws.update_plan(edit, "Status")
    plan = ws.plan()
    assert plan.rules() == ["max runs: 1"]
    assert "remember the carries" in plan.section("Notes")


def test_an_old_workspace_without_notes_keeps_status_text(ws, human) -> None:
    old = ws.read_text("plan.md").split("## Notes")[0]
    ws.path("plan.md").write_text(old + "a line at the end of an old plan\n")
    ws.update_plan(lambda p: p.set_section("Status", "new"), "Status")
    assert "a line at the end of an old plan" in ws.plan().section("Notes")


def test_agent_commits_are_made_against_the_head_they_read(ws, human, make_paper) -> None:
    """A human's `git commit` racing agent commits: every commit of both stays on the branch."""
    made: list[str] = []

    def human_commits() -> None:
        for i in range(40):
            ws.path(f"mine/{i}.txt").parent.mkdir(exist_ok=True)
            ws.path(f"mine/{i}.txt").write_text(f"{i}\n")
            for _ in range(50):
                add = subprocess.run(["git", "-C", str(ws.root), "add", f"mine/{i}.txt"], capture_output=True)
                proc = subprocess.run(
                    ["git", "-C", str(ws.root), "commit", "-q", "-m", f"human {i}"], capture_output=True, text=True
                )
                if add.returncode == 0 and proc.returncode == 0:
                    made.append(_git(ws, "rev-parse", "HEAD").strip())
                    break
                if "nothing to commit" in proc.stdout + proc.stderr:
                    break  # the agent's own commit took it as a human edit first (still the human's)
                time.sleep(0.01)

    thread = threading.Thread(target=human_commits)
    thread.start()
    for i in range(15):
        ws.write_artifact("researcher", f"papers/2402.0330{i % 10}.md", make_paper(body=f"v{i}"), f"Note {i}")
    thread.join()
    on_branch = set(_git(ws, "rev-list", "HEAD").split())
    assert made and set(made) <= on_branch  # no commit orphaned
    for sha in _git(ws, "log", "--format=%H", "--author=researcher").split():
        files = _git(ws, "show", "--name-only", "--format=", sha).split()
        assert all(f.startswith("papers/") for f in files), files  # nothing of the human's swept in
    assert len(_git(ws, "log", "--format=%H", "--author=researcher").split()) == 15


def test_revert_waits_for_the_writer_lock(ws, human, make_paper) -> None:
    sha = ws.write_artifact("researcher", "papers/2402.03300.md", make_paper(), "Note")
    other = WriteLock(ws.state_dir / "write.lock")  # as another process holding it: flock is per open file
    holder = threading.Thread(target=lambda: (other.acquire(), time.sleep(0.6), other.release()))
    holder.start()
    time.sleep(0.1)
    began = time.time()
    again = Workspace.open(ws.root)
    again.revert(sha)
    holder.join()
    assert time.time() - began >= 0.4  # it waited for the holder instead of racing it
    assert not ws.exists("papers/2402.03300.md")


def test_editor_files_are_never_committed(ws, human) -> None:
    for name in [".plan.md.swp", ".plan.md.swx", "plan.md~", ".goutputstream-ABC123", "4913", "#plan.md#", ".#plan.md"]:
        ws.path(name).write_text("editor junk")
    assert ws.pending_human_edits() == []
    assert ws.commit_human_edits() is None
    assert ".goutputstream-*" in ws.read_text(".gitignore") and "*.swp" in ws.read_text(".gitignore")


def test_a_pasted_token_is_masked_in_the_file_and_never_reaches_the_history(ws, human) -> None:
    ws.path("plan.md").write_text(ws.read_text("plan.md") + f"\nmy token is {TOKEN}\nBearer abcdefghijklmnopqrstu\n")
    assert ws.commit_human_edits()
    assert TOKEN not in ws.read_text("plan.md") and "[REDACTED]" in ws.read_text("plan.md")
    assert TOKEN not in _git(ws, "log", "-p") and "abcdefghijklmnopqrstu" not in _git(ws, "log", "-p")
    notices = ws.take_notices()
    assert any("Hugging Face token" in n and "bearer token" in n and "plan.md" in n for n in notices)
    assert all(TOKEN not in n for n in notices)


def test_a_save_between_the_masking_and_the_commit_never_carries_the_secret_into_history(ws, human, monkeypatch):
    """Under load a human's next save can land after the masking and before the commit: the commit takes the
    masked bytes, the newer save is left on disk (never overwritten) and is masked when it is committed."""
    plan = ws.path("plan.md")
    plan.write_text(ws.read_text("plan.md") + f"\nmy token is {TOKEN}\n")
    original = Workspace._mask_secrets
    later = f"my token is {TOKEN}\nand a second thought\n"

    def mask_then_the_human_saves(self, rel):
        masked = original(self, rel)
        plan.write_text(plan.read_text().replace("my token is [REDACTED]\n", later))  # the editor's buffer
        return masked

    monkeypatch.setattr(Workspace, "_mask_secrets", mask_then_the_human_saves)
    assert ws.commit_human_edits()
    assert TOKEN not in _git(ws, "log", "-p") and "and a second thought" in plan.read_text()
    monkeypatch.setattr(Workspace, "_mask_secrets", original)
    assert ws.commit_human_edits()  # the watcher's next pass: the newer save, masked
    assert TOKEN not in _git(ws, "log", "-p") and TOKEN not in plan.read_text()
    assert "and a second thought" in _git(ws, "log", "-p")


def test_a_masked_script_keeps_its_executable_bit(ws, human) -> None:
    script = ws.path("train.sh")
    script.write_text(f"#!/bin/sh\nexport HF_TOKEN={TOKEN}\n")
    script.chmod(0o755)
    assert ws.commit_human_edits()
    assert _git(ws, "ls-tree", "HEAD", "train.sh").startswith("100755")
    assert TOKEN not in _git(ws, "log", "-p") and ws.pending_human_edits() == []


def test_a_missing_or_binary_plan_is_recreated_with_a_notice(ws, human) -> None:
    ws.path("plan.md").write_bytes(b"\xff\xfe\x00binary")
    assert "not UTF-8" in ws.plan_problem()
    assert ws.plan().rules() == []  # readers get the template, not a traceback
    notice = ws.repair_plan()
    assert "recreated it from the template" in notice and "plan.md.unreadable" in notice
    assert ws.path("plan.md.unreadable").read_bytes() == b"\xff\xfe\x00binary"  # kept, not deleted
    assert ws.plan_problem() is None and "## Queue" in ws.read_text("plan.md")
    ws.path("plan.md").unlink()
    assert "missing" in ws.repair_plan()


def test_an_invalid_intern_yaml_keeps_the_last_valid_goal(ws) -> None:
    assert ws.goal().target.value == 0.9
    ws.path("intern.yaml").write_text(ws.read_text("intern.yaml").replace("value: 0.9", "value: lots"))
    assert ws.goal().target.value == 0.9 and "target.value" in ws.goal_problem
    with pytest.raises(Exception, match="target.value"):
        Workspace.open(ws.root).goal()  # a fresh process has no valid goal to keep: one clear error


def test_a_non_utf8_artifact_is_named_as_such(ws) -> None:
    ws.path("intern.yaml").write_bytes("model: caf\xe9\n".encode("latin-1"))
    with pytest.raises(Exception, match="not UTF-8 text"):
        ws.goal()


def test_a_human_save_between_an_agents_write_and_its_commit_stays_the_humans(ws, human, monkeypatch) -> None:
    """The agent's commit holds the bytes it wrote, not what is on disk by then (a human's save in between)."""
    from bus import commits

    rel = "reports/summary.md"
    real = commits.commit_paths

    def human_saves_first(*args, **kwargs):
        ws.path(rel).write_text(ws.read_text(rel).replace("# Summary\n", "# Summary\nAda: mine.\n"))
        return real(*args, **kwargs)

    monkeypatch.setattr(commits, "commit_paths", human_saves_first)
    ws.write_artifact("critic", rel, "# Summary\n\nfirst\n", "Summary")
    monkeypatch.setattr(commits, "commit_paths", real)
    assert "Ada: mine." not in _git(ws, "show", f"HEAD:{rel}")  # not under the critic's name
    assert ws.pending_human_edits() == [rel]
    ws.write_artifact("critic", rel, "# Summary\n\nsecond\n", "Summary again")
    assert "## Notes\nAda: mine." in ws.read_text(rel)
    assert "Ada: mine." in _git(ws, "log", "--author=Ada", "-p", "--", rel)


def test_a_commit_made_on_an_expected_head_refuses_a_moved_one(ws, human) -> None:
    from bus import commits

    old = _git(ws, "rev-parse", "HEAD").strip()
    ws.path("a.txt").write_text("a\n")
    ws.commit_human_edits()
    with pytest.raises(commits.HeadMoved):
        commits.commit_paths(ws.repo, ws.root, ["b.txt"], ws.human_actor(), "b", {"b.txt": b"b\n"}, expected=old)
    assert "b.txt" not in _git(ws, "ls-tree", "-r", "--name-only", "HEAD").split()


def test_a_humans_commit_landing_mid_revert_is_merged_not_undone(ws, human, make_paper, monkeypatch) -> None:
    # The person commits the same file with their own git between the revert's merge and its commit: the
    # revert must start again on top of their commit, never commit bytes merged against the old HEAD.
    import bus.workspace as workspace_module

    ws.path("notes.md").write_text("one\ntwo\nthree\nfour\nfive\n")
    ws.commit_human_edits()
    ws.path("notes.md").write_text("one\nTWO\nthree\nfour\nfive\n")
    bad = ws.commit_human_edits()
    real, calls = workspace_module.reverted_files, []

    def merge_then_a_human_commits(*args):
        found = real(*args)
        if not calls:
            ws.path("notes.md").write_text("one\nTWO\nthree\nfour\nFIVE\n")
            _git(ws, "commit", "-qam", "my fix")
        calls.append(args)
        return found

    monkeypatch.setattr(workspace_module, "reverted_files", merge_then_a_human_commits)
    ws.revert(bad)
    assert len(calls) == 2  # merged again on the human's commit
    assert ws.read_text("notes.md") == "one\ntwo\nthree\nfour\nFIVE\n"  # their fix kept, the bad change undone
    assert _git(ws, "log", "-1", "--format=%s", "HEAD~1").strip() == "my fix"
