"""Bad `mlops-platform:app` values stop synth with exit 2, naming the key, the rule and the fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.config import ConfigError
from infra_tools.synth import synthesize
from infra_tools.synth.stackfile import PROJECT_ROOT
from tests.infra.stackfiles import stack_root_with

APP = "mlops-platform:app"


def problems_for(tmp_path: Path, changes: dict[str, Any], stack: str = "dev") -> list[str]:
    root = stack_root_with(tmp_path, stack, changes)
    with pytest.raises(ConfigError) as raised:
        synthesize(stack, root)
    return raised.value.problems


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("", "is not an image tag"),
        ("v1 beta", "is not an image tag"),
        ("-rc1", "is not an image tag"),
        ("sha256:abc", "is not a sha256 digest"),
        ("latest", "is a moving tag"),
    ],
)
def test_bad_image_tag_names_key_and_fix(tmp_path: Path, value: str, rule: str) -> None:
    (problem,) = problems_for(tmp_path, {f"{APP}.imageTag": value})
    assert problem.startswith(f'Pulumi.dev.yaml: {APP}.imageTag="{value}" {rule}')


def test_empty_image_tag_exits_2_from_the_cli(tmp_path: Path) -> None:
    root = stack_root_with(tmp_path, "dev", {f"{APP}.imageTag": ""})
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "infra_tools",
            "synth",
            "--stack",
            "dev",
            "--project-dir",
            str(root),
            "--out",
            str(tmp_path / "out"),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert f'error: Pulumi.dev.yaml: {APP}.imageTag="" is not an image tag' in result.stderr
    assert "set it to the git commit SHA the CI job pushed" in result.stderr
    assert "Traceback" not in result.stderr


def test_digest_is_accepted_with_a_training_digest(tmp_path: Path) -> None:
    serve, train = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    tracking = "sha256:" + "c" * 64
    root = stack_root_with(
        tmp_path,
        "dev",
        {
            f"{APP}.imageTag": serve,
            f"{APP}.training.imageTag": train,
            "mlops-platform:tracking.imageTag": tracking,
        },
    )
    images = {
        m["metadata"]["name"]: m
        for m in synthesize("dev", root).graph.manifests()
        if m["kind"] in ("Deployment", "CronJob")
    }
    server = images["model-server-iris-classifier"]["spec"]["template"]["spec"]["containers"][0][
        "image"
    ]
    assert server.endswith(f"/app@{serve}")
    trainer = images["retrain-iris-classifier"]["spec"]["jobTemplate"]["spec"]["template"]["spec"][
        "containers"
    ][0]
    assert trainer["image"].endswith(f"/app@{train}")
    server = images["mlflow"]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert server.endswith(f"/app@{tracking}")


def test_digest_without_training_digest_is_refused(tmp_path: Path) -> None:
    (problem,) = problems_for(tmp_path, {f"{APP}.imageTag": "sha256:" + "a" * 64})
    assert "set training.imageTag to the train image's digest too" in problem


def test_min_replicas_above_max_is_refused(tmp_path: Path) -> None:
    changes = {f"{APP}.models.1.minReplicas": 5, f"{APP}.models.1.maxReplicas": 2}
    (problem,) = problems_for(tmp_path, changes)
    assert problem == (
        f"Pulumi.dev.yaml: {APP}.models.1: model 'wine-classifier': minReplicas=5 is above "
        "maxReplicas=2; raise maxReplicas or lower minReplicas"
    )


@pytest.mark.parametrize(
    ("schedule", "why"),
    [
        ("every sunday", "has 2 fields, not 5"),
        ("0 3 * *", "has 4 fields, not 5"),
        ("61 3 * * 0", "minute '61' is outside 0-59"),
        ("0 3 * * funday", "day of week 'funday' is not a number, range or list"),
        ("*/0 * * * *", "minute step '0' must be a positive number"),
    ],
)
def test_non_cron_schedule_is_refused(tmp_path: Path, schedule: str, why: str) -> None:
    (problem,) = problems_for(tmp_path, {f"{APP}.training.schedule": schedule})
    assert problem == (
        f'Pulumi.dev.yaml: {APP}.training.schedule="{schedule}" is not cron syntax ({why}); '
        'use five fields "minute hour day-of-month month day-of-week", e.g. "0 3 * * 0"'
    )


def test_zero_gpus_for_training_is_refused(tmp_path: Path) -> None:
    (problem,) = problems_for(tmp_path, {f"{APP}.training.gpusPerNode": 0})
    assert problem == (
        f"Pulumi.dev.yaml: {APP}.training.gpusPerNode=0 must be at least 1 (training runs on "
        "the GPU pool only); set gpusPerNode to 1 or more"
    )


def test_public_exposure_needs_a_certificate(tmp_path: Path) -> None:
    (problem,) = problems_for(tmp_path, {f"{APP}.exposure.mode": "public"})
    assert "mode=public needs certificateArn" in problem


def test_public_exposure_serves_tls_with_the_certificate(tmp_path: Path) -> None:
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-123456789abc"
    root = stack_root_with(
        tmp_path,
        "dev",
        {
            f"{APP}.exposure.mode": "public",
            f"{APP}.exposure.certificateArn": arn,
            f"{APP}.exposure.sourceCidrs": ["198.51.100.0/24"],
        },
    )
    (service,) = [
        m
        for m in synthesize("dev", root).graph.manifests()
        if m["kind"] == "Service" and m["metadata"]["name"] == "model-server-iris-classifier-nlb"
    ]
    annotations = service["metadata"]["annotations"]
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-internal"] == "false"
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"] == arn
    assert [p["port"] for p in service["spec"]["ports"]] == [443]
    assert "198.51.100.0/24" in service["spec"]["loadBalancerSourceRanges"]


def test_a_cluster_without_an_image_repository_is_refused(tmp_path: Path) -> None:
    (problem,) = problems_for(tmp_path, {"mlops-platform:modelStore.imageRepository": False})
    assert problem == (
        "Pulumi.dev.yaml: mlops-platform config: modelStore.imageRepository=false leaves the "
        "cluster's workloads without an image repository; set it to true or set "
        "cluster.enabled to false"
    )
