"""`RegistryClient`: every read of the registry contract, and the calldata of the calls sent to it.

Verification's hot path (`inspect_latest`: the block number and `inspect` in one batch) goes
through `JsonRpcClient`, a keep-alive JSON-RPC client encoding calls without web3's contract
layer; other reads go through one lean `Web3` (no middleware: each default layer costs
milliseconds a call). Nothing is sent from here: every transaction (anchors, status changes,
governance, key changes) is recorded in the outbox with a nonce the database allocates, and
broadcast from there (`ledger.usecases.anchoring`, `ledger.usecases.sending`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar, cast

from eth_abi.abi import decode
from eth_abi.exceptions import DecodingError
from eth_typing import ABIEvent
from eth_utils.abi import event_abi_to_log_topic, function_signature_to_4byte_selector
from eth_utils.address import to_checksum_address
from web3 import Web3
from web3.contract.contract import Contract
from web3.types import BlockIdentifier

from ledger.chain.council import CouncilClient
from ledger.chain.errors import ErrorDecoder
from ledger.chain.events import EventReader
from ledger.chain.inspect import INSPECT_LAYOUT, anchor_view, bytes32, decode_inspect_words
from ledger.chain.layout import MAX_PROVEN_STRING
from ledger.chain.nodes import NodePool
from ledger.chain.rpc import translate_errors
from ledger.chain.transactions import TransactionClient
from ledger.documents.definitions import type_id_to_bytes32
from ledger.domain import (
    Address,
    AnchorView,
    ChainStatus,
    CredentialKeyInfo,
    HexHash,
    IssuerKeyInfo,
    TypeRegistration,
    agency_id_from_bytes32,
    agency_id_to_bytes32,
)
from ledger.errors import (
    DeploymentError,
    NodeAnswerError,
)

T = TypeVar("T")


KNOWN_REVOCATION_SCANS = 10_000  # documents whose Revoked events are remembered, with the block read up to


class RegistryClient:
    """Reads one deployed registry, and encodes the calls sent to it."""

    def __init__(
        self,
        *,
        web3: Web3,
        address: str,
        abi: list[dict[str, Any]],
        chain_id: int,
        rpc_url: str,
        rpc_timeout: float = 10.0,
        nodes: NodePool | None = None,
        free_gas: bool = False,
        deployed_block: int = 0,
    ) -> None:
        """`deployed_block`: where the registry's event log begins (0: unknown, from the chain's start)."""
        self._web3 = web3
        self._deployed_block = deployed_block
        self._revocations_seen: dict[str, tuple[int, list[tuple[str, int]]]] = {}  # target -> (up to block, logs)
        self._contract: Contract = web3.eth.contract(address=to_checksum_address(address), abi=abi)
        self._decoder = ErrorDecoder(abi)
        self._abi_items = abi
        self._rpc_url = rpc_url
        self.chain_id = chain_id
        self.address = Address(to_checksum_address(address))
        self._agency_names: dict[str, str | None] = {}
        self._type_versions: dict[tuple[str, int], TypeRegistration] = {}
        anchored = next(item for item in abi if item.get("type") == "event" and item["name"] == "Anchored")
        self._anchored_topic = "0x" + event_abi_to_log_topic(cast(ABIEvent, anchored)).hex()
        revoked = next(item for item in abi if item.get("type") == "event" and item["name"] == "Revoked")
        self._revoked_topic = "0x" + event_abi_to_log_topic(cast(ABIEvent, revoked)).hex()
        inspect_abi = next(item for item in abi if item.get("type") == "function" and item["name"] == "inspect")
        self._inspect_selector = function_signature_to_4byte_selector("inspect(bytes32,bytes32)")
        self._is_issued_selector = function_signature_to_4byte_selector("isIssued(bytes32)")
        self._is_revoked_selector = function_signature_to_4byte_selector("isRevoked(bytes32)")
        self._inspect_output = "(" + ",".join(field["type"] for field in inspect_abi["outputs"][0]["components"]) + ")"
        self._anchor_tx_cache: dict[tuple[str, int], str] = {}
        # Every endpoint of the chain (one unless given): the hot path's reads fail over between them.
        self.nodes = nodes or NodePool([rpc_url], timeout=rpc_timeout)
        self._hot = self.nodes
        self.transactions = TransactionClient(
            web3=web3, chain_id=chain_id, rpc_url=rpc_url, decoder=self._decoder, free_gas=free_gas
        )

    # --- reads ------------------------------------------------------------------

    def _read(self, call: Callable[[], T]) -> T:
        with translate_errors(self._rpc_url, self._decoder):
            return call()

    def chain_time(self) -> int:
        """The time the next block will carry: the pending block's timestamp (the latest where
        the node serves no pending block), never before the latest block's (a node mining many
        blocks a second, as Anvil does, stamps them ahead of the clock). Key windows and the
        council's delay are judged by this clock, not the host's."""

        def read() -> int:
            # Both blocks in one round trip of the lean client: accepting documents reads this clock.
            latest, pending = self._hot.call(
                [("eth_getBlockByNumber", ["latest", False]), ("eth_getBlockByNumber", ["pending", False])]
            )
            if "error" in latest or not latest.get("result"):
                raise NodeAnswerError(f"the chain node did not give its latest block: {latest}")
            now = int(latest["result"]["timestamp"], 16)
            block = pending.get("result")
            if "error" in pending or not isinstance(block, dict) or "timestamp" not in block:
                return now  # a node that serves no pending block
            return max(now, int(block["timestamp"], 16))

        return self._read(read)

    def block_number(self) -> int:
        """The latest block number."""
        return self._read(lambda: int(self._web3.eth.block_number))

    def inspect(self, target_hash: str, root: str, *, block: BlockIdentifier = "latest") -> AnchorView:
        """The registry's whole record of `target_hash` in batch `root`, in one call."""
        raw = self._read(
            lambda: self._contract.functions.inspect(bytes32(target_hash), bytes32(root)).call(block_identifier=block)
        )
        return anchor_view(raw)

    def inspect_latest(self, target_hash: str, root: str) -> tuple[int, AnchorView]:
        """The latest block number and `inspect` at that block, in one JSON-RPC round trip.

        The hot path of verification: a raw batch request, encoded and decoded here
        rather than through web3's contract layer, which costs several milliseconds a call.
        """
        data = "0x" + (self._inspect_selector + bytes32(target_hash) + bytes32(root)).hex()

        def read() -> tuple[int, AnchorView]:
            responses = self._hot.call(
                [("eth_blockNumber", []), ("eth_call", [{"to": self.address, "data": data}, "latest"])]
            )
            if any("error" in response for response in responses):
                raise NodeAnswerError(f"the chain node refused the registry read: {responses}")
            block = int(responses[0]["result"], 16)
            result = bytes.fromhex(responses[1]["result"][2:])
            if not result:
                raise DeploymentError(
                    f"no registry answers at {self.address}: the chain was reset or the deployment record is wrong"
                )
            return block, self.decode_inspect(result)

        return self._read(read)

    def is_paused(self) -> bool:
        """Whether a guardian paused the registry."""
        return bool(self._read(lambda: self._contract.functions.paused().call()))

    def agency_name(self, agency_id: str) -> str | None:
        """The on-chain name of an agency, None when unregistered. Names never change, so they are cached."""
        if agency_id in self._agency_names:
            return self._agency_names[agency_id]
        status, name, _admin, _keys = self._read(
            lambda: self._contract.functions.agency(agency_id_to_bytes32(agency_id)).call()
        )
        result = str(name) if status else None
        if status:
            self._agency_names[agency_id] = result
        return result

    def agency_admin(self, agency_id: str) -> str | None:
        """The address that manages an agency's issuer keys, None when the agency is unregistered."""
        status, _name, admin, _keys = self._read(
            lambda: self._contract.functions.agency(agency_id_to_bytes32(agency_id)).call()
        )
        return str(admin) if status else None

    def issuer_key(self, key: str) -> IssuerKeyInfo:
        """The agency and validity window of an issuer key (agency None when unknown)."""
        agency, valid_from, valid_until = self._read(
            lambda: self._contract.functions.issuerKey(to_checksum_address(key)).call()
        )
        return IssuerKeyInfo(
            address=Address(to_checksum_address(key)),
            agency_id=agency_id_from_bytes32(agency) if any(agency) else None,
            valid_from=valid_from,
            valid_until=valid_until,
        )

    def credential_key(self, key_id: HexHash) -> CredentialKeyInfo:
        """The agency and validity window of a credential key, by the keccak256 of its public key."""
        agency, valid_from, valid_until = self._read(
            lambda: self._contract.functions.credentialKey(bytes32(key_id)).call()
        )
        return CredentialKeyInfo(
            key_id=key_id,
            agency_id=agency_id_from_bytes32(agency) if any(agency) else None,
            valid_from=valid_from,
            valid_until=valid_until,
        )

    def document_type(self, type_id: str, version: int) -> TypeRegistration:
        """Version `version` of type `type_id` as registered (`definition_hash` None when it never was).
        A registered version never changes, so it is remembered."""
        known = self._type_versions.get((type_id, version))
        if known is not None:
            return known
        agency, definition, registered_at, versions = self._read(
            lambda: self._contract.functions.documentType(type_id_to_bytes32(type_id), version).call()
        )
        registration = decode_type_registration(type_id, version, agency, definition, registered_at, versions)
        if registration.registered:
            self._type_versions[(type_id, version)] = registration
        return registration

    def anchor_transaction(self, root: str, block: int) -> str | None:
        """The hash of the transaction that anchored `root` in `block`, from its event.

        Cached per (root, block): an anchor is written once, so the same root in the
        same block is the same transaction; a reorg that moves it changes the block.
        """
        cached = self._anchor_tx_cache.get((root, block))
        if cached is not None:
            return cached
        logs = self._read(
            lambda: self._web3.eth.get_logs(
                {
                    "address": to_checksum_address(self.address),
                    "fromBlock": block,
                    "toBlock": block,
                    "topics": [self._anchored_topic, "0x" + root.removeprefix("0x")],
                }
            )
        )
        if not logs:
            return None
        tx_hash = "0x" + bytes(logs[0]["transactionHash"]).hex()
        self._anchor_tx_cache[(root, block)] = tx_hash
        return tx_hash

    def with_own_revocation(self, target_hash: str, view: AnchorView) -> AnchorView:
        """`view`, with the anchoring agency's own revocation of the document restored when another
        agency's record has taken its place.

        The registry keeps one record per document. An agency that anchored the same hash
        later, and can show an earlier claim than the one the record holds, may take the
        record over (its own suspensions and reinstatements), which hides a revocation the
        first agency made. Revocation is final, so the Revoked events settle it: any revocation
        of `target_hash` made through a batch of `view`'s agency counts. Read only in that case.
        """
        if view.document_agency_id is None or view.document_agency_id == view.agency_id or view.agency_id is None:
            return view
        for root, reason in self._revocations_of(target_hash):
            if self.inspect(target_hash, root).agency_id == view.agency_id:
                return replace(
                    view,
                    document_status=ChainStatus.REVOKED,
                    document_reason=reason,
                    document_agency_id=view.agency_id,
                )
        return view

    def _revocations_of(self, target_hash: str) -> list[tuple[str, int]]:
        """Every `Revoked` event of `target_hash` (the root it went through, the reason), read from the
        registry's deployment on in pages a capped node answers (Besu: 5,000 blocks); remembered with the
        block read up to, so the next look reads only the blocks since (a revocation is final).

        Raises `NodeAnswerError` for a malformed event, and `ChainUnavailableError`.
        """
        reader = self.events(self._abi_items)
        known_to, found = self._revocations_seen.get(target_hash, (self._deployed_block - 1, []))
        head = reader.head()
        if head <= known_to:
            return found
        topic = "0x" + target_hash.removeprefix("0x").lower()
        found = list(found)
        for log in reader.raw_logs(known_to + 1, head, ("Revoked",), first_topic=topic):
            try:
                data = bytes.fromhex(str(log["data"]).removeprefix("0x"))
            except (KeyError, ValueError, TypeError) as error:
                raise NodeAnswerError(f"the chain node returned a malformed Revoked event for {target_hash}") from error
            if len(data) != 96:
                raise NodeAnswerError(f"the chain node returned a malformed Revoked event for {target_hash}")
            found.append((data[:32].hex(), int.from_bytes(data[32:64], "big")))
        if len(self._revocations_seen) >= KNOWN_REVOCATION_SCANS:
            self._revocations_seen.pop(next(iter(self._revocations_seen)))
        self._revocations_seen[target_hash] = (head, found)
        return found

    def balance(self, address: str) -> int:
        """The balance of `address` in wei."""
        return self._read(lambda: int(self._web3.eth.get_balance(to_checksum_address(address))))

    def events(self, abi: list[dict[str, Any]]) -> EventReader:
        """A reader of this registry's event log, on the same connection."""
        return EventReader(web3=self._web3, address=self.address, abi=abi, rpc_url=self._rpc_url)

    def events_of(self, address: str, abi: list[dict[str, Any]]) -> EventReader:
        """A reader of another contract's event log (the council's), on the same connection."""
        return EventReader(web3=self._web3, address=to_checksum_address(address), abi=abi, rpc_url=self._rpc_url)

    def block_time(self, block: int) -> int:
        """The timestamp of block `block`."""
        return self._read(lambda: int(self._web3.eth.get_block(block)["timestamp"]))

    def inspect_call(self, target_hash: str, root: str) -> str:
        """The calldata of `inspect(target_hash, root)`, for batched reads."""
        return "0x" + (self._inspect_selector + bytes32(target_hash) + bytes32(root)).hex()

    def type_call(self, type_id: str, version: int) -> str:
        """The calldata of `documentType(typeId, version)`, for a quorum's reads."""
        return "0x" + self._encode("documentType", type_id_to_bytes32(type_id), version).hex()

    def decode_type(self, type_id: str, version: int, result: bytes) -> TypeRegistration:
        """`documentType`'s raw answer. Raises `DeploymentError` when it is not one."""
        try:
            agency, definition, registered_at, versions = decode(["bytes32", "bytes32", "uint40", "uint32"], result)
        except DecodingError as error:
            raise DeploymentError(f"the node's documentType answer is not one: {error}") from None
        return decode_type_registration(type_id, version, agency, definition, registered_at, versions)

    def agency_call(self, agency_id: str) -> str:
        """The calldata of `agency(agencyId)`, for a quorum's reads."""
        return str(self._contract.encode_abi("agency", [agency_id_to_bytes32(agency_id)]))

    def decode_agency_name(self, result: bytes) -> str | None:
        """The name in an `agency(agencyId)` answer's raw bytes; None for an unregistered agency.

        Raises `DeploymentError` when they are not a Sijill registry's answer.
        """
        try:  # the name as bytes: the contract takes any, and shows what is not UTF-8 as U+FFFD
            status, name, _admin, _keys = decode(["uint8", "bytes", "address", "uint256"], result)
        except (DecodingError, ValueError) as error:
            raise DeploymentError(f"the contract at {self.address} is not a Sijill registry ({error})") from error
        if not status:
            return None
        shown = bytes(name)[:MAX_PROVEN_STRING].decode("utf-8", "replace")
        return shown + "…" if len(name) > MAX_PROVEN_STRING else shown

    def open_attestation_calls(self, hash_hex: str) -> tuple[str, str]:
        """The calldata of OpenAttestation's `isIssued(hash)` and `isRevoked(hash)`, for batched reads."""
        word = bytes32(hash_hex)
        return "0x" + (self._is_issued_selector + word).hex(), "0x" + (self._is_revoked_selector + word).hex()

    def decode_inspect(self, result: bytes) -> AnchorView:
        """An `inspect` result's raw bytes, decoded (word by word: every field is a static type).

        Raises `DeploymentError` when they are not a Sijill registry's answer.
        """
        try:
            if self._inspect_output != INSPECT_LAYOUT:  # another ABI than this decoder knows: the slow, general way
                (raw,) = decode([self._inspect_output], result)
                return anchor_view(raw)
            return decode_inspect_words(result)
        except (DecodingError, ValueError) as error:
            raise DeploymentError(f"the contract at {self.address} is not a Sijill registry ({error})") from error

    # --- calls to send ----------------------------------------------------------
    # The calldata of each registry function the service sends. Nothing is sent from here:
    # every transaction goes through the outbox (`ledger.usecases.sending`, `ledger.usecases.anchoring`).

    def _encode(self, function: str, *args: Any) -> bytes:
        return bytes.fromhex(self._contract.encode_abi(function, args=args)[2:])

    def register_agency_call(self, agency_id: str, name: str, admin: str) -> bytes:
        """`registerAgency`: admit an agency whose `admin` manages its issuer keys (the council)."""
        return self._encode("registerAgency", agency_id_to_bytes32(agency_id), name, to_checksum_address(admin))

    def add_issuer_key_call(self, agency_id: str, key: str, valid_from: int = 0, valid_until: int = 0) -> bytes:
        """`addIssuerKey`: authorize `key` for `agency_id` (the agency's admin); 0 means now / no end."""
        return self._encode(
            "addIssuerKey", agency_id_to_bytes32(agency_id), to_checksum_address(key), valid_from, valid_until
        )

    def set_valid_until_call(self, key: str, valid_until: int) -> bytes:
        """`setIssuerKeyValidUntil`: move the end of a key's window (the key's agency's admin)."""
        return self._encode("setIssuerKeyValidUntil", to_checksum_address(key), valid_until)

    def add_credential_key_call(
        self, agency_id: str, public_key: bytes, valid_from: int = 0, valid_until: int = 0
    ) -> bytes:
        """`addCredentialKey`: register a compressed P-256 key for `agency_id` (the agency's admin)."""
        return self._encode("addCredentialKey", agency_id_to_bytes32(agency_id), public_key, valid_from, valid_until)

    def set_credential_key_valid_until_call(self, key_id: HexHash, valid_until: int) -> bytes:
        """`setCredentialKeyValidUntil`: move the end of a credential key's window (its agency's admin)."""
        return self._encode("setCredentialKeyValidUntil", bytes32(key_id), valid_until)

    def register_type_call(self, type_id: str, version: int, owner: str | None, definition_hash: HexHash) -> bytes:
        """`registerDocumentType`: register a version of a type for `owner` (its admin), or shared (the council)."""
        agency = agency_id_to_bytes32(owner) if owner is not None else b"\0" * 32
        return self._encode(
            "registerDocumentType", type_id_to_bytes32(type_id), version, agency, bytes32(definition_hash)
        )

    def anchor_call(self, root: str, document_count: int, expires_at: int = 0) -> bytes:
        """`anchor`: anchor a batch root (an issuer key)."""
        return self._encode("anchor", bytes32(root), document_count, expires_at)

    def status_call(self, action: str, hash_hex: HexHash, proof: Sequence[str] | None, reason: int = 0) -> bytes:
        """`revoke`, `suspend` or `reinstate` (`action`) a whole batch (`proof` None) or one document of it."""
        if action not in ("revoke", "suspend", "reinstate"):
            raise ValueError(f"no status action '{action}'")
        tail = () if action == "reinstate" else (reason,)
        if proof is None:
            return self._encode(action, bytes32(hash_hex), *tail)
        return self._encode(f"{action}Document", bytes32(hash_hex), [bytes32(p) for p in proof], *tail)

    def emergency_revoke_call(self, hash_hex: HexHash, proof: Sequence[str], reason: int, note: str) -> bytes:
        """`emergencyRevoke`: a batch (empty `proof`) or one document of any agency, with `note` (the council)."""
        return self._encode("emergencyRevoke", bytes32(hash_hex), [bytes32(p) for p in proof], reason, note)

    def pause_call(self) -> bytes:
        """`pause`: stop every change (a guardian)."""
        return self._encode("pause")

    @property
    def decoder(self) -> ErrorDecoder:
        """Decodes the registry's custom errors."""
        return self._decoder

    def council(self, safe: str, timelock: str, timelock_abi: list[dict[str, Any]]) -> CouncilClient:
        """A client of the council's Safe and timelock, on this client's connection."""
        return CouncilClient(
            self._web3,
            safe=safe,
            timelock=timelock,
            rpc_url=self._rpc_url,
            decoder=ErrorDecoder([*self._abi_items, *timelock_abi]),
        )


def decode_type_registration(
    type_id: str, version: int, agency: bytes, definition: bytes, registered_at: int, versions: int
) -> TypeRegistration:
    """What `documentType` answered, as a `TypeRegistration`."""
    return TypeRegistration(
        type_id=type_id,
        version=version,
        owner=agency_id_from_bytes32(agency) if any(agency) else None,
        definition_hash=HexHash("0x" + bytes(definition).hex()) if any(definition) else None,
        registered_at=int(registered_at),
        versions=int(versions),
    )
