"""The retrain webhook against a fake Kubernetes API: auth, one Job, no duplicates."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.trigger.api import MAX_BODY_BYTES, create_app
from app.trigger.jobs import RetrainLauncher
from app.trigger.kube import KubernetesApi
from tests.trigger.fake_kubernetes import CRONJOB, NAMESPACE, TEMPLATE_LABELS, TOKEN, FakeKubernetes

WEBHOOK_TOKEN = "webhook-token-0123456789"


def alert(status: str = "firing", name: str = "ModelDataDrift") -> dict[str, Any]:
    return {
        "version": "4",
        "status": status,
        "receiver": "retrain",
        "alerts": [{"status": status, "labels": {"alertname": name, "feature": "petal_width"}}],
    }


@pytest.fixture
def kube(tmp_path: Path) -> Iterator[FakeKubernetes]:
    fake = FakeKubernetes().start()
    yield fake
    fake.stop()


@pytest.fixture
def client(kube: FakeKubernetes, tmp_path: Path) -> TestClient:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    api = KubernetesApi(kube.url, token_file, None)
    launcher = RetrainLauncher(api, NAMESPACE, CRONJOB, window_seconds=600, clock=lambda: 6000.0)
    return TestClient(create_app(WEBHOOK_TOKEN, launcher))


def post(client: TestClient, body: dict[str, Any], token: str | None = WEBHOOK_TOKEN) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.post("/v1/alerts", json=body, headers=headers)


def test_drift_alert_creates_one_job_from_the_cronjob_template(
    client: TestClient, kube: FakeKubernetes
) -> None:
    response = post(client, alert())
    assert response.status_code == 202
    assert response.json() == {"action": "created", "job": "retrain-drift-10"}
    (job,) = kube.jobs.values()
    assert job["spec"]["completionMode"] == "Indexed", "the CronJob's job template is used"
    assert TEMPLATE_LABELS.items() <= job["metadata"]["labels"].items()
    assert job["metadata"]["annotations"]["mlops-platform/retrain-reason"] == "ModelDataDrift"
    (owner,) = job["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == ("CronJob", CRONJOB, "cron-uid-1")
    # Every call used the service-account token.
    assert {token for _, _, token in kube.requests} == {TOKEN}


def test_no_second_job_while_one_is_active(client: TestClient, kube: FakeKubernetes) -> None:
    assert post(client, alert()).status_code == 202
    second = post(client, alert(name="ModelAccuracyDrop"))
    assert second.status_code == 200
    assert second.json() == {"action": "already-running", "job": "retrain-drift-10"}
    assert len(kube.jobs) == 1


def test_a_finished_job_does_not_block_the_next(client: TestClient, kube: FakeKubernetes) -> None:
    kube.jobs["retrain-29000"] = {
        "metadata": {"name": "retrain-29000", "labels": dict(TEMPLATE_LABELS)},
        "status": {"conditions": [{"type": "Complete", "status": "True"}]},
    }
    assert post(client, alert()).json()["action"] == "created"
    assert len(kube.jobs) == 2


def test_a_scheduled_run_in_progress_counts_as_active(
    client: TestClient, kube: FakeKubernetes
) -> None:
    kube.jobs["retrain-29001"] = {
        "metadata": {"name": "retrain-29001", "labels": dict(TEMPLATE_LABELS)},
        "status": {"active": 2},
    }
    assert post(client, alert()).json() == {"action": "already-running", "job": "retrain-29001"}


def test_concurrent_alerts_create_exactly_one_job(client: TestClient, kube: FakeKubernetes) -> None:
    codes: list[int] = []

    def send() -> None:
        codes.append(post(client, alert()).status_code)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [200] * 7 + [202]
    assert len(kube.jobs) == 1


def test_another_replica_racing_gets_already_created(kube: FakeKubernetes, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    api = KubernetesApi(kube.url, token_file, None)
    first = RetrainLauncher(api, NAMESPACE, CRONJOB, 600, clock=lambda: 6000.0)
    second = RetrainLauncher(api, NAMESPACE, CRONJOB, 600, clock=lambda: 6001.0)
    assert first.launch("drift").outcome == "created"
    # The first Job has finished as far as the list shows; the same window's name still clashes.
    kube.jobs["retrain-drift-10"]["status"] = {"conditions": [{"type": "Failed", "status": "True"}]}
    assert second.launch("drift").outcome == "already-created"
    assert len(kube.jobs) == 1


@pytest.mark.parametrize(
    "token", [None, "", "wrong-token-0123456789", WEBHOOK_TOKEN[:-1], WEBHOOK_TOKEN + "x"]
)
def test_wrong_or_missing_token_is_401_and_creates_nothing(
    client: TestClient, kube: FakeKubernetes, token: str | None
) -> None:
    response = post(client, alert(), token=token)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert kube.jobs == {} and kube.requests == []


def test_basic_auth_scheme_is_refused(client: TestClient, kube: FakeKubernetes) -> None:
    response = client.post(
        "/v1/alerts", json=alert(), headers={"Authorization": f"Basic {WEBHOOK_TOKEN}"}
    )
    assert response.status_code == 401


def test_resolved_alert_is_ignored(client: TestClient, kube: FakeKubernetes) -> None:
    response = post(client, alert(status="resolved"))
    assert response.status_code == 200
    assert response.json() == {"action": "ignored", "job": None}
    assert kube.jobs == {}


def test_malformed_payload_is_422(client: TestClient, kube: FakeKubernetes) -> None:
    response = post(client, {"status": "on fire", "alerts": "many"})
    assert response.status_code == 422
    assert kube.jobs == {}


def test_a_422_never_repeats_the_input(client: TestClient, kube: FakeKubernetes) -> None:
    marker = "caller-data-" + "x" * 5000
    body = {"version": "4", "status": marker, "alerts": [{"status": marker, "labels": {marker: 1}}]}
    response = post(client, body)
    assert response.status_code == 422
    assert "caller-data" not in response.text, response.text[:300]
    assert len(response.content) < 2000, "the error names where, not what"


def test_invalid_json_is_422_without_the_input(client: TestClient) -> None:
    response = client.post(
        "/v1/alerts",
        content=b'{"version": "caller-data-' + b"x" * 5000,
        headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert "caller-data" not in response.text


def test_a_body_over_one_mib_is_413(client: TestClient, kube: FakeKubernetes) -> None:
    huge = {**alert(), "padding": "x" * MAX_BODY_BYTES}
    response = post(client, huge)
    assert response.status_code == 413
    assert kube.requests == []


def test_a_chunked_body_over_one_mib_is_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b"x" * 65536

    response = client.post(
        "/v1/alerts", content=chunks(), headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}"}
    )
    assert response.status_code == 413


def test_no_token_is_401_even_with_an_oversized_body(client: TestClient) -> None:
    response = client.post("/v1/alerts", content=b"x" * (2 * MAX_BODY_BYTES))
    assert response.status_code == 401, "the token is checked before the body"


def test_unreachable_api_is_502_and_the_cause_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    api = KubernetesApi("http://127.0.0.1:9", token_file, None, timeout=2)
    client = TestClient(create_app(WEBHOOK_TOKEN, RetrainLauncher(api, NAMESPACE, CRONJOB, 600)))
    with caplog.at_level(logging.ERROR, logger="app.trigger"):
        response = post(client, alert())
    assert response.status_code == 502
    assert "127.0.0.1:9" not in response.text, "the API's address stays server-side"
    assert "127.0.0.1:9 unreachable" in caplog.text


def test_the_api_s_error_body_is_not_returned(
    kube: FakeKubernetes, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("not-the-token")
    api = KubernetesApi(kube.url, token_file, None)
    client = TestClient(create_app(WEBHOOK_TOKEN, RetrainLauncher(api, NAMESPACE, CRONJOB, 600)))
    with caplog.at_level(logging.ERROR, logger="app.trigger"):
        response = post(client, alert())
    assert response.status_code == 502
    assert "401" not in response.json()["detail"]
    assert "Kubernetes API 401" in caplog.text
    assert kube.jobs == {}


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
