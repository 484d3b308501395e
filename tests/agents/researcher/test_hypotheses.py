"""Hypothesis statuses read from the runs, the candidates for a need, and the rules against repeating one."""

from __future__ import annotations

from agents.common import state
from agents.researcher.hypotheses import Known, candidates, choose, current_need, known_hypotheses, signature
from agents.researcher.knowledge import load_corpus, rank_papers
from agents.researcher.researcher import researcher_step
from bus.schemas import Diagnosis, Finding, Hypothesis, Recommendation, Remedy, RunResult, TrainingConfig, utc_now


def _run(ws, make_evaluation, hyp_path: str, kept: bool | None, method: str = "sft", findings=None, rec=None):
    """run-001 as trainer and critic leave it; kept=None: trained but not yet judged."""
    config = TrainingConfig(
        run_id="run-001",
        method=method,
        base_model="embedded:tiny",
        dataset="d",
        hypothesis=hyp_path,
        learning_rate=1e-3,
        max_steps=10,
        per_device_train_batch_size=8,
    )
    ws.write_artifact("trainer", "runs/run-001/config.yaml", config, "Configure run-001")
    if kept is None:
        return
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
    ws.write_artifact("critic", "runs/run-001/evaluation.md", make_evaluation(0.6, subject="run-001"), "Evaluate")
    diagnosis = Diagnosis(
        run_id="run-001",
        score=0.6,
        gain_vs_base=0.6 if kept else 0.01,
        significant=kept,
        kept=kept,
        best_before="base",
        gain_vs_best=0.6 if kept else 0.01,
        gain_vs_best_interval=(0.55, 0.65) if kept else (-0.03, 0.05),
        findings=findings or [],
        recommendation=rec or Recommendation(action="stop", reason="target met"),
    )
    ws.write_artifact("critic", "runs/run-001/diagnosis.md", diagnosis, "Diagnose run-001")


def _first(ws) -> tuple[str, Hypothesis]:
    return state.hypotheses(ws)[0]


def test_status_follows_the_run_that_tested_it(ws, write_base_evaluation, make_evaluation):
    write_base_evaluation(ws, 0.0)
    researcher_step(ws)
    path, _ = _first(ws)
    _run(ws, make_evaluation, path, kept=None)
    assert [k.status for k in known_hypotheses(ws)] == ["running"]
    _run(ws, make_evaluation, path, kept=True)
    outcome = researcher_step(ws)
    hyp = ws.load(path)
    assert (hyp.status, hyp.tested_by) == ("supported", ["run-001"])
    assert "kept run-001" in hyp.status_reason and "+0.600" in hyp.status_reason
    assert hyp.body.count("## Status") == 1 and "**supported**" in hyp.body
    # The status update, then (run-001 at 0.6 is short of the 0.9 target) the search's next hypothesis.
    assert [c.artifact for c in ws.history()[: len(outcome.commits)]][-1] == path
    # A second step changes nothing: the status is already on file.
    assert researcher_step(ws).commits == []


def test_a_run_the_critic_did_not_keep_refutes_its_hypothesis(ws, write_base_evaluation, make_evaluation):
    write_base_evaluation(ws, 0.0)
    researcher_step(ws)
    path, _ = _first(ws)
    _run(ws, make_evaluation, path, kept=False)
    researcher_step(ws)
    hyp = ws.load(path)
    assert hyp.status == "refuted"
    assert "did not keep run-001" in hyp.status_reason and "-0.030..+0.050" in hyp.status_reason


def _known(status: str, papers: list[str], **change) -> Known:
    fields = {"method": "grpo", "parent_run": "run-001", "config_delta": {"num_generations": 16}} | change
    hyp = Hypothesis(id="H0001", title="t", papers=papers, status=status, **fields)
    return Known("hypotheses/H0001-t.md", hyp, status, [], "")


def _need(findings: list[str], papers: list[str] | None = None) -> dict:
    return {"findings": findings, "papers": papers or []}


def _cand(papers: list[str]) -> dict:
    return {
        "method": "grpo",
        "parent_run": "run-001",
        "config_delta": {"num_generations": 16},
        "data_change": None,
        "papers": papers,
        "why": "w",
    }


def test_a_refuted_change_is_not_repeated_without_new_evidence():
    corpus = load_corpus()
    refuted = _known("refuted", ["2402.03300"])
    other = _cand(["2402.03300"]) | {"config_delta": {"epsilon_high": 0.28}, "papers": ["2503.14476"]}
    chosen, passed = choose([_cand(["2402.03300"]), other], [refuted], _need(["entropy collapse"]), corpus)
    assert chosen["config_delta"] == {"epsilon_high": 0.28} and chosen["priority"] == 2
    assert passed == [
        "GRPO from run-001 with {'num_generations': 16}: refuted by hypotheses/H0001-t.md and no new evidence"
    ]
    # A paper the refuted one did not cite, but one unrelated to the finding, is no new evidence either ...
    chosen, _ = choose([_cand(["2402.03300", "2305.20050"])], [refuted], _need(["no learning signal"]), corpus)
    assert chosen is None
    # ... while one that addresses the finding now diagnosed is, and the hypothesis names it.
    chosen, _ = choose([_cand(["2402.03300", "2503.14476"])], [refuted], _need(["no learning signal"]), corpus)
    assert chosen["new_evidence"] == ["2503.14476"] and chosen["priority"] == 1


