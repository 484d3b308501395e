"""The researcher's HTTP layer against a local HTTP server (see conftest.py): retries, cache, offline."""

from __future__ import annotations

import socket
import time

import pytest

from agents.researcher import net
from agents.researcher.net import Net, NetError, Offline, get_json, get_text, open_net
from bus.schemas import ResearchSettings


def _net(tmp_path, **kw) -> Net:
    return Net(
        **({"online": True, "why_offline": "", "timeout": 5, "cache_dir": tmp_path, "delay": 0, "backoff": 0.01} | kw)
    )


def test_429_then_200_is_retried_with_backoff_and_cached(services, tmp_path):
    services.route("/graph/v1/paper/x", (429, '{"message": "Too Many Requests"}'), (503, "busy"), '{"ok": 1}')
    n = _net(tmp_path)
    assert get_json(n, services.base + "/graph/v1/paper/x", {"fields": "title"}) == {"ok": 1}
    assert services.count("/graph/v1/paper/x") == 3 and n.requests_made == 3
    host = services.base.removeprefix("http://")
    assert [line.split(";")[0] for line in n.notes] == [f"{host} answered 429", f"{host} answered 503"]
    # The second call, same parameters, is answered from the cache: no request.
    assert get_json(n, services.base + "/graph/v1/paper/x", {"fields": "title"}) == {"ok": 1}
    assert services.count("/graph/v1/paper/x") == 3


def test_retry_after_is_honoured_but_capped():
    n = Net(online=True, why_offline="", timeout=1, cache_dir=None, backoff=1.0)  # type: ignore[arg-type]
    assert net.backoff_seconds(n, 0, "2") == 2.0
    assert net.backoff_seconds(n, 0, "3600") == net.MAX_BACKOFF_SECONDS
    assert [net.backoff_seconds(n, a) for a in range(3)] == [1.0, 2.0, 4.0]
    assert net.backoff_seconds(n, 10) == net.MAX_BACKOFF_SECONDS


def test_persistent_5xx_gives_up_with_a_clear_error(services, tmp_path):
    services.route("/graph/v1/down", (503, "Service Unavailable"))
    n = _net(tmp_path, retries=2)
    with pytest.raises(NetError, match="answered HTTP 503"):
        get_text(n, services.base + "/graph/v1/down")
    assert services.count("/graph/v1/down") == 3  # one try and two retries, no more


def test_a_404_is_not_retried(services, tmp_path):
    with pytest.raises(NetError, match="HTTP 404"):
        get_text(_net(tmp_path), services.base + "/nothing/here")
    assert services.count("/nothing") == 1


def test_a_refused_connection_is_offline_at_once_and_remembered(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    n = _net(tmp_path)
    start = time.monotonic()
    with pytest.raises(Offline, match="unreachable"):
        get_text(n, f"http://127.0.0.1:{port}/a")
    with pytest.raises(Offline):
        get_text(n, f"http://127.0.0.1:{port}/b")  # the host is known to be down: no second try
    assert n.requests_made == 1
    assert time.monotonic() - start < 5
    net.forget_unreachable()


def test_offline_settings_make_no_request_but_the_cache_still_answers(services, tmp_path, ws, monkeypatch):
    services.route("/graph/v1/cached", '{"v": 2}')
    assert get_json(_net(tmp_path), services.base + "/graph/v1/cached") == {"v": 2}
    cut = _net(tmp_path, online=False, why_offline="research.online is false")
    assert get_json(cut, services.base + "/graph/v1/cached") == {"v": 2}
    with pytest.raises(Offline, match="research.online is false"):
        get_json(cut, services.base + "/graph/v1/other")
    assert services.count("/graph/v1/") == 1

    assert not open_net(ws, ResearchSettings(online=False)).online
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    auto = open_net(ws, ResearchSettings())
    assert not auto.online and "HF_HUB_OFFLINE" in auto.why_offline
    assert open_net(ws, ResearchSettings(online=True)).online  # forced on: the user says the network is there
    assert auto.cache_dir == ws.root / ".intern" / "research"


def test_a_broken_json_answer_is_an_error_and_not_cached(services, tmp_path):
    services.route("/graph/v1/bad", "<html>maintenance</html>", '{"fixed": true}')
    n = _net(tmp_path)
    with pytest.raises(NetError, match="not JSON"):
        get_json(n, services.base + "/graph/v1/bad")
    assert get_json(n, services.base + "/graph/v1/bad") == {"fixed": True}


def test_a_server_slower_than_the_timeout_does_not_hang_the_step(services, tmp_path):
    services.route("/graph/v1/slow", (200, "{}", {}, 3.0))
    n = _net(tmp_path, timeout=0.3)
    start = time.monotonic()
    with pytest.raises(Offline, match="ReadTimeout"):
        get_text(n, services.base + "/graph/v1/slow")
    with pytest.raises(Offline):
        get_text(n, services.base + "/graph/v1/other")  # the host is remembered as unreachable
    assert time.monotonic() - start < 2.5 and services.count("/graph/v1/") == 1


def test_requests_to_one_host_are_spaced_by_the_polite_delay(services, tmp_path, monkeypatch):
    services.route("/graph/v1/a", "{}")
    services.route("/graph/v1/b", "{}")
    slept: list[float] = []
    # Record the pauses instead of taking them (the local server's own zero sleeps are left out).
    monkeypatch.setattr(net.time, "sleep", lambda s: slept.append(s) if s > 0 else None)
    n = _net(tmp_path, delay=1.0)
    get_text(n, services.base + "/graph/v1/a")
    get_text(n, services.base + "/graph/v1/b")
    assert len(slept) == 1 and 0.5 < slept[0] <= 1.0  # the second request waits out the rest of the second
    n.last_request.clear()
    net.polite_wait(n, "export.arxiv.org")
    net.polite_wait(n, "export.arxiv.org", at_least=3.0)  # arXiv asks for three seconds between requests
    assert slept[-1] == pytest.approx(3.0, abs=0.5)
