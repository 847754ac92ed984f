"""The tracking server `make up` and the tests start: MLflow in its own venv, artifacts in
LocalStack's S3, reachable from the loopback only, stopped with everything it started."""

from __future__ import annotations

import functools
import http.client
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from mlflow import MlflowClient

from devtools import mlflow_server
from tests.conftest import EmbeddedAws
from tests.ports import free_port


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any existing interpreter as MLflow's: the checks before the start need no real venv."""
    monkeypatch.setattr(mlflow_server, "VENV_PYTHON", Path(sys.executable))


@pytest.fixture
def stopped_after(tmp_path: Path) -> Iterator[Path]:
    """A state folder whose server, if a test leaves one running, is stopped afterwards."""
    yield tmp_path
    mlflow_server.stop_recorded(tmp_path)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _port_free(port: int) -> bool:
    """Nothing listens on `port` (closed connections may linger in TIME_WAIT)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_missing_install_names_the_command_to_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mlflow_server, "VENV_PYTHON", Path("/nonexistent/venv/bin/python"))
    with pytest.raises(mlflow_server.TrackingServerError, match=r"make tracking-venv"):
        mlflow_server.start(s3_endpoint_url="http://127.0.0.1:1", bucket="b", state_dir=Path("x"))


@pytest.mark.usefixtures("installed")
def test_a_busy_port_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(mlflow_server.TrackingServerError, match=rf"port {port} .* in use"):
            mlflow_server.start(
                s3_endpoint_url="http://127.0.0.1:1", bucket="b", port=port, state_dir=tmp_path
            )
    assert not mlflow_server.record_file(tmp_path).exists()


@pytest.mark.usefixtures("installed")
def test_an_unreachable_localstack_is_named(tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(mlflow_server.TrackingServerError) as raised:
        mlflow_server.start(s3_endpoint_url=endpoint, bucket="models", state_dir=tmp_path)
    message = str(raised.value)
    assert f"LocalStack is not reachable at {endpoint}" in message and "make localstack" in message


@pytest.mark.localstack
@pytest.mark.usefixtures("installed")
def test_a_missing_bucket_is_named(embedded_aws: EmbeddedAws, tmp_path: Path) -> None:
    with pytest.raises(mlflow_server.TrackingServerError, match=r"bucket 'no-such-bucket' .*"):
        mlflow_server.start(
            s3_endpoint_url=embedded_aws.endpoint_url, bucket="no-such-bucket", state_dir=tmp_path
        )


def _fake_mlflow(tmp_path: Path, body: str) -> Path:
    """An executable standing in for the venv's python: runs `body` (sh), given MLflow's argv."""
    fake = tmp_path / "python"
    fake.write_text(f"#!/bin/sh\n{body}\n")
    fake.chmod(0o755)
    return fake


@pytest.mark.slow
@pytest.mark.localstack
def test_a_server_that_dies_at_start_is_reported_with_its_log(
    monkeypatch: pytest.MonkeyPatch, embedded_aws: EmbeddedAws, tracking_bucket: str, tmp_path: Path
) -> None:
    fake = _fake_mlflow(
        tmp_path, 'echo "sqlite3.OperationalError: unable to open database"; exit 4'
    )
    monkeypatch.setattr(mlflow_server, "VENV_PYTHON", fake)
    state = tmp_path / "state"
    with pytest.raises(mlflow_server.TrackingServerError) as raised:
        mlflow_server.start(
            s3_endpoint_url=embedded_aws.endpoint_url, bucket=tracking_bucket, state_dir=state
        )
    message = str(raised.value)
    assert "exited with code 4 before it was ready" in message, message
    assert "unable to open database" in message, "the log's tail is missing"
    assert not mlflow_server.record_file(state).exists()


@pytest.mark.slow
@pytest.mark.localstack
def test_a_server_that_never_answers_is_stopped_at_the_timeout(
    monkeypatch: pytest.MonkeyPatch, embedded_aws: EmbeddedAws, tracking_bucket: str, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pid"
    fake = _fake_mlflow(tmp_path, f"echo $$ > {pid_file}\nexec sleep 60")
    monkeypatch.setattr(mlflow_server, "VENV_PYTHON", fake)
    state = tmp_path / "state"
    with pytest.raises(mlflow_server.TrackingServerError, match=r"not ready within 1s"):
        mlflow_server.start(
            s3_endpoint_url=embedded_aws.endpoint_url,
            bucket=tracking_bucket,
            state_dir=state,
            ready_timeout=1,
        )
    assert not _group_alive(int(pid_file.read_text())), "the unready server was left running"
    assert not mlflow_server.record_file(state).exists()


@pytest.mark.slow
def test_a_stale_record_never_signals_a_process_that_is_not_the_server(tmp_path: Path) -> None:
    """The recorded PID may have been reused since: such a process is left alone."""
    stranger = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        stale = mlflow_server.TrackingServer(stranger.pid, 1, "b", "http://127.0.0.1:1")
        mlflow_server.write_record(tmp_path, stale)
        assert mlflow_server.stop_recorded(tmp_path) is not None
        assert stranger.poll() is None, "stop signalled a process that is not the server"
        assert not mlflow_server.record_file(tmp_path).exists()
    finally:
        stranger.send_signal(signal.SIGKILL)
        stranger.wait()


@pytest.mark.slow
@pytest.mark.localstack
def test_cli_start_twice_status_and_stop_leave_no_process(
    embedded_aws: EmbeddedAws,
    tracking_bucket: str,
    stopped_after: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    start = ["start", "--bucket", tracking_bucket, "--s3-endpoint-url", embedded_aws.endpoint_url]
    state = ["--state-dir", str(stopped_after)]

    assert mlflow_server.main([*start, *state]) == 0
    server = mlflow_server.read_record(stopped_after)
    assert server is not None and mlflow_server.is_healthy(server.url)
    assert mlflow_server.main([*start, *state]) == 0
    assert mlflow_server.main(["status", *state]) == 0
    out = capsys.readouterr().out
    assert f"already up at {server.url}" in out and f"up at {server.url}" in out, out

    assert mlflow_server.main(["stop", *state]) == 0
    assert not _group_alive(server.pid), "the server or its uvicorn outlived stop"
    assert _port_free(server.port), f"port {server.port} still taken after stop"
    assert mlflow_server.main(["status", *state]) == 1


@pytest.mark.slow
@pytest.mark.localstack
def test_a_second_start_is_refused_and_a_restart_keeps_the_experiments(
    embedded_aws: EmbeddedAws, tracking_bucket: str, stopped_after: Path
) -> None:
    start = functools.partial(
        mlflow_server.start,
        s3_endpoint_url=embedded_aws.endpoint_url,
        bucket=tracking_bucket,
        state_dir=stopped_after,
    )
    first = start()
    experiment_id = MlflowClient(first.url).create_experiment("kept-across-restarts")
    with pytest.raises(mlflow_server.TrackingServerError, match=r"already running at"):
        start()
    assert mlflow_server.is_running(first), "the refused start disturbed the running server"

    mlflow_server.stop_recorded(stopped_after)
    assert not _group_alive(first.pid)
    second = start()

    assert second.pid != first.pid
    experiment = MlflowClient(second.url).get_experiment_by_name("kept-across-restarts")
    assert experiment is not None and experiment.experiment_id == experiment_id


@pytest.mark.slow
@pytest.mark.localstack
def test_artifacts_land_in_the_bucket_under_mlflow(
    tracking_server: str, tracking_bucket: str, embedded_aws: EmbeddedAws, tmp_path: Path
) -> None:
    client = MlflowClient(tracking_server)
    run = client.create_run(client.create_experiment("artifacts-in-s3"))
    notes = tmp_path / "notes.txt"
    notes.write_text("trained on iris")
    client.log_artifact(run.info.run_id, str(notes), "docs")

    listed = embedded_aws.client("s3").list_objects_v2(Bucket=tracking_bucket, Prefix="mlflow/")
    keys = [item["Key"] for item in listed.get("Contents", [])]
    expected = f"mlflow/{run.info.experiment_id}/{run.info.run_id}/artifacts/docs/notes.txt"
    assert expected in keys, keys


@pytest.mark.slow
@pytest.mark.localstack
@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("127.0.0.1:{port}", 200),
        ("localhost:{port}", 200),
        # MLflow's default would also accept private addresses: a LAN name rebound to us.
        ("10.0.0.5:{port}", 403),
        ("192.168.1.20:{port}", 403),
        ("tracking.example.com", 403),
    ],
)
def test_only_loopback_host_headers_are_served(
    tracking_server: str, host: str, status: int
) -> None:
    address = urlsplit(tracking_server)
    assert address.hostname is not None and address.port is not None
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        path = "/api/2.0/mlflow/experiments/search?max_results=1"
        connection.request("GET", path, headers={"Host": host.format(port=address.port)})
        assert connection.getresponse().status == status
    finally:
        connection.close()
