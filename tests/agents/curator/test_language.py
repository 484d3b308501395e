"""The card's `language` from the scripts of the rows' text (agents/curator/language.py)."""

from __future__ import annotations

from agents.curator.language import detect_languages, row_language


def test_each_text_gets_the_language_of_its_script():
    assert row_language("How many pens does Sam have?") == "en"
    assert row_language("请把这句话翻译成英文：hello world") == "zh"
    assert row_language("私は学生です。漢字も使います。") == "ja"  # kana: Japanese, though Han characters appear
    assert row_language("성격을 숫자로 추정할 수 있을까?") == "ko"
    assert row_language("12 + 30 = 42") is None


def test_the_card_lists_every_language_with_enough_rows_most_rows_first():
    rows = [{"prompt": "Add the numbers.", "completion": "42"}] * 8 + [
        {"prompt": "把数字加起来。", "completion": "42"}
    ] * 2
    assert detect_languages(rows) == ["en", "zh"]
    assert detect_languages([{"prompt": "07+45=", "completion": "052"}]) == ["en"]  # no letters: the default
    many = [{"prompt": "Add.", "completion": "1"}] * 300 + [{"prompt": "加。", "completion": "1"}]
    assert detect_languages(many) == ["en"]  # one row in 301 is under the 1% floor
