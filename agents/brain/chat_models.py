"""Turn a `brain:` spec from intern.yaml into a LangChain chat model, or say clearly why not.

Specs: `none` (the deterministic brain: no model), `hf:<org>/<model>[:<provider>]` (Hugging Face
Inference Providers through langchain-huggingface, needs HF_TOKEN), `local:<path>` (a local
transformers chat model in a HuggingFacePipeline), `injected:<name>` (a chat model object that
Python code registered with `register_chat_model`, which is how the tests drive the LLM paths),
and any other `<provider>:<model>` handed to LangChain's `init_chat_model`.

A spec that can never work (no token, no such path, a provider package missing) raises
BrainConfigError when `intern go` starts. A spec that cannot work *now* (no network) gives an
Unavailable: the loop goes on with the deterministic brain and says so at each decision.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from langchain_core.language_models import BaseChatModel

from bus.errors import BusError

HF_CALL_TIMEOUT_S = 60  # one chat completion; a provider slower than this is treated as down
MAX_NEW_TOKENS = 1024  # every answer is one small JSON object
_OFFLINE_VALUES = {"1", "ON", "YES", "TRUE"}
_INJECTED: dict[str, BaseChatModel] = {}
_BUILT: dict[tuple[str, str], BaseChatModel] = {}


class BrainConfigError(BusError):
    """The `brain:` in intern.yaml cannot work on this machine; the message says what to change.

    A BusError, so `intern go` ends at start with the message and exit status 2.
    """


@dataclass(frozen=True)
class Unavailable:
    """The brain cannot be reached right now; `why` is said in the commit that falls back."""

    why: str


def register_chat_model(name: str, model: BaseChatModel) -> str:
    """Make `model` the brain `injected:<name>`; returns that spec. For tests and embedding intern in Python."""
    _INJECTED[name] = model
    _BUILT.pop(("", f"injected:{name}"), None)
    return f"injected:{name}"


def forget_built_models() -> None:
    """Drop cached models (a test simulating a restart; a changed model on disk)."""
    _BUILT.clear()


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").upper() in _OFFLINE_VALUES


def chat_model(spec: str, root: Path | None = None) -> BaseChatModel | Unavailable | None:
    """The chat model for `spec` (cached per process), None for `none`, or Unavailable when offline.

    `root` is the workspace: a relative `local:` path is read from there.
    """
    spec = spec.strip()
    if spec == "none":
        return None
    scheme, _, target = spec.partition(":")
    if scheme == "hf":
        hf_token(target)  # no token can never work: an error now, even offline
        if hub_offline():
            return Unavailable(
                f"brain {spec} needs the Hugging Face router but this machine is offline (HF_HUB_OFFLINE)"
            )
    key = (str(root or ""), spec) if scheme == "local" else ("", spec)
    if key not in _BUILT:
        if scheme == "injected":
            if target not in _INJECTED:
                raise BrainConfigError(
                    f"brain {spec}: no chat model was registered under {target!r}; injected brains come from "
                    "Python code (agents.brain.register_chat_model), use hf:, local: or <provider>:<model> instead"
                )
            return _INJECTED[target]
        if scheme == "hf":
            _BUILT[key] = _hf_model(target)
        elif scheme == "local":
            _BUILT[key] = _local_model(target, root)
        else:
            _BUILT[key] = _init_chat_model(spec)
    return _BUILT[key]


def _hf_model(target: str) -> BaseChatModel:
    """ChatHuggingFace over HuggingFaceEndpoint: Inference Providers through the Hugging Face router.

    `org/model` lets the router pick the provider; `org/model:provider` names it (the router reads the
    suffix itself, so no extra Hub lookup is made). Both go out as the OpenAI-compatible chat-completions
    protocol to router.huggingface.co/v1/chat/completions with HF_TOKEN as the bearer.
    """
    token = hf_token(target)
    from langchain_huggingface import ChatHuggingFace, HuggingFaceEndpoint

    llm = HuggingFaceEndpoint(
        repo_id=target,
        provider="auto",
        task="conversational",
        huggingfacehub_api_token=token,
        timeout=HF_CALL_TIMEOUT_S,
        max_new_tokens=MAX_NEW_TOKENS,
        temperature=0.2,
    )
    return ChatHuggingFace(llm=llm)


def hf_token(target: str) -> str:
    token = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
    if not token:
        raise BrainConfigError(
            f"brain hf:{target} needs a Hugging Face token with Inference Providers access: export HF_TOKEN=hf_... "
            "before `intern go` (it is read from the environment only and never written to the workspace), "
            "or set brain: none"
        )
    return token


def _local_model(target: str, root: Path | None) -> BaseChatModel:
    """A local transformers model in a HuggingFacePipeline, chatting through its tokenizer's chat template."""
    path = Path(target).expanduser()
    if not path.is_absolute() and root is not None:
        path = root / path
    if not (path / "config.json").is_file():
        raise BrainConfigError(f"brain local:{target}: {path} is not a model folder (no config.json)")
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(path))
    if not getattr(tokenizer, "chat_template", None):
        raise BrainConfigError(
            f"brain local:{target}: the tokenizer at {path} has no chat template; use an instruct/chat model"
        )
    from langchain_huggingface import ChatHuggingFace, HuggingFacePipeline

    llm = HuggingFacePipeline.from_model_id(
        model_id=str(path),
        task="text-generation",
        pipeline_kwargs={"max_new_tokens": MAX_NEW_TOKENS, "return_full_text": False, "do_sample": False},
    )
    return ChatHuggingFace(llm=llm, tokenizer=tokenizer)


def _init_chat_model(spec: str) -> BaseChatModel:
    try:
        from langchain.chat_models import init_chat_model
    except ImportError as exc:  # langchain is a dependency; a trimmed install may lack it
        raise BrainConfigError(
            f"brain {spec} goes through LangChain's init_chat_model, which needs the `langchain` package: "
            "pip install langchain"
        ) from exc
    try:
        return init_chat_model(spec)
    except ImportError as exc:
        raise BrainConfigError(f"brain {spec}: {exc}") from exc
    except Exception as exc:  # an unknown provider, a missing API key: the provider's own words say which
        raise BrainConfigError(f"brain {spec} cannot be set up: {type(exc).__name__}: {exc}") from exc
