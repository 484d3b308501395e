"""How much memory one training step needs: weights, gradients, optimizer state, activations, generation.

A plain estimate, good to tens of percent, which is what deciding "full fine-tuning or LoRA" and "how many
sequences per device" needs. Bytes per parameter follow the ZeRO paper's accounting (Rajbhandari et al.
2020, arXiv 1910.02054): mixed-precision AdamW keeps fp32 master weights (4), fp32 gradients (4) and two
fp32 moments (8). intern's trl backend loads training weights in fp32 on every device
(agents/models/loading.placement), so a frozen LoRA base costs 4 bytes per parameter too. Activations per token
and layer follow Korthikanti et al. 2022 (arXiv 2205.05198), 34·h bytes at 16 bits for a 4h MLP, without
the attention-score term since SDPA/flash attention never stores the scores; with gradient checkpointing
only each layer's input is kept, plus one layer being recomputed. The logits (tokens × vocabulary, fp32)
are counted twice: the loss keeps them and their gradient. GRPO adds the KV cache its generation needs,
or, with vLLM colocated, the share of the card TRL hands vLLM (`vllm_gpu_memory_utilization`, 0.3).
"""

from __future__ import annotations

from dataclasses import dataclass

GIB = 1024**3
CUDA_CONTEXT = 1.0 * GIB  # CUDA context, kernels and the allocator's slack
USABLE = 0.9  # share of the device's free memory a plan may fill
VLLM_SHARE = 0.3  # TRL's default vllm_gpu_memory_utilization in colocate mode


@dataclass(frozen=True)
class ModelShape:
    """What the estimate needs from a model's config.json (read from the file: no download, no weights)."""

    parameters: int
    vocab: int
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    context: int

    @classmethod
    def from_config(cls, config: dict) -> ModelShape:
        hidden = int(config["hidden_size"])
        heads = int(config["num_attention_heads"])
        kv = int(config.get("num_key_value_heads") or heads)
        head_dim = int(config.get("head_dim") or hidden // heads)
        layers = int(config["num_hidden_layers"])
        inter = int(config.get("intermediate_size") or 4 * hidden)
        vocab = int(config["vocab_size"])
        per_layer = hidden * head_dim * (heads * 2 + kv * 2) + 3 * hidden * inter + 2 * hidden
        embeddings = vocab * hidden * (1 if config.get("tie_word_embeddings", False) else 2)
        return cls(
            parameters=layers * per_layer + embeddings + hidden,
            vocab=vocab,
            hidden=hidden,
            layers=layers,
            heads=heads,
            kv_heads=kv,
            head_dim=head_dim,
            intermediate=inter,
            context=int(config.get("max_position_embeddings") or 2048),
        )

    def lora_parameters(self, rank: int) -> int:
        """Trainable parameters of rank-`rank` adapters on every linear layer of every block (all-linear)."""
        q_out, kv_out = self.heads * self.head_dim, self.kv_heads * self.head_dim
        shapes = [
            (self.hidden, q_out),
            (self.hidden, kv_out),
            (self.hidden, kv_out),
            (q_out, self.hidden),
            (self.hidden, self.intermediate),
            (self.hidden, self.intermediate),
            (self.intermediate, self.hidden),
        ]
        return self.layers * sum(rank * (a + b) for a, b in shapes)


@dataclass(frozen=True)
class Memory:
    weights: float
    gradients: float
    optimizer: float
    activations: float
    generation: float
    overhead: float

    @property
    def total(self) -> float:
        return self.weights + self.gradients + self.optimizer + self.activations + self.generation + self.overhead

    def gib(self) -> dict[str, float]:
        parts = ("weights", "gradients", "optimizer", "activations", "generation", "overhead", "total")
        return {k: round(getattr(self, k) / GIB, 2) for k in parts}


def estimate(
    shape: ModelShape,
    *,
    lora_rank: int | None,
    batch: int,
    sequence: int,
    checkpointing: bool,
    activation_bytes: int,
    cuda: bool,
    generation_batch: int = 0,
    vllm_device_bytes: float = 0.0,
) -> Memory:
    """Peak bytes of one training step on `batch` sequences of `sequence` tokens per device.

    `generation_batch` > 0 adds GRPO's KV cache for that many completions (transformers generation);
    `vllm_device_bytes` > 0 adds vLLM's reserved share of the card instead.
    """
    trainable = shape.parameters if lora_rank is None else shape.lora_parameters(lora_rank)
    weights = 4.0 * shape.parameters + (0 if lora_rank is None else 4.0 * trainable)
    tokens = batch * sequence
    full_layer = activation_bytes / 2 * (15 * shape.hidden + 4.75 * shape.intermediate)  # Korthikanti: 34h at 4h MLP
    if checkpointing:
        per_token = activation_bytes * shape.hidden * shape.layers + full_layer
    else:
        per_token = full_layer * shape.layers
    logits = 2 * 4.0 * shape.vocab
    activations = tokens * (per_token + logits)
    kv_cache = 2 * shape.layers * shape.kv_heads * shape.head_dim * activation_bytes * sequence * generation_batch
    generation = vllm_device_bytes if vllm_device_bytes else kv_cache
    return Memory(
        weights=weights,
        gradients=4.0 * trainable,
        optimizer=8.0 * trainable,
        activations=activations,
        generation=generation,
        overhead=CUDA_CONTEXT if cuda else 0.0,
    )
