"""The researcher's step offline: the notes and the hypothesis it writes for the need the files show."""

from __future__ import annotations

from agents.common import state
from agents.researcher.knowledge import addressing, load_corpus
from agents.researcher.researcher import current_need, researcher_step
from bus.schemas import (
    Diagnosis,
    Finding,
    Hypothesis,
    PaperNote,
    Recommendation,
    Remedy,
    RunResult,
    TrainingConfig,
    utc_now,
)


def _hypotheses(ws) -> list[tuple[str, Hypothesis]]:
    return state.hypotheses(ws)


def _noted(ws) -> set[str]:
    """Paper ids with a note: papers/<arXiv id or key>.md."""
    return {p.split("/")[-1].removesuffix(".md") for p, _ in ws.artifacts("papers/*.md")}


def test_cold_start_writes_notes_and_an_sft_hypothesis(ws, write_base_evaluation):
    write_base_evaluation(ws, 0.0)
    outcome = researcher_step(ws)
    assert outcome.ok

    notes = ws.artifacts("papers/*.md")
    assert notes and all(isinstance(n, PaperNote) for _, n in notes)
    researcher_commits = ws.history(agent="researcher")
    # Notes, the citation graph (json and picture, drawn from the knowledge base offline) and the hypothesis.
    assert len(researcher_commits) == len(notes) + 2 + 1 == len(outcome.commits)
    assert ws.exists("papers/graph.json") and ws.path("papers/graph.png").read_bytes()[:4] == b"\x89PNG"
    assert all(c.author == "researcher" for c in researcher_commits)

    [(path, hyp)] = _hypotheses(ws)
    assert path == "hypotheses/H0001-sft-from-the-base-model.md"
    assert hyp.id == "H0001" and hyp.method == "sft" and hyp.parent_run is None
    assert hyp.status == "proposed" and hyp.priority == 1
    assert hyp.based_on == "reports/base-evaluation.md"
    assert "exact_match" in hyp.expected and hyp.claim.startswith("SFT from the base model")
    # Every cited paper has a note, and the lead paper is the cold-start one (DeepSeek-R1).
    assert hyp.papers[0] == "2501.12948"
    assert set(hyp.papers) <= _noted(ws)
    assert researcher_commits[0].artifact == path


def test_without_base_evaluation_assumes_cold_start(ws):
    need = current_need(ws)
    assert need["method"] == "sft"
    assert need["based_on"] is None


def test_with_a_capable_base_the_search_weighs_grpo_against_sft(ws, write_base_evaluation):
    write_base_evaluation(ws, 0.3)
    assert researcher_step(ws).ok
    [(path, hyp)] = _hypotheses(ws)
    assert hyp.parent_run is None
    search = hyp.body.split("## Search", 1)[1]
    assert "**Move:**" in search and "expected gain" in search and "/min" in search
    runner_up = next(line for line in search.splitlines() if line.startswith("- runner-up:"))
    assert ("GRPO" in runner_up) == (hyp.method == "sft")  # the other method is the runner-up, with its numbers
    assert "30.0%" in hyp.body


def test_does_not_repeat_an_untested_hypothesis(ws, write_base_evaluation):
    write_base_evaluation(ws, 0.0)
    researcher_step(ws)
    head = ws.repo.head.commit.hexsha
    outcome = researcher_step(ws)
    assert outcome.commits == []
    assert "already answers" in outcome.summary
    assert ws.repo.head.commit.hexsha == head
    assert len(_hypotheses(ws)) == 1


def _write_run(
    ws,
    make_evaluation,
    recommendation: Recommendation,
    findings: list[Finding] | None = None,
    kept: bool = True,
    method: str = "sft",
) -> None:
    [(path, _)] = _hypotheses(ws)[:1]
    config = TrainingConfig(
        run_id="run-001",
        method=method,
        base_model="embedded:tiny",
        dataset="addition-d2-teacher50-s0",
        hypothesis=path,
        learning_rate=1e-3,
        max_steps=10,
        per_device_train_batch_size=32 if method == "grpo" else 8,  # whole GRPO groups of 16
    )
    ws.write_artifact("trainer", "runs/run-001/config.yaml", config, "Configure run-001")
    result = RunResult(
        run_id="run-001",
        method=method,
        status="succeeded",
        started=utc_now(),
        finished=utc_now(),
        wall_seconds=1,
        steps=10,
    )
    ws.write_artifact("trainer", "runs/run-001/result.json", result, "Finish run-001")
    ws.write_artifact(
        "critic", "runs/run-001/evaluation.md", make_evaluation(0.6, subject="run-001"), "Evaluate run-001"
    )
    diagnosis = Diagnosis(
        run_id="run-001",
        score=0.6,
        gain_vs_base=0.6,
        significant=kept,
        kept=kept,
        findings=findings or [],
        recommendation=recommendation,
    )
    ws.write_artifact("critic", "runs/run-001/diagnosis.md", diagnosis, "Diagnose run-001")


