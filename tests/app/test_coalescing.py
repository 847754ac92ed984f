"""Requests that reach the model in the same event loop turn share one model call, and each
still gets exactly the answer a call of its own gives."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import numpy as np
import pytest

from app import model_checks
from app.registry import ModelMetadata
from app.serving.api import create_app
from app.serving.coalescing import InferenceCoalescer
from app.serving.model import LoadedModel
from tests.app.conftest import API_KEY, MemoryRegistry, MemoryStore, make_settings, memory_capture


class Spy:
    """An `infer` that records the rows of each call and answers each row's first value."""

    def __init__(self, fail_when: float | None = None) -> None:
        self.calls: list[list[float]] = []
        self.fail_when = fail_when

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        self.calls.append(rows[:, 0].tolist())
        if self.fail_when is not None and self.fail_when in rows[:, 0]:
            raise RuntimeError(f"row {self.fail_when} cannot be scored")
        return rows[:, :1] * 10


def _rows(*firsts: float) -> np.ndarray:
    return np.array([[first, 0.0] for first in firsts], dtype=np.float32)


def _run(work: Any) -> Any:
    """`asyncio.run` with a bound: an answer never given fails the test, not hangs it."""
    return asyncio.run(asyncio.wait_for(work, 5))


def test_requests_of_one_turn_share_one_call_and_get_their_own_rows() -> None:
    spy = Spy()
    coalescer = InferenceCoalescer()

    async def main() -> tuple[np.ndarray, ...]:
        return await asyncio.gather(
            coalescer.probabilities(spy, _rows(1)),
            coalescer.probabilities(spy, _rows(2, 3)),
            coalescer.probabilities(spy, _rows(4)),
        )

    answers = _run(main())
    assert spy.calls == [[1, 2, 3, 4]]
    assert [a[:, 0].tolist() for a in answers] == [[10], [20, 30], [40]]


def test_a_lone_request_is_inferred_alone_and_the_next_turn_starts_anew() -> None:
    spy = Spy()
    coalescer = InferenceCoalescer()

    async def main() -> None:
        await coalescer.probabilities(spy, _rows(1))
        await coalescer.probabilities(spy, _rows(2))

    _run(main())
    assert spy.calls == [[1], [2]]


def test_when_the_joint_call_fails_each_request_gets_its_own_answer_or_error() -> None:
    spy = Spy(fail_when=2)
    coalescer = InferenceCoalescer()

    async def main() -> tuple[Any, ...]:
        return await asyncio.gather(
            coalescer.probabilities(spy, _rows(1)),
            coalescer.probabilities(spy, _rows(2)),
            coalescer.probabilities(spy, _rows(3)),
            return_exceptions=True,
        )

    first, second, third = _run(main())
    assert spy.calls == [[1, 2, 3], [1], [2], [3]]
    assert first[:, 0].tolist() == [10] and third[:, 0].tolist() == [30]
    assert isinstance(second, RuntimeError) and "row 2 cannot" in str(second)


def test_a_cancelled_request_does_not_stop_the_others() -> None:
    spy = Spy()
    coalescer = InferenceCoalescer()

    async def main() -> np.ndarray:
        gone = asyncio.ensure_future(coalescer.probabilities(spy, _rows(1)))
        kept = asyncio.ensure_future(coalescer.probabilities(spy, _rows(2)))
        await asyncio.sleep(0)  # both wait for the call
        gone.cancel()
        return await kept

    assert _run(main())[:, 0].tolist() == [20]
    assert spy.calls == [[1, 2]]


def test_a_cancelled_request_does_not_stop_the_others_when_each_is_called_alone() -> None:
    spy = Spy(fail_when=3)  # the joint call fails: each request is then called on its own
    coalescer = InferenceCoalescer()

    async def main() -> np.ndarray:
        gone = asyncio.ensure_future(coalescer.probabilities(spy, _rows(1)))
        kept = asyncio.ensure_future(coalescer.probabilities(spy, _rows(2)))
        failing = asyncio.ensure_future(coalescer.probabilities(spy, _rows(3)))
        await asyncio.sleep(0)
        gone.cancel()
        with pytest.raises(RuntimeError):
            await failing
        return await kept

    assert _run(main())[:, 0].tolist() == [20]
    assert spy.calls == [[1, 2, 3], [2], [3]]


