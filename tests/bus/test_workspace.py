"""bus.workspace: every write validated, redacted, atomic and committed once by its agent."""

from __future__ import annotations

import pytest

from bus import ArtifactError, BusError, NotAWorkspaceError, PathRuleError, Workspace
from bus.artifacts import dump_artifact
from bus.schemas import PaperNote, TrainingConfig
from bus.workspace import HUMAN_FALLBACK

HF_TOKEN = "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz0123"  # hf_ + 30 alphanumerics


def n_commits(ws: Workspace) -> int:
    return int(ws.repo.git.rev_list("--count", "HEAD"))


def head(ws: Workspace):
    return ws.repo.head.commit


def show(ws: Workspace, rev: str, path: str) -> str:
    return ws.repo.git.show(f"{rev}:{path}", strip_newline_in_stdout=False)


def files_in(ws: Workspace, rev: str = "HEAD") -> list[str]:
    return sorted(ws.repo.commit(rev).stats.files)


# --- init and open ------------------------------------------------------------------------


def test_init_copies_the_template_in_one_commit(ws):
    names = {p.name for p in ws.root.iterdir()}
    assert {"intern.yaml", "plan.md", "README.md", ".gitignore", ".git", ".intern"} <= names
    assert "gitignore" not in names and "__init__.py" not in names
    assert n_commits(ws) == 1
    commit = head(ws)
    assert (commit.author.name, commit.author.email) == ("supervisor", "supervisor@intern.local")
    assert sorted(b.path for b in commit.tree.traverse()) == [".gitignore", "README.md", "intern.yaml", "plan.md"]
    assert ws.goal().model == "embedded:tiny"
    assert ws.pending_human_edits() == []
    assert ws.repo.active_branch.name == "main"


def test_init_accepts_an_empty_directory(tmp_path):
    (tmp_path / "empty").mkdir()
    assert Workspace.init(tmp_path / "empty").exists("plan.md")


def test_init_refuses_a_non_empty_directory(tmp_path):
    target = tmp_path / "busy"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    with pytest.raises(BusError, match="is not empty"):
        Workspace.init(target)
    assert sorted(p.name for p in target.iterdir()) == ["notes.txt"]


def test_open_an_existing_workspace(ws):
    opened = Workspace.open(ws.root)
    assert opened.root == ws.root
    assert opened.plan().section("Queue")


@pytest.mark.parametrize("kind", ["empty", "git-without-goal", "goal-without-git"])
def test_open_refuses_a_directory_that_is_not_a_workspace(tmp_path, kind):
    import git

    target = tmp_path / "x"
    target.mkdir()
    if kind == "git-without-goal":
        git.Repo.init(target)
    if kind == "goal-without-git":
        (target / "intern.yaml").write_text("model: embedded:tiny\n")
    with pytest.raises(NotAWorkspaceError, match="not an intern workspace"):
        Workspace.open(target)


# --- write_artifact -----------------------------------------------------------------------


def test_write_artifact_makes_exactly_one_commit_by_the_agent(ws, make_card):
    before = n_commits(ws)
    sha = ws.write_artifact(
        "curator", "datasets/a/README.md", make_card(), "Describe dataset a\nsecond line is dropped"
    )
    assert n_commits(ws) == before + 1
    commit = head(ws)
    assert commit.hexsha == sha
    assert (commit.author.name, commit.author.email) == ("curator", "curator@intern.local")
    assert (commit.committer.name, commit.committer.email) == ("curator", "curator@intern.local")
    assert commit.message == "Describe dataset a\n\nIntern-Agent: curator\nIntern-Artifact: datasets/a/README.md\n"
    assert files_in(ws) == ["datasets/a/README.md"]
    # a second write is a second commit
    ws.write_artifact("curator", "datasets/a/generate.py", "print('hi')\n", "Add the generator")
    assert n_commits(ws) == before + 2
    assert ws.pending_human_edits() == []


