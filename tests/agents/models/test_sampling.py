"""Seeded generation on the real tiny model: reproducible samples, independent of batching, tokens counted."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from agents.models.loading import load_model
from agents.models.refs import materialize_model
from agents.models.sampling import (
    BACKEND_ENV,
    BackendError,
    as_model_prompts,
    choose_backend,
    count_generated,
    generate,
    greedy_complete,
    is_vllm_engine,
    load_for_generation,
)
from agents.models.tiny import EMBEDDED_TINY, build_tiny_model, build_tiny_tokenizer
from agents.tasks import addition


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return load_model(materialize_model(EMBEDDED_TINY, tmp_path_factory.mktemp("models")))


@pytest.fixture(scope="module")
def prompts():
    return [p.prompt for p in addition.sample_problems(24, 2, seed=3)]


def test_greedy_matches_the_shared_greedy_decoder(tiny, prompts):
    model, tokenizer = tiny
    out = generate(model, tokenizer, prompts, 4)
    assert [c[0] for c in out.completions] == greedy_complete(model, tokenizer, prompts, 4)
    assert 0 < out.tokens <= len(prompts) * 4


def test_same_seed_same_samples_whatever_the_batch(tiny, prompts):
    model, tokenizer = tiny
    a = generate(model, tokenizer, prompts, 4, samples=6, temperature=1.0, seed=11)
    b = generate(model, tokenizer, prompts, 4, samples=6, temperature=1.0, seed=11, batch_rows=5)
    assert a.completions == b.completions
    assert a.tokens == b.tokens
    # Only the prompt's position in the list and the seed decide its samples, not its batch neighbours.
    assert len(a.completions) == 24 and all(len(s) == 6 for s in a.completions)
    assert (
        generate(model, tokenizer, prompts[:9], 4, samples=6, temperature=1.0, seed=11).completions[7:9]
        == (a.completions[7:9])
    )


def test_different_seeds_give_different_samples(tiny, prompts):
    model, tokenizer = tiny
    a = generate(model, tokenizer, prompts, 4, samples=4, temperature=1.0, seed=0)
    b = generate(model, tokenizer, prompts, 4, samples=4, temperature=1.0, seed=1)
    assert a.completions != b.completions
    # Samples of one prompt differ from each other too: each has its own generator.
    assert any(len(set(s)) > 1 for s in a.completions)


def test_temperature_sharpens_towards_greedy(tiny, prompts):
    model, tokenizer = tiny
    greedy = [c[0] for c in generate(model, tokenizer, prompts, 4).completions]
    cold = generate(model, tokenizer, prompts, 4, samples=3, temperature=1e-4, seed=5)
    assert all(s == [g] * 3 for s, g in zip(cold.completions, greedy, strict=True))


def test_invalid_settings_are_refused(tiny, prompts):
    model, tokenizer = tiny
    with pytest.raises(ValueError, match="greedy"):
        generate(model, tokenizer, prompts, 4, samples=2, temperature=0.0)
    with pytest.raises(ValueError, match="temperature"):
        generate(model, tokenizer, prompts, 4, temperature=-1.0)


def test_tokens_are_counted_up_to_the_first_eos_without_padding():
    eos, pad = 3, 0
    new = torch.tensor(
        [
            [5, 6, eos, pad, pad],  # stopped after 3 tokens; the rest is padding
            [5, 6, 7, 8, 9],  # ran to the limit
            [eos, pad, pad, pad, pad],
            [pad, 7, eos, pad, pad],  # a generated pad token before eos is a real token
        ]
    )
    assert count_generated(new, [eos]) == [3, 5, 1, 3]
    # Hub models often pad with eos itself: only the first eos counts.
    assert count_generated(torch.tensor([[5, eos, eos, eos]]), [eos]) == [2]
    assert count_generated(torch.tensor([[5, 6]]), []) == [2]


def test_sampled_token_count_matches_the_decoded_text(tiny, prompts):
    """With the character tokenizer every decoded character is one token; eos adds one more."""
    model, tokenizer = tiny
    out = generate(model, tokenizer, prompts, 4, samples=3, temperature=1.0, seed=2)
    manual = 0
    for samples in out.completions:
        manual += sum(len(text) for text in samples)
    # Decoding drops special tokens (eos, and any pad or bos the untrained model emits), so it can only undercount.
    assert 0 < manual <= out.tokens <= len(prompts) * 3 * 4


# --- backends: what can be decided on this machine (no GPU, no vllm) ---------------------------------


@pytest.fixture
def no_backend_env(monkeypatch):
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    return monkeypatch


def test_without_cuda_the_backend_is_transformers(no_backend_env):
    assert not torch.cuda.is_available()  # this machine; the vllm branch needs a GPU
    assert choose_backend() == "transformers"
    assert choose_backend("transformers") == "transformers"


def test_the_environment_variable_overrides_the_choice(no_backend_env):
    no_backend_env.setenv(BACKEND_ENV, "transformers")
    assert choose_backend() == "transformers"
    no_backend_env.setenv(BACKEND_ENV, "vllm")
    with pytest.raises(BackendError, match=r"^INTERN_EVAL_BACKEND vllm cannot run here: no CUDA device"):
        choose_backend()
    # An explicit argument wins over the variable.
    assert choose_backend("transformers") == "transformers"
    no_backend_env.setenv(BACKEND_ENV, "jax")
    with pytest.raises(BackendError, match="'jax' is not an evaluation backend; use transformers or vllm"):
        choose_backend()


def test_asking_for_vllm_without_cuda_names_the_reason(no_backend_env):
    with pytest.raises(BackendError, match="backend vllm cannot run here: no CUDA device") as info:
        choose_backend("vllm")
    assert "\n" not in str(info.value)


def test_with_cuda_but_no_vllm_package_the_reason_is_the_import(no_backend_env):
    """CUDA is the one condition this machine cannot create; torch's own check stands in for a GPU here."""
    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vllm is installed here")
    no_backend_env.setattr(torch.cuda, "is_available", lambda: True)
    assert choose_backend() == "transformers"  # falls back quietly when nobody asked for vllm
    with pytest.raises(BackendError, match=r"import vllm failed \(No module named 'vllm'\); install it with pip"):
        choose_backend("vllm")