def test_follows_the_latest_diagnosis(ws, write_base_evaluation, make_evaluation):
    write_base_evaluation(ws, 0.0)
    researcher_step(ws)
    _write_run(
        ws,
        make_evaluation,
        Recommendation(
            action="train",
            method="grpo",
            parent_run="run-001",
            config_delta={"num_generations": 16},
            tags=["grpo", "verifiable-reward", "rl-after-sft"],
            reason="the demonstrations carry a systematic error",
        ),
    )
    outcome = researcher_step(ws)
    assert outcome.ok
    path, hyp = _hypotheses(ws)[1]
    # The search decides from the whole tree; it builds on the kept run-001 whatever one diagnosis recommends.
    assert path.startswith("hypotheses/H0002-") and hyp.parent_run == "run-001"
    assert hyp.based_on == "runs/run-001/diagnosis.md"
    # A note already written for H0001 is not written again.
    written = [c.artifact for c in ws.history(agent="researcher") if c.artifact.startswith("papers/")]
    assert len(written) == len(set(written))
    # And the new hypothesis is not repeated either.
    assert researcher_step(ws).commits == []


def test_stops_when_the_target_is_met(ws, write_base_evaluation, make_evaluation, set_goal):
    write_base_evaluation(ws, 0.0)
    researcher_step(ws)
    set_goal(ws, target={"value": 0.55})
    _write_run(ws, make_evaluation, Recommendation(action="stop", reason="target met"))
    outcome = researcher_step(ws)
    assert "no experiment is called for: target met" in outcome.summary
    # The only commit is the status update of the hypothesis run-001 tested.
    assert [ws.history()[0].artifact] == [_hypotheses(ws)[0][0]] and len(outcome.commits) == 1


def test_offline_after_no_learning_signal_the_hypothesis_cites_the_papers_that_address_it(
    ws, write_base_evaluation, make_evaluation
):
    """With the network cut (HF_HUB_OFFLINE=1 in these tests), the knowledge base alone answers the finding."""
    write_base_evaluation(ws, 0.3)
    text = ws.read_text("plan.md").replace("## Rules\n", "## Rules\n- method: grpo only\n", 1)
    ws.path("plan.md").write_text(text)
    ws.commit_human_edits(["plan.md"])  # a human rules SFT out: the retry must answer the finding itself
    researcher_step(ws)
    dapo, grpo = "2503.14476", "2402.03300"
    finding = Finding(
        name="no learning signal",
        severity="critical",
        evidence="frac_reward_zero_std 1.00 over the last quarter",
        remedies=[
            Remedy(data_action="filter prompts by pass rate, keeping 0 < p < 1", paper=dapo, why="dynamic sampling"),
            Remedy(config_delta={"num_generations": 16}, paper=grpo, why="a larger group"),
        ],
    )
    _write_run(
        ws,
        make_evaluation,
        Recommendation(
            action="train",
            method="grpo",
            parent_run=None,
            config_delta={"num_generations": 16},
            tags=["grpo", "dynamic-sampling"],
            papers=[grpo],
            reason="GRPO added nothing measurable and its signals show no learning signal",
        ),
        findings=[finding],
        kept=False,
        method="grpo",
    )
    outcome = researcher_step(ws)
    assert outcome.ok, outcome.summary
    path, hyp = _hypotheses(ws)[1]
    relevant = set(addressing(load_corpus(), "no learning signal"))
    assert hyp.papers[0] == grpo  # the paper the critic's remedy names leads
    assert set(hyp.papers) <= relevant
    assert dapo in hyp.papers
    assert "no learning signal" in hyp.body
    assert set(hyp.papers) <= _noted(ws)


def test_a_withdrawn_graph_and_note_stay_withdrawn_until_the_revert_is_reverted(ws, write_base_evaluation):
    write_base_evaluation(ws, 0.0)
    researcher_step(ws)
    first = {c.artifact: c.sha for c in ws.history(agent="researcher")}
    note = sorted(p for p in first if p.startswith("papers/") and p.endswith(".md"))[0]
    hypothesis = next(p for p in first if p.startswith("hypotheses/"))
    undo_graph = ws.revert(first["papers/graph.json"])
    ws.revert(first[note])
    ws.revert(first[hypothesis])  # so that the researcher proposes, and gathers papers, again
    assert {"papers/graph.json", note} <= set(state.withdrawn(ws))

    outcome = researcher_step(ws)
    written = [c.artifact for c in ws.history(agent="researcher")[: len(outcome.commits)]]
    assert outcome.ok and any(p.startswith("hypotheses/") for p in written)
    assert "papers/graph.json" not in written and note not in written, written
    assert not ws.exists("papers/graph.json") and not ws.exists(note)

    ws.revert(undo_graph)  # the human takes the withdrawal back: the graph is theirs to have again
    assert "papers/graph.json" not in state.withdrawn(ws) and ws.exists("papers/graph.json")
    assert note in state.withdrawn(ws)
