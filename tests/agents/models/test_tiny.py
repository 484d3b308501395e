"""The embedded tiny model: its size, its seeding and its character tokenizer."""

from __future__ import annotations

import pytest

from agents.models.tiny import TINY_ALPHABET, build_tiny_model, build_tiny_tokenizer


@pytest.fixture(scope="module")
def tiny():
    return build_tiny_model(seed=0)


def test_tiny_model_size(tiny):
    model, tokenizer = tiny
    params = sum(p.numel() for p in model.parameters())
    assert 200_000 <= params <= 500_000
    assert model.config.vocab_size == len(tokenizer)


def test_tiny_model_is_seeded():
    import torch

    a, _ = build_tiny_model(seed=1)
    b, _ = build_tiny_model(seed=1)
    c, _ = build_tiny_model(seed=2)
    wa, wb, wc = (m.get_input_embeddings().weight for m in (a, b, c))
    assert torch.equal(wa, wb)
    assert not torch.equal(wa, wc)


def test_tokenizer_one_token_per_character_and_round_trip():
    tokenizer = build_tiny_tokenizer()
    ids = tokenizer("07+45=", add_special_tokens=False)["input_ids"]
    assert len(ids) == 6
    assert tokenizer.unk_token_id not in ids
    assert tokenizer.decode(ids) == "07+45="
    alphabet = "".join(TINY_ALPHABET)
    ids = tokenizer(alphabet, add_special_tokens=False)["input_ids"]
    assert len(ids) == len(TINY_ALPHABET) and len(set(ids)) == len(ids)
    assert tokenizer.decode(ids) == alphabet


def test_tokenizer_special_tokens_are_distinct_and_skipped_on_decode():
    tokenizer = build_tiny_tokenizer()
    specials = {tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.bos_token_id, tokenizer.unk_token_id}
    assert len(specials) == 4 and None not in specials
    ids = tokenizer("052", add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id, tokenizer.pad_token_id]
    assert tokenizer.decode(ids, skip_special_tokens=True) == "052"
