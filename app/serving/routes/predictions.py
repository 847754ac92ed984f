"""POST /v1/predict and /v1/feedback: thin; the work is in the model, drift, prediction ids,
feedback and capture modules."""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from typing import Any, cast

from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import ValidationError

from app.capture.writer import PredictionBatch
from app.errors import ModelNotFoundError
from app.serving.deps import Authorized, ServedModel
from app.serving.http_errors import ERROR_RESPONSES
from app.serving.inputs import feature_matrix
from app.serving.model import LoadedModel
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


class DirectPredictRoute(APIRoute):
    """POST /v1/predict without FastAPI's request machinery on the common path.

    FastAPI decodes the JSON, validates the Python objects and solves the route's
    dependencies on every request: about half of what a prediction cost. Here a body sent as
    `application/json` is parsed and validated in one step by pydantic's JSON parser and the
    model read straight from the state; the API key was checked before the body was read
    (ApiKeyGate, every path in PROTECTED_PATHS). Anything else, and any body that does not
    validate, takes the declared route, so every error answer is the one FastAPI gives, and
    the OpenAPI document, which describes the declared route, is unchanged.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        declared = super().get_route_handler()

        async def handler(request: Request) -> Response:
            if request.headers.get("content-type") != "application/json":
                return await declared(request)
            try:
                body = PredictRequest.model_validate_json(await request.body())
            except ValidationError:
                return await declared(request)
            return answer(body, request, serving_state(request.app).holder.require())

        return handler


async def predict(body: PredictRequest, request: Request, model: ServedModel) -> Response:
    """The declared route: the OpenAPI document's, and every request the direct path passes on."""
    return answer(body, request, model)


router.add_api_route(
    PREDICT_PATH,
    predict,
    methods=["POST"],
    response_model=PredictResponse,
    route_class_override=DirectPredictRoute,
)


def answer(body: PredictRequest, request: Request, model: LoadedModel) -> Response:
    """Predictions of `model` for a validated body."""
    if body.model_version is not None and body.model_version != model.version:
        raise ModelNotFoundError(
            f"model_version {body.model_version!r} is not served here; this server serves "
            f"version {model.version} (omit model_version to use it)"
        )
    state = serving_state(request.app)
    given, field = body.rows()
    rows, x = feature_matrix(given, model.meta.feature_names, state.max_batch_size, field)
    probabilities = model.predict(x)
    model.drift.observe(x)
    now = time.time()
    choice = probabilities.argmax(axis=1)
    shadow = state.holder.shadow
    if shadow is not None and shadow.served is model:
        shadow.compare(x, choice)
    # tolist() is typed as Any: name what it holds (a cast costs nothing at run time).
    predicted = cast(list[int], choice.tolist())
    answers = cast(list[list[float]], probabilities.tolist())
    issue = state.prediction_ids.issue
    ids = [issue(model.version, cls, now) for cls in predicted]
    predictions: list[Prediction] = []
    for cls, probs, prediction_id in zip(predicted, answers, ids, strict=True):
        model.prediction_counters[cls].inc()
        # model_construct: these values come from the model, not the client; validating
        # them again would cost more than the inference itself.
        predictions.append(
            Prediction.model_construct(
                prediction_id=prediction_id,
                predicted_class=model.class_names[cls],
                probabilities=dict(zip(model.class_names, probs, strict=True)),
            )
        )
    # Queued for the capture writer's thread, which builds the records: nothing here waits.
    state.capture.capture_predictions(
        PredictionBatch(
            time=now,
            model_version=model.version,
            feature_names=model.meta.feature_names,
            class_names=model.class_names,
            ids=ids,
            rows=rows,
            probabilities=answers,
            predicted=predicted,
        )
    )
    # For the request log line (app.serving.middleware): what was served, never inputs.
    request.state.model_version = model.version
    request.state.prediction_ids = ids
    response = PredictResponse.model_construct(
        model_name=model.meta.model_name, model_version=model.version, predictions=predictions
    )
    # Serialized once, here; returning the model would make FastAPI validate it again
    # against response_model and then serialize it.
    return Response(response.model_dump_json(), media_type="application/json")


# A plain `def`: a label for a version no longer served reads that version's classes from
# the registry, which must not block the event loop. Feedback is rare next to predictions.
@router.post(FEEDBACK_PATH)
def feedback(body: FeedbackRequest, request: Request) -> FeedbackResponse:
    request.state.prediction_ids = [body.prediction_id]
    label = serving_state(request.app).feedback.record(body.prediction_id, body.true_label)
    request.state.model_version = label.model_version
    return FeedbackResponse(
        prediction_id=label.prediction_id,
        model_version=label.model_version,
        predicted_class=label.predicted_class,
        true_label=label.true_label,
        correct=label.correct,
    )
