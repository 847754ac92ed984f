"""The embedded default's launcher: the retraining runs as a local process, one at a time."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Sequence

from app.trigger.jobs import LaunchResult

RETRAIN_COMMAND = (sys.executable, "-m", "app", "retrain")


class LocalRetrainLauncher:
    """Starts `python -m app retrain` unless the one it started last is still running."""

    def __init__(self, command: Sequence[str] = RETRAIN_COMMAND) -> None:
        self._command = list(command)
        self._running: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self.started = 0

    def launch(self, reason: str) -> LaunchResult:
        with self._lock:
            if self._running is not None and self._running.poll() is None:
                return LaunchResult("already-running", f"pid {self._running.pid}")
            # Output goes where the watcher's goes; the retraining logs its own decision.
            self._running = subprocess.Popen(self._command)  # noqa: S603 - fixed command
            self.started += 1
            return LaunchResult("created", f"pid {self._running.pid}")

    def wait(self, timeout: float | None = None) -> int | None:
        """The exit status of the last retraining, once it ended; None if none was started."""
        with self._lock:
            running = self._running
        return None if running is None else running.wait(timeout)