def test_running_supported_proposed_and_withdrawn_changes_are_never_repeated():
    corpus = load_corpus()
    for status in ("running", "supported", "proposed", "withdrawn"):
        chosen, passed = choose(
            [_cand(["2402.03300", "2503.14476"])],
            [_known(status, ["2402.03300"])],
            _need(["no learning signal"]),
            corpus,
        )
        assert chosen is None and f"({status})" in passed[0]
    # A different parent is a different change.
    chosen, _ = choose([_cand(["x"]) | {"parent_run": "run-002"}], [_known("refuted", ["x"])], _need([]), corpus)
    assert chosen is not None


def test_a_withdrawn_hypothesis_is_never_proposed_again(ws, write_base_evaluation):
    write_base_evaluation(ws, 0.0)
    researcher_step(ws)
    path, _ = _first(ws)
    sha = next(c.sha for c in ws.history() if c.artifact == path)
    ws.revert(sha)  # the human withdraws it
    assert not ws.exists(path)
    [known] = known_hypotheses(ws)
    assert (known.path, known.status) == (path, "withdrawn")
    researcher_step(ws)
    assert path not in [p for p, _ in state.hypotheses(ws)]  # never proposed again: another change, or none
    for _, hyp in state.hypotheses(ws):
        assert (hyp.method, hyp.parent_run, hyp.config_delta, hyp.data_change) != (
            known.hyp.method,
            known.hyp.parent_run,
            known.hyp.config_delta,
            known.hyp.data_change,
        )
    assert not ws.exists(path)
    assert path in state.withdrawn(ws)  # not taken back by a rewrite


def test_candidates_offer_the_findings_remedies_after_the_recommendation(ws, write_base_evaluation, make_evaluation):
    write_base_evaluation(ws, 0.0)
    researcher_step(ws)
    path, _ = _first(ws)
    finding = Finding(
        name="entropy collapse",
        severity="warning",
        evidence="entropy fell to 10% of its start by step 40",
        remedies=[
            Remedy(config_delta={"epsilon_high": 0.28}, paper="2503.14476", why="clip-higher"),
            Remedy(config_delta={"top_entropy_quantile": 0.2}, paper="2506.01939", why="fork tokens"),
            Remedy(config_delta={"not_a_trl_knob": 1}, paper="2503.14476", why="skipped: the trainer lacks it"),
            Remedy(data_action="GRPO from this checkpoint with the verifier as reward", paper="2501.12948"),
            Remedy(data_action="filter prompts by pass rate, keeping 0 < p < 1", paper="2503.14476"),
        ],
    )
    rec = Recommendation(
        action="train",
        method="grpo",
        parent_run=None,
        config_delta={"epsilon_high": 0.28},
        tags=["grpo", "entropy", "exploration"],
        papers=["2503.14476"],
        reason="entropy collapsed",
    )
    _run(ws, make_evaluation, path, kept=False, method="grpo", findings=[finding], rec=rec)
    need = current_need(ws)
    assert need["findings"] == ["entropy collapse"]
    corpus = load_corpus()
    ranked = rank_papers(corpus, need["tags"], need["why"], need["findings"], set(need["papers"]))
    cands = candidates(need, ranked, corpus)
    deltas = [c["config_delta"] for c in cands]
    assert deltas[0] == {"epsilon_high": 0.28}  # the recommendation, merged with the identical remedy
    assert {"top_entropy_quantile": 0.2} in deltas and {"not_a_trl_knob": 1} not in deltas
    # A data action is a candidate; a change of method dressed as one is not (the recommendation makes those).
    assert [c["data_change"] for c in cands if c["data_change"]] == ["filter prompts by pass rate, keeping 0 < p < 1"]
    keys = [signature(c["method"], c["parent_run"], c["config_delta"], c["data_change"]) for c in cands]
    assert len(keys) == len(set(keys))
    assert (
        "2503.14476" in cands[0]["papers"]
        and "2506.01939" in cands[deltas.index({"top_entropy_quantile": 0.2})]["papers"]
    )
    # The step writes the first and lists the others in its body.
    researcher_step(ws)
    _, hyp = state.hypotheses(ws)[1]
    assert hyp.config_delta == {"epsilon_high": 0.28} and "top_entropy_quantile" in hyp.body


def test_a_status_update_keeps_what_a_human_wrote_in_the_hypothesis(ws, write_base_evaluation, make_evaluation):
    write_base_evaluation(ws, 0.0)
    researcher_step(ws)
    path, _ = _first(ws)
    ws.path(path).write_text(ws.read_text(path) + "\n\n## My notes\n\nTry a smaller learning rate next.\n")
    ws.commit_human_edits([path])
    _run(ws, make_evaluation, path, kept=True)
    researcher_step(ws)
    hyp = ws.load(path)
    assert hyp.status == "supported"
    assert hyp.body.endswith("## My notes\n\nTry a smaller learning rate next.")
    assert "**supported**: the critic kept run-001" in hyp.body and "**proposed**" not in hyp.body
