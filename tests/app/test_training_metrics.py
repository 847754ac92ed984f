"""Training exposes its metrics to Prometheus, and keeps them up long enough to be scraped."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.ports import free_port

# Slow: training processes; `make quick` leaves them to `make test`.
pytestmark = pytest.mark.slow

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _scrape(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1) as response:
            return response.read().decode()
    except (urllib.error.URLError, OSError):
        return None


def test_training_serves_final_metrics_until_the_linger_ends(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "MLOPS_METRICS_PORT": str(port),
        "MLOPS_METRICS_LINGER_SECONDS": "20",
    }
    command = [sys.executable, "-m", "app", "train", "--data", "packaged", "--epochs", "5"]
    process = subprocess.Popen(
        [*command, "--grid", "8:0.01", "--output", str(tmp_path / "model")],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 90
        finished = None
        while time.monotonic() < deadline and process.poll() is None:
            text = _scrape(port)
            if text and 'mlops_training_runs_total{status="succeeded"} 1.0' in text:
                finished = text
                break
            time.sleep(0.2)
        assert finished is not None, "training never exposed a succeeded run on /metrics"
        assert "mlops_training_loss " in finished
        model = tmp_path / "model" / "model.onnx"
        while time.monotonic() < deadline and not model.is_file():
            time.sleep(0.2)
        assert model.is_file(), "training did not finish writing the model"
        assert _scrape(port) is not None, "/metrics went away before the linger ended"
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_without_a_port_training_opens_no_endpoint(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("MLOPS_")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "train",
            "--data",
            "packaged",
            "--epochs",
            "5",
            "--grid",
            "8:0.01",
            "--output",
            str(tmp_path / "model"),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "training metrics on" not in result.stderr
