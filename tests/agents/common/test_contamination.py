"""Contamination: exact, near-duplicate and 13-gram leaks are caught; clean data gives nothing; it scales."""

from __future__ import annotations

import json
import random
import time

import pytest

from agents.common.contamination import (
    EXACT,
    NEAR_DUPLICATE,
    NGRAM_OVERLAP,
    ContaminationReportError,
    Hit,
    char_grams,
    drop_listed,
    find_contamination,
    make_report,
    normalize,
    read_report,
)
from agents.tasks import addition

_WORDS = [
    "apples", "train", "station", "minutes", "costs", "dollars", "each", "morning", "baker", "sells",
    "muffins", "books", "shelf", "garden", "rows", "plants", "water", "litres", "bucket", "school",
    "bus", "students", "pencils", "boxes", "river", "boat", "miles", "hour", "farmer", "cows",
]  # fmt: skip
_GLUE = ["the", "a", "of", "to", "and", "in", "is", "how", "many", "if", "for", "with"]


def _question(rng: random.Random, words: int) -> str:
    body = " ".join(rng.choice(_GLUE) if rng.random() < 0.4 else rng.choice(_WORDS) for _ in range(words))
    return f"{body.capitalize()} {rng.randint(2, 999)}?"


def test_normalize_folds_case_whitespace_and_prose_punctuation_but_keeps_operators():
    assert normalize("  What IS 3 + 4?\n") == "what is 3 + 4"
    assert normalize("Hello,   world!") == normalize("hello world")
    assert normalize("don't") == "don t"
    assert normalize("3+4=") != normalize("3-4=")
    assert normalize("07+45=") == "07+45="


def test_exact_match_after_normalisation():
    eval_prompts = ["What is the capital of France?", "07+45="]
    train = ["unrelated", "  what is THE capital of france ", "07+45=", "07-45="]
    hits = find_contamination(train, eval_prompts)
    assert hits == [Hit(1, 0, EXACT, 1.0), Hit(2, 1, EXACT, 1.0)]


def test_near_duplicate_above_the_threshold_only():
    rng = random.Random(0)
    original = _question(rng, 30)
    close = original.replace("?", " today?")  # a few characters added
    far = _question(rng, 30)
    hits = find_contamination([far, close], [original])
    assert [(h.train_index, h.kind) for h in hits] == [(1, NEAR_DUPLICATE)]
    assert 0.8 <= hits[0].similarity < 1.0


def test_long_ngram_overlap_is_caught_when_the_rest_differs():
    rng = random.Random(1)
    eval_text = _question(rng, 60)
    words = eval_text.split()
    # 15 of its words in a row, wrapped in unrelated text: far below 0.8 character similarity.
    leaked = _question(rng, 25) + " " + " ".join(words[10:25]) + " " + _question(rng, 25)
    hits = find_contamination([leaked], [eval_text])
    assert len(hits) == 1 and hits[0].kind == NGRAM_OVERLAP
    # Twelve shared words are not enough.
    short_leak = _question(rng, 25) + " " + " ".join(words[10:22]) + " " + _question(rng, 25)
    assert find_contamination([short_leak], [eval_text]) == []


def test_clean_data_gives_no_hits():
    rng = random.Random(2)
    eval_prompts = [_question(rng, 40) for _ in range(100)]
    train = [_question(rng, 40) for _ in range(300)]
    assert find_contamination(train, eval_prompts) == []
    problems = [p.prompt for p in addition.all_problems(2)]
    assert find_contamination(problems[:9000], problems[9000:]) == []


def test_the_index_finds_exactly_what_all_pairs_finds():
    """The index must be exact: compare with the brute-force all-pairs Jaccard on perturbed copies."""
    rng = random.Random(3)
    eval_prompts = [_question(rng, rng.randint(3, 20)) for _ in range(40)]
    train = []
    for _ in range(150):
        text = list(rng.choice(eval_prompts))
        for _ in range(rng.randint(0, 6)):  # a few character edits: some stay above 0.8, some fall below
            text[rng.randrange(len(text))] = rng.choice("abcxyz ")
        train.append("".join(text) if rng.random() < 0.7 else _question(rng, 10))

    def jaccard(a: str, b: str) -> float:
        x, y = char_grams(normalize(a)), char_grams(normalize(b))
        return len(x & y) / len(x | y)

    expected = set()
    for i, t in enumerate(train):
        if any(normalize(t) == normalize(e) for e in eval_prompts):
            continue
        if any(jaccard(t, e) >= 0.8 for e in eval_prompts):
            expected.add(i)
    found = {h.train_index for h in find_contamination(train, eval_prompts) if h.kind == NEAR_DUPLICATE}
    assert found == expected
    assert 0 < len(expected) < 150


