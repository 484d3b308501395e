"""Column mapping: the common layouts are found automatically, a human's mapping wins, bad rows say why."""

from __future__ import annotations

import pytest

from agents.curator.columns import (
    MISSING,
    UNPARSEABLE,
    MappingError,
    RowProblem,
    check_mapping,
    describe_mapping,
    detect_mapping,
    is_verified,
    map_row,
)
from agents.tasks import get_task
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


def test_chat_messages_layout_reads_the_assistant_reply_as_an_unverified_demonstration():
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
    # No answer is read from the reply: grading a reply against itself would always agree.
    assert out["answer"] == "" and out["verified"] is False and not is_verified(mapping)
    checked = map_row({**row, "ref": "#### 7"}, {**mapping, "answer": "ref"}, GSM8K)  # a human names a reference
    assert checked["answer"] == "7" and "verified" not in checked
    with pytest.raises(RowProblem) as bad:
        map_row({"messages": [{"role": "user", "content": "hi"}]}, mapping, GSM8K)
    assert bad.value.reason == MISSING


def test_a_chat_row_keeps_its_earlier_turns_as_the_replys_context():
    row = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Sam has 2 pens."},
            {"role": "assistant", "content": "Noted: 2 pens."},
            {"role": "user", "content": "He gets 5 more. How many now?"},
            {"role": "assistant", "content": "7"},
        ]
    }
    out = map_row(row, detect_mapping(list(row)), GSM8K)
    assert out["prompt"] == "Question: He gets 5 more. How many now?\nAnswer:" and out["completion"] == "7"
    assert out["context"] == row["messages"][:3]  # the conversation the reply answers, not lost
    single = map_row({"messages": row["messages"][3:]}, detect_mapping(list(row)), GSM8K)
    assert "context" not in single


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
    with pytest.raises(MappingError, match="must map prompt and answer \\(or completion"):
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


def test_chat_content_as_a_list_of_parts_and_sharegpt_conversations():
    parts = {
        "messages": [
            {"role": "user", "content": [{"type": "text", "value": "Sum 2 and "}, {"type": "text", "text": "5."}]},
            {"role": "assistant", "content": [{"type": "text", "value": "7"}]},
        ]
    }
    out = map_row(parts, detect_mapping(list(parts)), GSM8K)
    assert out["prompt"] == "Question: Sum 2 and 5.\nAnswer:" and out["completion"] == "7"
    share = {"conversations": [{"from": "human", "value": "Hi?"}, {"from": "gpt", "value": "Hello."}], "id": "x"}
    mapping = detect_mapping(list(share))
    assert mapping == {"messages": "conversations"}
    assert map_row(share, mapping, GSM8K)["completion"] == "Hello."
    assert describe_mapping(mapping).startswith("ShareGPT conversations (from/value)")
    image = {"messages": [{"role": "user", "content": "Look"}, {"role": "assistant", "content": [{"type": "image"}]}]}
    with pytest.raises(RowProblem, match="no assistant turn with text"):
        map_row(image, detect_mapping(list(image)), GSM8K)


def test_alpaca_input_is_joined_into_the_prompt():
    row = {"instruction": "Add the numbers.", "input": "2 and 5", "output": "The sum is 7."}
    mapping = detect_mapping(list(row))
    assert mapping == {"prompt": "instruction", "input": "input", "completion": "output"}
    out = map_row(row, mapping, GSM8K)
    assert out["prompt"] == "Question: Add the numbers.\n2 and 5\nAnswer:"
    assert out["completion"] == "The sum is 7." and out["verified"] is False
    assert map_row({**row, "input": ""}, mapping, GSM8K)["prompt"] == "Question: Add the numbers.\nAnswer:"
    assert describe_mapping(mapping).startswith("Alpaca (instruction + input): prompt <- `instruction` + newline")
    assert describe_mapping({"prompt": "q", "answer": "a"}).startswith("custom: ")


def test_gpqa_wide_layout_shuffles_options_into_the_prompt_with_a_fixed_seed():
    row = {
        "Question": "Which gas is diatomic?",
        "Correct Answer": "Oxygen",
        "Incorrect Answer 1": "Neon",
        "Incorrect Answer 2": "Argon",
        "Incorrect Answer 3": "Helium",
        "High-level domain": "Chemistry",
    }
    mapping = detect_mapping(list(row))
    assert mapping["answer"] == "Correct Answer" and mapping["slice"] == "High-level domain"
    gpqa_spec = TaskSpec(name="gpqa")
    rows = [map_row(row, mapping, gpqa_spec, index=i, seed=0) for i in range(12)]
    for out in rows:
        lines = out["prompt"].splitlines()
        assert lines[0] == "Question: Which gas is diatomic?" and lines[-1] == "Answer:"
        assert dict(line.split(") ", 1) for line in lines[1:5])[out["answer"]] == "Oxygen"
        assert out["slice"] == "Chemistry" and out["completion"] == f" {out['answer']}"
        assert get_task(gpqa_spec).grade(out["completion"], out["answer"])
    assert len({r["answer"] for r in rows}) > 1  # the correct option is not always under one letter
    assert rows == [map_row(row, mapping, gpqa_spec, index=i, seed=0) for i in range(12)]  # reproducible
    with pytest.raises(MappingError, match="needs answer and all of"):
        check_mapping(
            {"prompt": "Question", "answer": "Correct Answer", "incorrect_1": "Incorrect Answer 1"}, list(row)
        )
