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


KEY_VALUES = ["api_key = supersecretvalue", "Authorization: Bearer abcdefghijklmnop1234", "password=hunter2hunter2"]


@pytest.mark.parametrize("text", TOKENS + KEY_VALUES)
def test_the_masker_misses_no_kind_of_secret_its_quick_test_skips(text):
    from bus.redact import Masker

    masker = Masker()
    assert masker.could_hold(f"row {text} end")
    assert masker.text(f"row {text} end") == redact(f"row {text} end") != f"row {text} end"
    assert masker.value({"a": [f"x {text}"], "b": 3}) == ({"a": [redact(f"x {text}")], "b": 3}, True)


def test_file_secrets_scans_a_file_in_chunks_and_finds_a_token_across_a_boundary(tmp_path, monkeypatch):
    from bus import redact as redact_module

    monkeypatch.setattr(redact_module, "_CHUNK", 64)
    path = tmp_path / "big.jsonl"
    path.write_bytes(b" " * 50 + HF.encode() + b"\n" + b"\xff\xfe binary " + b"y" * 500 + b"\n")
    assert redact_module.file_secrets(path) == ["Hugging Face token"]
    clean = tmp_path / "clean.txt"
    clean.write_text("nothing here\n" * 100)
    assert redact_module.file_secrets(clean) == []


def test_file_secrets_reads_parquet_values(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from bus.redact import file_secrets

    path = tmp_path / "rows.parquet"
    pq.write_table(pa.Table.from_pylist([{"q": "fine", "n": 1}, {"q": f"k {TOKENS[-1]}", "n": 2}]), path)
    assert file_secrets(path) == ["AWS access key id"]
