"""Findings of a hostile review, each reproduced: answers that must stay small, metric labels
a client cannot multiply, rejections that are still counted and logged, and registry keys a
stray upload cannot turn into a crash."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import cast

import pytest
from fastapi.testclient import TestClient

from app import metrics
from app.registry import is_version_number
from app.serving.api import create_app
from app.serving.http_errors import MAX_DETAILS
from tests.app.conftest import API_KEY, MemoryRegistry, make_settings


@pytest.fixture
def client(memory_registry: MemoryRegistry) -> Iterator[TestClient]:
    api = create_app(registry=memory_registry, settings=make_settings(max_batch_size=256))
    with TestClient(api) as test_client:
        test_client.headers["Authorization"] = f"Bearer {API_KEY}"
        yield test_client


def test_a_body_of_many_bad_values_gets_a_small_answer(client: TestClient) -> None:
    rows = [["a"] * 4 for _ in range(200)]  # 800 problems
    response = client.post("/v1/predict", json={"instances": rows})
    assert response.status_code == 422
    body = response.json()["error"]
    assert len(body["details"]) == MAX_DETAILS
    assert f"and {800 - MAX_DETAILS} more problems" in body["message"]
    assert len(response.content) < 10_000


def test_invented_methods_do_not_add_metric_series(client: TestClient) -> None:
    def series() -> set[str]:
        return {
            s.labels["method"]
            for family in metrics.REGISTRY.collect()
            if family.name == "mlops_http_requests"
            for s in family.samples
        }

    for index in range(5):
        client.request(f"X{index}INVENTED", "/healthz")
    assert not any(method.startswith("X") for method in series()), series()
    assert "other" in series()


def test_rejected_bodies_are_counted_and_logged(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app.requests")
    response = client.post(
        "/v1/predict", content=b"x" * 5000, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    statuses = [r.__dict__["status"] for r in caplog.records if r.name == "app.requests"]
    assert statuses == [413]


@pytest.mark.parametrize(
    ("name", "is_version"), [("12", True), ("²", False), ("١٢", False), ("1a", False)]
)
def test_only_ascii_digits_name_a_version(name: str, is_version: bool) -> None:
    """str.isdigit() accepts "²" and Arabic-Indic digits; int("²") raises, so one stray key
    would break every listing and registration."""
    assert is_version_number(name) is is_version


def _post_predict(api: object, authorization: bytes | None) -> tuple[int, int]:
    """POST /v1/predict straight to the ASGI app: (status, times the body was asked for)."""
    import asyncio

    from starlette.types import ASGIApp, Message

    reads: list[int] = []
    sent: list[Message] = []

    async def receive() -> Message:
        reads.append(1)
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    headers = [(b"content-type", b"application/json"), (b"content-length", b"2")]
    if authorization:
        headers.append((b"authorization", authorization))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/v1/predict", "raw_path": b"", "query_string": b"",
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8080), "app": api,
    }  # fmt: skip
    app = cast(ASGIApp, api)

    async def call() -> None:
        await app(scope, receive, send)

    asyncio.run(call())
    return sent[0]["status"], len(reads)


def test_an_unauthenticated_body_is_refused_before_it_is_read(
    memory_registry: MemoryRegistry,
) -> None:
    """FastAPI reads and parses a declared body before the route's key check: the gate
    answers 401 from the headers alone, so nobody without a key makes the server read (or
    parse) a body at all."""
    api = create_app(registry=memory_registry, settings=make_settings(max_batch_size=256))
    with TestClient(api):  # runs the lifespan: the app's keys are loaded
        for header in (None, b"Bearer wrong-key-0123456789abc"):
            status, reads = _post_predict(api, header)
            assert status == 401
            assert reads == 0, "the body of an unauthenticated request was read"
        status, reads = _post_predict(api, f"Bearer {API_KEY}".encode())
        assert reads == 1 and status != 401, "a valid key must get through"
