"""images/tracking/entrypoint.py: the database password reaches MLflow only through its
environment, and every way to fail says what is wrong in one line."""

from __future__ import annotations

import importlib.util
import itertools
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn
from urllib.parse import unquote, urlsplit

import pytest

from infra import contracts
from infra_tools.synth.stackfile import PROJECT_ROOT
from tests.infra.conftest import dev, graphs, local, prod
from tests.infra.graph import Graph

__all__ = ["dev", "graphs", "local", "prod"]

ENTRYPOINT = PROJECT_ROOT / "images" / "tracking" / "entrypoint.py"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-x-AbCdEf"
# A test value with characters a URI reserves.
PASSWORD = "p@ss:w/rd%?#&="


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tracking_entrypoint", ENTRYPOINT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


entrypoint = _load()


class FakeSecrets:
    def __init__(self, answer: dict[str, Any] | Exception) -> None:
        self.answer = answer
        self.asked: list[str] = []

    def get_secret_value(self, SecretId: str) -> dict[str, Any]:  # noqa: N803 - boto3's name
        self.asked.append(SecretId)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


class AccessDeniedError(Exception):
    response = {"Error": {"Code": "AccessDeniedException", "Message": "no"}}  # noqa: RUF012


def _env(**overrides: str) -> dict[str, str]:
    env = {
        "TRACKING_DB_SECRET_ARN": SECRET_ARN,
        "TRACKING_DB_HOST": "db.example.internal",
        "TRACKING_DB_PORT": "5432",
        "TRACKING_DB_NAME": "mlflow",
        "TRACKING_ARTIFACTS_DESTINATION": "s3://bucket/mlflow",
        "TRACKING_ALLOWED_HOSTS": "mlflow.tracking.svc.cluster.local:5000,localhost",
        "TRACKING_PORT": "5000",
        "TRACKING_WORKERS": "2",
        "TRACKING_METRICS_DIR": "/var/run/mlflow-metrics",
        "POD_IP": "10.20.1.7",
    }
    env.update(overrides)
    return {key: value for key, value in env.items() if value}


def _secret(**document: object) -> FakeSecrets:
    return FakeSecrets({"SecretString": json.dumps(document)})


