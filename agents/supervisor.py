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

from agents import control, inputs, search
from agents.brain import preflight
from agents.brain.decisions import brain_notices, pick_next_steps
from agents.common import doom_loop, plan_rules, records, recovery, spend, state
from agents.common.steps import StepOutcome
from agents.critic.critic import critic_step, stale_stop
from agents.curator.curator import curator_step
from agents.researcher.researcher import researcher_step
from agents.trainer.trainer import trainer_step
from bus import ArtifactError, Workspace, layout
from bus.plan import Plan, QueueItem
from bus.schemas import Goal
from bus.watcher import HumanEditWatcher


@dataclass(frozen=True)
class StepContext:
    """What a step may know of the loop beyond the files: when training must end, and whether the loop is stopping."""

    deadline: float | None = None  # epoch seconds: the goal's minutes budget, counted from `intern go`
    stop_reason: str | None = None  # set when the loop stops: the critic then writes its final report


# Every specialist behind one signature, step(ws, instruction, ctx): the graph's nodes call it by name.
STEPS: dict[str, Callable[[Workspace, str, StepContext], StepOutcome]] = {
    "researcher": lambda ws, instruction, ctx: researcher_step(ws, instruction),
    "curator": lambda ws, instruction, ctx: curator_step(ws, instruction),
    "trainer": lambda ws, instruction, ctx: trainer_step(ws, instruction, ctx.deadline),
    "critic": lambda ws, instruction, ctx: critic_step(ws, instruction, stop_reason=ctx.stop_reason),
}
SPECIALISTS = tuple(STEPS)
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
    withdrawn: dict[str, str] | None = None  # what a human had withdrawn by a revert at the last decision
    repeats: list[str] = field(default_factory=list)  # signs of a doom loop seen so far (doom_loop.py)
    pending_repeat: str | None = None  # a repetition a step showed: a refused repeat, the same failure again
    failed: set[str] = field(default_factory=set)  # every failure seen, to notice the same one again
    search_lines: list[str] = field(default_factory=list)  # the search's choice and runner-up (plan.md Status)
    search_questions: list[str] = field(default_factory=list)  # what the search will not guess
    say: Callable[[str], None] = print
    allow_outside_data: bool = False  # `intern go --allow-outside-data`: data paths may leave the workspace
    notices: list[str] = field(default_factory=list)  # said on the terminal, to be written into plan.md


def _refresh_goal(ctx: Context) -> Goal:
    """Today's intern.yaml, checked; an invalid one (or one naming unusable inputs) keeps the last valid goal.

    The kept goal is held in the workspace, so every agent reads the same one until the human fixes it.
    """
    ctx.ws.release_goal()  # check today's files again, even where the goal was held at the last decision
    try:
        goal = ctx.ws.goal()
    except ArtifactError:
        if ctx.goal is None:
            raise
        goal = ctx.goal
    problem, what = ctx.ws.goal_problem, "intern.yaml is invalid"
    if problem is None:
        bad = inputs.goal_problems(ctx.ws, goal, ctx.allow_outside_data)
        if bad and ctx.goal is not None:
            problem, what = bad[0], "intern.yaml names an input that cannot be used"
            ctx.ws.hold_goal(ctx.goal, problem)  # valid YAML: the agents must not read it either
        else:
            ctx.goal = goal
    if problem is not None and ctx.goal is not None:
        question = f"{what} ({problem}); every agent keeps using the previous goal until it is fixed."
        if question not in ctx.ws.plan().questions():
            ctx.say(f"{what} ({problem}); keeping the previous goal")
            ctx.ws.update_plan(lambda p: p.add_question(question), "Ask about an invalid intern.yaml")
    return ctx.goal


def stop_reason(ctx: Context, goal: Goal) -> str | None:
    """Why the loop stops now, derived from today's goal and files (an old diagnosis's stop is re-checked)."""
    runs = state.runs(ctx.ws)
    finished_runs = [r for r in runs if r.result is not None and r.result.status != "cancelled"]
    pending_judgement = any(state.needs_judging(r) or stale_stop(r, goal) for r in finished_runs)
    best = state.best_run(ctx.ws)
    if best is not None and best.evaluation.score >= goal.target.value and not pending_judgement:
        return f"target met: {best.id} scores {best.evaluation.score:.3f} >= {goal.target.value:.2f}"
    max_runs, max_minutes, why = _limits(ctx.ws, goal)
    spent = len(recovery.spent_runs(ctx.ws, runs))
    if spent >= max_runs and not pending_judgement:
        return f"budget spent: {spent} of {max_runs:g} runs used{why}"
    elapsed = (time.time() - ctx.started) / 60
    if elapsed >= max_minutes:
        return f"budget spent: {elapsed:.1f} of {max_minutes:g} minutes used{why}"
    money = spend.stop_reason(ctx.ws.state_dir, goal.budget.usd)  # a run refused for money, or budget.usd used up
    if money:
        return money
    if ctx.failures >= MAX_FAILED_STEPS:
        return f"stuck: {ctx.failures} steps in a row failed; see the Queue notes in plan.md"
    diagnosed = [r for r in finished_runs if r.diagnosis is not None]
    if diagnosed and not pending_judgement:
        return _search_stop(ctx, goal, max_minutes - elapsed)
    return None


