"""Batched generation for evaluation: greedy or sampled, seeded per completion, with token counts.

Sampling does not use `generate(do_sample=True)`: its `torch.multinomial` draws from the global
RNG, so a completion would depend on which other prompts shared its batch. Instead every
(problem, sample) pair owns a `torch.Generator` seeded from (seed, problem index, sample index)
and the next token is drawn by the Gumbel-max trick (argmax of logits / T plus Gumbel noise is an
exact draw from softmax(logits / T)). The same seed therefore gives the same samples whatever
the batch size or order, and different seeds give independent ones. Sampling is plain
temperature sampling: no top-k or top-p, so pass@k measures the model's own distribution.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

DEFAULT_BATCH_ROWS = 256  # rows (prompt x sample) per forward pass; the tiny model is fastest around here
# Counter-style seeding: distinct (seed, problem, sample) triples never share a generator seed
# for fewer than a million problems and samples per problem.
_SEED_STRIDE = 1_000_003
_NOISE_PER_ROW = 1 << 16  # uniforms a row draws at once: all steps for a small vocabulary, one for a large one


@dataclass
class Generation:
    """completions[i][j] is sample j of prompt i (one per prompt when greedy)."""

    completions: list[list[str]]
    tokens: int  # generated tokens, up to and including the first end-of-sequence token; padding excluded
    seconds: float


def row_seed(seed: int, problem: int, sample: int) -> int:
    return ((seed * _SEED_STRIDE + problem) * _SEED_STRIDE + sample) % (2**63 - 1)


def _gumbel_processor(seeds: list[int], temperature: float, max_new_tokens: int):
    import torch
    from transformers import LogitsProcessor

    class GumbelSampler(LogitsProcessor):
        """Turns greedy decoding into seeded sampling: the drawn token is the only one left standing."""

        def __init__(self) -> None:
            self.generators = [torch.Generator().manual_seed(s) for s in seeds]
            self.step = 0
            self.block: torch.Tensor | None = None
            self.block_start = 0

        def _uniform(self, vocab: int) -> torch.Tensor:
            # Each row draws its noise for several steps at once from its own generator (one call per row per
            # block, not per step). The block length depends only on the vocabulary and max_new_tokens, never on
            # the batch, so a row's draws are the same whatever else shares its batch.
            if self.block is None or self.step - self.block_start >= self.block.shape[1]:
                steps = max(1, min(max_new_tokens - self.step, _NOISE_PER_ROW // vocab))
                self.block = torch.stack([torch.rand(steps, vocab, generator=g) for g in self.generators])
                self.block_start = self.step
            return self.block[:, self.step - self.block_start]

        def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
            uniform = self._uniform(scores.shape[-1]).to(scores.device)
            self.step += 1
            gumbel = -torch.log(-torch.log(uniform.clamp(1e-20, 1.0 - 1e-7)))
            drawn = (scores.float() / temperature + gumbel).argmax(dim=-1)
            out = torch.full_like(scores, float("-inf"))
            out[torch.arange(scores.shape[0], device=scores.device), drawn] = 0.0
            return out

    return GumbelSampler()


def _eos_ids(model, tokenizer) -> list[int]:
    eos = model.generation_config.eos_token_id
    if eos is None:
        eos = tokenizer.eos_token_id
    if eos is None:
        return []
    return list(eos) if isinstance(eos, (list, tuple)) else [int(eos)]


def count_generated(new_tokens: torch.Tensor, eos_ids: list[int]) -> list[int]:
    """Per row: tokens up to and including the first end-of-sequence token (what follows is padding)."""
    import torch

    if not eos_ids or new_tokens.shape[1] == 0:
        return [new_tokens.shape[1]] * new_tokens.shape[0]
    is_eos = torch.isin(new_tokens, torch.tensor(eos_ids, device=new_tokens.device))
    width = new_tokens.shape[1]
    first = torch.where(
        is_eos.any(dim=1), is_eos.int().argmax(dim=1) + 1, torch.full_like(is_eos[:, 0], width, dtype=torch.long)
    )
    return [int(x) for x in first]


def generate(
    model,
    tokenizer,
    prompts: list[str],
    max_new_tokens: int,
    *,
    samples: int = 1,
    temperature: float = 0.0,
    seed: int = 0,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> Generation:
    """Completions for `prompts` (text after the prompt only), batched with left padding.

    temperature 0 is greedy (one completion per prompt, `samples` must be 1); above 0, `samples`
    seeded draws per prompt.
    """
    import time

    import torch
    from transformers import LogitsProcessorList

    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if samples < 1:
        raise ValueError(f"samples must be >= 1, got {samples}")
    if temperature == 0 and samples != 1:
        raise ValueError("greedy decoding (temperature 0) gives one completion per prompt; use samples=1")
    started = time.perf_counter()
    tokenizer.padding_side = "left"
    model.eval()
    eos_ids = _eos_ids(model, tokenizer)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (eos_ids[0] if eos_ids else 0)
    # Rows in problem-major order: (problem 0, sample 0), (problem 0, sample 1), ...
    keys = [(i, j) for i in range(len(prompts)) for j in range(samples)]
    texts: list[str] = []
    tokens = 0
    with torch.no_grad():
        for start in range(0, len(keys), batch_rows):
            batch = keys[start : start + batch_rows]
            enc = tokenizer([prompts[i] for i, _ in batch], return_tensors="pt", padding=True, add_special_tokens=False)
            enc = {k: v.to(model.device) for k, v in enc.items()}
            processors = LogitsProcessorList()
            if temperature > 0:
                processors.append(
                    _gumbel_processor([row_seed(seed, i, j) for i, j in batch], temperature, max_new_tokens)
                )
            gen = model.generate(
                **enc,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                logits_processor=processors,
                pad_token_id=pad_id,
                eos_token_id=eos_ids or None,
            )
            new_tokens = gen[:, enc["input_ids"].shape[1] :]
            tokens += sum(count_generated(new_tokens, eos_ids))
            texts.extend(tokenizer.batch_decode(new_tokens, skip_special_tokens=True))
    completions = [texts[i * samples : (i + 1) * samples] for i in range(len(prompts))]
    return Generation(completions=completions, tokens=tokens, seconds=time.perf_counter() - started)