class Exec:
    """Stands in for os.execvpe and records what would have run."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str], dict[str, str]]] = []

    def __call__(self, file: str, args: list[str], env: dict[str, str]) -> NoReturn:
        self.calls.append((file, args, env))
        raise SystemExit(0)


def _run(env: dict[str, str], secrets: FakeSecrets) -> tuple[int, Exec]:
    execs = Exec()
    try:
        code = entrypoint.main(env, lambda: secrets, execs)
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, execs


def test_the_server_gets_the_database_uri_in_its_environment_never_its_arguments() -> None:
    secrets = _secret(username="mlflow", password=PASSWORD)
    code, execs = _run(_env(), secrets)
    assert code == 0 and secrets.asked == [SECRET_ARN]
    ((file, args, env),) = execs.calls
    assert file == "mlflow" and args[:2] == ["mlflow", "server"]
    assert not any(PASSWORD in arg or "postgresql" in arg for arg in args), args
    uri = urlsplit(env["MLFLOW_BACKEND_STORE_URI"])
    assert uri.scheme == "postgresql" and uri.query == "sslmode=require"
    assert (unquote(uri.username or ""), unquote(uri.password or "")) == ("mlflow", PASSWORD)
    assert (uri.hostname, uri.port, uri.path) == ("db.example.internal", 5432, "/mlflow")
    assert env["MLFLOW_DISABLE_TELEMETRY"] == "true"


def test_the_server_serves_artifacts_from_the_bucket_and_metrics_from_its_dir() -> None:
    _, execs = _run(_env(), _secret(username="mlflow", password=PASSWORD))
    ((_, args, _),) = execs.calls
    pairs = dict(itertools.pairwise(args))
    assert "--serve-artifacts" in args
    assert pairs["--artifacts-destination"] == "s3://bucket/mlflow"
    assert pairs["--host"] == "0.0.0.0"
    assert pairs["--port"] == "5000" and pairs["--workers"] == "2"
    assert pairs["--expose-prometheus"] == "/var/run/mlflow-metrics"
    hosts = pairs["--allowed-hosts"].split(",")
    assert "10.20.1.7:5000" in hosts, "Prometheus scrapes the pod by its address"
    assert "mlflow.tracking.svc.cluster.local:5000" in hosts


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"SecretString": "not json"}, "is not JSON with a username and a password"),
        ({"SecretString": json.dumps({"username": "mlflow"})}, "is not JSON with a username"),
        ({"SecretBinary": b"x"}, "is not JSON with a username"),
        (AccessDeniedError("denied"), "(AccessDeniedException); check that the pod's IAM role"),
    ],
)
def test_a_bad_or_unreadable_secret_stops_with_one_line(
    answer: dict[str, Any] | Exception, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, execs = _run(_env(), FakeSecrets(answer))
    assert code == 2 and execs.calls == []
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("tracking server not started: ") and expected in lines[0]
    assert SECRET_ARN in lines[0]


def test_the_password_is_never_printed_on_a_bad_secret(capsys: pytest.CaptureFixture[str]) -> None:
    secret = FakeSecrets({"SecretString": json.dumps({"password": PASSWORD})})
    _run(_env(), secret)
    assert PASSWORD not in capsys.readouterr().err


def test_missing_settings_are_named_and_nothing_is_read(
    capsys: pytest.CaptureFixture[str],
) -> None:
    secrets = _secret(username="mlflow", password=PASSWORD)
    code, execs = _run(_env(TRACKING_DB_HOST="", TRACKING_DB_SECRET_ARN=""), secrets)
    assert code == 2 and execs.calls == [] and secrets.asked == []
    (line,) = capsys.readouterr().err.splitlines()
    assert "TRACKING_DB_SECRET_ARN, TRACKING_DB_HOST not set" in line


def test_a_port_that_is_not_a_number_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = _run(_env(TRACKING_DB_PORT="postgres"), _secret(username="u", password="p"))
    assert code == 2
    assert "TRACKING_DB_PORT='postgres' is not a port number" in capsys.readouterr().err


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_deployment_sets_every_variable_the_entrypoint_needs(
    graphs: dict[str, Graph], stack: str
) -> None:
    deployment = graphs[stack].manifest("Deployment", contracts.TRACKING_SERVER)
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    names = {item["name"] for item in container["env"]}
    assert set(entrypoint.REQUIRED) <= names, sorted(set(entrypoint.REQUIRED) - names)
    assert {"TRACKING_PORT", "TRACKING_WORKERS", "TRACKING_METRICS_DIR", "POD_IP"} <= names


def test_the_image_runs_the_entrypoint_as_a_non_root_user() -> None:
    dockerfile = (ENTRYPOINT.parent / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["python", "/srv/entrypoint.py"]' in dockerfile
    assert "USER 10001" in dockerfile
    assert "--require-hashes" in dockerfile and "requirements.txt" in dockerfile
    assert Path(ENTRYPOINT).read_text().count("print(") == 1, "one place prints: the error"


def _pins(path: Path) -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+) \\$", path.read_text(), flags=re.MULTILINE)
    return {name.lower().replace("_", "-"): version for name, version in pins}


def test_the_image_has_the_exporter_that_expose_prometheus_imports() -> None:
    """`mlflow server --expose-prometheus` imports prometheus_flask_exporter, which mlflow does
    not depend on: without it every server process dies at start."""
    dockerfile = (ENTRYPOINT.parent / "Dockerfile").read_text()
    installed = re.findall(r"-r (requirements[\w-]*\.txt)", dockerfile)
    pins: dict[str, str] = {}
    for name in installed:
        for package, version in _pins(ENTRYPOINT.parent / name).items():
            assert pins.setdefault(package, version) == version, f"{package} pinned twice"
    assert "prometheus-flask-exporter" in pins and "mlflow" in pins, installed
