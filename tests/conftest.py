"""Session fixtures: one real Anvil chain for the whole run, fresh registries per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from ledger.chain.anvil import AnvilProcess, free_port
from ledger.chain.artifacts import ContractArtifact
from ledger.chain.deployment import DeploymentRecord, deploy_registry
from ledger.chain.rpc import connect

ROOT = Path(__file__).resolve().parents[1]

# Anvil's well-known development accounts (mnemonic "test test ... junk").
DEV_KEYS = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
]


@pytest.fixture(scope="session")
def anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnvilProcess]:
    """One Anvil node for the session, on a free port of 127.0.0.1."""
    log = tmp_path_factory.mktemp("anvil") / "anvil.log"
    with AnvilProcess(port=free_port(), log_file=log) as node:
        yield node


@pytest.fixture(scope="session")
def web3(anvil: AnvilProcess) -> Web3:
    """A lean client of the session's chain."""
    return connect(anvil.url)


@pytest.fixture(scope="session")
def artifact() -> ContractArtifact:
    """The compiled registry."""
    return ContractArtifact.load()


@pytest.fixture(scope="session")
def accounts() -> list[LocalAccount]:
    """Funded development accounts: 0 is the admin, the others issuer keys or strangers."""
    return [Account.from_key(key) for key in DEV_KEYS]


@pytest.fixture
def admin(accounts: list[LocalAccount]) -> LocalAccount:
    """The governance admin."""
    return accounts[0]


@pytest.fixture
def deployment(web3: Web3, anvil: AnvilProcess, artifact: ContractArtifact, admin: LocalAccount) -> DeploymentRecord:
    """A fresh registry for this test."""
    return deploy_registry(web3, artifact, admin, rpc_url=anvil.url, admin_transfer_delay=3600)


def postgres_url() -> str:
    """The PostgreSQL server the project's machines run (trust auth)."""
    return os.environ.get("SIJILL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def postgres_required() -> bool:
    """In CI (and when asked) a missing PostgreSQL fails the run instead of skipping."""
    return os.environ.get("SIJILL_REQUIRE_POSTGRES") == "1" or os.environ.get("CI") == "true"