def _search_stop(ctx: Context, goal: Goal, minutes_left: float) -> str | None:
    """The experiment search over the whole tree (agents/search): why no next experiment, or None."""
    if any(h.status == "proposed" for _, h in state.hypotheses(ctx.ws)) and _untested(ctx.ws):
        return None  # a hypothesis is waiting for its run: the search already chose
    _, decision = search.decide(ctx.ws, minutes_left)
    ctx.search_lines = search.status_lines(decision)
    ctx.search_questions = decision.questions
    return decision.stop


def _untested(ws: Workspace) -> bool:
    tested = {r.config.hypothesis for r in state.runs(ws) if r.config is not None}
    withdrawn = state.withdrawn(ws)
    return any(p not in tested and p not in withdrawn for p, _ in state.hypotheses(ws))


# Stops a human's new Queue item overrides: they asked for more work on a goal the loop thought finished.
_FINISHED = ("target met", "no idea left")


def _limits(ws: Workspace, goal: Goal) -> tuple[float, float, str]:
    """(runs, minutes, note): intern.yaml's budget, tightened by `max runs` / `max minutes` rules in plan.md."""
    rules, _ = plan_rules.parse_rules(ws.plan().rules())
    runs, minutes = float(goal.budget.runs), float(goal.budget.minutes)
    rule_runs, rule_minutes = plan_rules.loop_limit(rules, "runs"), plan_rules.loop_limit(rules, "minutes")
    tighter = (rule_runs is not None and rule_runs < runs) or (rule_minutes is not None and rule_minutes < minutes)
    runs = min(runs, rule_runs if rule_runs is not None else runs)
    minutes = min(minutes, rule_minutes if rule_minutes is not None else minutes)
    return runs, minutes, " (a rule in plan.md)" if tighter else ""


def _rule_questions(plan: Plan) -> list[str]:
    _, unreadable = plan_rules.parse_rules(plan.rules())
    return [
        f"Rule `{line}` is not one I can enforce (e.g. `max learning_rate: 1e-4`, `never use dataset: NAME`, "
        "`max runs: 3`, `method: sft only`); it is ignored until it is rewritten."
        for line in unreadable
    ]


def _idle_check(ctx: Context) -> str | None:
    """Doom-loop guard: planning again when the last planned steps produced no new artifact is spinning."""
    work = sum(1 for c in ctx.ws.history() if c.agent in SPECIALISTS and c.artifact != layout.SUMMARY)
    idle = ctx.work_at_last_plan is not None and work == ctx.work_at_last_plan
    ctx.work_at_last_plan = work
    if idle:
        return "stuck: the last planned steps produced no new artifact; see the Queue notes in plan.md"
    return None


def _repetition(ctx: Context) -> str | None:
    """A new sign that the loop repeats itself (a run's config again, the same diagnosis again)."""
    sign = doom_loop.repetition(ctx.ws)
    if sign is None and ctx.pending_repeat:
        sign = ctx.pending_repeat
    ctx.pending_repeat = None
    if sign is None or sign in ctx.repeats:
        return None
    ctx.repeats.append(sign)
    return sign


def _notice_reverts(ctx: Context) -> str | None:
    """Say which artifacts a human withdrew (or gave back) by a revert since the last decision."""
    now = state.withdrawn(ctx.ws)
    before = ctx.withdrawn if ctx.withdrawn is not None else {}
    news = [f"{path} withdrawn ({_consequence(path)})" for path in now if path not in before]
    for path in now.keys() - before.keys():
        ctx.say(f"noticed the revert {now[path][:8]}: {path} is withdrawn from the loop ({_consequence(path)})")
    if ctx.withdrawn is not None:
        for path in before.keys() - now.keys():
            ctx.say(f"noticed that {path} is no longer withdrawn (a revert of the revert, or redone)")
            news.append(f"{path} no longer withdrawn")
    ctx.withdrawn = now
    return "; ".join(news) or None


