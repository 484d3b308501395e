"""A local HTTP server that speaks arXiv's and Semantic Scholar's protocols from recorded responses.

The researcher's real client code (the `arxiv` package, requests) talks to it over real sockets; the
module constants in agents/researcher/net.py are pointed at it. Each route serves its responses in
order (the last one repeats), so a test can answer 429 and then 200; every request is counted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import pytest

from agents.researcher import net

RECORDED = Path(__file__).parent / "recorded"


@dataclass
class Reply:
    status: int = 200
    body: str = ""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering: a server slower than the client's timeout


@dataclass
class FakeServices:
    base: str
    routes: dict[str, list[Reply]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)  # path?query of every request, in order
    headers: list[dict[str, str]] = field(default_factory=list)  # and the headers each was sent with

    def route(self, path: str, *replies: str | tuple) -> None:
        """Replies in order: a body (200), or (status, body[, headers[, delay seconds]])."""
        kind = "application/atom+xml" if "/api/" in path else "text/html" if "/html/" in path else "application/json"
        out = []
        for reply in replies:
            status, body, headers, delay = (200, reply, {}, 0.0) if isinstance(reply, str) else (*reply, {}, 0.0)[:4]
            out.append(Reply(status, body, kind, headers, delay))
        self.routes[path] = out

    def count(self, path_prefix: str) -> int:
        return sum(1 for r in self.requests if r.startswith(path_prefix))


@pytest.fixture
def recorded():
    """Read a recorded response by file name."""
    return lambda name: (RECORDED / name).read_text()


def _handler(services: FakeServices):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            services.requests.append(self.path)
            services.headers.append(dict(self.headers))
            path = urlparse(self.path).path
            replies = services.routes.get(path)
            if not replies:
                reply = Reply(404, '{"error": "Not found"}')
            else:
                reply = replies.pop(0) if len(replies) > 1 else replies[0]
            time.sleep(reply.delay)
            data = reply.body.encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(data)))
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    return Handler


@pytest.fixture
def services(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServices]:
    """The fake services, online: HF_HUB_OFFLINE is lifted, pauses and backoff shrunk to milliseconds."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), None)  # type: ignore[arg-type]
    server.handle_error = lambda request, address: None  # a client that timed out and left is expected
    base = f"http://127.0.0.1:{server.server_address[1]}"
    fake = FakeServices(base=base)
    server.RequestHandlerClass = _handler(fake)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    monkeypatch.setattr(net, "ARXIV_API", base + "/api/query?{}")
    monkeypatch.setattr(net, "SEMANTIC_SCHOLAR_API", base + "/graph/v1")
    monkeypatch.setattr(net, "ARXIV_HTML", base + "/html/{}")
    monkeypatch.setattr(net, "POLITE_DELAY_SECONDS", 0.0)
    monkeypatch.setattr(net, "BACKOFF_SECONDS", 0.01)
    monkeypatch.setattr(net, "ARXIV_DELAY_SECONDS", 0.0)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    net.forget_unreachable()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        net.forget_unreachable()
