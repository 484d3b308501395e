"""Models shared by the trainer and the critic: the embedded tiny model and loading by reference.

A model reference is `embedded:tiny` (built here, no download), a packaged model by name
(`smollm2-135m-instruct`), a local `.gguf` file, a local directory, or a Hub id (agents/model_refs.py).
Everything saved is loadable by plain `AutoModelForCausalLM` / `AutoTokenizer`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

EMBEDDED_TINY = "embedded:tiny"
# Every character the embedded tasks can produce; one token each. No space: transformers reloads a
# qwen2 model's tokenizer as Qwen2Tokenizer, whose byte-level pre-tokenizer drops spaces.
TINY_ALPHABET = list("0123456789+-=*/")
TINY_SPECIALS = ["<pad>", "<unk>", "<bos>", "<eos>"]
TINY_CHAT_TEMPLATE = "{% for m in messages %}{{ m['content'] }}{% endfor %}"


class ModelLoadError(RuntimeError):
    """A model reference that cannot be loaded here (missing path, offline Hub id, ...)."""


def build_tiny_tokenizer() -> PreTrainedTokenizerFast:  # noqa: F821
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(TINY_SPECIALS + TINY_ALPHABET)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tok.decoder = decoders.Fuse()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<bos>",
        eos_token="<eos>",
        pad_token="<pad>",
        unk_token="<unk>",
    )
    fast.chat_template = TINY_CHAT_TEMPLATE
    return fast


def build_tiny_model(seed: int = 0) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """A Qwen2-style causal LM of about 350k parameters with a character tokenizer.

    Sizes are the ones the facts file measured to learn fixed-width addition on a CPU.
    """
    import torch
    from transformers import AutoModelForCausalLM, Qwen2Config

    tokenizer = build_tiny_tokenizer()
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=64,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model, tokenizer


def materialize_model(reference: str, cache_dir: Path, seed: int = 0) -> str:
    """Turn a model reference into something `from_pretrained` can load, building the tiny model once.

    Returns a local directory for `embedded:tiny`, packaged and GGUF models (converted once into `cache_dir`)
    and local folders; the Hub id otherwise.
    """
    if reference == EMBEDDED_TINY:
        target = cache_dir / f"embedded-tiny-seed{seed}"
        if not (target / "config.json").exists():
            quiet_progress_bars()
            model, tokenizer = build_tiny_model(seed)
            tmp = target.with_name(target.name + ".tmp")
            model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            os.replace(tmp, target)
        return str(target)
    from agents.model_refs import resolve_local

    local = resolve_local(reference, cache_dir)
    if local is not None:
        return local
    set_offline_flags_if_offline()
    if os.environ.get("HF_HUB_OFFLINE") == "1" and not _in_hub_cache(reference):
        raise ModelLoadError(
            f"model {reference!r} is a Hub id, this machine is offline and it is not in the local "
            "Hugging Face cache; use embedded:tiny or a local path"
        )
    return reference


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


def closes_turns_with_eos(tokenizer) -> bool:
    """True when the tokenizer's chat template ends an assistant turn with the eos token.

    That is a chat model's template: trained through it, the model learns to stop. A base model's
    template (Qwen3-Base closes turns with <|im_end|>, its eos is <|endoftext|>) or the embedded
    tiny model's (plain concatenation) would teach it never to stop, so those get plain text.
    """
    if not getattr(tokenizer, "chat_template", None) or tokenizer.eos_token is None:
        return False
    probe = [{"role": "user", "content": "1"}, {"role": "assistant", "content": "2"}]
    try:
        text = tokenizer.apply_chat_template(probe, tokenize=False)
    except Exception:
        return False
    return tokenizer.eos_token in text[text.rfind("2") :]


def quiet_progress_bars() -> None:
    """A progress bar per model load or save drowns the loop's own progress lines."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def hub_reachable(timeout: float = 1.5) -> bool:
    import socket

    try:
        socket.create_connection(("huggingface.co", 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def set_offline_flags_if_offline() -> None:
    """Without these flags `datasets`/`transformers` hang ~20 s per call on a machine with no network."""
    if "HF_HUB_OFFLINE" in os.environ:
        return
    if not hub_reachable():
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["HF_DATASETS_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"


def _in_hub_cache(repo_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)
    except Exception:
        return False


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
