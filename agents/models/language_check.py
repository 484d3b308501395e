"""Does a model model language? A few seconds of evidence before anything is spent on it.

A broken model (an unfaithful conversion, a tokenizer that drops the BOS the model was trained with, the wrong
tokenizer) still loads, generates and trains: it only writes " is is is is". Two signals catch it:
- bits per byte on a short reference text shipped with the project (agents/models/data/reference_text.txt,
  plain English prose written for it): the model's negative log-likelihood of the text, tokenized the way the
  model will see text (its tokenizer's own special tokens, a BOS where it adds one), in bits per UTF-8 byte.
  Per byte rather than per token, so the bound holds for any vocabulary; perplexity per token is reported too;
- greedy continuations of a few plain prompts: one that collapses onto one or two distinct tokens
  ("\\nA\\nA\\nA", " is is is") is degenerate; most of them degenerate is a refusal.

Calibration (this CPU, this reference text, measured for issue 21): SmolLM2-135M-Instruct (converted from
its GGUF) 0.91 bits/byte, perplexity 15.7; damaged copies of it: two adjacent middle layers swapped (10, 11)
1.00 (its continuations stay fluent: a residual stack barely notices), layers 3 and 20 swapped 2.11, every norm
scaled by 2 7.38, every norm shifted by +1 (a gemma-style norm convention applied twice) 7.67. Small real
language models (GPT-2 small, SmolLM2, Qwen 0.5B) score roughly 0.7-1.1 on plain prose; `MAX_BITS_PER_BYTE`
= 1.35 leaves half again SmolLM2's figure as margin and sits well under every damaged copy that stops writing
sense. A random model scores log2(vocabulary) bits per token, 3-4+ bits/byte.

The embedded tiny model is not checked: it is a from-scratch addition model whose 19-character vocabulary cannot
spell English, so a language figure would say nothing about whether it works (its own task does).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

from agents.models.tokens import adds_bos

MAX_BITS_PER_BYTE = 1.35
PROMPTS = ("The capital of France is", "Once upon a time, there was a", "To make a cup of tea, you first")
NEW_TOKENS = 12
DEGENERATE_DISTINCT = 2  # a continuation of NEW_TOKENS tokens with this few distinct ones has collapsed
BOS_GAIN = 1.25  # a BOS that lowers bits/byte by a quarter is one the model was trained with
REPORT_FILE = "language_check.json"


def reference_text() -> str:
    return resources.files("agents.models").joinpath("data/reference_text.txt").read_text(encoding="utf-8")


@dataclass
class LanguageCheck:
    bits_per_byte: float
    perplexity: float
    tokens: int
    continuations: dict[str, str]
    degenerate: list[str] = field(default_factory=list)
    seconds: float = 0.0
    bound: float = MAX_BITS_PER_BYTE
    refusal: str | None = None

    @property
    def passed(self) -> bool:
        return self.refusal is None

    def figure(self) -> str:
        return f"{self.bits_per_byte:.2f} bits/byte (perplexity {self.perplexity:,.1f}) on the reference text"

    def as_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed}


def _bits_per_byte(model, tokenizer, text: str, prefix: list[int] | None = None) -> tuple[float, float, int]:
    import torch

    enc = tokenizer(text, return_tensors="pt")  # the tokenizer's own special tokens: a BOS where it adds one
    ids = enc["input_ids"]
    if prefix:
        ids = torch.cat([torch.tensor([prefix]), ids], dim=1)
    ids = ids[:, : getattr(model.config, "max_position_embeddings", 4096)].to(model.device)
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0, :-1].float()
    nll = torch.nn.functional.cross_entropy(logits, ids[0, 1:], reduction="sum").item()
    predicted = ids.shape[1] - 1
    # The bytes of the text the predicted tokens spell (the first token is given, not predicted).
    first = tokenizer.decode(ids[0, :1], skip_special_tokens=True)
    n_bytes = max(1, len(text.encode("utf-8")) - len(first.encode("utf-8")))
    return nll / math.log(2) / n_bytes, math.exp(nll / predicted), predicted


def _continuations(model, tokenizer) -> tuple[dict[str, str], list[str]]:
    """Greedy continuations of PROMPTS in one left-padded batch (NEW_TOKENS decoding steps in all)."""
    import torch

    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        enc = tokenizer(list(PROMPTS), return_tensors="pt", padding=True).to(model.device)
    finally:
        tokenizer.padding_side = side
    with torch.no_grad():
        out = model.generate(
            **enc, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, do_sample=False, pad_token_id=pad
        )
    texts, degenerate = {}, []
    for prompt, row in zip(PROMPTS, out[:, enc["input_ids"].shape[1] :].tolist()):
        texts[prompt] = tokenizer.decode(row, skip_special_tokens=True)
        if len(set(row)) <= DEGENERATE_DISTINCT:
            degenerate.append(prompt)
    return texts, degenerate


@contextmanager
def _one_cpu_thread(model) -> Iterator[None]:
    """The check's operations are small; on a shared CPU, intra-op threads wait on each other. Measured with
    SmolLM2 on 2 busy cores (load 8): 35 s with 2 threads, 2.4 s with 1."""
    import torch

    if model.device.type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _missing_bos(model, tokenizer, bpb: float, file_asks_bos: bool) -> str | None:
    """A BOS the model needs but the tokenizer does not add: declared by the GGUF file, or measured."""
    if adds_bos(tokenizer) or tokenizer.bos_token is None:
        return None
    if file_asks_bos:
        return (
            f"the model file asks for {tokenizer.bos_token!r} before every text but the tokenizer adds none "
            f"({bpb:.2f} bits/byte without it): the conversion dropped the BOS"
        )
    with_bos, _, _ = _bits_per_byte(model, tokenizer, reference_text(), prefix=[tokenizer.bos_token_id])
    if with_bos < bpb / BOS_GAIN:
        return (
            f"the tokenizer adds no BOS, yet the model scores {with_bos:.2f} bits/byte with {tokenizer.bos_token!r} "
            f"before the text against {bpb:.2f} without it: set add_bos_token"
        )
    return None


def check_language(model, tokenizer, *, file_asks_bos: bool = False) -> LanguageCheck:
    """Measure the model on the reference text and the prompts; `refusal` is one line when it fails."""
    started = time.perf_counter()
    model.eval()
    with _one_cpu_thread(model):
        bpb, ppl, tokens = _bits_per_byte(model, tokenizer, reference_text())
        continuations, degenerate = _continuations(model, tokenizer)
        bos_problem = _missing_bos(model, tokenizer, bpb, file_asks_bos)
    check = LanguageCheck(bpb, ppl, tokens, continuations, degenerate, round(time.perf_counter() - started, 1))
    bos = tokenizer.bos_token if adds_bos(tokenizer) else None
    if bos_problem:
        check.refusal = bos_problem
    elif bpb > MAX_BITS_PER_BYTE:
        check.refusal = (
            f"the model does not model language: {check.figure()}, above the {MAX_BITS_PER_BYTE} real language "
            f"models stay under; likely an unfaithful conversion, a missing BOS (this tokenizer adds "
            f"{bos or 'none'}) or a tokenizer that is not the model's"
        )
    elif len(degenerate) * 2 > len(PROMPTS):
        sample = continuations[degenerate[0]][:40]
        check.refusal = (
            f"the model's continuations degenerate into a repeated token ({len(degenerate)} of {len(PROMPTS)} "
            f"prompts, e.g. {degenerate[0]!r} -> {sample!r}) although it scores {check.figure()}; likely a "
            "missing BOS or an unfaithful conversion"
        )
    return check


def file_asks_bos(model_dir: str) -> bool:
    """What the GGUF file a folder was converted from declared (conversion.json); False for other folders."""
    record = Path(model_dir) / "conversion.json"
    try:
        return bool(json.loads(record.read_text()).get("file_asks_bos"))
    except (OSError, ValueError):
        return False


def ensure_language_check(reference: str, model_dir: str, state_dir: Path) -> LanguageCheck:
    """The check of `model_dir` for the goal's `reference`, measured once and kept in `state_dir`."""
    from agents.models.loading import load_model

    report = state_dir / REPORT_FILE
    try:
        kept = json.loads(report.read_text())
        if kept.get("model") == reference and kept.get("checkpoint") == model_dir:
            fields = {k: v for k, v in kept.items() if k in LanguageCheck.__dataclass_fields__}
            return LanguageCheck(**fields)
    except (OSError, ValueError, TypeError):
        pass
    model, tokenizer = load_model(model_dir, inference=True)
    check = check_language(model, tokenizer, file_asks_bos=file_asks_bos(model_dir))
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps({"model": reference, "checkpoint": model_dir, **check.as_dict()}, indent=2) + "\n")
    return check


def read_language_check(state_dir: Path, reference: str) -> dict | None:
    """The kept check for the goal's model (for the base evaluation and the model card), or None."""
    try:
        kept = json.loads((state_dir / REPORT_FILE).read_text())
    except (OSError, ValueError):
        return None
    return kept if kept.get("model") == reference else None
