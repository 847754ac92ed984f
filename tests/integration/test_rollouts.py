"""A shadow rollout end to end on the embedded default: a real model server process follows
the alias record in the embedded S3, scores the candidate beside the served version, and
`python -m app models rollout` reads its /metrics and promotes the candidate when it holds or
ends the rollout when it does not."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from app.dataset import packaged_dataset_bytes, parse_csv
from app.registry import ModelMetadata, S3ModelRegistry
from tests.conftest import EmbeddedAws
from tests.integration.conftest import API_KEY, run_cli
from tests.live_server import GIVE_UP_SECONDS, server_process
from tests.ports import free_port

pytestmark = [pytest.mark.localstack, pytest.mark.slow]

ROWS = parse_csv(packaged_dataset_bytes()).features.tolist()


def _wait_for(condition: Any, what: str) -> None:
    deadline = time.monotonic() + GIVE_UP_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


def _predict_everything(base: str) -> set[str]:
    """Every packaged row through /v1/predict, a request each (the rollout counts its evidence
    in requests); the versions that answered."""
    served: set[str] = set()
    for row in ROWS:
        answer = httpx.post(
            f"{base}/v1/predict",
            json={"features": row},
            headers={"Authorization": f"Bearer {API_KEY}"},
        )
        assert answer.status_code == 200, answer.text
        served.add(answer.json()["model_version"])
    return served


def test_a_shadow_version_is_promoted_when_it_holds_and_ended_when_it_does_not(
    embedded_aws: EmbeddedAws,
    bucket: str,
    trained_artifact: tuple[bytes, ModelMetadata],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = S3ModelRegistry(embedded_aws.client("s3"), bucket, "iris-classifier")
    artifact, meta = trained_artifact
    registry.create_version("1", artifact, meta)
    registry.create_version("2", artifact, meta)  # answers as version 1 does: it holds
    # The same graph with its classes named in reverse: it disagrees on every setosa and
    # virginica row.
    reversed_names = meta.model_copy(update={"class_names": meta.class_names[::-1]})
    registry.create_version("3", artifact, reversed_names)
    registry.promote("1")
    monkeypatch.setenv("MLOPS_ROLLOUT_MIN_COMPARISONS", "100")
    monkeypatch.setenv("MLOPS_ROLLOUT_MIN_AGREEMENT", "0.9")
    monkeypatch.setenv("MLOPS_ROLLOUT_HOLD_SECONDS", "0")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    metrics_url = f"{base}/metrics"

    def scoring_in_shadow(version: str) -> bool:
        text = httpx.get(metrics_url).text
        return f'mlops_shadow_version_info{{model_version="{version}"}} 1.0' in text

    def rollout() -> dict[str, Any]:
        return run_cli(capsys, "models", "rollout", "--metrics-url", metrics_url)

    env = {"MLOPS_POLL_INTERVAL_SECONDS": "0.2"}
    with server_process(["-m", "app", "serve", "--port", str(port)], port, "/readyz", env=env):
        assert rollout()["action"] == "none"

        seen, etag = registry.alias("production")
        registry.shadow_from("2", "production", seen, etag)
        _wait_for(lambda: scoring_in_shadow("2"), "the server to score version 2 in shadow")
        verdict = rollout()
        assert verdict["action"] == "hold", verdict
        assert "0 of 100 live requests" in verdict["reason"]

        assert _predict_everything(base) == {"1"}  # clients get the served version only
        verdict = rollout()
        assert verdict == {
            "action": "promote",
            "version": "2",
            "reason": verdict["reason"],
        }
        assert "agreement 1.000 over 150 live rows of 150 requests" in verdict["reason"]
        record, _ = registry.alias("production")
        assert (record.version, record.history, record.shadow) == ("2", ["1"], None)
        _wait_for(
            lambda: httpx.get(f"{base}/readyz").json().get("model_version") == "2",
            "the server to serve version 2",
        )

        seen, etag = registry.alias("production")
        registry.shadow_from("3", "production", seen, etag)
        _wait_for(lambda: scoring_in_shadow("3"), "the server to score version 3 in shadow")
        assert _predict_everything(base) == {"2"}
        verdict = rollout()
        assert verdict["action"] == "rollback", verdict
        assert "below 0.9 over 150 live rows of 150 requests" in verdict["reason"]
        record, _ = registry.alias("production")
        assert (record.version, record.history, record.shadow) == ("2", ["1"], None)
        _wait_for(lambda: not scoring_in_shadow("3"), "the server to stop scoring version 3")
        assert rollout()["action"] == "none"
