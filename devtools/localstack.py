"""The embedded AWS for tests and `make up`: LocalStack community in host mode, no Docker.

LocalStack 4.10 runs on the host only with that release's exact dependency pins, in its
own Python 3.11 virtualenv (`make localstack-venv` builds it from localstack-constraints.txt).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CACHE_DIR = PROJECT_ROOT / ".cache" / "localstack"
VENV_PYTHON = CACHE_DIR / "venv" / "bin" / "python"
# Reused across runs: the first STS call on a fresh filesystem root builds a service catalog
# cache (~3 s); keeping the directory keeps later starts fast.
FILESYSTEM_ROOT = CACHE_DIR / "filesystem"
PID_FILE = CACHE_DIR / "localstack.pid"
LOG_FILE = CACHE_DIR / "localstack.log"
DEFAULT_PORT = 4566
STOP_GRACE_SECONDS = 15.0
INSTALL_HINT = "run `make localstack-venv` (or `make test`, which builds it)"


class LocalStackError(RuntimeError):
    """LocalStack could not be started or is not installed."""


@dataclass(frozen=True)
class LocalStack:
    port: int
    pid: int

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _environment(port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "OVERRIDE_IN_DOCKER": "0",  # these machines carry /.dockerenv; we are not in Docker
            "FILESYSTEM_ROOT": str(FILESYSTEM_ROOT),
            "GATEWAY_LISTEN": f"127.0.0.1:{port}",
            "DNS_ADDRESS": "0",
            "SKIP_SSL_CERT_DOWNLOAD": "1",
            "DISABLE_EVENTS": "1",
            "PERSISTENCE": "0",
        }
    )
    return env


def is_healthy(port: int, timeout: float = 1.0) -> bool:
    try:
        url = f"http://127.0.0.1:{port}/_localstack/health"
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def start(port: int = DEFAULT_PORT, ready_timeout: float = 60.0) -> LocalStack:
    """Start LocalStack on 127.0.0.1:`port` and wait until its health endpoint answers."""
    if not VENV_PYTHON.exists():
        raise LocalStackError(f"LocalStack is not installed at {VENV_PYTHON}; {INSTALL_HINT}")
    if is_healthy(port):
        raise LocalStackError(
            f"something already answers on 127.0.0.1:{port}; stop it or choose another port"
        )
    FILESYSTEM_ROOT.mkdir(parents=True, exist_ok=True)
    log = LOG_FILE.open("ab")
    process = subprocess.Popen(  # noqa: S603 - fixed argv, our own venv
        [str(VENV_PYTHON), "-m", "localstack.runtime.main"],
        env=_environment(port),
        cwd=CACHE_DIR,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LocalStackError(
                f"LocalStack exited with code {process.returncode} before it was ready; "
                f"see {LOG_FILE}"
            )
        if is_healthy(port):
            return LocalStack(port=port, pid=process.pid)
        time.sleep(0.2)
    stop(process.pid)
    raise LocalStackError(f"LocalStack was not ready within {ready_timeout:.0f}s; see {LOG_FILE}")


def stop(pid: int, grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM the process we started, then SIGKILL it if it has not gone after `grace` s."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # not our child (started by `make localstack`)
            finished = 0 if _alive(pid) else pid
        if finished == pid:
            return
        time.sleep(0.1)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.localstack", description="Run the embedded AWS in the background."
    )
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="gateway port (4566)")
    args = parser.parse_args(argv)
    if args.action == "status":
        healthy = is_healthy(args.port)
        print(f"LocalStack on 127.0.0.1:{args.port}: {'up' if healthy else 'down'}")
        return 0 if healthy else 1
    if args.action == "stop":
        if not PID_FILE.exists():
            print("LocalStack is not running (no pid file)")
            return 0
        stop(int(PID_FILE.read_text()))
        PID_FILE.unlink()
        print("LocalStack stopped")
        return 0
    if is_healthy(args.port) and PID_FILE.exists():
        print(f"LocalStack already up at http://127.0.0.1:{args.port}")
        return 0
    try:
        started = time.perf_counter()
        localstack = start(args.port)
    except LocalStackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    PID_FILE.write_text(str(localstack.pid))
    print(
        f"LocalStack up at {localstack.endpoint_url} (pid {localstack.pid}, "
        f"{time.perf_counter() - started:.1f}s); stop it with `make localstack-stop`"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
