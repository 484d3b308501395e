"""What compute and LLM tokens cost, in US dollars, so a run can be priced before it starts.

Plain tables, overridable from intern.yaml (`budget.prices` per Hugging Face Jobs flavor in USD per
hour, `budget.token_prices` per brain in USD per million input and output tokens). Prices change;
each table says where it was read and when, and an override always wins.

- Hugging Face Jobs: the hourly prices of https://huggingface.co/docs/hub/jobs-pricing (the
  huggingface/hub-docs file docs/hub/jobs-pricing.md, read 2026-12-01). Jobs are billed by the
  minute while Starting or Running; the live list is `GET /api/jobs/hardware`
  (`huggingface_hub.list_jobs_hardware`).
- LLM tokens: OpenAI's list prices from https://platform.openai.com/docs/pricing (read 2026-12-01).
  Hugging Face Inference Providers bill the provider's own rate (https://huggingface.co/docs/
  inference-providers/pricing), which differs per provider and model, so `hf:` brains have no
  entry: set `budget.token_prices` for them. A brain with no known price is charged at the highest
  listed rate, so a money cap can only be reached early, never passed unnoticed. Local models
  (`local:`, `injected:`) cost nothing here.
"""

from __future__ import annotations

from dataclasses import dataclass

JOB_PRICES_SOURCE = "https://huggingface.co/docs/hub/jobs-pricing, read 2026-12-01"
TOKEN_PRICES_SOURCE = "https://platform.openai.com/docs/pricing, read 2026-12-01"

# Hugging Face Jobs flavor (huggingface_hub.JobHardware) -> USD per hour.
HF_JOB_USD_PER_HOUR: dict[str, float] = {
    "cpu-basic": 0.01,
    "cpu-upgrade": 0.03,
    "cpu-xl": 1.00,
    "cpu-performance": 1.90,
    "t4-small": 0.40,
    "t4-medium": 0.60,
    "l4x1": 0.80,
    "l4x4": 3.80,
    "l40sx1": 1.80,
    "l40sx4": 8.30,
    "l40sx8": 23.50,
    "a10g-small": 1.00,
    "a10g-large": 1.50,
    "a10g-largex2": 3.00,
    "a10g-largex4": 5.00,
    "a100-large": 2.50,
    "a100x4": 10.00,
    "a100x8": 20.00,
    "h200": 5.00,
    "h200x2": 10.00,
    "h200x4": 20.00,
    "h200x8": 40.00,
    "rtx-pro-6000": 2.75,
    "rtx-pro-6000x2": 5.50,
    "rtx-pro-6000x4": 11.00,
    "rtx-pro-6000x8": 22.00,
}

# Brain spec as in intern.yaml -> (USD per million input tokens, USD per million output tokens).
TOKEN_USD_PER_MILLION: dict[str, tuple[float, float]] = {
    "openai:gpt-4o-mini": (0.15, 0.60),
    "openai:gpt-4o": (2.50, 10.00),
    "openai:gpt-4.1-mini": (0.40, 1.60),
    "openai:gpt-4.1": (2.00, 8.00),
}
FREE_BRAINS = ("none", "local:", "injected:")


class PriceError(ValueError):
    """A run whose cost cannot be estimated (an unknown flavor): it is not started under a money budget."""


@dataclass
class Estimate:
    """What a run may cost at most, and how that was worked out (said in the refusal and in .intern/spend.json)."""

    usd: float
    basis: str
    usd_per_hour: float = 0.0


def job_usd_per_hour(flavor: str, overrides: dict[str, float] | None = None) -> float:
    if overrides and flavor in overrides:
        return float(overrides[flavor])
    if flavor not in HF_JOB_USD_PER_HOUR:
        raise PriceError(
            f"no price for Hugging Face Jobs flavor {flavor!r}; set budget.prices.{flavor} (USD per hour) in "
            f"intern.yaml (see {JOB_PRICES_SOURCE})"
        )
    return HF_JOB_USD_PER_HOUR[flavor]


def job_estimate(flavor: str, seconds: float, overrides: dict[str, float] | None = None) -> Estimate:
    """A job's price at most: the flavor's hourly price times the time it may run (the service stops it then)."""
    rate = job_usd_per_hour(flavor, overrides)
    source = "budget.prices" if overrides and flavor in overrides else JOB_PRICES_SOURCE
    basis = f"hf-jobs {flavor}: ${rate:.2f}/h x {_duration(seconds)} timeout; price from {source}"
    return Estimate(round(rate * seconds / 3600, 6), basis, rate)


def token_usd_per_million(
    spec: str, overrides: dict[str, tuple[float, float]] | None = None
) -> tuple[tuple[float, float], bool]:
    """(input, output) USD per million tokens for a brain, and whether that price is known (False: the dearest)."""
    if overrides and spec in overrides:
        low, high = overrides[spec]
        return (float(low), float(high)), True
    if spec == "none" or spec.startswith(FREE_BRAINS[1:]):
        return (0.0, 0.0), True
    if spec in TOKEN_USD_PER_MILLION:
        return TOKEN_USD_PER_MILLION[spec], True
    dearest = max(TOKEN_USD_PER_MILLION.values(), key=lambda p: p[1])
    return dearest, False


def token_cost(
    spec: str, input_tokens: int, output_tokens: int, overrides: dict[str, tuple[float, float]] | None = None
) -> tuple[float, bool]:
    """USD for one LLM call, and whether the brain's price is known."""
    (per_in, per_out), known = token_usd_per_million(spec, overrides)
    return (input_tokens * per_in + output_tokens * per_out) / 1e6, known


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.3g} h"
    return f"{seconds / 60:.3g} min"
