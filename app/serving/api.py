"""The model server's ASGI app: the lifespan that builds its state, middleware, routers and
error handling. The routes live in `app.serving.routes`, the logic beneath them in the model,
drift, feedback and prediction id modules and in `app.capture`, which import nothing from the
web framework.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.types import ASGIApp

import app
from app import metrics
from app.aws import s3_client
from app.capture.writer import CaptureWriter, s3_put
from app.registry import S3ModelRegistry
from app.serving.auth import ApiKeyGate
from app.serving.feedback import ClassCatalog, FeedbackRecorder
from app.serving.http_errors import install_error_handlers
from app.serving.lane import PredictLane
from app.serving.middleware import BodyLimitMiddleware, MetricsMiddleware
from app.serving.model import ModelHolder
from app.serving.openapi import follow_the_signature
from app.serving.prediction_ids import PredictionIds
from app.serving.routes import operations, predictions
from app.serving.state import ServingState
from app.settings import Settings, get_settings


class ServingAPI(FastAPI):
    """FastAPI with the app's own middleware outermost, and the predict lane inside it."""

    def build_middleware_stack(self) -> ASGIApp:
        framework = super().build_middleware_stack()
        declared = next(
            route
            for route in predictions.router.routes
            if isinstance(route, APIRoute) and route.path == predictions.PREDICT_PATH
        )
        # Outermost first: metrics and request logs see every answer (the 401s, 413s and
        # 408s too); the key is checked before the body is read (an unauthenticated client
        # gets 401 for nothing but its headers); then the body is read within its limits.
        return MetricsMiddleware(
            ApiKeyGate(
                BodyLimitMiddleware(PredictLane(framework, declared)),
                paths=predictions.PROTECTED_PATHS,
            )
        )


def create_app(
    registry: S3ModelRegistry | None = None,
    settings: Settings | None = None,
    capture_writer: CaptureWriter | None = None,
) -> ServingAPI:
    """The ASGI app. `registry` and `capture_writer` default to ones on the model bucket
    built from settings (tests pass their own); `settings` defaults to `get_settings()`,
    read when the app starts."""

    @asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncGenerator[None]:
        config = settings or get_settings()
        # Every key is read before anything starts: a pod without one must not come up.
        api_keys = tuple(config.load_api_keys())
        ids = PredictionIds(config.load_prediction_id_key(), config.model_name)
        used = registry or S3ModelRegistry(
            s3_client(config),
            config.require_bucket(),
            config.model_name,
            max_artifact_bytes=config.max_model_bytes,
        )
        holder = ModelHolder(used, config.model_alias, config.drift_window)
        # A client of its own: uploads must not queue behind the registry's reads.
        capture = capture_writer or CaptureWriter(
            s3_put(s3_client(config), config.require_bucket()),
            config.model_name,
            config.capture_sample_rate,
        )
        api.state.serving = ServingState(
            api_keys=api_keys,
            holder=holder,
            prediction_ids=ids,
            feedback=FeedbackRecorder(
                ids, config.model_name, ClassCatalog(holder).classes, capture
            ),
            capture=capture,
            max_batch_size=config.max_batch_size,
            max_body_bytes=config.max_body_bytes,
            body_timeout_seconds=config.body_timeout_seconds,
            docs_enabled=config.docs_enabled,
            request_log_sample_rate=config.request_log_sample_rate,
        )
        metrics.MODEL_READY.set(0)
        capture.start()
        holder.refresh()
        holder.start_polling(config.poll_interval_seconds)
        try:
            yield
        finally:
            holder.stop()
            # After the last request: uploads what is still held (within its time bound).
            capture.close()

    api = ServingAPI(
        title="mlops-platform model API",
        version=app.__version__,
        description="Predictions from the model registry's production alias.",
        lifespan=lifespan,
        # FastAPI's own /docs and /redoc load their scripts from a public CDN; the operations
        # router serves `/docs` only where settings.docs_enabled allows it.
        docs_url=None,
        redoc_url=None,
        # FastAPI's OpenTelemetry instrumentation: off. The platform measures with Prometheus
        # (app.metrics), and when on, FastAPI looks up the OpenTelemetry providers, and reads
        # the environment, for every request: 4 % of a prediction's time.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    install_error_handlers(api)
    api.include_router(predictions.router)
    api.include_router(operations.router)
    # The request and response schemas of the version being served (its signature).
    api.openapi = follow_the_signature(api)
    return api
