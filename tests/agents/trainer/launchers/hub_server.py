"""A local HTTP server speaking the few Hugging Face Hub and Jobs endpoints huggingface_hub 1.33 calls.

Not a mock of intern: the real `HfApi` client talks HTTP to it. Paths, methods and JSON shapes are
the ones in huggingface_hub/hf_api.py, _commit_api.py, _jobs_api.py and file_download.py:
whoami-v2, repos/create, validate-yaml, preupload + commit (regular, base64 files), revision + tree + resolve
(snapshot_download), and jobs: create, inspect, logs (server-sent events), cancel. A job walks
through the stages it was given, one per inspect; `on_complete` plays the job's own push, or
`run_here` runs the job's work for real in a thread (the job stays RUNNING until it ends).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse


@dataclass
class FakeHub:
    token: str
    stages: list[str] = field(default_factory=lambda: ["SCHEDULING", "RUNNING", "COMPLETED"])
    message: str | None = None
    log_lines: list[str] = field(default_factory=list)
    on_complete: Callable[[FakeHub], None] | None = None
    run_here: Callable[[FakeHub], None] | None = None  # the job's work, run in a thread while it is RUNNING
    files: dict[str, dict[str, bytes]] = field(default_factory=dict)  # repo -> path -> content
    jobs: dict[str, dict] = field(default_factory=dict)
    job_requests: list[dict] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    created: list[dict] = field(default_factory=list)  # repos/create bodies: name and visibility
    validated: list[str] = field(default_factory=list)  # README.md contents sent to validate-yaml
    public: set[str] = field(default_factory=set)  # repos created public (the others are private)
    requests: list[tuple[str, str]] = field(default_factory=list)
    url: str = ""

    def push(self, repo: str, path: str, content: bytes) -> None:
        self.files.setdefault(repo, {})[path] = content

    def sha(self, repo: str) -> str:
        digest = hashlib.sha1()
        for path, content in sorted(self.files.get(repo, {}).items()):
            digest.update(path.encode() + hashlib.sha1(content).digest())
        return digest.hexdigest()


def _handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _send(self, status: int, body: bytes = b"", ctype: str = "application/json", headers=None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, data, status: int = 200) -> None:
            self._send(status, json.dumps(data).encode())

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _authorized(self) -> bool:
            if self.headers.get("authorization") != f"Bearer {hub.token}":
                self._json({"error": "Invalid credentials in Authorization header"}, 401)
                return False
            return True

        def _job(self, job_id: str, advance: bool) -> dict:
            job = hub.jobs[job_id]
            worker = job.get("_worker")
            if worker is not None and worker.is_alive():
                job["status"]["stage"] = "RUNNING"  # the job's work (run_here) is still going
                advance = False
            if advance and job["_i"] < len(hub.stages) - 1 and job["status"]["stage"] != "CANCELED":
                job["_i"] += 1
                if hub.stages[job["_i"]] == "COMPLETED" and hub.on_complete:
                    hub.on_complete(hub)
                job["status"]["stage"] = hub.stages[job["_i"]]
                if job["status"]["stage"] in ("ERROR", "CANCELED"):
                    job["status"]["message"] = hub.message
            return {k: v for k, v in job.items() if not k.startswith("_")}

        def do_GET(self) -> None:
            self._route("GET")

        def do_HEAD(self) -> None:
            self._route("HEAD")

        def do_POST(self) -> None:
            self._route("POST")

        def _route(self, method: str) -> None:
            path = urlparse(self.path).path
            parts = path.strip("/").split("/")
            hub.requests.append((method, path))
            body = self._body() if method == "POST" else b""
            if not self._authorized():
                return
            if path == "/api/whoami-v2":
                return self._json({"name": "tester", "type": "user", "auth": {"type": "access_token"}})
            if path == "/api/validate-yaml":  # upload_folder sends README.md here first
                content = json.loads(body)["content"]
                hub.validated.append(content)
                return self._json(*_validate_yaml(content))
            if path == "/api/repos/create":
                data = json.loads(body)
                repo = f"{data.get('organization') or 'tester'}/{data['name']}"
                hub.created.append({"name": data["name"], "visibility": data.get("visibility")})
                if data.get("visibility") != "private" and repo not in hub.files:
                    hub.public.add(repo)
                hub.files.setdefault(repo, {})
                return self._json({"url": f"{hub.url}/{repo}", "name": repo, "id": repo})
            if parts[:2] == ["api", "models"] and len(parts) >= 6 and parts[4] in ("preupload", "commit"):
                repo = f"{parts[2]}/{parts[3]}"
                if parts[4] == "preupload":
                    files = json.loads(body)["files"]
                    return self._json(
                        {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]}
                    )
                for line in body.decode().splitlines():
                    item = json.loads(line)
                    if item["key"] == "file":
                        hub.push(repo, item["value"]["path"], base64.b64decode(item["value"]["content"]))
                oid = hub.sha(repo)
                return self._json({"commitUrl": f"{hub.url}/{repo}/commit/{oid}", "commitOid": oid})
            if parts[:2] == ["api", "models"] and len(parts) == 4 and method == "GET":  # model_info
                repo = f"{parts[2]}/{parts[3]}"
                if repo not in hub.files:
                    return self._json({"error": "Repository not found"}, 404)
                info = {"id": repo, "modelId": repo, "sha": hub.sha(repo), "private": repo not in hub.public}
                return self._json({**info, "siblings": [{"rfilename": p} for p in sorted(hub.files[repo])]})
            if parts[:2] == ["api", "models"] and len(parts) >= 6 and parts[4] == "revision":
                repo = f"{parts[2]}/{parts[3]}"
                siblings = [{"rfilename": p} for p in sorted(hub.files.get(repo, {}))]
                return self._json({"id": repo, "modelId": repo, "sha": hub.sha(repo), "siblings": siblings})
            if parts[:2] == ["api", "models"] and len(parts) >= 6 and parts[4] == "tree":
                repo = f"{parts[2]}/{parts[3]}"
                entries = [
                    {"type": "file", "path": p, "size": len(c), "oid": hashlib.sha1(c).hexdigest()}
                    for p, c in sorted(hub.files.get(repo, {}).items())
                ]
                return self._json(entries)
            if len(parts) >= 5 and parts[2] == "resolve":
                repo, file_path = f"{parts[0]}/{parts[1]}", "/".join(parts[4:])
                content = hub.files.get(repo, {}).get(file_path)
                if content is None:
                    return self._json({"error": "Entry not found"}, 404)
                headers = {"X-Repo-Commit": hub.sha(repo), "ETag": f'"{hashlib.sha1(content).hexdigest()}"'}
                return self._send(200, content, "application/octet-stream", headers)
            if parts[:2] == ["api", "jobs"] and len(parts) == 3 and method == "POST":
                spec = json.loads(body)
                hub.job_requests.append(spec)
                job_id = f"job{len(hub.jobs) + 1:04d}"
                hub.jobs[job_id] = {
                    "_i": 0,
                    "id": job_id,
                    "createdAt": "2026-11-27T12:00:00.000Z",
                    "owner": {"id": "u1", "name": parts[2], "type": "user"},
                    "dockerImage": spec.get("dockerImage"),
                    "command": spec["command"],
                    "environment": spec["environment"],
                    "flavor": spec["flavor"],
                    "labels": spec.get("labels"),
                    "status": {"stage": hub.stages[0], "message": None},
                }
                if hub.run_here:  # run the job's work in the background, as the service would
                    hub.jobs[job_id]["_worker"] = threading.Thread(target=hub.run_here, args=(hub,), daemon=True)
                    hub.jobs[job_id]["_worker"].start()
                return self._json(self._job(job_id, advance=False))
            if parts[:2] == ["api", "jobs"] and len(parts) == 4:
                return self._json(self._job(parts[3], advance=True))
            if parts[:2] == ["api", "jobs"] and len(parts) == 5 and parts[4] == "logs":
                events = ["===== Job started =====", *hub.log_lines]
                text = "".join(
                    f"data: {json.dumps({'data': e, 'timestamp': '2026-11-27T12:00:01Z'})}\n\n" for e in events
                )
                return self._send(200, text.encode(), "text/event-stream")
            if parts[:2] == ["api", "jobs"] and len(parts) == 5 and parts[4] == "cancel":
                hub.cancelled.append(parts[3])
                hub.jobs[parts[3]]["status"]["stage"] = "CANCELED"
                return self._json({})
            return self._json({"error": f"no route {method} {path}"}, 404)

    return Handler


def _validate_yaml(content: str) -> tuple[dict, int]:
    """Only what can be checked here: the front matter is a YAML mapping (the Hub also checks its schema)."""
    import yaml

    if not content.startswith("---\n"):
        return {"errors": [], "warnings": [{"message": "empty or missing yaml metadata in repo card"}]}, 200
    try:
        front = yaml.safe_load(content[4 : content.index("\n---", 3)])
    except (ValueError, yaml.YAMLError) as exc:
        return {"errors": [{"message": f"invalid YAML: {exc}"}]}, 400
    if not isinstance(front, dict):
        return {"errors": [{"message": "metadata must be a mapping"}]}, 400
    return {"errors": [], "warnings": []}, 200


def serve(hub: FakeHub) -> tuple[ThreadingHTTPServer, threading.Thread]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(hub))
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread
