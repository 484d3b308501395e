"""A base model (no chat template) evaluated on GSM8K the way such models are prompted: shown with SmolLM2.

SmolLM2-135M-Instruct has a chat template; with it removed, intern treats it as a base model: the task's own
prompt as plain text (`Question: ...\\nAnswer:`, BOS where the tokenizer adds one, as TRL tokenizes it for
training) and generation that stops where the answer ends (a blank line or the next `Question:`). The script
scores the GSM8K fixture with and without the stop strings and prints the evaluation body with the outputs.

    flock /tmp/heavy.lock python benchmarks/base_model_eval.py [--rows 12]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import replace
from pathlib import Path

FIXTURE = Path(__file__).resolve().parents[1] / "tests/fixtures/tasks/gsm8k/test.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=12)
    args = parser.parse_args()

    from agents.critic.scoring import describe, score_model
    from agents.models.loading import load_model
    from agents.models.refs import materialize_model
    from agents.models.tokens import closes_turns_with_eos
    from agents.tasks import get_task, gsm8k
    from bus.schemas import TaskSpec

    model, tokenizer = load_model(materialize_model("smollm2-135m-instruct", Path(tempfile.mkdtemp()) / "models"))
    tokenizer.chat_template = None  # a base model: no template to close a turn with
    assert not closes_turns_with_eos(tokenizer)
    lines = [json.loads(line) for line in FIXTURE.read_text().splitlines()[: args.rows]]
    rows = [{"prompt": gsm8k.prompt(r["question"]), "answer": gsm8k.reference_answer(r["answer"])} for r in lines]
    spec = TaskSpec(name="gsm8k")
    task = get_task(spec)
    budget = task.max_new_tokens(spec)
    unstopped = score_model(model, tokenizer, rows, replace(task, stop=()), budget)
    scores = score_model(model, tokenizer, rows, task, budget)
    print(f"# SmolLM2-135M without its chat template on {len(rows)} GSM8K problems (greedy, {budget} new tokens)\n")
    print(
        f"Without stop strings: {unstopped.tokens_greedy} tokens generated, score {unstopped.score:.3f}. "
        f"With the task's stop strings {task.stop!r}: {scores.tokens_greedy} tokens, score {scores.score:.3f}.\n"
    )
    print("\n".join(describe(scores)))
    print("\nOutputs (prompt, reference, model output):\n")
    for row, completion in zip(rows, scores.completions, strict=True):
        print(f"- `{row['prompt'][9:70]}...` -> `{row['answer']}`, model wrote `{completion!r}`")


if __name__ == "__main__":
    main()
