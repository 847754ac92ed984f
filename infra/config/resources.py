"""CPU and memory of a pod in the stack file, and the app's judgement of values its pods get."""

from __future__ import annotations

import math
import re

from pydantic import field_validator

from app.settings import Settings
from infra.app_settings import refusals
from infra.config.base import ConfigModel

# Kubernetes resource quantities as used for CPU and memory ("250m", "1", "512Mi", "2Gi").
_QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")
_QUANTITY_FACTORS = {
    None: 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
}  # fmt: skip


def _check_quantity(value: str) -> str:
    if not _QUANTITY.match(value):
        raise ValueError('is not a Kubernetes quantity; use e.g. "500m", "2", "512Mi" or "4Gi"')
    return value


def check_app_setting(field: str, value: object, *, unit: str = "") -> None:
    """Raise ValueError (the app's variable, its rule, the fix) unless the app takes `value`."""
    refused = refusals(Settings, {field: value}, unit=unit)
    if refused:
        raise ValueError(
            f"is refused by the app ({refused[0]}), so its pods would crash-loop at start; "
            f"{refused[0].fix}"
        )


def mebibytes(quantity: str) -> int:
    """A memory quantity as the downward API hands it to a pod with divisor 1Mi (rounded up)."""
    match = _QUANTITY.match(quantity)
    if match is None:
        raise ValueError(f"{quantity!r} is not a Kubernetes quantity")
    return math.ceil(float(match[1]) * _QUANTITY_FACTORS[match[2]] / 2**20)


class ResourcesConfig(ConfigModel):
    cpu_request: str = "250m"
    """CPU reserved per pod. Default 250m."""
    memory_request: str = "512Mi"
    """Memory reserved per pod. Default 512Mi."""
    cpu_limit: str = "1"
    """CPU ceiling per pod. Default 1."""
    memory_limit: str = "1Gi"
    """Memory ceiling per pod (the pod is OOM-killed above it). Default 1Gi."""

    @field_validator("cpu_request", "memory_request", "cpu_limit", "memory_limit")
    @classmethod
    def _quantities(cls, value: str) -> str:
        return _check_quantity(value)


class ServingResourcesConfig(ResourcesConfig):
    @field_validator("memory_limit")
    @classmethod
    def _app_accepts_its_limit(cls, value: str) -> str:
        # The server reads its own limit (MLOPS_MEMORY_LIMIT_MIB) to bound what it remembers.
        check_app_setting("memory_limit_mib", mebibytes(value), unit="Mi")
        return value
