"""HTTP conventions shared by every service: problem+json errors, body limit, health."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import unquote

import psycopg
from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pymongo.errors import ConnectionFailure
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rse_shared.auth import AuthError, Forbidden

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"

# A store that does not answer (down, restarting, no connection free in time, a lock not
# granted in time): the request may well succeed if sent again a little later.
UNAVAILABLE: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,  # eventsourcing's, after its own retries
    psycopg.OperationalError,
    psycopg.InterfaceError,  # direct connections, pool timeouts
    ConnectionFailure,  # pymongo: no server, network error or timeout
)
RETRY_AFTER_SECONDS = 2


def problem(status: int, title: str, detail: str = "", **extra: Any) -> JSONResponse:
    """An RFC 9457 problem details response."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def install_problem_handlers(app: FastAPI, errors: Mapping[type[Exception], int]) -> None:
    """Map domain errors (and the framework's) to problem+json; unknown errors stay 500.

    A store that is not answering is 503 with Retry-After, not 500: an event-store write is
    one transaction, so the command is in whole or not at all, and sending it again is safe
    (a repeat that had in fact been committed conflicts instead of writing twice).
    """

    async def validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        issues = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return problem(422, "Unprocessable Content", "the request is not valid", errors=issues)

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return problem(exc.status_code, _title(exc.status_code), str(exc.detail or ""))

    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http_error)
    for error_class in UNAVAILABLE:
        app.add_exception_handler(error_class, unavailable)
    mapped: dict[type[Exception], int] = {
        AuthError: 401,
        Forbidden: 403,
        NulCharacter: 422,
        **errors,
    }
    for error_class, status in mapped.items():
        app.add_exception_handler(error_class, _mapped(status))


def _mapped(status: int) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def handler(_: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, IntegrityError):
            # The database's own message names tables and keys: say what it means instead.
            return problem(
                status,
                _title(status),
                "changed concurrently by another request; read it again and retry",
            )
        return problem(status, _title(status), str(exc))

    return handler


async def unavailable(_: Request, exc: Exception) -> JSONResponse:
    """503 with Retry-After: a database is away; nothing was half-done, the client may retry."""
    log.warning("a store is unavailable: %s", type(exc).__name__)
    response = problem(
        503, "Service Unavailable", "a store this service needs is not answering; retry later"
    )
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class NulCharacter(ValueError):
    """Text with a NUL character (U+0000), which no store here can hold."""


async def refuse_nul_characters(request: Request) -> None:
    """App-wide dependency: NUL in the body, path or query is refused (422) before any use.

    PostgreSQL text (and so FerretDB's documents) cannot hold U+0000; an event carrying one
    would be stored but never projected, stalling every read model after it.
    """
    body = await request.body()
    if b"\\u0000" in body or b"\x00" in body or "\x00" in unquote(str(request.url)):
        raise NulCharacter("text must not contain NUL characters")


class BodyLimit:
    """ASGI middleware refusing request bodies above `max_bytes` with 413, before parsing.

    A declared Content-Length is checked at once; a body streamed without one is read (up
    to the limit) before the application sees any of it.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", ())).get(b"content-length")
        if declared is not None and declared.isdigit():
            if int(declared) > self.max_bytes:
                await self._refuse(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        received, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            received += len(chunks[-1])
            more = bool(message.get("more_body", False))
            if received > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
        buffered: list[Message] = [
            {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        ]

        async def replay() -> Message:
            return buffered.pop() if buffered else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(413, "Content Too Large", f"the body exceeds {self.max_bytes} bytes")
        await response(scope, receive, send)


Check = Callable[[], Awaitable[None]]


def health_router(checks: Mapping[str, Check]) -> APIRouter:
    """`/health/live` (the process answers) and `/health/ready` (its dependencies do)."""
    router = APIRouter(prefix="/health", tags=["health"])

    @router.get("/live")
    async def live() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @router.get("/ready", response_model=None)
    async def ready() -> JSONResponse | dict[str, Any]:
        """Every dependency (PostgreSQL, Kafka, MongoDB) answers."""
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                await check()
                results[name] = "ok"
            except Exception as failure:  # noqa: BLE001 - reported, not hidden
                results[name] = f"down: {type(failure).__name__}"
        if all(v == "ok" for v in results.values()):
            return {"status": "ok", "checks": results}
        return JSONResponse({"status": "down", "checks": results}, status_code=503)

    return router
