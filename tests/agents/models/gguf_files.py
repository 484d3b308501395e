"""GGUF files written here with the `gguf` package, the way llama.cpp's converter writes them.

The tests need GGUF files of other architecture families than the packaged SmolLM2 (llama) without any
download: a transformers model (random weights, or SmolLM2's own) is written tensor by tensor under the
names llama.cpp gives them (`gguf.get_tensor_name_map`), with the metadata keys transformers' GGUF reader
reads, and llama.cpp's own transforms (gemma norms stored as 1 + w).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

GEMMA_SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>"]  # ids 0..3, as in the real gemma3 files (BOS id 2)
# A small SentencePiece-style vocabulary: byte fallback plus whole words, enough to spell the reference text.
_WORDS = (
    "the of and to a in is was that it for on with as by at from this be are or an which not have one had "
    "were but all their there been when who more will would into its them can some what about than so time "
    "people water river town morning bread market children old new day years two first way made small long"
).split()


def gemma_vocab() -> tuple[list[str], list[float], list[int]]:
    """(tokens, scores, token types) for a tiny SentencePiece-style vocabulary with byte fallback."""
    tokens = list(GEMMA_SPECIALS) + [f"<0x{b:02X}>" for b in range(256)]
    types = [3, 3, 3, 2] + [6] * 256  # control, unknown, byte (gguf.TokenType)
    pieces = ["▁"] + [chr(c) for c in range(ord("a"), ord("z") + 1)] + [f"▁{w}" for w in _WORDS]
    tokens += pieces
    types += [1] * len(pieces)
    # Whole words score above their letters, as in a trained SentencePiece model.
    scores = [0.0] * (len(GEMMA_SPECIALS) + 256) + [-10.0] * 27 + [-1.0 - i / 100 for i in range(len(_WORDS))]
    return tokens, scores, types


def tiny_hf_model(family: str, vocab_size: int, seed: int = 0):
    """A random transformers model of `family` ('qwen3' or 'gemma3'), small enough for a test."""
    import torch
    from transformers import AutoModelForCausalLM, Gemma3TextConfig, Qwen3Config

    common = dict(
        vocab_size=vocab_size,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=6,
        num_attention_heads=4,
        num_key_value_heads=1,
        head_dim=32,
        max_position_embeddings=256,
        tie_word_embeddings=True,
    )
    if family == "qwen3":
        config = Qwen3Config(**common, rope_theta=1_000_000.0, rms_norm_eps=1e-6)
    elif family == "gemma3":
        config = Gemma3TextConfig(
            **common, sliding_window=16, query_pre_attn_scalar=32, pad_token_id=0, eos_token_id=1, bos_token_id=2
        )
    else:
        raise ValueError(family)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    with torch.no_grad():  # norms away from their init values, so a wrong norm transform shows in the logits
        for name, p in model.named_parameters():
            if "norm" in name:
                p.uniform_(-0.5, 0.5)
    return model.eval()


def write_gguf(
    model, path: Path, arch: str, tokenizer_fields: dict, *, add_bos: bool | None = None, half: bool = False
) -> Path:
    """Write `model` (a transformers causal LM) as a GGUF file of architecture `arch`: float32 tensors, or
    float16 for the 2-D ones with `half` (as llama.cpp writes an f16 file; norms and biases stay float32)."""
    import gguf

    cfg = model.config
    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_name(f"intern test {arch}")
    writer.add_context_length(cfg.max_position_embeddings)
    writer.add_embedding_length(cfg.hidden_size)
    writer.add_block_count(cfg.num_hidden_layers)
    writer.add_feed_forward_length(cfg.intermediate_size)
    writer.add_head_count(cfg.num_attention_heads)
    writer.add_head_count_kv(cfg.num_key_value_heads)
    writer.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    writer.add_key_length(head_dim)
    writer.add_value_length(head_dim)
    rope = (getattr(cfg, "rope_parameters", None) or {}).get("rope_theta") or getattr(cfg, "rope_theta", None)
    if isinstance(getattr(cfg, "rope_parameters", None), dict) and "full_attention" in cfg.rope_parameters:
        rope = cfg.rope_parameters["full_attention"]["rope_theta"]
    if rope:
        writer.add_rope_freq_base(float(rope))
    if arch == "gemma3":
        writer.add_sliding_window(cfg.sliding_window)
    for key, value in tokenizer_fields.items():
        getattr(writer, f"add_{key}")(value)
    if add_bos is not None:
        writer.add_add_bos_token(add_bos)
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH[arch.upper()], cfg.num_hidden_layers)
    for hf_name, tensor in model.state_dict().items():
        if hf_name == "lm_head.weight" and cfg.tie_word_embeddings:
            continue
        name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if name is None:
            raise KeyError(f"no GGUF name for {hf_name}")
        data = tensor.detach().float().numpy()
        if arch.startswith("gemma") and hf_name.endswith("norm.weight"):
            data = data + 1  # llama.cpp stores gemma's (1 + w) norms; transformers' reader subtracts the 1
        dtype = np.float16 if half and data.ndim == 2 else np.float32
        writer.add_tensor(name, np.ascontiguousarray(data.astype(dtype)))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def gemma_tokenizer_fields() -> dict:
    tokens, scores, types = gemma_vocab()
    return {
        "tokenizer_model": "llama",
        "token_list": tokens,
        "token_scores": scores,
        "token_types": types,
        "pad_token_id": 0,
        "eos_token_id": 1,
        "bos_token_id": 2,
        "unk_token_id": 3,
    }


def bpe_tokenizer_fields(tokenizer) -> dict:
    """A byte-level BPE tokenizer (SmolLM2's, Qwen's kind) as GGUF 'gpt2' tokenizer metadata."""
    import json

    data = json.loads(tokenizer.backend_tokenizer.to_str())
    vocab = data["model"]["vocab"]
    tokens = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
    merges = [m if isinstance(m, str) else " ".join(m) for m in data["model"]["merges"]]
    special = {t["content"] for t in data.get("added_tokens", []) if t.get("special")}
    fields = {
        "tokenizer_model": "gpt2",
        "tokenizer_pre": "smollm",
        "token_list": tokens,
        "token_types": [3 if t in special else 1 for t in tokens],
        "token_merges": merges,
        "eos_token_id": tokenizer.eos_token_id,
    }
    if tokenizer.bos_token_id is not None:
        fields["bos_token_id"] = tokenizer.bos_token_id
    if tokenizer.pad_token_id is not None:
        fields["pad_token_id"] = tokenizer.pad_token_id
    if tokenizer.chat_template:
        fields["chat_template"] = tokenizer.chat_template
    return fields


def smollm2_as_qwen2(smollm2_dir: str):
    """SmolLM2's own weights as a Qwen2 model: Qwen2 is Llama with q/k/v biases, so zero biases make it the
    same function; written as a qwen2 GGUF it is a real language model of another family."""
    import torch
    from transformers import AutoModelForCausalLM, Qwen2Config, Qwen2ForCausalLM

    llama = AutoModelForCausalLM.from_pretrained(smollm2_dir)
    c = llama.config
    config = Qwen2Config(
        vocab_size=c.vocab_size,
        hidden_size=c.hidden_size,
        intermediate_size=c.intermediate_size,
        num_hidden_layers=c.num_hidden_layers,
        num_attention_heads=c.num_attention_heads,
        num_key_value_heads=c.num_key_value_heads,
        max_position_embeddings=c.max_position_embeddings,
        rms_norm_eps=c.rms_norm_eps,
        rope_theta=(getattr(c, "rope_parameters", None) or {}).get("rope_theta", 100000.0),
        tie_word_embeddings=c.tie_word_embeddings,
    )
    qwen = Qwen2ForCausalLM(config)
    state = {k: v for k, v in llama.state_dict().items()}
    for key, value in qwen.state_dict().items():
        if key.endswith("_proj.bias"):
            state[key] = torch.zeros_like(value)
    qwen.load_state_dict(state, strict=False)
    qwen.tie_weights()
    return qwen.eval(), llama.eval()
