"""Loading a materialized reference: plain transformers, a pad token, the device and dtype."""

from __future__ import annotations

import pytest

from agents.models.errors import ModelLoadError
from agents.models.loading import load_model, placement
from agents.models.refs import materialize_model
from agents.models.tiny import EMBEDDED_TINY


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> str:
    return materialize_model(EMBEDDED_TINY, tmp_path_factory.mktemp("models"))


def test_load_model_sets_a_pad_token_and_wraps_os_errors(tiny_dir, tmp_path):
    model, tokenizer = load_model(tiny_dir)
    assert tokenizer.pad_token is not None
    assert model.config.model_type == "qwen2"
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text('{"model_type": "qwen2"}')
    with pytest.raises(ModelLoadError, match="cannot load model"):
        load_model(str(tmp_path / "broken"))


def test_on_a_cpu_models_load_as_before(tiny_dir):
    import torch

    assert not torch.cuda.is_available()  # this machine
    assert placement() == placement(inference=True) == ("cpu", torch.float32)
    for inference in (False, True):
        model, _ = load_model(tiny_dir, inference=inference)
        assert model.device.type == "cpu" and model.dtype == torch.float32


@pytest.mark.parametrize(
    ("bf16", "inference", "expected"),
    [
        (True, True, "bfloat16"),  # evaluation on a recent card: half the memory
        (False, True, "float32"),  # a card without bf16 (e.g. a T4) keeps fp32
        (True, False, "float32"),  # training keeps fp32 master weights; TRL's bf16 is mixed precision on top
    ],
)
def test_with_cuda_models_go_to_the_gpu(monkeypatch, bf16, inference, expected):
    """CUDA is the condition this machine cannot create; torch's own checks stand in for a card here."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)
    assert placement(inference=inference) == ("cuda", getattr(torch, expected))
