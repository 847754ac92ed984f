"""Benchmark servers: a start that fails names the server's log; a stop never leaves one behind."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bench.readiness import stop, wait_until_ok


def test_a_server_that_exits_at_start_is_reported_with_its_log(tmp_path: Path) -> None:
    exits = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    log = tmp_path / "server.log"
    with pytest.raises(SystemExit, match=f"exited with 3; see its log: {log}"):
        # Port 9 (discard) answers nothing here: only the process's exit ends the wait.
        wait_until_ok("http://127.0.0.1:9/readyz", 30, exits, log)


def test_a_server_that_ignores_sigterm_is_killed() -> None:
    ignores = subprocess.Popen(
        [sys.executable, "-c",
         "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
         "print('ready', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    assert ignores.stdout is not None and ignores.stdout.readline() == b"ready\n"
    stop(ignores, timeout=0.5)
    assert ignores.returncode == -signal.SIGKILL
