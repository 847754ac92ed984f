"""The routes' dependencies: the API key check and the model being served.

They are `async def`: a plain `def` would be sent to the thread pool on every request. They
take the Request and read the typed state from it rather than depending on a state
dependency of their own: each extra dependency costs FastAPI work on every request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.errors import AuthenticationError
from app.serving.auth import key_problem
from app.serving.model import LoadedModel
from app.serving.state import serving_state

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer <key>`")


async def require_api_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    # The ApiKeyGate has already refused a request without a valid key before its body was
    # read; this check keeps the OpenAPI security scheme and guards any route it misses.
    header = f"Bearer {credentials.credentials}" if credentials else None
    problem = key_problem(serving_state(request.app).api_keys, header)
    if problem is not None:
        raise AuthenticationError(problem)


async def served_model(request: Request) -> LoadedModel:
    # One read of the reference (in `require`): a hot swap during the request cannot mix
    # two models.
    return serving_state(request.app).holder.require()


Authorized = Depends(require_api_key)
ServedModel = Annotated[LoadedModel, Depends(served_model)]
