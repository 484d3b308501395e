"""Intervals and pass@k: known values, hand-computed cases, and the properties a reader relies on."""

from __future__ import annotations

import math
import random

import pytest

from agents.critic.stats import bootstrap_interval, ks_for, pass_at_k, sample_std, wilson_interval


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        (0, 500, 0.0, 0.00762),
        (250, 500, 0.4563, 0.5437),
        (500, 500, 0.99238, 1.0),
        (1, 10, 0.01787, 0.40415),
        (0, 0, 0.0, 1.0),
    ],
)
def test_wilson_interval_known_values(successes, n, low, high):
    lo, hi = wilson_interval(successes, n)
    assert lo == pytest.approx(low, abs=1e-4)
    assert hi == pytest.approx(high, abs=1e-4)


def test_wilson_interval_contains_the_estimate_and_narrows_with_n():
    for k, n in [(3, 20), (30, 200), (300, 2000)]:
        lo, hi = wilson_interval(k, n)
        assert 0.0 <= lo < k / n < hi <= 1.0
    widths = [hi - lo for lo, hi in (wilson_interval(30, 200), wilson_interval(300, 2000))]
    assert widths[1] < widths[0]


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (5, 2, 1, 0.4),  # pass@1 is the share of correct samples
        (5, 2, 2, 1 - 3 / 10),  # 1 - C(3,2)/C(5,2)
        (5, 2, 3, 1 - 1 / 10),  # 1 - C(3,3)/C(5,3)
        (5, 2, 4, 1.0),  # fewer than k wrong samples: some draw of k always holds a correct one
        (10, 1, 5, 0.5),  # 1 - C(9,5)/C(10,5) = 1 - 126/252
        (8, 0, 8, 0.0),
        (8, 8, 1, 1.0),
    ],
)
def test_pass_at_k_hand_computed(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_pass_at_k_matches_the_binomial_formula_and_grows_with_k():
    for n in (1, 4, 16, 50):
        for c in range(n + 1):
            values = [pass_at_k(n, c, k) for k in range(1, n + 1)]
            for k, value in enumerate(values, start=1):
                assert value == pytest.approx(1 - math.comb(n - c, k) / math.comb(n, k), abs=1e-9)
            assert values == sorted(values)


@pytest.mark.parametrize(("n", "c", "k"), [(4, 5, 1), (4, -1, 1), (4, 2, 0), (4, 2, 5)])
def test_pass_at_k_refuses_impossible_counts(n, c, k):
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_reported_ks():
    assert ks_for(1) == [1]
    assert ks_for(8) == [1, 2, 4, 8]
    assert ks_for(10) == [1, 2, 4, 8, 10]


def test_bootstrap_is_seeded_and_brackets_the_mean():
    rng = random.Random(1)
    values = [float(rng.random() < 0.3) for _ in range(500)]
    mean = sum(values) / len(values)
    a, b = bootstrap_interval(values, seed=7), bootstrap_interval(values, seed=7)
    assert a == b
    assert a != bootstrap_interval(values, seed=8)
    assert a[0] < mean < a[1]
    # For a proportion the bootstrap and Wilson intervals agree closely at this n.
    wilson = wilson_interval(int(sum(values)), len(values))
    assert a[0] == pytest.approx(wilson[0], abs=0.01) and a[1] == pytest.approx(wilson[1], abs=0.01)


def test_bootstrap_degenerate_and_narrowing():
    assert bootstrap_interval([1.0] * 50) == (1.0, 1.0)
    assert bootstrap_interval([]) == (0.0, 1.0)
    small = bootstrap_interval([0.0, 1.0] * 25, seed=0)
    large = bootstrap_interval([0.0, 1.0] * 2500, seed=0)
    assert large[1] - large[0] < small[1] - small[0]


def test_sample_std_uses_n_minus_one():
    assert sample_std([0.1, 0.3]) == pytest.approx(math.sqrt(0.02))
    assert sample_std([0.5]) == 0.0
    assert sample_std([0.2, 0.2, 0.2]) == pytest.approx(0.0, abs=1e-12)
