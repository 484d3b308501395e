"""Reading the letter a completion commits to in a multiple-choice question.

Shared by GPQA and the custom task's `choice` grader. Models write their choice many ways: a bare
letter, `**B**`, `\\boxed{B}`, `Option B`, `: B`, "The correct option is B: ...", "Final answer: B",
"(A) is wrong; (B) is right". The reading follows what the completion commits to, strongest first:
a boxed letter, then a stated one ("answer is B", "B is correct", "I choose B"), then a letter on
its own (a leading letter, "(B)", "Option B"). A letter the completion rejects ("(A) is wrong",
"not B") is never its answer, and naming two letters as final ("A or C") reads as no answer at all,
so hedging can never score by covering several options.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agents.tasks.hub import TaskDataError
from agents.tasks.text import until

LETTERS = "ABCD"
# Up to ten options (MMLU-Pro style) for the custom task; `A` and `I` are also English words,
# which is why a bare letter must be followed by punctuation or the end of a line.
WIDE_LETTERS = "ABCDEFGHIJ"

_NOT_WORD = r"(?![A-Za-z0-9])"
# Markup around a letter, not part of it: **B**, __B__, `B`, $B$, \text{B}, \textbf{B}, \mathrm{B}.
_MARKUP = re.compile(r"\*\*|__|`|\$|\\(?:text|textbf|mathrm|mathbf)\{([^{}]*)\}")
_BOXED = re.compile(r"\\(?:boxed|fbox)\{([^{}]*)\}")
# What makes a mention a rejection: "(A) is wrong", "A: incorrect", "B can be ruled out".
_REJECTED_AFTER = re.compile(
    r"\)?\s*(?::|is|are|seems|looks|would be|must be|can be|could be)?\s*(?:clearly\s+|definitely\s+|also\s+)?"
    r"(?:wrong|incorrect|false|not\b|isn't|unlikely|eliminated|ruled out|excluded|out\b)",
    re.IGNORECASE,
)
_REJECTED_BEFORE = re.compile(
    r"(?:\bnot|n't|\beliminate|\brule out|\bexclude|\bexcept|\bwithout)\s+(?:option\s+|choice\s+)?\(?$", re.IGNORECASE
)
_VERB = r"(?:is|would be|will be|should be|must be)"
# Words that reject a loosely mentioned letter later in its clause: "(A) looks tempting but is wrong".
_REJECTING_WORD = re.compile(r"\b(?:wrong|incorrect|false|unlikely|eliminated|ruled out|excluded)\b", re.IGNORECASE)
_CLAUSE_END = re.compile(r"[.,;:!?\n]")
# A second letter right after the first: "A or B", "A, C", "A/B", "(A) and (C)".
_ANOTHER = r"\)?\s*(?:,|/|&|\bor\b|\band\b)\s*(?:maybe\s+|perhaps\s+|possibly\s+)?(?:option\s+)?\(?{letter}" + _NOT_WORD
# What may follow a bare letter for it to be an answer: end, newline, ")" or punctuation.
_ENDS = re.compile(r"\)?[ \t]*(?:$|\n|[.:,;!])")


@dataclass(frozen=True)
class _Patterns:
    stated: list[re.Pattern[str]]
    leading: re.Pattern[str]
    loose: re.Pattern[str]
    listed: re.Pattern[str]
    another: re.Pattern[str]
    letter: re.Pattern[str]
    hedged: re.Pattern[str]
    upper: re.Pattern[str]


def _patterns(letters: str) -> _Patterns:
    letter = f"[{letters}{letters.lower()}]"
    named = rf"\(?({letter}){_NOT_WORD}"
    return _Patterns(
        stated=[
            # "Answer: C", "the answer is (C)", "Final answer - c"
            re.compile(rf"\banswer(?:\s+{_VERB})?\s*[:\-]?\s*(?:option\s+|choice\s+)?{named}", re.IGNORECASE),
            # "The correct option is B", "best choice: D"; a bare "option B" is only a mention (below)
            re.compile(rf"\b(?:option|choice)(?:\s+{_VERB}\s*[:\-]?|\s*[:\-])\s*{named}", re.IGNORECASE),
            # "I choose B", "I'll go with (C)", "select option D"
            re.compile(rf"\b(?:choose|chose|pick|select|go with)\s+(?:option\s+|choice\s+)?{named}", re.IGNORECASE),
            # "(B) is right", "B is the correct answer", "Option B is correct"
            re.compile(
                rf"(?:\boption\s+|\bchoice\s+)?\(?({letter})\)?\s+(?:is|seems|looks)\s+(?:the\s+)?"
                rf"(?:correct|right|true|best)\b",
                re.IGNORECASE,
            ),
            # ": B" closing a line ("My pick: B", a completion of "Answer" that starts with ": B")
            re.compile(rf":\s*\(?({letter})(?=\)?[ \t]*(?:$|\n|[.;!]))", re.MULTILINE),
        ],
        leading=re.compile(rf"\s*(\()?({letter})(\))?{_NOT_WORD}"),
        # "(C)" anywhere, "C)" at the start of a line, "Option C" anywhere.
        loose=re.compile(rf"\(({letter})\)|^\s*({letter})\)|\b(?:option|choice)\s+({letter}){_NOT_WORD}", re.I | re.M),
        listed=re.compile(rf"^\s*\(?({letter})\)", re.MULTILINE),
        another=re.compile(_ANOTHER.format(letter=letter), re.IGNORECASE),
        letter=re.compile(letter),
        upper=re.compile(rf"(?<![A-Za-z0-9])\(?[{letters}]\)?{_NOT_WORD}"),
        # ... the same, seen from the second letter: "option (A) or option (B" before B.
        hedged=re.compile(
            rf"(?<![A-Za-z0-9]){letter}\)?\s*(?:,|/|&|\bor\b|\band\b)\s*(?:option\s+|choice\s+)?\(?$", re.I
        ),
    )


_CACHE: dict[str, _Patterns] = {}


def _plain(text: str) -> str:
    return _MARKUP.sub(lambda m: m.group(1) or "", text)


def _rejected(text: str, start: int, end: int, pats: _Patterns | None = None) -> bool:
    """Whether the letter at text[start:end] is rejected; with `pats`, anywhere in the rest of its clause."""
    if _REJECTED_AFTER.match(text, end) or _REJECTED_BEFORE.search(text[max(0, start - 30) : start]):
        return True
    if pats is None:
        return False
    stop = _CLAUSE_END.search(text, end)
    clause = text[end : stop.start() if stop else len(text)][:60]
    other = pats.upper.search(clause)  # the clause may go on about another letter: "B, since A is wrong"
    return bool(_REJECTING_WORD.search(clause[: other.start() if other else None]))


def _article(text: str, m: re.Match[str], group: int) -> bool:
    """A lower-case letter followed by a word ("the answer is a bit unclear") is an article, not a choice."""
    return m.group(group).islower() and re.match(r"\)?\s+[A-Za-z]", text[m.end(group) :]) is not None


def _boxed(text: str, pats: _Patterns) -> str | None | bool:
    """The last boxed letter; None when the box hedges; False when nothing is boxed."""
    boxes = [b.strip().strip("()").strip() for b in _BOXED.findall(text)]
    boxes = [b for b in boxes if pats.letter.match(b)]
    if not boxes:
        return False
    box = boxes[-1]
    first = pats.leading.match(box)
    if not first or pats.another.match(box, first.end()) or not _ENDS.match(box, first.end()):
        return None
    return first.group(2).upper()


def _stated(text: str, pats: _Patterns) -> tuple[int, int, str] | None:
    """(start, end, letter) of the last statement of a letter the completion does not reject."""
    found = []
    for pattern in pats.stated:
        for m in pattern.finditer(text):
            if not _article(text, m, 1) and not _rejected(text, m.start(1), m.end(1)):
                found.append((m.start(1), m.end(1), m.group(1).upper()))
    return max(found) if found else None


def extract_choice(completion: str, letters: str = LETTERS) -> str | None:
    """The upper-case letter the completion commits to, or None when it names none or several."""
    pats = _CACHE.setdefault(letters, _patterns(letters))
    text = _plain(until(completion, "Question:"))
    boxed = _boxed(text, pats)
    if boxed is not False:
        return boxed
    stated = _stated(text, pats)
    if stated is not None:
        start, end, letter = stated
        hedge = pats.another.match(text, end) or pats.hedged.search(text[max(0, start - 40) : start])
        return None if hedge else letter
    leading = pats.leading.match(text)
    if leading and not _rejected(text, leading.start(2), leading.end(2), pats):
        rest = text[leading.end() :]
        if pats.another.match(rest):
            return None
        # A completion that lists the options again ("A) ...\nB) ...") commits to none of them.
        listed = {m.group(1).upper() for m in pats.listed.finditer(text)}
        if listed - {leading.group(2).upper()}:
            return None
        if leading.group(3) or _ENDS.match(rest):
            return leading.group(2).upper()
    loose = set()
    for m in pats.loose.finditer(text):
        group = next(i for i in (1, 2, 3) if m.group(i))
        if pats.another.match(text, m.end()):
            return None  # "Option (A) or option (B)": a hedge
        if not _rejected(text, m.start(group), m.end(group), pats) and not (group == 3 and _article(text, m, 3)):
            loose.add(m.group(group).upper())
    return loose.pop() if len(loose) == 1 else None


def reference_letter(answer: str, letters: str = LETTERS) -> str:
    """A reference answer as one letter; anything else is a data error, not a wrong completion."""
    text = str(answer).strip().strip("()").upper()
    if len(text) != 1 or text not in letters:
        raise TaskDataError(f"reference answer {answer!r} is not one of the letters {', '.join(letters)}")
    return text


def grade_choice(completion: str, answer: str, letters: str = LETTERS) -> bool:
    return extract_choice(completion, letters) == reference_letter(answer, letters)
