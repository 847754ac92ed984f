"""A tiny Kubernetes API on 127.0.0.1: one CronJob, the Jobs created, and the requests seen."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

NAMESPACE = "training"
CRONJOB = "retrain"
TOKEN = "sa-token-1234"
TEMPLATE_LABELS = {"app.kubernetes.io/name": "trainer", "app.kubernetes.io/component": "training"}


def cronjob() -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": CRONJOB, "namespace": NAMESPACE, "uid": "cron-uid-1"},
        "spec": {
            "schedule": "0 3 * * 0",
            "jobTemplate": {
                "metadata": {"labels": dict(TEMPLATE_LABELS)},
                "spec": {"completionMode": "Indexed", "template": {"spec": {"containers": []}}},
            },
        },
    }


class FakeKubernetes:
    def __init__(self) -> None:
        self.jobs: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, str | None]] = []  # method, path, bearer token
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeKubernetes:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _reply(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self, method: str) -> bool:
                header = self.headers.get("Authorization", "")
                token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
                with fake.lock:
                    fake.requests.append((method, self.path, token))
                if token != TOKEN:
                    self._reply(401, {"kind": "Status", "code": 401})
                    return False
                return True

            def do_GET(self) -> None:
                if not self._authorized("GET"):
                    return
                url = urlparse(self.path)
                base = f"/apis/batch/v1/namespaces/{NAMESPACE}"
                if url.path == f"{base}/cronjobs/{CRONJOB}":
                    self._reply(200, cronjob())
                elif url.path == f"{base}/jobs":
                    selector = parse_qs(url.query).get("labelSelector", [""])[0]
                    wanted = dict(pair.split("=") for pair in selector.split(",") if pair)
                    with fake.lock:
                        items = [
                            job
                            for job in fake.jobs.values()
                            if wanted.items() <= job["metadata"].get("labels", {}).items()
                        ]
                    self._reply(200, {"kind": "JobList", "items": items})
                else:
                    self._reply(404, {"kind": "Status", "code": 404})

            def do_POST(self) -> None:
                if not self._authorized("POST"):
                    return
                if self.path != f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs":
                    self._reply(404, {"kind": "Status", "code": 404})
                    return
                job = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                name = job["metadata"]["name"]
                with fake.lock:
                    if name in fake.jobs:
                        self._reply(409, {"kind": "Status", "reason": "AlreadyExists"})
                        return
                    fake.jobs[name] = job
                self._reply(201, job)

        return Handler
