"""`Ledger`: the dependencies every use case needs, built once from `Settings`."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from ledger.api_keys import TokenHasher
from ledger.audit.status_lists import StatusReplay
from ledger.chain.artifacts import ContractArtifact
from ledger.chain.council import CouncilClient
from ledger.chain.deployment import DeploymentRecord, open_registry
from ledger.chain.nodes import NodePool
from ledger.chain.quorum import QuorumReader
from ledger.chain.registry import RegistryClient
from ledger.chain.signer import Signer
from ledger.documents.definitions import TypeDefinition, definition_from_dict, load_shared_schemas, shipped_definitions
from ledger.documents.types import DocumentTypeCatalog
from ledger.domain import Address, Network
from ledger.errors import ChainUnavailableError, ConfigurationError
from ledger.keys import KeyVault, account_from_private_key, read_key_file
from ledger.metrics import Metrics
from ledger.settings import Settings
from ledger.store.admins import AgencyAdmins
from ledger.store.credentials import Credentials
from ledger.store.document_types import DocumentTypes
from ledger.store.jobs import Jobs
from ledger.store.leases import Leases
from ledger.store.outbox import Outbox
from ledger.store.presentations import Presentations
from ledger.store.proposals import Proposals
from ledger.store.queue import Queue
from ledger.store.repository import Store
from ledger.vc.loader import ContextLoader

log = logging.getLogger(__name__)


CATALOG_CHECK_SECONDS = 2.0
"""How long a process trusts its catalog of document types before it asks the store whether one was added."""


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


class Ledger:
    """Settings and the parts built from them, each made on first use."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utc_now,
        deployment: DeploymentRecord | None = None,
    ) -> None:
        """`deployment` given: the registry to read, instead of the deployment file (a relying party's check)."""
        self.settings = settings
        self.clock = clock
        self._catalog: DocumentTypeCatalog | None = None
        self._catalog_marker: tuple[int, int] = (0, 0)
        self._catalog_checked = 0.0
        if deployment is not None:
            self.__dict__["deployment"] = deployment  # what the cached property would otherwise load

    @cached_property
    def artifact(self) -> ContractArtifact:
        """The compiled registry: from `SIJILL_ARTIFACTS_DIR`, else the copy packaged with Sijill."""
        return ContractArtifact.load(self.settings.artifacts_dir)

    @cached_property
    def deployment(self) -> DeploymentRecord:
        """The deployment record named by the settings."""
        record = DeploymentRecord.load(self.settings.deployment_path)
        expected = self.settings.expected_chain_id
        if expected is not None and record.chain_id != expected:
            raise ConfigurationError(
                f"the deployment record is for chain {record.chain_id}, the settings expect chain {expected}"
            )
        return record

    @cached_property
    def nodes(self) -> NodePool:
        """The chain's JSON-RPC endpoints (`SIJILL_RPC_URLS`, else `SIJILL_RPC_URL`): reads fail over."""
        return NodePool(self.settings.endpoints, timeout=self.settings.rpc_timeout_seconds, observer=self.metrics)

    @cached_property
    def metrics(self) -> Metrics:
        """What this process counts for `/metrics` (added up with the other service processes' values)."""
        return Metrics()

    @cached_property
    def registry(self) -> RegistryClient:
        """The registry client; the deployment is checked against the chain when it answers."""
        free_gas = self.settings.free_gas
        try:
            return open_registry(self.nodes, self.deployment, self.artifact, check=True, free_gas=free_gas)
        except ChainUnavailableError:
            log.warning("%s does not answer; continuing unchecked", self.nodes.describe())
            return open_registry(self.nodes, self.deployment, self.artifact, check=False, free_gas=free_gas)

    @cached_property
    def quorum(self) -> QuorumReader | None:
        """How verdicts read the registry when one node is not to be believed (`SIJILL_VERIFY_QUORUM` over
        1, or `SIJILL_VERIFY_PROOFS`); None: from the first endpoint that answers."""
        settings = self.settings
        if settings.verify_quorum == 1 and not settings.verify_proofs:
            return None
        registry = self.registry
        return QuorumReader(
            self.nodes,
            registry=registry.address,
            quorum=settings.verify_quorum,
            proofs=settings.verify_proofs,
            code_hash=self.artifact.code_hash,
            inspect_call=registry.inspect_call,
            decode=registry.decode_inspect,
            agency_call=registry.agency_call,
            decode_agency_name=registry.decode_agency_name,
            type_call=registry.type_call,
            decode_type=registry.decode_type,
        )

    @cached_property
    def network(self) -> Network:
        """The chain and registry this installation trusts."""
        return Network(chain_id=self.deployment.chain_id, registry=Address(self.registry.address))

    @cached_property
    def store(self) -> Store:
        """The off-chain store, migrated."""
        return Store.open(self.settings.database)

    @cached_property
    def queue(self) -> Queue:
        """Documents accepted and waiting for a batch, in the store's database."""
        return Queue(self.store)

    @cached_property
    def outbox(self) -> Outbox:
        """Batches, their signed anchor transactions and the keys' nonces, in the store's database."""
        return Outbox(self.store)

    @cached_property
    def council(self) -> CouncilClient | None:
        """The council's Safe and timelock, None when a plain key governs the registry."""
        record = self.deployment
        if not record.council_safe:
            return None
        timelock = ContractArtifact.load(self.settings.artifacts_dir, name="CouncilTimelock")
        return self.registry.council(record.council_safe, record.council_timelock, timelock.abi)

    @cached_property
    def council_signers(self) -> list[Signer]:
        """The council members' signers this service holds (development: all of them)."""
        return [account_from_private_key(key.get_secret_value()) for key in self.settings.council_member_keys]

    @cached_property
    def proposals(self) -> Proposals:
        """The council's proposals, in the store's database."""
        return Proposals(self.store)

    @cached_property
    def agency_admins(self) -> AgencyAdmins:
        """The agency admins' keys this installation holds, in the store's database."""
        return AgencyAdmins(self.store)

    @cached_property
    def contexts(self) -> ContextLoader:
        """The JSON-LD contexts credentials use, bundled: none is ever fetched."""
        return ContextLoader()

    @cached_property
    def status_replay(self) -> StatusReplay:
        """The registry's statuses as its events built them, kept for this process's status lists."""
        return StatusReplay()

    @cached_property
    def credentials(self) -> Credentials:
        """Agencies' credential keys and documents' signed credentials, in the store's database."""
        return Credentials(self.store)

    @cached_property
    def presentations(self) -> Presentations:
        """Relying parties and their presentation requests."""
        return Presentations(self.store)

    @cached_property
    def leases(self) -> Leases:
        """Which worker batches and sends for each agency, in the store's database."""
        return Leases(self.store)

    @cached_property
    def vault(self) -> KeyVault:
        """The vault that encrypts issuer keys at rest."""
        path = self.settings.key_encryption_key_file
        secret = read_key_file(path) if path is not None else self.settings.key_encryption_key.get_secret_value()
        return KeyVault(key_encryption_key=secret)

    @cached_property
    def token_hasher(self) -> TokenHasher:
        """Hashes and checks API tokens (Argon2id), remembering this process's recent matches."""
        return TokenHasher()

    @cached_property
    def admin(self) -> Signer:
        """The governance admin's signer."""
        return account_from_private_key(self.settings.admin_private_key.get_secret_value())

    @cached_property
    def jobs(self) -> Jobs:
        """The spreadsheet issuance jobs and their rows, in the store's database."""
        return Jobs(self.store)

    @cached_property
    def document_types(self) -> DocumentTypes:
        """The document types registered through this installation, in the store's database."""
        return DocumentTypes(self.store)

    @cached_property
    def shipped_types(self) -> tuple[dict[str, Any], list[TypeDefinition]]:
        """The shared schemas, and the types Sijill ships (every registry is born with them)."""
        shared = load_shared_schemas()
        return shared, shipped_definitions()

    @property
    def catalog(self) -> DocumentTypeCatalog:
        """The document types this installation issues: those Sijill ships and every version registered
        through it, read again when another process registered one (looked at once every 2 s at most)."""
        now = time.monotonic()
        held = self._catalog
        if held is not None and now - self._catalog_checked < CATALOG_CHECK_SECONDS:
            return held
        marker = self.document_types.marker()
        if held is None or marker != self._catalog_marker:
            shared, shipped = self.shipped_types
            rows = self.document_types.all(registered_only=True)
            held = DocumentTypeCatalog(
                definitions=[*shipped, *(definition_from_dict(row.definition) for row in rows)], shared=shared
            )
            self._catalog, self._catalog_marker = held, marker
        self._catalog_checked = now
        return held

    def reload_catalog(self) -> None:
        """Have the next use of `catalog` ask the store for new versions (one was registered here)."""
        self._catalog_checked = 0.0

    def now(self) -> int:
        """The current unix time from the clock."""
        return int(self.clock().timestamp())

    def close(self) -> None:
        """Release the store's connections."""
        if "store" in self.__dict__:
            self.store.close()
        if "nodes" in self.__dict__:
            self.nodes.close()
