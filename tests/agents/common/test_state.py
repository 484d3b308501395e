"""agents.common.state.withdrawn: which artifacts a human took back by reverting the agent's commit.

Real workspaces, real commits: `Workspace.revert` (what `intern revert` calls) and a plain
`git revert` run by the test, as a human would from a terminal.
"""

from __future__ import annotations

from collections.abc import Callable

from agents.common import state
from bus import Workspace
from bus.schemas import DatasetCard, Hypothesis

CARD = "datasets/addition-d2-teacher50-s0/README.md"
HYP = "hypotheses/h-001-sft.md"


def _human_git(ws: Workspace, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "Ada",
        "GIT_AUTHOR_EMAIL": "ada@example.org",
        "GIT_COMMITTER_NAME": "Ada",
        "GIT_COMMITTER_EMAIL": "ada@example.org",
    }
    ws.repo.git.execute(["git", *args], env=env)
    return ws.repo.head.commit.hexsha


def test_nothing_is_withdrawn_in_a_fresh_workspace(ws: Workspace) -> None:
    assert state.withdrawn(ws) == {}


def test_intern_revert_of_a_card_withdraws_it(ws: Workspace, make_card: Callable[..., DatasetCard]) -> None:
    sha = ws.write_artifact("curator", CARD, make_card(), "Dataset card")
    revert = ws.revert(sha)
    assert state.withdrawn(ws) == {CARD: revert}
    assert not ws.exists(CARD)


def test_a_plain_git_revert_withdraws_too(ws: Workspace, make_hypothesis: Callable[..., Hypothesis]) -> None:
    sha = ws.write_artifact("researcher", HYP, make_hypothesis(), "Hypothesis h-001")
    revert = _human_git(ws, "revert", "--no-edit", sha)
    assert state.withdrawn(ws) == {HYP: revert}


def test_a_revert_of_the_revert_gives_it_back_and_a_third_takes_it_again(
    ws: Workspace, make_card: Callable[..., DatasetCard]
) -> None:
    sha = ws.write_artifact("curator", CARD, make_card(), "Dataset card")
    first = ws.revert(sha)
    second = ws.revert(first)
    assert state.withdrawn(ws) == {}
    assert ws.exists(CARD)
    third = _human_git(ws, "revert", "--no-edit", second)
    assert state.withdrawn(ws) == {CARD: third}


def test_only_the_reverted_artifact_is_withdrawn(
    ws: Workspace, make_card: Callable[..., DatasetCard], make_hypothesis: Callable[..., Hypothesis]
) -> None:
    ws.write_artifact("researcher", HYP, make_hypothesis(), "Hypothesis h-001")
    card_sha = ws.write_artifact("curator", CARD, make_card(), "Dataset card")
    revert = ws.revert(card_sha)
    assert state.withdrawn(ws) == {CARD: revert}


def test_a_redone_artifact_supersedes_the_withdrawal(ws: Workspace, make_evaluation) -> None:
    rel = "reports/base-evaluation.md"
    sha = ws.write_artifact("critic", rel, make_evaluation(0.1), "Evaluate base")
    ws.revert(sha)
    assert rel in state.withdrawn(ws)
    ws.write_artifact("critic", rel, make_evaluation(0.12), "Evaluate base again")
    assert state.withdrawn(ws) == {}


def test_reverting_a_human_edit_or_a_plan_edit_withdraws_nothing(ws: Workspace) -> None:
    ws.path("notes.md").write_text("a human's note\n")
    human = ws.commit_human_edits()
    ws.revert(human)
    plan = ws.update_plan(lambda p: p.add_question("Is this a question?"), "Ask")
    ws.revert(plan)
    assert state.withdrawn(ws) == {}


def test_a_withdrawn_card_stays_withdrawn_when_written_again(ws: Workspace, make_card) -> None:
    sha = ws.write_artifact("curator", CARD, make_card(), "Dataset card")
    revert = ws.revert(sha)
    ws.write_artifact("curator", CARD, make_card(), "Dataset card again")
    assert state.withdrawn(ws) == {CARD: revert}
