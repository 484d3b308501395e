"""stop / pause / resume requests between `intern go` and the commands (real lock, real files, a real process)."""

from __future__ import annotations

import threading
import time

import pytest

from agents import control
from agents.supervisor import Context, supervisor_node
from bus import BusError, Workspace


def test_requests_need_a_running_intern_go(ws: Workspace) -> None:
    for request in (control.request_stop, control.request_pause, control.request_resume):
        with pytest.raises(BusError, match="no intern go is running"):
            request(ws)
    assert not (ws.state_dir / control.STOP).exists()


def test_stop_pause_and_resume_are_read_back(ws: Workspace) -> None:
    with ws.lock():  # this process stands in for the running intern go: the lock holds its live pid
        control.request_pause(ws)
        assert control.paused(ws)
        control.request_resume(ws)
        assert not control.paused(ws)
        control.request_stop(ws)
        assert control.stop_requested(ws) == "after-step"
        assert not (ws.state_dir / control.CANCEL_RUN).exists()
        control.request_stop(ws, now=True)
        assert control.stop_requested(ws) == "now" and (ws.state_dir / control.CANCEL_RUN).exists()
    control.clear(ws)
    assert control.stop_requested(ws) is None and not (ws.state_dir / control.CANCEL_RUN).exists()


def test_a_paused_loop_waits_until_resumed(ws: Workspace) -> None:
    said: list[str] = []
    with ws.lock():
        control.request_pause(ws)
        waiter = threading.Thread(target=control.wait_while_paused, args=(ws, said.append))
        waiter.start()
        time.sleep(0.5)
        assert waiter.is_alive() and said == ["paused (run `intern resume` to go on, `intern stop` to end)"]
        control.request_resume(ws)
        waiter.join(timeout=5)
    assert not waiter.is_alive()
    assert said[-1].startswith("resumed after")


def test_a_stop_request_is_the_next_decision(ws: Workspace, write_base_evaluation) -> None:
    write_base_evaluation(ws, 0.0)
    ctx = Context(ws=ws, watcher=None, say=lambda _: None, goal=ws.goal())
    with ws.lock():
        control.request_stop(ws)
    out = supervisor_node(ctx)({"step": 3})
    assert out["stop"] == "stopped by the human (intern stop)"
    assert out["route"] == "critic"  # the critic writes the report with the reason
    assert "stop (stopped by the human (intern stop))" in ws.read_text("plan.md")


def test_stop_now_asks_the_training_launcher_to_cancel_whatever_run_trains(ws: Workspace) -> None:
    from agents.trainer.launchers import cancel

    with ws.lock():
        control.request_stop(ws, now=True)
    request = cancel.cancel_file(ws.state_dir)
    cancel.clear_stale_request(request, "run-007")  # what the trainer does as a run starts
    assert cancel.cancel_requested(request, "run-007")
