"""The HTTP API. Routers stay thin: the work is in ModelHolder, DriftMonitor and FeedbackTracker.

Errors: every AppError maps to its status code and the ErrorResponse body here, in one place.
"""

from __future__ import annotations

import hmac
import math
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import numpy as np
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

import app
from app import metrics
from app.aws import s3_client
from app.errors import (
    AppError,
    AuthenticationError,
    InvalidInputError,
    ModelNotFoundError,
)
from app.registry import S3ModelRegistry
from app.serving.feedback import FeedbackTracker
from app.serving.middleware import BodyLimitMiddleware, MetricsMiddleware
from app.serving.model import LoadedModel, ModelHolder
from app.serving.schemas import (
    ErrorBody,
    ErrorDetail,
    ErrorResponse,
    FeedbackRequest,
    FeedbackResponse,
    Prediction,
    PredictRequest,
    PredictResponse,
    Readiness,
    Status,
)
from app.settings import Settings, get_settings

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer <key>`")
# 400: a body FastAPI cannot decode at all (e.g. not UTF-8); 422: JSON of the wrong shape.
_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 404, 413, 422, 503)
}


def _error(
    status: int,
    code: str,
    message: str,
    details: list[ErrorDetail] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorResponse(error=ErrorBody(code=code, message=message, details=details or []))
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


# Dependencies are `async def`: a plain `def` would be sent to the thread pool on every request.
async def require_api_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    if credentials is None:
        raise AuthenticationError("missing API key; send `Authorization: Bearer <key>`")
    token = credentials.credentials.encode()
    # Compare with every key, without stopping early: timing reveals nothing about which.
    valid = False
    for key in request.app.state.api_keys:
        valid |= hmac.compare_digest(key.encode(), token)
    if not valid:
        raise AuthenticationError("invalid API key")


async def current_model(request: Request) -> LoadedModel:
    return _served(request)


def _served(request: Request) -> LoadedModel:
    # One read of the reference (in `require`): a hot swap during the request cannot mix
    # two models.
    holder: ModelHolder = request.app.state.holder
    return holder.require()


Authorized = Depends(require_api_key)
Model = Annotated[LoadedModel, Depends(current_model)]


def create_app(
    registry: S3ModelRegistry | None = None, settings: Settings | None = None
) -> FastAPI:
    """The ASGI app. `registry` defaults to one built from settings (tests pass their own).

    `settings` defaults to `get_settings()` (or its dependency override). Passing them here is
    cheaper than an override: FastAPI re-inspects every dependency per request while any
    override is set.
    """

    @asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        config: Settings = settings or api.dependency_overrides.get(get_settings, get_settings)()
        api.state.api_keys = config.load_api_keys()
        used = registry or S3ModelRegistry(
            s3_client(config), config.require_bucket(), config.model_name
        )
        holder = ModelHolder(used, config.model_alias, config.drift_window)
        api.state.holder = holder
        api.state.feedback = FeedbackTracker(config.pending_predictions, config.feedback_window)
        api.state.max_batch_size = config.max_batch_size
        api.state.max_body_bytes = config.max_body_bytes
        api.state.body_timeout_seconds = config.body_timeout_seconds
        api.state.docs_enabled = config.docs_enabled
        api.state.request_log_sample_rate = config.request_log_sample_rate
        metrics.MODEL_READY.set(0)
        holder.refresh()
        holder.start_polling(config.poll_interval_seconds)
        try:
            yield
        finally:
            holder.stop()

    api = FastAPI(
        title="mlops-platform model API",
        version=app.__version__,
        description="Predictions from the model registry's production alias.",
        lifespan=lifespan,
        # FastAPI's own /docs and /redoc load their scripts from a public CDN; `/docs` below
        # is served only where settings.docs_enabled allows it.
        docs_url=None,
        redoc_url=None,
    )
    api.add_middleware(MetricsMiddleware)
    api.add_middleware(BodyLimitMiddleware)
    _install_error_handlers(api)

    @api.post(
        "/v1/predict",
        dependencies=[Authorized],
        responses=_ERRORS,
        response_model=PredictResponse,
    )
    async def predict(body: PredictRequest, request: Request, model: Model) -> Response:
        if body.model_version is not None and body.model_version != model.version:
            raise ModelNotFoundError(
                f"model_version {body.model_version!r} is not served here; this server serves "
                f"version {model.version} (omit model_version to use it)"
            )
        rows = body.rows()
        limit = request.app.state.max_batch_size
        if len(rows) > limit:
            raise InvalidInputError(f"instances has {len(rows)} rows; the limit is {limit}")
        bad = [i for i, row in enumerate(rows) if len(row) != model.feature_count]
        if bad:
            raise InvalidInputError(
                f"row {bad[0]} has {len(rows[bad[0]])} features; the model expects "
                f"{model.feature_count}: {', '.join(model.meta.feature_names)}"
            )
        with np.errstate(over="ignore"):  # overflow becomes inf, rejected just below
            x = np.asarray(rows, dtype=np.float32)
        if not np.isfinite(x).all():
            raise InvalidInputError("features must fit in float32 (no values beyond ±3.4e38)")
        probabilities = model.predict(x)
        classes = probabilities.argmax(axis=1)
        model.drift.observe(x)
        feedback: FeedbackTracker = request.app.state.feedback
        predictions: list[Prediction] = []
        for cls, probs in zip(classes.tolist(), probabilities.tolist(), strict=True):
            name = model.class_names[cls]
            prediction_id = uuid.uuid4().hex
            feedback.remember(prediction_id, name, model.class_names)
            model.prediction_counters[cls].inc()
            # model_construct: these values come from the model, not the client; validating
            # them again would cost more than the inference itself.
            predictions.append(
                Prediction.model_construct(
                    prediction_id=prediction_id,
                    predicted_class=name,
                    probabilities=dict(zip(model.class_names, probs, strict=True)),
                )
            )
        # For the request log line (app.serving.middleware): what was served, never inputs.
        request.state.model_version = model.version
        request.state.prediction_ids = [p.prediction_id for p in predictions]
        answer = PredictResponse.model_construct(
            model_name=model.meta.model_name, model_version=model.version, predictions=predictions
        )
        # Serialized once, here; returning the model would make FastAPI validate it again
        # against response_model and then serialize it.
        return Response(answer.model_dump_json(), media_type="application/json")

    @api.post("/v1/feedback", dependencies=[Authorized], responses=_ERRORS)
    async def feedback(body: FeedbackRequest, request: Request) -> FeedbackResponse:
        tracker: FeedbackTracker = request.app.state.feedback
        request.state.prediction_ids = [body.prediction_id]
        correct, accuracy = tracker.label(body.prediction_id, body.true_label)
        return FeedbackResponse(
            prediction_id=body.prediction_id, correct=correct, live_accuracy=accuracy
        )

    @api.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> Response:
        if not request.app.state.docs_enabled:
            raise StarletteHTTPException(404, "Not Found")
        return get_swagger_ui_html(openapi_url=api.openapi_url or "", title=f"{api.title} docs")

    @api.get("/healthz")
    async def healthz() -> Status:
        return Status(status="ok")

    # 200 also when no model has been promoted yet (a first deploy must become Available);
    # 503 with the reason as the error code when the alias's version cannot be loaded.
    @api.get("/readyz", response_model_exclude_none=True, responses={503: {"model": ErrorResponse}})
    async def readyz(request: Request) -> Readiness:
        holder: ModelHolder = request.app.state.holder
        return holder.readiness()

    @api.get("/metrics", include_in_schema=False)
    async def prometheus(request: Request) -> Response:
        model: LoadedModel | None = request.app.state.holder.current
        if model is not None:
            # Drift is computed at scrape time, not on every prediction.
            for feature, (psi, ks) in model.drift.statistics().items():
                if not math.isnan(psi):
                    metrics.FEATURE_DRIFT_PSI.labels(feature=feature).set(psi)
                    metrics.FEATURE_DRIFT_KS.labels(feature=feature).set(ks)
        return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return api


def _install_error_handlers(api: FastAPI) -> None:
    @api.exception_handler(AppError)
    async def app_error(_: Request, exc: AppError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthenticationError) else None
        return _error(exc.status_code, exc.code, str(exc), headers=headers)

    @api.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            ErrorDetail(loc=".".join(str(p) for p in err.get("loc", ())), message=err["msg"])
            for err in exc.errors()
        ]
        if any(err.get("type") == "json_invalid" for err in exc.errors()):
            message = "request body is not valid JSON"
        else:
            message = "; ".join(f"{d.loc}: {d.message}" for d in details[:5])
        return _error(422, "invalid_input", message, details)

    @api.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        # exc.headers carries e.g. `Allow` on 405, which RFC 9110 requires.
        headers = dict(exc.headers) if exc.headers else None
        return _error(exc.status_code, "http_error", str(exc.detail), headers=headers)
