"""Pure ASGI middleware: request metrics and a request body size limit."""

from __future__ import annotations

import json
import time
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import metrics

DEFAULT_MAX_BODY_BYTES = 1_000_000


class MetricsMiddleware:
    """Counts and times every request by route template (not raw path: bounded cardinality)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Labelled children by (route, method, status): `labels()` takes a lock and formats
        # the values on every call. Bounded: routes and methods are the app's, statuses few.
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
            # FastAPI puts the matched route into the (shared) scope while routing.
            route: Any = scope.get("route")
            path = getattr(route, "path", "unmatched")
            self._timer(path).observe(time.perf_counter() - start)
            self._counter(path, scope["method"], status).inc()

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


class BodyLimitMiddleware:
    """Answers 413 before the app parses a body larger than `app.state.max_body_bytes`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Set by the app's lifespan from settings; Starlette puts the app into the scope.
        limit: int = getattr(scope["app"].state, "max_body_bytes", DEFAULT_MAX_BODY_BYTES)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            if not length.isdigit() or int(length) > limit:
                await _reject(send, limit)
                return
            await self.app(scope, receive, send)
            return
        # No Content-Length (chunked): read up to the limit, then replay to the app.
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
                await _reject(send, limit)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _reject(send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "error": {
                "code": "body_too_large",
                "message": f"request body is larger than {limit} bytes; send smaller batches",
                "details": [],
            }
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
