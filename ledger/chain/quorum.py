"""The registry's `inspect`, read so that no single node decides: a quorum of endpoints, proofs, or a pin.

`QuorumReader.inspect` picks the highest block that `quorum` endpoints have reached, asks every
endpoint that has it for that block's header and `inspect`'s answer at it, all at once, and then:

- **plain quorum**: `quorum` endpoints must give the same block hash and the same answer;
- **proof mode**: `quorum` endpoints must give the same block hash, each header's hash recomputed
  from its fields (`ledger.chain.proofs`), and the answer must be borne out by `eth_getProof`
  against that header's state root: the registry's account (running the registry's code) and
  every storage slot `inspect` reads (`ledger.chain.layout`). An endpoint whose proof fails is
  noted and the next one's is tried; the verdict rests on the proven words, never on a claim;
- **pinned to a checkpoint**: the read is at the checkpoint's block, and a header must hash to
  the block hash the auditor signed (the quorum still applies to the endpoints that have it).

When no agreement holds, `LedgerNodesDisagreeError` carries each endpoint's answer: a verdict is
never made from it.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from ledger.chain.layout import (
    AGENCY_INDEXES_SLOT,
    ClaimedNames,
    LayoutMismatchError,
    agency_slots,
    inspect_slots,
    mapping_slot,
    proven_string,
    proven_view,
    string_data_slots,
    type_head,
    type_slots,
    with_document_agency,
)
from ledger.chain.nodes import NodePool
from ledger.chain.proofs import ProofError, header_from_json, proven_account, proven_slots
from ledger.documents.definitions import type_id_to_bytes32
from ledger.domain import AnchorView, HexHash, TypeRegistration, agency_id_to_bytes32
from ledger.errors import ChainUnavailableError, DeploymentError, LedgerNodesDisagreeError

T = TypeVar("T")

KNOWN_BLOCKS = 64  # agreed headers remembered
KNOWN_ROOTS = 20_000  # anchored roots whose agency and key are remembered (about 300 bytes each)


@dataclass(frozen=True, slots=True)
class PinnedBlock:
    """A block an auditor's signed checkpoint vouches for."""

    number: int
    hash: str


@dataclass(frozen=True, slots=True)
class LedgerRead:
    """An `inspect` answer and how it was established: where, by which endpoints, with which proofs."""

    view: AnchorView
    block_number: int
    block_hash: str
    state_root: str | None  # the proven header's, in proof mode
    agreed: tuple[str, ...]  # endpoints whose block hash (and, without proofs, answer) agreed
    proven_by: str | None  # the endpoint whose proofs bore the answer out
    quorum: int
    pinned: bool
    answers: tuple[dict[str, Any], ...]  # every endpoint's answer, for the evidence

    def evidence(self) -> dict[str, Any]:
        """The read as a verdict's evidence."""
        return {
            "block_number": self.block_number,
            "block_hash": self.block_hash,
            "state_root": self.state_root,
            "quorum": self.quorum,
            "agreed": list(self.agreed),
            "proof": self.proven_by is not None,
            "proven_by": self.proven_by,
            "pinned_to_checkpoint": self.pinned,
            "nodes": list(self.answers),
        }


