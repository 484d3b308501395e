"""The money budget (`budget.usd` in intern.yaml): what the goal has spent, kept in `.intern/spend.json`.

Before a run starts its launcher's estimate (agents/trainer/launchers/cost.py) is reserved here;
a run the budget left cannot pay for is refused and not started, and the refusal is recorded so
the supervisor stops with the reason. When a run ends its reservation is settled to what it cost
(billed minutes, never above the estimate); a run killed mid-way keeps its full reservation, since
a job left running may bill to its timeout. The LLM brain's calls are added as they are made.
The file survives restarts; raising `budget.usd` lets the loop go on.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from agents.common.prices import Estimate

SPEND_FILE = "spend.json"


@dataclass
class RunSpend:
    run_id: str
    basis: str
    estimate_usd: float
    usd: float  # the reservation until settled, then what it cost
    usd_per_hour: float = 0.0
    settled: bool = False
    seconds: float | None = None


@dataclass
class Refusal:
    run_id: str
    estimate_usd: float
    basis: str
    spent_usd: float
    limit_usd: float


@dataclass
class Ledger:
    runs: list[RunSpend] = field(default_factory=list)
    brain_usd: float = 0.0
    brain_calls: int = 0
    brain_unpriced_calls: int = 0  # charged at the dearest listed rate: the brain's price is unknown
    refused: Refusal | None = None

    @property
    def training_usd(self) -> float:
        return sum(r.usd for r in self.runs)

    @property
    def total_usd(self) -> float:
        return self.training_usd + self.brain_usd


def ledger_path(state_dir: Path) -> Path:
    return state_dir / SPEND_FILE


def read_ledger(state_dir: Path) -> Ledger:
    path = ledger_path(state_dir)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return Ledger()
    except ValueError as exc:
        # A torn or mangled file must not hand the goal a fresh budget.
        raise ValueError(f"{path} is unreadable ({exc}); fix or delete it to reset the money count") from exc
    refused = data.get("refused")
    return Ledger(
        runs=[RunSpend(**r) for r in data.get("runs", [])],
        brain_usd=float(data.get("brain_usd", 0.0)),
        brain_calls=int(data.get("brain_calls", 0)),
        brain_unpriced_calls=int(data.get("brain_unpriced_calls", 0)),
        refused=Refusal(**refused) if refused else None,
    )


def write_ledger(state_dir: Path, ledger: Ledger) -> None:
    path = ledger_path(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(asdict(ledger), indent=2) + "\n")
    os.replace(tmp, path)  # a kill mid-write leaves the old ledger, never half a file


def reserve(state_dir: Path, run_id: str, estimate: Estimate, limit_usd: float | None) -> str | None:
    """Reserve a run's estimate; the reason it cannot be paid for (and nothing reserved), or None."""
    ledger = read_ledger(state_dir)
    spent = ledger.total_usd
    if limit_usd is not None and spent + estimate.usd > limit_usd + 1e-9:
        ledger.refused = Refusal(run_id, estimate.usd, estimate.basis, round(spent, 6), limit_usd)
        write_ledger(state_dir, ledger)
        return refusal_text(ledger.refused)
    ledger.refused = None
    ledger.runs.append(RunSpend(run_id, estimate.basis, estimate.usd, estimate.usd, estimate.usd_per_hour))
    write_ledger(state_dir, ledger)
    return None


def settle(state_dir: Path, run_id: str, seconds: float) -> float:
    """Replace the run's reservation by its billed minutes at its hourly price (at most the estimate)."""
    ledger = read_ledger(state_dir)
    entry = next((r for r in reversed(ledger.runs) if r.run_id == run_id and not r.settled), None)
    if entry is None:
        return 0.0
    billed = entry.usd_per_hour * math.ceil(max(seconds, 0.0) / 60) / 60
    entry.usd = round(min(entry.estimate_usd, billed), 6)
    entry.settled, entry.seconds = True, round(seconds, 1)
    write_ledger(state_dir, ledger)
    return entry.usd


def charge_brain(state_dir: Path, usd: float, priced: bool) -> None:
    ledger = read_ledger(state_dir)
    ledger.brain_usd = round(ledger.brain_usd + usd, 8)
    ledger.brain_calls += 1
    ledger.brain_unpriced_calls += int(not priced)
    write_ledger(state_dir, ledger)


def exhausted(state_dir: Path, limit_usd: float | None) -> bool:
    """True when the money budget is spent (or its ledger unreadable); never without a budget."""
    if limit_usd is None:
        return False
    try:
        return read_ledger(state_dir).total_usd >= limit_usd
    except ValueError:
        return True


def refusal_text(refused: Refusal) -> str:
    left = max(0.0, refused.limit_usd - refused.spent_usd)
    return (
        f"cannot pay for {refused.run_id}: it may cost ${refused.estimate_usd:.2f} "
        f"({refused.basis}) and ${left:.2f} of budget.usd ${refused.limit_usd:.2f} is left "
        f"(${refused.spent_usd:.2f} spent); raise budget.usd or pick a cheaper flavor or a shorter timeout"
    )


def stop_reason(state_dir: Path, limit_usd: float | None) -> str | None:
    """Why the loop must stop for money, or None. A refusal made under another budget.usd no longer counts."""
    if limit_usd is None:
        return None
    try:
        ledger = read_ledger(state_dir)
    except ValueError as exc:
        return f"money budget unknown: {exc}"
    if ledger.refused is not None and abs(ledger.refused.limit_usd - limit_usd) < 1e-9:
        return f"money budget spent: {refusal_text(ledger.refused)}"
    if ledger.total_usd >= limit_usd:
        return f"money budget spent: ${ledger.total_usd:.2f} of budget.usd ${limit_usd:.2f} used"
    return None


def status_line(state_dir: Path, limit_usd: float | None) -> str:
    """One line for `intern status`."""
    try:
        ledger = read_ledger(state_dir)
    except ValueError as exc:
        return f"money: unknown ({exc})"
    cap = f" of budget.usd ${limit_usd:.2f}" if limit_usd is not None else " (no cap: set budget.usd)"
    unpriced = (
        f"; {ledger.brain_unpriced_calls} LLM calls at the dearest listed rate (set budget.token_prices)"
        if ledger.brain_unpriced_calls
        else ""
    )
    refused = f"; refused {ledger.refused.run_id} (${ledger.refused.estimate_usd:.2f})" if ledger.refused else ""
    return (
        f"money: ${ledger.total_usd:.2f} spent{cap} (training ${ledger.training_usd:.2f} over "
        f"{len(ledger.runs)} runs, LLM brain ${ledger.brain_usd:.4f}){unpriced}{refused}"
    )
