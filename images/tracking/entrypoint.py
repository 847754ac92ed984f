"""Start the MLflow tracking server against the platform's RDS PostgreSQL database.

The database password lives only in the Secrets Manager secret RDS manages (JSON with
`username` and `password`). This reads it with the pod's IAM role, builds the PostgreSQL URI
and replaces itself with `mlflow server`, handing the URI over in MLFLOW_BACKEND_STORE_URI (the
variable the server's --backend-store-uri option reads), so the password is never in a
process's arguments and never printed. When RDS rotates the password, the server's database
probe starts failing and the kubelet restarts the container, which reads the new one here.

Configuration (set by the Deployment, infra/components/workloads/tracking_pod.py):
TRACKING_DB_SECRET_ARN, TRACKING_DB_HOST, TRACKING_DB_PORT, TRACKING_DB_NAME,
TRACKING_ARTIFACTS_DESTINATION (s3://<bucket>/mlflow), TRACKING_ALLOWED_HOSTS (comma-separated),
TRACKING_PORT, TRACKING_WORKERS, TRACKING_METRICS_DIR, and POD_IP (Prometheus scrapes by IP).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any, NoReturn
from urllib.parse import quote

REQUIRED = (
    "TRACKING_DB_SECRET_ARN",
    "TRACKING_DB_HOST",
    "TRACKING_DB_PORT",
    "TRACKING_DB_NAME",
    "TRACKING_ARTIFACTS_DESTINATION",
    "TRACKING_ALLOWED_HOSTS",
)
DEFAULTS = {"TRACKING_PORT": "5000", "TRACKING_WORKERS": "2"}


class StartupError(Exception):
    """The server cannot start; the message is one line naming what is wrong and the fix."""


def _setting(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, DEFAULTS.get(name, "")).strip()
    if not value:
        raise StartupError(
            f"{name} is not set; the tracking Deployment sets it (redeploy the stack)"
        )
    return value


def read_credentials(client: Any, secret_arn: str) -> tuple[str, str]:
    """(username, password) from the RDS-managed secret; never echoes the secret's content."""
    try:
        answer = client.get_secret_value(SecretId=secret_arn)
    except Exception as exc:  # botocore's errors, without importing botocore for the type
        code = getattr(exc, "response", {}).get("Error", {}).get("Code") or type(exc).__name__
        raise StartupError(
            f"cannot read the database secret {secret_arn} ({code}); check that the pod's IAM "
            "role may call secretsmanager:GetSecretValue on it and kms:Decrypt with its key"
        ) from None
    try:
        document = json.loads(answer["SecretString"])
        username, password = document["username"], document["password"]
        if not (isinstance(username, str) and isinstance(password, str) and username and password):
            raise TypeError
    except (KeyError, TypeError, ValueError):
        raise StartupError(
            f"the database secret {secret_arn} is not JSON with a username and a password; "
            "point TRACKING_DB_SECRET_ARN at the instance's RDS-managed master user secret"
        ) from None
    return username, password


def backend_store_uri(env: Mapping[str, str], username: str, password: str) -> str:
    """postgresql://user:password@host:port/db?sslmode=require, user and password URL-quoted."""
    host, port, name = (
        _setting(env, key) for key in ("TRACKING_DB_HOST", "TRACKING_DB_PORT", "TRACKING_DB_NAME")
    )
    if not port.isdigit():
        raise StartupError(f"TRACKING_DB_PORT={port!r} is not a port number; set it to e.g. 5432")
    credentials = f"{quote(username, safe='')}:{quote(password, safe='')}"
    return f"postgresql://{credentials}@{host}:{port}/{quote(name, safe='')}?sslmode=require"


def server_command(env: Mapping[str, str]) -> list[str]:
    """`mlflow server` with everything but the database URI (which travels in the environment)."""
    hosts = [host.strip() for host in _setting(env, "TRACKING_ALLOWED_HOSTS").split(",")]
    port = _setting(env, "TRACKING_PORT")
    pod_ip = env.get("POD_IP", "").strip()
    if pod_ip:
        # Prometheus scrapes each pod by its address; MLflow refuses unknown Host headers.
        hosts.append(f"{pod_ip}:{port}")
    command = [
        "mlflow",
        "server",
        "--serve-artifacts",
        "--artifacts-destination",
        _setting(env, "TRACKING_ARTIFACTS_DESTINATION"),
        "--host",
        "0.0.0.0",  # noqa: S104 - every address inside the pod; the NetworkPolicy admits clients
        "--port",
        port,
        "--workers",
        _setting(env, "TRACKING_WORKERS"),
        "--allowed-hosts",
        ",".join(host for host in hosts if host),
    ]
    metrics = env.get("TRACKING_METRICS_DIR", "").strip()
    if metrics:
        command += ["--expose-prometheus", metrics]
    return command


def prepare(
    env: Mapping[str, str], client_factory: Callable[[], Any]
) -> tuple[list[str], dict[str, str]]:
    """The command and environment to exec; raises StartupError with a one-line reason."""
    missing = [name for name in REQUIRED if not env.get(name, "").strip()]
    if missing:
        raise StartupError(
            f"{', '.join(missing)} not set; the tracking Deployment sets them (redeploy the stack)"
        )
    command = server_command(env)
    username, password = read_credentials(client_factory(), env["TRACKING_DB_SECRET_ARN"])
    child_env = {
        **env,
        "MLFLOW_BACKEND_STORE_URI": backend_store_uri(env, username, password),
        # No usage reports leave the cluster.
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
    }
    return command, child_env


def _secrets_client() -> Any:
    import boto3

    return boto3.client("secretsmanager")


def main(
    env: Mapping[str, str] | None = None,
    client_factory: Callable[[], Any] = _secrets_client,
    execvpe: Callable[[str, list[str], dict[str, str]], NoReturn] = os.execvpe,
) -> int:
    try:
        command, child_env = prepare(dict(os.environ if env is None else env), client_factory)
    except StartupError as exc:
        print(f"tracking server not started: {exc}", file=sys.stderr)
        return 2
    execvpe(command[0], command, child_env)


if __name__ == "__main__":
    sys.exit(main())
