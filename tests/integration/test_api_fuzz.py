"""Schemathesis against the service's own OpenAPI document, every operation, on a real chain.

Valid and invalid inputs are generated from the schema; every answer must be documented
(status, content type, body schema), and none may be a 5xx. Admin operations are called
with the admin token, a relying party's (`/v1/presentations`) with its key, the rest with an
agency's, so the calls reach past authentication.
Pausing the registry is left out: it would only turn the other operations into 503s.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.generation.case import Case
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.testclient import TestClient

from api.app import create_app
from ledger.settings import DEV_ADMIN_TOKEN
from ledger.usecases.agencies import RegisteredAgency
from ledger.usecases.context import Ledger
from ledger.usecases.relying_parties import register_relying_party
from tests.profile import scaled

LEFT_OUT = {"/v1/admin/pause", "/v1/admin/unpause"}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def service(ledger: Ledger, moci: RegisteredAgency) -> Iterator[tuple[FastAPI, dict[str, str]]]:
    """The service with a registered agency and relying party; its lifespan (the pipeline worker) running."""
    app = create_app(ledger=ledger)
    party = register_relying_party(ledger, party_id="fuzz-bank", name="Fuzz Bank", name_ar="بنك", redirect_uris=[])
    tokens = {"/v1/admin/": DEV_ADMIN_TOKEN, "/v1/presentations": party.key.token, "/": moci.token}
    with TestClient(app):
        yield app, tokens


OPERATION_SETTINGS = settings(
    max_examples=scaled(25, 100), deadline=None, suppress_health_check=list(HealthCheck), database=None
)


def _fuzz(operation: APIOperation, mode: GenerationMode, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @OPERATION_SETTINGS
    def call(case: Case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    call()


def test_no_operation_answers_5xx_or_off_schema(service: tuple[FastAPI, dict[str, str]]) -> None:
    app, tokens = service
    api = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) > 30
    for operation in operations:
        if operation.path in LEFT_OUT:
            continue
        secret = next(token for prefix, token in tokens.items() if operation.path.startswith(prefix))
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(operation, mode, {"Authorization": f"Bearer {secret}"})
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, f"{operation.path}: no valid input can be generated"
                continue  # nothing of this operation's input can be made invalid (a bare GET)
            except Exception as error:
                failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): {error}")
    assert not failures, "\n\n".join(failures)
