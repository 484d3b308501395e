"""Reading the letter a completion commits to in a multiple-choice question.

Shared by GPQA and the custom task's `choice` grader. Reading is deliberately strict: a completion
that names two letters as its final answer ("A or C") reads as no answer at all, so hedging can
never score by covering several options.
"""

from __future__ import annotations

import re

from agents.tasks.hub import TaskDataError
from agents.tasks.text import until

LETTERS = "ABCD"
# Up to ten options (MMLU-Pro style) for the custom task; `A` and `I` are also English words,
# which is why a bare leading letter must be followed by punctuation or the end of a line.
WIDE_LETTERS = "ABCDEFGHIJ"


def _patterns(letters: str) -> dict[str, re.Pattern[str]]:
    letter = f"[{letters}{letters.lower()}]"
    return {
        # "Answer: C", "the answer is (C)", "Answer - c", "correct answer is C."
        "stated": re.compile(
            rf"answer(?:\s+is)?\s*[:\-]?\s*(?:option\s+|choice\s+)?\(?({letter})(?![A-Za-z0-9])", re.IGNORECASE
        ),
        # A completion that starts with the letter: " C", "(C)", "C) 42", "c."
        "leading": re.compile(rf"\s*(\()?({letter})(\))?(?![A-Za-z0-9])"),
        # "(C)" anywhere, or "C)" at the start of a line.
        "marked": re.compile(rf"\(({letter})\)|^\s*({letter})\)", re.MULTILINE),
        # A second letter right after the first: "A or B", "A, C", "A/B", "(A) and (C)".
        "another": re.compile(rf"\)?\s*(?:,|/|&|\bor\b|\band\b)\s*\(?{letter}(?![A-Za-z0-9])", re.IGNORECASE),
        # What may follow a bare letter for it to be an answer: end, newline or punctuation.
        "ends": re.compile(r"[ \t]*(?:$|\n|[.:,;!])"),
    }


_CACHE: dict[str, dict[str, re.Pattern[str]]] = {}


def extract_choice(completion: str, letters: str = LETTERS) -> str | None:
    """The upper-case letter the completion commits to, or None when it names none or several."""
    pats = _CACHE.setdefault(letters, _patterns(letters))
    text = until(completion, "Question:")
    stated = list(pats["stated"].finditer(text))
    if stated:
        last = stated[-1]
        rest = text[last.end() :]
        if pats["another"].match(rest):
            return None
        # "the answer is a bit unclear": a lower-case letter followed by a word is an article, not a choice.
        if not (last.group(1).islower() and re.match(r"\s+[A-Za-z]", rest)):
            return last.group(1).upper()
    leading = pats["leading"].match(text)
    if leading:
        rest = text[leading.end() :]
        if pats["another"].match(rest):
            return None
        # A completion that lists the options again ("A) ...\nB) ...") commits to none of them.
        listed = {m.group(2).upper() for m in pats["marked"].finditer(text) if m.group(2)}
        if listed - {leading.group(2).upper()}:
            return None
        if leading.group(3) or pats["ends"].match(rest):
            return leading.group(2).upper()
    marked = {(m.group(1) or m.group(2)).upper() for m in pats["marked"].finditer(text)}
    return marked.pop() if len(marked) == 1 else None


def reference_letter(answer: str, letters: str = LETTERS) -> str:
    """A reference answer as one letter; anything else is a data error, not a wrong completion."""
    text = str(answer).strip().strip("()").upper()
    if len(text) != 1 or text not in letters:
        raise TaskDataError(f"reference answer {answer!r} is not one of the letters {', '.join(letters)}")
    return text


def grade_choice(completion: str, answer: str, letters: str = LETTERS) -> bool:
    return extract_choice(completion, letters) == reference_letter(answer, letters)
