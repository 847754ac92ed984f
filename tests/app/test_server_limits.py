"""The model server's own defences, against a real server process (the NLB passes raw TCP
through): bounded request heads, head and body read timeouts, bounded memory."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from app.registry import ModelMetadata
from app.serving.server import MODEL_SERVER_LIMITS
from app.training.pipeline import write_local
from tests.live_server import (
    GIVE_UP_SECONDS,
    connect,
    read_until_closed,
    rss_kib,
    send_quietly,
    server_process,
    status_line,
)
from tests.ports import free_port

# Slow: a server process, and timeouts it must wait out; `make quick` leaves them to `make test`.
pytestmark = pytest.mark.slow

API_KEY = "limits-key-0123456789abcdef"
HEAD = b"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"


@pytest.fixture(scope="module")
def server(
    trained: tuple[bytes, ModelMetadata], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[int, int]]:
    """(port, pid) of `bench.server`: the production app and server options, a local model."""
    model_dir = tmp_path_factory.mktemp("model")
    write_local(model_dir, *trained)
    port = free_port()
    args = ["-m", "bench.server", "--model-dir", str(model_dir), "--port", str(port)]
    with server_process([*args, "--api-key", API_KEY], port, "/healthz") as process:
        yield port, process.pid


def _predict(port: int) -> str:
    body = b'{"features": [5.1, 3.5, 1.4, 0.2]}'
    with connect(port) as sock:
        sock.sendall(
            HEAD
            + f"Authorization: Bearer {API_KEY}\r\nContent-Length: {len(body)}\r\n".encode()
            + b"Connection: close\r\n\r\n"
            + body
        )
        return status_line(read_until_closed(sock))


def test_the_server_answers_a_well_formed_request(server: tuple[int, int]) -> None:
    assert _predict(server[0]) == "HTTP/1.1 200 OK"


def test_an_oversized_header_gets_431_and_the_connection_closes(server: tuple[int, int]) -> None:
    with connect(server[0]) as sock:
        send_quietly(sock, HEAD + b"Authorization: Bearer " + b"a" * 1_000_000 + b"\r\n\r\n")
        response = read_until_closed(sock)
    # An empty answer (closed without a word) also meets the bound.
    assert response == b"" or status_line(response).startswith("HTTP/1.1 431"), response[:200]


def test_a_slowloris_head_is_cut_off(server: tuple[int, int]) -> None:
    bound = MODEL_SERVER_LIMITS.header_timeout_seconds
    assert bound < GIVE_UP_SECONDS / 2
    with connect(server[0]) as sock:
        sock.sendall(HEAD + b"X-Slow: 1\r\n")  # ... and the rest of the head never comes
        response = read_until_closed(sock)  # raises socket.timeout if never closed
    assert b"200 OK" not in response


def test_a_connection_that_sends_nothing_is_closed(server: tuple[int, int]) -> None:
    with connect(server[0]) as sock:
        assert read_until_closed(sock) == b""


def test_an_idle_keep_alive_connection_is_closed(server: tuple[int, int]) -> None:
    body = b'{"features": [5.1, 3.5, 1.4, 0.2]}'
    with connect(server[0]) as sock:
        sock.sendall(
            HEAD
            + f"Authorization: Bearer {API_KEY}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        response = read_until_closed(sock)
    assert status_line(response) == "HTTP/1.1 200 OK"


def test_a_body_that_never_arrives_gets_408(server: tuple[int, int]) -> None:
    with connect(server[0]) as sock:
        sock.sendall(
            HEAD + f"Authorization: Bearer {API_KEY}\r\nContent-Length: 100\r\n\r\n".encode()
        )
        sock.sendall(b'{"features": [')  # 14 of the 100 bytes announced
        response = read_until_closed(sock)
    assert status_line(response) == "HTTP/1.1 408 Request Timeout"
    assert b'"body_timeout"' in response


def test_unfinished_heads_do_not_grow_the_server(server: tuple[int, int]) -> None:
    port, pid = server
    before = rss_kib(pid)
    sockets = [connect(port) for _ in range(8)]
    try:
        for sock in sockets:
            # 4 MB of header each, never finished: 32 MB if the server kept them.
            send_quietly(sock, HEAD + b"Authorization: Bearer " + b"a" * 4_000_000)
        # The highest RSS while the server catches up with what the kernel buffered.
        peak = before
        for _ in range(20):
            time.sleep(0.1)
            peak = max(peak, rss_kib(pid))
        grown_mib = (peak - before) / 1024
    finally:
        for sock in sockets:
            sock.close()
    assert grown_mib < 8, f"RSS grew by {grown_mib:.1f} MiB holding 8 unfinished 4 MB heads"
    assert _predict(port) == "HTTP/1.1 200 OK", "the server still serves afterwards"
