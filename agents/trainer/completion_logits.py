"""SFT scores the output layer only at the positions the loss reads (completion tokens), on every device.

TRL's fused LM head (trl/trainer/utils.py, `add_fused_lm_head`) projects through the output layer in tiles and
keeps only the positions whose label is not -100, but on devices without Triton (a CPU) it scores every position,
prompt included, and masks afterwards: TRL's reason is tile shapes that would recompile per batch on XLA-like
devices, which eager CPU execution does not have. With a 262,144-token vocabulary the output layer dominates the
step (issue 21: 53 s against SmolLM2's 10.9 s), and most positions of an SFT row are prompt. Same kernel, same
labels, same normalisation: only the rows the loss never reads are dropped, so the loss and its gradient are TRL's
(tests/agents/trainer/test_completion_logits.py compares them).
"""

from __future__ import annotations

EAGER_DEVICES = ("cpu",)
_PATCHED = "_intern_completion_only"


def score_completion_positions_only() -> bool:
    """Make TRL's fused LM head compact (valid positions only) on eager devices; True when it is in place."""
    from trl.trainer import utils as trl_utils

    original = getattr(trl_utils, "_use_triton", None)
    if original is None:  # another TRL: its fused head decides by other means; leave it alone
        return False
    if getattr(original, _PATCHED, False):
        return True

    def compact(device) -> bool:
        return device.type in EAGER_DEVICES or original(device)

    setattr(compact, _PATCHED, True)
    trl_utils._use_triton = compact
    return True
