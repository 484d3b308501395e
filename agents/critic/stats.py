"""The numbers behind every score the critic reports: intervals, pass@k, spread across seeds."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Z95 = 1.96
BOOTSTRAP_RESAMPLES = 2000


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """95% Wilson score interval of a proportion: honest near 0 and 1, where the normal one is not."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples of which c are correct (Chen et al. 2021, arXiv 2107.03374).

    1 - C(n-c, k) / C(n, k), computed as a product so large n does not overflow.
    """
    if not 0 <= c <= n:
        raise ValueError(f"correct samples c={c} must lie in 0..n={n}")
    if not 1 <= k <= n:
        raise ValueError(f"k={k} must lie in 1..n={n}")
    if n - c < k:
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod


def ks_for(samples: int) -> list[int]:
    """The k reported for n samples: powers of two up to n, and n itself."""
    ks = [k for k in (1, 2, 4, 8, 16, 32, 64, 128, 256) if k <= samples]
    return ks if samples in ks else [*ks, samples]


def bootstrap_interval(
    values: Sequence[float], seed: int = 0, resamples: int = BOOTSTRAP_RESAMPLES, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of per-problem values, resampling problems (seeded)."""
    import numpy as np

    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return 0.0, 1.0
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    tail = (1.0 - level) / 2
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(low), float(high)


def sample_std(values: Sequence[float]) -> float:
    """Standard deviation with Bessel's correction (n - 1): a handful of seeds is a sample, not the population."""
    if len(values) < 2:
        return 0.0
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


# --- paired comparisons: two checkpoints graded on the same held-out items -------------------------


def _log_binom_pmf(k: int, m: int, p: float) -> float:
    if p <= 0.0:
        return 0.0 if k == 0 else -math.inf
    if p >= 1.0:
        return 0.0 if k == m else -math.inf
    return math.lgamma(m + 1) - math.lgamma(k + 1) - math.lgamma(m - k + 1) + k * math.log(p) + (m - k) * math.log1p(-p)


def binom_upper_tail(k: int, m: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(m, p), summed in log space so m in the thousands does not overflow."""
    if k <= 0:
        return 1.0
    if k > m:
        return 0.0
    logs = [_log_binom_pmf(i, m, p) for i in range(k, m + 1)]
    top = max(logs)
    return 0.0 if top == -math.inf else min(1.0, math.exp(top) * sum(math.exp(v - top) for v in logs))


def clopper_pearson(k: int, m: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval of a binomial proportion k / m, by bisection on the binomial tails."""
    if m == 0:
        return 0.0, 1.0
    tail = (1.0 - level) / 2

    def solve(predicate) -> float:
        lo, hi = 0.0, 1.0
        for _ in range(60):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if predicate(mid) else (lo, mid)
        return (lo + hi) / 2

    low = 0.0 if k == 0 else solve(lambda p: binom_upper_tail(k, m, p) < tail)
    high = 1.0 if k == m else solve(lambda p: 1.0 - binom_upper_tail(k + 1, m, p) >= tail)
    return low, high


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value: of the b + c items the two checkpoints disagree on, b went one way."""
    m = b + c
    if m == 0:
        return 1.0
    return min(1.0, 2 * binom_upper_tail(max(b, c), m, 0.5))


@dataclass(frozen=True)
class PairedGain:
    """new minus old on the same items: b items only the new one gets right, c only the old one."""

    gain: float
    low: float
    high: float
    b: int
    c: int
    n: int
    p_value: float

    def describe(self) -> str:
        return (
            f"paired on the same {self.n} items: {self.b} now right that were wrong, {self.c} now wrong that were "
            f"right (exact McNemar p={self.p_value:.3g})"
        )


def paired_gain(new: Sequence[bool], old: Sequence[bool], level: float = 0.95) -> PairedGain:
    """The gain's exact conditional interval: given the m = b + c discordant items, b ~ Binomial(m, pi), and
    gain = (m / n)(2 pi - 1); pi's Clopper-Pearson interval maps onto the gain's. Its lower end is above 0
    exactly when the one-sided exact McNemar test rejects "no gain" at (1 - level) / 2.
    """
    if len(new) != len(old):
        raise ValueError(f"paired scores need the same items: {len(new)} against {len(old)}")
    n = len(new)
    if n == 0:
        raise ValueError("paired scores need at least one item")
    b = sum(1 for x, y in zip(new, old, strict=True) if x and not y)
    c = sum(1 for x, y in zip(new, old, strict=True) if y and not x)
    m = b + c
    gain = (b - c) / n
    if m == 0:
        return PairedGain(0.0, 0.0, 0.0, 0, 0, n, 1.0)
    lo, hi = clopper_pearson(b, m, level)
    return PairedGain(gain, m / n * (2 * lo - 1), m / n * (2 * hi - 1), b, c, n, mcnemar_exact(b, c))


def keep_threshold(m: int, level: float = 0.95) -> int:
    """The smallest b (of m discordant items) whose paired interval lies above 0: m + 1 when none does."""
    tail, upper = (1.0 - level) / 2, 0.0
    for b in range(m, -1, -1):  # the upper tail P(X >= b | pi = 1/2), grown one term at a time
        upper += math.exp(_log_binom_pmf(b, m, 0.5))
        if upper >= tail:
            return b + 1
    return 0
