"""`intern eval` outside the loop: on the embedded tiny model, with pass@k, and with one-line errors."""

from __future__ import annotations

import subprocess
import sys

from agents.critic.standalone import evaluate_outside_loop, render_text

CLI = [sys.executable, "-m", "agents.cli"]


def test_evaluate_outside_loop_on_the_embedded_model():
    scores, wall = evaluate_outside_loop("embedded:tiny", "addition", eval_size=20, seed=0, samples=4)
    assert scores.n == 20 and scores.score == 0.0  # the untrained model does not add
    assert set(scores.slices) == {"carry", "no_carry"}
    assert set(scores.pass_at_k) == {"1", "2", "4"}
    assert scores.tokens_sampled > 0 and wall > 0
    text = "\n".join(render_text("embedded:tiny", "addition", 0, scores, wall))
    assert "greedy exact match  0.000" in text and "pass@4" in text and "problems/s" in text


def test_intern_eval_prints_scores_intervals_and_throughput():
    proc = subprocess.run(
        [*CLI, "eval", "embedded:tiny", "--task", "addition", "--eval-size", "20", "--samples", "4"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "embedded:tiny on addition: 20 held-out problems (split seed 1000)" in out
    assert "95% Wilson interval" in out and "slice carry" in out
    assert "pass@1" in out and "pass@4" in out and "95% bootstrap interval" in out
    assert "problems/s" in out and "tokens generated" in out


def test_intern_eval_errors_are_one_line(tmp_path):
    for args, expected in [
        ([str(tmp_path / "nowhere"), "--task", "addition"], "does not exist"),
        (["embedded:tiny", "--task", "sorting"], "sorting"),
        (["embedded:tiny", "--task", "addition", "--samples", "1"], "--samples 1"),
    ]:
        proc = subprocess.run([*CLI, "eval", *args], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, proc.stdout
        assert "Traceback" not in proc.stderr and proc.stderr.strip().count("\n") == 0, proc.stderr
        assert proc.stderr.startswith("intern eval: ") and expected in proc.stderr


def test_intern_eval_explains_itself():
    proc = subprocess.run([*CLI, "eval", "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert "usage: intern eval" in proc.stdout and "--samples K" in proc.stdout and "pass@k" in proc.stdout
