"""The researcher: its offline paper corpus, ranking, and the notes and hypotheses it writes."""

from __future__ import annotations

import re

import pytest

from agents import state
from agents.researcher.researcher import NOTES_PER_STEP, current_need, load_corpus, rank_papers, researcher_step
from bus.schemas import Diagnosis, Hypothesis, PaperNote, Recommendation, TrainingConfig


@pytest.fixture(scope="module")
def corpus() -> list[dict]:
    return load_corpus()


def test_corpus_entries_are_well_formed(corpus):
    assert len(corpus) >= 10
    ids = [p["arxiv_id"] for p in corpus]
    assert len(set(ids)) == len(ids)
    for paper in corpus:
        assert re.fullmatch(r"\d{4}\.\d{5}", paper["arxiv_id"]), paper["arxiv_id"]
        # New-style arXiv ids start with the year and month of submission.
        yy, mm = int(paper["arxiv_id"][:2]), int(paper["arxiv_id"][2:4])
        assert 1 <= mm <= 12
        assert paper["year"] == 2000 + yy
        assert paper["title"].strip() and len(paper["summary"]) > 80
        assert paper["tags"] and all(isinstance(t, str) for t in paper["tags"])
        assert isinstance(paper["knobs"], dict)


def test_corpus_covers_the_methods_the_loop_uses(corpus):
    tags = {t for p in corpus for t in p["tags"]}
    assert {"sft", "grpo", "cold-start", "verifiable-reward", "rl-after-sft", "longer-training", "stability"} <= tags


def test_rank_papers_puts_tag_matches_first(corpus):
    tags = ["sft", "cold-start", "distillation"]
    ranked = rank_papers(corpus, tags, context="")
    hits = [len(set(p["tags"]) & set(tags)) for _, p in ranked]
    first_miss = hits.index(0)
    assert all(h > 0 for h in hits[:first_miss])
    assert all(h == 0 for h in hits[first_miss:])
    # The paper matching all three tags leads.
    assert ranked[0][1]["arxiv_id"] == "2501.12948"
    scores = [s for s, _ in ranked]
    assert scores == sorted(scores, reverse=True)
    assert len(ranked) == len(corpus)


def _paper(arxiv_id: str, tags: list[str], summary: str = "plain text", year: int = 2020) -> dict:
    return {"arxiv_id": arxiv_id, "title": "T", "year": year, "tags": tags, "summary": summary, "knobs": {}}


def test_rank_papers_scores_tags_context_and_breaks_ties_by_id():
    papers = [
        _paper("2001.00003", ["grpo"]),
        _paper("2001.00001", ["grpo"]),
        _paper("2001.00002", ["grpo", "stability"]),
        _paper("2001.00004", [], summary="a verifier checks every carry propagation in long addition with digits"),
    ]
    # Eight context words appear in the last summary; word hits are capped at six.
    context = "verifier checks every carry propagation long addition digits"
    ranked = rank_papers(papers, ["grpo", "stability"], context=context)
    assert [p["arxiv_id"] for _, p in ranked] == ["2001.00002", "2001.00004", "2001.00001", "2001.00003"]
    assert ranked[0][0] == pytest.approx(2 * 2 + 0.05 * 3)
    assert ranked[1][0] == pytest.approx(0.5 * 6 + 0.05 * 3)
    assert ranked[2][0] == ranked[3][0] == pytest.approx(2 + 0.05 * 3)


def test_researcher_cold_start_writes_notes_and_an_sft_hypothesis(ws, write_base_evaluation):
    write_base_evaluation(ws, 0.0)
    outcome = researcher_step(ws)
    assert outcome.ok
    assert len(outcome.commits) == NOTES_PER_STEP + 1

    notes = ws.artifacts("papers/*.md")
    assert len(notes) == NOTES_PER_STEP
    assert all(isinstance(n, PaperNote) for _, n in notes)
    researcher_commits = ws.history(agent="researcher")
    assert len(researcher_commits) == NOTES_PER_STEP + 1
    assert all(c.author == "researcher" for c in researcher_commits)

    hyp = ws.load("hypotheses/h-001.md")
    assert isinstance(hyp, Hypothesis)
    assert hyp.id == "h-001"
    assert hyp.method == "sft"
    assert hyp.parent_run is None
    assert hyp.based_on == "reports/base-evaluation.md"
    assert len(hyp.papers) >= 1
    noted = {n.arxiv_id for _, n in notes}
    assert set(hyp.papers) <= noted
    assert researcher_commits[0].artifact == "hypotheses/h-001.md"


def test_researcher_without_base_evaluation_assumes_cold_start(ws):
    need = current_need(ws)
    assert need["method"] == "sft"
    assert need["based_on"] is None


def test_researcher_with_a_capable_base_proposes_grpo(ws, write_base_evaluation):
    write_base_evaluation(ws, 0.3)
    outcome = researcher_step(ws)
    assert outcome.ok
    hyp = ws.load("hypotheses/h-001.md")
    assert hyp.method == "grpo"
    assert hyp.parent_run is None
    assert "30.0%" in hyp.body


def test_researcher_does_not_repeat_an_untested_hypothesis(ws, write_base_evaluation):
    write_base_evaluation(ws, 0.0)
    researcher_step(ws)
    head = ws.repo.head.commit.hexsha
    outcome = researcher_step(ws)
    assert outcome.commits == []
    assert "already answers" in outcome.summary
    assert ws.repo.head.commit.hexsha == head
    assert [p for p, _ in state.hypotheses(ws)] == ["hypotheses/h-001.md"]


def _write_run(ws, recommendation: Recommendation) -> None:
    config = TrainingConfig(
        run_id="run-001",
        method="sft",
        base_model="embedded:tiny",
        dataset="addition-d2-teacher50-s0",
        hypothesis="hypotheses/h-001.md",
        learning_rate=1e-3,
        max_steps=10,
        per_device_train_batch_size=8,
    )
    ws.write_artifact("trainer", "runs/run-001/config.yaml", config, "Configure run-001")
    diagnosis = Diagnosis(
        run_id="run-001", score=0.6, gain_vs_base=0.6, significant=True, recommendation=recommendation
    )
    ws.write_artifact("critic", "runs/run-001/diagnosis.md", diagnosis, "Diagnose run-001")


def test_researcher_follows_the_latest_diagnosis(ws, write_base_evaluation):
    write_base_evaluation(ws, 0.0)
    researcher_step(ws)
    _write_run(
        ws,
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
    hyp = ws.load("hypotheses/h-002.md")
    assert hyp.method == "grpo"
    assert hyp.parent_run == "run-001"
    assert hyp.config_delta == {"num_generations": 16}
    assert hyp.based_on == "runs/run-001/diagnosis.md"
    assert "run-001" in hyp.title
    # A note already written for h-001 is not written again.
    written = [c.artifact for c in ws.history(agent="researcher")]
    assert len(written) == len(set(written))
    # And the new hypothesis is not repeated either.
    assert researcher_step(ws).commits == []


def test_researcher_stops_when_the_diagnosis_says_stop(ws, write_base_evaluation):
    write_base_evaluation(ws, 0.0)
    researcher_step(ws)
    _write_run(ws, Recommendation(action="stop", reason="target met"))
    head = ws.repo.head.commit.hexsha
    outcome = researcher_step(ws)
    assert outcome.commits == []
    assert "stop" in outcome.summary
    assert ws.repo.head.commit.hexsha == head
