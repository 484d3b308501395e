"""Keep secrets out of every file the bus writes and every commit message."""

from __future__ import annotations

import os
import re

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
