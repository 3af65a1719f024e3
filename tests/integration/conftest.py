"""A Sijill installation per test: a fresh registry on the session's Anvil and a fresh store."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url
from web3 import Web3

from api.app import create_app
from ledger.chain.artifacts import ContractArtifact
from ledger.chain.deployment import DeploymentRecord, deploy_governed_registry
from ledger.settings import DEV_ADMIN_PRIVATE_KEY, DEV_COUNCIL_KEYS, Settings
from ledger.usecases.agencies import RegisteredAgency, add_issuer_key, register_agency
from ledger.usecases.context import Ledger
from tests.conftest import postgres_required, postgres_url
from tests.nodes import ChainNode

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def example(name: str) -> dict[str, Any]:
    """An issue request from `examples/`."""
    loaded: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return loaded


def example_type(name: str) -> dict[str, Any]:
    """A year-two document type's definition from examples/types/."""
    return dict(json.loads((EXAMPLES / "types" / f"{name}.json").read_text(encoding="utf-8")))


def licence(number: str) -> dict[str, Any]:
    """The example licence under another number (same expiry, so licences share a batch)."""
    request = example("commercial-licence")
    request["fields"]["licenceNumber"] = number
    return request


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The PostgreSQL admin URL; skips where none runs, except in CI where it must."""
    url = postgres_url()
    try:
        with psycopg.connect(_libpq(url), connect_timeout=3):
            pass
    except psycopg.OperationalError as error:
        if postgres_required():
            raise
        pytest.skip(f"PostgreSQL is not reachable at {url}: {error}")
    return url


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def postgres_database(postgres_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"sijill_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(postgres_server), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_libpq(postgres_server), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def deploy_with_council(
    web3: Web3, chain_node: ChainNode, artifact: ContractArtifact, *, delay: int = 0
) -> DeploymentRecord:
    """A registry governed by a development council (2 of Anvil's accounts 6-8, `delay` seconds),
    deployed by Anvil's first account, which is a guardian: as `sijill up` deploys it."""
    members = [Account.from_key(key) for key in DEV_COUNCIL_KEYS]
    return deploy_governed_registry(
        web3,
        artifact,
        Account.from_key(DEV_ADMIN_PRIVATE_KEY),
        members=[member.address for member in members],
        threshold=2,
        delay=delay,
        member_signers=members,
        rpc_url=chain_node.url,
        admin_transfer_delay=3600,
        receipt_timeout=10,
    )


@pytest.fixture
def deployment(web3: Web3, chain_node: ChainNode, artifact: ContractArtifact) -> DeploymentRecord:
    """A fresh registry for this test, governed by a development council without delay."""
    return deploy_with_council(web3, chain_node, artifact)


def make_settings(tmp_path: Path, chain_node: ChainNode, deployment: DeploymentRecord, database_url: str) -> Settings:
    """Settings for one installation on the session's chain."""
    deployment.save(tmp_path / "deployment.json")
    return Settings(
        data_dir=tmp_path,
        rpc_url=chain_node.url,
        database_url=database_url,
        seed_demo=False,
        admin_transfer_delay_seconds=3600,
        council_delay_seconds=0,
        receipt_timeout_seconds=10,
        rpc_timeout_seconds=5,
    )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store-backed test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'sijill.db'}"
    url: str = request.getfixturevalue("postgres_database")
    return url


@pytest.fixture
def settings(tmp_path: Path, chain_node: ChainNode, deployment: DeploymentRecord) -> Settings:
    """Settings on SQLite (most integration tests)."""
    return make_settings(tmp_path, chain_node, deployment, f"sqlite:///{tmp_path / 'sijill.db'}")


@pytest.fixture
def ledger(settings: Settings) -> Iterator[Ledger]:
    """The installation's use-case context."""
    context = Ledger(settings)
    yield context
    context.close()


@pytest.fixture
def moci(ledger: Ledger) -> RegisteredAgency:
    """The Ministry of Commerce, registered with an issuer key."""
    registered = register_agency(ledger, "moci", "Ministry of Commerce and Industry", "وزارة التجارة والصناعة")
    add_issuer_key(ledger, "moci")
    return registered


@pytest.fixture
def client(ledger: Ledger) -> Iterator[TestClient]:
    """The API over the installation."""
    with TestClient(create_app(ledger=ledger), raise_server_exceptions=False) as test_client:
        yield test_client


def auth(token: str) -> dict[str, str]:
    """A bearer header."""
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The CLI reads its settings from the environment, like the service."""
    monkeypatch.setenv("SIJILL_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SIJILL_RPC_URL", settings.rpc_url)
    monkeypatch.setenv("SIJILL_DATABASE_URL", settings.database)
    monkeypatch.setenv("SIJILL_SEED_DEMO", "false")
    monkeypatch.setenv("SIJILL_ADMIN_TRANSFER_DELAY_SECONDS", "3600")
    return settings
