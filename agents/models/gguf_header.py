"""What a GGUF file declares about itself, read from its metadata, and where transformers' reader ignores it.

transformers' GGUF reader maps a fixed list of metadata keys per architecture onto a config; anything it does not
map falls back to the config class's defaults, which are right for one model size and wrong for others. Measured
on files written here (tests/agents/models/gguf_files.py) against the models they were written from:
- qwen3: `attention.key_length` is not read, so head_dim is Qwen3's default 128 whatever the file says;
- gemma2/gemma3: the attention scale (`query_pre_attn_scalar`) stays at the default 256, while llama.cpp scales
  by the file's head dimension (by hidden / heads for the 62-layer 27B model);
- `tokenizer.ggml.add_bos_token` is not read at all: a model trained with a BOS before every text (gemma) is
  then fed text without one.
`faithful_config` puts the file's own values back; `refusal` names an architecture that cannot be converted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agents.models.tokens import adds_bos

# transformers' GGUF reader also reads these, but they are encoder-decoder models, not causal language models.
NOT_CAUSAL = {"t5", "t5encoder", "umt5"}


@dataclass(frozen=True)
class GgufHeader:
    architecture: str
    layers: int | None
    hidden: int | None
    heads: int | None
    key_length: int | None
    add_bos_token: bool | None
    bos_token_id: int | None
    has_chat_template: bool


def read_header(path: Path) -> GgufHeader:
    """The metadata that decides how to convert `path` (the tensors are memory-mapped, not read)."""
    from gguf import GGUFReader

    reader = GGUFReader(str(path))

    def value(key: str):
        field = reader.fields.get(key)
        if field is None or not field.data:
            return None
        part = field.parts[field.data[0]]
        if field.types and field.types[0].name == "STRING":
            return bytes(part).decode("utf-8", errors="replace")
        return part.tolist()[0] if hasattr(part, "tolist") else part

    arch = value("general.architecture") or "unknown"
    bos = value("tokenizer.ggml.add_bos_token")
    return GgufHeader(
        architecture=arch,
        layers=value(f"{arch}.block_count"),
        hidden=value(f"{arch}.embedding_length"),
        heads=value(f"{arch}.attention.head_count"),
        key_length=value(f"{arch}.attention.key_length"),
        add_bos_token=None if bos is None else bool(bos),
        bos_token_id=value("tokenizer.ggml.bos_token_id"),
        has_chat_template="tokenizer.chat_template" in reader.fields,
    )


def refusal(header: GgufHeader, name: str) -> str | None:
    """Why a file of this architecture cannot become a causal LM here (one line), or None when it can."""
    from transformers.modeling_gguf_pytorch_utils import GGUF_SUPPORTED_ARCHITECTURES

    arch = header.architecture
    if arch in NOT_CAUSAL:
        return (
            f"{name}: architecture {arch!r} is an encoder-decoder model, not a causal language model intern can train"
        )
    known = set(GGUF_SUPPORTED_ARCHITECTURES) | {"qwen2moe", "qwen3moe", "gpt-oss", "minimax-m2"}
    if arch not in known:
        readable = ", ".join(sorted(a for a in GGUF_SUPPORTED_ARCHITECTURES if a not in NOT_CAUSAL))
        return (
            f"{name}: architecture {arch!r} is not one transformers' GGUF reader reads ({readable}); "
            "use a transformers folder or Hub id of the same model instead"
        )
    return None


def faithful_config(config, header: GgufHeader) -> list[str]:
    """Set what the file declares where the reader left a default; returns one note per change."""
    notes = []
    if header.key_length and getattr(config, "head_dim", None) not in (None, header.key_length):
        notes.append(f"head_dim {config.head_dim} -> {header.key_length} (attention.key_length)")
        config.head_dim = header.key_length
    if header.architecture in ("gemma2", "gemma3") and hasattr(config, "query_pre_attn_scalar"):
        # llama.cpp: 1/sqrt(head_dim), except the 62-layer gemma 27B, which uses 1/sqrt(hidden / heads).
        head_dim = header.key_length or getattr(config, "head_dim", None)
        scalar = header.hidden // header.heads if header.layers == 62 and header.hidden and header.heads else head_dim
        if scalar and config.query_pre_attn_scalar != scalar:
            notes.append(f"query_pre_attn_scalar {config.query_pre_attn_scalar} -> {scalar} (as llama.cpp scales)")
            config.query_pre_attn_scalar = scalar
    return notes


def apply_bos(tokenizer, header: GgufHeader) -> str | None:
    """Make the tokenizer add the BOS the file asks for; a note when it changed, an error line when it cannot."""
    if not header.add_bos_token or adds_bos(tokenizer):
        return None
    if tokenizer.bos_token is None:
        # Some of transformers' tokenizer converters (the Qwen one) drop the file's bos_token_id.
        if header.bos_token_id is None or header.bos_token_id >= len(tokenizer):
            raise ValueError("the file asks for a BOS token before every text but names none")
        tokenizer.bos_token = tokenizer.convert_ids_to_tokens(int(header.bos_token_id))
    tokenizer.add_bos_token = True
    return f"BOS {tokenizer.bos_token!r} added before every text (tokenizer.ggml.add_bos_token)"
