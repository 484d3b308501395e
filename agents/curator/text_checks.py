"""Text-level checks of a mapped training row: what a model would learn to say verbatim by mistake.

- Unfilled template placeholders: `{{name}}` (Jinja/Mustache) anywhere, or `{name}` (str.format) standing
  as a word in prose. Identity datasets ship them to be filled before training (LLaMA-Factory's demo:
  "I am {{name}}, developed by {{author}}"); trained as they are, the model learns to say "{{name}}".
  LaTeX (`\\text{cm}`, `x^{2}`, anything between `$`) and code (`f"{name}"` in a fenced or inline code
  span) are not placeholders.
- Line endings and blank lines: a file saved on Windows leaves "\\r" in every multi-line cell, and chat
  exports often start a reply with a blank line. Both are cleaned (the row kept) and counted, so the card
  says how many rows were touched.
"""

from __future__ import annotations

import re

PLACEHOLDER = "unfilled_placeholder"
TEXT_FIELDS = ("prompt", "completion", "solution")

_DOUBLE = re.compile(r"\{\{\s*[A-Za-z_][\w.]*\s*\}\}")
# `{name}` after the start, a space, a quote or an opening bracket, and not part of `{{...}}`; two letters
# or more, since `{x}` in prose is more often a set than a placeholder.
_SINGLE = re.compile(r"(?:^|(?<=[\s\"'(\[]))\{[A-Za-z_]\w+\}(?!\})")
_CODE = re.compile(r"```.*?(?:```|$)|`[^`\n]*`|\$\$.*?\$\$|\$[^$\n]*\$", re.DOTALL)  # code and math spans
_LEADING_BLANK = re.compile(r"\A[ \t]*\n(?:[ \t]*\n)*")
_TRAILING_BLANK = re.compile(r"\n[ \t\n]*\Z")


def placeholders(text: str) -> list[str]:
    """The unfilled placeholders of `text`, in order of appearance, each once."""
    prose = _CODE.sub(" ", text)
    found = _DOUBLE.findall(prose) + _SINGLE.findall(_DOUBLE.sub(" ", prose))
    return list(dict.fromkeys(found))


def row_placeholders(row: dict) -> list[str]:
    """Placeholders in the row's text fields (and its chat context)."""
    texts = [str(row[f]) for f in TEXT_FIELDS if isinstance(row.get(f), str)]
    texts += [str(turn.get("content", "")) for turn in row.get("context") or []]
    return list(dict.fromkeys(p for t in texts for p in placeholders(t)))


def clean_row(row: dict) -> tuple[dict, set[str]]:
    """The row with CRLF turned into LF and blank lines trimmed at both ends of each text; what was cleaned.

    Only whole blank lines go: a completion's leading space (" 42" after "Answer:") is part of the format.
    """
    cleaned: set[str] = set()
    out = dict(row)
    for field in TEXT_FIELDS:
        text = out.get(field)
        if not isinstance(text, str):
            continue
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
            cleaned.add("crlf")
        trimmed = _TRAILING_BLANK.sub("", _LEADING_BLANK.sub("", text))
        if trimmed != text and trimmed.strip():
            text = trimmed
            cleaned.add("blank_lines")
        out[field] = text
    return out, cleaned