def test_run_paths_get_a_run_trailer(ws, make_config):
    sha = ws.write_artifact("trainer", "runs/run-001/config.yaml", make_config(), "Configure run-001")
    message = ws.repo.commit(sha).message
    assert "Intern-Agent: trainer\nIntern-Artifact: runs/run-001/config.yaml\nIntern-Run: run-001\n" in message
    info = ws.history()[0]
    assert (info.sha, info.author, info.agent, info.artifact, info.run, info.summary) == (
        sha,
        "trainer",
        "trainer",
        "runs/run-001/config.yaml",
        "run-001",
        "Configure run-001",
    )
    assert info.short == sha[:8]


def test_explicit_run_and_no_run(ws, make_paper):
    ws.write_artifact("researcher", "papers/a.md", make_paper(), "Note a")
    assert "Intern-Run" not in head(ws).message
    assert ws.history()[0].run is None
    ws.write_artifact("researcher", "papers/b.md", make_paper(), "Note b", run="run-007")
    assert ws.history()[0].run == "run-007"


def test_write_is_atomic_and_round_trips(ws, make_config):
    config = make_config()
    ws.write_artifact("trainer", "runs/run-001/config.yaml", config, "Configure run-001")
    leftovers = [p for p in ws.root.rglob("*") if ".tmp-" in p.name]
    assert leftovers == []
    assert ws.load("runs/run-001/config.yaml") == config
    assert ws.read_text("runs/run-001/config.yaml") == dump_artifact(config)
    assert show(ws, "HEAD", "runs/run-001/config.yaml") == dump_artifact(config)


def test_write_accepts_valid_text_and_validates_it(ws, make_paper):
    text = dump_artifact(make_paper(title="From text"))
    ws.write_artifact("researcher", "papers/x.md", text, "Note x")
    loaded = ws.load("papers/x.md")
    assert isinstance(loaded, PaperNote) and loaded.title == "From text"


def test_overwrite_replaces_the_content(ws, make_paper):
    ws.write_artifact("researcher", "papers/x.md", make_paper(title="v1"), "v1")
    ws.write_artifact("researcher", "papers/x.md", make_paper(title="v2"), "v2")
    assert ws.load("papers/x.md").title == "v2"
    assert "title: v1" in show(ws, "HEAD~1", "papers/x.md")


@pytest.mark.parametrize(
    ("agent", "path", "text", "field"),
    [
        ("trainer", "runs/x/config.yaml", "run_id: x\nmethod: dpo\n", "method"),
        ("trainer", "runs/x/config.yaml", "run_id: [unclosed\n", "(file)"),
        ("researcher", "papers/x.md", "just some words, no front matter", "(file)"),
        ("researcher", "papers/x.md", "---\narxiv_id: '1'\ntitle: t\nyear: later\nrelevance: 1\n---\n", "year"),
    ],
)
def test_invalid_write_raises_and_leaves_nothing(ws, agent, path, text, field):
    before = n_commits(ws)
    with pytest.raises(ArtifactError) as info:
        ws.write_artifact(agent, path, text, "Should not land")
    assert info.value.path == path
    assert info.value.field == field
    assert str(info.value).startswith(f"{path}: field '{field}'")
    assert n_commits(ws) == before
    assert not ws.exists(path)
    assert ws.pending_human_edits() == []


def test_artifact_of_the_wrong_kind_is_refused(ws, make_paper):
    with pytest.raises(ArtifactError, match="expected a TrainingConfig, got a PaperNote"):
        ws.write_artifact("trainer", "runs/x/config.yaml", make_paper(), "Wrong kind")
    assert not ws.exists("runs/x/config.yaml")


def test_dataset_card_with_eval_overlap_cannot_be_written(ws, make_card):
    text = dump_artifact(make_card()).replace("eval_overlap: 0", "eval_overlap: 2")
    with pytest.raises(ArtifactError) as info:
        ws.write_artifact("curator", "datasets/a/README.md", text, "Leaky card")
    assert info.value.field == "eval_overlap"
    assert not ws.exists("datasets/a/README.md")


