"""Numbers in free text: find them, read them exactly, compare them by value.

Graders compare with `fractions.Fraction`, never floats, so `0.1 + 0.2`-style rounding cannot make
a right answer wrong, and `1,000`, `1000.0`, `$1000` and `1000 dollars` all read as the same value.
"""

from __future__ import annotations

import re
from fractions import Fraction

# A sign only counts when it does not follow a digit, letter or closing bracket: in `5-3` the
# minus is an operator and the number is 3. Thousands separators must come in groups of three so
# that a list like `1,2,3` reads as three numbers, not as 123, and may not follow a leading 0: `0,111` is a
# decimal comma or a list, never 111. A fraction may end a sentence (`3/4.`) but not run into a decimal.
_NUMBER = re.compile(
    r"(?<![\w)\]])(?P<sign>[-\u2212])?\s?\$?\s?"
    r"(?P<body>(?:[1-9]\d{0,2}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)"
    r"(?:/(?P<den>\d+)(?!\d|\.\d))?"
)
# What may surround a lone number and still leave it a number: currency, units, a final period.
_WRAPPING = re.compile(r"^\s*\$?\s*|(?:\s*(?:dollars?|\$|%|percent))?\s*\.?\s*$", re.IGNORECASE)


def _value(match: re.Match[str]) -> Fraction:
    value = Fraction(match.group("body").replace(",", ""))
    if match.group("den") is not None:
        den = int(match.group("den"))
        if den == 0:
            raise ZeroDivisionError
        value /= den
    return -value if match.group("sign") else value


def parse_number(text: str) -> Fraction | None:
    """The value of `text` when it is one number (with optional $, unit word, %, final period), else None."""
    core = _WRAPPING.sub("", text.strip())
    match = _NUMBER.fullmatch(core)
    if match is None:
        return None
    try:
        return _value(match)
    except ZeroDivisionError:
        return None


def find_numbers(text: str) -> list[Fraction]:
    """Every number in `text`, in order; `a/b` with digits on both sides reads as one fraction."""
    out = []
    for match in _NUMBER.finditer(text):
        try:
            out.append(_value(match))
        except ZeroDivisionError:
            continue
    return out


def format_number(value: Fraction) -> str:
    """Canonical text: `1000`, `-3`, `0.5`; a fraction with no finite decimal stays `1/3`."""
    if value.denominator == 1:
        return str(value.numerator)
    den = value.denominator
    for prime in (2, 5):
        while den % prime == 0:
            den //= prime
    if den != 1:
        return f"{value.numerator}/{value.denominator}"
    digits = 0
    while (value * 10**digits).denominator != 1:
        digits += 1
    # Exact decimal digits from integers: a float would round long values.
    scaled = str(abs(value.numerator) * 10**digits // value.denominator).rjust(digits + 1, "0")
    sign = "-" if value < 0 else ""
    return f"{sign}{scaled[:-digits]}.{scaled[-digits:]}"


def normalize_number(text: str) -> str | None:
    """`text` as a canonical number string, or None when it is not a number."""
    value = parse_number(text)
    return None if value is None else format_number(value)


def same_number(a: str, b: str) -> bool:
    """True when both texts are numbers of equal value."""
    left, right = parse_number(a), parse_number(b)
    return left is not None and right is not None and left == right
