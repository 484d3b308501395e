"""Scoring rows with the real tiny model: right and wrong answers, slices, pass@k, and bad input with its reasons."""

from __future__ import annotations

from dataclasses import replace

import pytest

from agents.critic.scoring import (
    MISSING_COLUMN,
    NO_ANSWER,
    UNREADABLE_ROW,
    WRONG,
    EvaluationError,
    describe,
    parse_rows,
    score_model,
)
from agents.critic.stats import pass_at_k
from agents.models.loading import load_model
from agents.models.refs import materialize_model
from agents.models.sampling import generate
from agents.models.tiny import EMBEDDED_TINY
from agents.tasks import addition, get_task


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return load_model(materialize_model(EMBEDDED_TINY, tmp_path_factory.mktemp("models")))


@pytest.fixture(scope="module")
def prompts():
    return [p.prompt for p in addition.sample_problems(20, 2, seed=9)]


def _digits_task():
    """The addition task with a grader that accepts any answer that starts with a digit: the untrained
    model gets some right, so right and wrong both occur. The extractor stays the real one."""
    return replace(
        get_task("addition"), grade=lambda completion, answer: addition.extract_answer(completion) is not None
    )


def test_exact_match_against_known_outputs(tiny, prompts):
    """References equal to the model's own greedy output on the first half: the score must be exactly 0.5."""
    model, tokenizer = tiny
    greedy = [c[0] for c in generate(model, tokenizer, prompts, 4).completions]
    task = replace(get_task("addition"), extract=lambda c: c, grade=lambda c, a: c == a)
    rows = [
        {"prompt": p, "answer": g if i < 10 else g + "x", "slice": "first" if i < 10 else "second"}
        for i, (p, g) in enumerate(zip(prompts, greedy, strict=True))
    ]
    scores = score_model(model, tokenizer, rows, task, 4)
    assert scores.score == 0.5 and scores.correct == [True] * 10 + [False] * 10
    assert scores.slices["first"].score == 1.0 and scores.slices["second"].score == 0.0
    assert scores.slices["first"].n == scores.slices["second"].n == 10
    lo, hi = scores.slices["first"].ci
    assert lo < 1.0 == hi  # ten right out of ten is not certainty
    assert scores.reasons == {WRONG: 10}
    assert scores.tokens_greedy > 0 and scores.tokens_sampled == 0 and scores.pass_at_k == {}


def test_pass_at_k_is_the_estimator_over_the_seeded_samples(tiny, prompts):
    model, tokenizer = tiny
    task = _digits_task()
    rows = [{"prompt": p, "answer": "000"} for p in prompts]
    scores = score_model(model, tokenizer, rows, task, 4, samples=6, temperature=1.0, seed=4)
    again = score_model(model, tokenizer, rows, task, 4, samples=6, temperature=1.0, seed=4)
    assert scores.pass_at_k == again.pass_at_k and scores.pass_at_k_ci == again.pass_at_k_ci
    assert set(scores.pass_at_k) == {"1", "2", "4", "6"}
    # Recount from the raw samples of the same seed.
    raw = generate(model, tokenizer, prompts, 4, samples=6, temperature=1.0, seed=4).completions
    correct = [sum(addition.extract_answer(c) is not None for c in samples) for samples in raw]
    assert scores.sampled_correct == correct
    assert 0 < sum(correct) < 6 * len(prompts)  # both outcomes occur, so the numbers below mean something
    for k, value in scores.pass_at_k.items():
        assert value == pytest.approx(sum(pass_at_k(6, c, int(k)) for c in correct) / len(correct))
        lo, hi = scores.pass_at_k_ci[k]
        assert lo <= value <= hi
    values = list(scores.pass_at_k.values())
    assert values == sorted(values)
    other = score_model(model, tokenizer, rows, task, 4, samples=6, temperature=1.0, seed=5)
    assert other.sampled_correct != scores.sampled_correct
    assert scores.tokens_sampled > 0 and scores.tokens == scores.tokens_greedy + scores.tokens_sampled


def test_bad_rows_and_a_raising_grader_are_scored_wrong_with_their_reasons(tiny):
    model, tokenizer = tiny

    def fragile(completion: str, answer: str) -> bool:
        if answer == "boom":
            raise ValueError("cannot parse the reference")
        return addition.grade(completion, answer)

    task = replace(get_task("addition"), extract=lambda completion: completion, grade=fragile)
    text = "\n".join(
        [
            '{"prompt": "01+02=", "answer": "003"}',
            '{"prompt": "01+02="}',  # no answer column
            '{"answer": "003"}',  # no prompt column
            "not json at all",
            "[1, 2]",  # JSON, but not an object
            '{"prompt": "03+04=", "answer": "boom"}',
        ]
    )
    rows = parse_rows(text + "\n\n")
    assert len(rows) == 6
    scores = score_model(model, tokenizer, rows, task, 4)
    assert scores.n == 6 and sum(scores.correct) == 0
    assert scores.reasons[MISSING_COLUMN] == 2
    assert scores.reasons[UNREADABLE_ROW] == 2
    assert scores.reasons["grader raised ValueError"] == 1
    assert scores.reasons[WRONG] == 1  # the untrained model does not add
    assert any("grader raised ValueError: 1" in line for line in describe(scores))


def test_unparseable_output_counts_as_no_answer(tiny, prompts):
    model, tokenizer = tiny
    task = replace(get_task("addition"), extract=lambda completion: None)
    scores = score_model(model, tokenizer, [{"prompt": p, "answer": "1"} for p in prompts[:5]], task, 4)
    assert scores.reasons == {NO_ANSWER: 5}


def test_an_empty_split_is_a_clear_error(tiny):
    model, tokenizer = tiny
    with pytest.raises(EvaluationError, match="no rows"):
        score_model(model, tokenizer, [], get_task("addition"), 4)