def _consequence(path: str) -> str:
    if layout.under(path, layout.DATASETS):
        return "never trained on again"
    if layout.under(path, layout.HYPOTHESES):
        return "never tried"
    if layout.under(path, layout.PAPERS):
        return "not written again until you revert the revert"
    if (layout.under(path, layout.RUNS) or path == layout.BASE_EVALUATION) and path.endswith(
        ("evaluation.md", "diagnosis.md")
    ):
        return "the critic redoes it"
    return "not used"


def derive_steps(ws: Workspace) -> list[str]:
    """The deterministic brain: the next steps the files call for, as queue items."""
    if state.base_evaluation(ws) is None:
        return ["critic: evaluate the base model on the held-out split"]
    unjudged = [r.id for r in state.runs(ws) if state.needs_judging(r)]
    if unjudged:
        return [f"critic: evaluate and diagnose {', '.join(unjudged)}"]
    goal = ws.goal()
    stale = [r.id for r in state.runs(ws) if stale_stop(r, goal)]
    if stale:  # the goal changed since the critic said "stop: target met": judge again against today's target
        return [f"critic: diagnose {', '.join(stale)} again against today's target"]
    if any(r.config is not None and recovery.interrupted(ws, r) for r in state.runs(ws)):
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
    runs = recovery.spent_runs(ctx.ws, state.runs(ctx.ws))
    max_runs, max_minutes, _ = _limits(ctx.ws, goal)
    return "\n".join(
        [
            f"- runs: {len(runs)} of {max_runs:g}; minutes: {(time.time() - ctx.started) / 60:.1f} of {max_minutes:g}",
            f"- base model: {base.score:.3f}" if base else "- base model: not evaluated yet",
            f"- best: {best.id} at {best.evaluation.score:.3f} (target {goal.target.value:.2f})"
            if best
            else f"- best: none yet (target {goal.target.value:.2f})",
            f"- last decision: {reason}",
        ]
        + ctx.search_lines
        + [f"- withdrawn by a human: {path} (revert {sha[:8]})" for path, sha in (ctx.withdrawn or {}).items()]
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
        noticed = _notice_reverts(ctx)
        repaired = ws.repair_plan()  # a deleted or unreadable plan.md: back from the template, with a notice
        if repaired:
            ctx.say(f"plan.md: {repaired}")
        if not gs.get("stop"):
            control.wait_while_paused(ws, ctx.say)  # the watcher keeps committing human edits meanwhile
        if gs.get("stop"):
            if gs.get("route") != "critic":  # a critical stop from another agent: the critic writes the report
                return {"route": "critic", "instruction": "write the final report"}
            return {"finished": True, "route": END}
        goal = _refresh_goal(ctx)
        problems = state.invalid_artifacts(ws)
        requested = control.stop_requested(ws)
        reason = control.stop_reason(requested) if requested else stop_reason(ctx, goal)
        plan = ws.plan()
        item, questions = _next_item(plan)
        if reason is not None and reason.startswith(_FINISHED) and item is not None and _humans(ws, plan, item):
            ctx.say(f"carrying on for the Queue item `{item.text}` although {reason}")
            reason = None  # a human asked for more: their item runs (and the loop judges what it makes)
        questions += brain_notices(ws)  # once: the LLM brain's token budget is spent
        questions += _rule_questions(plan)
        questions += _take_notices(ctx)
        for question in records.new_questions(ws):  # an agent's record changed by hand: asked once per change
            ctx.say(f"question: {question}")
            questions.append(question)
        sign = None
        questions += ctx.search_questions  # plan.add_question skips one already asked
        if reason is None and item is None:
            reason = _idle_check(ctx)
            sign = _repetition(ctx) if reason is None else None
            if sign and len(ctx.repeats) > 1:
                reason = f"doom loop: {sign}, again after a change of strategy (first: {ctx.repeats[0]})"
        if reason is not None:
            # Stopping wins over queued items; they stay in plan.md for the next `intern go`.
            _write_plan(ctx, goal, [], questions + problems, f"stop ({reason})")
            ctx.say(f"stopping: {reason}")
            return {"stop": reason, "route": "critic", "instruction": "write the final report", "reason": reason}
        if item is None:
            left = goal.budget.minutes - (time.time() - ctx.started) / 60
            left = min(left, _limits(ws, goal)[1] - (time.time() - ctx.started) / 60)
            steps = [  # the researcher asks the search, which fits the next run into the minutes left
                f"{s} ({max(0.0, left):.1f} minutes left)" if s.startswith("researcher:") else s
                for s in derive_steps(ws)
            ]
            if sign:  # the first repetition: ask for something different instead of doing the same again
                steps = [
                    f"researcher: propose a hypothesis unlike the last ones ({sign}; {max(0.0, left):.1f} minutes left)"
                    if s.startswith("researcher:")
                    else s
                    for s in steps
                ]
                questions.append(
                    f"The loop repeats itself: {sign}. I asked the researcher for a different hypothesis; "
                    "edit the Queue or the Rules to steer it; if it repeats again, the loop stops."
                )
            steps, decision = pick_next_steps(ws, steps)  # the LLM brain picks among the legal starts
            _write_plan(ctx, goal, steps, questions + problems, decision)
            item, _ = _next_item(ws.plan())
            if item is None:
                return {
                    "stop": "no runnable step left in the queue",
                    "route": "critic",
                    "instruction": "write the final report",
                }
        else:  # also adopts a rule or queue item written outside Rules / the Queue (no commit if nothing changed)
            _write_plan(ctx, goal, [], questions + problems, f"noticed a revert: {noticed}" if noticed else None)
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
        for notice in plan.adopt_stray_lines(lambda line: plan_rules.parse_rule(line) is not None, SPECIALISTS):
            ctx.say(f"plan.md: {notice}")
            plan.add_question(f"I {notice} (verbatim).")
        if new_steps:
            plan.append_queue(new_steps)
        for question in questions:
            plan.add_question(question)
        if decision is not None:
            plan.set_section("Status", _status_text(ctx, goal, decision))

    ctx.ws.update_plan(edit, f"Plan: {decision or 'ask ' + str(len(questions)) + ' question(s)'}"[:120])


def _humans(ws: Workspace, plan: Plan, item: QueueItem) -> bool:
    """The Queue item is a line a human wrote (git blame), not one the supervisor queued itself."""
    index = plan.line_index("Queue", item.line_no)
    return index is not None and index in set(ws.human_lines("plan.md"))


def _take_notices(ctx: Context) -> list[str]:
    """The bus's notices (a human's words moved to Notes, a secret masked): said now, asked about in plan.md."""
    out = []
    for notice in ctx.ws.take_notices():
        ctx.say(f"notice: {notice}")
        if not notice.startswith("kept your words: moved"):  # plan.md's own move wrote its notice already
            out.append(notice[0].upper() + notice[1:] + ".")
    return out


def specialist_node(ctx: Context, agent: str) -> Callable[[GraphState], GraphState]:
    def node(gs: GraphState) -> GraphState:
        ws = ctx.ws
        instruction = gs.get("instruction", "")
        goal = ctx.goal
        step_ctx = StepContext(
            deadline=ctx.started + goal.budget.minutes * 60 if goal else None, stop_reason=gs.get("stop")
        )
        try:
            outcome = STEPS[agent](ws, instruction, step_ctx)
        except ArtifactError as exc:
            outcome = StepOutcome(agent, f"stopped on an invalid artifact: {exc}", ok=False)
        except Exception as exc:  # one agent's bug must not take the loop down; it is recorded in plan.md
            outcome = StepOutcome(agent, f"crashed: {type(exc).__name__}: {exc}", ok=False)
        ctx.failures = 0 if outcome.ok else ctx.failures + 1
        if agent == "trainer" and doom_loop.REPEAT_MARK in outcome.summary:
            ctx.pending_repeat = f"the trainer refused to repeat an earlier run ({outcome.summary[:160]})"
        elif not outcome.ok:  # the same failure twice: nothing was learned in between
            failure = f"{agent} failed again: {outcome.summary[:160]}"
            ctx.pending_repeat = failure if failure in ctx.failed else ctx.pending_repeat
            ctx.failed.add(failure)
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


def run_loop(
    ws: Workspace, watch: bool = True, say: Callable[[str], None] = print, allow_outside_data: bool = False
) -> str:
    """Run the loop until it stops; returns the stop reason. Holds the workspace lock throughout.

    Inputs that can never work (an invalid intern.yaml, a missing model, a data file outside the
    workspace or not UTF-8) raise inputs.SetupError before anything runs.
    """
    with ws.lock():
        control.clear(ws)  # requests aimed at an earlier `intern go`
        goal = inputs.check_setup(ws, allow_outside_data)
        for note in recovery.recover(ws):
            say(f"recovering: {note}")
        repaired = ws.repair_plan()
        if repaired:
            say(f"plan.md: {repaired}")
        watcher = HumanEditWatcher(ws).start() if watch else None
        try:
            ctx = Context(ws=ws, watcher=watcher, say=say, allow_outside_data=allow_outside_data)
            ctx.goal = goal
            recovery.write_notes(ws)  # what recovery did, in plan.md as well as on the terminal
            say(preflight(ws))  # a brain that can never work (no HF_TOKEN, no such model) stops here, not mid-run
            final = build_graph(ctx).invoke({"step": 0}, {"recursion_limit": 10_000})
            return final.get("stop") or "stopped"
        finally:
            if watcher is not None:
                watcher.stop()
            control.clear(ws)
