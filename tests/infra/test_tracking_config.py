"""Bad `mlops-platform:tracking` (and capture) values fail with the key, the rule and the fix,
before anything is declared."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra.config import ConfigError
from infra_tools.synth import synthesize
from tests.infra.program import declare
from tests.infra.stackfiles import stack_root_with

TRACKING = "mlops-platform:tracking"


def problems(tmp_path: Path, stack: str, changes: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        synthesize(stack, stack_root_with(tmp_path, stack, changes))
    return raised.value.problems


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("database.multiAz", False, "must be true in prod (the registry's database)"),
        ("database.deletionProtection", False, "must be true in prod"),
        ("database.backupRetentionDays", 3, "must be >= 7 in prod (point-in-time recovery)"),
        ("database.skipFinalSnapshot", True, "must be false in prod"),
        ("replicas", 1, "must be >= 2 in prod"),
    ],
)
def test_prod_refuses_to_relax_the_database(
    tmp_path: Path, key: str, value: object, message: str
) -> None:
    (problem,) = problems(tmp_path, "prod", {f"{TRACKING}.{key}": value})
    assert problem.startswith(f"Pulumi.prod.yaml: {TRACKING}.{key}=")
    assert message in problem


def test_any_exposure_but_cluster_ip_is_refused_with_the_way_in(tmp_path: Path) -> None:
    (problem,) = problems(tmp_path, "dev", {f"{TRACKING}.exposure": "public"})
    assert problem.startswith(f'Pulumi.dev.yaml: {TRACKING}.exposure="public" is not supported')
    assert "no authentication" in problem and "kubectl port-forward" in problem


@pytest.mark.parametrize(
    ("key", "value", "fix"),
    [
        ("database.engineVersion", "seventeen", 'quote a major such as "17"'),
        ("database.instanceClass", "t4g.micro", 'use e.g. "db.t4g.micro"'),
        ("database.storageGib", 10, "greater than or equal to 20"),
    ],
)
def test_bad_database_values_name_the_key_and_the_fix(
    tmp_path: Path, key: str, value: object, fix: str
) -> None:
    (problem,) = problems(tmp_path, "dev", {f"{TRACKING}.{key}": value})
    assert problem.startswith(f"Pulumi.dev.yaml: {TRACKING}.{key}=") and fix in problem


def test_tracking_without_the_cluster_is_refused(tmp_path: Path) -> None:
    (problem,) = problems(
        tmp_path,
        "dev",
        {
            "mlops-platform:cluster.enabled": False,
            "mlops-platform:monitoring.enabled": False,
            f"{TRACKING}.enabled": True,
        },
    )
    assert "tracking.enabled=true needs cluster.enabled=true" in problem
    assert "set tracking.enabled to false" in problem


def test_a_serving_digest_needs_a_tracking_digest(tmp_path: Path) -> None:
    digest = "sha256:" + "a" * 64
    (problem,) = problems(
        tmp_path,
        "dev",
        {
            "mlops-platform:app.imageTag": digest,
            "mlops-platform:app.training.imageTag": "sha256:" + "b" * 64,
        },
    )
    assert "set tracking.imageTag to the tracking image's digest too" in problem


@pytest.mark.parametrize("rate", [1.5, -0.1])
def test_a_capture_rate_outside_zero_to_one_is_refused(tmp_path: Path, rate: float) -> None:
    key = "mlops-platform:app.models.1.captureSampleRate"
    (problem,) = problems(tmp_path, "dev", {key: rate})
    assert problem == (
        f"Pulumi.dev.yaml: {key}={rate} is not a share of "
        "predictions; use a number from 0 (capture none) to 1 (capture every prediction), "
        "e.g. 0.1"
    )


def test_capture_retention_must_be_positive(tmp_path: Path) -> None:
    (problem,) = problems(tmp_path, "dev", {"mlops-platform:modelStore.captureRetentionDays": 0})
    assert problem.startswith("Pulumi.dev.yaml: mlops-platform:modelStore.captureRetentionDays=0")


def test_a_bad_tracking_value_declares_nothing(tmp_path: Path) -> None:
    run = declare("prod", stack_root_with(tmp_path, "prod", {f"{TRACKING}.replicas": 1}))
    assert run.error is not None and "tracking.replicas" in str(run.error)
    assert run.declared == [], f"declared before the error: {[d.name for d in run.declared]}"
