"""A server under test in its own process, and raw sockets to misbehave against it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

from bench.readiness import stop

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Far above every bound the servers are configured with (seconds): reaching it means the
# server did not act, not that it was slow.
GIVE_UP_SECONDS = 30.0


@contextmanager
def server_process(
    args: list[str],
    port: int,
    ready_path: str,
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """`python ARGS` from the project root, until `ready_path` answers 200 on `port`.

    Its stdout and stderr go to `log` (kept) or to a temporary file (removed at the end).
    """
    keep = log is not None
    log = log or Path(tempfile.gettempdir()) / f"live-server-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, *args],
            cwd=PROJECT_ROOT,
            env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_ready(process, port, ready_path, log)
        yield process
    finally:
        stop(process, GIVE_UP_SECONDS)
        if not keep:
            log.unlink(missing_ok=True)


def _wait_ready(process: subprocess.Popen[bytes], port: int, path: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"{path} on port {port} not ready within 60 s:\n{log.read_text()}")


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=GIVE_UP_SECONDS)
    sock.settimeout(GIVE_UP_SECONDS)
    return sock


def send_quietly(sock: socket.socket, data: bytes) -> None:
    """Send what the server takes; a server that answers early and closes may refuse the rest."""
    with suppress(BrokenPipeError, ConnectionResetError):
        sock.sendall(data)


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection.

    A socket.timeout (after GIVE_UP_SECONDS) propagates: the server kept the connection open.
    """
    chunks: list[bytes] = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def status_line(response: bytes) -> str:
    return response.split(b"\r\n", 1)[0].decode(errors="replace")


def rss_kib(pid: int) -> int:
    """Resident memory of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")
