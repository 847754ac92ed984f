"""Argo Workflows and the retraining pipeline: `mlops-platform:workflows`.

The controller runs on the system pool in the training namespace; the pipeline's pods are the
training pods (image, env, service account, GPU scheduling) split into steps.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from infra.config.base import ConfigModel
from infra.config.workloads import ResourcesConfig

_CANDIDATE = re.compile(r"^(?P<hidden>[1-9]\d{0,5}):(?P<rate>\d*\.?\d+(?:[eE]-?\d+)?)$")


def check_candidate(spec: str) -> str:
    """`HIDDEN:LR` as `python -m app pipeline candidate --candidate` takes it."""
    match = _CANDIDATE.match(spec)
    if match is None or not 0 < float(match["rate"]) < 1:
        raise ValueError(
            f"candidate {spec!r} is not HIDDEN:LR with HIDDEN >= 1 and 0 < LR < 1; "
            'use e.g. "32:0.01"'
        )
    return spec


class ControllerResourcesConfig(ResourcesConfig):
    """The controller's own defaults: dev's one system node has little memory to spare."""

    cpu_request: str = "50m"
    """CPU reserved for the controller. Default 50m."""
    memory_request: str = "96Mi"
    """Memory reserved for the controller. Default 96Mi."""
    cpu_limit: str = "500m"
    """CPU ceiling of the controller. Default 500m."""
    memory_limit: str = "384Mi"
    """Memory ceiling of the controller (OOM-killed above it). Default 384Mi."""


class WorkflowsConfig(ConfigModel):
    enabled: bool = False
    """Install Argo Workflows (controller only, no UI or API server) and the retrain-pipeline
    WorkflowTemplate in the training namespace, wherever the cluster and the tracking server
    are enabled too (nothing is declared without them). Default off."""
    controller_resources: ControllerResourcesConfig = ControllerResourcesConfig()
    """CPU and memory of the workflow controller (system pool)."""
    candidates: list[str] = Field(
        default_factory=lambda: ["16:0.01", "32:0.01", "32:0.003"], min_length=1, max_length=32
    )
    """Default `candidates` parameter: one GPU pod per HIDDEN:LR. Default 16:0.01, 32:0.01,
    32:0.003."""
    parallelism: int = Field(default=3, ge=1, le=64)
    """Pods of one pipeline run at once (so GPU nodes at once). Default 3."""
    epochs: int = Field(default=300, ge=1, le=100_000)
    """Default `epochs` parameter: epochs per candidate. Default 300."""
    active_deadline_seconds: int = Field(default=6 * 3600, ge=600)
    """A pipeline run still going after this long is stopped, its pods killed. Default 6h."""
    retry_limit: int = Field(default=2, ge=0, le=5)
    """Retries of a step whose pod was evicted, deleted or killed (not of a step the app
    failed: exit codes 1 and 2). Default 2."""

    @field_validator("candidates")
    @classmethod
    def _candidates(cls, value: list[str]) -> list[str]:
        for spec in value:
            check_candidate(spec)
        if len(set(value)) != len(value):
            raise ValueError("lists a candidate twice; each HIDDEN:LR trains once per run")
        return value