def test_write_outside_the_agents_folders_is_refused_before_anything(ws):
    before = n_commits(ws)
    with pytest.raises(PathRuleError, match="it belongs to critic"):
        ws.write_artifact("trainer", "eval/test.jsonl", '{"prompt": "1+1="}\n', "Peek at eval")
    with pytest.raises(PathRuleError, match="absolute paths are refused"):
        ws.write_artifact("researcher", str(ws.root / "papers" / "x.md"), "x", "Absolute")
    assert n_commits(ws) == before
    assert not ws.exists("eval/test.jsonl")


def test_plan_is_not_written_through_write_artifact(ws):
    with pytest.raises(BusError, match="update_plan"):
        ws.write_artifact("supervisor", "plan.md", "# overwritten\n", "Overwrite the plan")
    assert ws.read_text("plan.md").startswith("# Plan")


def test_bytes_are_written_as_given(ws):
    png = b"\x89PNG\r\n\x1a\n\x00\x01binary"
    ws.write_artifact("critic", "runs/r1/curves.png", png, "Plot run r1")
    assert ws.path("runs/r1/curves.png").read_bytes() == png
    assert files_in(ws) == ["runs/r1/curves.png"]


def test_bytes_for_a_schema_path_are_validated(ws):
    with pytest.raises(ArtifactError):
        ws.write_artifact("trainer", "runs/x/config.yaml", b"run_id: x\nmethod: dpo\n", "Bytes config")


def test_empty_summary_does_not_leave_an_uncommitted_file(ws, make_paper):
    with pytest.raises(BusError, match="summary"):
        ws.write_artifact("researcher", "papers/x.md", make_paper(), "")
    assert ws.pending_human_edits() == []  # refused before anything was written


def test_agent_commit_does_not_take_the_humans_staged_changes(ws, human, make_paper):
    ws.path("README.md").write_text("My own README.\n")
    ws.repo.git.add("README.md")
    ws.write_artifact("researcher", "papers/x.md", make_paper(), "Note x")
    researcher_commit = next(c for c in ws.repo.iter_commits() if c.author.name == "researcher")
    assert sorted(researcher_commit.stats.files) == ["papers/x.md"]


# --- redaction ------------------------------------------------------------------------------


def test_secrets_never_reach_file_message_or_history(ws, make_paper):
    note = make_paper(body=f"Downloaded with {HF_TOKEN} from the Hub.", title=f"Leaky {HF_TOKEN}")
    ws.write_artifact("researcher", "papers/x.md", note, f"Note x (token {HF_TOKEN})")
    text = ws.read_text("papers/x.md")
    assert HF_TOKEN not in text
    assert "Downloaded with [REDACTED] from the Hub." in text
    assert HF_TOKEN not in head(ws).message
    assert head(ws).message.startswith("Note x (token [REDACTED])\n")
    assert HF_TOKEN not in ws.repo.git.log("-p", "--all")
    assert HF_TOKEN not in ws.history()[0].summary


def test_secret_in_text_payload_is_redacted(ws):
    ws.write_artifact("trainer", "runs/r1/metrics.jsonl", f'{{"note": "{HF_TOKEN}"}}\n', "Metrics")
    assert HF_TOKEN not in ws.read_text("runs/r1/metrics.jsonl")
    assert HF_TOKEN not in ws.repo.git.log("-p", "--all")


def test_secret_env_value_is_redacted_from_writes(ws, monkeypatch, make_paper):
    secret = "plain-looking-but-secret-value"
    monkeypatch.setenv("WANDB_API_KEY", secret)
    ws.write_artifact("researcher", "papers/x.md", make_paper(body=f"key {secret}"), f"Note with {secret}")
    assert secret not in ws.repo.git.log("-p", "--all")


# --- human edits ----------------------------------------------------------------------------


