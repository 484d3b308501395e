"""Placeholders a model would learn to say, and line endings and blank lines cleaned (agents/curator/text_checks.py)."""

from __future__ import annotations

import pytest

from agents.curator.text_checks import clean_row, placeholders, row_placeholders


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("I am {{name}}, an AI assistant developed by {{author}}.", ["{{name}}", "{{author}}"]),
        ("我是 {{ name }}", ["{{ name }}"]),
        ("Hello {user_name}, welcome!", ["{user_name}"]),
        ("{assistant}", ["{assistant}"]),
        # Not placeholders: LaTeX, math between dollars, code spans and blocks, JSON, a one-letter set.
        ("The area is 9\\text{ cm}^{2}, or \\frac{a}{b}.", []),
        ("Let $S = {ab}$ be the set.", []),
        ('Write `f"{name}"` to format it.', []),
        ('```python\nprint(f"{name}")\n```', []),
        ('Send {"name": "x"} as the body.', []),
        ("the set {x} of reals", []),
    ],
)
def test_placeholders(text, found):
    assert placeholders(text) == found


def test_a_rows_placeholders_include_its_chat_context():
    row = {"prompt": "Who are you?", "completion": "A helper.", "context": [{"role": "system", "content": "{{name}}"}]}
    assert row_placeholders(row) == ["{{name}}"]


def test_line_endings_and_blank_lines_are_cleaned_and_counted():
    row = {
        "prompt": "Question: line one\r\nline two\nAnswer:",
        "completion": "\n\n The answer is 4.\n\n",
        "answer": "4",
    }
    cleaned, what = clean_row(row)
    assert cleaned == {
        "prompt": "Question: line one\nline two\nAnswer:",
        "completion": " The answer is 4.",
        "answer": "4",
    }
    assert what == {"crlf", "blank_lines"}
    assert clean_row({"prompt": "07+45=", "completion": " 052"}) == ({"prompt": "07+45=", "completion": " 052"}, set())
