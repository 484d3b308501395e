"""The backlog's sources, one by one: failures by cause, every remedy of every finding, the demonstration-error
moves, the curator's data actions only, paper knobs with their citation, and hypotheses a human wrote."""

from __future__ import annotations

from agents.search.backlog import (
    DATA_ACTIONS,
    build_backlog,
    continuations,
    failure_retries,
    finding_remedies,
    hypotheses_on_file,
    longer_retry,
    paper_knobs,
    stalled_retry,
)
from agents.search.tree import BASE, CRASH, INVALID, NON_FINITE, OOM, TIMEOUT, Node, Tree, failure_kind
from bus.schemas import Finding, Remedy
from tests.agents.search import simulate as sim


def _failed(cause_error: str, method: str = "grpo", run_id: str = "run-002", **cfg) -> Node:
    return Node(
        run_id,
        "run-001",
        method=method,
        delta={"learning_rate": 1e-4},
        verdict="failed",
        error=cause_error,
        cause=failure_kind(cause_error),
        config=sim.config(run_id, method, "run-001", **cfg),
    )


def _tree(*nodes: Node) -> Tree:
    base = Node(BASE, None, score=0.0, verdict="base")
    kept = Node("run-001", BASE, method="sft", score=0.6, verdict="kept", config=sim.config("run-001"))
    return Tree([base, kept, *nodes])


def test_failure_causes_are_read_as_the_launchers_word_them():
    assert failure_kind("out of memory: torch.OutOfMemoryError: CUDA out of memory") == OOM
    assert failure_kind("killed by SIGKILL (out of memory?): the kernel's OOM killer sends it") == OOM
    assert failure_kind("timed out after 600s (the budget's time ran out)") == TIMEOUT
    assert failure_kind("non-finite loss or gradient (NaN/inf) at step 12: lower the learning rate") == NON_FINITE
    assert failure_kind("ValueError: per_device_train_batch_size must be divisible") == INVALID
    assert failure_kind("RuntimeError: something nobody has seen") == CRASH


def test_out_of_memory_gets_a_smaller_batch_with_accumulation_checkpointing_and_lora():
    node = _failed("out of memory: CUDA out of memory", per_device_train_batch_size=128)
    cands, questions = failure_retries(node, _tree(node))
    deltas = [c.delta for c in cands]
    assert questions == [] and all(c.parent == "run-001" and c.retry_of == "run-002" for c in cands)
    assert {"learning_rate": 1e-4, "per_device_train_batch_size": 64, "gradient_accumulation_steps": 2} in deltas
    assert {"learning_rate": 1e-4, "gradient_checkpointing": True} in deltas
    assert any("peft" in d for d in deltas)
    assert cands[0].prior > cands[-1].prior  # the batch remedy changes least: it is tried first


def test_timeout_nan_and_invalid_config_each_get_their_own_cure():
    timeout = _failed("timed out after 600s")
    deltas = [c.delta for c in failure_retries(timeout, _tree(timeout))[0]]
    assert {"learning_rate": 1e-4, "max_steps": 250} in deltas
    assert {"learning_rate": 1e-4, "max_completion_length": 4} in deltas
    nan = _failed("non-finite loss or gradient (NaN/inf) at step 3", learning_rate=1e-4)
    [retry] = failure_retries(nan, _tree(nan))[0]
    assert retry.delta == {"learning_rate": 1e-5, "max_grad_norm": 0.5}
    invalid = _failed("ValueError: learning_rate 1e-4 is out of range for this TRL")
    [fixed] = failure_retries(invalid, _tree(invalid))[0]
    assert fixed.delta == {}  # the field the search set, back to the recipe's value
    unknown = _failed("ValueError: something about beta")
    cands, questions = failure_retries(unknown, _tree(unknown))
    assert cands == [] and "please fix" in questions[0]


def test_an_unknown_crash_is_retried_once_then_asked_about():
    first = _failed("RuntimeError: segfault in a kernel")
    [again] = failure_retries(first, _tree(first))[0]
    assert again.delta["seed"] == 1 and again.parent == "run-001"
    second = _failed("RuntimeError: segfault in a kernel", run_id="run-003")
    cands, questions = failure_retries(second, _tree(first, second))
    assert cands == [] and "run-002, run-003 crashed" in questions[0] and "what should change" in questions[0]


