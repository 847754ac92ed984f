"""Reaching the tracking server: a fast check first, then every call's failure as one line.

MLflow's client retries a refused connection for about two minutes before it gives up, and its
error is a page of urllib3 text. Training checks the server before it reads any data (a few
seconds, one line naming the URI when it fails), and every later call that fails becomes a
TrackingUnavailableError naming the URI and what was being done.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Generator
from contextlib import contextmanager

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from app.errors import ConfigError, ModelNotFoundError, TrackingUnavailableError

CHECK_TIMEOUT_SECONDS = 10.0
_CLIENT_DEFAULTS = {"MLFLOW_HTTP_REQUEST_TIMEOUT": "30", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3"}
_FIX = "check MLOPS_TRACKING_URI and that the tracking server is running (`make up` starts one)"


def connect(uri: str, timeout: float = CHECK_TIMEOUT_SECONDS) -> MlflowClient:
    """A client for `uri` once the server has answered its health check and one API call."""
    _require_http(uri)
    # The client's own defaults wait two minutes per request and retry seven times: a hung
    # server would stall a training for the better part of an hour. Settings win.
    for name, value in _CLIENT_DEFAULTS.items():
        os.environ.setdefault(name, value)
    _check_health(uri, timeout)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    with tracking_errors(uri, "listing experiments"):
        client.search_experiments(max_results=1)  # pyright: ignore[reportUnknownMemberType]
    return client


@contextmanager
def tracking_errors(uri: str, action: str) -> Generator[None]:
    """Turn the client's failures into one line naming the URI and what was being done:
    ModelNotFoundError for what the server does not have (a bad id: exit 2), otherwise
    TrackingUnavailableError, with the hint that fits (credentials, or the server itself)."""
    try:
        yield
    except MlflowException as exc:
        detail = first_line(exc.message)
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise ModelNotFoundError(f"tracking server {uri}: {action}: {detail}") from None
        status = exc.get_http_status_code()
        if status in (401, 403):
            hint = "set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD for this server"
        elif _unreachable(exc):
            hint = _FIX
        else:
            hint = "the server refused the request"
        raise TrackingUnavailableError(
            f"tracking server {uri}: {action} failed: {detail}; {hint}"
        ) from None
    except OSError as exc:
        raise TrackingUnavailableError(
            f"tracking server {uri}: {action} failed: {first_line(str(exc))}; {_FIX}"
        ) from None


def _unreachable(exc: MlflowException) -> bool:
    # The client reports a connection it could not make (after its retries) as an internal
    # error whose message carries the transport's.
    text = exc.message
    return "Max retries exceeded" in text or "failed with exception" in text


def _require_http(uri: str) -> None:
    # A file or database URI would make training write a private store on the machine it
    # runs on, which no one else sees; the platform's runs live on its server.
    scheme = urllib.parse.urlsplit(uri).scheme
    if scheme not in ("http", "https"):
        raise ConfigError(
            f"MLOPS_TRACKING_URI={uri!r} must be the tracking server's http(s):// URL, "
            "e.g. http://127.0.0.1:5000"
        )


def _check_health(uri: str, timeout: float) -> None:
    try:
        with urllib.request.urlopen(f"{uri}/health", timeout=timeout) as response:  # noqa: S310 (http(s) only, checked above)
            response.read()
    except urllib.error.HTTPError as exc:
        raise TrackingUnavailableError(
            f"tracking server {uri} answered HTTP {exc.code} to its health check; {_FIX}"
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise TrackingUnavailableError(
            f"tracking server {uri} is unreachable ({first_line(str(reason))}); {_FIX}"
        ) from None


def first_line(text: str, limit: int = 300) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "no detail"
    return line if len(line) <= limit else line[: limit - 1] + "…"