def test_ten_thousand_by_one_thousand_is_fast():
    rng = random.Random(4)
    # A vocabulary of 3,000 made-up words plus common glue words: about as varied as word problems.
    vocabulary = [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9))) for _ in range(3000)
    ]

    def text() -> str:
        n = rng.randint(20, 60)
        return " ".join(rng.choice(_GLUE) if rng.random() < 0.4 else rng.choice(vocabulary) for _ in range(n)) + "?"

    eval_prompts = [text() for _ in range(1000)]
    train = [text() for _ in range(10_000)]
    train[17] = eval_prompts[5].upper()
    train[99] = eval_prompts[6][:-2] + "!!"
    started = time.perf_counter()
    hits = find_contamination(train, eval_prompts)
    seconds = time.perf_counter() - started
    assert {(h.train_index, h.eval_index) for h in hits} >= {(17, 5), (99, 6)}
    assert seconds < 30, f"10k x 1k took {seconds:.1f} s"


def _report(rows: int, dropped: list[Hit], sha: str = "a" * 64) -> dict:
    return make_report("ds", "datasets/ds/data/train.jsonl", sha, "eval/x/test.jsonl", "b" * 64, rows, 5, dropped, "t")


def test_report_round_trip_and_drop(tmp_path):
    hits = [Hit(1, 0, EXACT, 1.0), Hit(3, 2, NEAR_DUPLICATE, 0.9)]
    report = _report(5, hits)
    assert report["counts"] == {"exact": 1, "near_duplicate": 1, "ngram_overlap": 0, "dropped": 2, "kept": 3}
    assert "prompt" not in json.dumps(report["dropped"])  # row numbers and reasons only, never eval text
    path = tmp_path / "ds.json"
    path.write_text(json.dumps(report))
    loaded = read_report(path, "a" * 64)
    rows = [{"prompt": str(i)} for i in range(5)]
    kept, dropped = drop_listed(rows, loaded)
    assert [r["prompt"] for r in kept] == ["0", "2", "4"] and dropped == 2


def test_stale_or_broken_reports_are_refused(tmp_path):
    path = tmp_path / "ds.json"
    with pytest.raises(ContaminationReportError, match="no contamination report"):
        read_report(path)
    path.write_text(json.dumps(_report(5, [Hit(1, 0, EXACT, 1.0)])))
    with pytest.raises(ContaminationReportError, match="other data"):
        read_report(path, "c" * 64)
    with pytest.raises(ContaminationReportError, match="covers 5 rows"):
        drop_listed([{"prompt": "x"}] * 4, read_report(path))
    path.write_text(json.dumps(_report(2, [Hit(7, 0, EXACT, 1.0)])))
    with pytest.raises(ContaminationReportError, match="outside"):
        read_report(path)
    path.write_text("{not json")
    with pytest.raises(ContaminationReportError, match="unreadable"):
        read_report(path)


def test_near_duplicates_within_one_list_point_at_the_earlier_row():
    from agents.common.contamination import NEAR_DUPLICATE, find_near_duplicates

    story = "Janet's ducks lay 16 eggs per day. She eats three for breakfast every morning."
    prompts = [story, "A different problem about trains and their speed.", story.lower(), story.replace("16", "15")]
    hits = find_near_duplicates(prompts)
    assert [(h.train_index, h.eval_index, h.kind) for h in hits] == [(2, 0, EXACT), (3, 0, NEAR_DUPLICATE)]
    assert find_near_duplicates(["07+45=", "07+46=", "70+45="]) == []  # different sums are different problems
    # A row is never its own duplicate, and later rows are only compared with earlier ones.
    assert find_near_duplicates([story]) == []


def test_the_task_template_is_not_evidence_of_a_leak():
    from agents.common.contamination import compared_form, find_contamination, find_near_duplicates, problem_as_written
    from agents.tasks import math_answers, prompt_template
    from bus.schemas import TaskSpec

    template = prompt_template(TaskSpec(name="math"))
    assert template == ("Problem: ", "\nGive the final answer in \\boxed{}.\nSolution:")
    tail = "Express your answer as a common fraction."
    train = [math_answers.prompt(f"A bag holds 4 red and 5 blue marbles. What share is red? {tail}")]
    held = [math_answers.prompt(f"Two dice are rolled. What is the chance the sum is 7? {tail}")]
    # The template's 8 words plus the shared closing sentence make a 13-word match of unrelated problems.
    assert len(find_contamination(train, held)) == 1
    assert find_contamination(train, held, template=template) == []
    # A real leak is still found, whether the training prompt carries the template or not.
    leaked = [held[0], problem_as_written(held[0], template)]
    assert [h.kind for h in find_contamination(leaked, held, template=template)] == ["exact", "exact"]
    assert len(find_near_duplicates(leaked, template=template)) == 1
    assert compared_form(template).startswith("problems as written")
    assert compared_form(prompt_template(TaskSpec(name="addition"))).startswith("prompts as given")
