"""What operators and the cluster ask: liveness, readiness, metrics, and (in dev) the docs."""

from __future__ import annotations

import math

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from app import metrics
from app.serving.schemas import ErrorResponse, Readiness, Status
from app.serving.state import serving_state

router = APIRouter()


@router.get("/docs", include_in_schema=False)
async def docs(request: Request) -> Response:
    if not serving_state(request.app).docs_enabled:
        raise StarletteHTTPException(404, "Not Found")
    api = request.app
    return get_swagger_ui_html(openapi_url=api.openapi_url or "", title=f"{api.title} docs")


@router.get("/healthz")
async def healthz() -> Status:
    return Status(status="ok")


# 200 also when no model has been promoted yet (a first deploy must become Available);
# 503 with the reason as the error code when the alias's version cannot be loaded.
@router.get("/readyz", response_model_exclude_none=True, responses={503: {"model": ErrorResponse}})
async def readyz(request: Request) -> Readiness:
    return serving_state(request.app).holder.readiness()


@router.get("/metrics", include_in_schema=False)
async def prometheus(request: Request) -> Response:
    state = serving_state(request.app)
    model = state.holder.current
    if model is not None:
        state.feedback.prepare(model.version, model.class_names)
        # Drift is computed at scrape time, not on every prediction.
        for feature, (psi, ks) in model.drift.statistics().items():
            if not math.isnan(psi):
                metrics.FEATURE_DRIFT_PSI.labels(feature=feature).set(psi)
                metrics.FEATURE_DRIFT_KS.labels(feature=feature).set(ks)
    return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)
