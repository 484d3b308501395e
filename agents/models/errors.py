"""The errors a model reference raises: each message is one line saying why and what to do."""

from __future__ import annotations


class ModelLoadError(RuntimeError):
    """A model reference that cannot be loaded here (missing path, offline Hub id, ...)."""


class ModelReferenceError(RuntimeError):
    """A model reference that cannot be resolved or converted here; one line saying why and what to do."""
