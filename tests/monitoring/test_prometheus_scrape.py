"""A real Prometheus on 127.0.0.1 scrapes a running model server and sees the app's metrics."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.ports import free_port

DEADLINE_S = 60


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture
def app_server(tmp_path: Path) -> Iterator[str]:
    """`python -m app serve` with no reachable model store: /metrics works regardless."""
    port = free_port()
    env = {
        **os.environ,
        "MLOPS_API_KEYS": secrets.token_urlsafe(24),
        "MLOPS_PREDICTION_ID_KEY": secrets.token_urlsafe(32),
        "MLOPS_BUCKET": "no-such-bucket",
        # Nothing listens on port 9: model loading fails fast, the server stays up unready.
        "MLOPS_S3_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }
    log = (tmp_path / "app.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield f"127.0.0.1:{port}"
    finally:
        _stop(process)


@pytest.fixture
def prometheus(prometheus_binary: str, app_server: str, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n"
        f"scrape_configs:\n  - job_name: model-server\n    static_configs:\n"
        f"      - targets: ['{app_server}']\n"
    )
    log = (tmp_path / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            prometheus_binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(process)


@pytest.mark.promtool
def test_prometheus_scrapes_the_app_metrics(prometheus: str, tmp_path: Path) -> None:
    wanted = {"mlops_model_ready", "mlops_http_requests_total"}
    seen: set[str] = set()
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline and not wanted <= seen:
        try:
            answer = httpx.get(f"{prometheus}/api/v1/label/__name__/values", timeout=5)
            seen = set(answer.json()["data"])
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        time.sleep(1)
    logs = "".join(p.read_text(errors="replace")[-2000:] for p in tmp_path.glob("*.log"))
    assert wanted <= seen, f"Prometheus saw {sorted(seen)[:20]}; logs:\n{logs}"
    up = httpx.get(f"{prometheus}/api/v1/query", params={"query": "up"}, timeout=5).json()
    assert up["data"]["result"][0]["value"][1] == "1", f"target not up: {up}"