def test_every_remedy_of_every_finding_is_a_candidate_and_a_discarded_run_retries_from_its_parent():
    findings = [
        Finding(
            name="entropy collapse",
            severity="warning",
            evidence="e",
            remedies=[
                Remedy(config_delta={"epsilon_high": 0.28}, paper="2503.14476"),
                Remedy(config_delta={"top_entropy_quantile": 0.2}, paper="2506.01939"),
            ],
        ),
        Finding(
            name="gradient blow-up",
            severity="critical",
            evidence="g",
            remedies=[
                Remedy(config_delta={"learning_rate": 2.5e-5}, paper="1707.06347"),
                Remedy(config_delta={"max_grad_norm": 0.5}, paper="1211.5063"),
                Remedy(data_action="more varied demonstrations", paper="2305.11206"),  # the curator does not do it
                Remedy(config_delta={"not_a_knob": 1}, paper="2402.03300"),  # the trainer does not offer it
            ],
        ),
    ]
    node = Node("run-002", "run-001", "grpo", {}, verdict="discarded", config=sim.config("run-002", "grpo"))
    node.findings = findings
    cands = finding_remedies(node, _tree(node))
    assert [c.delta for c in cands] == [
        {"epsilon_high": 0.28},
        {"top_entropy_quantile": 0.2},
        {"learning_rate": 2.5e-5},
        {"max_grad_norm": 0.5},
    ]
    assert all(c.parent == "run-001" and c.retry_of == "run-002" for c in cands)  # never from the discarded run
    assert cands[2].prior > cands[0].prior  # a critical finding's cure first


def test_a_demonstration_error_offers_grpo_and_sft_on_verified_rows_with_the_curators_actions(
    make_card, make_evaluation
):
    node = Node(
        "run-001",
        BASE,
        "sft",
        score=0.62,
        verdict="kept",
        data="addition-d2-teacher50-s0",
        config=sim.config("run-001"),
        evaluation=make_evaluation(0.62, slices={"carry": 0.47, "no_carry": 1.0}),
    )
    tree = _tree()
    tree.nodes[1] = node
    tree.cards = {"addition-d2-teacher50-s0": make_card()}  # carry demonstrations agree 50% of the time
    cands = {c.move: c for c in continuations(node, tree)}
    grpo, sft = cands["grpo fixes demonstration error"], cands["sft on verified rows"]
    assert grpo.data_action == DATA_ACTIONS["aim at slice"].format(slice="carry", where="runs/run-001/diagnosis.md")
    assert sft.data_action == DATA_ACTIONS["verified rows"].format(slice="carry", where="runs/run-001/diagnosis.md")
    assert grpo.headroom == sft.headroom == 0.5 * (1 - 0.47)  # the carry slice's share of what is left
    assert sft.prior == grpo.prior * 0.5  # scaled by the 50% of demonstrations that survive the grader
    every = {c.data_action for c in build_backlog(tree).candidates} - {None}
    assert every <= {
        a.format(slice="carry", where="runs/run-001/diagnosis.md", run="run-001") for a in DATA_ACTIONS.values()
    }  # nothing the curator cannot do


def test_paper_knobs_and_hyperparameters_read_from_a_paper_cite_it():
    node = Node("run-002", "run-001", "grpo", verdict="kept", score=0.7, config=sim.config("run-002", "grpo"))
    node.findings = [Finding(name="entropy collapse", severity="warning", evidence="e")]
    paper = {
        "arxiv_id": "2503.14476",
        "short": "DAPO",
        "knobs": {"epsilon_high": 0.28, "not_ours": 1},
        "hyperparameters": {"learning_rate": ["1e-6", "2e-6"]},
        "failure_modes": ["entropy collapse"],
    }
    [cand] = paper_knobs(node, _tree(node), [paper, {"arxiv_id": "x", "knobs": {"beta": 1}, "failure_modes": []}])
    assert cand.delta == {"epsilon_high": 0.28, "learning_rate": 1e-6}
    assert cand.papers == ["2503.14476"] and "arXiv 2503.14476" in cand.reason and cand.parent == "run-002"


def test_a_humans_hypothesis_on_file_is_a_candidate(make_hypothesis):
    tree = _tree()
    human = make_hypothesis(method="grpo", parent_run="run-001", config_delta={"beta": 0.04}, title="try KL")
    ours = make_hypothesis(body="# H\n\n## Search\n\n**Move:** continue sft (standard move)")
    tree.hypotheses = {"hypotheses/H0005-try-kl.md": (human, "proposed"), "hypotheses/H0006-x.md": (ours, "proposed")}
    [cand] = hypotheses_on_file(tree)
    assert cand.hypothesis == "hypotheses/H0005-try-kl.md" and cand.delta == {"beta": 0.04}
    assert cand.parent == "run-001" and cand.move == "hypothesis on file"


