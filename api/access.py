"""The access log: who issued, revoked, suspended, read or governed what, and the answer.

Authenticated requests are recorded in the store (`access_log`): the key, its agency,
the route's name, the hash or id the request named, and the status. A request that carried a
token and was refused before it was authenticated (a wrong token: 401; a body the guard
refused, a rate limit) is recorded too, as `unauthenticated`, with the key id the token claims
(the id is no secret; the token is never kept). Nothing personal is kept: no document content,
no client address, no token. Public requests (verification) go to the `sijill.access` logger
with the route and status only.
"""

from __future__ import annotations

import logging
import time

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.api_keys import key_id_of
from ledger.store.models import AccessRow
from ledger.usecases.actors import Actor
from ledger.usecases.context import Ledger

log = logging.getLogger("sijill.access")

_TARGETS = ("target_hash", "agency_id", "key_id", "address")
UNAUTHENTICATED = "unauthenticated"


def _bearer_token(scope: Scope) -> str | None:
    """The bearer token a request carried, if any (read only to name the key id it claims)."""
    for name, value in scope.get("headers") or []:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


class AccessLog:
    """Records each request once its answer is sent."""

    def __init__(self, app: ASGIApp, ledger: Ledger) -> None:
        self.app = app
        self.ledger = ledger

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unrouted"
            elapsed = (time.perf_counter() - started) * 1000
            log.info("%s %s %d %.1fms", scope["method"], route, status, elapsed)
            actor = scope.get("state", {}).get("actor")
            if isinstance(actor, Actor):
                await run_in_threadpool(self._record, scope, actor.label, actor.key_id, actor.agency_id, status)
            elif status >= 400 and (token := _bearer_token(scope)) is not None:
                await run_in_threadpool(self._record, scope, UNAUTHENTICATED, key_id_of(token), None, status)

    def _record(self, scope: Scope, label: str, key_id: str | None, agency_id: str | None, status: int) -> None:
        endpoint = scope.get("endpoint")
        params = scope.get("path_params") or {}
        target = next((str(params[name])[:66] for name in _TARGETS if name in params), None)
        entry = AccessRow(
            actor=label,
            key_id=key_id,
            agency_id=agency_id,
            action=getattr(endpoint, "__name__", "unrouted")[:40],
            target=target,
            status=status,
        )
        try:
            self.ledger.store.record_access([entry])
        except Exception:  # the answer is sent; a failed log write must be seen, and must not fail the request
            log.exception("could not record an access by %s", label)
