"""What the routes and the middleware share: built once by the app's lifespan, typed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.capture.writer import CaptureWriter
from app.serving.feedback import FeedbackRecorder
from app.serving.model import ModelHolder
from app.serving.prediction_ids import PredictionIds


@dataclass(frozen=True)
class ServingState:
    api_keys: tuple[str, ...]
    holder: ModelHolder
    prediction_ids: PredictionIds
    feedback: FeedbackRecorder
    capture: CaptureWriter
    max_batch_size: int
    max_body_bytes: int
    body_timeout_seconds: float
    docs_enabled: bool
    request_log_sample_rate: float


def serving_state(app: Any) -> ServingState:
    """The state of a running app (a FastAPI/Starlette app, as in `request.app` or
    `scope["app"]`). Raises AttributeError before the lifespan has started."""
    state: ServingState = app.state.serving
    return state
