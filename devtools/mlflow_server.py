"""The tracking server for `make up` and the tests: MLflow on a SQLite store, its artifacts in
an S3 bucket of the embedded AWS (LocalStack).

MLflow runs in its own virtualenv (`make tracking-venv`), installed from
images/tracking/requirements.txt: the same pinned environment as the cluster's tracking image.
It listens on 127.0.0.1 only and accepts only the Host headers 127.0.0.1:PORT and
localhost:PORT (MLflow's default would also accept every private address).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CACHE_DIR = PROJECT_ROOT / ".cache" / "mlflow"
VENV_PYTHON = CACHE_DIR / "venv" / "bin" / "python"
# Where `make up`'s server keeps its database, log and record; the tests pass their own.
DEFAULT_STATE_DIR = CACHE_DIR / "state"
ARTIFACT_PREFIX = "mlflow"
REGION = "us-east-1"
STOP_GRACE_SECONDS = 15.0
INSTALL_HINT = "run `make tracking-venv` (or `make test`, which builds it)"
LOG_TAIL_LINES = 20
# LocalStack accepts any credentials; these keep the caller's real ones out of the server.
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


class TrackingServerError(RuntimeError):
    """The tracking server could not be started, or is not installed."""


@dataclass(frozen=True)
class TrackingServer:
    """A started server, as its record file in the state directory describes it."""

    pid: int
    port: int
    bucket: str
    s3_endpoint_url: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def artifacts_destination(self) -> str:
        return f"s3://{self.bucket}/{ARTIFACT_PREFIX}"


def record_file(state_dir: Path) -> Path:
    return state_dir / "server.json"


def log_file(state_dir: Path) -> Path:
    return state_dir / "mlflow.log"


def read_record(state_dir: Path = DEFAULT_STATE_DIR) -> TrackingServer | None:
    """The server last started in `state_dir`, or None; it may have died since."""
    try:
        return TrackingServer(**json.loads(record_file(state_dir).read_text()))
    except FileNotFoundError:
        return None


def write_record(state_dir: Path, server: TrackingServer) -> None:
    record_file(state_dir).write_text(json.dumps(asdict(server)))


def is_healthy(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as response:  # noqa: S310
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def is_running(server: TrackingServer) -> bool:
    """Our process is alive (not a reused PID) and answers /health."""
    return _is_our_server(server.pid) and is_healthy(server.url)


def start(
    *,
    s3_endpoint_url: str,
    bucket: str,
    port: int | None = None,
    state_dir: Path = DEFAULT_STATE_DIR,
    ready_timeout: float = 90.0,
) -> TrackingServer:
    """Start MLflow on 127.0.0.1:`port` (a free one when None) and wait until /health answers.

    `bucket` must already exist at `s3_endpoint_url`: it is the stack's model bucket (or a test's),
    and creating one here would hide a wrong name. Artifacts go under its `mlflow/` prefix.
    """
    if not VENV_PYTHON.exists():
        raise TrackingServerError(f"MLflow is not installed at {VENV_PYTHON}; {INSTALL_HINT}")
    previous = read_record(state_dir)
    if previous is not None and _is_our_server(previous.pid):
        raise TrackingServerError(
            f"a tracking server from {state_dir} is already running at {previous.url} "
            f"(pid {previous.pid}); stop it first (`make tracking-stop`)"
        )
    port = _free_port() if port is None else port
    _require_free_port(port)
    _require_bucket(s3_endpoint_url, bucket)
    state_dir = state_dir.resolve()  # the server runs in it: a relative path would move
    state_dir.mkdir(parents=True, exist_ok=True)
    with log_file(state_dir).open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - fixed argv, our own venv
            _command(port, f"s3://{bucket}/{ARTIFACT_PREFIX}", state_dir),
            env=_environment(s3_endpoint_url),
            cwd=state_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group: MLflow's CLI runs uvicorn as a child, and stop() must
            # reach both without touching anything else.
            start_new_session=True,
        )
    server = TrackingServer(
        pid=process.pid, port=port, bucket=bucket, s3_endpoint_url=s3_endpoint_url
    )
    # Recorded before it is ready, so that `stop` finds it even if this process dies waiting.
    write_record(state_dir, server)
    try:
        _wait_healthy(server, process, state_dir, ready_timeout)
    except TrackingServerError:
        stop(process.pid)
        record_file(state_dir).unlink()
        raise
    return server


def _command(port: int, artifacts_destination: str, state_dir: Path) -> list[str]:
    options = {
        "--host": "127.0.0.1",
        "--port": str(port),
        # One worker is plenty for one developer or one test session; MLflow's default is 4.
        "--workers": "1",
        "--backend-store-uri": f"sqlite:///{state_dir / 'mlflow.db'}",
        "--artifacts-destination": artifacts_destination,
        # Loopback names only: MLflow's default also accepts every private address.
        "--allowed-hosts": f"127.0.0.1:{port},localhost:{port}",
        "--cors-allowed-origins": f"http://127.0.0.1:{port},http://localhost:{port}",
    }
    flags = [item for option in options.items() for item in option]
    return [str(VENV_PYTHON), "-m", "mlflow", "server", "--serve-artifacts", *flags]


def _environment(s3_endpoint_url: str) -> dict[str, str]:
    env = dict(os.environ)
    # Settings from the caller's environment that would change which server this is.
    for name in (
        "MLFLOW_TRACKING_URI",
        "MLFLOW_BACKEND_STORE_URI",
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
    ):
        env.pop(name, None)
    env.update(
        {
            "MLFLOW_S3_ENDPOINT_URL": s3_endpoint_url,
            **DUMMY_CREDENTIALS,
            "AWS_DEFAULT_REGION": REGION,
            # Background job workers (GenAI evaluation jobs) are not used here; they would be
            # two more processes on a laptop.
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
            # A developer's server, often offline: no usage reports to MLflow's collector.
            "MLFLOW_DISABLE_TELEMETRY": "true",
        }
    )
    return env


def _wait_healthy(
    server: TrackingServer, process: subprocess.Popen[bytes], state_dir: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise TrackingServerError(
                f"MLflow exited with code {process.returncode} before it was ready; "
                f"the end of {log_file(state_dir)}:\n{_log_tail(state_dir)}"
            )
        if is_healthy(server.url):
            return
        time.sleep(0.2)
    raise TrackingServerError(
        f"MLflow was not ready within {timeout:.0f}s at {server.url}; "
        f"the end of {log_file(state_dir)}:\n{_log_tail(state_dir)}"
    )


def _log_tail(state_dir: Path) -> str:
    lines = log_file(state_dir).read_text(errors="replace").splitlines()
    return "\n".join(f"    {line}" for line in lines[-LOG_TAIL_LINES:])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _require_free_port(port: int) -> None:
    with socket.socket() as sock:
        # As uvicorn binds: connections of a server stopped just now may still be in TIME_WAIT.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise TrackingServerError(
                f"port {port} on 127.0.0.1 is in use ({exc.strerror}); "
                "stop what listens there or choose another port"
            ) from exc


def _require_bucket(s3_endpoint_url: str, bucket: str) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_endpoint_url,
        region_name=REGION,
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 1}),
    )
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        raise TrackingServerError(
            f"bucket {bucket!r} for the tracking artifacts does not exist at {s3_endpoint_url} "
            f"({exc.response.get('Error', {}).get('Code')}); deploy the stack first (`make up`)"
        ) from exc
    except BotoCoreError as exc:
        raise TrackingServerError(
            f"LocalStack is not reachable at {s3_endpoint_url} ({exc}); "
            "start it first (`make localstack`)"
        ) from exc


def stop(pid: int, grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM the server's process group (the CLI and its uvicorn), then SIGKILL what is left
    after `grace` s. `pid` must be a server this module started: it leads its own group."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        _reap(pid)
        if not _group_alive(pid):
            return
        time.sleep(0.1)
    if _group_alive(pid):
        os.killpg(pid, signal.SIGKILL)
        _reap(pid)


def _reap(pid: int) -> None:
    """Collect our child's exit status, so it does not linger as a zombie of the group."""
    # ChildProcessError: not our child (started by an earlier `make up`); nothing to collect.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _is_our_server(pid: int) -> bool:
    """`pid` still leads the process group start() made, and runs MLflow (not a reused PID)."""
    try:
        if os.getpgid(pid) != pid:
            return False
    except ProcessLookupError:
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    return not cmdline.exists() or b"-m\0mlflow\0server\0" in cmdline.read_bytes()


