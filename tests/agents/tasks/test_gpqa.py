"""GPQA: reproducible choice shuffling, the letter pointing at the right option, letter extraction."""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import pytest

from agents.tasks import get_task, gpqa
from agents.tasks.choice import extract_choice, reference_letter
from agents.tasks.hub import TaskDataError
from bus.schemas import TaskSpec

FIXTURE = Path(__file__).parents[2] / "fixtures" / "tasks" / "gpqa" / "gpqa_diamond.csv"


def _options(prompt: str) -> dict[str, str]:
    return dict(re.findall(r"^([A-D])\) (.*)$", prompt, re.MULTILINE))


def test_shuffle_is_reproducible_and_the_letter_points_at_the_correct_answer():
    first = gpqa.shuffled_choices("right", ["w1", "w2", "w3"], seed=3, row_index=5)
    assert first == gpqa.shuffled_choices("right", ["w1", "w2", "w3"], seed=3, row_index=5)
    choices, letter = first
    assert sorted(choices) == ["right", "w1", "w2", "w3"]
    assert choices["ABCD".index(letter)] == "right"


def test_shuffle_spreads_the_correct_answer_over_every_letter():
    letters = Counter(gpqa.shuffled_choices("r", ["a", "b", "c"], seed=0, row_index=i)[1] for i in range(400))
    assert set(letters) == set("ABCD")
    assert min(letters.values()) > 70  # about 100 each; a fixed position would be learnable


def test_shuffle_depends_on_seed_and_row():
    orders = {
        tuple(gpqa.shuffled_choices("r", ["a", "b", "c"], seed=s, row_index=i)[0]) for s in (0, 1) for i in range(6)
    }
    assert len(orders) > 3


def test_eval_rows_from_the_real_csv_layout():
    spec = TaskSpec(name="gpqa", dataset=str(FIXTURE), eval_size=10)
    task = get_task(spec)
    rows = task.eval_rows(spec, 1000)
    assert rows == task.eval_rows(spec, 1000)
    with FIXTURE.open(newline="") as handle:
        source = list(csv.DictReader(handle))
    assert len(rows) == len(source) == 5
    for row, raw in zip(rows, source, strict=True):
        options = _options(row["prompt"])
        assert row["prompt"].startswith(f"Question: {raw['Question'].strip()}\nA) ")
        assert row["prompt"].endswith("\nD) " + options["D"] + "\nAnswer:")
        assert options[row["answer"]] == raw["Correct Answer"].strip()
        assert sorted(options.values()) == sorted(
            raw[c].strip() for c in ("Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3")
        )
        assert row["slice"] == raw["High-level domain"]
        assert task.grade(f"Answer: {row['answer']}", row["answer"])
    # Another seed gives another order for at least one row, with the letter still right.
    other = task.eval_rows(spec, 1001)
    assert [r["prompt"] for r in other] != [r["prompt"] for r in rows]
    assert all(_options(r["prompt"])[r["answer"]] == s["Correct Answer"].strip() for r, s in zip(other, source))


def test_eval_rows_without_a_domain_column_have_no_slice(tmp_path):
    data = tmp_path / "gpqa.csv"
    data.write_text("Question,Correct Answer,Incorrect Answer 1,Incorrect Answer 2,Incorrect Answer 3\nq,a,b,c,d\n")
    rows = gpqa.eval_rows(TaskSpec(name="gpqa", dataset=str(data)), 0)
    assert len(rows) == 1 and "slice" not in rows[0]


def test_eval_rows_missing_incorrect_answer_column(tmp_path):
    data = tmp_path / "gpqa.csv"
    data.write_text("Question,Correct Answer,Incorrect Answer 1,Incorrect Answer 2\nq,a,b,c\n")
    with pytest.raises(TaskDataError, match="gpqa.csv: column 'Incorrect Answer 3' is missing"):
        gpqa.eval_rows(TaskSpec(name="gpqa", dataset=str(data)), 0)


def test_eval_rows_empty_option_names_the_column(tmp_path):
    data = tmp_path / "gpqa.csv"
    data.write_text("Question,Correct Answer,Incorrect Answer 1,Incorrect Answer 2,Incorrect Answer 3\nq,a,b,,d\n")
    with pytest.raises(TaskDataError, match="row 0: column 'Incorrect Answer 2' is empty"):
        gpqa.eval_rows(TaskSpec(name="gpqa", dataset=str(data)), 0)


@pytest.mark.parametrize(
    ("completion", "expected"),
    [
        ("Answer: C", "C"),
        (" C", "C"),
        ("C", "C"),
        (" c", "C"),
        ("(C)", "C"),
        (" (c) because", "C"),
        (" C) 42 kelvin", "C"),
        ("C.\nThe other options are wrong.", "C"),
        ("The answer is C", "C"),
        ("the answer is c.", "C"),
        ("The correct answer is option D because it balances.", "D"),
        ("Answer: (b)", "B"),
        ("answer:\n\nA", "A"),
        ("I would pick (B).", "B"),
        ("Looking at it, B) fits best", None),  # "B)" not at a line start, no answer statement
        ("Answer: A\nWait, no. Answer: B", "B"),  # the last statement is final
        ("B\n\nQuestion: another one\nA) x\nAnswer: D", "B"),  # the invented next question is cut
        ("Option (A) is wrong; the answer is (C).", "C"),
    ],
)
def test_extract_reads_the_committed_letter(completion, expected):
    assert gpqa.extract_answer(completion) == expected


@pytest.mark.parametrize(
    "completion",
    [
        "Answer: A or B",
        "The answer is A and C",
        "A, C",
        "A/B",
        "(A) and (C)",
        "Option (A) or option (B), hard to say",
        "A) 3\nB) 4\nC) 5",  # restating the options commits to none
        "answer is AB",
        "A good question.",  # an article, not a choice
        "the answer is a bit unclear",
        "E",  # not an option of a four-choice question
        "",
        "I do not know",
    ],
)
def test_extract_refuses_ambiguous_or_absent_answers(completion):
    assert gpqa.extract_answer(completion) is None


def test_grade_both_sides():
    assert gpqa.grade("Answer: c", "C")
    assert gpqa.grade(" (C) it is", "C")
    assert not gpqa.grade("Answer: B", "C")
    assert not gpqa.grade("Answer: B or C", "C")  # hedging never scores


def test_reference_must_be_one_letter():
    assert reference_letter(" (b) ") == "B"
    with pytest.raises(TaskDataError, match="not one of the letters A, B, C, D"):
        reference_letter("the mitochondrion")
    with pytest.raises(TaskDataError):
        gpqa.grade("Answer: A", "E")


def test_wide_letters_for_ten_options():
    assert extract_choice("Answer: J", "ABCDEFGHIJ") == "J"
    assert extract_choice("Answer: J") is None
    assert extract_choice("I think so.", "ABCDEFGHIJ") is None  # the pronoun is not option I
    assert extract_choice("I.", "ABCDEFGHIJ") == "I"


def test_answer_length():
    assert get_task("gpqa").max_new_tokens(TaskSpec(name="gpqa")) == 32
