"""The OpenAPI document of the model being served: its request and response schemas come from
the version's signature (feature names, class names), so a client generated from
`/openapi.json` knows the fields of this model, not a generic list of numbers.

The document is rebuilt when the served version changes, and is the generic one (any row of
numbers) while no model is loaded.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from app.registry import ModelMetadata
from app.serving.state import ServingState

ROW_SCHEMA = "ModelRow"


def follow_the_signature(api: FastAPI) -> Callable[[], dict[str, Any]]:
    """A replacement for `api.openapi` that describes the served version's signature."""
    generic: dict[str, Any] = {}
    built: dict[tuple[str, str], dict[str, Any]] = {}

    def openapi() -> dict[str, Any]:
        if not generic:
            generic.update(FastAPI.openapi(api))
        # Before the lifespan has built the state (a document asked for at import), none.
        state: ServingState | None = getattr(api.state, "serving", None)
        model = state.holder.current if state is not None else None
        if model is None:
            return generic
        key = (model.meta.model_name, model.version)
        if key not in built:
            built.clear()  # only the served version's document is kept
            built[key] = for_model(generic, model.meta)
        return built[key]

    return openapi


def for_model(generic: dict[str, Any], meta: ModelMetadata) -> dict[str, Any]:
    """`generic` with the request's rows and the response's classes of `meta`'s signature."""
    document = copy.deepcopy(generic)
    document["info"]["description"] = (
        f"Predictions of {meta.model_name} version {meta.version} "
        f"({meta.signature.family}): {len(meta.feature_names)} features in, "
        f"probabilities of {len(meta.class_names)} classes out."
    )
    schemas = document["components"]["schemas"]
    schemas[ROW_SCHEMA] = _row_schema(meta)
    row = {"$ref": f"#/components/schemas/{ROW_SCHEMA}"}
    request = schemas["PredictRequest"]
    request["properties"]["features"]["anyOf"][0] = row
    request["properties"]["instances"]["anyOf"][0]["items"] = row
    example = _example_row(meta)
    request["examples"] = [
        {"features": example},
        {"features": list(example.values())},
        {"instances": [example, example]},
    ]
    prediction = schemas["Prediction"]["properties"]
    prediction["predicted_class"]["enum"] = list(meta.class_names)
    prediction["probabilities"] = {
        "type": "object",
        "title": "Probabilities",
        "properties": {name: {"type": "number"} for name in meta.class_names},
        "required": list(meta.class_names),
        "additionalProperties": False,
    }
    return document


def _row_schema(meta: ModelMetadata) -> dict[str, Any]:
    names, count = meta.feature_names, len(meta.feature_names)
    number = {"type": "number"}
    return {
        "title": "ModelRow",
        "description": (
            "One input: an object keyed by feature name, or the values in this order: "
            + ", ".join(names)
        ),
        "oneOf": [
            {
                "type": "object",
                "properties": {name: number for name in names},
                "required": list(names),
                "additionalProperties": False,
            },
            {
                "type": "array",
                "prefixItems": [{"type": "number", "title": name} for name in names],
                "items": False,
                "minItems": count,
                "maxItems": count,
            },
        ],
    }


def _example_row(meta: ModelMetadata) -> dict[str, float]:
    """A typical row: each feature's training median (the middle edge of its reference)."""
    example: dict[str, float] = {}
    for name in meta.feature_names:
        edges = meta.reference[name].edges
        example[name] = round(edges[len(edges) // 2], 4) if edges else 0.0
    return example