def test_human_edit_is_committed_as_the_configured_human(ws, human):
    text = ws.read_text("plan.md") + "\nA note from Ada, with   odd spacing.\n"
    ws.path("plan.md").write_text(text)
    assert ws.pending_human_edits() == ["plan.md"]
    before = n_commits(ws)
    sha = ws.commit_human_edits()
    assert sha == head(ws).hexsha
    assert n_commits(ws) == before + 1
    commit = head(ws)
    assert (commit.author.name, commit.author.email) == human
    assert commit.message.startswith("Human edit of plan.md\n")
    assert "Intern-Human-Edit: plan.md" in commit.message
    assert show(ws, "HEAD", "plan.md") == text
    assert ws.read_text("plan.md") == text
    assert ws.commit_human_edits() is None  # nothing left
    assert ws.history()[0].agent is None


def test_human_edit_without_git_identity_uses_the_fallback(ws):
    ws.path("plan.md").write_text("# My plan\n")
    ws.commit_human_edits()
    commit = head(ws)
    assert (commit.author.name, commit.author.email) == HUMAN_FALLBACK == ("human", "human@intern.local")


def test_human_new_and_deleted_files_are_committed(ws, human):
    ws.path("notes/ideas.md").parent.mkdir()
    ws.path("notes/ideas.md").write_text("try grpo\n")
    ws.path("README.md").unlink()
    assert sorted(ws.pending_human_edits()) == ["README.md", "notes/ideas.md"]
    ws.commit_human_edits()
    tree = head(ws).tree
    assert "notes/ideas.md" in [b.path for b in tree.traverse()]
    assert "README.md" not in [b.path for b in tree.traverse()]
    assert ws.pending_human_edits() == []


def test_commit_human_edits_of_some_paths_only(ws, human):
    ws.path("plan.md").write_text("# edited plan\n")
    ws.path("README.md").write_text("# edited readme\n")
    ws.commit_human_edits(["plan.md"])
    assert files_in(ws) == ["plan.md"]
    assert ws.pending_human_edits() == ["README.md"]


def test_state_dir_and_ignored_files_are_not_human_edits(ws):
    (ws.state_dir / "scratch").write_text("x")
    ws.path("runs/r1/checkpoint").mkdir(parents=True)
    ws.path("runs/r1/checkpoint/model.bin").write_bytes(b"\0" * 10)
    assert ws.pending_human_edits() == []
    assert ws.commit_human_edits() is None


def test_agent_write_commits_the_humans_version_first(ws, human, make_paper):
    ws.write_artifact("researcher", "papers/x.md", make_paper(title="v1"), "Note x v1")
    human_text = dump_artifact(make_paper(title="Ada's title"))
    ws.path("papers/x.md").write_text(human_text)
    before = n_commits(ws)
    ws.write_artifact("researcher", "papers/x.md", make_paper(title="v2"), "Note x v2")
    assert n_commits(ws) == before + 2
    agent_commit, human_commit = head(ws), head(ws).parents[0]
    assert human_commit.author.name == human[0]
    assert agent_commit.author.name == "researcher"
    assert show(ws, human_commit.hexsha, "papers/x.md") == human_text
    assert ws.load("papers/x.md").title == "v2"


def test_agent_writing_marks_scratch_files(ws):
    with ws.agent_writing("runs/r1/metrics.jsonl"):
        ws.path("runs/r1").mkdir(parents=True)
        ws.path("runs/r1/metrics.jsonl").write_text('{"step": 1}\n')
        assert ws.pending_human_edits() == []
        ws.write_artifact("trainer", "runs/r1/metrics.jsonl", '{"step": 1}\n', "Metrics of r1")
    assert ws.history()[0].agent == "trainer"
    assert ws.pending_human_edits() == []


# --- plan updates ---------------------------------------------------------------------------


def _hand_edit_plan(ws):
    plan = ws.read_text("plan.md")
    plan = plan.replace("Agents never edit this section. -->\n", "Agents never edit this section. -->\n- max runs: 3\n")
    plan = plan.replace("to steer. -->\n", "to steer. -->\n- [ ] trainer: try lr 5e-4\n")
    ws.path("plan.md").write_text(plan)
    return plan


