"""Request and response bodies of the API (validated by pydantic; bad input → 422)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from app.serving.prediction_ids import MAX_ID_CHARS

# strict: "1.5" or true are not numbers; allow_inf_nan=False: NaN/inf are rejected.
Feature = Annotated[float, Field(strict=True, allow_inf_nan=False)]
# Hard parse-time ceilings; the configured max_batch_size is checked per request below them.
MAX_FEATURES = 1_000
MAX_INSTANCES = 10_000


POSITIONAL, NAMED = "positional", "named"
"""The two shapes of a row; pydantic puts the shape's tag in an error's location, and the
error handler takes it out again (`ROW_SHAPES`)."""
ROW_SHAPES = frozenset({POSITIONAL, NAMED})


def _row_shape(value: Any) -> str:
    return NAMED if isinstance(value, dict) else POSITIONAL


# One input: values in the signature's feature order, or an object keyed by feature name.
# Which names and how many the served model's signature says (app.serving.inputs, and the
# OpenAPI document, app.serving.openapi); here only the JSON shape is checked.
Row = Annotated[
    Annotated[list[Feature], Field(max_length=MAX_FEATURES), Tag(POSITIONAL)]
    | Annotated[dict[str, Feature], Field(max_length=MAX_FEATURES), Tag(NAMED)],
    Discriminator(_row_shape),
]


class PredictRequest(BaseModel):
    """Either `features` (one input) or `instances` (a batch)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"features": [5.1, 3.5, 1.4, 0.2]}]},
    )

    features: Row | None = None
    instances: list[Row] | None = Field(default=None, min_length=1, max_length=MAX_INSTANCES)
    model_version: str | None = Field(default=None, max_length=64)
    """Optional: fail with 404 unless this exact version is being served."""

    @model_validator(mode="after")
    def _one_of(self) -> PredictRequest:
        if (self.features is None) == (self.instances is None):
            raise ValueError("send exactly one of `features` (one input) or `instances` (a batch)")
        return self

    def rows(self) -> tuple[list[list[float] | dict[str, float]], str]:
        """The rows, and the field they came in (for error locations)."""
        if self.features is not None:
            return [self.features], "features"
        return list(self.instances or []), "instances"


class Prediction(BaseModel):
    prediction_id: str
    predicted_class: str
    probabilities: dict[str, float]


class PredictResponse(BaseModel):
    model_name: str
    model_version: str
    predictions: list[Prediction]


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prediction_id: str = Field(min_length=1, max_length=MAX_ID_CHARS)
    """As /v1/predict returned it; any replica accepts it, also after restarts."""
    true_label: str = Field(min_length=1, max_length=128)


class FeedbackResponse(BaseModel):
    """The label as counted, against the version that made the prediction."""

    prediction_id: str
    model_version: str
    predicted_class: str
    true_label: str
    correct: bool


class Status(BaseModel):
    status: str
    model_version: str | None = None


class Readiness(BaseModel):
    """`/readyz` when it answers 200: a verified model is served, or none has been promoted
    yet (a first deploy must become Available before anyone can promote a model)."""

    status: Literal["ready", "no_model_promoted"]
    model_version: str | None = None
    reason: str | None = None
    """Why the alias's version is not the one served, when it is not (e.g. checksum_mismatch
    while an older model keeps serving)."""
    message: str | None = None


class ErrorDetail(BaseModel):
    loc: str
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail] = Field(default_factory=list[ErrorDetail])


class ErrorResponse(BaseModel):
    """Every error answer has this body."""

    error: ErrorBody
