"""Which library trains: TRL everywhere, Unsloth's kernels on an NVIDIA GPU.

`backend: auto` (the default) picks unsloth when CUDA is there and unsloth is installed, else trl;
`trl` or `unsloth` forces one. Unsloth patches transformers and TRL when it is imported, so the
training process imports it here, before anything imports trl or transformers, and only when it
was chosen: a CPU machine never pays for (or trips over) importing it.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

# Where LoRA goes when the config says all-linear: Unsloth wants the names (Llama/Qwen/Mistral style).
UNSLOTH_ALL_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


class BackendError(RuntimeError):
    """The backend the config asks for cannot run on this machine."""


def choose_backend(requested: str, cuda: bool, unsloth_installed: bool) -> str:
    """`trl` or `unsloth` for the config's `backend` on a machine with or without CUDA and unsloth."""
    if requested == "trl":
        return "trl"
    if requested == "unsloth":
        if not cuda:
            raise BackendError(
                "backend unsloth needs an NVIDIA GPU (CUDA) and this machine has none; use backend: trl or auto"
            )
        if not unsloth_installed:
            raise BackendError("backend unsloth is not installed here (pip install unsloth); use backend: trl or auto")
        return "unsloth"
    if requested != "auto":
        raise BackendError(f"unknown backend {requested!r}; use auto, trl or unsloth")
    return "unsloth" if cuda and unsloth_installed else "trl"


def cuda_available() -> bool:
    import torch  # torch does not import transformers, so unsloth can still come first

    return torch.cuda.is_available()


def vllm_installed() -> bool:
    return importlib.util.find_spec("vllm") is not None


def prepare_backend(requested: str) -> str:
    """Choose the backend and, for unsloth, import it now: before trl and transformers."""
    cuda = cuda_available()
    backend = choose_backend(requested, cuda, cuda and importlib.util.find_spec("unsloth") is not None)
    if backend == "unsloth":
        early = [name for name in ("trl", "transformers", "peft") if name in sys.modules]
        if early:
            raise BackendError(f"unsloth must be imported before {', '.join(early)}, which already were")
        import unsloth  # noqa: F401  (patches transformers and TRL as a side effect)
    return backend


def load_unsloth(model_path: str, cfg: dict[str, Any]) -> tuple[Any, Any]:
    """Model and tokenizer through FastLanguageModel: LoRA with Unsloth's gradient checkpointing, or full fine-tuning.

    GRPO gets vLLM generation (`fast_inference`) when vllm is installed.
    """
    from unsloth import FastLanguageModel

    lora = cfg.get("peft")
    fast = cfg["method"] == "grpo" and lora is not None and vllm_installed()
    # vLLM takes a share of GPU memory up front; 0.6 leaves the rest to training, as Unsloth's GRPO notebooks do.
    extra = {"fast_inference": True, "max_lora_rank": lora["r"], "gpu_memory_utilization": 0.6} if fast else {}
    model, tokenizer = FastLanguageModel.from_pretrained(
        model_name=model_path,
        max_seq_length=cfg["max_length"] + cfg["max_completion_length"],
        load_in_4bit=False,
        full_finetuning=lora is None,
        **extra,
    )
    if lora is not None:
        targets = lora["target_modules"]
        model = FastLanguageModel.get_peft_model(
            model,
            r=lora["r"],
            lora_alpha=lora["alpha"],
            lora_dropout=lora["dropout"],
            target_modules=UNSLOTH_ALL_LINEAR if targets == "all-linear" else targets,
            use_gradient_checkpointing="unsloth",
            random_state=cfg["seed"],
        )
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def lora_config(cfg: dict[str, Any]) -> Any:
    """PEFT's LoraConfig for TRL's `peft_config`, or None for full fine-tuning."""
    lora = cfg.get("peft")
    if lora is None:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=lora["r"],
        lora_alpha=lora["alpha"],
        lora_dropout=lora["dropout"],
        target_modules=lora["target_modules"],
        task_type="CAUSAL_LM",
    )
