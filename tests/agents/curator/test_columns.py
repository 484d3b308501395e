"""Column mapping: the common layouts are found automatically, a human's mapping wins, bad rows say why."""

from __future__ import annotations

import pytest

from agents.curator.columns import (
    MISSING,
    UNPARSEABLE,
    MappingError,
    RowProblem,
    check_mapping,
    detect_mapping,
    map_row,
)
from bus.schemas import TaskSpec

GSM8K = TaskSpec(name="gsm8k")
MATH = TaskSpec(name="math")
ADDITION = TaskSpec()


def test_gsm8k_layout_reads_the_number_after_hashes():
    row = {"question": "Tom has 3 apples and buys 4. How many?", "answer": "3 + 4 = 7\n#### 7"}
    mapping = detect_mapping(list(row))
    assert mapping == {"prompt": "question", "answer": "answer"}
    out = map_row(row, mapping, GSM8K)
    assert out["prompt"] == "Question: Tom has 3 apples and buys 4. How many?\nAnswer:"
    assert out["answer"] == "7"
    assert out["solution"] == row["answer"]
    assert out["completion"] == " 3 + 4 = 7\n#### 7"  # the worked solution is the demonstration


def test_math_layout_takes_the_last_box_or_the_answer_column():
    boxed = {"problem": "What is $1+1$?", "solution": "Add: $\\boxed{2}$.", "level": "Level 1"}
    mapping = detect_mapping(list(boxed))
    assert mapping == {"prompt": "problem", "answer": "solution", "slice": "level"}
    out = map_row(boxed, mapping, MATH)
    assert out["answer"] == "2"
    assert out["slice"] == "Level 1"
    assert out["prompt"].startswith("Problem: What is $1+1$?")
    with_answer = {**boxed, "answer": "2"}
    assert detect_mapping(list(with_answer))["answer"] == "answer"


def test_chat_messages_layout_reads_the_assistant_reply():
    row = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Sam has 2 pens and gets 5 more. How many?"},
            {"role": "assistant", "content": "2 + 5 = 7. #### 7"},
        ]
    }
    mapping = detect_mapping(list(row))
    assert mapping == {"messages": "messages"}
    out = map_row(row, mapping, GSM8K)
    assert out["prompt"] == "Question: Sam has 2 pens and gets 5 more. How many?\nAnswer:"
    assert out["completion"] == "2 + 5 = 7. #### 7"
    assert out["answer"] == "7"
    with pytest.raises(RowProblem) as bad:
        map_row({"messages": [{"role": "user", "content": "hi"}]}, mapping, GSM8K)
    assert bad.value.reason == MISSING


def test_our_own_layout_keeps_prompt_verbatim_and_derives_the_addition_slice():
    row = {"prompt": "07+45=", "completion": "052", "answer": "052"}
    mapping = detect_mapping(list(row))
    out = map_row(row, mapping, ADDITION)
    assert out == {"prompt": "07+45=", "completion": "052", "answer": "052", "slice": "carry"}


def test_a_human_mapping_overrides_detection_and_is_checked():
    columns = ["q", "a", "difficulty"]
    with pytest.raises(MappingError, match="no column layout fits"):
        detect_mapping(columns)
    human = {"prompt": "q", "answer": "a", "slice": "difficulty"}
    check_mapping(human, columns)
    out = map_row({"q": "12+34=", "a": "046", "difficulty": "easy"}, human, ADDITION)
    assert out["slice"] == "easy" and out["answer"] == "046"
    with pytest.raises(MappingError, match="'question' is not in the data"):
        check_mapping({"prompt": "question", "answer": "a"}, columns)
    with pytest.raises(MappingError, match="must map prompt and answer"):
        check_mapping({"prompt": "q"}, columns)


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"prompt": "07+45=", "answer": ""}, MISSING),
        ({"prompt": None, "answer": "052"}, MISSING),
        ({"prompt": "07+45=", "answer": "fifty-two"}, UNPARSEABLE),
        ({"prompt": "07+45=", "answer": "52"}, UNPARSEABLE),  # not the fixed 3-digit width
        ({"prompt": "seven plus=", "answer": "052"}, UNPARSEABLE),
    ],
)
def test_bad_rows_raise_their_drop_reason(row, reason):
    with pytest.raises(RowProblem) as problem:
        map_row(row, {"prompt": "prompt", "answer": "answer"}, ADDITION)
    assert problem.value.reason == reason
    assert str(problem.value)