def test_update_plan_keeps_the_humans_rules_and_queue(ws, human):
    _hand_edit_plan(ws)
    before = n_commits(ws)

    def edit(plan):
        plan.set_section("Status", "Training run-001.")
        plan.tick(plan.queue()[0], "run-001")

    sha = ws.update_plan(edit, "Start run-001")
    assert n_commits(ws) == before + 2
    supervisor, human_commit = head(ws), head(ws).parents[0]
    assert supervisor.hexsha == sha
    assert human_commit.author.name == human[0]
    assert supervisor.author.name == "supervisor"
    assert "Intern-Artifact: plan.md" in supervisor.message
    text = ws.read_text("plan.md")
    assert "- max runs: 3" in text
    assert "- [x] trainer: try lr 5e-4 — run-001" in text
    assert "## Status\n<!-- The supervisor rewrites this section at each decision" in text
    assert "-->\n\nTraining run-001.\n" in text
    assert ws.plan().rules() == ["max runs: 3"]


def test_update_plan_that_changes_nothing_makes_no_commit(ws):
    before = n_commits(ws)
    assert ws.update_plan(lambda plan: None, "Nothing") is None
    assert n_commits(ws) == before


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda plan: plan.section("Queue").clear(), "would drop the line"),
        (lambda plan: plan.section("Rules").append("- max runs: 99"), "may not edit the Rules section"),
    ],
    ids=["drop-queue-line", "edit-rules"],
)
def test_update_plan_refuses_to_touch_human_lines(ws, human, edit, words):
    human_text = _hand_edit_plan(ws)
    with pytest.raises(PathRuleError, match=words):
        ws.update_plan(edit, "Bad edit")
    assert ws.read_text("plan.md") == human_text
    assert head(ws).author.name == human[0]  # the human's version was committed, nothing after it
    assert [c.agent for c in ws.history()][:1] == [None]


# --- revert and history ---------------------------------------------------------------------


def test_revert_restores_the_previous_version_as_the_human(ws, human, make_paper):
    ws.write_artifact("researcher", "papers/x.md", make_paper(title="good"), "Good note")
    good = ws.read_text("papers/x.md")
    bad = ws.write_artifact("researcher", "papers/x.md", make_paper(title="bad"), "Bad note")
    before = n_commits(ws)
    sha = ws.revert(bad)
    assert n_commits(ws) == before + 1
    commit = ws.repo.commit(sha)
    assert sha == head(ws).hexsha
    assert (commit.author.name, commit.author.email) == human
    assert (commit.committer.name, commit.committer.email) == human
    assert ws.read_text("papers/x.md") == good
    assert bad in commit.message


def test_revert_of_a_creation_removes_the_file(ws, make_config):
    sha = ws.write_artifact("trainer", "runs/r1/config.yaml", make_config(run_id="r1"), "Configure r1")
    ws.revert(sha)
    assert not ws.exists("runs/r1/config.yaml")
    assert head(ws).author.name == HUMAN_FALLBACK[0]
    assert ws.pending_human_edits() == []


def test_revert_commits_pending_human_edits_first(ws, human, make_paper):
    sha = ws.write_artifact("researcher", "papers/x.md", make_paper(), "Note x")
    ws.path("README.md").write_text("Ada's readme\n")
    ws.revert(sha)
    assert [c.author.name for c in ws.repo.iter_commits(max_count=3)] == [human[0], human[0], "researcher"]
    assert ws.read_text("README.md") == "Ada's readme\n"


def test_revert_leaves_a_file_the_human_staged_alone(ws, human, make_paper):
    # git's own revert refuses while anything is staged; a person mid-`git add` must not block an undo
    sha = ws.write_artifact("researcher", "papers/x.md", make_paper(), "Note x")
    ws.path("notes.txt").write_text("half a thought\n")
    ws.repo.git.add("notes.txt")
    reverted = ws.revert(sha)
    assert not ws.exists("papers/x.md")
    assert ws.repo.git.show("--name-only", "--format=", reverted).split() == ["papers/x.md"]
    assert f"This reverts commit {sha}" in ws.repo.commit(reverted).message
    assert ws.repo.git.diff("--cached", "--name-only").split() == ["notes.txt"]  # still staged, still theirs
    assert ws.repo.git.status("--porcelain", "papers").strip() == ""


