"""Response headers that keep browsers strict, and CORS, closed unless origins are configured."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The verification page loads only what this service serves: no CDN, no inline script or style.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; object-src 'none'"
)
# Answers of the API are data, never a page: nothing in them may run or load.
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

_EVERY_RESPONSE = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def strict_headers(path: str) -> dict[str, str]:
    """The headers every answer to `path` carries: for answers made outside the middleware (a 500)."""
    headers = dict(_EVERY_RESPONSE)
    if path.startswith("/v1/"):
        headers["Content-Security-Policy"] = API_POLICY
    return headers


class SecurityHeaders:
    """Adds the headers above to each response; the API's JSON answers also get `API_POLICY`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = scope["path"].startswith("/v1/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _EVERY_RESPONSE.items():
                    headers.setdefault(name, value)
                if api and headers.get("content-type", "").startswith("application/json"):
                    headers.setdefault("Content-Security-Policy", API_POLICY)
            await send(message)

        await self.app(scope, receive, with_headers)


def install_security_headers(app: FastAPI, cors_origins: list[str]) -> None:
    """Strict headers on every response; CORS only for the configured origins (none by default)."""
    app.add_middleware(SecurityHeaders)
    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
            allow_credentials=False,
            max_age=600,
        )
