"""Hub discovery against a local HTTP server that answers like the Hub and the dataset viewer.

The server (http.server in a thread) replays responses in the shapes the real services return and
huggingface_hub 1.33's hf_api.py parses: `GET /api/datasets?search=...` (a list of dataset infos),
`GET /api/datasets/<id>?blobs=true` (one info with cardData and siblings, or an error with the Hub's
`X-Error-Code` header), and the dataset viewer's `GET /info?dataset=<id>` (`dataset_info` per config
with `features` and `splits`). `HfApi(endpoint=...)` points the real client at it; nothing leaves the machine.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from agents.curator import discovery
from agents.curator.discovery import discover, search_terms
from bus.schemas import DataSpec, Goal, TaskSpec


def _listed(repo: str, downloads: int, gated: bool | str = False) -> dict:
    return {
        "_id": "65" + str(abs(hash(repo)))[:22],
        "id": repo,
        "author": repo.split("/")[0],
        "sha": "e53f048856ff4f594e959d75785d2c2d37b678ee",
        "lastModified": "2024-01-04T12:05:15.000Z",
        "private": False,
        "gated": gated,
        "disabled": False,
        "downloads": downloads,
        "likes": 600,
        "tags": ["task_categories:text2text-generation", "language:en", "license:mit", "size_categories:1K<n<10K"],
        "createdAt": "2022-04-12T10:22:10.000Z",
        "key": "",
    }


def _info(repo: str, downloads: int, license_: str, gated: bool | str = False) -> dict:
    return {
        **_listed(repo, downloads, gated),
        "cardData": {
            "annotations_creators": ["crowdsourced"],
            "language": ["en"],
            "license": [license_],
            "size_categories": ["1K<n<10K"],
            "task_categories": ["text2text-generation"],
            "pretty_name": repo.split("/")[1],
            "configs": [{"config_name": "main", "data_files": [{"split": "train", "path": "main/train-*"}]}],
        },
        "siblings": [
            {"rfilename": "README.md", "size": 7898, "blobId": "3a2b5e4f0c1d"},
            {
                "rfilename": "main/train-00000-of-00001.parquet",
                "size": 2306545,
                "blobId": "9f1e2d3c4b5a",
                "lfs": {"size": 2306545, "sha256": "a" * 64, "pointerSize": 134},
            },
        ],
        "usedStorage": 2306545,
    }


def _viewer(columns: list[str], rows: int) -> dict:
    return {
        "dataset_info": {
            "main": {
                "description": "",
                "citation": "",
                "homepage": "",
                "license": "",
                "features": {c: {"dtype": "string", "_type": "Value"} for c in columns},
                "builder_name": "parquet",
                "dataset_name": "x",
                "config_name": "main",
                "version": {"version_str": "0.0.0", "major": 0, "minor": 0, "patch": 0},
                "splits": {
                    "train": {"name": "train", "num_bytes": 3963202, "num_examples": rows, "dataset_name": None}
                },
                "download_size": 2306545,
                "dataset_size": 3963202,
            }
        },
        "pending": [],
        "failed": [],
        "partial": False,
    }


HUB = {
    "openai/gsm8k": (_info("openai/gsm8k", 400_000, "mit"), _viewer(["question", "answer"], 7473)),
    "someone/gsm8k-nc": (_info("someone/gsm8k-nc", 900, "cc-by-nc-4.0"), _viewer(["question", "answer"], 500)),
    "someone/gsm8k-images": (_info("someone/gsm8k-images", 5000, "mit"), _viewer(["image", "label"], 100)),
    "lab/gsm8k-gated": (_info("lab/gsm8k-gated", 80_000, "mit", gated="manual"), None),
    "lab/gsm8k-gone": (None, None),  # listed, then 404 RepoNotFound
    "lab/gsm8k-broken": ("500", None),  # the Hub answers 500
}


class HubHandler(BaseHTTPRequestHandler):
    calls: list[str] = []

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def _send(self, status: int, body: object, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = parse_qs(url.query)
        HubHandler.calls.append(self.path)
        if url.path == "/api/datasets":
            term = query["search"][0].lower()
            hits = [
                _listed(r, (i or {}).get("downloads", 1) if isinstance(i, dict) else 1) for r, (i, _) in HUB.items()
            ]
            matching = [h for h in hits if "gsm8k" in term or term in h["id"]]
            matching.sort(key=lambda h: -h["downloads"])
            return self._send(200, matching[: int(query.get("limit", ["100"])[0])])
        if url.path.startswith("/api/datasets/"):
            repo = url.path.removeprefix("/api/datasets/")
            info = HUB.get(repo, (None, None))[0]
            if info == "500":
                return self._send(500, {"error": "Internal Error"})
            if info is None:
                return self._send(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
            return self._send(200, info)
        if url.path == "/info":
            viewer = HUB.get(query["dataset"][0], (None, None))[1]
            return self._send(200, viewer) if viewer else self._send(404, {"error": "not found"})
        self._send(404, {"error": "unknown path"})


@pytest.fixture
def hub(monkeypatch):
    from huggingface_hub import HfApi, constants

    server = ThreadingHTTPServer(("127.0.0.1", 0), HubHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # The suite runs offline; this test's traffic goes only to the local server.
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    HubHandler.calls = []
    url = f"http://127.0.0.1:{server.server_address[1]}"
    yield HfApi(endpoint=url, token=False), url
    server.shutdown()


def test_shortlist_by_fit_and_report_gated_missing_and_unreachable(hub):
    api, url = hub
    goal = Goal(task=TaskSpec(name="gsm8k"), data=DataSpec(hub_candidates=10))
    found = discover(goal, api=api, viewer=url, timeout=5)
    assert [c.id for c in found.shortlist] == ["openai/gsm8k", "someone/gsm8k-nc"]
    best = found.shortlist[0]
    assert best.mapping == {"prompt": "question", "answer": "answer"}
    assert best.license == "mit" and best.train_rows == 7473 and best.config == "main"
    assert best.score > found.shortlist[1].score  # permissive, larger, more downloaded
    problems = {c.id: c.problem for c in found.rejected}
    assert problems["lab/gsm8k-gated"].startswith("gated (manual)")
    assert problems["lab/gsm8k-gone"].startswith("not found")
    assert problems["lab/gsm8k-broken"].startswith("unreachable")
    assert "no column layout fits" in problems["someone/gsm8k-images"]
    # One try each: the broken dataset was asked for once, not retried.
    assert sum("/api/datasets/lab/gsm8k-broken" in c for c in HubHandler.calls) == 1
    assert any("blobs=true" in c.lower() for c in HubHandler.calls)  # read with files_metadata
    assert found.to_dict()["shortlist"][0]["id"] == "openai/gsm8k"


def test_offline_skips_the_search_with_one_note(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    found = discover(Goal())
    assert found.shortlist == [] and found.rejected == []
    assert found.notes == ["Hub search skipped: this machine is offline (HF_HUB_OFFLINE=1)"]


def test_a_hub_that_never_answers_times_out(monkeypatch):
    import socket

    from huggingface_hub import HfApi, constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts connections, never answers
    try:
        api = HfApi(endpoint=f"http://127.0.0.1:{silent.getsockname()[1]}", token=False)
        found = discover(Goal(task=TaskSpec(name="gsm8k")), api=api, viewer="http://127.0.0.1:9", timeout=0.5)
    finally:
        silent.close()
    assert found.shortlist == []
    assert "no answer within 0.5 s" in found.notes[0] and "not retried" in found.notes[0]


def test_search_terms_come_from_the_goal():
    assert search_terms(Goal(task=TaskSpec(name="gsm8k"))) == ["gsm8k", "grade school math"]
    custom = Goal(
        task=TaskSpec(name="custom", dataset="org/my-quiz", columns={"prompt": "q", "answer": "a"}, grader="exact")
    )
    assert search_terms(custom) == ["my-quiz"]
    assert discovery.fit_score(discovery.Candidate("x", license="mit", train_rows=5000)) == 5.5
