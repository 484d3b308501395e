"""The quality gate: one test per drop reason, the figures, and the verdict, on small rows in real layouts."""

from __future__ import annotations

import pytest

from agents.curator.gate import (
    CONTAMINATED,
    DUPLICATE,
    NEAR_DUPLICATE,
    TOO_EASY,
    TOO_HARD,
    TOO_LONG,
    SourceRows,
    run_gate,
)
from bus.schemas import TaskSpec

ADDITION = TaskSpec()
GSM8K = TaskSpec(name="gsm8k")
OURS = {"prompt": "prompt", "answer": "answer", "completion": "completion"}


def _add(a: int, b: int, completion: str | None = None) -> dict:
    answer = f"{a + b:03d}"
    return {"prompt": f"{a:02d}+{b:02d}=", "answer": answer, "completion": completion or answer}


def _gate(rows, spec=ADDITION, mapping=OURS, eval_prompts=(), **kwargs):
    return run_gate(
        SourceRows("test", rows, list(rows[0]) if rows else []), mapping, spec, list(eval_prompts), **kwargs
    )


def test_clean_rows_are_all_kept_with_figures():
    rows = [_add(a, b) for a in range(10, 15) for b in range(20, 24)]
    result = _gate(rows)
    assert len(result.kept) == 20 and result.dropped == {}
    assert result.figures["label_agreement"] == 1.0
    assert result.figures["answer_format_ok"] == 1.0
    assert result.figures["prompt_length"]["min"] == 6
    assert result.figures["answers"]["distinct"] == len({r["answer"] for r in rows})
    assert set(result.figures["slices"]) == {"no_carry"}
    assert result.verdict == "usable with warnings"  # only 20 rows
    assert any("only 20 rows" in r for r in result.reasons)


def test_missing_and_unparseable_rows_are_dropped_with_their_reason():
    rows = [_add(1, 2), {"prompt": "03+04=", "answer": "", "completion": "007"}, {**_add(5, 6), "answer": "11"}]
    result = _gate(rows)
    assert result.dropped == {"missing_fields": 1, "unparseable_answer": 1}
    assert [r["prompt"] for r in result.kept] == ["01+02="]
    assert result.examples["unparseable_answer"][0]["row"] == 2


def test_exact_and_near_duplicates_keep_the_first():
    base = "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May."
    rows = [
        {"question": base, "answer": "#### 72"},
        {"question": base.upper(), "answer": "#### 72"},  # the same after normalisation
        {"question": base.replace("Natalia", "Natalie"), "answer": "#### 72"},  # one letter apart
        {"question": "Weng earns $12 an hour for babysitting. How much did she earn?", "answer": "#### 10"},
    ]
    result = _gate(rows, GSM8K, {"prompt": "question", "answer": "answer"})
    assert result.dropped == {DUPLICATE: 1, NEAR_DUPLICATE: 1}
    assert len(result.kept) == 2
    assert "repeats source row 0" in result.examples[NEAR_DUPLICATE][0]["why"]


def test_rows_that_leak_the_held_out_split_are_dropped_without_its_text():
    rows = [_add(7, 45), _add(12, 34), _add(50, 1)]
    result = _gate(rows, eval_prompts=["12+34=", "99+99="])
    assert result.dropped == {CONTAMINATED: 1}
    assert "12+34=" not in str(result.examples)  # the eval row is named by number only
    assert result.examples[CONTAMINATED][0]["why"] == "exact match of held-out row 0"
    assert [r["prompt"] for r in result.kept] == ["07+45=", "50+01="]


def test_rows_longer_than_the_model_context_are_dropped():
    rows = [_add(1, 1), _add(2, 2)]
    result = _gate(rows, count_tokens=lambda p, c: [len(a) + len(b) for a, b in zip(p, c)], max_tokens=8)
    assert result.dropped == {TOO_LONG: 2}
    assert result.verdict == "rejected"
    assert "no row survived the gate" in result.reasons[0]


def test_pass_filter_verdicts_drop_too_easy_and_too_hard():
    rows = [_add(1, 1), _add(2, 2), _add(3, 3)]

    def by_position(kept):
        return [TOO_EASY, None, TOO_HARD], {"kept": 1}

    result = _gate(rows, pass_filter=by_position)
    assert result.dropped == {TOO_EASY: 1, TOO_HARD: 1}
    assert [r["prompt"] for r in result.kept] == ["02+02="]
    assert result.figures["pass_rate"] == {"kept": 1}


def test_mostly_malformed_source_is_rejected_as_mis_mapped():
    rows = [{"prompt": f"{i:02d}+01=", "answer": "n/a", "completion": "x"} for i in range(10)]
    result = _gate(rows)
    assert result.verdict == "rejected"
    assert "mis-mapped" in result.reasons[0]


def test_empty_source_is_rejected():
    result = run_gate(SourceRows("empty", [], []), OURS, ADDITION, [])
    assert result.verdict == "rejected"
    assert result.reasons == ["the source has no rows (empty split)"]


def test_disagreeing_demonstrations_are_kept_with_a_warning_per_slice():
    rows = [_add(a, b) for a in range(10) for b in range(10, 20)] + [_add(25, 35, completion="050")]
    result = _gate(rows)
    assert result.figures["slices"]["carry"].label_agreement < 1.0
    assert result.figures["slices"]["no_carry"].label_agreement == 1.0
    assert any("disagree with the grader (slices carry)" in r for r in result.reasons)


@pytest.mark.parametrize("share", [0.02])
def test_small_drop_shares_do_not_warn(share):
    rows = [_add(a, b) for a in range(20) for b in range(10)]
    rows[0] = {**rows[0], "answer": ""}
    result = _gate(rows)
    assert result.dropped == {"missing_fields": 1}
    assert not any("dropped as" in r for r in result.reasons)


def test_disagreeing_completions_do_not_warn_when_nothing_imitates_them():
    rows = [_add(a, b) for a in range(10) for b in range(10, 20)] + [_add(25, 35, completion="050")]
    assert not any("disagree" in r for r in _gate(rows, demonstrations=False).reasons)


def test_verified_only_drops_wrong_demonstrations():
    rows = [_add(25, 35, completion="050"), _add(25, 36), _add(11, 11)]
    result = _gate(rows, verified_only=True)
    assert result.dropped == {"wrong_demonstration": 1}
    assert result.figures["label_agreement"] == 1.0
