"""Special tokens read from a tokenizer and its chat template: the end of a turn, eos and a distinct pad."""

from __future__ import annotations


def end_of_turn_token(tokenizer) -> str | None:
    """The text the chat template closes an assistant turn with (`<|im_end|>` for ChatML), if it is one token."""
    if not getattr(tokenizer, "chat_template", None):
        return None
    probe = [{"role": "user", "content": "1"}, {"role": "assistant", "content": "XYZ"}]
    try:
        text = tokenizer.apply_chat_template(probe, tokenize=False)
    except Exception:
        return None
    tail = text[text.rfind("XYZ") + 3 :]
    for token in tokenizer.all_special_tokens + list(getattr(tokenizer, "added_tokens_encoder", {})):
        if token and tail.lstrip().startswith(token):
            return token
    return None


def closes_turns_with_eos(tokenizer) -> bool:
    """True when the tokenizer's chat template ends an assistant turn with the eos token.

    That is a chat model's template: trained through it, the model learns to stop. A base model's
    template (Qwen3-Base closes turns with <|im_end|>, its eos is <|endoftext|>) or the embedded
    tiny model's (plain concatenation) would teach it never to stop, so those get plain text.
    """
    if not getattr(tokenizer, "chat_template", None) or tokenizer.eos_token is None:
        return False
    probe = [{"role": "user", "content": "1"}, {"role": "assistant", "content": "2"}]
    try:
        text = tokenizer.apply_chat_template(probe, tokenize=False)
    except Exception:
        return False
    return tokenizer.eos_token in text[text.rfind("2") :]


def fix_special_tokens(model, tokenizer) -> None:
    """eos = the template's end-of-turn token, pad = a distinct token, in the tokenizer, config and generation config.

    A GGUF file's metadata may name the turn opener as eos (SmolLM2's does): generation would then run to the
    token limit, and SFT would never teach the model to stop.
    """
    turn_end = end_of_turn_token(tokenizer)
    if turn_end is not None and turn_end != tokenizer.eos_token:
        tokenizer.eos_token = turn_end
    if tokenizer.pad_token is None or tokenizer.pad_token == tokenizer.eos_token:
        vocab = tokenizer.get_vocab()
        spare = next(
            (t for t in ("<|endoftext|>", "<pad>", "<|pad|>") if t in vocab and t != tokenizer.eos_token), None
        )
        tokenizer.pad_token = spare or tokenizer.eos_token
    for cfg in (model.config, model.generation_config):
        cfg.eos_token_id = tokenizer.eos_token_id
        cfg.pad_token_id = tokenizer.pad_token_id
        if tokenizer.bos_token_id is not None:
            cfg.bos_token_id = tokenizer.bos_token_id


def adds_bos(tokenizer) -> bool:
    """Whether encoding text puts the BOS token first. Read from the encoding itself: after a save and reload the
    post-processor adds it while the `add_bos_token` attribute may read False."""
    if tokenizer.bos_token_id is None:
        return False
    try:
        ids = tokenizer("a")["input_ids"]
    except Exception:
        return bool(getattr(tokenizer, "add_bos_token", False))
    return bool(ids) and ids[0] == tokenizer.bos_token_id
