"""arXiv search with the `arxiv` client: a query built from the goal and the latest diagnosis, results cached.

The client paces its own requests (delay_seconds) but retries at once and sets no timeout; here each
request has the step's timeout (a session that adds it), and 429/5xx answers are retried with backoff.
Entries the feed parser drops (no id, no dates) and entries without a usable id, title or abstract are
skipped with a note, never fatal.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

import arxiv
import requests

from agents.researcher import net as netmod
from agents.researcher.net import Net, NetError
from bus.schemas import Goal

TASK_PHRASES = {
    "addition": "arithmetic",
    "gsm8k": "math word problems",
    "math": "mathematical reasoning",
    "gpqa": "scientific question answering",
    "custom": "reasoning",
}
METHOD_PHRASES = {
    "grpo": ("GRPO", "group relative policy optimization"),
    "sft": ("supervised fine-tuning", "distillation"),
}
# The critic's finding names, as papers would phrase them.
FINDING_PHRASES = {
    "no learning signal": ("zero advantage", "dynamic sampling"),
    "solved prompts": ("dynamic sampling",),
    "entropy collapse": ("entropy collapse",),
    "truncation / length blow-up": ("overlong", "response length"),
    "gradient blow-up": ("training instability",),
    "KL blow-up": ("KL divergence",),
    "instability": ("training instability",),
    "trust-region clipping high": ("importance sampling", "clipping"),
    "format-reward saturation": ("format reward",),
    "format reward stuck at 0": ("format reward",),
    "reward hacking": ("reward hacking",),
    "over-fitting": ("memorization",),
    "plateau": ("exploration",),
    "systematic demonstration error": ("noisy labels",),
    "cold start": ("cold start",),
}
_ARXIV_ABS = re.compile(r"abs/(\d{4}\.\d{4,5}|[a-z\-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?$")


def model_family(model: str) -> str | None:
    """'Qwen/Qwen3-1.7B' -> 'Qwen'; the embedded model and local paths have no family worth searching for."""
    if model.startswith("embedded:") or model.startswith(("/", ".", "~")):
        return None
    match = re.match(r"[A-Za-z]+", model.split("/")[-1])
    return match.group(0) if match and len(match.group(0)) > 2 else None


def build_query(goal: Goal, method: str, findings: list[str]) -> str:
    """An arXiv API query: the method AND (what went wrong, or else the task and model family).

    e.g. GRPO after an entropy collapse: (abs:"GRPO" OR abs:"group relative policy optimization") AND
    (abs:"entropy collapse").
    """
    method_terms = METHOD_PHRASES.get(method, (method,))
    focus = [p for f in findings for p in FINDING_PHRASES.get(f, (f,))]
    if not focus:
        focus = [TASK_PHRASES.get(goal.task.name, goal.task.name)]
        family = model_family(goal.model)
        if family:
            focus.append(family)
    focus = list(dict.fromkeys(focus))

    def clause(terms) -> str:
        return " OR ".join(f'abs:"{t}"' for t in terms)

    return f"({clause(method_terms)}) AND ({clause(focus)})"


class _TimeoutSession(requests.Session):
    """The arxiv client calls session.get without a timeout; a request must never hang. Counts requests too."""

    def __init__(self, net: Net) -> None:
        super().__init__()
        self.net = net

    def request(self, *args, **kwargs):  # type: ignore[override]
        kwargs.setdefault("timeout", self.net.timeout)
        self.net.requests_made += 1
        return super().request(*args, **kwargs)


@contextmanager
def _feed_warnings() -> Iterator[list[str]]:
    """What the arxiv feed parser logs while it skips entries, collected for the step's notes."""
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    handler = Collect(level=logging.WARNING)
    logger = logging.getLogger("arxiv")
    logger.addHandler(handler)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)


def _paper(result: arxiv.Result, notes: list[str]) -> dict | None:
    match = _ARXIV_ABS.search(result.entry_id or "")
    title = " ".join((result.title or "").split())
    summary = " ".join((result.summary or "").split())
    if match is None or not title or not summary:
        notes.append(f"skipped a malformed arXiv entry ({result.entry_id or 'no id'}): no usable id, title or abstract")
        return None
    return {
        "arxiv_id": match.group(1),
        "title": title,
        "short": title.split(":")[0][:40],
        "year": result.published.year,
        "summary": summary,
        "url": f"https://arxiv.org/abs/{match.group(1)}",
        "categories": list(result.categories),
        "source": "arxiv",
    }


def search_arxiv(net: Net, query: str, max_results: int) -> list[dict]:
    """Papers for `query`, most relevant first, from the cache when this exact search ran before."""
    key = f"arxiv-search {netmod.ARXIV_API} {query} {max_results}"
    hit = netmod.cache_get(net, key)
    if hit is not None:
        return json.loads(hit)
    host = netmod.check_reachable(net, netmod.ARXIV_API)
    pause = max(net.delay, netmod.ARXIV_DELAY_SECONDS)
    client = arxiv.Client(page_size=max_results, delay_seconds=pause, num_retries=0)
    client.query_url_format = netmod.ARXIV_API
    client._session = _TimeoutSession(net)  # the client's own session has no timeout
    search = arxiv.Search(query=query, max_results=max_results)
    results: list[arxiv.Result] = []
    for attempt in range(net.retries + 1):
        netmod.polite_wait(net, host, pause)
        results = []
        with _feed_warnings() as warnings:
            try:
                results.extend(client.results(search))
            except arxiv.UnexpectedEmptyPageError:
                # The feed counts entries its parser dropped, so the client asks for a page that is empty.
                net.notes.append(f"arXiv sent an empty later page; keeping the {len(results)} results before it")
            except arxiv.HTTPError as exc:
                if exc.status in netmod.RETRY_STATUSES and attempt < net.retries:
                    wait = netmod.backoff_seconds(net, attempt)
                    net.notes.append(f"arXiv answered {exc.status}; retrying in {wait:g} s")
                    time.sleep(wait)
                    continue
                raise NetError(f"arXiv answered HTTP {exc.status} for {query!r}") from exc
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise netmod.mark_unreachable(host, exc) from exc
            except arxiv.ArxivError as exc:
                raise NetError(f"arXiv search failed: {exc}") from exc
        net.notes += [f"arXiv feed: {line}" for line in warnings]
        break
    papers = [p for r in results if (p := _paper(r, net.notes)) is not None]
    papers = list({p["arxiv_id"]: p for p in reversed(papers)}.values())[::-1]  # one entry per paper, first kept
    netmod.cache_put(net, key, json.dumps(papers))
    return papers
