"""Waiting for a server under test to answer, and stopping it."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from pathlib import Path


def wait_until_ok(
    url: str,
    timeout: float,
    process: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
) -> None:
    """Return once GET `url` answers 200; SystemExit when `timeout` passes or `process` (the
    server, whose output goes to `log`) exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(
                f"the server for {url} exited with {process.returncode}; see its log"
                + (f": {log}" if log else "")
            )
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.02)
    raise SystemExit(f"{url} did not answer within {timeout:.0f} s")


def stop(process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """SIGTERM (a server finishes its work on it), then SIGKILL after `timeout`: a server is
    never left behind."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
