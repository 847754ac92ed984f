"""A minimal Kubernetes API client: the few calls the trigger makes, over the stdlib.

The official client would add ~30 MB and many dependencies to the serving image for three
REST calls; in-cluster auth is just a bearer token and the cluster CA.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode


class KubernetesError(Exception):
    """The API answered with an error status (or could not be reached)."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(f"Kubernetes API {status}: {message}")


class AlreadyExistsError(KubernetesError):
    """A Job of that name exists already (409)."""


class KubernetesApi:
    def __init__(
        self, server: str, token_file: Path, ca_file: Path | None, timeout: float = 10.0
    ) -> None:
        self._server = server.rstrip("/")
        # Re-read on every call: the kubelet rotates projected tokens in place.
        self._token_file = token_file
        self._context = ssl.create_default_context(cafile=str(ca_file)) if ca_file else None
        self._timeout = timeout

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        token = self._token_file.read_text(encoding="utf-8").strip()
        request = urllib.request.Request(  # noqa: S310 - URL is the configured API server
            f"{self._server}{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(  # noqa: S310
                request, timeout=self._timeout, context=self._context
            ) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            error = AlreadyExistsError if exc.code == 409 else KubernetesError
            raise error(exc.code, detail) from None
        except (urllib.error.URLError, TimeoutError) as exc:
            raise KubernetesError(0, f"{self._server} unreachable ({exc})") from None

    def get_cronjob(self, namespace: str, name: str) -> dict[str, Any]:
        return self._request(
            "GET", f"/apis/batch/v1/namespaces/{quote(namespace)}/cronjobs/{quote(name)}"
        )

    def list_jobs(self, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        query = urlencode({"labelSelector": label_selector})
        answer = self._request("GET", f"/apis/batch/v1/namespaces/{quote(namespace)}/jobs?{query}")
        items: list[dict[str, Any]] = answer.get("items", [])
        return items

    def create_job(self, namespace: str, job: dict[str, Any]) -> dict[str, Any]:
        return self._request("POST", f"/apis/batch/v1/namespaces/{quote(namespace)}/jobs", job)

    def list_workflows(self, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        query = urlencode({"labelSelector": label_selector})
        answer = self._request("GET", f"{_WORKFLOWS.format(quote(namespace))}?{query}")
        items: list[dict[str, Any]] = answer.get("items", [])
        return items

    def create_workflow(self, namespace: str, workflow: dict[str, Any]) -> dict[str, Any]:
        return self._request("POST", _WORKFLOWS.format(quote(namespace)), workflow)


_WORKFLOWS = "/apis/argoproj.io/v1alpha1/namespaces/{}/workflows"
