"""Load test of POST /v1/predict: a uvicorn server in a second process, 32 keep-alive clients.

    .venv/bin/python -m bench.loadgen [--requests 20000] [--seconds 20] [--concurrency 32]

Trains a tiny model into a temp directory if --model-dir is not given, starts bench.server,
measures the time until /readyz answers, then runs a single-input and a batched (32 rows)
phase, each bounded by a request count and a time limit. The client writes pre-encoded raw
HTTP/1.1 on asyncio streams over uvloop, so that it stays cheap (about a fifth of a core at
3,000 req/s) and the server, not the client, is what is measured on a small machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import uvloop

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _request(port: int, key: str, body: bytes) -> bytes:
    return (
        f"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def _client(
    port: int,
    request: bytes,
    deadline: float,
    budget: list[int],
    latencies: list[float],
    errors: list[str],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while budget[0] > 0 and time.perf_counter() < deadline:
            budget[0] -= 1
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            if not head.startswith(b"HTTP/1.1 200"):
                errors.append(head.split(b"\r\n")[0].decode())
    finally:
        writer.close()


async def _phase(port: int, request: bytes, args: argparse.Namespace) -> dict[str, float]:
    latencies: list[float] = []
    errors: list[str] = []
    budget = [args.requests]
    start = time.perf_counter()
    deadline = start + args.seconds
    await asyncio.gather(
        *(
            _client(port, request, deadline, budget, latencies, errors)
            for _ in range(args.concurrency)
        )
    )
    elapsed = time.perf_counter() - start
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {
        "requests": len(latencies),
        "errors": len(errors),
        "req_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(pct(0.50), 2),
        "p99_ms": round(pct(0.99), 2),
    }


def _wait_ready(port: int, timeout: float) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
                if r.status == 200:
                    return time.perf_counter() - start
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"server not ready within {timeout} s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--model-dir", type=Path)
    parser.add_argument("--requests", type=int, default=20_000, help="per phase")
    parser.add_argument("--seconds", type=float, default=20.0, help="per phase")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--batch", type=int, default=32, help="rows per batched request")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    model_dir = args.model_dir or workdir / "model"
    if args.model_dir is None:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "app",
                "train",
                "--data",
                "packaged",
                "--output",
                str(model_dir),
                "--epochs",
                "100",
            ],
            check=True,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
    key, port = secrets.token_urlsafe(24), _free_port()
    spawned = time.perf_counter()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.server",
            "--model-dir",
            str(model_dir),
            "--port",
            str(port),
            "--api-key",
            key,
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        _wait_ready(port, 30)
        results: dict[str, object] = {"server_ready_s": round(time.perf_counter() - spawned, 2)}
        single = json.dumps({"features": [5.1, 3.5, 1.4, 0.2]}).encode()
        batch = json.dumps({"instances": [[6.1, 2.8, 4.7, 1.2]] * args.batch}).encode()
        uvloop.run(
            _phase(
                port,
                _request(port, key, single),
                argparse.Namespace(requests=500, seconds=5, concurrency=args.concurrency),
            )
        )  # warm-up
        results["single"] = uvloop.run(_phase(port, _request(port, key, single), args))
        results[f"batch_{args.batch}"] = uvloop.run(_phase(port, _request(port, key, batch), args))
        results["concurrency"] = args.concurrency
        print(json.dumps(results, indent=2))
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
