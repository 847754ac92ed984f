"""Waiting for a server under test to answer."""

from __future__ import annotations

import subprocess
import time
import urllib.request


def wait_until_ok(url: str, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    """Return once GET `url` answers 200; SystemExit when `timeout` passes or `process` (the
    server) exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"the server for {url} exited with {process.returncode}; see its log")
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.02)
    raise SystemExit(f"{url} did not answer within {timeout:.0f} s")
