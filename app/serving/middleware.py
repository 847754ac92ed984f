"""Pure ASGI middleware: request metrics and logs, and request body size and time limits."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
import weakref
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import metrics
from app.serving.state import ServingState

DEFAULT_MAX_BODY_BYTES = 1_000_000
DEFAULT_BODY_TIMEOUT_SECONDS = 10.0
BODIES_IN_FLIGHT = 64
"""Request bodies read at once (each at most max_body_bytes): 64 x 1 MB by default."""
# Weak keys: a loop that is gone (each test client runs its own) takes its semaphore with it.
_body_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _bodies_in_flight() -> asyncio.Semaphore:
    """The event loop's body-read semaphore (one per loop: a semaphore binds to its loop)."""
    loop = asyncio.get_running_loop()
    slots = _body_slots.get(loop)
    if slots is None:
        slots = _body_slots[loop] = asyncio.Semaphore(BODIES_IN_FLIGHT)
    return slots


request_log = logging.getLogger("app.requests")
# Methods a metric label may carry; any other (a client can send any token) counts as "other",
# or each invented method would add a series.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class MetricsMiddleware:
    """Counts and times every request by route template (not raw path: bounded cardinality),
    and writes one structured log line per request (a sampled share of them, and every
    server error).

    The line carries what an operator correlates: method, route, status, latency, the model
    version and the prediction ids a handler put in `request.state`. Never the body, the
    query or the headers: inputs and API keys stay out of the logs.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Labelled children by (route, method, status): `labels()` takes a lock and formats
        # the values on every call. Bounded: routes are the app's, methods KNOWN_METHODS or
        # "other", statuses few.
        self._counters: dict[tuple[str, str, int], Counter] = {}
        self._timers: dict[str, Histogram] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            elapsed = time.perf_counter() - start
            # FastAPI puts the matched route into the (shared) scope while routing.
            route: Any = scope.get("route")
            path = getattr(route, "path", "unmatched")
            self._timer(path).observe(elapsed)
            method = scope["method"] if scope["method"] in KNOWN_METHODS else "other"
            self._counter(path, method, status).inc()
            serving = _serving(scope)
            rate = serving.request_log_sample_rate if serving else 1.0
            if status >= 500 or random.random() < rate:  # noqa: S311 - sampling, not secrecy
                _log_request(scope, path, status, elapsed)

    def _counter(self, route: str, method: str, status: int) -> Counter:
        key = (route, method, status)
        counter = self._counters.get(key)
        if counter is None:
            counter = metrics.HTTP_REQUESTS.labels(route=route, method=method, status=status)
            self._counters[key] = counter
        return counter

    def _timer(self, route: str) -> Histogram:
        timer = self._timers.get(route)
        if timer is None:
            timer = metrics.HTTP_DURATION.labels(route=route)
            self._timers[route] = timer
        return timer


def _serving(scope: Scope) -> ServingState | None:
    """The app's state, set by its lifespan from settings; Starlette puts the app into the
    scope. None for an app without one (the middleware then applies its defaults)."""
    return getattr(scope["app"].state, "serving", None)


def _log_request(scope: Scope, route: str, status: int, elapsed: float) -> None:
    # Handlers record what they served in request.state, which Starlette keeps in scope.
    state: dict[str, Any] = scope.get("state") or {}
    request_log.info(
        "request",
        extra={
            "method": scope["method"][:16],
            "route": route,
            "status": status,
            "latency_ms": round(elapsed * 1000, 3),
            "model_version": state.get("model_version"),
            "prediction_ids": state.get("prediction_ids"),
        },
    )


class BodyLimitMiddleware:
    """Reads the body before the app does, within the state's `max_body_bytes` (else 413) and
    `body_timeout_seconds` (else 408), then replays it to the app.

    The time bound matters because connections are capped (app.serving.server): without it,
    a few clients sending their bodies a byte at a time would hold every connection slot.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        serving = _serving(scope)
        limit = serving.max_body_bytes if serving else DEFAULT_MAX_BODY_BYTES
        timeout = serving.body_timeout_seconds if serving else DEFAULT_BODY_TIMEOUT_SECONDS
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await _reject(send, 413, "body_too_large", _too_large(limit))
            return
        try:
            async with asyncio.timeout(timeout):
                # Bodies are held in memory while read: at most BODIES_IN_FLIGHT at once, so
                # many open connections cannot add up to more than that many bodies.
                async with _bodies_in_flight():
                    body = await _read_body(receive, limit)
        except TimeoutError:
            message = f"request body not received within {timeout:g} s; send it at once"
            await _reject(send, 408, "body_timeout", message)
            return
        if body is None:
            await _reject(send, 413, "body_too_large", _too_large(limit))
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it exceeds `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


def _too_large(limit: int) -> str:
    return f"request body is larger than {limit} bytes; send smaller batches"


async def _reject(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message, "details": []}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # The rest of the body may still be on its way: do not reuse the connection.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
