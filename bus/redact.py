"""Keep secrets out of every file the bus writes and every commit message."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

# Token shapes of the services intern talks to (and those a person is likely to paste), each with a
# name the notices use: the kind of secret is said, never the secret.
_B = r"(?<![A-Za-z0-9_\-])"  # a token starts at a word edge: `task-...` is not an OpenAI key
_NAMED = [
    ("Hugging Face token", re.compile(_B + r"hf_[A-Za-z0-9]{20,}")),
    ("OpenAI/Anthropic key", re.compile(_B + r"sk-(?:ant-|proj-)?[A-Za-z0-9_\-]{20,}")),
    ("GitHub token", re.compile(_B + r"(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})")),
    ("AWS access key id", re.compile(_B + r"(?:AKIA|ASIA)[0-9A-Z]{16}(?![0-9A-Z])")),
    ("bearer token", re.compile(r"(?i)(\bbearer\s+)([A-Za-z0-9._~+/\-]{16,}=*)")),
    (
        "AWS secret key",
        re.compile(r"(?i)(aws_secret_access_key\s*[:=]\s*['\"]?)([A-Za-z0-9/+]{30,})"),
    ),
    ("secret value", re.compile(r"(?i)((?:api[_-]?key|token|secret|password)\s*[:=]\s*['\"]?)([^\s'\"]{8,})")),
]
_PATTERNS = [pattern for _, pattern in _NAMED]
# Substrings (lowercase) one of which every pattern above needs: a text holding none of them holds no token shape,
# and testing them is many times faster than the patterns, which matters for a data file's millions of rows.
_HINTS = (
    "hf_", "sk-", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "akia", "asia", "bearer", "aws_secret", "api",
    "token", "secret", "password",
)  # fmt: skip
_SECRET_ENV = re.compile(r"(?i)(TOKEN|SECRET|PASSWORD|API_KEY)")
REDACTED = "[REDACTED]"


def _env_secrets() -> list[tuple[str, str]]:
    return [(k, v) for k, v in os.environ.items() if _SECRET_ENV.search(k) and len(v) >= 8]


def _mask(pattern: re.Pattern, text: str) -> str:
    if pattern.groups == 2:
        return pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return pattern.sub(REDACTED, text)


def redact(text: str) -> str:
    """Replace anything that looks like a secret, and the value of any secret env var, by [REDACTED]."""
    for _, value in _env_secrets():
        text = text.replace(value, REDACTED)
    for pattern in _PATTERNS:
        text = _mask(pattern, text)
    return text


def find_secrets(text: str) -> list[str]:
    """The kinds of secret in `text` (e.g. 'Hugging Face token', 'the value of $HF_TOKEN'), without the secrets."""
    kinds = [f"the value of ${name}" for name, value in _env_secrets() if value in text]
    for _, value in _env_secrets():
        text = text.replace(value, REDACTED)
    for kind, pattern in _NAMED:
        if pattern.search(text):
            kinds.append(kind)
            text = _mask(pattern, text)
    return kinds


class Masker:
    """`redact` for many strings (the rows of a data file): the environment's secret values are read once, and
    `masked` counts the strings it changed."""

    def __init__(self) -> None:
        self._env = [value for _, value in _env_secrets()]
        self.masked = 0

    def could_hold(self, text: str) -> bool:
        """False when `text` surely holds no secret (a quick test of substrings every secret shape needs)."""
        lower = text.lower()
        return any(hint in lower for hint in _HINTS) or any(value in text for value in self._env)

    def text(self, text: str) -> str:
        if not self.could_hold(text):
            return text
        out = text
        for value in self._env:
            out = out.replace(value, REDACTED)
        for pattern in _PATTERNS:
            out = _mask(pattern, out)
        return out

    def value(self, value: object) -> tuple[object, bool]:
        """A row (or any JSON value) with every string masked, and whether anything was."""
        if isinstance(value, str):
            clean = self.text(value)
            return clean, clean != value
        if isinstance(value, dict):
            pairs = [(k, self.value(v)) for k, v in value.items()]
            return {k: v for k, (v, _) in pairs}, any(hit for _, (_, hit) in pairs)
        if isinstance(value, list):
            items = [self.value(v) for v in value]
            return [v for v, _ in items], any(hit for _, hit in items)
        return value, False

    def row(self, row: dict) -> tuple[dict, bool]:
        clean, hit = self.value(row)
        return clean, hit  # type: ignore[return-value]


def file_secrets(path: Path) -> list[str]:
    """The kinds of secret anywhere in a file, read in a stream (1 MiB at a time; a Parquet file a batch of rows at a
    time), so a file of any size is scanned in bounded memory. Bytes are read as Latin-1: every token shape above is
    ASCII, so none is missed in a binary or mis-encoded file, and a UTF-8 file's tokens read the same."""
    kinds: dict[str, None] = {}
    masker = Masker()
    texts = _parquet_strings(path) if path.suffix.lower() == ".parquet" else _chunks(path)
    for text in texts:
        if masker.could_hold(text):
            kinds.update(dict.fromkeys(find_secrets(text)))
    return list(kinds)


_CHUNK = 1 << 20
_OVERLAP = 4096  # each chunk starts with the end of the one before, so a token across the boundary is whole in one


def _chunks(path: Path) -> Iterator[str]:
    with path.open("rb") as fh:
        tail = b""
        while block := fh.read(_CHUNK):
            yield (tail + block).decode("latin-1")
            tail = block[-_OVERLAP:]


def _parquet_strings(path: Path) -> Iterator[str]:
    try:
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=4096):
            for column in batch.columns:
                yield "\n".join(v if isinstance(v, str) else str(v) for v in column.to_pylist())
    except Exception:  # not a readable Parquet file: its raw bytes are what git would keep
        yield from _chunks(path)
