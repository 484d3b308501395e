"""The output layer at completion positions only: the same loss, gradient and metrics as TRL's every-position path."""

from __future__ import annotations

import pytest
import torch

from agents.models.tiny import build_tiny_model
from agents.trainer import completion_logits


def _loss_and_grads(compact: bool, monkeypatch) -> tuple[float, dict[str, torch.Tensor], float, float, list[int]]:
    from trl.trainer import utils as trl_utils
    from trl.trainer.utils import add_fused_lm_head

    monkeypatch.setattr(trl_utils, "_use_triton", lambda device: compact)
    scored: list[int] = []  # rows sent through the output layer
    kernel = getattr(trl_utils._ChunkedLogProbFunction, "wrapped", trl_utils._ChunkedLogProbFunction)

    class Counting:
        wrapped = kernel

        @staticmethod
        def apply(hidden, *rest):
            scored.append(hidden.shape[0])
            return kernel.apply(hidden, *rest)

    monkeypatch.setattr(trl_utils, "_ChunkedLogProbFunction", Counting)
    model, _ = build_tiny_model(seed=1)
    add_fused_lm_head(model, outputs=("log_probs", "entropy", "is_top1"))
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(4, model.config.vocab_size, (3, 24), generator=g)
    labels = ids.clone()
    labels[:, :17] = -100  # the prompt: TRL's completion_only_loss masks it
    labels[2, 20:] = -100  # padding
    out = model(input_ids=ids, labels=labels, fused_lm_head=True, num_items_in_batch=None)
    out.loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    mask = out.label_mask
    entropy, top1 = (out.entropy.sum() / mask.sum()).item(), (out.is_top1.sum() / mask.sum()).item()
    return out.loss.item(), grads, entropy, top1, scored


def test_scoring_only_completion_positions_keeps_the_loss_gradient_and_metrics(monkeypatch):
    every = _loss_and_grads(False, monkeypatch)
    compact = _loss_and_grads(True, monkeypatch)
    assert compact[0] == pytest.approx(every[0], rel=1e-6)
    assert compact[2] == pytest.approx(every[2], rel=1e-5) and compact[3] == every[3]
    assert every[4] == [3 * 23] and compact[4] == [7 + 7 + 3]  # every shifted position, against the completions
    assert every[1].keys() == compact[1].keys()
    for name, grad in every[1].items():
        assert torch.allclose(compact[1][name], grad, atol=1e-6), name


def test_the_patch_makes_the_cpu_compact_once(monkeypatch):
    from trl.trainer import utils as trl_utils

    monkeypatch.setattr(trl_utils, "_use_triton", lambda device: False)
    assert completion_logits.score_completion_positions_only()
    first = trl_utils._use_triton
    assert first(torch.device("cpu")) and completion_logits.score_completion_positions_only()
    assert trl_utils._use_triton is first  # not wrapped twice
