"""The LLM brain's token budget, kept in `.intern/brain-usage.json` so it survives a restart.

Usage comes from LangChain's `usage_metadata` on each reply; a model that reports none (a local
pipeline, a fake model) is charged an estimate from the text length (about 4 characters a token).
When the tokens of `brain_budget` are spent the brain is off for the rest of the goal: `ask` falls
back to the deterministic brain, and the supervisor says so once (a question in plan.md).
Raising `brain_budget.tokens` in intern.yaml turns it back on at the next decision.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from langchain_core.messages import AIMessage, BaseMessage

USAGE_FILE = "brain-usage.json"
CHARS_PER_TOKEN = 4


@dataclass
class Usage:
    tokens: int = 0
    calls: int = 0
    estimated_calls: int = 0  # calls whose model reported no usage; their tokens are estimates
    announced_spent: bool = False  # the supervisor has told the human the budget is spent


def usage_path(state_dir: Path) -> Path:
    return state_dir / USAGE_FILE


def read_usage(state_dir: Path) -> Usage:
    path = usage_path(state_dir)
    try:
        data = json.loads(path.read_text())
        return Usage(**{k: data[k] for k in Usage.__dataclass_fields__ if k in data})
    except FileNotFoundError:
        return Usage()
    except (ValueError, TypeError) as exc:
        # A torn or hand-mangled file must not hand the brain a fresh budget: count it as spent.
        raise ValueError(f"{path} is unreadable ({exc}); fix or delete it to reset the LLM token count") from exc


def write_usage(state_dir: Path, usage: Usage) -> None:
    path = usage_path(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(asdict(usage), indent=2) + "\n")
    os.replace(tmp, path)  # a kill mid-write leaves the old count, never half a file


def reply_tokens(prompt: list[BaseMessage], reply: BaseMessage) -> tuple[int, bool]:
    """Tokens one call cost, and whether that is an estimate."""
    meta = getattr(reply, "usage_metadata", None) if isinstance(reply, AIMessage) else None
    if meta and meta.get("total_tokens"):
        return int(meta["total_tokens"]), False
    if meta and (meta.get("input_tokens") or meta.get("output_tokens")):
        return int(meta.get("input_tokens", 0)) + int(meta.get("output_tokens", 0)), False
    chars = sum(len(str(m.content)) for m in prompt) + len(str(reply.content))
    return chars // CHARS_PER_TOKEN + 1, True


def reply_token_split(prompt: list[BaseMessage], reply: BaseMessage) -> tuple[int, int]:
    """(input, output) tokens of one call, from the provider's usage or estimated from the text."""
    meta = getattr(reply, "usage_metadata", None) if isinstance(reply, AIMessage) else None
    if meta and (meta.get("input_tokens") or meta.get("output_tokens")):
        return int(meta.get("input_tokens", 0)), int(meta.get("output_tokens", 0))
    if meta and meta.get("total_tokens"):  # no split reported: price it all as output, the dearer side
        return 0, int(meta["total_tokens"])
    prompt_chars = sum(len(str(m.content)) for m in prompt)
    return prompt_chars // CHARS_PER_TOKEN + 1, len(str(reply.content)) // CHARS_PER_TOKEN + 1


def charge_money(
    state_dir: Path,
    spec: str,
    prompt: list[BaseMessage],
    reply: BaseMessage,
    overrides: dict[str, tuple[float, float]] | None = None,
) -> float:
    """Add one call's price (agents/common/prices.py, or budget.token_prices) to the goal's money ledger."""
    from agents.common import spend
    from agents.common.prices import token_cost

    usd, priced = token_cost(spec, *reply_token_split(prompt, reply), overrides)
    spend.charge_brain(state_dir, usd, priced)
    return usd


def charge(state_dir: Path, tokens: int, estimated: bool) -> Usage:
    usage = read_usage(state_dir)
    usage.tokens += tokens
    usage.calls += 1
    usage.estimated_calls += int(estimated)
    write_usage(state_dir, usage)
    return usage


def spent(state_dir: Path, limit: int) -> bool:
    try:
        return read_usage(state_dir).tokens >= limit
    except ValueError:
        return True


def spent_notice(state_dir: Path, limit: int) -> str | None:
    """The one-time message that the budget is spent (then remembered), or None."""
    try:
        usage = read_usage(state_dir)
    except ValueError as exc:
        return f"The LLM brain is off: {exc}."
    if usage.tokens < limit:
        if usage.announced_spent:  # the human raised the budget: a later spend is news again
            usage.announced_spent = False
            write_usage(state_dir, usage)
        return None
    if usage.announced_spent:
        return None
    usage.announced_spent = True
    write_usage(state_dir, usage)
    return (
        f"The LLM brain spent its token budget ({usage.tokens} of {limit} tokens over {usage.calls} calls); "
        "the deterministic brain decides for the rest of this goal. Raise brain_budget.tokens in intern.yaml "
        "to turn it back on."
    )


def status_line(state_dir: Path, spec: str, limit: int) -> str:
    """One line for `intern status`: which brain, and what it has spent."""
    if spec == "none":
        return "brain: none (deterministic)"
    try:
        usage = read_usage(state_dir)
    except ValueError as exc:
        return f"brain: {spec}, off: {exc}"
    estimated = f", {usage.estimated_calls} estimated" if usage.estimated_calls else ""
    return f"brain: {spec}, {usage.tokens} of {limit} tokens spent over {usage.calls} calls{estimated}"