def stop_recorded(state_dir: Path = DEFAULT_STATE_DIR) -> TrackingServer | None:
    """Stop the server recorded in `state_dir`, if it still runs; forget it either way."""
    server = read_record(state_dir)
    if server is None:
        return None
    if _is_our_server(server.pid):
        stop(server.pid)
    record_file(state_dir).unlink()
    return server


def ensure(
    *, s3_endpoint_url: str, bucket: str, state_dir: Path = DEFAULT_STATE_DIR
) -> TrackingServer:
    """The server recorded in `state_dir` when it runs on this bucket; otherwise a new one."""
    server = read_record(state_dir)
    if (
        server is not None
        and server.bucket == bucket
        and server.s3_endpoint_url == s3_endpoint_url
        and is_running(server)
    ):
        return server
    stop_recorded(state_dir)
    return start(s3_endpoint_url=s3_endpoint_url, bucket=bucket, state_dir=state_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.mlflow_server",
        description="Run the MLflow tracking server in the background.",
    )
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--bucket", help="S3 bucket for the artifacts (start; must exist)")
    parser.add_argument(
        "--s3-endpoint-url", default="http://127.0.0.1:4566", help="LocalStack (start)"
    )
    parser.add_argument("--port", type=int, help="port on 127.0.0.1 (start; default: a free one)")
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.action == "status":
        server = read_record(args.state_dir)
        if server is None or not is_running(server):
            print("tracking server: down")
            return 1
        where = f"pid {server.pid}, artifacts in {server.artifacts_destination}"
        print(f"tracking server: up at {server.url} ({where})")
        return 0
    if args.action == "stop":
        stopped = stop_recorded(args.state_dir)
        print(
            "tracking server stopped" if stopped else "tracking server is not running (no record)"
        )
        return 0
    if args.bucket is None:
        parser.error("start needs --bucket")
    running = read_record(args.state_dir)
    if running is not None and running.bucket == args.bucket and is_running(running):
        print(f"tracking server already up at {running.url}")
        return 0
    try:
        started = time.perf_counter()
        server = start(
            s3_endpoint_url=args.s3_endpoint_url,
            bucket=args.bucket,
            port=args.port,
            state_dir=args.state_dir,
        )
    except TrackingServerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"tracking server up at {server.url} (pid {server.pid}, "
        f"{time.perf_counter() - started:.1f}s); stop it with `make tracking-stop`"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
