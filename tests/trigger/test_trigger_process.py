"""`python -m app.trigger` as it runs in its pod: a real server process in front of a fake
Kubernetes API; the same head limits as the model server, the token before the body, and
JSON logs at INFO."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live_server import connect, read_until_closed, send_quietly, server_process, status_line
from tests.ports import free_port
from tests.trigger.fake_kubernetes import TOKEN, FakeKubernetes

# Slow: a trigger process, and timeouts it must wait out; `make quick` leaves them to `make test`.
pytestmark = pytest.mark.slow

WEBHOOK_TOKEN = "process-webhook-token-0123456789"
ALERT = json.dumps(
    {
        "version": "4",
        "status": "firing",
        "alerts": [{"status": "firing", "labels": {"alertname": "ModelDataDrift"}}],
    }
).encode()


@pytest.fixture(scope="module")
def trigger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """(port, log file) of a trigger process talking to a fake Kubernetes API."""
    kube = FakeKubernetes().start()
    root = tmp_path_factory.mktemp("trigger")
    (root / "token").write_text(WEBHOOK_TOKEN)
    account = root / "serviceaccount"
    account.mkdir()
    (account / "token").write_text(TOKEN)
    log = root / "stderr.log"
    port = free_port()
    env = {
        "MLOPS_TRIGGER_TOKEN_FILE": str(root / "token"),
        "MLOPS_TRIGGER_API_SERVER": kube.url,
        "MLOPS_TRIGGER_SERVICE_ACCOUNT_DIR": str(account),
        "MLOPS_TRIGGER_PORT": str(port),
    }
    try:
        with server_process(["-m", "app.trigger"], port, "/healthz", env, log=log):
            yield port, log
    finally:
        kube.stop()


def _post(port: int, head: bytes, body: bytes = b"") -> bytes:
    with connect(port) as sock:
        send_quietly(sock, b"POST /v1/alerts HTTP/1.1\r\nHost: 127.0.0.1\r\n" + head + body)
        return read_until_closed(sock)


def test_an_alert_starts_a_job_and_the_decision_is_logged_at_info(
    trigger: tuple[int, Path],
) -> None:
    port, log = trigger
    head = (
        f"Authorization: Bearer {WEBHOOK_TOKEN}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(ALERT)}\r\nConnection: close\r\n\r\n"
    ).encode()
    assert status_line(_post(port, head, ALERT)).startswith("HTTP/1.1 202")
    records = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    decisions = [r for r in records if r["message"].startswith("retrain created")]
    assert decisions, f"no INFO record of the retrain in the trigger's log: {records}"
    assert decisions[0]["level"] == "INFO"


def test_a_huge_unauthenticated_body_is_refused_before_it_is_read(
    trigger: tuple[int, Path],
) -> None:
    # 100 MB announced, 1 KB sent: an answer proves the server did not wait for the body.
    head = b"Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n"
    response = _post(trigger[0], head, b"x" * 1024)
    assert status_line(response).startswith("HTTP/1.1 401")


def test_a_huge_authenticated_body_is_413_before_it_is_read(trigger: tuple[int, Path]) -> None:
    head = (
        f"Authorization: Bearer {WEBHOOK_TOKEN}\r\nContent-Type: application/json\r\n"
        "Content-Length: 100000000\r\n\r\n"
    ).encode()
    response = _post(trigger[0], head, b"x" * 1024)
    assert status_line(response).startswith("HTTP/1.1 413")
    assert b"xxxx" not in response


def test_an_oversized_header_gets_431(trigger: tuple[int, Path]) -> None:
    response = _post(trigger[0], b"Authorization: Bearer " + b"a" * 1_000_000 + b"\r\n\r\n")
    assert response == b"" or status_line(response).startswith("HTTP/1.1 431"), response[:200]


def test_a_slowloris_head_is_cut_off(trigger: tuple[int, Path]) -> None:
    with connect(trigger[0]) as sock:
        sock.sendall(b"POST /v1/alerts HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        assert b"HTTP/1.1" not in read_until_closed(sock)
