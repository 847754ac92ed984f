"""POST /v1/predict and /v1/feedback: thin; the work is in the model, drift, prediction ids,
feedback and capture modules."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import cast

import numpy as np
import pydantic_core
from fastapi import APIRouter, Request
from fastapi.responses import Response

from app import json_pieces
from app.capture.writer import PredictionBatch
from app.errors import ModelNotFoundError
from app.serving.deps import Authorized, ServedModel
from app.serving.http_errors import ERROR_RESPONSES
from app.serving.inputs import feature_matrix
from app.serving.model import LoadedModel
from app.serving.schemas import (
    FeedbackRequest,
    FeedbackResponse,
    PredictRequest,
    PredictResponse,
)
from app.serving.state import ServingState, serving_state

PREDICT_PATH = "/v1/predict"
FEEDBACK_PATH = "/v1/feedback"
PROTECTED_PATHS = frozenset({PREDICT_PATH, FEEDBACK_PATH})
"""Every route of this router needs an API key (checked before the body is read)."""

router = APIRouter(dependencies=[Authorized], responses=ERROR_RESPONSES)


@router.post(PREDICT_PATH, response_model=PredictResponse)
async def predict(body: PredictRequest, request: Request, model: ServedModel) -> Response:
    """Every request the predict lane (app.serving.lane) passes on: a body that is not
    `application/json`, or one that fails a check, whose error answer is FastAPI's."""
    state = serving_state(request.app)
    check = checked_rows(body, model, state.max_batch_size)
    # The request log line (app.serving.middleware) reads what was served from here.
    record: dict[str, object] = request.scope.setdefault("state", {})
    return Response(await answer(check, state, model, record), media_type="application/json")


@dataclass(frozen=True)
class CheckedRows:
    """A request's rows, in feature order and as the model's float32 input."""

    rows: list[Sequence[float]]
    x: np.ndarray


def checked_rows(body: PredictRequest, model: LoadedModel, max_rows: int) -> CheckedRows:
    """The body's rows for `model`, or the AppError a client gets (nothing has happened yet:
    the predict lane hands such a request to the declared route, which raises it again)."""
    if body.model_version is not None and body.model_version != model.version:
        raise ModelNotFoundError(
            f"model_version {body.model_version!r} is not served here; this server serves "
            f"version {model.version} (omit model_version to use it)"
        )
    given, field = body.rows()
    rows, x = feature_matrix(given, model.meta.feature_names, max_rows, field)
    return CheckedRows(rows, x)


async def answer(
    checked: CheckedRows, state: ServingState, model: LoadedModel, record: dict[str, object]
) -> bytes:
    """The predictions of `model` for checked rows, as the response's JSON body; counted,
    observed for drift, scored in shadow and queued for capture. `record` gets what the
    request log line says was served."""
    rows, x = checked.rows, checked.x
    probabilities = await model.infer(x)
    model.drift.observe(x)
    now = time.time()
    choice = probabilities.argmax(axis=1)
    shadow = state.holder.shadow
    if shadow is not None and shadow.served is model:
        await shadow.compare(x, choice)
    # tolist() is typed as Any: name what it holds (a cast costs nothing at run time).
    predicted = cast(list[int], choice.tolist())
    answers = cast(list[list[float]], probabilities.tolist())
    # Written now, before anything is counted: a model answering NaN fails the request here
    # (a 500; JSON has no NaN), with no ids issued and nothing captured.
    numbers = json_pieces.number_rows(answers)
    ids = state.prediction_ids.issue_many(model.version, predicted, now)
    # One increment per class, not per row: each takes the counter's lock.
    if len(predicted) == 1:
        model.prediction_counters[predicted[0]].inc()
    else:
        for cls, count in Counter(predicted).items():
            model.prediction_counters[cls].inc(count)
    names = model.class_names
    # Written as JSON lines and queued for the capture writer's thread, which uploads them.
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
    record["model_version"] = model.version
    record["prediction_ids"] = ids
    return predict_response_json(
        model.meta.model_name, model.version, names, ids, predicted, numbers
    )


def predict_response_json(
    model_name: str,
    model_version: str,
    class_names: tuple[str, ...],
    ids: Sequence[str],
    predicted: Sequence[int],
    probabilities: Sequence[Sequence[bytes]],
) -> bytes:
    """`PredictResponse`'s JSON, written in pieces (app.json_pieces) from the probabilities as
    `json_pieces.number_rows` wrote them: the same bytes as building the models and dumping
    them, a ninth of the time for a batch. These values come from the model, not the client:
    validating them again would cost more than the inference itself."""
    template = _answer_template(model_name, model_version, class_names)
    prediction, class_json = template.prediction, template.class_json
    return b"".join(
        (
            template.head,
            b",".join(
                prediction % (prediction_id, class_json[cls], *probs)
                for prediction_id, cls, probs in zip(
                    json_pieces.string_bodies(ids), predicted, probabilities, strict=True
                )
            ),
            b"]}",
        )
    )


@dataclass(frozen=True)
class _AnswerTemplate:
    head: bytes
    """`PredictResponse` up to its first prediction, as is (not a %-template)."""
    prediction: bytes
    """A `Prediction` with %s for the id, the class and each probability."""
    class_json: tuple[bytes, ...]


@lru_cache(maxsize=8)
def _answer_template(model_name: str, version: str, names: tuple[str, ...]) -> _AnswerTemplate:
    to_json = pydantic_core.to_json
    probabilities = b",".join(json_pieces.template_text(name) + b":%s" for name in names)
    return _AnswerTemplate(
        head=b'{"model_name":' + to_json(model_name) + b',"model_version":' + to_json(version)
        + b',"predictions":[',
        prediction=b'{"prediction_id":"%s","predicted_class":%s,"probabilities":{'
        + probabilities + b"}}",
        class_json=tuple(to_json(name) for name in names),
    )  # fmt: skip


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
