"""The serving benchmark's runs (`make bench`): the model server with everything a pod runs,
and MLflow's model server on the same model beside it, each in a fresh process per run.

Per run and server: time to ready; open-loop phases (single input) at each `--rate`; closed
loop (saturation) with a single input and with a batch; the server's CPU time per request in
each phase (from /proc, so what the load generator costs is not counted); a profile of the
saturated phases (py-spy, bench.profile); and the server's resident memory while it answers
`--predictions` predictions. The summary gives the median of the runs and their range.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvloop

from app.capture import layout
from bench import process_stats, profile
from bench.loadgen import closed_phase, free_port, open_phase, request
from bench.readiness import stop, wait_until_ok
from bench.reference import bench_tool, mlflow_model_server

ROOT = Path(__file__).resolve().parents[1]
SINGLE_ROW = [5.1, 3.5, 1.4, 0.2]
BATCH_ROW = [6.1, 2.8, 4.7, 1.2]


def main(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    model_dir = args.model_dir or train_model(workdir / "model")
    runs: list[dict[str, Any]] = []
    for number in range(1, args.runs + 1):
        print(f"run {number} of {args.runs}: the model server", file=sys.stderr, flush=True)
        run: dict[str, Any] = {"model_server": _model_server_run(args, model_dir, workdir, number)}
        if not args.no_reference:
            print(f"run {number} of {args.runs}: the reference server", file=sys.stderr, flush=True)
            run["reference"] = _reference_run(args, model_dir, workdir, number)
        runs.append(run)
    report = {"summary": summarize(runs, args), "runs": runs}
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    print(json.dumps(report["summary"], indent=2))


def train_model(model_dir: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "app", "train", "--data", "packaged", "--output", str(model_dir),
         "--epochs", "100"],
        check=True, cwd=ROOT, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return model_dir


def bodies(batch: int) -> tuple[bytes, bytes]:
    single = json.dumps({"features": SINGLE_ROW}).encode()
    return single, json.dumps({"instances": [BATCH_ROW] * batch}).encode()


def measured(pid: int, phase: Coroutine[Any, Any, dict[str, float]]) -> dict[str, float]:
    """The phase's figures and the server's CPU time per request while it ran."""
    before = process_stats.cpu_seconds(pid)
    result = uvloop.run(phase)
    used = process_stats.cpu_seconds(pid) - before
    requests = max(1, int(result["requests"]))
    return {**result, "server_cpu_us_per_request": round(used * 1e6 / requests, 1)}


def server_arguments(
    args: argparse.Namespace, model_dir: Path, port: int, key: str, captures: Path
) -> list[str]:
    """bench.server's command line. The key joined to its option: a random key may start
    with "-", and would then be read as an option of its own (the server exits with 2)."""
    return [
        "--model-dir", str(model_dir), "--port", str(port), f"--api-key={key}",
        "--request-log-sample-rate", str(args.request_log_sample_rate),
        "--capture-sample-rate", str(args.capture_sample_rate), "--capture-dir", str(captures),
    ]  # fmt: skip


@dataclass(frozen=True)
class ModelServer:
    process: subprocess.Popen[bytes]
    port: int
    key: str
    ready_s: float
    """Process start to /readyz 200."""


@contextlib.contextmanager
def model_server(
    args: argparse.Namespace, model_dir: Path, captures: Path, log_path: Path, root: Path = ROOT
) -> Iterator[ModelServer]:
    """bench.server of the checkout at `root` on a free port, with a random API key, ready;
    stopped (SIGTERM, which uploads what its capture writer holds) on leaving."""
    key, port = secrets.token_urlsafe(24), free_port()
    spawned = time.perf_counter()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.server",
             *server_arguments(args, model_dir, port, key, captures)],
            cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
            # The server's JSON log lines go to a file, as a pod's go to its log file.
            stderr=log,
        )  # fmt: skip
        try:
            wait_until_ok(f"http://127.0.0.1:{port}/readyz", 30, process, log_path)
            yield ModelServer(process, port, key, round(time.perf_counter() - spawned, 2))
        finally:
            stop(process)


def _model_server_run(
    args: argparse.Namespace, model_dir: Path, workdir: Path, number: int
) -> dict[str, Any]:
    captures = workdir / f"captures-{number}"
    with model_server(args, model_dir, captures, workdir / f"server-{number}.log") as server:
        pid, port, key = server.process.pid, server.port, server.key
        results: dict[str, Any] = {"ready_s": server.ready_s}
        results.update(_phases(args, pid, port, key, "/v1/predict", bodies(args.batch)))
        if args.profile_seconds > 0:
            results["profile"] = _profiles(args, pid, port, key)
        if args.predictions > 0:
            results["memory"] = _memory(args, pid, port, key)
    # Counted after the server stopped: its shutdown uploads what its capture writer held.
    results["captured_records"] = sum(
        sum(1 for _ in layout.decode(path.read_bytes())) for path in captures.rglob("*.jsonl.gz")
    )
    return results


def _phases(
    args: argparse.Namespace, pid: int, port: int, key: str | None, path: str,
    bodies: tuple[bytes, bytes], open_loop: bool = True,
) -> dict[str, Any]:  # fmt: skip
    single, batch = (request(port, key, body, path) for body in bodies)
    warm_up = argparse.Namespace(requests=500, seconds=5, concurrency=args.concurrency)
    uvloop.run(closed_phase(port, single, warm_up))
    results: dict[str, Any] = {}
    if open_loop:
        for rate in args.rate:
            results[f"open_{rate:g}"] = measured(pid, open_phase(port, single, rate, args))
    results["single"] = measured(pid, closed_phase(port, single, args))
    batched = measured(pid, closed_phase(port, batch, args))
    batched["rows_per_s"] = round(batched["req_per_s"] * args.batch)
    results[f"batch_{args.batch}"] = batched
    return results


def _profiles(args: argparse.Namespace, pid: int, port: int, key: str) -> dict[str, Any]:
    """Where the server's time goes at saturation, single input and batch."""
    py_spy = bench_tool("py-spy")
    single, batch = (request(port, key, body) for body in bodies(args.batch))
    phase = argparse.Namespace(
        requests=10**9, seconds=args.profile_seconds, concurrency=args.concurrency
    )
    found: dict[str, Any] = {}
    for name, body in (("single", single), (f"batch_{args.batch}", batch)):
        sampler = profile.Sampler(pid, args.profile_seconds, py_spy)
        uvloop.run(closed_phase(port, body, phase))
        result = sampler.result()
        found[name] = result if isinstance(result, str) else profile.shares(*result)
    return found


