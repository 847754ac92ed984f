"""A mock resource monitor that records every registration the program makes."""

from __future__ import annotations

from typing import Any, cast

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor

from infra_tools.inputs import decoded_setting
from infra_tools.type_tokens import PROVIDER_PREFIX, STACK

SECRET = "[secret]"  # noqa: S105 - the mask shown instead of a secret


def plain(value: Any) -> Any:
    """Wire values as JSON: secrets masked, integral numbers as ints (protobuf sends doubles)."""
    if rpc.is_rpc_secret(value):
        return SECRET
    if isinstance(value, dict):
        mapping = cast(dict[str, Any], value)
        return {key: plain(item) for key, item in mapping.items()}
    if isinstance(value, list):
        return [plain(item) for item in cast(list[Any], value)]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, pulumi.StringAsset):
        return {"asset": "text", "text": value.text}
    return value


def _inputs(type_token: str, inputs: dict[str, Any]) -> dict[str, Any]:
    values = plain(inputs)
    if type_token.startswith(PROVIDER_PREFIX):
        # Providers receive their nested settings as JSON text; decode it so the graph reads
        # (and is checked) the same way for providers as for every other resource.
        values = {key: decoded_setting(value) for key, value in values.items()}
    return values


class RecordingMonitor(MockMonitor):
    """Keeps, in registration order, what the engine would receive for each resource."""

    def __init__(self, mocks: Any) -> None:
        super().__init__(mocks)
        self.registrations: list[dict[str, Any]] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response: Any = super().RegisterResource(request)  # pyright: ignore[reportUnknownMemberType]
        if request.type == STACK:
            return response
        self.registrations.append(
            {
                "urn": response.urn,
                "type": request.type,
                "name": request.name,
                "custom": bool(request.custom),
                "parent": request.parent or None,
                "provider": request.provider or None,
                "dependencies": sorted(set(request.dependencies)),
                "options": {
                    "protect": bool(request.protect),
                    "retainOnDelete": bool(request.retainOnDelete),
                    "ignoreChanges": list(request.ignoreChanges),
                    "deleteBeforeReplace": bool(request.deleteBeforeReplace),
                    "additionalSecretOutputs": list(request.additionalSecretOutputs),
                },
                "inputs": _inputs(request.type, rpc.deserialize_properties(request.object)),
            }
        )
        return response
