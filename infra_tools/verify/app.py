"""The deployed model server: ready, and answering an authenticated prediction."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from infra_tools.inputs import mapping
from infra_tools.verify.report import Mismatch, VerifyError

HTTP_TIMEOUT_S = 5.0
# One iris flower: the smallest request the platform's default model answers.
DEFAULT_PREDICT_BODY = {"instances": [[5.1, 3.5, 1.4, 0.2]]}
# `/readyz` status of a healthy server before the first model is promoted (app.serving.schemas
# Readiness): a first deploy, whose first training is still running, is not a failed deploy.
NO_MODEL_PROMOTED = "no_model_promoted"


def _readiness_status(text: str) -> str | None:
    try:
        body: Any = json.loads(text)
    except ValueError:
        return None
    return str(mapping(body).get("status")) if isinstance(body, dict) else None


def _request(url: str, body: Any = None, api_key: str | None = None) -> tuple[int, str]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="GET" if data is None else "POST")  # noqa: S310 - URL given by the operator
    request.add_header("Content-Type", "application/json")
    if api_key:
        request.add_header("Authorization", f"Bearer {api_key}")
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:  # noqa: S310
            return int(response.status), response.read(2000).decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(2000).decode(errors="replace")
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise VerifyError(
            f"cannot reach the app at {url} ({reason}, {HTTP_TIMEOUT_S:.0f}s timeout); "
            "check --app-url and that the service is exposed"
        ) from None


def check_app(
    base_url: str,
    api_key: str,
    body: Any = DEFAULT_PREDICT_BODY,
    *,
    no_model_yet_is_healthy: bool = False,
) -> list[Mismatch]:
    """The server is ready and answers a prediction. `no_model_yet_is_healthy`: this deploy
    started the stack's first training, so "no model promoted yet" is expected; anywhere
    else it means a misspelled or deleted alias, and is a mismatch."""
    base = base_url.rstrip("/")
    problems: list[Mismatch] = []
    status, text = _request(f"{base}/readyz")
    if status != 200:
        problems.append(Mismatch(f"app {base}", "GET /readyz", "200", f"{status} {text[:200]}"))
    elif _readiness_status(text) == NO_MODEL_PROMOTED:
        if no_model_yet_is_healthy:
            # Nothing to predict with yet; the predictions are checked on the next deploy.
            return problems
        problems.append(Mismatch(f"app {base}", "promoted model", "one", f"none ({text[:200]})"))
        return problems
    status, text = _request(f"{base}/v1/predict", body, api_key)
    if status != 200:
        problems.append(
            Mismatch(f"app {base}", "POST /v1/predict", "200", f"{status} {text[:200]}")
        )
    return problems
