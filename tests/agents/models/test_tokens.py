"""Special tokens read from a chat template: the end of a turn, and whether it is the eos."""

from __future__ import annotations

from agents.models.tiny import build_tiny_tokenizer
from agents.models.tokens import closes_turns_with_eos, end_of_turn_token


def test_closes_turns_with_eos_tells_a_chat_template_from_a_base_or_tiny_one():
    from agents.models.tiny import build_tiny_tokenizer

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


def test_the_tiny_models_template_has_no_end_of_turn_token():
    assert end_of_turn_token(build_tiny_tokenizer()) is None
