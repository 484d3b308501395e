"""The embedded verifiable task: fixed-width addition (`07+45=` -> `052`).

Fixed width is deliberate: the facts file measured that a tiny model learns the padded
format reliably from scratch while the unpadded one is a coin flip across seeds.
The task also ships a *teacher*, a rule-based solver that forgets the carry on a share of
carry problems. It stands in for distilling demonstrations from a weaker model: its labels
carry a systematic error that supervised fine-tuning copies and a verifiable reward can undo.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

NAME = "addition"
SLICES = ("carry", "no_carry")


@dataclass(frozen=True)
class Problem:
    a: int
    b: int
    digits: int

    @property
    def prompt(self) -> str:
        return f"{self.a:0{self.digits}d}+{self.b:0{self.digits}d}="

    @property
    def answer(self) -> str:
        return format_sum(self.a + self.b, self.digits)

    @property
    def slice(self) -> str:
        return "carry" if has_carry(self.a, self.b) else "no_carry"


def format_sum(value: int, digits: int) -> str:
    return f"{value:0{digits + 1}d}"


def has_carry(a: int, b: int) -> bool:
    while a or b:
        if a % 10 + b % 10 >= 10:
            return True
        a, b = a // 10, b // 10
    return False


def sum_without_carry(a: int, b: int, digits: int) -> int:
    """Digit-wise sum mod 10: the mistake the sloppy teacher makes."""
    out, place = 0, 1
    for _ in range(digits):
        out += ((a % 10 + b % 10) % 10) * place
        a, b, place = a // 10, b // 10, place * 10
    return out


def all_problems(digits: int) -> list[Problem]:
    top = 10**digits
    return [Problem(a, b, digits) for a in range(top) for b in range(top)]


def sample_problems(n: int, digits: int, seed: int, exclude: set[str] | None = None) -> list[Problem]:
    """`n` distinct problems drawn with `seed`, none of whose prompts are in `exclude`."""
    exclude = exclude or set()
    pool = [p for p in all_problems(digits) if p.prompt not in exclude]
    if n > len(pool):
        raise ValueError(f"asked for {n} problems but only {len(pool)} {digits}-digit problems are left")
    return random.Random(seed).sample(pool, n)


def teacher_answer(problem: Problem, error_rate: float, rng: random.Random) -> str:
    """The embedded teacher's label: right, except it drops the carry on `error_rate` of carry problems."""
    if problem.slice == "carry" and rng.random() < error_rate:
        return format_sum(sum_without_carry(problem.a, problem.b, problem.digits), problem.digits)
    return problem.answer


_ANSWER = re.compile(r"\s*(\d+)")


def extract_answer(completion: str) -> str | None:
    """The leading run of digits of a completion, or None when it starts with something else."""
    match = _ANSWER.match(completion)
    return match.group(1) if match else None


def grade(completion: str, answer: str) -> bool:
    """Exact match of the extracted answer against the reference, width included."""
    return extract_answer(completion) == answer


def slice_of_prompt(prompt: str) -> str:
    a, b = prompt.rstrip("=").split("+")
    return "carry" if has_carry(int(a), int(b)) else "no_carry"
