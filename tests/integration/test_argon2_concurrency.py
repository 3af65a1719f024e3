"""At most two Argon2 checks run at once in a service process, however many logins arrive together."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from api.app import create_app
from ledger.api_keys import TokenHasher
from ledger.usecases.actors import Scope
from ledger.usecases.api_keys import create_api_key
from ledger.usecases.context import Ledger
from tests.integration.conftest import auth

LIMIT = 2  # the README's "at most two Argon2 checks run at once"
LOGINS = 6
WINDOW = 1.0  # how long the first checks stay in, giving a check beyond the limit time to start


class CountingHasher(PasswordHasher):
    """Argon2id at a test-sized cost, counting the checks that run at the same time.

    The first checks are held inside `verify` until one more than the limit has joined them
    (then the limit is broken and the count shows it) or for `WINDOW`, while the other logins
    wait at the service's gate; after that, checks run through.
    """

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.running = 0
        self.most = 0
        self.checks = 0
        self._holding = True
        self._changed = threading.Condition()

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        with self._changed:
            self.running += 1
            self.checks += 1
            self.most = max(self.most, self.running)
            self._changed.notify_all()
            if self._holding:
                self._changed.wait_for(lambda: self.running > LIMIT, timeout=WINDOW)
                self._holding = False
        try:
            return super().verify(hash, password)
        finally:
            with self._changed:
                self.running -= 1


def test_at_most_two_argon2_checks_run_at_once_however_many_logins_arrive(ledger: Ledger) -> None:
    """Six logins with wrong secrets for a real key (a wrong token is never remembered, so each
    costs a check) arrive together: every one is checked and refused with 401, and the most
    checks ever running together is exactly two (two shows the logins did overlap)."""
    hasher = CountingHasher()
    ledger.token_hasher = TokenHasher(hasher)  # the process's hasher, as the service builds it, counted
    key = create_api_key(ledger, agency_id=None, scopes={Scope.AUDIT}, label="auditor").key
    wrong = [f"sjl_{key.id}_wrong-secret-{n}" for n in range(LOGINS)]
    start = threading.Barrier(LOGINS)

    with TestClient(create_app(ledger=ledger), raise_server_exceptions=False) as client:

        def login(token: str) -> int:
            start.wait(timeout=10)
            status: int = client.get("/v1/access-log", headers=auth(token)).status_code
            return status

        with ThreadPoolExecutor(max_workers=LOGINS) as pool:
            answers = list(pool.map(login, wrong, timeout=30))

    assert answers == [401] * LOGINS, answers
    assert hasher.checks == LOGINS, f"{hasher.checks} Argon2 checks for {LOGINS} wrong tokens"
    assert hasher.most == LIMIT, f"at most {LIMIT} Argon2 checks should run at once; {hasher.most} ran together"
