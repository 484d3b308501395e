"""What a run may cost before it starts: each launcher's estimate, priced from agents/common/prices.py.

- local, accelerate: this machine's time is not billed here, so zero.
- hf-jobs: the flavor's hourly price times `compute.timeout`, the longest the job may run: the
  Jobs service stops it then. The loop also cancels it when its own minutes run out, but only
  while `intern go` is alive to do so (a killed loop leaves the job billing to its timeout), so
  the estimate does not count on that. It is an upper bound: billing is by the minute while the
  job is Starting or Running, and the ledger settles to the minutes the launch took.
"""

from __future__ import annotations

import re

from agents.common.prices import Estimate, job_estimate
from agents.trainer.launchers.common import LaunchSpec

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration_seconds(text: str) -> float:
    """`90m`, `2h`, `1.5d` or `3600` (seconds), as `compute.timeout` and the Jobs API read it."""
    found = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd]?)", text.strip())
    if not found:
        raise ValueError(f"{text!r} is not a duration such as 90m, 2h or 3600")
    return float(found.group(1)) * _UNITS[found.group(2) or "s"]


def estimate_cost(spec: LaunchSpec) -> Estimate:
    """The most `spec` may cost. Raises PriceError for a flavor with no known price."""
    compute = spec.compute
    if compute.launcher != "hf-jobs":
        return Estimate(0.0, f"{compute.launcher}: this machine, no charge")
    return job_estimate(compute.flavor, duration_seconds(compute.timeout), spec.budget.prices)
