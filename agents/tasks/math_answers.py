"""MATH-style answers: the last `\\boxed{...}` of a solution, normalised, compared by text or value.

Default data is HuggingFaceH4/MATH-500 (problem, solution, answer, subject, level). Answers are
LaTeX, so two right answers can differ in spelling only (`\\dfrac{1}{2}`, `\\frac12`, `0.5`,
`\\left( 1,2 \\right)` vs `(1,2)`); normalisation removes the spelling, numbers compare by value.
"""

from __future__ import annotations

import re
from fractions import Fraction

from agents.tasks.hub import DataSource, TaskDataError, load_source, sample_rows, slice_name, source_for
from agents.tasks.numbers import format_number, parse_number
from agents.tasks.text import until
from bus.schemas import TaskSpec

NAME = "math"
DEFAULT_SOURCE = DataSource("HuggingFaceH4/MATH-500", None, "test", {"prompt": "problem", "answer": "answer"})
SLICE_COLUMNS = ("level", "subject")  # the first one present is the slice, unless `columns.slice` says otherwise
# MATH reference solutions are mostly under 300 tokens but level-5 ones run longer; 512 lets a
# model finish and box its answer on most problems while bounding the cost of a held-out pass.
MAX_NEW_TOKENS = 512

_BOX = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")
_WRAPPERS = ("text", "textbf", "textrm", "textnormal", "mathrm", "mbox")
_DROP = (
    (re.compile(r"\\left(?![A-Za-z])|\\right(?![A-Za-z])|\\displaystyle"), ""),
    # LaTeX spacing commands, but never the second half of a `\\` row break: "1 \\ 2" keeps its rows.
    (re.compile(r"(?<!\\)\\(?:[!,;:]|\s)"), ""),
    (re.compile(r"\\[dtc]frac"), r"\\frac"),
    (re.compile(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ"), ""),
    (re.compile(r"\\\$|\$"), ""),
    (re.compile(r"\\%|%"), ""),
)
# "4\text{ inches}", "5\mbox{ cm}^2": a unit after the value (its text starts with a space), as the
# MATH normaliser of Hendrycks et al. drops it; a lone "\text{Evelyn}" answer is kept.
# "6 \\text{ and } 8": two answers listed in words, as "6, 8" lists them.
_AND = re.compile(r"\s*\\(?:text|textnormal|mbox|textrm)\{\s*and\s*\}\s*|\s+and\s+")
_THOUSANDS = re.compile(r"(?<=\d)\{,\}(?=\d{3})")  # "14{,}916": LaTeX's thousands separator
_UNIT = re.compile(r"(?<=\S)\s*\\(?:text|mbox)\{\s+[A-Za-z ]+\}(?:\^\{?\d\}?)?\s*$")
_FRAC_SHORT = re.compile(r"\\frac(\d)(\d)")  # \frac12 -> \frac{1}{2}
_FRAC_HALF = re.compile(r"\\frac\{([^{}]+)\}(\d)|\\frac(\d)\{([^{}]+)\}")
_SQRT_SHORT = re.compile(r"\\sqrt(\w)")  # \sqrt2 -> \sqrt{2}
_ASSIGNMENT = re.compile(r"^[A-Za-z]\w?=(?!=)")  # "x=5" answers the question "what is x"
_FRACTION = re.compile(r"(-?)\\frac\{(-?\d+)\}\{(\d+)\}")
# "2, 220": a comma followed by a space lists two numbers (as Math-Verify and the Hendrycks checker read
# it); "2,220" without the space is one number with a thousands separator.
_LIST_COMMA = re.compile(r"\d\s*,\s+-?\d")
_NUMBER = re.compile(r"-?[\d,]*\.?\d+(?:/\d+)?")


def prompt(problem: str) -> str:
    return f"Problem: {problem.strip()}\nGive the final answer in \\boxed{{}}.\nSolution:"


def braced(text: str, start: int) -> tuple[str, int] | None:
    """The content of the brace group opening at `text[start]` and the index after it; None if unbalanced."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{" and (i == 0 or text[i - 1] != "\\"):
            depth += 1
        elif text[i] == "}" and text[i - 1] != "\\":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i], i + 1
    return None


def last_boxed(text: str) -> str | None:
    """The content of the last `\\boxed{...}` or `\\fbox{...}`, nested braces kept; None if absent or cut off."""
    boxes = list(_BOX.finditer(text))
    if not boxes:
        return None
    at = boxes[-1].end()
    while at < len(text) and text[at] == " ":
        at += 1
    if at < len(text) and text[at] == "{":
        found = braced(text, at)
        return None if found is None else found[0]
    bare = re.match(r"[^\s$]+", text[at:])  # "\boxed 5$" (no braces) in older solutions
    return bare.group(0) if bare else None


def _unwrap(text: str, command: str) -> str:
    marker = f"\\{command}{{"
    while (at := text.find(marker)) != -1:
        found = braced(text, at + len(marker) - 1)
        if found is None:
            break
        text = text[:at] + found[0] + text[found[1] :]
    return text


def normalize(answer: str) -> str:
    """A LaTeX answer with the spelling removed: no spaces, `\\left`/`\\right`, units of angle, money, percent."""
    # A reference written as "$15\\mbox{ cm}^2$": the dollars first, so the unit is found at the end.
    text = str(answer).strip()
    if len(text) > 1 and text.startswith("$") and text.endswith("$") and not text.startswith("\\$"):
        text = text.strip("$").strip()
    # "9\text{ cm}." and "9.\text{ cm}": the unit and a final period come off in either order.
    text = _UNIT.sub("", text.rstrip().rstrip(".").rstrip()).rstrip().rstrip(".")
    text = _THOUSANDS.sub(",", text)
    listed = _LIST_COMMA.search(text) is not None
    text = _AND.sub(",", text)
    for command in _WRAPPERS:
        text = _unwrap(text, command)
    for pattern, replacement in _DROP:
        text = pattern.sub(replacement, text)
    text = re.sub(r"\s+", "", text).rstrip(".")
    text = _FRAC_SHORT.sub(r"\\frac{\1}{\2}", text)
    text = _FRAC_HALF.sub(lambda m: f"\\frac{{{m[1] or m[3]}}}{{{m[2] or m[4]}}}", text)
    text = _SQRT_SHORT.sub(r"\\sqrt{\1}", text)
    text = _ASSIGNMENT.sub("", text)
    number = parse_number(text) if not listed and _NUMBER.fullmatch(text) else None
    if number is not None:
        return format_number(number)
    # Not one number: commas separate items, written ", " so that normalising again reads the same list.
    return text.replace(",", ", ")


def value(normalized: str) -> Fraction | None:
    """The exact value of a normalised answer that is a number or a simple fraction, else None."""
    fraction = _FRACTION.fullmatch(normalized)
    if fraction:
        sign, num, den = fraction.groups()
        if int(den) == 0:
            return None
        result = Fraction(int(num), int(den))
        return -result if sign else result
    # A normalised number has no comma left (`normalize` formats it), so a comma here separates a list.
    if "," not in normalized and _NUMBER.fullmatch(normalized):
        return parse_number(normalized)
    return None


def equivalent(left: str, right: str) -> bool:
    """Two answers agree after normalisation, as text or as numbers."""
    a, b = normalize(left), normalize(right)
    if a == b:
        return True
    va, vb = value(a), value(b)
    return va is not None and va == vb


def extract_answer(completion: str) -> str | None:
    """The normalised content of the completion's last box (before any invented next problem)."""
    boxed = last_boxed(until(completion, "Problem:"))
    if boxed is None:
        return None
    answer = normalize(boxed)
    return answer or None


def reference_answer(answer: str) -> str:
    """The reference as written in the dataset; a full solution gives its last box."""
    text = str(answer)
    if _BOX.search(text):
        text = last_boxed(text) or ""
    if not normalize(text):
        raise TaskDataError(f"MATH reference {str(answer)[-60:]!r} is empty")
    return text.strip()


def grade(completion: str, answer: str) -> bool:
    got = extract_answer(completion)
    reference = reference_answer(answer)
    return got is not None and equivalent(got, reference)


def eval_rows(spec: TaskSpec, seed: int) -> list[dict]:
    source = source_for(spec, DEFAULT_SOURCE)
    columns = source.columns
    candidates = (columns["slice"],) if "slice" in columns else SLICE_COLUMNS
    rows = load_source(source, optional=candidates)
    slice_column = next((c for c in candidates if c in rows[0]), None)
    out = []
    for index, row in sample_rows(rows, spec.eval_size, seed):
        try:
            item = {"prompt": prompt(str(row[columns["prompt"]])), "answer": reference_answer(row[columns["answer"]])}
        except TaskDataError as exc:
            raise TaskDataError(f"{source.dataset} row {index}: {exc}") from None
        if slice_column is not None:
            item["slice"] = slice_name(row, slice_column)
        out.append(item)
    return out