def _a_bad_line_change(ws) -> str:
    """notes.md committed, then its second line changed in a commit of its own: the commit to undo."""
    ws.path("notes.md").write_text("one\ntwo\nthree\nfour\nfive\n")
    ws.commit_human_edits()
    ws.path("notes.md").write_text("one\nTWO\nthree\nfour\nfive\n")
    return ws.commit_human_edits()


def test_revert_keeps_a_humans_staged_edit_of_the_same_file(ws, human):
    bad = _a_bad_line_change(ws)
    ws.path("notes.md").write_text("one\nTWO\nthree\nfour\nfive, and mine\n")
    ws.repo.git.add("notes.md")  # staged, not committed, then the undo
    ws.revert(bad)
    assert ws.read_text("notes.md") == "one\ntwo\nthree\nfour\nfive, and mine\n"
    assert ws.pending_human_edits(include_staged=True) == []


def test_revert_merges_with_later_changes_to_other_lines(ws, human):
    bad = _a_bad_line_change(ws)
    ws.path("notes.md").write_text("one\nTWO\nthree\nfour\nFIVE\n")
    ws.commit_human_edits()
    ws.revert(bad)
    assert ws.read_text("notes.md") == "one\ntwo\nthree\nfour\nFIVE\n"
    ws.path("notes.md").write_text("one\nzwei\nthree\nfour\nFIVE\n")
    ws.commit_human_edits()
    with pytest.raises(BusError, match="same lines of notes.md"):
        ws.revert(bad)  # already undone, then changed again on the same line
    assert ws.read_text("notes.md") == "one\nzwei\nthree\nfour\nFIVE\n"


def test_revert_of_the_root_commit_is_refused(ws):
    root = head(ws).hexsha
    with pytest.raises(BusError, match="first commit"):
        ws.revert(root)
    assert n_commits(ws) == 1


@pytest.mark.parametrize("sha", ["deadbeef", "not-a-sha", "HEAD~5", "0123456789abcdef0123456789abcdef01234567"])
def test_revert_of_an_unknown_commit_is_refused(ws, sha):
    with pytest.raises(BusError, match="no commit"):
        ws.revert(sha)


def test_revert_of_the_null_sha_is_refused(ws):
    with pytest.raises(BusError, match="no commit"):
        ws.revert("0" * 40)


def test_history_filters_by_agent(ws, make_paper, make_card, make_config):
    ws.write_artifact("researcher", "papers/x.md", make_paper(), "Note x")
    ws.write_artifact("curator", "datasets/a/README.md", make_card(), "Card a")
    ws.write_artifact("curator", "datasets/b/README.md", make_card(name="b"), "Card b")
    ws.write_artifact("trainer", "runs/r1/config.yaml", make_config(run_id="r1"), "Configure r1")
    everything = ws.history()
    assert [c.summary for c in everything][:4] == ["Configure r1", "Card b", "Card a", "Note x"]
    assert everything[-1].agent == "supervisor"
    curated = ws.history(agent="curator")
    assert [c.summary for c in curated] == ["Card b", "Card a"]
    assert {c.agent for c in curated} == {"curator"}
    assert [c.artifact for c in curated] == ["datasets/b/README.md", "datasets/a/README.md"]
    assert ws.history(agent="critic") == []


def test_artifacts_lists_and_loads_by_glob(ws, make_config):
    ws.write_artifact("trainer", "runs/r2/config.yaml", make_config(run_id="r2"), "r2")
    ws.write_artifact("trainer", "runs/r1/config.yaml", make_config(run_id="r1"), "r1")
    found = ws.artifacts("runs/*/config.yaml")
    assert [p for p, _ in found] == ["runs/r1/config.yaml", "runs/r2/config.yaml"]
    assert all(isinstance(a, TrainingConfig) for _, a in found)
