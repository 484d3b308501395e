"""Loading a materialized model reference (agents/models/refs.py) with plain transformers, on the right device."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from agents.models.environment import quiet_progress_bars
from agents.models.errors import ModelLoadError

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


def placement(inference: bool = False) -> tuple[str, torch.dtype]:
    """Device and weight dtype to load a model with: CUDA when there is one, else the CPU (as before).

    For inference on CUDA the weights are bf16 where the card supports it (half the memory, faster
    matmuls), fp32 otherwise. Training keeps fp32 weights everywhere: TRL's `bf16=True` is mixed
    precision over fp32 master weights, and bf16 weights would round small updates away.
    """
    import torch

    if not torch.cuda.is_available():
        return "cpu", torch.float32
    if inference and torch.cuda.is_bf16_supported():
        return "cuda", torch.bfloat16
    return "cuda", torch.float32


def load_model(reference: str, *, inference: bool = False) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a materialized model reference with plain transformers, on the device `placement` picks."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    quiet_progress_bars()
    device, dtype = placement(inference)
    try:
        tokenizer = AutoTokenizer.from_pretrained(reference)
        # On a CPU nothing changes: fp32, left where from_pretrained puts it.
        kwargs = {} if device == "cpu" else {"dtype": dtype}
        model = AutoModelForCausalLM.from_pretrained(reference, **kwargs)
    except OSError as exc:
        raise ModelLoadError(f"cannot load model {reference!r}: {exc}") from exc
    if device != "cpu":
        model = model.to(device)
    if tokenizer.pad_token is None:
        # A spare special token when there is one: with pad == eos a collator may mask the eos the model
        # must learn to stop with.
        vocab = tokenizer.get_vocab()
        spare = next(
            (t for t in ("<|endoftext|>", "<pad>", "<|pad|>") if t in vocab and t != tokenizer.eos_token), None
        )
        tokenizer.pad_token = spare or tokenizer.eos_token
    return model, tokenizer


def parameter_count(model_dir: str) -> int | None:
    """Parameters of a local checkpoint, read from its safetensors headers (no weights loaded); None if unknown."""
    import json
    import math
    import struct

    files = sorted(Path(model_dir).glob("*.safetensors")) if Path(model_dir).is_dir() else []
    if not files:
        return None
    total = 0
    for file in files:
        with file.open("rb") as fh:
            (size,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(size))
        total += sum(math.prod(v["shape"]) for k, v in header.items() if k != "__metadata__")
    return total
