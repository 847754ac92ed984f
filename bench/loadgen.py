"""Load test of POST /v1/predict: the model server in a second process, 32 keep-alive clients.

    .venv/bin/python -m bench.loadgen [--runs 3] [--rate R ...] [--seconds 15]
                                      [--predictions 1000000] [--no-reference] [--json F]

`make bench` runs it (bench.serving_runs has the runs; bench.reference the side-by-side
server; bench.profile the profile). This module is the load generator, two kinds of phase,
each bounded by a request count and a time limit:

- open loop (one per --rate, default 1000 2000 3000 req/s, single input): requests are sent
  on a fixed schedule, R per second spread evenly over the connections, whatever the server
  does. Latency is measured from each request's scheduled send time, so a request that waits
  for a busy connection counts its wait (no coordinated omission). This is the latency a
  client sees at that offered load.
- closed loop (single input, then a batch of --batch rows): every client sends its next
  request as soon as the previous answer arrives, so the server is saturated and latency is
  about concurrency / throughput.

The client writes pre-encoded raw HTTP/1.1 on asyncio streams over uvloop, so that it stays
cheap (about a fifth of a core at 3,000 req/s) and the server, not the client, is what is
measured on a small machine.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import socket
import time
from pathlib import Path

DEFAULT_RATES = (1000, 2000, 3000)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def request(port: int, key: str | None, body: bytes, path: str = "/v1/predict") -> bytes:
    """One pre-encoded POST of a JSON body (with a bearer key when `key` is given)."""
    auth = f"Authorization: Bearer {key}\r\n" if key else ""
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> bytes:
    """Send one request, read the whole response; returns the status line."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    await reader.readexactly(length)
    return head.split(b"\r\n", 1)[0]


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
            status = await _exchange(reader, writer, request)
            latencies.append(time.perf_counter() - start)
            if not status.startswith(b"HTTP/1.1 200"):
                errors.append(status.decode())
    finally:
        writer.close()


def _stats(latencies: list[float], errors: list[str], elapsed: float) -> dict[str, float]:
    latencies.sort()

    def pct(p: float) -> float:
        if not latencies:  # every request failed: the errors count says so
            return math.nan
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {
        "requests": len(latencies),
        "errors": len(errors),
        "req_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(pct(0.50), 2),
        "p99_ms": round(pct(0.99), 2),
        "p99_9_ms": round(pct(0.999), 2),
    }


async def closed_phase(port: int, request: bytes, args: argparse.Namespace) -> dict[str, float]:
    """Closed loop: each client sends again as soon as its answer arrives (saturation)."""
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
    return _stats(latencies, errors, time.perf_counter() - start)


async def _scheduled_client(
    port: int,
    request: bytes,
    schedule: list[float],
    deadline: float,
    latencies: list[float],
    errors: list[str],
    timer_lags: list[float],
) -> int:
    """Send at each scheduled time (or as soon as the connection is free, if later).

    Returns how many scheduled requests were never sent because the deadline came first.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for sent, scheduled in enumerate(schedule):
            now = time.perf_counter()
            if now >= deadline:
                return len(schedule) - sent
            if scheduled > now:
                await asyncio.sleep(scheduled - now)
                # How late the event loop woke us: the generator's own error, reported
                # so that it can be told apart from the server's latency.
                timer_lags.append(time.perf_counter() - scheduled)
            status = await _exchange(reader, writer, request)
            latencies.append(time.perf_counter() - scheduled)
            if not status.startswith(b"HTTP/1.1 200"):
                errors.append(status.decode())
        return 0
    finally:
        writer.close()


async def open_phase(
    port: int, request: bytes, rate: float, args: argparse.Namespace
) -> dict[str, float]:
    """Open loop: `rate` requests/s on a fixed schedule, request n on connection n % C."""
    count = min(args.requests, round(rate * args.open_seconds))
    latencies: list[float] = []
    errors: list[str] = []
    timer_lags: list[float] = []
    start = time.perf_counter() + 0.1  # connections are opened before the first send
    # Whatever the server does, the phase ends: the schedule fills open_seconds, and
    # requests still unsent a few seconds after that are counted, not waited for.
    deadline = start + args.open_seconds + 5
    schedules = [
        [start + n / rate for n in range(c, count, args.concurrency)]
        for c in range(args.concurrency)
    ]
    unsent = await asyncio.gather(
        *(
            _scheduled_client(port, request, s, deadline, latencies, errors, timer_lags)
            for s in schedules
        )
    )
    result = _stats(latencies, errors, time.perf_counter() - start)
    timer_lags.sort()
    return {
        "offered_req_per_s": rate,
        **result,
        "unsent": sum(unsent),
        "timer_lag_p99_ms": round(timer_lags[int(0.99 * len(timer_lags))] * 1000, 2)
        if timer_lags
        else 0.0,
    }


def main() -> None:
    from bench import serving_runs

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--model-dir", type=Path)
    parser.add_argument("--requests", type=int, default=60_000, help="per phase")
    parser.add_argument("--seconds", type=float, default=15.0, help="per phase")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--batch", type=int, default=32, help="rows per batched request")
    parser.add_argument(
        "--rate",
        type=float,
        action="append",
        help="open-loop offered load, requests/s over all connections; repeat for more\n"
        f"phases (default: {' '.join(str(r) for r in DEFAULT_RATES)})",
    )
    parser.add_argument(
        "--open-seconds", type=float, default=10.0, help="schedule length per open-loop phase"
    )
    parser.add_argument(
        "--runs", type=int, default=3, help="whole runs (a fresh server each); medians shown"
    )
    parser.add_argument(
        "--predictions",
        type=int,
        default=1_000_000,
        help="predictions (in batches) over which the server's memory is followed; 0: skip",
    )
    parser.add_argument(
        "--profile-seconds",
        type=float,
        default=8.0,
        help="length of the profiled phases (single input and batch); 0: no profile",
    )
    parser.add_argument(
        "--no-reference", action="store_true", help="skip the reference server's phases"
    )
    parser.add_argument(
        "--request-log-sample-rate",
        type=float,
        default=1.0,
        help="share of requests the server logs (default 1, a pod's default)",
    )
    parser.add_argument(
        "--capture-sample-rate",
        type=float,
        default=1.0,
        help="share of predictions the server captures (default 1, a pod's default)",
    )
    parser.add_argument("--json", type=Path, help="also write every run's figures here")
    args = parser.parse_args()
    for name in ("request_log_sample_rate", "capture_sample_rate"):
        if not 0 <= getattr(args, name) <= 1:
            flag = "--" + name.replace("_", "-")
            parser.error(f"{flag} {getattr(args, name)}: use 0 to 1")
    args.rate = args.rate or list(DEFAULT_RATES)
    if any(rate <= 0 for rate in args.rate):
        parser.error(f"--rate {args.rate}: every rate must be > 0 requests/s; e.g. --rate 500")
    if (
        min(args.requests, args.concurrency, args.batch, args.runs) < 1
        or min(args.seconds, args.open_seconds) <= 0
        or min(args.predictions, args.profile_seconds) < 0
    ):
        parser.error(
            "--requests, --concurrency, --batch, --runs, --seconds and --open-seconds must be "
            "> 0; --predictions and --profile-seconds >= 0"
        )
    serving_runs.main(args)


if __name__ == "__main__":
    main()
