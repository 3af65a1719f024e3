"""Status-list bits as the registry's events decide them, against a plain model (Hypothesis state machine).

Batches of documents are anchored, then revoked, suspended and reinstated at random, whole or one
document at a time, in legal and illegal orders (which the replay ignores, as the contract refuses
them). After every step the revocation and suspension lists hold exactly the model's bits: a
revoked bit never clears, a batch's change covers each of its documents, reinstating clears only the
suspension, a revoked document is not also listed as suspended, and an index no other document shares
is the only bit a document moves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ledger.audit.replay import LedgerState
from ledger.audit.status_lists import list_bits, status_flags
from ledger.chain.events import ChainEvent
from ledger.vc.status_list import MIN_ENTRIES
from tests.profile import scaled

KEY = "0xaa"
AGENCY = b"moci".ljust(32, b"\0").hex()


@dataclass
class Document:
    root: str
    index: int
    revoked: bool = False
    suspended: bool = False


@dataclass
class Batch:
    documents: list[str]
    revoked: bool = False
    suspended: bool = False


@dataclass
class Model:
    batches: dict[str, Batch] = field(default_factory=dict)
    documents: dict[str, Document] = field(default_factory=dict)

    def flags(self, target: str) -> tuple[bool, bool]:
        document = self.documents[target]
        batch = self.batches[document.root]
        revoked = batch.revoked or document.revoked
        return revoked, not revoked and (batch.suspended or document.suspended)


class StatusLists(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.state = LedgerState()
        self.model = Model()
        self.block = 0
        self.counter = 0
        self.emit("AgencyRegistered", agencyId=AGENCY, name="Ministry")
        self.emit("IssuerKeyAdded", agencyId=AGENCY, key=KEY, validFrom=0, validUntil=2**40 - 1)

    def emit(self, name: str, /, **args: Any) -> None:
        self.block += 1
        self.state.apply(ChainEvent(self.block, "00", "ab" * 32, 0, name, args, bytes(32)))

    def fresh(self) -> str:
        self.counter += 1
        return f"{self.counter:064x}"

    @rule(size=st.integers(1, 4), data=st.data())
    def anchor(self, size: int, data: st.DataObject) -> None:
        root = self.fresh()
        targets = [root] if size == 1 else [self.fresh() for _ in range(size)]
        taken = {document.index for document in self.model.documents.values()}
        for target in targets:
            index = data.draw(st.integers(0, 2 * MIN_ENTRIES - 1).filter(lambda i: i not in taken), label="index")
            taken.add(index)
            self.model.documents[target] = Document(root, index)
        self.model.batches[root] = Batch(targets)
        self.emit("Anchored", root=root, key=KEY, documentCount=size, expiresAt=0, at=self.block)

    @precondition(lambda self: self.model.batches)
    @rule(data=st.data(), action=st.sampled_from(["Revoked", "Suspended", "Reinstated"]), whole=st.booleans())
    def change(self, data: st.DataObject, action: str, whole: bool) -> None:
        root = data.draw(st.sampled_from(sorted(self.model.batches)), label="batch")
        batch = self.model.batches[root]
        target = root if whole else data.draw(st.sampled_from(batch.documents), label="document")
        args = {"hash": target, "by": KEY, "root": root, "at": self.block}
        self.emit(action, **args, **({} if action == "Reinstated" else {"reason": 3}))
        # The contract's rules: the replay keeps only legal moves, and an illegal one changes nothing.
        if batch.revoked:
            return
        record: Batch | Document = batch if target == root else self.model.documents[target]
        if record.revoked:
            return
        if action == "Revoked":
            record.revoked, record.suspended = True, False
        elif action == "Suspended":
            record.suspended = True
        elif action == "Reinstated":
            record.suspended = False

    @invariant()
    def lists_hold_the_models_bits(self) -> None:
        entries = [(target, document.root, document.index) for target, document in self.model.documents.items()]
        for number in (0, 1):
            revocation = list_bits(self.state, entries, "revocation", number)
            suspension = list_bits(self.state, entries, "suspension", number)
            for target, document in self.model.documents.items():
                if document.index // MIN_ENTRIES != number:
                    continue
                revoked, suspended = self.model.flags(target)
                offset = document.index % MIN_ENTRIES
                assert revocation.get(offset) == revoked, (target, document)
                assert suspension.get(offset) == suspended, (target, document)
                assert status_flags(self.state, target, document.root) == (revoked, suspended)
            for purpose, bits, flag in ((0, revocation, 0), (1, suspension, 1)):
                expected = {
                    d.index % MIN_ENTRIES
                    for t, d in self.model.documents.items()
                    if d.index // MIN_ENTRIES == number and self.model.flags(t)[flag]
                }
                assert set(bits.set_indexes()) == expected, purpose


TestStatusLists = StatusLists.TestCase
TestStatusLists.settings = settings(max_examples=scaled(60, 600), stateful_step_count=scaled(20, 40), deadline=None)
