"""Aim any source at a weak slice: keep every row of the slice, subsample the others to make it TARGET_SHARE.

The generator aims its own rows (agents/curator/synthetic.py); this does the same for every other source
once its rows are gated: local files, Hub datasets, rejection-sampled rows. A row's slice is what the
task's held-out split calls it (MATH `level-N` or the subject, GPQA's domain, GSM8K `steps-N`, a custom
`slice` column), so the critic's weak slice names training rows directly. Nothing is re-weighted when a
source already has the share, and a source with no row in the slice is left as it is and said so.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from agents.curator.synthetic import SYNTHETIC, TARGET_SHARE


@dataclass
class Targeted:
    rows: list[dict]
    before: float  # the slice's share of the source's rows before
    after: float
    note: str  # one line for the card


def share(rows: list[dict], slice_name: str) -> float:
    return sum(r.get("slice") == slice_name for r in rows) / len(rows) if rows else 0.0


def aim(rows: list[dict], slice_name: str, seed: int, target_share: float = TARGET_SHARE) -> Targeted:
    """Rows with `slice_name` at `target_share` of the whole (all of them kept), others drawn with `seed`."""
    inside = [r for r in rows if r.get("slice") == slice_name]
    before = share(rows, slice_name)
    if not inside:
        return Targeted(rows, before, before, f"no row is in slice `{slice_name}`: left as it is")
    if before >= target_share:
        return Targeted(rows, before, before, f"already {before:.0%} in slice `{slice_name}`: left as it is")
    outside = [i for i, r in enumerate(rows) if r.get("slice") != slice_name]
    wanted = round(len(inside) * (1 - target_share) / target_share)
    keep = set(random.Random(seed).sample(outside, min(wanted, len(outside))))
    picked = [r for i, r in enumerate(rows) if r.get("slice") == slice_name or i in keep]
    after = share(picked, slice_name)
    note = (
        f"slice `{slice_name}` {before:.0%} -> {after:.0%} of rows: all {len(inside)} kept, "
        f"{len(keep)} of {len(outside)} others drawn"
    )
    return Targeted(picked, before, after, note)


def aim_sources(results: dict, slice_name: str, seed: int) -> tuple[dict[str, str], bool, float]:
    """Aim every gated source but the generator's (it aims its own rows) at `slice_name`, in place.

    Returns each source's note, whether any row is aimed, and the slice's share of all rows before.
    """
    live = {n: r for n, r in results.items() if r.verdict != "rejected"}
    before = share([row for r in live.values() for row in r.kept], slice_name)
    notes, aimed = {}, SYNTHETIC in results  # the generator wrote its rows aimed, whatever the gate kept
    if SYNTHETIC in results:
        notes[SYNTHETIC] = f"generated with --focus-slice {slice_name} --focus-share {TARGET_SHARE:g}"
    for name, result in live.items():
        if name == SYNTHETIC:
            continue
        targeted = aim(result.kept, slice_name, seed)
        result.kept = targeted.rows
        notes[name] = targeted.note
        aimed |= targeted.after > targeted.before
    return notes, aimed, before