def _memory(args: argparse.Namespace, pid: int, port: int, key: str) -> dict[str, float]:
    """Resident memory while the server answers `args.predictions` predictions in batches:
    at start, after a tenth of them (warm: caches and windows full) and at the end."""
    _, batch_body = bodies(args.batch)
    batch = request(port, key, batch_body)
    requests = math.ceil(args.predictions / args.batch)
    tenth = argparse.Namespace(requests=requests // 10, seconds=3600, concurrency=args.concurrency)
    rest = argparse.Namespace(
        requests=requests - requests // 10, seconds=3600, concurrency=args.concurrency
    )
    start = process_stats.rss_mib(pid)
    peak = [start]
    done = threading.Event()

    def follow() -> None:
        while not done.wait(0.25):
            peak[0] = max(peak[0], process_stats.rss_mib(pid))

    watcher = threading.Thread(target=follow, daemon=True)
    watcher.start()
    answered = uvloop.run(closed_phase(port, batch, tenth))["requests"]
    warm = process_stats.rss_mib(pid)
    answered += uvloop.run(closed_phase(port, batch, rest))["requests"]
    end = process_stats.rss_mib(pid)
    done.set()
    watcher.join()
    return {
        "predictions": int(answered * args.batch),
        "rss_start_mib": round(start, 1),
        "rss_after_a_tenth_mib": round(warm, 1),
        "rss_end_mib": round(end, 1),
        "rss_peak_mib": round(max(peak[0], end), 1),
        "growth_after_a_tenth_mib": round(end - warm, 1),
    }


def _reference_run(
    args: argparse.Namespace, model_dir: Path, workdir: Path, number: int
) -> dict[str, Any]:
    run_dir = workdir / f"reference-{number}"
    run_dir.mkdir()
    single = json.dumps({"inputs": [SINGLE_ROW]}).encode()
    batch = json.dumps({"inputs": [BATCH_ROW] * args.batch}).encode()
    with mlflow_model_server(model_dir / "model.onnx", run_dir, free_port()) as server:
        results: dict[str, Any] = {"ready_s": server.ready_s}
        results.update(
            _phases(
                args, server.pid, server.port, None, "/invocations", (single, batch),
                open_loop=False,
            )
        )  # fmt: skip
    return results


# -- the summary: medians of the runs and their range -----------------------------------------
def summarize(runs: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    batch = f"batch_{args.batch}"
    figures: dict[str, tuple[str, ...]] = {
        "ready_s": ("model_server", "ready_s"),
        "single_req_per_s": ("model_server", "single", "req_per_s"),
        "single_p50_ms": ("model_server", "single", "p50_ms"),
        "single_p99_ms": ("model_server", "single", "p99_ms"),
        "single_cpu_us_per_request": ("model_server", "single", "server_cpu_us_per_request"),
        "batch_rows_per_s": ("model_server", batch, "rows_per_s"),
        "batch_p99_ms": ("model_server", batch, "p99_ms"),
        "batch_cpu_us_per_request": ("model_server", batch, "server_cpu_us_per_request"),
        "rss_growth_after_a_tenth_mib": ("model_server", "memory", "growth_after_a_tenth_mib"),
        "rss_end_mib": ("model_server", "memory", "rss_end_mib"),
    }
    for rate in args.rate:
        figures[f"open_{rate:g}_p99_ms"] = ("model_server", f"open_{rate:g}", "p99_ms")
        figures[f"open_{rate:g}_req_per_s"] = ("model_server", f"open_{rate:g}", "req_per_s")
    if not args.no_reference:
        figures |= {
            "reference_ready_s": ("reference", "ready_s"),
            "reference_single_req_per_s": ("reference", "single", "req_per_s"),
            "reference_single_p99_ms": ("reference", "single", "p99_ms"),
            "reference_single_cpu_us_per_request": (
                "reference", "single", "server_cpu_us_per_request",
            ),
            "reference_batch_rows_per_s": ("reference", batch, "rows_per_s"),
            "reference_batch_p99_ms": ("reference", batch, "p99_ms"),
        }  # fmt: skip
    summary: dict[str, Any] = {"runs": len(runs)}
    for name, path in figures.items():
        values = [value for run in runs if (value := _get(run, path)) is not None]
        if values:
            summary[name] = {
                "median": round(statistics.median(values), 2),
                "min": min(values),
                "max": max(values),
            }
    if not args.no_reference:
        for name, ours, theirs in (
            ("single_req_per_s_ratio", "single_req_per_s", "reference_single_req_per_s"),
            ("batch_rows_per_s_ratio", "batch_rows_per_s", "reference_batch_rows_per_s"),
        ):
            ratios = [
                a / b
                for run in runs
                if (a := _get(run, figures[ours])) and (b := _get(run, figures[theirs]))
            ]
            if ratios:
                summary[name] = {
                    "median": round(statistics.median(ratios), 2),
                    "min": round(min(ratios), 2),
                    "max": round(max(ratios), 2),
                }
    profiles = [run["model_server"].get("profile") for run in runs]
    summary["profile_first_run_percent"] = next((p for p in profiles if p), None)
    return summary


def _get(run: dict[str, Any], path: tuple[str, ...]) -> float | None:
    value: Any = run
    for part in path:
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return float(value) if isinstance(value, int | float) else None
