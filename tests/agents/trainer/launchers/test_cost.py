"""The money budget at launch: a run is priced before it starts, and one the budget cannot pay for starts no job."""

from __future__ import annotations

import pytest
from huggingface_hub import constants

from agents.cli import main
from agents.common import spend
from agents.supervisor import Context, stop_reason
from agents.trainer.launchers import LaunchSpec, cancel, hf_jobs, launch
from agents.trainer.launchers.cost import duration_seconds, estimate_cost
from agents.trainer.trainer import trainer_step
from bus.schemas import Budget, Compute

from .hub_server import FakeHub, serve

TOKEN = "hf_" + "z" * 34
REPO = "tester/intern-runs"


@pytest.fixture
def hub(monkeypatch):
    fake = FakeHub(token=TOKEN)
    server, _ = serve(fake)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setenv("HF_ENDPOINT", fake.url)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hf_jobs, "POLL_SECONDS", 0.05)
    yield fake
    server.shutdown()
    server.server_close()


def _spec(ws, budget: Budget, loop_seconds: float | None = None, **compute) -> LaunchSpec:
    run_dir = ws.path("runs/run-001")
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text("run_id: run-001\n")
    data = ws.path("data.jsonl")
    data.write_text('{"prompt": "01+02=", "completion": "003"}\n')
    return LaunchSpec(
        run_id="run-001",
        method="sft",
        max_steps=10,
        run_dir=run_dir,
        entry_args=["someone/some-model", str(data), "addition", str(data)],
        env={},
        cwd=ws.root,
        cancel_file=ws.state_dir / cancel.CANCEL_FILE,
        timeout=loop_seconds,
        compute=Compute(**compute),
        budget=budget,
        state_dir=ws.state_dir,
    )


def test_estimates_price_the_longest_a_job_may_run(ws):
    assert duration_seconds("90m") == 5400 and duration_seconds("2h") == 7200 and duration_seconds("3600") == 3600
    job = _spec(ws, Budget(), launcher="hf-jobs", hub_repo=REPO, flavor="a10g-small", timeout="2h")
    assert estimate_cost(job).usd == pytest.approx(2.0)  # $1.00/h for 2 h
    assert (
        "a10g-small: $1.00/h x 2 h timeout" in estimate_cost(job).basis and "jobs-pricing" in estimate_cost(job).basis
    )
    capped = _spec(
        ws,
        Budget(prices={"a10g-small": 3.0}),
        1800.0,
        launcher="hf-jobs",
        hub_repo=REPO,
        flavor="a10g-small",
        timeout="2h",
    )
    # At the user's price, and for the job's whole timeout: a loop with 30 minutes left may die and not cancel it.
    assert estimate_cost(capped).usd == pytest.approx(6.0)
    assert estimate_cost(_spec(ws, Budget(), launcher="local")).usd == 0.0


def test_a_one_dollar_budget_starts_no_job_whose_estimate_exceeds_it(trainable, set_goal, hub, capsys):
    ws = trainable()
    set_goal(
        ws,
        budget={"usd": 1},
        compute={"launcher": "hf-jobs", "flavor": "a10g-small", "timeout": "2h", "hub_repo": REPO},
    )
    outcome = trainer_step(ws)
    assert not outcome.ok
    assert hub.requests == [] and hub.job_requests == []  # not even a whoami: nothing was started or uploaded
    result = ws.load("runs/run-001/result.json")
    assert result.status == "failed" and result.error.startswith("not started: the money budget cannot pay for run-001")
    assert "$2.00" in result.error and "$1.00" in result.error
    reason = stop_reason(Context(ws=ws, watcher=None), ws.goal())
    assert reason.startswith("money budget spent: cannot pay for run-001: it may cost $2.00")
    assert main(["status", str(ws.root)]) == 0
    assert "money: $0.00 spent of budget.usd $1.00" in capsys.readouterr().out
    set_goal(ws, budget={"usd": 3})  # a human raises the budget: the refusal no longer stops the loop
    assert stop_reason(Context(ws=ws, watcher=None), ws.goal()) is None


def test_a_job_the_budget_pays_for_is_reserved_then_settled_to_its_billed_minutes(ws, hub):
    hub.stages = ["SCHEDULING", "RUNNING", "ERROR"]
    spec = _spec(ws, Budget(usd=1.0), launcher="hf-jobs", hub_repo=REPO, flavor="t4-small", timeout="1h")
    outcome = launch(spec)
    assert outcome.error.startswith("job job0001 ended ERROR") and len(hub.job_requests) == 1
    [entry] = spend.read_ledger(ws.state_dir).runs
    assert entry.estimate_usd == pytest.approx(0.40) and entry.settled
    assert entry.usd == pytest.approx(0.40 / 60, abs=1e-6)  # one billed minute at $0.40/h
    spec.compute = Compute(launcher="hf-jobs", hub_repo=REPO, flavor="no-such-flavor")
    assert launch(spec).error.startswith("not started: no price for Hugging Face Jobs flavor 'no-such-flavor'")
    spec.compute = Compute(launcher="hf-jobs", hub_repo=REPO, flavor="t4-small", timeout="1h", secrets=["NOPE"])
    assert launch(spec).error == "compute.secrets names NOPE, not set in this environment"
    assert spend.read_ledger(ws.state_dir).runs[-1].usd == 0.0  # refused before any job: nothing billed
