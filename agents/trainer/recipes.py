"""The embedded tiny model's recipe under its old names; the settings table (agents/trainer/settings.py) holds it now.

Kept so code and configs that import `agents.trainer.recipes` keep working: `SFT`, `GRPO` and `recipe` are
the table's `embedded-tiny` row, unchanged.
"""

from __future__ import annotations

from agents.trainer.settings import _TINY_GRPO as GRPO
from agents.trainer.settings import _TINY_SFT as SFT
from agents.trainer.settings import DEFAULT_REWARD
from agents.trainer.settings import tiny_recipe as recipe

__all__ = ["DEFAULT_REWARD", "GRPO", "SFT", "recipe"]
