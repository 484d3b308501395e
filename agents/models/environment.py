"""Process-wide settings of the Hugging Face libraries: offline flags and progress bars."""

from __future__ import annotations

import os


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


def in_hub_cache(repo_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)
    except Exception:
        return False
