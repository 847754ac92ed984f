"""The webhook: `POST /v1/alerts` with Alertmanager's JSON and the shared bearer token."""

from __future__ import annotations

import hmac
import logging
from typing import Annotated, Literal

from fastapi import FastAPI, Header, HTTPException, Response, status
from pydantic import BaseModel, ConfigDict, Field

from app.trigger.jobs import LaunchResult, RetrainLauncher
from app.trigger.kube import KubernetesError

log = logging.getLogger("app.trigger")


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


def create_app(token: str, launcher: RetrainLauncher) -> FastAPI:
    app = FastAPI(title="retrain trigger", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/alerts", responses={202: {"model": TriggerResponse}})
    def alerts(
        payload: AlertmanagerPayload,
        response: Response,
        authorization: Annotated[str | None, Header()] = None,
    ) -> TriggerResponse:
        if not _authorized(authorization, token):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="missing or wrong bearer token; send the retrainWebhookToken secret",
                headers={"WWW-Authenticate": "Bearer"},
            )
        firing = sorted(
            {a.labels.get("alertname", "unnamed") for a in payload.alerts if a.status == "firing"}
        )
        if payload.status != "firing" or not firing:
            return TriggerResponse(action="ignored")
        try:
            result: LaunchResult = launcher.launch(reason=",".join(firing))
        except KubernetesError as exc:
            log.error("retrain not started: %s", exc)
            raise HTTPException(status.HTTP_502_BAD_GATEWAY, detail=str(exc)) from None
        log.info("retrain %s: %s (alerts: %s)", result.outcome, result.job, ",".join(firing))
        if result.outcome == "created":
            response.status_code = status.HTTP_202_ACCEPTED
        return TriggerResponse(action=result.outcome, job=result.job)

    return app
