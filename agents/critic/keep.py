"""The keep test: is a run's gain over what it is compared with real, judged item by item?

Every checkpoint is graded greedily on the same held-out items, so two evaluations are compared as
pairs: of the items on which they disagree, how many the new one gets right (b) against how many it
gets wrong (c). The gain's 95% interval is the exact conditional (Clopper-Pearson on b of b + c)
interval, and a run is kept only when that interval lies above 0 (the one-sided exact McNemar test at
2.5%). Two evaluations without per-item results (written before they were recorded) fall back to the
interval of two independent proportions, which is wider, and the finding says so.

No sampled-score noise floor is applied to these greedy differences: the floor the critic measures is
the spread of temperature-1 samples of one checkpoint, which is not what two greedy evaluations of two
checkpoints differ by (agents/critic/noise_floor.py says what it measures).
"""

from __future__ import annotations

from dataclasses import dataclass

from agents.critic.stats import PairedGain, paired_gain
from agents.critic.thresholds import gain_interval
from bus.schemas import Diagnosis, Evaluation, Finding


@dataclass(frozen=True)
class Comparison:
    gain: float
    low: float
    high: float
    paired: PairedGain | None  # None: the unpaired fallback
    floor: float = 0.0  # a greedy noise floor the gain must also exceed (none is measured by default)

    @property
    def real(self) -> bool:
        return self.low > 0 and self.gain > self.floor

    def how(self) -> str:
        if self.paired is not None:
            return self.paired.describe()
        return "unpaired interval (an evaluation has no per-item results), wider than a paired one"


def compare(new: Evaluation, old: Evaluation, noise_floor: float = 0.0) -> Comparison:
    """new minus old with its 95% interval: paired when both graded the same items, else the old approximation.

    `noise_floor` (a greedy floor, if one was ever measured) widens nothing but must also be exceeded.
    """
    same_items = (
        new.correct
        and old.correct
        and len(new.correct) == len(old.correct)
        and (new.split_sha256 == old.split_sha256 or not new.split_sha256 or not old.split_sha256)
    )
    if same_items:
        pg = paired_gain([ch == "1" for ch in new.correct], [ch == "1" for ch in old.correct])
        return Comparison(round(pg.gain, 6), pg.low, pg.high, pg, noise_floor)
    low, high = gain_interval(new.score, old.score, new.n)
    return Comparison(new.score - old.score, low, high, None, noise_floor)


def reference_name(best_before: str | None) -> str:
    return "the base model" if best_before in (None, "base") else best_before


def keep_verdict(diagnosis: Diagnosis) -> str:
    """'kept' or 'discarded (...)', the way the diagnosis and the summary say it."""
    if diagnosis.kept is None:
        return "kept" if diagnosis.significant else "discarded"  # written before keep-or-discard existed
    if diagnosis.kept:
        return "kept"
    if diagnosis.gain_vs_best is None:
        return "discarded (run failed)"
    reference = reference_name(diagnosis.best_before)
    interval = diagnosis.gain_vs_best_interval
    if interval is not None and interval[1] < 0:
        return f"discarded (worse than {reference})"
    return f"discarded (within noise of {reference})"


def keep_finding(score: float, reference: float, best_before: str, cmp: Comparison, floor: float = 0.0) -> Finding:
    name = reference_name(best_before)
    kept = cmp.real
    if kept:
        why = "kept: the new best"
    elif cmp.high < 0:
        why = f"discarded (worse than {name})"
    else:
        why = f"discarded (within noise of {name})" + (
            f": above its 95% interval but not above the noise floor {floor:.3f}" if cmp.low > 0 else ""
        )
    return Finding(
        name="gain over best so far",
        severity="info" if kept else "warning",
        evidence=f"{name} {reference:.3f} -> {score:.3f} ({cmp.gain:+.3f}, 95% interval "
        f"{cmp.low:+.3f}..{cmp.high:+.3f}; {cmp.how()}): {why}",
        metric="exact_match",
        values={"best": reference, "score": score, "low": cmp.low, "high": cmp.high, "noise_floor": floor}
        | ({"b": cmp.paired.b, "c": cmp.paired.c, "p_value": cmp.paired.p_value} if cmp.paired else {}),
    )
