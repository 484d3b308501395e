"""The LLM brain, shared by the supervisor and the four specialists (none of them owns it).

`brain:` in intern.yaml picks it (`none`, the deterministic brain, is the default). Every use asks
one schema-shaped question through `ask` and keeps the deterministic answer as its fallback:
`decisions` (the supervisor's next step), `hypothesis` (the researcher's paper to hypothesis),
`examples` (the curator's new, verified examples) and `narrative` (the critic's paragraph).
"""

from agents.brain.ask import FALLBACK, INVALID_TWICE, Brain, ask, current, preflight
from agents.brain.chat_models import BrainConfigError, forget_built_models, register_chat_model

__all__ = [
    "FALLBACK",
    "INVALID_TWICE",
    "Brain",
    "BrainConfigError",
    "ask",
    "current",
    "forget_built_models",
    "preflight",
    "register_chat_model",
]
