"""Keep secrets out of every file the bus writes and every commit message."""

from __future__ import annotations

import os
import re

# Token shapes of the services intern talks to, plus generic `key = value` secrets.
_PATTERNS = [
    re.compile(r"hf_[A-Za-z0-9]{20,}"),
    re.compile(r"sk-(?:ant-|proj-)?[A-Za-z0-9_\-]{20,}"),
    re.compile(r"gh[pousr]_[A-Za-z0-9]{20,}"),
    re.compile(r"AKIA[0-9A-Z]{16}"),
    re.compile(r"(?i)((?:api[_-]?key|token|secret|password)\s*[:=]\s*['\"]?)([^\s'\"]{8,})"),
]
_SECRET_ENV = re.compile(r"(?i)(TOKEN|SECRET|PASSWORD|API_KEY)")
REDACTED = "[REDACTED]"


def _env_secrets() -> list[str]:
    return [v for k, v in os.environ.items() if _SECRET_ENV.search(k) and len(v) >= 8]


def redact(text: str) -> str:
    """Replace anything that looks like a secret, and the value of any secret env var, by [REDACTED]."""
    for value in _env_secrets():
        text = text.replace(value, REDACTED)
    for pattern in _PATTERNS:
        if pattern.groups == 2:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text
