"""The embedded tiny model, loading by reference, and greedy completion."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from agents.modeling import (
    EMBEDDED_TINY,
    TINY_ALPHABET,
    ModelLoadError,
    build_tiny_model,
    build_tiny_tokenizer,
    greedy_complete,
    load_model,
    materialize_model,
    placement,
)


@pytest.fixture(scope="module")
def tiny():
    return build_tiny_model(seed=0)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> str:
    return materialize_model(EMBEDDED_TINY, tmp_path_factory.mktemp("models"))


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


def test_materialized_model_loads_with_plain_transformers(tiny_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    assert (Path(tiny_dir) / "config.json").exists()
    model = AutoModelForCausalLM.from_pretrained(tiny_dir)
    tokenizer = AutoTokenizer.from_pretrained(tiny_dir)
    ids = tokenizer("07+45=", add_special_tokens=False)["input_ids"]
    assert ids == build_tiny_tokenizer()("07+45=", add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids) == "07+45="
    assert tokenizer.pad_token == "<pad>" and tokenizer.eos_token == "<eos>"
    assert model.config.eos_token_id == tokenizer.eos_token_id
    assert 200_000 <= sum(p.numel() for p in model.parameters()) <= 500_000


def test_materialized_tokenizer_encodes_the_whole_alphabet_like_the_built_one(tiny_dir):
    from transformers import AutoTokenizer

    reloaded = AutoTokenizer.from_pretrained(tiny_dir)
    built = build_tiny_tokenizer()
    text = "".join(TINY_ALPHABET)
    assert reloaded(text, add_special_tokens=False)["input_ids"] == built(text, add_special_tokens=False)["input_ids"]


def test_materialize_reuses_the_directory(tiny_dir):
    weights = Path(tiny_dir) / "model.safetensors"
    before = weights.stat().st_mtime_ns
    again = materialize_model(EMBEDDED_TINY, Path(tiny_dir).parent)
    assert again == tiny_dir
    assert weights.stat().st_mtime_ns == before
    assert not Path(tiny_dir + ".tmp").exists()


def test_materialize_separates_seeds(tmp_path):
    a = materialize_model(EMBEDDED_TINY, tmp_path, seed=0)
    b = materialize_model(EMBEDDED_TINY, tmp_path, seed=1)
    assert a != b
    assert (Path(a) / "model.safetensors").read_bytes() != (Path(b) / "model.safetensors").read_bytes()


def test_materialize_passes_local_model_directory_through(tiny_dir):
    assert materialize_model(tiny_dir, Path("/nonexistent-cache")) == str(Path(tiny_dir))


def test_materialize_missing_local_path_raises(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        materialize_model(str(tmp_path / "no-such-model"), tmp_path)


def test_materialize_directory_without_config_raises(tmp_path):
    (tmp_path / "empty-model").mkdir()
    with pytest.raises(ModelLoadError, match="config.json"):
        materialize_model(str(tmp_path / "empty-model"), tmp_path)


def test_materialize_hub_id_offline_fails_fast(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.monotonic()
    with pytest.raises(ModelLoadError, match="offline"):
        materialize_model("intern-tests/no-such-model-anywhere", tmp_path)
    assert time.monotonic() - started < 5


def test_load_model_sets_a_pad_token_and_wraps_os_errors(tiny_dir, tmp_path):
    model, tokenizer = load_model(tiny_dir)
    assert tokenizer.pad_token is not None
    assert model.config.model_type == "qwen2"
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text('{"model_type": "qwen2"}')
    with pytest.raises(ModelLoadError, match="cannot load model"):
        load_model(str(tmp_path / "broken"))


def test_greedy_complete_returns_one_string_per_prompt(tiny):
    model, tokenizer = tiny
    prompts = ["07+45=", "99+99=", "00+00="]
    out = greedy_complete(model, tokenizer, prompts, max_new_tokens=4)
    assert len(out) == len(prompts)
    assert all(isinstance(o, str) and len(o) <= 4 for o in out)
    # Only the new text comes back, never the prompt.
    assert not any(o.startswith(p) for o, p in zip(out, prompts))


def test_greedy_complete_left_padding_matches_unbatched():
    """Prompts of different lengths in one batch must complete exactly as they do alone."""
    import torch

    model, tokenizer = build_tiny_model(seed=3)
    torch.manual_seed(1)
    with torch.no_grad():  # large random weights so the output depends on the prompt
        for p in model.parameters():
            p.normal_(0, 0.5)
    prompts = ["7+5=", "07+45=", "123+456=", "1=", "99+99=", "3+4="]
    batched = greedy_complete(model, tokenizer, prompts, max_new_tokens=5)
    alone = [greedy_complete(model, tokenizer, [p], max_new_tokens=5)[0] for p in prompts]
    assert len(set(alone)) > 1, "the perturbed model should not answer every prompt alike"
    assert batched == alone
    assert greedy_complete(model, tokenizer, prompts, max_new_tokens=5, batch_size=4) == batched


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


def test_closes_turns_with_eos_tells_a_chat_template_from_a_base_or_tiny_one():
    from agents.modeling import build_tiny_tokenizer, closes_turns_with_eos

    tokenizer = build_tiny_tokenizer()
    assert not closes_turns_with_eos(tokenizer)  # the embedded template only concatenates
    tokenizer.chat_template = (
        "{% for m in messages %}{{ m['content'] }}{% if m['role'] == 'assistant' %}<eos>{% endif %}{% endfor %}"
    )
    assert closes_turns_with_eos(tokenizer)
    # A base model's template closes turns with a marker that is not its eos (Qwen3-Base: <|im_end|>).
    tokenizer.chat_template = "{% for m in messages %}{{ m['content'] }}<pad>{% endfor %}"
    assert not closes_turns_with_eos(tokenizer)
    tokenizer.chat_template = None
    assert not closes_turns_with_eos(tokenizer)