def test_transformers_backend_loads_the_same_model_and_generates_the_same(tiny, prompts, tmp_path):
    model, tokenizer = load_for_generation(materialize_model(EMBEDDED_TINY, tmp_path), "transformers")
    assert not is_vllm_engine(model)
    assert model.device.type == "cpu" and model.dtype == torch.float32  # nothing changes on a CPU
    reference_model, reference_tokenizer = tiny
    assert (
        generate(model, tokenizer, prompts, 4).completions
        == generate(reference_model, reference_tokenizer, prompts, 4).completions
    )


def test_plain_models_see_the_prompt_unchanged(tiny, prompts):
    _, tokenizer = tiny
    assert as_model_prompts(tokenizer, prompts[:3]) == prompts[:3]


def test_a_chat_model_is_scored_through_its_chat_template_as_it_was_trained(tiny, prompts):
    """A template that ends turns with eos marks a chat model: the trainer gave it chat messages, so must we."""
    import copy

    _, tokenizer = tiny
    chat = copy.deepcopy(tokenizer)
    chat.chat_template = (
        "{% for m in messages %}<{{ m['role'][0] }}>{{ m['content'] }}"
        "{% if m['role'] == 'assistant' %}{{ eos_token }}{% endif %}{% endfor %}"
        "{% if add_generation_prompt %}<a>{% endif %}"
    )
    assert as_model_prompts(chat, [prompts[0]]) == [f"<u>{prompts[0]}<a>"]


