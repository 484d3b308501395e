"""Batched generation for evaluation: greedy or sampled, seeded per completion, with token counts.

Sampling does not use `generate(do_sample=True)`: its `torch.multinomial` draws from the global
RNG, so a completion would depend on which other prompts shared its batch. Instead every
(problem, sample) pair owns a `torch.Generator` seeded from (seed, problem index, sample index)
that draws its max_new_tokens uniforms up front, and the next token is drawn by inverse-CDF
sampling on the model's device (an exact draw from softmax(logits / T); no vocabulary-sized
random draw anywhere). The same seed therefore gives the same samples whatever
the batch size or order, and different seeds give independent ones. Sampling is plain
temperature sampling: no top-k or top-p, so pass@k measures the model's own distribution.

Two backends produce the same `Generation`: transformers (above; any device) and vLLM (a GPU with
`pip install -e '.[vllm]'`). `choose_backend` picks vLLM only where it can run; `load_for_generation`
loads the model for the chosen one, and `generate` dispatches on what it was given. vLLM seeds each
prompt's request from (seed, problem), so its samples are reproducible and batch-independent too,
but they are vLLM's own draws, not the same strings as the transformers path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from agents.models.loading import load_model
from agents.models.tokens import adds_bos, closes_turns_with_eos, end_of_turn_token

if TYPE_CHECKING:
    import torch

DEFAULT_BATCH_ROWS = 256  # rows (prompt x sample) per forward pass; the tiny model is fastest around here
# Counter-style seeding: distinct (seed, problem, sample) triples never share a generator seed
# for fewer than a million problems and samples per problem.
_SEED_STRIDE = 1_000_003

Backend = Literal["transformers", "vllm"]
BACKENDS: tuple[Backend, ...] = ("transformers", "vllm")
BACKEND_ENV = "INTERN_EVAL_BACKEND"


class BackendError(RuntimeError):
    """The evaluation backend asked for cannot run here; the message is one line naming why."""


@dataclass
class Generation:
    """completions[i][j] is sample j of prompt i (one per prompt when greedy)."""

    completions: list[list[str]]
    tokens: int  # generated tokens, up to and including the first end-of-sequence token; padding excluded
    seconds: float


def row_seed(seed: int, problem: int, sample: int) -> int:
    return ((seed * _SEED_STRIDE + problem) * _SEED_STRIDE + sample) % (2**63 - 1)


def _seeded_processor(seeds: list[int], temperature: float, max_new_tokens: int):
    import torch
    from transformers import LogitsProcessor

    class SeededSampler(LogitsProcessor):
        """Turns greedy decoding into seeded sampling: the drawn token is the only one left standing.

        Inverse-CDF sampling: row r at step t draws token i with cdf[i-1] <= u[r, t] < cdf[i], an exact draw
        from softmax(logits / T). Each row needs one uniform per step, all drawn up front from its own
        generator (max_new_tokens numbers per row, not a vocabulary-sized draw per step), so the draws never
        depend on the batch and the work per step on the model's device is one softmax, one cumulative sum
        and one search per row: about what `generate(do_sample=True)`'s multinomial costs.
        """

        def __init__(self) -> None:
            self.uniforms = torch.stack(
                [
                    torch.rand(max_new_tokens, generator=torch.Generator().manual_seed(s), dtype=torch.float64)
                    for s in seeds
                ]
            )
            self.step = 0

        def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
            if self.uniforms.device != scores.device:
                self.uniforms = self.uniforms.to(scores.device)
            u = self.uniforms[:, min(self.step, max_new_tokens - 1)]
            self.step += 1
            cdf = torch.softmax(scores.float() / temperature, dim=-1).cumsum(dim=-1)
            # Scaled by the row's total so float rounding in the sum can never push u past the last token.
            wanted = (u.to(cdf.dtype) * cdf[:, -1]).unsqueeze(1)
            drawn = torch.searchsorted(cdf, wanted, right=True).squeeze(1).clamp_(max=scores.shape[-1] - 1)
            out = torch.full_like(scores, float("-inf"))
            out[torch.arange(scores.shape[0], device=scores.device), drawn] = 0.0
            return out

    return SeededSampler()


def _eos_ids(model, tokenizer) -> list[int]:
    """Every id that ends a completion: the generation config's eos, the tokenizer's, and the chat template's
    end-of-turn token (a model whose metadata names another eos would otherwise run to the token limit)."""
    ids: list[int] = []
    config = getattr(model, "generation_config", None)
    eos = config.eos_token_id if config is not None else None
    for value in (eos, tokenizer.eos_token_id):
        if value is not None:
            ids += list(value) if isinstance(value, (list, tuple)) else [int(value)]
    turn_end = end_of_turn_token(tokenizer)
    if turn_end is not None:
        ids.append(tokenizer.convert_tokens_to_ids(turn_end))
    return list(dict.fromkeys(i for i in ids if i is not None and i >= 0))


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


def chat_template_kwargs(tokenizer, thinking: bool = False) -> dict:
    """Extra arguments for `apply_chat_template`: `enable_thinking` where the template reads it (Qwen3 and kin).

    Thinking is off unless asked for: a thinking model's trace runs to thousands of tokens, and cut at the
    task's answer budget its "answer" would be the last number of an unfinished thought.
    """
    template = getattr(tokenizer, "chat_template", None) or ""
    return {"enable_thinking": thinking} if "enable_thinking" in template else {}


def cut_at_stop(text: str, stop: tuple[str, ...]) -> str:
    """The completion up to the first stop string; one at the very start is skipped (as `agents.tasks.text.until`),
    so a completion that opens with a blank line is not cut to nothing."""
    cut = len(text)
    for marker in stop:
        at = text.find(marker, 1)
        if at != -1:
            cut = min(cut, at)
    return text[:cut]


def _stop_criteria(tokenizer, stop: tuple[str, ...], prompt_length: int):
    """Stops a row once its completion text holds a stop string (past its first character).

    Not transformers' `stop_strings`: its token-table builder fails on tokenizers without a byte-level or
    SentencePiece prefix (the embedded tiny model's). Decoding each row's new tokens per step is cheap next to
    a forward pass.
    """
    if not stop:
        return None
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    class StopAtText(StoppingCriteria):
        def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs) -> torch.Tensor:
            texts = tokenizer.batch_decode(input_ids[:, prompt_length:], skip_special_tokens=True)
            done = [any(t.find(marker, 1) != -1 for marker in stop) for t in texts]
            return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

    return StoppingCriteriaList([StopAtText()])


def as_model_prompts(tokenizer, prompts: list[str], *, thinking: bool = False) -> list[str]:
    """The prompts as the trainer showed them to the model: through the chat template for a chat model.

    The trainer (agents/trainer/train_entry.py) trains a model whose template closes turns with eos on
    chat messages, which TRL renders with the generation prompt; scoring it on raw text would grade a
    format it never saw. Other models (the embedded tiny one, base models) get the text unchanged.
    """
    if not closes_turns_with_eos(tokenizer):
        # Plain text, as TRL tokenizes it for training: with the BOS the tokenizer adds (gemma's), which the
        # generation paths below, tokenizing without special tokens, would otherwise leave out.
        bos = tokenizer.bos_token if adds_bos(tokenizer) else ""
        return [p if not bos or p.startswith(bos) else bos + p for p in prompts]
    extra = chat_template_kwargs(tokenizer, thinking)
    return [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True, **extra
        )
        for p in prompts
    ]


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
    thinking: bool = False,
    stop: tuple[str, ...] = (),
) -> Generation:
    """Completions for `prompts` (text after the prompt only), batched with left padding.

    temperature 0 is greedy (one completion per prompt, `samples` must be 1); above 0, `samples`
    seeded draws per prompt. `model` is a transformers model, or a `vllm.LLM` from `load_for_generation`.
    Generation stops at the eos tokens and the chat template's end-of-turn token; `thinking` turns on a
    thinking model's reasoning (its template's `enable_thinking`), off by default.
    """
    import time

    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if samples < 1:
        raise ValueError(f"samples must be >= 1, got {samples}")
    if temperature == 0 and samples != 1:
        raise ValueError("greedy decoding (temperature 0) gives one completion per prompt; use samples=1")
    plain = not closes_turns_with_eos(tokenizer)
    prompts = as_model_prompts(tokenizer, prompts, thinking=thinking)
    stop = tuple(stop) if plain else ()  # a chat model ends its turn with its own token
    if is_vllm_engine(model):
        return _generate_vllm(model, tokenizer, prompts, max_new_tokens, samples, temperature, seed, stop)

    import torch
    from transformers import LogitsProcessorList

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
                    _seeded_processor([row_seed(seed, i, j) for i, j in batch], temperature, max_new_tokens)
                )
            gen = model.generate(
                **enc,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                logits_processor=processors,
                pad_token_id=pad_id,
                eos_token_id=eos_ids or None,
                stopping_criteria=_stop_criteria(tokenizer, stop, enc["input_ids"].shape[1]),
            )
            new_tokens = gen[:, enc["input_ids"].shape[1] :]
            # A row stopped by a stop string is padded from there on: the padding is not generated text.
            tokens += sum(count_generated(new_tokens, eos_ids + [pad_id] if stop else eos_ids))
            texts.extend(cut_at_stop(t, stop) for t in tokenizer.batch_decode(new_tokens, skip_special_tokens=True))
    completions = [texts[i * samples : (i + 1) * samples] for i in range(len(prompts))]
    return Generation(completions=completions, tokens=tokens, seconds=time.perf_counter() - started)


def greedy_complete(model, tokenizer, prompts: list[str], max_new_tokens: int, batch_size: int = 256) -> list[str]:
    """Greedy completions for `prompts`, batched with left padding; text after the prompt only."""
    import torch

    tokenizer.padding_side = "left"
    model.eval()
    outputs: list[str] = []
    with torch.no_grad():
        for start in range(0, len(prompts), batch_size):
            batch = prompts[start : start + batch_size]
            enc = tokenizer(batch, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
            gen = model.generate(
                **enc,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
            )
            new_tokens = gen[:, enc["input_ids"].shape[1] :]
            outputs.extend(tokenizer.batch_decode(new_tokens, skip_special_tokens=True))
    return outputs


# --- backends ---------------------------------------------------------------------------------


def vllm_unavailable() -> str | None:
    """Why vLLM cannot run here, or None when it can. Imports vllm only once CUDA is known to be there."""
    import torch

    if not torch.cuda.is_available():
        return "no CUDA device (vLLM needs a GPU)"
    try:
        import vllm  # noqa: F401
    except Exception as exc:  # not installed, or installed against another torch/CUDA
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return f"import vllm failed ({first}); install it with pip install -e '.[vllm]'"
    return None


def choose_backend(prefer: str | None = None) -> Backend:
    """`prefer`, else $INTERN_EVAL_BACKEND, else vLLM where it can run and transformers otherwise.

    An explicit request for vLLM where it cannot run is an error, not a silent fallback: the person
    asked for its speed and would otherwise wait on the slow path without knowing why.
    """
    source = "backend" if prefer else BACKEND_ENV
    asked = prefer or os.environ.get(BACKEND_ENV, "").strip() or None
    if asked is not None and asked not in BACKENDS:
        raise BackendError(f"{source} {asked!r} is not an evaluation backend; use transformers or vllm")
    if asked == "transformers":
        return "transformers"
    reason = vllm_unavailable()
    if asked == "vllm":
        if reason:
            raise BackendError(f"{source} vllm cannot run here: {reason}")
        return "vllm"
    return "transformers" if reason else "vllm"


def load_for_generation(reference: str, backend: Backend, seed: int = 0) -> tuple[object, object]:
    """(model, tokenizer) for `generate`: a transformers model on the best device, or a `vllm.LLM`."""
    if backend == "vllm":
        from vllm import LLM

        llm = LLM(model=reference, seed=seed, dtype="auto")
        return llm, llm.get_tokenizer()
    return load_model(reference, inference=True)


def is_vllm_engine(model: object) -> bool:
    # By module name, so telling the two apart never imports vllm.
    return type(model).__module__.split(".")[0] == "vllm"


class _NoGenerationConfig:
    """Stands in for a transformers model in `_eos_ids` when the engine is vLLM's."""

    generation_config = None


