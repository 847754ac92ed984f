"""The reference server for the side-by-side phase: MLflow's model server (`mlflow models
serve`, its own FastAPI/uvicorn stack, one worker) on the same ONNX model, from the
benchmark's own environment (`make bench-venv`: bench/reference/requirements.txt).

Its API differs: POST /invocations with `{"inputs": [[...], ...]}`, no authentication,
no validation of feature names, no drift, capture or prediction ids; it answers the graph's
raw logits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from bench import process_stats
from bench.readiness import stop, wait_until_ok

ROOT = Path(__file__).resolve().parents[1]
BENCH_VENV = ROOT / ".cache" / "bench" / "venv"
_SAVE_MODEL = (
    "import sys, onnx, mlflow.onnx; mlflow.onnx.save_model(onnx.load(sys.argv[1]), sys.argv[2])"
)


def bench_tool(name: str) -> Path:
    """A program of the benchmark's environment; SystemExit saying how to install it."""
    path = BENCH_VENV / "bin" / name
    if not path.exists():
        raise SystemExit(
            f"{path} is missing: the benchmark's reference server and profiler live in their "
            "own environment; install it with `make bench-venv`"
        )
    return path


@dataclass(frozen=True)
class ReferenceServer:
    port: int
    pid: int
    """The process that serves (uvicorn), whose CPU is measured."""
    ready_s: float


@contextmanager
def mlflow_model_server(
    model_onnx: Path, workdir: Path, port: int, timeout: float = 120
) -> Iterator[ReferenceServer]:
    """MLflow's model server on `model_onnx`, ready, until the block ends."""
    python = bench_tool("python")
    model_dir = workdir / "mlflow-model"
    subprocess.run(
        [str(python), "-c", _SAVE_MODEL, str(model_onnx), str(model_dir)],
        check=True,
        capture_output=True,
    )
    log_path = workdir / "reference-server.log"
    log = log_path.open("wb")
    spawned = time.perf_counter()
    server = subprocess.Popen(
        [
            str(bench_tool("mlflow")),
            "models",
            "serve",
            "--model-uri",
            str(model_dir),
            "--env-manager",
            "local",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        # It starts `uvicorn` by name: the environment's bin first on PATH.
        env={**os.environ, "PATH": f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_ok(f"http://127.0.0.1:{port}/ping", timeout, server, log_path)
        ready = time.perf_counter() - spawned
        yield ReferenceServer(port, _serving_process(server.pid), round(ready, 2))
    finally:
        _stop(server)
        log.close()


def _serving_process(pid: int) -> int:
    """The child that serves (mlflow execs uvicorn in a child), or `pid` itself."""
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            parent = int(process_stats.stat_fields(int(entry.name))[1])
        except OSError:  # gone meanwhile
            continue
        if parent == pid:
            return int(entry.name)
    return pid


def _stop(server: subprocess.Popen[bytes]) -> None:
    child = _serving_process(server.pid)
    stop(server)
    if child != server.pid:
        with suppress(ProcessLookupError):
            os.kill(child, signal.SIGTERM)