def test_seeded_sampler_draws_exactly_from_the_softmax():
    """Thousands of rows over one logits vector: token frequencies match softmax(logits / T)."""
    from agents.models.sampling import _seeded_processor

    logits = torch.tensor([2.0, 1.0, 0.0, -1.0, 0.5] + [-30.0] * 995)  # a 1,000-token vocabulary
    rows = 20_000
    for temperature in (1.0, 0.5):
        processor = _seeded_processor(list(range(rows)), temperature, max_new_tokens=1)
        out = processor(torch.zeros(rows, 1, dtype=torch.long), logits.expand(rows, -1).clone())
        drawn = out.argmax(dim=-1)
        assert torch.isfinite(out).sum(dim=-1).eq(1).all()  # exactly one token left standing per row
        expected = torch.softmax(logits / temperature, dim=-1)[:5]
        observed = torch.bincount(drawn, minlength=1000)[:5].float() / rows
        assert torch.allclose(observed, expected, atol=0.015), (observed, expected)


def test_seeded_sampler_draws_nothing_vocabulary_sized_per_step():
    """The per-row noise is max_new_tokens numbers, drawn once, whatever the vocabulary."""
    from agents.models.sampling import _seeded_processor

    processor = _seeded_processor([1, 2, 3], 1.0, max_new_tokens=7)
    assert tuple(processor.uniforms.shape) == (3, 7)
    first = processor(torch.zeros(3, 1, dtype=torch.long), torch.zeros(3, 152_000))
    again = _seeded_processor([1, 2, 3], 1.0, max_new_tokens=7)(
        torch.zeros(3, 1, dtype=torch.long), torch.zeros(3, 152_000)
    )
    assert torch.equal(first.argmax(-1), again.argmax(-1))


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


def test_generation_stops_at_the_templates_end_of_turn_token(smollm2_dir):
    from agents.models.loading import load_model
    from agents.models.sampling import _eos_ids

    model, tokenizer = load_model(smollm2_dir)
    assert tokenizer.convert_tokens_to_ids("<|im_end|>") in _eos_ids(model, tokenizer)
    model.generation_config.eos_token_id = tokenizer.convert_tokens_to_ids("<|im_start|>")  # as the GGUF said
    assert tokenizer.convert_tokens_to_ids("<|im_end|>") in _eos_ids(model, tokenizer)


def test_a_plain_prompt_gets_the_bos_its_tokenizer_adds_as_in_training():
    tokenizer = build_tiny_tokenizer()
    assert as_model_prompts(tokenizer, ["1+1="]) == ["1+1="]  # this tokenizer adds no BOS
    tokenizer.add_bos_token = True  # as a converted gemma tokenizer does
    assert as_model_prompts(tokenizer, ["1+1=", "<bos>2+2="]) == ["<bos>1+1=", "<bos>2+2="]
    assert tokenizer("1+1=")["input_ids"][0] == tokenizer.bos_token_id  # what TRL's tokenization gives training


def test_plain_text_generation_stops_where_the_tasks_answer_ends():
    model, tokenizer = build_tiny_model(seed=3)
    torch.manual_seed(1)
    with torch.no_grad():  # large random weights: varied output
        for p in model.parameters():
            p.normal_(0, 0.5)
    prompts = ["7+5=", "07+45=", "123+456=", "99+99="]
    unstopped = generate(model, tokenizer, prompts, 8)
    free = [c[0] for c in unstopped.completions]
    marker = next(c for text in free for c in text[1:])  # a character some completion writes after its first
    stopped = generate(model, tokenizer, prompts, 8, stop=(marker,))
    for full, (cut,) in zip(free, stopped.completions, strict=True):
        assert marker not in cut[1:] or marker == cut[:1]
        assert full.startswith(cut) and (cut == full or full[len(cut)] == marker)
    assert stopped.tokens < unstopped.tokens  # generation stopped, not only the text cut