def test_every_data_action_the_search_proposes_is_one_the_curator_carries_out():
    from agents.search.backlog import CURATOR_ACTION
    from agents.search.data_actions import ACTION_NAMES

    assert set(CURATOR_ACTION) == set(DATA_ACTIONS)
    assert {name for names in CURATOR_ACTION.values() for name in names} <= set(ACTION_NAMES)


def test_a_discarded_run_whose_loss_did_not_fall_is_retried_at_a_tenth_of_the_rate():
    node = Node("run-002", "run-001", "sft", verdict="discarded", score=0.0, config=sim.config("run-002"))
    node.config = sim.config("run-002", learning_rate=0.5)
    node.findings = [Finding(name="training loss", severity="info", evidence="l", values={"first": 2.6, "last": 2.4})]
    [retry] = stalled_retry(node, _tree(node))
    assert retry.parent == "run-001" and retry.delta == {"learning_rate": 0.05, "max_grad_norm": 0.5}
    node.findings[0].values["last"] = 0.3  # a loss that fell: the rate was not the problem
    assert stalled_retry(node, _tree(node)) == []


def test_a_discarded_sft_run_that_was_learning_is_retried_with_twice_the_steps():
    node = Node("run-001", BASE, "sft", verdict="discarded", score=0.02, gain=0.02, steps=40)
    node.config = sim.config("run-001", learning_rate=2e-4)
    node.findings = [Finding(name="training loss", severity="info", evidence="l", values={"first": 2.6, "last": 1.1})]
    tree = Tree([Node(BASE, None, score=0.0, verdict="base"), node])
    [retry] = longer_retry(node, tree)
    assert (retry.method, retry.parent, retry.steps, retry.delta) == ("sft", BASE, 80, {"max_steps": 80})
    assert retry.retry_of == "run-001" and "2.600 -> 1.100" in retry.reason
    assert retry.signature() in {c.signature() for c in build_backlog(tree).candidates}
    node.findings[0].values["token_accuracy"] = 0.98  # it already reproduces its demonstrations: no more steps
    assert longer_retry(node, tree) == []
    del node.findings[0].values["token_accuracy"]
    node.gain = -0.1  # it regressed: longer would go further the wrong way
    assert longer_retry(node, tree) == []
    node.gain, node.findings[0].values["last"] = 0.02, 2.5  # a loss that did not fall: the stalled retry's case
    assert longer_retry(node, tree) == []


def test_a_kept_run_offers_sft_on_its_own_verified_samples_only_when_the_goal_lets_the_curator_sample():
    from agents.search.backlog import own_samples
    from agents.search.data_actions import asks_for_own_samples

    tree = _tree()
    assert not any(c.move == "sft on own samples" for c in build_backlog(tree).candidates)  # self_sampling off
    tree.self_sampling = True
    found = [c for c in build_backlog(tree).candidates if c.move == "sft on own samples"]
    assert len(found) == 1
    cand = found[0]
    assert (cand.method, cand.parent) == ("sft", "run-001")
    assert asks_for_own_samples(cand.data_action) and "run-001" in cand.data_action
    assert "2203.14465" in cand.papers
    # A model that solves almost nothing has no right samples to keep.
    weak = Node("run-001", BASE, method="sft", score=0.01, verdict="kept", config=sim.config("run-001"))
    assert own_samples(weak, tree) == []
    assert own_samples(tree.node(BASE), tree) == []


def test_more_sft_on_demonstrations_a_run_already_reproduces_is_half_as_likely_to_pay():
    from agents.search.backlog import MOVES, continue_sft

    node = Node("run-001", BASE, method="sft", score=0.5, verdict="kept", config=sim.config("run-001"))
    assert continue_sft(node, {}).prior == MOVES["continue sft"][0]
    node.findings = [Finding(name="training loss", severity="info", evidence="", values={"first": 1.9, "last": 0.06,
                             "token_accuracy": 0.97})]  # fmt: skip
    halved = continue_sft(node, {})
    assert halved.prior == MOVES["continue sft"][0] * 0.5 and "0.97" in halved.reason
    node.findings[0].values["token_accuracy"] = 0.80
    assert continue_sft(node, {}).prior == MOVES["continue sft"][0]
