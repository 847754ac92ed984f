"""The predict lane: POST /v1/predict answered without the web framework's request path.

For each request FastAPI and Starlette run error and exception middleware, route matching,
request objects, dependency solving and a second JSON pass: about half of what a prediction
cost. The lane sits inside the app's own middleware (metrics and request logs, the API key
gate, the body limit), so every request is still counted, logged, authenticated and bounded
the same way, and answers a JSON body itself: pydantic parses and validates it in one step,
then the route's own functions check the rows and answer.

Whatever it does not answer goes on to FastAPI unchanged, with the body replayed: a body that
is not `application/json`, one that fails validation or a row check, or no model loaded. The
declared route then gives exactly the answer it always gave (the same error bodies), and it
is the one the OpenAPI document describes.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import AppError
from app.serving.routes.predictions import PREDICT_PATH, answer, checked_rows
from app.serving.schemas import PredictRequest
from app.serving.state import serving_state

_JSON = b"application/json"
_HEADERS = [(b"content-type", _JSON)]


class PredictLane:
    def __init__(self, app: ASGIApp, route: Any) -> None:
        """`route`: the declared route, put in the scope as routing would (the metrics label
        and the request log name its path)."""
        self.app = app
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != PREDICT_PATH
            or scope["method"] != "POST"
            or _content_type(scope) != _JSON
        ):
            await self.app(scope, receive, send)
            return
        # The body limit middleware has read the whole body: it arrives in one message.
        message = await receive()
        body = message.get("body", b"") if message["type"] == "http.request" else b""
        if message["type"] != "http.request" or message.get("more_body", False):
            await self.app(scope, _replay(message, receive), send)
            return
        state = serving_state(scope["app"])
        model = state.holder.current
        try:
            if model is None:
                raise LookupError("no model loaded")
            checked = checked_rows(
                PredictRequest.model_validate_json(body), model, state.max_batch_size
            )
        except (ValidationError, AppError, LookupError):
            await self.app(scope, _replay(message, receive), send)
            return
        scope["route"] = self.route
        payload = await answer(checked, state, model, scope.setdefault("state", {}))
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*_HEADERS, (b"content-length", str(len(payload)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def _content_type(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bytes(value)
    return None


def _replay(first: Message, receive: Receive) -> Receive:
    """`receive` that hands out `first` again, then what follows."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return first
        return await receive()

    return replay
