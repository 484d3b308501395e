"""The paired keep test, proved by simulation: identical checkpoints are (almost) never kept, and the power
to detect a true +3 point gain at n = 500 is measured and reported."""

from __future__ import annotations

import numpy as np
import pytest

from agents.critic.keep import compare, keep_finding
from agents.critic.stats import keep_threshold, paired_gain
from agents.critic.thresholds import gain_interval
from tests.agents.search import simulate as sim

N = 500
TRIALS = 2000


def _paired_keeps(b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Vectorised keep decision: b above the exact one-sided threshold for its m = b + c (same as paired_gain)."""
    table = np.array([keep_threshold(m) for m in range(N + 1)])
    return b >= table[b + c]


def _draws(gain: float, agreement: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """TRIALS pairs of greedy evaluations on N items: the old checkpoint at 0.60, the new one at 0.60 + gain."""
    rng = np.random.default_rng(seed)
    difficulty = rng.normal(0, 1, N)
    p_old = sim._sigmoid(agreement * (sim.skill_for(0.60, difficulty, agreement) - difficulty))
    p_new = sim._sigmoid(agreement * (sim.skill_for(0.60 + gain, difficulty, agreement) - difficulty))
    old = rng.random((TRIALS, N)) < p_old
    new = rng.random((TRIALS, N)) < p_new
    return old, new, (new & ~old).sum(axis=1), (old & ~new).sum(axis=1)


def _unpaired_keeps(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    keeps = []
    for o, n in zip(old.mean(axis=1), new.mean(axis=1), strict=True):
        keeps.append(gain_interval(float(n), float(o), N)[0] > 0)
    return np.array(keeps)


# Related checkpoints (they disagree on about a sixth of the items), and the worst case: every item a coin
# flip (p = 0.5), so two checkpoints agree only by chance.
@pytest.mark.parametrize("agreement", [sim.AGREEMENT, 0.0])
def test_identical_checkpoints_are_kept_in_at_most_five_percent_of_trials(agreement):
    _, _, b, c = _draws(0.0, agreement, seed=1)
    rate = _paired_keeps(b, c).mean()
    print(f"false-keep rate (agreement {agreement}): {rate:.4f} over {TRIALS} trials of n={N}")
    assert rate <= 0.05
    assert rate <= 0.035  # one-sided at 2.5%: well inside the bound, not at its edge


def test_the_power_for_a_true_three_point_gain_at_n_500_is_reported_and_beats_the_unpaired_test():
    old, new, b, c = _draws(0.03, sim.AGREEMENT, seed=2)
    paired = _paired_keeps(b, c).mean()
    unpaired = _unpaired_keeps(old, new).mean()
    discordant = float((b + c).mean()) / N
    print(
        f"power for +0.03 at n={N}: paired {paired:.3f}, unpaired {unpaired:.3f} "
        f"(checkpoints disagree on {discordant:.1%} of items)"
    )
    assert paired > unpaired + 0.1  # pairing is the point: the same items, far less noise
    assert 0.2 < paired < 0.9  # a +3 point gain at n=500 is detectable but not certain: the note says how often


def test_the_vectorised_rule_is_the_paired_interval():
    rng = np.random.default_rng(3)
    for _ in range(30):
        old, new = rng.random(N) < 0.6, rng.random(N) < 0.63
        pg = paired_gain(list(new), list(old))
        assert (pg.low > 0) == bool(_paired_keeps(np.array([pg.b]), np.array([pg.c]))[0])


def test_compare_pairs_item_by_item_and_falls_back_to_the_unpaired_interval(make_evaluation):
    rng = np.random.default_rng(4)
    old = rng.random(N) < 0.6
    new = old.copy()
    flip = rng.choice(np.flatnonzero(~old), 25, replace=False)  # 25 items newly right, none lost: +0.05
    new[flip] = True
    cmp = compare(sim.evaluation("new", new), sim.evaluation("old", old))
    assert cmp.paired is not None and cmp.paired.b == 25 and cmp.paired.c == 0
    assert cmp.real and cmp.gain == pytest.approx(0.05)
    unpaired = compare(make_evaluation(float(new.mean())), make_evaluation(float(old.mean())))
    assert unpaired.paired is None and not unpaired.real  # the same +0.05, judged as two independent samples
    finding = keep_finding(float(new.mean()), float(old.mean()), "run-001", cmp)
    assert "25 now right that were wrong, 0 now wrong" in finding.evidence and "kept" in finding.evidence
    assert "unpaired" in keep_finding(0.65, 0.6, "run-001", unpaired).evidence
