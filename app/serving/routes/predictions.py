"""POST /v1/predict and /v1/feedback: thin; the work is in the model, drift and feedback."""

from __future__ import annotations

import uuid
from typing import cast

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.errors import ModelNotFoundError
from app.serving.deps import Authorized, ServedModel
from app.serving.http_errors import ERROR_RESPONSES
from app.serving.inputs import feature_matrix
from app.serving.schemas import (
    FeedbackRequest,
    FeedbackResponse,
    Prediction,
    PredictRequest,
    PredictResponse,
)
from app.serving.state import serving_state

PREDICT_PATH = "/v1/predict"
FEEDBACK_PATH = "/v1/feedback"
PROTECTED_PATHS = frozenset({PREDICT_PATH, FEEDBACK_PATH})
"""Every route of this router needs an API key (checked before the body is read)."""

router = APIRouter(dependencies=[Authorized], responses=ERROR_RESPONSES)


@router.post(PREDICT_PATH, response_model=PredictResponse)
async def predict(body: PredictRequest, request: Request, model: ServedModel) -> Response:
    if body.model_version is not None and body.model_version != model.version:
        raise ModelNotFoundError(
            f"model_version {body.model_version!r} is not served here; this server serves "
            f"version {model.version} (omit model_version to use it)"
        )
    state = serving_state(request.app)
    x = feature_matrix(body.rows(), model.meta.feature_names, state.max_batch_size)
    probabilities = model.predict(x)
    classes = probabilities.argmax(axis=1)
    model.drift.observe(x)
    predictions: list[Prediction] = []
    # tolist() is typed as Any: name what it holds (a cast costs nothing at run time).
    rows = cast(list[list[float]], probabilities.tolist())
    for cls, probs in zip(cast(list[int], classes.tolist()), rows, strict=True):
        name = model.class_names[cls]
        prediction_id = uuid.uuid4().hex
        state.feedback.remember(prediction_id, name, model.class_names)
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


@router.post(FEEDBACK_PATH)
async def feedback(body: FeedbackRequest, request: Request) -> FeedbackResponse:
    request.state.prediction_ids = [body.prediction_id]
    tracker = serving_state(request.app).feedback
    correct, accuracy = tracker.label(body.prediction_id, body.true_label)
    return FeedbackResponse(
        prediction_id=body.prediction_id, correct=correct, live_accuracy=accuracy
    )
