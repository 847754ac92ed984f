"""API keys: the one check both the route dependency and the early gate make.

The gate answers 401 before the body is read or parsed: FastAPI parses a declared body before
it runs a route's dependencies, so without it an unauthenticated client could make the server
parse up to a megabyte of JSON per request. The route dependency stays, for the OpenAPI
security scheme and for any route the gate does not cover.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from app.errors import AuthenticationError
from app.serving.http_errors import error_response
from app.serving.state import serving_state

MISSING = "missing API key; send `Authorization: Bearer <key>`"
INVALID = "invalid API key"
TWO_KEYS = "more than one Authorization header; send exactly one: `Authorization: Bearer <key>`"


def key_problem(keys: Iterable[str], authorization: str | None) -> str | None:
    """Why `authorization` (the header's value) is refused, or None when it holds a key."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return MISSING
    presented = token.encode()
    # Compare with every key, without stopping early: timing reveals nothing about which.
    valid = False
    for key in keys:
        valid |= hmac.compare_digest(key.encode(), presented)
    return None if valid else INVALID


class ApiKeyGate:
    """Refuses requests to `paths` without a valid key before anything reads their body."""

    def __init__(self, app: ASGIApp, paths: frozenset[str]) -> None:
        self.app = app
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        given = [value for name, value in scope["headers"] if name == b"authorization"]
        if len(given) > 1:
            # Which one counts would differ between this gate (any) and the route's scheme
            # (the first): refuse the ambiguity rather than pick one.
            problem: str | None = TWO_KEYS
        else:
            problem = key_problem(
                serving_state(scope["app"]).api_keys, given[0].decode("latin-1") if given else None
            )
        if problem is None:
            await self.app(scope, receive, send)
            return
        error = AuthenticationError(problem)
        response = error_response(
            error.status_code,
            error.code,
            problem,
            # The body may still be on its way: do not reuse the connection.
            headers={"WWW-Authenticate": "Bearer", "Connection": "close"},
        )
        await response(scope, receive, send)
