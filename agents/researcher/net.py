"""HTTP for the researcher: a timeout on every request, polite pauses, retries with backoff on 429 and 5xx,
an on-disk cache under the workspace's ignored .intern/ folder, and an 'offline' that is detected fast
and remembered for the rest of the run.

Offline is decided before any request when `research.online` is false, or when it is auto and
`intern go` already found the network unreachable (HF_HUB_OFFLINE=1). A connection error or timeout
marks its host unreachable for the rest of the process, so one failure costs one timeout, not one per
paper. The cache answers even offline: a rerun makes no request for what it already fetched.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlparse

import requests

from bus import Workspace
from bus.schemas import ResearchSettings, utc_now

# Module constants so a test can point them at a local server speaking the same protocol.
ARXIV_API = "https://export.arxiv.org/api/query?{}"
SEMANTIC_SCHOLAR_API = "https://api.semanticscholar.org/graph/v1"
ARXIV_HTML = "https://arxiv.org/html/{}"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
POLITE_DELAY_SECONDS = 1.0  # Semantic Scholar's unauthenticated limit is about one request a second
ARXIV_DELAY_SECONDS = 3.0  # arXiv's API terms: no more than one request every three seconds
BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0
USER_AGENT = "intern-researcher (https://github.com/; polite: one request at a time)"

_UNREACHABLE: dict[str, str] = {}  # host -> why, for the rest of this process (one `intern go`)


class NetError(Exception):
    """A request that did not give an answer: the service is down, refused, or answered nonsense."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status, when the service answered one


class Offline(NetError):
    """The network, or this host, cannot be reached; callers fall back to the cache and the knowledge base."""


@dataclass
class Net:
    online: bool
    why_offline: str
    timeout: float
    cache_dir: Path
    retries: int = 3
    backoff: float = 1.0  # seconds before the first retry, doubled each time
    delay: float = 1.0  # polite pause between two requests to the same host
    requests_made: int = 0
    notes: list[str] = field(default_factory=list)
    last_request: dict[str, float] = field(default_factory=dict)


def open_net(ws: Workspace, settings: ResearchSettings) -> Net:
    """The researcher's network for one step, online or not according to intern.yaml and the environment."""
    online, why = True, ""
    if settings.online is False:
        online, why = False, "research.online is false in intern.yaml"
    elif settings.online == "auto" and os.environ.get("HF_HUB_OFFLINE") == "1":
        online, why = False, "the network is unreachable (intern go set HF_HUB_OFFLINE=1)"
    return Net(
        online=online,
        why_offline=why,
        timeout=settings.timeout_seconds,
        cache_dir=ws.state_dir / "research",
        backoff=BACKOFF_SECONDS,
        delay=POLITE_DELAY_SECONDS,
    )


def cache_key(url: str, params: dict | None = None) -> str:
    return url + ("?" + urlencode(sorted((params or {}).items())) if params else "")


def _cache_file(net: Net, key: str) -> Path:
    return net.cache_dir / "http" / (hashlib.sha256(key.encode()).hexdigest()[:40] + ".json")


def _cache_entry(net: Net, key: str) -> dict | None:
    try:
        entry = json.loads(_cache_file(net, key).read_text())
    except (OSError, ValueError):
        return None  # absent or torn: fetch again
    return entry if isinstance(entry, dict) and isinstance(entry.get("body"), str) else None


def cache_get(net: Net, key: str) -> str | None:
    entry = _cache_entry(net, key)
    return entry["body"] if entry and entry.get("status", 200) == 200 else None


def cache_put(net: Net, key: str, body: str, status: int = 200) -> None:
    """Answers are kept, and so is a 404 (the service does not know that paper): neither is asked twice."""
    path = _cache_file(net, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    tmp.write_text(json.dumps({"key": key, "fetched": utc_now(), "status": status, "body": body}))
    os.replace(tmp, path)


def check_reachable(net: Net, url: str) -> str:
    """The host of `url`, or Offline at once when the step is offline or the host already failed."""
    if not net.online:
        raise Offline(net.why_offline)
    host = urlparse(url).netloc
    if host in _UNREACHABLE:
        raise Offline(_UNREACHABLE[host])
    return host


def mark_unreachable(host: str, exc: Exception) -> Offline:
    _UNREACHABLE[host] = f"{host} is unreachable ({type(exc).__name__})"
    return Offline(_UNREACHABLE[host])


def polite_wait(net: Net, host: str, at_least: float = 0.0) -> None:
    last = net.last_request.get(host)
    if last is not None:
        time.sleep(max(0.0, max(net.delay, at_least) - (time.monotonic() - last)))
    net.last_request[host] = time.monotonic()


def backoff_seconds(net: Net, attempt: int, retry_after: str | None = None) -> float:
    """Retry-After when the server gives one in seconds, else exponential; capped so nothing waits for long."""
    if retry_after and retry_after.strip().isdigit():
        return min(float(retry_after), MAX_BACKOFF_SECONDS)
    return min(net.backoff * 2**attempt, MAX_BACKOFF_SECONDS)


def get_text(net: Net, url: str, params: dict | None = None, headers: dict | None = None) -> str:
    """GET with the cache, one timeout per try, and retries with backoff on 429/5xx. Raises NetError or Offline.

    `headers` (an API key) are sent but are no part of the cache key and never logged."""
    key = cache_key(url, params)
    hit = _cache_entry(net, key)
    if hit is not None:
        if hit.get("status", 200) == 404:
            raise NetError(f"{urlparse(url).netloc} does not know {url} (HTTP 404, cached)", 404)
        return hit["body"]
    host = check_reachable(net, url)
    for attempt in range(net.retries + 1):
        polite_wait(net, host)
        net.requests_made += 1
        try:
            sent = {"User-Agent": USER_AGENT} | (headers or {})
            resp = requests.get(url, params=params, timeout=net.timeout, headers=sent)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise mark_unreachable(host, exc) from exc
        if resp.status_code in RETRY_STATUSES and attempt < net.retries:
            wait = backoff_seconds(net, attempt, resp.headers.get("Retry-After"))
            net.notes.append(f"{host} answered {resp.status_code}; retrying in {wait:g} s")
            time.sleep(wait)
            continue
        if resp.status_code == 404:
            cache_put(net, key, "", status=404)
        if resp.status_code != 200:
            raise NetError(f"{host} answered HTTP {resp.status_code} for {url}", resp.status_code)
        cache_put(net, key, resp.text)
        return resp.text
    raise AssertionError("unreachable")


def get_json(net: Net, url: str, params: dict | None = None, headers: dict | None = None) -> dict:
    text = get_text(net, url, params, headers)
    try:
        data = json.loads(text)
    except ValueError as exc:
        _cache_file(net, cache_key(url, params)).unlink(missing_ok=True)  # never serve a broken answer again
        raise NetError(f"{urlparse(url).netloc} sent something that is not JSON for {url}") from exc
    if not isinstance(data, dict):
        _cache_file(net, cache_key(url, params)).unlink(missing_ok=True)
        raise NetError(f"{urlparse(url).netloc} sent a JSON {type(data).__name__}, not an object, for {url}")
    return data


def forget_unreachable() -> None:
    """For tests and long-lived processes: try every host again."""
    _UNREACHABLE.clear()
