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

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.chain.layout import ClaimedNames, LayoutMismatchError, inspect_slots, proven_view
from ledger.chain.nodes import NodePool
from ledger.chain.proofs import ProofError, header_from_json, proven_storage
from ledger.domain import AnchorView
from ledger.errors import ChainUnavailableError, DeploymentError, LedgerNodesDisagreeError


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
    ) -> None:
        if quorum > len(nodes.urls):
            raise ValueError(f"a quorum of {quorum} needs as many endpoints; {len(nodes.urls)} are configured")
        self._nodes = nodes
        self._registry = registry
        self.quorum = quorum
        self.proofs = proofs
        self._code_hash = code_hash
        self._inspect_call = inspect_call
        self._decode = decode

    def inspect(self, target_hash: str, root: str, *, pinned: PinnedBlock | None = None) -> LedgerRead:
        """`inspect(target_hash, root)` as the network, not one node, says it.

        Raises `ChainUnavailableError` when fewer than the quorum's endpoints answer, and
        `LedgerNodesDisagreeError` (with every endpoint's answer) when they do not agree or no
        answer is borne out by its proof.
        """
        number, candidates = self._height(pinned)
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
                if pinned is not None and answer.block_hash != pinned.hash:
                    answer.error = (
                        f"its block {number} has hash {answer.block_hash}, the checkpoint signed {pinned.hash}"
                    )
                    self._nodes.note_error(answer.url, ChainUnavailableError(answer.error))
                    continue
                by_hash[answer.block_hash].append(answer)
        if self.proofs or pinned is not None:
            return self._proven(target_hash, root, number, by_hash, answers, pinned)
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

    def _height(self, pinned: PinnedBlock | None) -> tuple[int, list[str]]:
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
            if self.proofs:
                proven = header_from_json(block)
                answer.block_hash, answer.state_root = proven.hash, proven.state_root
            else:
                answer.block_hash = str(block["hash"]).lower()
            if "error" in call or not isinstance(call.get("result"), str):
                answer.error = f"refused the registry read: {call.get('error')}"
                return answer
            answer.result = bytes.fromhex(call["result"][2:])
            answer.view = self._decode(answer.result)
        except (ProofError, DeploymentError, KeyError, ValueError) as error:
            answer.error = str(error)
            self._nodes.note_error(url, error)
        return answer

    def _proven(
        self,
        target_hash: str,
        root: str,
        number: int,
        by_hash: dict[str, list[_Answer]],
        answers: Sequence[_Answer],
        pinned: PinnedBlock | None,
    ) -> LedgerRead:
        needed = 1 if pinned is not None else self.quorum  # a pin vouches for the block by itself
        agreed = max(by_hash.values(), key=len, default=[])
        if len(agreed) < needed:
            raise self._disagree(number, answers, "the same block")
        target, anchor_root = bytes.fromhex(target_hash.removeprefix("0x")), bytes.fromhex(root.removeprefix("0x"))
        for answer in agreed:
            if answer.view is None or answer.state_root is None or answer.result is None:
                continue
            try:
                claimed = ClaimedNames.from_inspect(answer.result)
                keys = ["0x" + slot.to_bytes(32, "big").hex() for slot in inspect_slots(target, anchor_root, claimed)]
                try:
                    reply = self._nodes.ask(answer.url, [("eth_getProof", [self._registry, keys, hex(number)])])
                except ChainUnavailableError as error:
                    raise ProofError(error.message) from error
                result = reply[0].get("result")
                if not isinstance(result, dict):
                    raise ProofError(f"it gave no proof: {reply[0].get('error')}")
                slots = [int(key, 16) for key in keys]
                words = proven_storage(answer.state_root, self._registry, result, slots, code_hash=self._code_hash)
                view = proven_view(target, anchor_root, claimed, words)
            except (ProofError, LayoutMismatchError) as error:
                answer.error = f"its answer is not borne out by its proof: {error}"
                self._nodes.note_error(answer.url, error)
                continue
            return LedgerRead(
                view=view,
                block_number=number,
                block_hash=str(answer.block_hash),
                state_root="0x" + answer.state_root.hex(),
                agreed=tuple(other.url for other in agreed),
                proven_by=answer.url,
                quorum=needed,
                pinned=pinned is not None,
                answers=tuple(other.as_dict() for other in answers),
            )
        raise self._disagree(number, answers, "an answer its proof bears out")

    def _disagree(self, number: int, answers: Sequence[_Answer], what: str) -> LedgerNodesDisagreeError:
        for answer in answers:
            if answer.error is None:
                self._nodes.note_error(answer.url, ChainUnavailableError(f"disagreed at block {number}"))
        return LedgerNodesDisagreeError(
            f"the ledger's nodes disagree: fewer than {self.quorum} of the chain's endpoints gave {what} at block "
            f"{number}, so this document cannot be checked now (it is not a verdict on the document)",
            answers=[answer.as_dict() for answer in answers],
        )
