"""The token budget: counted per call, kept in .intern/, enforced across a restart, announced once."""

from __future__ import annotations

from pydantic import BaseModel

from agents.brain import current, forget_built_models, register_chat_model
from agents.brain.ask import ask
from agents.brain.budget import read_usage, spent_notice, usage_path
from agents.brain.decisions import brain_notices
from agents.supervisor import Context, supervisor_node
from bus import Workspace

from .conftest import Scripted


class Answer(BaseModel):
    value: int


def test_the_budget_survives_a_restart_and_then_no_call_is_made(ws: Workspace, use_brain) -> None:
    model = use_brain(ws, ['{"value": 1}'] * 5, tokens=100)
    first, note = ask(current(ws), "Say a number.", Answer, {"padding": "x" * 600})
    assert first == Answer(value=1) and note.startswith("LLM")
    assert read_usage(ws.state_dir).tokens >= 100  # the estimate of one call spent it
    assert usage_path(ws.state_dir).is_file()

    # A restart: a new process builds its brain again from intern.yaml and the files under .intern/.
    forget_built_models()
    fresh = Scripted(responses=['{"value": 2}'])
    register_chat_model("scripted", fresh)
    again, note = ask(current(ws), "Say a number.", Answer, {})
    assert again is None and note.startswith("deterministic fallback: LLM token budget spent")
    assert fresh.sent == [] and len(model.sent) == 1  # spent means no call at all


def test_raising_the_budget_turns_the_brain_back_on(ws: Workspace, use_brain, set_goal) -> None:
    use_brain(ws, ['{"value": 1}', '{"value": 3}'], tokens=10)
    ask(current(ws), "Say a number.", Answer, {})
    assert ask(current(ws), "Say a number.", Answer, {})[0] is None
    set_goal(ws, brain_budget={"tokens": 100_000})
    assert ask(current(ws), "Say a number.", Answer, {})[0] == Answer(value=3)


def test_spent_is_said_once_as_a_plan_question(ws: Workspace, use_brain, write_base_evaluation) -> None:
    write_base_evaluation(ws, 0.0)
    use_brain(ws, ['{"value": 1}'], tokens=5)
    ask(current(ws), "Say a number.", Answer, {})
    ctx = Context(ws=ws, watcher=None, say=lambda _: None, goal=ws.goal())
    supervisor_node(ctx)({"step": 0})
    questions = [q for q in ws.plan().questions() if "token budget" in q]
    assert len(questions) == 1 and "brain_budget.tokens" in questions[0]
    assert brain_notices(ws) == []  # remembered in .intern/, so a restart does not ask again
    assert spent_notice(ws.state_dir, 5) is None


def test_a_mangled_usage_file_counts_as_spent(ws: Workspace, use_brain) -> None:
    model = use_brain(ws, ['{"value": 1}'], tokens=1000)
    usage_path(ws.state_dir).write_text("{not json")
    answer, note = ask(current(ws), "Say a number.", Answer, {})
    assert answer is None and "budget spent" in note and model.sent == []


def test_status_says_what_the_brain_spent(ws: Workspace, use_brain, capsys) -> None:
    from agents import cli

    use_brain(ws, ['{"value": 1}'], tokens=1000)
    ask(current(ws), "Say a number.", Answer, {})
    assert cli.main(["status", str(ws.root)]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("brain:"))
    spent = read_usage(ws.state_dir).tokens
    assert line == f"brain: injected:scripted, {spent} of 1000 tokens spent over 1 calls, 1 estimated"


def test_the_llm_brain_is_priced_and_stops_when_the_money_budget_is_spent(ws: Workspace, use_brain, set_goal) -> None:
    from agents.common import spend

    model = use_brain(ws, ['{"value": 1}', '{"value": 2}'])
    spec = ws.goal().brain
    set_goal(ws, budget={"usd": 0.01, "token_prices": {spec: [1000.0, 1000.0]}})  # $0.001 a token
    first, _ = ask(current(ws), "Say a number.", Answer, {"padding": "x" * 100})
    assert first == Answer(value=1)
    assert spend.read_ledger(ws.state_dir).brain_usd >= 0.01
    again, note = ask(current(ws), "Say a number.", Answer, {})
    assert again is None and note == "deterministic fallback: money budget spent (budget.usd $0.01)"
    assert len(model.sent) == 1
