"""Session fixtures: one real chain node for the whole run, fresh registries per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from ledger.chain.artifacts import ContractArtifact
from ledger.chain.deployment import DeploymentRecord, deploy_registry
from ledger.chain.rpc import connect
from tests.nodes import ChainNode, start_node

ROOT = Path(__file__).resolve().parents[1]

# Anvil's well-known development accounts (mnemonic "test test ... junk").
DEV_KEYS = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
]


def chain_node_for(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[ChainNode]:
    """A node of the session's kind (`tests.nodes`) on a free port of 127.0.0.1, logging into a
    temporary folder named `name`."""
    node = start_node(tmp_path_factory.mktemp(name))
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="session")
def chain_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainNode]:
    """One chain node for the session (Anvil, or Hardhat's node under SIJILL_TEST_NODE=hardhat)."""
    yield from chain_node_for(tmp_path_factory, "chain")


@pytest.fixture(scope="session")
def web3(chain_node: ChainNode) -> Web3:
    """A lean client of the session's chain."""
    return connect(chain_node.url)


@pytest.fixture(scope="session")
def artifact() -> ContractArtifact:
    """The compiled registry."""
    return ContractArtifact.load()


@pytest.fixture(scope="session")
def accounts() -> list[LocalAccount]:
    """Funded development accounts: 0 is the council, 9 a guardian, the others admins, keys or strangers."""
    return [Account.from_key(key) for key in DEV_KEYS]


@pytest.fixture
def admin(accounts: list[LocalAccount]) -> LocalAccount:
    """The council (the registry's default admin), one key standing in for it in contract tests."""
    return accounts[0]


@pytest.fixture
def guardian(accounts: list[LocalAccount]) -> LocalAccount:
    """The registry's guardian: it may pause."""
    return accounts[9]


@pytest.fixture
def deployment(
    web3: Web3, chain_node: ChainNode, artifact: ContractArtifact, admin: LocalAccount, guardian: LocalAccount
) -> DeploymentRecord:
    """A fresh registry for this test: `admin` is its council, and a guardian with `guardian`."""
    return deploy_registry(
        web3,
        artifact,
        admin,
        rpc_url=chain_node.url,
        admin_transfer_delay=3600,
        guardians=[admin.address, guardian.address],
    )


def postgres_url() -> str:
    """The PostgreSQL server the project's machines run (trust auth)."""
    return os.environ.get("SIJILL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def postgres_required() -> bool:
    """In CI (and when asked) a missing PostgreSQL fails the run instead of skipping."""
    return os.environ.get("SIJILL_REQUIRE_POSTGRES") == "1" or os.environ.get("CI") == "true"
