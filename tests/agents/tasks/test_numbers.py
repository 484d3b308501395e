"""Numbers in free text: reading, canonical form and comparison by value."""

from __future__ import annotations

from fractions import Fraction

import pytest

from agents.tasks.numbers import find_numbers, format_number, normalize_number, parse_number, same_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1000", "1000"),
        ("1,000", "1000"),
        ("1000.0", "1000"),
        ("$1000", "1000"),
        ("$1,000.00", "1000"),
        ("1000 dollars", "1000"),
        ("1000 Dollars.", "1000"),
        ("-3", "-3"),
        ("\u22123", "-3"),  # the Unicode minus some tokenizers produce
        ("0.50", "0.5"),
        (".5", "0.5"),
        ("50%", "50"),
        ("3/4", "0.75"),
        ("12.", "12"),
    ],
)
def test_numbers_written_oddly_normalise_to_one_form(text, expected):
    assert normalize_number(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "5-3", "1,00", "12 apples and 3 pears", "1/0", "x=5"])
def test_non_numbers_are_refused(text):
    assert parse_number(text) is None
    assert normalize_number(text) is None


def test_same_number_compares_by_value_not_spelling():
    assert same_number("1,000", "1000.0")
    assert same_number("$1000", "1000 dollars")
    assert same_number("0.50", ".5")
    assert not same_number("1000", "100")
    assert not same_number("-3", "3")
    assert not same_number("0.5", "abc")


def test_find_numbers_reads_signs_only_where_they_are_signs():
    # In `5-3` the minus is an operator; after `=` or a space it is a sign.
    assert find_numbers("5-3 = 2, then -4 and 1,2,3") == [5, 3, 2, -4, 1, 2, 3]
    assert find_numbers("costs $1,250.50 for 3/4 of it") == [Fraction("1250.5"), Fraction(3, 4)]
    assert find_numbers("no digits here") == []


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Fraction(7), "7"),
        (Fraction(-1, 8), "-0.125"),
        (Fraction(1, 3), "1/3"),
        (Fraction(123456789123456789, 1000), "123456789123456.789"),  # no float rounding
    ],
)
def test_format_number_is_exact(value, text):
    assert format_number(value) == text
    assert parse_number(text) == value


def test_a_leading_zero_group_is_not_a_thousands_separator():
    assert parse_number("0,111") is None  # a decimal comma or a list, never 111
    assert parse_number("10,111") == 10111
    assert find_numbers("0,111") == [Fraction(0), Fraction(111)]


def test_a_fraction_may_end_a_sentence():
    assert find_numbers("so she pays 3/4.") == [Fraction(3, 4)]
    assert find_numbers("3/4.5") != [Fraction(3, 4)]  # a decimal after the slash is not a fraction's end
