"""The language check on real weights: SmolLM2 passes in seconds; damaged copies and a dropped BOS are refused."""

from __future__ import annotations

import copy

import pytest
import torch

from agents.models.language_check import MAX_BITS_PER_BYTE, check_language, reference_text
from agents.models.loading import load_model


@pytest.fixture(scope="module")
def smollm2(smollm2_dir):
    return load_model(smollm2_dir)


def test_smollm2_models_language_within_seconds(smollm2):
    model, tokenizer = smollm2
    check = check_language(model, tokenizer)
    assert check.passed, check.refusal
    assert 0.5 < check.bits_per_byte < MAX_BITS_PER_BYTE and check.perplexity < 40
    assert check.seconds < 10
    assert "Paris" in check.continuations["The capital of France is"]
    assert not check.degenerate


def _swapped(model, a: int, b: int):
    damaged = copy.deepcopy(model)
    layers = damaged.model.layers
    layers[a], layers[b] = layers[b], layers[a]
    for i, layer in enumerate(layers):
        layer.self_attn.layer_idx = i  # the cache slot follows the position, as a wrong tensor mapping would
    return damaged


def _norms_scaled(model, factor: float):
    damaged = copy.deepcopy(model)
    with torch.no_grad():
        for name, p in damaged.named_parameters():
            if "norm" in name:
                p.mul_(factor)
    return damaged


@pytest.mark.parametrize("damage", ["layers 3 and 20 swapped", "norms scaled by 2"])
def test_a_damaged_conversion_is_refused_with_its_figure(smollm2, damage):
    model, tokenizer = smollm2
    damaged = _swapped(model, 3, 20) if damage.startswith("layers") else _norms_scaled(model, 2.0)
    check = check_language(damaged, tokenizer)
    assert not check.passed and check.bits_per_byte > MAX_BITS_PER_BYTE
    assert "\n" not in check.refusal
    assert check.refusal.startswith(f"the model does not model language: {check.bits_per_byte:.2f} bits/byte")


def test_a_bos_the_file_asks_for_but_the_tokenizer_drops_is_refused(smollm2):
    model, tokenizer = smollm2
    check = check_language(model, tokenizer, file_asks_bos=True)
    assert not check.passed and "\n" not in check.refusal
    assert "asks for '<|im_start|>' before every text but the tokenizer adds none" in check.refusal
    assert f"({check.bits_per_byte:.2f} bits/byte without it)" in check.refusal


def test_the_reference_text_is_plain_english_prose():
    text = reference_text()
    assert 200 < len(text.split()) < 400 and text.isascii()


def test_continuations_that_collapse_onto_one_token_are_refused(monkeypatch):
    """An untrained model's greedy continuations repeat one token; with the figure bound lifted, that alone refuses."""
    from agents.models import language_check
    from agents.models.tiny import build_tiny_model

    model, tokenizer = build_tiny_model(seed=0)
    monkeypatch.setattr(language_check, "MAX_BITS_PER_BYTE", float("inf"))
    check = language_check.check_language(model, tokenizer)
    assert len(check.degenerate) >= 2 and "\n" not in check.refusal
    assert check.refusal.startswith("the model's continuations degenerate into a repeated token")
    assert f"{check.bits_per_byte:.2f} bits/byte" in check.refusal
