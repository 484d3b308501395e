"""The supervisor: a LangGraph StateGraph that routes between the four specialists.

Every decision is taken from the workspace files (plan.md's queue first, then the state of
the artifacts), so a restarted `intern go` carries on where the files say. The graph state
holds references only: the step count, the last commit, the reason for the last decision.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypedDict

from langgraph.graph import END, START, StateGraph

from agents import state
from agents.brain import preflight
from agents.brain.decisions import brain_notices, pick_next_steps
from agents.critic.critic import critic_step
from agents.curator.curator import curator_step
from agents.researcher.researcher import researcher_step
from agents.steps import StepOutcome
from agents.trainer.trainer import trainer_step
from bus import ArtifactError, Workspace
from bus.plan import Plan, QueueItem
from bus.schemas import Goal
from bus.watcher import HumanEditWatcher

SPECIALISTS = ("researcher", "curator", "trainer", "critic")
MAX_FAILED_STEPS = 3  # consecutive failures before the loop stops instead of spinning
# Between the curator and the trainer: the trainer drops the rows this check lists.
CONTAMINATION_CHECK = "critic: check the training data against the held-out split"


class GraphState(TypedDict, total=False):
    step: int
    last_commit: str | None
    reason: str
    route: str
    instruction: str
    stop: str | None
    finished: bool


@dataclass
class Context:
    """What the nodes share for one `intern go`: handles, not decisions."""

    ws: Workspace
    watcher: HumanEditWatcher | None
    started: float = field(default_factory=time.time)
    goal: Goal | None = None
    failures: int = 0
    work_at_last_plan: int | None = None  # agent commits counted when the queue last ran dry
    say: Callable[[str], None] = print


def _refresh_goal(ctx: Context) -> Goal:
    try:
        ctx.goal = ctx.ws.goal()
    except ArtifactError as exc:
        if ctx.goal is None:
            raise
        question = f"intern.yaml is invalid ({exc}); the supervisor keeps using the previous goal until it is fixed."
        ctx.ws.update_plan(lambda p: p.add_question(question), "Ask about an invalid intern.yaml")
    return ctx.goal


def stop_reason(ctx: Context, goal: Goal) -> str | None:
    best = state.best_run(ctx.ws)
    if best is not None and best.evaluation.score >= goal.target.value:
        return f"target met: {best.id} scores {best.evaluation.score:.3f} >= {goal.target.value:.2f}"
    finished_runs = [r for r in state.runs(ctx.ws) if r.result is not None]
    pending_judgement = any(r.diagnosis is None for r in finished_runs)
    if len(finished_runs) >= goal.budget.runs and not pending_judgement:
        return f"budget spent: {len(finished_runs)} of {goal.budget.runs} runs used"
    elapsed = (time.time() - ctx.started) / 60
    if elapsed >= goal.budget.minutes:
        return f"budget spent: {elapsed:.1f} of {goal.budget.minutes:g} minutes used"
    if ctx.failures >= MAX_FAILED_STEPS:
        return f"stuck: {ctx.failures} steps in a row failed; see the Queue notes in plan.md"
    diagnosed = [r for r in finished_runs if r.diagnosis is not None]
    if diagnosed and not pending_judgement and diagnosed[-1].diagnosis.recommendation.action == "stop":
        return f"no idea left: {diagnosed[-1].diagnosis.recommendation.reason}"
    return None


def _idle_check(ctx: Context) -> str | None:
    """Doom-loop guard: planning again when the last planned steps produced no new artifact is spinning."""
    work = sum(1 for c in ctx.ws.history() if c.agent in SPECIALISTS and c.artifact != "reports/summary.md")
    idle = ctx.work_at_last_plan is not None and work == ctx.work_at_last_plan
    ctx.work_at_last_plan = work
    if idle:
        return "stuck: the last planned steps produced no new artifact; see the Queue notes in plan.md"
    return None


def derive_steps(ws: Workspace) -> list[str]:
    """The deterministic brain: the next steps the files call for, as queue items."""
    if state.base_evaluation(ws) is None:
        return ["critic: evaluate the base model on the held-out split"]
    unjudged = [r.id for r in state.runs(ws) if r.result is not None and r.diagnosis is None]
    if unjudged:
        return [f"critic: evaluate and diagnose {', '.join(unjudged)}"]
    if any(r.config is not None and r.result is None for r in state.runs(ws)):
        return [
            "curator: make sure the training data is there",
            CONTAMINATION_CHECK,
            "trainer: finish the interrupted run",
            "critic: evaluate and diagnose it",
        ]
    return [
        "researcher: propose the next hypothesis from the latest evidence",
        "curator: prepare training data for it",
        CONTAMINATION_CHECK,
        "trainer: run the hypothesis",
        "critic: evaluate and diagnose the run",
    ]


def _next_item(plan: Plan) -> tuple[QueueItem | None, list[str]]:
    """First runnable unchecked item, and questions about items nobody can run."""
    questions = [
        f"Queue line `{line}` is not a `- [ ] agent: action` item; nobody will run it."
        for line in plan.stray_queue_lines()
    ]
    for item in plan.queue():
        if item.checked:
            continue
        if item.agent in SPECIALISTS:
            return item, questions
        questions.append(f"Queue item `{item.text}` names no agent I know ({', '.join(SPECIALISTS)}); it is skipped.")
    return None, questions


def _status_text(ctx: Context, goal: Goal, reason: str) -> str:
    best = state.best_run(ctx.ws)
    base = state.base_evaluation(ctx.ws)
    runs = [r for r in state.runs(ctx.ws) if r.result is not None]
    return "\n".join(
        [
            f"- runs: {len(runs)} of {goal.budget.runs}; minutes: {(time.time() - ctx.started) / 60:.1f} of {goal.budget.minutes:g}",
            f"- base model: {base.score:.3f}" if base else "- base model: not evaluated yet",
            f"- best: {best.id} at {best.evaluation.score:.3f} (target {goal.target.value:.2f})"
            if best
            else f"- best: none yet (target {goal.target.value:.2f})",
            f"- last decision: {reason}",
        ]
    )


def _goal_text(goal: Goal) -> str:
    return (
        f"Lift `{goal.model}` on `{goal.task.name}` ({goal.task.digits}-digit) to {goal.target.metric} >= "
        f"{goal.target.value:.2f}, within {goal.budget.runs} runs and {goal.budget.minutes:g} minutes."
    )


def supervisor_node(ctx: Context) -> Callable[[GraphState], GraphState]:
    def node(gs: GraphState) -> GraphState:
        ws = ctx.ws
        if ctx.watcher is not None:
            ctx.watcher.flush()
            for event in ctx.watcher.drain():
                ctx.say(f"noticed a human edit of {', '.join(event.paths)} ({event.sha[:8]})")
        if gs.get("stop"):
            if gs.get("route") != "critic":  # a critical stop from another agent: the critic writes the report
                return {"route": "critic", "instruction": "write the final report"}
            return {"finished": True, "route": END}
        goal = _refresh_goal(ctx)
        problems = state.invalid_artifacts(ws)
        reason = stop_reason(ctx, goal)
        plan = ws.plan()
        item, questions = _next_item(plan)
        questions += brain_notices(ws)  # once: the LLM brain's token budget is spent
        if reason is None and item is None:
            reason = _idle_check(ctx)
        if reason is not None:
            # Stopping wins over queued items; they stay in plan.md for the next `intern go`.
            _write_plan(ctx, goal, [], questions + problems, f"stop ({reason})")
            ctx.say(f"stopping: {reason}")
            return {"stop": reason, "route": "critic", "instruction": "write the final report", "reason": reason}
        if item is None:
            steps, decision = pick_next_steps(ws, derive_steps(ws))  # the LLM brain picks among the legal starts
            _write_plan(ctx, goal, steps, questions + problems, decision)
            item, _ = _next_item(ws.plan())
            if item is None:
                return {
                    "stop": "no runnable step left in the queue",
                    "route": "critic",
                    "instruction": "write the final report",
                }
        elif questions or problems:
            _write_plan(ctx, goal, [], questions + problems, None)
        ctx.say(f"step {gs.get('step', 0) + 1}: {item.agent}: {item.action}")
        return {
            "route": item.agent,
            "instruction": item.text,
            "reason": f"queue item: {item.text}",
            "step": gs.get("step", 0) + 1,
        }

    return node


def _write_plan(ctx: Context, goal: Goal, new_steps: list[str], questions: list[str], decision: str | None) -> None:
    """One supervisor commit: goal summary, new queue items, questions, and (given a decision) the Status."""

    def edit(plan: Plan) -> None:
        plan.set_section("Goal", _goal_text(goal))
        if new_steps:
            plan.append_queue(new_steps)
        for question in questions:
            plan.add_question(question)
        if decision is not None:
            plan.set_section("Status", _status_text(ctx, goal, decision))

    ctx.ws.update_plan(edit, f"Plan: {decision or 'ask ' + str(len(questions)) + ' question(s)'}"[:120])


def specialist_node(ctx: Context, agent: str) -> Callable[[GraphState], GraphState]:
    def node(gs: GraphState) -> GraphState:
        ws = ctx.ws
        instruction = gs.get("instruction", "")
        goal = ctx.goal
        try:
            if agent == "researcher":
                outcome = researcher_step(ws, instruction)
            elif agent == "curator":
                outcome = curator_step(ws, instruction)
            elif agent == "trainer":
                deadline = ctx.started + goal.budget.minutes * 60 if goal else None
                outcome = trainer_step(ws, instruction, deadline)
            else:
                outcome = critic_step(ws, instruction, stop_reason=gs.get("stop"))
        except ArtifactError as exc:
            outcome = StepOutcome(agent, f"stopped on an invalid artifact: {exc}", ok=False)
        except Exception as exc:  # one agent's bug must not take the loop down; it is recorded in plan.md
            outcome = StepOutcome(agent, f"crashed: {type(exc).__name__}: {exc}", ok=False)
        ctx.failures = 0 if outcome.ok else ctx.failures + 1
        ctx.say(f"  {agent}: {'ok' if outcome.ok else 'FAILED'}: {outcome.summary}")
        if not gs.get("stop"):
            _tick(ctx, instruction, outcome)
        last = outcome.commits[-1] if outcome.commits else gs.get("last_commit")
        if outcome.critical and not gs.get("stop"):
            # Integrity is gone (changed split, grader or checkpoint): no later step can be trusted.
            reason = outcome.summary if outcome.summary.startswith("critical") else f"critical: {outcome.summary}"
            if ctx.goal is not None:
                _write_plan(ctx, ctx.goal, [], [], f"stop ({reason})")
            ctx.say(f"stopping: {reason}")
            return {"last_commit": last, "stop": reason}
        return {"last_commit": last}

    return node


def _tick(ctx: Context, instruction: str, outcome: StepOutcome) -> None:
    """Tick the item that ran, with its outcome, and refresh the Status, in one commit."""
    note = ("done: " if outcome.ok else "failed: ") + outcome.summary[:200]

    def edit(plan: Plan) -> None:
        for item in plan.queue():
            if not item.checked and item.text == instruction:
                plan.tick(item, note)
                break
        if ctx.goal is not None:
            plan.set_section("Status", _status_text(ctx, ctx.goal, f"{instruction} ({note})"))

    ctx.ws.update_plan(edit, f"Tick: {instruction}"[:120])


def build_graph(ctx: Context):
    graph = StateGraph(GraphState)
    graph.add_node("supervisor", supervisor_node(ctx))
    for agent in SPECIALISTS:
        graph.add_node(agent, specialist_node(ctx, agent))
        graph.add_edge(agent, "supervisor")
    graph.add_edge(START, "supervisor")
    graph.add_conditional_edges(
        "supervisor", lambda gs: END if gs.get("finished") else gs["route"], [*SPECIALISTS, END]
    )
    return graph.compile()


def run_loop(ws: Workspace, watch: bool = True, say: Callable[[str], None] = print) -> str:
    """Run the loop until it stops; returns the stop reason. Holds the workspace lock throughout."""
    with ws.lock():
        watcher = HumanEditWatcher(ws).start() if watch else None
        try:
            ctx = Context(ws=ws, watcher=watcher, say=say)
            ctx.goal = ws.goal()
            say(preflight(ws))  # a brain that can never work (no HF_TOKEN, no such model) stops here, not mid-run
            final = build_graph(ctx).invoke({"step": 0}, {"recursion_limit": 10_000})
            return final.get("stop") or "stopped"
        finally:
            if watcher is not None:
                watcher.stop()