def _generate_vllm(
    llm,
    tokenizer,
    prompts: list[str],
    max_new_tokens: int,
    samples: int,
    temperature: float,
    seed: int,
    stop: tuple[str, ...] = (),
) -> Generation:
    """The vLLM twin of the transformers path: same prompt tokens, same sampling, same `Generation`."""
    import time

    from vllm import SamplingParams

    started = time.perf_counter()
    # Token ids, not text: vLLM would add the tokenizer's special tokens (a BOS) that the transformers path leaves out.
    inputs = [{"prompt_token_ids": tokenizer(p, add_special_tokens=False)["input_ids"]} for p in prompts]
    # One request per prompt seeded from (seed, problem): a prompt's samples do not depend on its batch.
    # top_p 1.0 keeps plain temperature sampling, as above; temperature 0 is vLLM's greedy decoding.
    # The chat template's end-of-turn token stops generation here too (vLLM reads eos from the model's config).
    stops = _eos_ids(_NoGenerationConfig(), tokenizer)
    params = [
        SamplingParams(
            n=samples,
            temperature=temperature,
            top_p=1.0,
            max_tokens=max_new_tokens,
            seed=row_seed(seed, i, 0),
            stop_token_ids=stops or None,
            stop=list(stop) or None,
        )
        for i in range(len(prompts))
    ]
    outputs = llm.generate(inputs, params, use_tqdm=False)
    completions = [[c.text for c in out.outputs] for out in outputs]
    # token_ids end with the end-of-sequence token when generation stopped on it: counted as above.
    tokens = sum(len(c.token_ids) for out in outputs for c in out.outputs)
    return Generation(completions=completions, tokens=tokens, seconds=time.perf_counter() - started)
