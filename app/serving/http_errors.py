"""Every error as HTTP: AppError subclasses map to their status and one stable error body.

In one place, so routes raise conditions (ModelNotFoundError, ...) and never build responses.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import AppError, AuthenticationError, InvalidInputError
from app.serving.schemas import ROW_SHAPES, ErrorBody, ErrorDetail, ErrorResponse

MAX_DETAILS = 20
"""Validation problems listed in a 422's details; the message counts the rest."""
# 400: a body FastAPI cannot decode at all (e.g. not UTF-8); 422: JSON of the wrong shape.
ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 404, 409, 413, 422, 503)
}


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[ErrorDetail] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorResponse(error=ErrorBody(code=code, message=message, details=details or []))
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def install_error_handlers(api: FastAPI) -> None:
    @api.exception_handler(AppError)
    async def app_error(_: Request, exc: AppError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthenticationError) else None
        details = (
            [ErrorDetail(loc=exc.loc, message=str(exc))]
            if isinstance(exc, InvalidInputError) and exc.loc
            else None
        )
        return error_response(exc.status_code, exc.code, str(exc), details, headers=headers)

    @api.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        # At most MAX_DETAILS: a body of thousands of bad values must not get an answer many
        # times its size (nor the loop the time to build it).
        details = [
            ErrorDetail(loc=_location(err.get("loc", ())), message=err["msg"])
            for err in errors[:MAX_DETAILS]
        ]
        if any(err.get("type") == "json_invalid" for err in errors[:MAX_DETAILS]):
            message = "request body is not valid JSON"
        else:
            message = "; ".join(f"{d.loc}: {d.message}" for d in details[:5])
            if len(errors) > MAX_DETAILS:
                message += f" (and {len(errors) - MAX_DETAILS} more problems not listed)"
        return error_response(422, "invalid_input", message, details)

    @api.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        # exc.headers carries e.g. `Allow` on 405, which RFC 9110 requires.
        headers = dict(exc.headers) if exc.headers else None
        return error_response(exc.status_code, "http_error", str(exc.detail), headers=headers)


def _location(loc: tuple[int | str, ...]) -> str:
    """`body.features.named.petal_width` as the client wrote it: `body.features.petal_width`
    (the row's shape tag is pydantic's, not a field of the request)."""
    kept = [
        str(part)
        for i, part in enumerate(loc)
        if not (
            part in ROW_SHAPES
            and i > 0
            and (loc[i - 1] == "features" or isinstance(loc[i - 1], int))
        )
    ]
    return ".".join(kept)