def test_a_joint_call_holds_at_most_max_rows_and_a_request_is_never_split() -> None:
    spy = Spy()
    coalescer = InferenceCoalescer(max_rows=4)

    async def main() -> tuple[np.ndarray, ...]:
        return await asyncio.gather(
            coalescer.probabilities(spy, _rows(1, 2)),
            coalescer.probabilities(spy, _rows(3, 4)),
            coalescer.probabilities(spy, _rows(5)),  # a fifth row: the next call
            coalescer.probabilities(spy, _rows(6, 7, 8, 9, 10)),  # more than max alone
        )

    answers = _run(main())
    assert spy.calls == [[1, 2, 3, 4], [5], [6, 7, 8, 9, 10]]
    assert [a[:, 0].tolist() for a in answers] == [[10, 20], [30, 40], [50], [60, 70, 80, 90, 100]]


def test_a_model_that_answers_the_wrong_number_of_rows_is_called_for_each_request() -> None:
    calls: list[int] = []

    def first_row_only(rows: np.ndarray) -> np.ndarray:
        calls.append(len(rows))
        return rows[:1, :1] * 10

    coalescer = InferenceCoalescer()

    async def main() -> tuple[np.ndarray, ...]:
        return await asyncio.gather(
            coalescer.probabilities(first_row_only, _rows(1)),
            coalescer.probabilities(first_row_only, _rows(2)),
        )

    first, second = _run(main())
    assert calls == [2, 1, 1]
    assert (first[:, 0].tolist(), second[:, 0].tolist()) == ([10], [20])


def test_coalesced_rows_get_bit_for_bit_what_each_request_gets_alone(
    trained: tuple[bytes, ModelMetadata],
) -> None:
    """The model scores each row on its own: joining rows changes no answer."""
    artifact, meta = trained
    session = model_checks.open_session(artifact, meta, "test model", "")
    rows = np.random.default_rng(7).uniform(0, 8, (300, 4)).astype(np.float32)
    alone = np.concatenate([session.class_probabilities(rows[i : i + 1]) for i in range(300)])
    assert np.array_equal(session.class_probabilities(rows), alone)


def _request(body: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    raw = json.dumps(body).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/predict",
        "raw_path": b"/v1/predict",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"authorization", f"Bearer {API_KEY}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(raw)).encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8080),
    }
    return scope, raw


async def _post(api: Any, body: dict[str, Any]) -> dict[str, Any]:
    scope, raw = _request(body)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await api(scope, receive, send)
    assert sent[0]["status"] == 200, sent
    return json.loads(b"".join(m.get("body", b"") for m in sent[1:]))


def test_concurrent_requests_through_the_api_share_a_call_and_each_gets_its_own_answer(
    memory_registry: MemoryRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    bodies: list[dict[str, Any]] = [
        {"features": [5.1, 3.5, 1.4, 0.2]},
        {"instances": [[6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]},
        {
            "features": {
                "sepal_length": 6.3,
                "sepal_width": 3.3,
                "petal_length": 6.0,
                "petal_width": 2.5,
            }
        },
    ]
    api = create_app(
        registry=memory_registry,
        settings=make_settings(),
        capture_writer=memory_capture(MemoryStore()),
    )
    calls: list[int] = []

    async def main() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        async with api.router.lifespan_context(api):
            model: LoadedModel = api.state.serving.holder.current
            real = model.predict

            def counted(rows: np.ndarray) -> np.ndarray:
                calls.append(len(rows))
                return real(rows)

            monkeypatch.setattr(model, "predict", counted)
            together = await asyncio.gather(*(_post(api, body) for body in bodies))
            alone = [await _post(api, body) for body in bodies]
            return together, alone

    together, alone = _run(main())
    assert calls == [4, 1, 2, 1], "the three requests at once should share one call"
    for joint, single in zip(together, alone, strict=True):
        assert [p["probabilities"] for p in joint["predictions"]] == [
            p["probabilities"] for p in single["predictions"]
        ]
        assert [p["predicted_class"] for p in joint["predictions"]] == [
            p["predicted_class"] for p in single["predictions"]
        ]
    ids = [p["prediction_id"] for answer in together + alone for p in answer["predictions"]]
    assert len(set(ids)) == len(ids) == 8
