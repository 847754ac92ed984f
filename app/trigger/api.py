"""The webhook: `POST /v1/alerts` with Alertmanager's JSON and the shared bearer token.

The token is checked before a byte of the body is read, the body is capped, and no error
repeats what the caller sent: whoever can reach the port must not be able to make the pod
buffer or echo large bodies (its memory limit is 192 Mi).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Header, HTTPException, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from app.trigger.jobs import Launcher, LaunchResult
from app.trigger.kube import KubernetesError

log = logging.getLogger("app.trigger")

# Alertmanager's webhook bodies are a few KiB per alert; max_length=1000 alerts fits easily.
MAX_BODY_BYTES = 1024 * 1024
# Names an error location may show; any other part is a key the caller chose.
_FIELD_NAMES = frozenset({"body", "version", "status", "alerts", "labels"})


class Alert(BaseModel):
    model_config = ConfigDict(extra="ignore")
    status: Literal["firing", "resolved"]
    labels: dict[str, str] = Field(default_factory=dict)


class AlertmanagerPayload(BaseModel):
    """The fields of Alertmanager's webhook body (version 4) the trigger reads."""

    model_config = ConfigDict(extra="ignore")
    version: str
    status: Literal["firing", "resolved"]
    alerts: list[Alert] = Field(max_length=1000)


class TriggerResponse(BaseModel):
    action: Literal["created", "already-running", "already-created", "ignored"]
    job: str | None = None


def _authorized(header: str | None, token: str) -> bool:
    scheme, _, presented = (header or "").partition(" ")
    # compare_digest: the time taken must not reveal how much of the token matched.
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.encode(), token.encode())


def _too_large() -> HTTPException:
    return HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE,
        detail=f"request body is larger than {MAX_BODY_BYTES} bytes",
    )


async def _read_body(request: Request) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed MAX_BODY_BYTES."""
    length = request.headers.get("content-length")
    if length is not None and (
        not (length.isascii() and length.isdigit()) or int(length) > MAX_BODY_BYTES
    ):
        raise _too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def _problems(errors: Sequence[Mapping[str, Any]]) -> str:
    """Where and what, never the input itself (it may be large, or not ours to repeat)."""
    parts: list[str] = []
    for error in errors[:5]:
        loc: Sequence[object] = error.get("loc") or ()
        parts.append(f"{'.'.join(_loc_part(part) for part in loc) or 'body'}: {error.get('msg')}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(parts) + more


def _loc_part(part: object) -> str:
    if isinstance(part, int) or part in _FIELD_NAMES:
        return str(part)
    return "<key>"


def _parse(body: bytes) -> AlertmanagerPayload:
    try:
        return AlertmanagerPayload.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False)
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"not an Alertmanager webhook body: {_problems(errors)}",
        ) from None


def create_app(token: str, launcher: Launcher) -> FastAPI:
    app = FastAPI(title="retrain trigger", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _problems(exc.errors())}, status_code=422)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # The body is read here, after the token check, not declared as a parameter: FastAPI
    # reads and parses declared bodies before the handler (and its dependencies) run.
    @app.post("/v1/alerts", responses={202: {"model": TriggerResponse}})
    async def alerts(
        request: Request,
        response: Response,
        authorization: Annotated[str | None, Header()] = None,
    ) -> TriggerResponse:
        if not _authorized(authorization, token):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="missing or wrong bearer token; send the retrainWebhookToken secret",
                headers={"WWW-Authenticate": "Bearer"},
            )
        payload = _parse(await _read_body(request))
        firing = sorted(
            {a.labels.get("alertname", "unnamed") for a in payload.alerts if a.status == "firing"}
        )
        if payload.status != "firing" or not firing:
            return TriggerResponse(action="ignored")
        try:
            # The Kubernetes client blocks; keep the event loop free for other requests.
            result: LaunchResult = await run_in_threadpool(launcher.launch, ",".join(firing))
        except KubernetesError as exc:
            # The API's answer may name cluster internals: it goes to the log, not the caller.
            log.error("retrain not started: %s", exc)
            raise HTTPException(
                status.HTTP_502_BAD_GATEWAY,
                detail="the retraining Job could not be started; the trigger's log has the cause",
            ) from None
        log.info("retrain %s: %s (alerts: %s)", result.outcome, result.job, ",".join(firing))
        if result.outcome == "created":
            response.status_code = status.HTTP_202_ACCEPTED
        return TriggerResponse(action=result.outcome, job=result.job)

    return app
