"""The one table from Sijill exceptions to HTTP responses.

Every error body has the same shape::

    {"error": {"code": "schema_validation", "message": "...", "field": "fields.x"}}
"""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.security import strict_headers
from ledger import errors as e

log = logging.getLogger(__name__)

# Most specific first: the first matching class decides the status.
STATUS_BY_ERROR: tuple[tuple[type[e.SijillError], int], ...] = (
    (e.AuthenticationError, 401),
    (e.PermissionDeniedError, 403),
    (e.GoneError, 410),
    (e.NotFoundError, 404),
    (e.ProposalNotReadyError, 425),
    (e.ConflictError, 409),
    (e.PayloadTooLargeError, 413),
    (e.InvalidRequestError, 422),
    (e.RateLimitedError, 429),
    (e.ServiceUnavailableError, 503),
    (e.ConfigurationError, 503),
    (e.TransactionFailedError, 502),
    (e.NodeAnswerError, 502),
    (e.ContractRevertError, 400),
    (e.SijillError, 400),
)


def status_for(error: e.SijillError) -> int:
    """The HTTP status for a Sijill error."""
    return next(status for kind, status in STATUS_BY_ERROR if isinstance(error, kind))


def error_code(error: Exception) -> str:
    """``SchemaValidationError`` -> ``schema_validation``."""
    name = type(error).__name__.removesuffix("Error")
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def error_body(
    code: str, message: str, field: str | None = None, nodes: list[dict[str, object]] | None = None
) -> dict[str, dict[str, object]]:
    """The JSON body of an error response (with each endpoint's answer when the ledger's nodes disagree)."""
    body: dict[str, object] = {"code": code, "message": message}
    if field:
        body["field"] = field
    if nodes is not None:
        body["nodes"] = nodes
    return {"error": body}


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into a JSON error response."""

    @app.exception_handler(e.SijillError)
    async def sijill_error(_request: Request, error: e.SijillError) -> JSONResponse:
        field = getattr(error, "field", None)
        status = status_for(error)
        headers = None
        if isinstance(error, e.RateLimitedError) or (
            isinstance(error, e.ProposalNotReadyError) and error.retry_after is not None
        ):
            headers = {"Retry-After": str(error.retry_after)}
        elif status == 503:
            headers = {"Retry-After": "5"}
        nodes = error.answers if isinstance(error, e.LedgerNodesDisagreeError) else None
        body = error_body(error_code(error), error.message, field, nodes)
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = error.errors()
        first = problems[0] if problems else {"loc": (), "msg": "invalid request"}
        location = [str(part) for part in first.get("loc", ()) if part != "body"]
        field = ".".join(location) or None
        if first.get("type") == "json_invalid":
            message = "the request body is not valid JSON"
            return JSONResponse(error_body("malformed_json", message), status_code=400)
        message = f"'{field}': {first.get('msg')}" if field else str(first.get("msg"))
        if len(problems) > 1:
            message += f" (and {len(problems) - 1} more problem(s))"
        return JSONResponse(error_body("invalid_request", message, field), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return JSONResponse(error_body(code, str(error.detail)), status_code=error.status_code)

    @app.exception_handler(RecursionError)
    async def too_deep(_request: Request, _error: RecursionError) -> JSONResponse:
        return JSONResponse(error_body("too_deeply_nested", "the JSON body nests too deeply"), status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=error)
        message = "an unexpected error occurred; it was logged, and nothing was changed by this request"
        # Starlette answers this outside every middleware: the strict headers are set here.
        headers = strict_headers(request.url.path)
        return JSONResponse(error_body("internal_error", message), status_code=500, headers=headers)
