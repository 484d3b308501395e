"""`intern eval` outside the loop: on the embedded tiny model, with pass@k, and with one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agents.cli import main
from agents.critic.standalone import evaluate_outside_loop, parse_columns, render_text, task_spec
from agents.models.sampling import greedy_complete
from agents.models.tiny import build_tiny_model
from agents.tasks import addition, gsm8k

CLI = [sys.executable, "-m", "agents.cli"]
FIXTURES = Path(__file__).parents[2] / "fixtures" / "tasks"


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


# --- a task spec from the command line: custom datasets and named tasks on other files ----------------


@pytest.fixture(scope="module")
def noisy_checkpoint(tmp_path_factory) -> tuple[str, list[str], list[str]]:
    """A saved tiny model with large random weights (so it writes digits), its prompts and greedy outputs."""
    import torch

    model, tokenizer = build_tiny_model(seed=3)
    torch.manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.5)
    path = tmp_path_factory.mktemp("noisy") / "checkpoint"
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    prompts = [p.prompt for p in addition.sample_problems(12, 2, seed=5)]
    return str(path), prompts, greedy_complete(model, tokenizer, prompts, max_new_tokens=6)


def test_intern_eval_scores_a_custom_jsonl_with_its_columns_and_grader(noisy_checkpoint, tmp_path, capsys):
    checkpoint, prompts, outputs = noisy_checkpoint
    numbers = [gsm8k.extract_answer(o) for o in outputs]
    # Even rows reference what the model will write (right), odd rows something else (wrong); the decoy
    # `answer` column always holds what the model writes, so reading it instead of `solution` would score 1.0.
    rows, right = [], 0
    for i, (prompt, number) in enumerate(zip(prompts, numbers, strict=True)):
        hit = i % 2 == 0 and number is not None
        right += hit
        solution = number if hit else f"{number or 0}1"
        rows.append({"question": prompt, "solution": solution, "answer": number or "0"})
    data = tmp_path / "questions.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert 0 < right < len(rows)  # the test only means something if both outcomes occur

    code = main(
        [
            "eval",
            checkpoint,
            "--task",
            "custom",
            "--dataset",
            str(data),
            "--columns",
            "prompt=question,answer=solution",
            "--grader",
            "numeric",
            "--eval-size",
            "12",
            "--max-new-tokens",
            "6",
        ]
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    assert f"on custom: {len(rows)} held-out problems" in out.out
    assert f"greedy exact match  {right / len(rows):.3f}" in out.out
    assert "transformers backend" in out.out


def test_intern_eval_runs_a_named_task_on_a_local_copy(capsys):
    data = FIXTURES / "gsm8k" / "test.jsonl"
    args = ["--task", "gsm8k", "--dataset", str(data), "--eval-size", "10", "--max-new-tokens", "8"]
    code = main(["eval", "embedded:tiny", *args])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "embedded:tiny on gsm8k: 10 held-out problems" in out.out
    assert "80 tokens generated" in out.out  # --max-new-tokens reached the generator: 8 for each of 10 problems
    assert "greedy exact match  0.000" in out.out  # the untrained model writes no numbers


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--task", "custom", "--dataset", "d.jsonl", "--grader", "numeric"], "task custom needs task.columns"),
        (["--task", "custom", "--dataset", "d.jsonl", "--columns", "prompt", "--grader", "exact"], "'prompt' is not"),
        (["--task", "custom", "--dataset", "d.jsonl", "--columns", "question=q", "--grader", "exact"], "'question'"),
        (["--task", "custom", "--columns", "prompt=q,answer=a", "--grader", "exact"], "task.dataset"),
        (["--task", "gsm8k", "--dataset", str(FIXTURES / "gsm8k" / "test.jsonl"), "--columns", "answer=nope"], "nope"),
        (["--task", "addition", "--backend", "vllm"], "backend vllm cannot run here: no CUDA device"),
    ],
)
def test_intern_eval_reports_a_bad_task_spec_in_one_line(args, expected, capsys, monkeypatch):
    monkeypatch.delenv("INTERN_EVAL_BACKEND", raising=False)
    code = main(["eval", "embedded:tiny", *args, "--eval-size", "10"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("intern eval: ") and err.strip().count("\n") == 0, err
    assert expected in err


def test_task_spec_from_flags():
    spec = task_spec("custom", 50, dataset="hub/questions", columns="prompt=q, answer=a", grader="boxed", split="test")
    assert (spec.name, spec.eval_size, spec.dataset, spec.split, spec.grader) == (
        "custom",
        50,
        "hub/questions",
        "test",
        "boxed",
    )
    assert spec.columns == {"prompt": "q", "answer": "a"}
    # A named task keeps its own defaults for everything not given.
    assert task_spec("gsm8k").model_dump(exclude_defaults=True) == {"name": "gsm8k"}
    assert parse_columns("prompt=problem,answer=solution,slice=level") == {
        "prompt": "problem",
        "answer": "solution",
        "slice": "level",
    }
