"""Dependencies of the routes, as `Annotated` aliases."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ledger.errors import AuthenticationError, PermissionDeniedError
from ledger.usecases.actors import ADMIN, Actor
from ledger.usecases.context import Ledger

_bearer = HTTPBearer(auto_error=False, description="An agency's API token, or the admin token")


def get_ledger(request: Request) -> Ledger:
    """The `Ledger` the app was created with."""
    ledger: Ledger = request.app.state.ledger
    return ledger


LedgerDep = Annotated[Ledger, Depends(get_ledger)]


def get_actor(
    ledger: LedgerDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Actor:
    """The caller behind the bearer token. Raises `AuthenticationError`."""
    if credentials is None or not credentials.credentials:
        raise AuthenticationError("send your API token as 'Authorization: Bearer <token>'")
    token = credentials.credentials
    if hmac.compare_digest(token.encode(), ledger.settings.admin_token.get_secret_value().encode()):
        return ADMIN
    agency_id = ledger.store.agency_for_token(token)
    if agency_id is None:
        raise AuthenticationError("the API token is not valid")
    return Actor(agency_id=agency_id)


ActorDep = Annotated[Actor, Depends(get_actor)]


def get_agency_actor(actor: ActorDep) -> Actor:
    """The caller, who must be an agency. Raises `PermissionDeniedError` for the admin."""
    if actor.is_admin:
        raise PermissionDeniedError("documents are issued with an agency's token, not the admin token")
    return actor


def get_admin_actor(actor: ActorDep) -> Actor:
    """The caller, who must be the admin. Raises `PermissionDeniedError` for an agency."""
    if not actor.is_admin:
        raise PermissionDeniedError("this route needs the admin token")
    return actor


AgencyDep = Annotated[Actor, Depends(get_agency_actor)]
AdminDep = Annotated[Actor, Depends(get_admin_actor)]
