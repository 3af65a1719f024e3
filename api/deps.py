"""Dependencies of the routes, as `Annotated` aliases: the ledger, the caller and their scopes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.rate_limits import RateLimiter
from ledger.errors import AuthenticationError
from ledger.usecases.actors import Actor, Scope
from ledger.usecases.api_keys import authenticate
from ledger.usecases.context import Ledger

_bearer = HTTPBearer(auto_error=False, description="An API key's token, or the admin token")


def get_ledger(request: Request) -> Ledger:
    """The `Ledger` the app was created with."""
    ledger: Ledger = request.app.state.ledger
    return ledger


LedgerDep = Annotated[Ledger, Depends(get_ledger)]


def get_actor(
    request: Request,
    ledger: LedgerDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """The caller behind the bearer token, within its key's rate limit.

    Raises `AuthenticationError` and `RateLimitedError`.
    """
    if bearer is None or not bearer.credentials:
        raise AuthenticationError("send your API token as 'Authorization: Bearer <token>'")
    try:
        actor = authenticate(ledger, bearer.credentials)
    except AuthenticationError:
        client_within_limit(request)  # failed attempts spend the address's allowance: no online guessing
        raise
    request.state.actor = actor  # for the access log
    limiter: RateLimiter = request.app.state.key_limiter
    limiter.take(actor.key_id or actor.label, "this API key")
    return actor


ActorDep = Annotated[Actor, Depends(get_actor)]


def _scoped(scope: Scope) -> Callable[[Actor], Actor]:
    def require(actor: ActorDep) -> Actor:
        actor.require(scope)
        return actor

    require.__name__ = f"require_{scope.value}"
    return require


def client_within_limit(request: Request) -> None:
    """Public routes: each client address within its rate limit. Raises `RateLimitedError`."""
    limiter: RateLimiter = request.app.state.client_limiter
    limiter.take(request.client.host if request.client else "unknown", "this address")


IssuerDep = Annotated[Actor, Depends(_scoped(Scope.ISSUE))]
RevokerDep = Annotated[Actor, Depends(_scoped(Scope.REVOKE))]
AuditorDep = Annotated[Actor, Depends(_scoped(Scope.AUDIT))]
AdminDep = Annotated[Actor, Depends(_scoped(Scope.ADMIN))]
MonitorDep = Annotated[Actor, Depends(_scoped(Scope.MONITOR))]
PublicLimit = Depends(client_within_limit)
