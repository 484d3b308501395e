"""bus.redact: secrets never reach a file or a commit message."""

from __future__ import annotations

import pytest

from bus.redact import REDACTED, redact

HF = "hf_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5"
TOKENS = [
    HF,
    "sk-" + "abcdefghijklmnopqrstuvwx1234",
    "sk-ant-" + "api03-abcdefghijklmnopqrstuv",
    "sk-proj-" + "abcdefghijklmnopqrstuvwx",
    "ghp_" + "abcdefghijklmnopqrstuvwxyz0123",
    "gho_" + "abcdefghijklmnopqrstuvwxyz0123",
    "ghs_" + "abcdefghijklmnopqrstuvwxyz0123",
    "AKIA" + "ABCDEFGHIJKLMNOP",
]


@pytest.mark.parametrize("token", TOKENS)
def test_token_shapes_are_replaced(token):
    out = redact(f"before {token} after")
    assert token not in out
    assert out == f"before {REDACTED} after"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("api_key = supersecretvalue", f"api_key = {REDACTED}"),
        ("API-KEY: 'supersecretvalue'", f"API-KEY: '{REDACTED}'"),
        ('password="correct-horse-battery"', f'password="{REDACTED}"'),
        ("token: abcdefgh12345", f"token: {REDACTED}"),
        ("secret=0123456789", f"secret={REDACTED}"),
    ],
)
def test_key_value_secrets_keep_the_key_and_drop_the_value(text, expected):
    assert redact(text) == expected


def test_secret_env_var_value_is_replaced(monkeypatch):
    value = "not-a-known-shape-but-secret"
    monkeypatch.setenv("HF_TOKEN", value)
    out = redact(f"log line: using {value} for upload")
    assert value not in out
    assert out == f"log line: using {REDACTED} for upload"


def test_short_or_non_secret_env_values_are_left_alone(monkeypatch):
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")  # name matches, value too short to be a secret
    monkeypatch.setenv("MODEL_NAME", "embedded:tiny-model")  # value long, name not secret-like
    text = "parallelism is false for embedded:tiny-model"
    assert redact(text) == text


def test_every_secret_in_a_text_is_replaced():
    text = f"first {TOKENS[0]}\nsecond {TOKENS[4]}\nthird {TOKENS[-1]}\n"
    out = redact(text)
    assert out.count(REDACTED) == 3
    assert not any(t in out for t in TOKENS)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Train with learning_rate=1e-3 for 200 steps; max_length: 64.",
        "hf_short is not a token, nor is sk-short",
        "tokenizer=embedded:tiny and max_tokens: 64",
        "---\narxiv_id: '2402.03300'\ntitle: DeepSeekMath\n---\n\nGRPO normalises rewards per group.\n",
    ],
)
def test_ordinary_text_is_unchanged(text):
    assert redact(text) == text