@dataclass
class _Answer:
    url: str
    block_hash: str | None = None
    state_root: bytes | None = None
    result: bytes | None = None
    view: AnchorView | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        view = self.view
        return {
            "url": self.url,
            "block_hash": self.block_hash,
            "answer": None
            if view is None
            else {
                "batch_status": view.batch_status.name,
                "document_status": view.document_status.name,
                "agency_id": view.agency_id,
                "paused": view.paused,
            },
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class _Agreed:
    """A block header enough endpoints agree on."""

    number: int
    hash: str
    state_root: bytes
    agreed: tuple[str, ...]
    answers: tuple[_Answer, ...]
    needed: int


class QuorumReader:
    """Reads `inspect` of one registry through a pool's endpoints (see the module's rules)."""

    def __init__(
        self,
        nodes: NodePool,
        *,
        registry: str,
        quorum: int,
        proofs: bool,
        code_hash: bytes | None,
        inspect_call: Callable[[str, str], str],
        decode: Callable[[bytes], AnchorView],
        agency_call: Callable[[str], str],
        decode_agency_name: Callable[[bytes], str | None],
        type_call: Callable[[str, int], str],
        decode_type: Callable[[str, int, bytes], TypeRegistration],
    ) -> None:
        """`inspect_call`, `agency_call` and `type_call` give the calldata of `inspect(target, root)`,
        `agency(id)` and `documentType(id, version)`; `decode`, `decode_agency_name` and `decode_type` read
        their answers."""
        if quorum > len(nodes.urls):
            raise ValueError(f"a quorum of {quorum} needs as many endpoints; {len(nodes.urls)} are configured")
        self._nodes = nodes
        self._registry = registry
        self.quorum = quorum
        self.proofs = proofs
        self._code_hash = code_hash
        self._inspect_call = inspect_call
        self._decode = decode
        self._agency_call = agency_call
        self._decode_agency_name = decode_agency_name
        self._type_call = type_call
        self._decode_type = decode_type
        self._agency_names: dict[str, str | None] = {}  # an agency's name never changes once registered
        self._types: dict[tuple[str, int], TypeRegistration] = {}  # nor a registered version of a type
        self._lock = threading.Lock()
        self._blocks: dict[tuple[int, str | None], _Agreed] = {}
        self._storage_roots: dict[bytes, bytes] = {}  # state root -> the registry's storage root, proven
        self._names: dict[str, ClaimedNames] = {}  # anchored root -> its agency and key, proven

    def inspect(self, target_hash: str, root: str, *, pinned: PinnedBlock | None = None) -> LedgerRead:
        """`inspect(target_hash, root)` as the network, not one node, says it.

        Raises `ChainUnavailableError` when fewer than the quorum's endpoints answer, and
        `LedgerNodesDisagreeError` (with every endpoint's answer) when they do not agree or no
        answer is borne out by its proof.
        """
        number, candidates = self._height(pinned)
        if self.proofs or pinned is not None:
            return self._proven(target_hash, root, self._agreed_block(number, candidates, pinned), pinned)
        data = self._inspect_call(target_hash, root)
        block = hex(number)
        asked = self._nodes.ask_each(
            lambda _url: [
                ("eth_getBlockByNumber", [block, False]),
                ("eth_call", [{"to": self._registry, "data": data}, block]),
            ],
            candidates,
        )
        answers = [self._parse(url, reply, number) for url, reply in asked.items()]
        by_hash: dict[str, list[_Answer]] = defaultdict(list)
        for answer in answers:
            if answer.error is None and answer.block_hash is not None:
                by_hash[answer.block_hash].append(answer)
        groups: dict[tuple[str, bytes], list[_Answer]] = defaultdict(list)
        for block_hash, same in by_hash.items():
            for answer in same:
                if answer.result is not None and answer.view is not None:
                    groups[(block_hash, answer.result)].append(answer)
        best = max(groups.values(), key=len, default=[])
        if len(best) < self.quorum:
            raise self._disagree(number, answers, "the same block and the same answer")
        first = best[0]
        assert first.view is not None
        assert first.block_hash is not None
        return LedgerRead(
            view=first.view,
            block_number=number,
            block_hash=first.block_hash,
            state_root=None,
            agreed=tuple(answer.url for answer in best),
            proven_by=None,
            quorum=self.quorum,
            pinned=False,
            answers=tuple(answer.as_dict() for answer in answers),
        )

    def agency_name(self, agency_id: str, read: LedgerRead) -> str | None:
        """The registered name of `agency_id` (None: not registered) as the network says it, at `read`'s
        block: proven from storage in proof mode, else the same from `quorum` of the endpoints that
        agreed on `read`. A name never changes once registered, so it is remembered.

        Raises `LedgerNodesDisagreeError` when no endpoint's proof holds or too few agree, and
        `ChainUnavailableError` when the endpoints cannot be asked.
        """
        with self._lock:
            if agency_id in self._agency_names:
                return self._agency_names[agency_id]
        pinned = PinnedBlock(read.block_number, read.block_hash) if read.pinned else None
        if read.state_root is not None:
            block = self._agreed_block(read.block_number, read.agreed, pinned)
            name = self._proven_agency_name(agency_id, block)
        else:
            name = self._agreed_agency_name(agency_id, read)
        if name is not None:
            with self._lock:
                self._agency_names[agency_id] = name
        return name

    def _proven_agency_name(self, agency_id: str, block: _Agreed) -> str | None:
        raw_id = agency_id_to_bytes32(agency_id)
        answers = {answer.url: replace(answer) for answer in block.answers}
        for url in block.agreed:
            try:
                index_slot = mapping_slot(raw_id, AGENCY_INDEXES_SLOT)
                index = self._proven_words(url, [index_slot], block)[index_slot]
                if index == 0:
                    return None
                id_slot, name_slot = agency_slots(index)
                words = self._proven_words(url, [id_slot, name_slot], block)
                if words[id_slot] != int.from_bytes(raw_id, "big"):
                    raise LayoutMismatchError(f"agency #{index}'s record does not hold the id {agency_id}")
                data_slots = string_data_slots(name_slot, words[name_slot])
                if data_slots:
                    words.update(self._proven_words(url, data_slots, block))
                return proven_string(name_slot, words)
            except (ProofError, LayoutMismatchError) as error:
                answers[url].error = f"its proof does not bear out agency {agency_id}'s name: {error}"
                self._nodes.note_error(url, error)
        raise self._disagree(block.number, list(answers.values()), f"a proof of agency {agency_id}'s name")

    def _agreed_agency_name(self, agency_id: str, read: LedgerRead) -> str | None:
        return self._agreed(self._agency_call(agency_id), read, f"agency {agency_id}'s name", self._decode_agency_name)

    def document_type(self, type_id: str, version: int, read: LedgerRead) -> TypeRegistration:
        """Version `version` of type `type_id` as the network says it at `read`'s block: proven from storage
        in proof mode, else the same from `quorum` of the endpoints that agreed on `read`. A registered
        version never changes, so it is remembered.

        Raises `LedgerNodesDisagreeError` when no endpoint's proof holds or too few agree, and
        `ChainUnavailableError` when the endpoints cannot be asked.
        """
        with self._lock:
            if (type_id, version) in self._types:
                return self._types[(type_id, version)]
        if read.state_root is not None:
            pinned = PinnedBlock(read.block_number, read.block_hash) if read.pinned else None
            registration = self._proven_type(
                type_id, version, self._agreed_block(read.block_number, read.agreed, pinned)
            )
        else:
            registration = self._agreed(
                self._type_call(type_id, version),
                read,
                f"version {version} of type {type_id}",
                lambda raw: self._decode_type(type_id, version, raw),
            )
        if registration.registered:
            with self._lock:
                self._types[(type_id, version)] = registration
        return registration

    def _proven_type(self, type_id: str, version: int, block: _Agreed) -> TypeRegistration:
        raw_id = type_id_to_bytes32(type_id)
        answers = {answer.url: replace(answer) for answer in block.answers}
        for url in block.agreed:
            try:
                head_slot, hash_slot, time_slot = type_slots(raw_id, version)
                words = self._proven_words(url, [head_slot, hash_slot, time_slot], block)
                index, versions = type_head(words[head_slot])
                owner = None
                if index:
                    id_slot = agency_slots(index)[0]
                    owner = self._proven_words(url, [id_slot], block)[id_slot].to_bytes(32, "big")
                definition = words[hash_slot].to_bytes(32, "big")
                return TypeRegistration(
                    type_id=type_id,
                    version=version,
                    owner=owner.rstrip(b"\0").decode("ascii", "replace") if owner else None,
                    definition_hash=HexHash("0x" + definition.hex()) if any(definition) else None,
                    registered_at=words[time_slot],
                    versions=versions,
                )
            except (ProofError, LayoutMismatchError) as error:
                answers[url].error = f"its proof does not bear out version {version} of type {type_id}: {error}"
                self._nodes.note_error(url, error)
        raise self._disagree(block.number, list(answers.values()), f"a proof of version {version} of type {type_id}")

    def _agreed(self, data: str, read: LedgerRead, what: str, decode: Callable[[bytes], T]) -> T:
        """The answer to the call `data` at `read`'s block that `quorum` of the endpoints that agreed on `read`
        give alike (`decode`d). Raises `LedgerNodesDisagreeError` when too few do."""
        block = hex(read.block_number)
        asked = self._nodes.ask_each(
            lambda _url: [("eth_call", [{"to": self._registry, "data": data}, block])], read.agreed
        )
        found: dict[T, list[str]] = defaultdict(list)
        answers = []
        for url, reply in asked.items():
            answer = _Answer(url, block_hash=read.block_hash)
            answers.append(answer)
            if isinstance(reply, ChainUnavailableError):
                answer.error = reply.message
                continue
            try:
                found[decode(bytes.fromhex(str(reply[0]["result"])[2:]))].append(url)
            except (DeploymentError, KeyError, ValueError, TypeError) as error:
                answer.error = f"gave no readable answer for {what}: {error}"
                self._nodes.note_error(url, error)
        best = max(found.items(), key=lambda item: len(item[1]), default=None)
        if best is None or len(best[1]) < self.quorum:
            raise self._disagree(read.block_number, answers, what)
        return best[0]

    def _height(self, pinned: PinnedBlock | None) -> tuple[int, list[str]]:
        """The block to read at (the highest `quorum` endpoints have, or the pin's) and the endpoints that
        have it, asked of every endpoint for each verdict: a revocation mined a moment ago is seen."""
        heights = self._nodes.heights()
        reached = {url: height for url, height in heights.items() if isinstance(height, int)}
        if pinned is not None:
            at = [url for url, height in reached.items() if height >= pinned.number]
            if not at:
                raise ChainUnavailableError(
                    f"no endpoint of the chain has reached the checkpoint's block {pinned.number}"
                )
            return pinned.number, at
        if len(reached) < self.quorum:
            raise ChainUnavailableError(
                f"{len(reached)} of the chain's {len(heights)} endpoints answer; a verdict needs {self.quorum} to agree"
            )
        number = sorted(reached.values(), reverse=True)[self.quorum - 1]  # the highest block `quorum` have
        return number, [url for url, height in reached.items() if height >= number]

    def _agreed_block(self, number: int, candidates: Sequence[str], pinned: PinnedBlock | None) -> _Agreed:
        """Block `number`'s header as enough endpoints give it (each one's hash recomputed from its fields),
        or the one that hashes to the pin's; remembered per block, since a block's header never changes.

        Raises `LedgerNodesDisagreeError` when too few give the same header.
        """
        key = (number, pinned.hash if pinned else None)
        with self._lock:
            known = self._blocks.get(key)
        if known is not None:
            return known
        block = hex(number)
        asked = self._nodes.ask_each(lambda _url: [("eth_getBlockByNumber", [block, False])], candidates)
        answers = [self._parse_header(url, reply, number) for url, reply in asked.items()]
        by_hash: dict[str, list[_Answer]] = defaultdict(list)
        for answer in answers:
            if answer.error is None and answer.block_hash is not None:
                if pinned is not None and answer.block_hash != pinned.hash:
                    answer.error = (
                        f"its block {number} has hash {answer.block_hash}, the checkpoint signed {pinned.hash}"
                    )
                    self._nodes.note_error(answer.url, ChainUnavailableError(answer.error))
                    continue
                by_hash[answer.block_hash].append(answer)
        needed = 1 if pinned is not None else self.quorum  # a pin vouches for the block by itself
        agreed = max(by_hash.values(), key=len, default=[])
        if len(agreed) < needed:
            raise self._disagree(number, answers, "the same block")
        first = agreed[0]
        assert first.block_hash is not None
        assert first.state_root is not None
        found = _Agreed(
            number=number,
            hash=first.block_hash,
            state_root=first.state_root,
            agreed=tuple(answer.url for answer in agreed),
            answers=tuple(answers),
            needed=needed,
        )
        with self._lock:
            if len(self._blocks) >= KNOWN_BLOCKS:
                self._blocks.pop(next(iter(self._blocks)))
            self._blocks[key] = found
        return found

    def _parse_header(self, url: str, reply: Any, number: int) -> _Answer:
        answer = _Answer(url)
        if isinstance(reply, ChainUnavailableError):
            answer.error = reply.message
            return answer
        block = reply[0].get("result")
        if "error" in reply[0] or not isinstance(block, dict):
            answer.error = f"gave no block {number}: {reply[0].get('error')}"
            return answer
        try:
            proven = header_from_json(block)
            if proven.number != number:
                raise ProofError(f"it gave block {proven.number} when asked for block {number}")
        except ProofError as error:
            answer.error = str(error)
            self._nodes.note_error(url, error)
            return answer
        answer.block_hash, answer.state_root = proven.hash, proven.state_root
        return answer

    def _parse(self, url: str, reply: Any, number: int) -> _Answer:
        answer = _Answer(url)
        if isinstance(reply, ChainUnavailableError):
            answer.error = reply.message
            return answer
        header, call = reply
        block = header.get("result")
        if "error" in header or not isinstance(block, dict):
            answer.error = f"gave no block {number}: {header.get('error')}"
            return answer
        try:
            answer.block_hash = str(block["hash"]).lower()
            if "error" in call or not isinstance(call.get("result"), str):
                answer.error = f"refused the registry read: {call.get('error')}"
                return answer
            answer.result = bytes.fromhex(call["result"][2:])
            answer.view = self._decode(answer.result)
        except (DeploymentError, KeyError, ValueError, TypeError, AttributeError) as error:
            answer.error = str(error)
            self._nodes.note_error(url, error)
        return answer

    def _proven(self, target_hash: str, root: str, block: _Agreed, pinned: PinnedBlock | None) -> LedgerRead:
        """`inspect` at `block`, rebuilt from the storage proofs of the first agreeing endpoint whose
        answer they bear out (its own claim only names which agency and key to look up)."""
        target, anchor_root = bytes.fromhex(target_hash.removeprefix("0x")), bytes.fromhex(root.removeprefix("0x"))
        data, number = self._inspect_call(target_hash, root), hex(block.number)
        answers = {answer.url: replace(answer) for answer in block.answers}
        for url in block.agreed:
            answer = answers[url]
            known = self._names.get(root)
            if known is not None:  # an anchor's agency and key never change: one round trip, no claim needed
                try:
                    view = self._proven_by_names(target, anchor_root, known, block, url)
                except ProofError as error:
                    answer.error = f"its proof does not bear out the registry's records: {error}"
                    self._nodes.note_error(url, error)
                    continue
                except LayoutMismatchError:
                    # The proven records are not what was remembered (a block before the anchor, a root
                    # anchored again after a reorg): forget it and read the node's claim, below.
                    with self._lock:
                        self._names.pop(root, None)
                    view = None
                if view is not None:
                    return self._read(view, block, url, pinned, answers)
            try:
                try:
                    (call,) = self._nodes.ask(url, [("eth_call", [{"to": self._registry, "data": data}, number])])
                    if not isinstance(call.get("result"), str):
                        raise ProofError(f"it refused the registry read: {call.get('error')}")
                    answer.result = bytes.fromhex(call["result"][2:])
                    answer.view = self._decode(answer.result)
                    claimed = ClaimedNames.from_inspect(answer.result)
                except (ChainUnavailableError, DeploymentError, ValueError) as error:
                    raise ProofError(str(error)) from error
                words = self._proven_words(url, inspect_slots(target, anchor_root, claimed), block)
                view = proven_view(target, anchor_root, claimed, words)
            except (ProofError, LayoutMismatchError) as error:
                answer.error = f"its answer is not borne out by its proof: {error}"
                self._nodes.note_error(url, error)
                continue
            if view.agency_id is not None:  # proven: remembered for the root's next documents
                with self._lock:
                    if len(self._names) >= KNOWN_ROOTS:
                        self._names.pop(next(iter(self._names)))
                    self._names[root] = ClaimedNames(claimed.agency, claimed.key, None)
            return self._read(view, block, url, pinned, answers)
        raise self._disagree(block.number, list(answers.values()), "an answer its proof bears out")

    def _proven_by_names(
        self, target: bytes, root: bytes, known: ClaimedNames, block: _Agreed, url: str
    ) -> AnchorView | None:
        """`inspect` from one `eth_getProof` of the slots `known` names; None when the document's record
        belongs to another agency than the anchor's (only the node's answer can name it)."""
        guess = ClaimedNames(known.agency, known.key, known.agency)
        words = self._proven_words(url, inspect_slots(target, root, guess), block)
        claimed = with_document_agency(known, target, root, words)
        return None if claimed is None else proven_view(target, root, claimed, words)

    def _proven_words(self, url: str, slots: Sequence[int], block: _Agreed) -> dict[int, int]:
        """The registry's `slots` at `block`, from endpoint `url`'s `eth_getProof`, proven against the
        block's state root. Raises `ProofError` when it gives no proof or one that does not hold."""
        keys = ["0x" + slot.to_bytes(32, "big").hex() for slot in slots]
        try:
            (proof,) = self._nodes.ask(url, [("eth_getProof", [self._registry, keys, hex(block.number)])])
        except ChainUnavailableError as error:
            raise ProofError(error.message) from error
        result = proof.get("result")
        if not isinstance(result, dict):
            raise ProofError(f"it gave no proof: {proof.get('error')}")
        return proven_slots(self._storage_root(block, result), result.get("storageProof"), slots)

    def _read(
        self, view: AnchorView, block: _Agreed, url: str, pinned: PinnedBlock | None, answers: dict[str, _Answer]
    ) -> LedgerRead:
        return LedgerRead(
            view=view,
            block_number=block.number,
            block_hash=block.hash,
            state_root="0x" + block.state_root.hex(),
            agreed=block.agreed,
            proven_by=url,
            quorum=block.needed,
            pinned=pinned is not None,
            answers=tuple(other.as_dict() for other in answers.values()),
        )

    def _storage_root(self, block: _Agreed, proof: dict[str, Any]) -> bytes:
        """The registry's storage root at `block`: proven from the account proof once a block, then remembered."""
        with self._lock:
            known = self._storage_roots.get(block.state_root)
        if known is not None:
            return known
        storage_root = proven_account(
            block.state_root, self._registry, proof.get("accountProof"), code_hash=self._code_hash
        )
        with self._lock:
            if len(self._storage_roots) >= KNOWN_BLOCKS:
                self._storage_roots.pop(next(iter(self._storage_roots)))
            self._storage_roots[block.state_root] = storage_root
        return storage_root

    def _disagree(self, number: int, answers: Sequence[_Answer], what: str) -> LedgerNodesDisagreeError:
        for answer in answers:
            if answer.error is None:
                self._nodes.note_error(answer.url, ChainUnavailableError(f"disagreed at block {number}"))
        return LedgerNodesDisagreeError(
            f"the ledger's nodes disagree: fewer than {self.quorum} of the chain's endpoints gave {what} at block "
            f"{number}, so this document cannot be checked now (it is not a verdict on the document)",
            answers=[answer.as_dict() for answer in answers],
        )
