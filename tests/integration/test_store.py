"""The store on SQLite and on PostgreSQL: migrations, the issuance intent, status history."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from ledger.chain.deployment import DeploymentRecord
from ledger.documents.share import seal
from ledger.documents.wrap import wrap_documents
from ledger.domain import (
    BatchState,
    Fees,
    HexHash,
    PresentationState,
    ReasonCode,
    SignedTransaction,
    TransactionState,
)
from ledger.errors import ConflictError, GoneError, TransitionError
from ledger.store.document_types import DocumentTypes
from ledger.store.models import DocumentTypeRow, PresentationRequestRow, RelyingPartyRow, TransactionRow
from ledger.store.outbox import NewBatch, Outbox
from ledger.store.presentations import Presentations
from ledger.store.repository import NewDocument, Store
from ledger.usecases.actors import Actor
from ledger.usecases.agencies import add_issuer_key, register_agency
from ledger.usecases.context import Ledger
from ledger.usecases.issuance import IssueRequest, build_document_data, issue_documents
from ledger.usecases.sharing import erase_document, verification_link
from ledger.usecases.status import Action, change_status, get_record
from tests.integration.conftest import example, make_settings
from tests.nodes import ChainNode

TABLES = {
    "queued_documents",
    "transactions",
    "key_nonces",
    "leases",
    "agencies",
    "agency_admins",
    "council_proposals",
    "api_keys",
    "access_log",
    "issuer_keys",
    "batches",
    "documents",
    "status_changes",
    "shares",
    "credential_keys",
    "credentials",
    "relying_parties",
    "presentation_requests",
    "document_types",
    "issuance_jobs",
    "issuance_job_rows",
    "alembic_version",
}


def test_migrations_create_the_schema(database_url: str) -> None:
    store = Store.open(database_url)
    store.close()
    engine = create_engine(database_url)
    assert set(inspect(engine).get_table_names()) == TABLES
    engine.dispose()
    Store.open(database_url).close()  # migrating twice is a no-op


def test_issue_and_revoke_through_the_store(
    tmp_path: Path, chain_node: ChainNode, deployment: DeploymentRecord, database_url: str
) -> None:
    ledger = Ledger(make_settings(tmp_path, chain_node, deployment, database_url))
    try:
        register_agency(ledger, "moci", "Ministry of Commerce")
        key = add_issuer_key(ledger, "moci")
        assert ledger.vault.decrypt(ledger.store.get_key(key.address).encrypted_key, key.address).address == key.address  # type: ignore[union-attr]
        request = example("commercial-licence")
        batch = issue_documents(ledger, "moci", [IssueRequest(request["document_type"], request["fields"])] * 2)
        row = ledger.store.get_batch(batch.merkle_root)
        assert row is not None
        assert (row.state, row.tx_hash, row.block_number) == (
            "anchored",
            batch.receipt.tx_hash,
            batch.receipt.block_number,
        )
        target = batch.documents[1]["signature"]["targetHash"]
        stored = ledger.store.get_document(target)
        assert stored is not None
        assert stored.wrapped == batch.documents[1]

        change_status(ledger, Actor("moci"), target, Action.REVOKE, ReasonCode.ISSUED_IN_ERROR)
        history = ledger.store.status_changes(target)
        assert [(h.action, h.scope, h.reason, h.actor) for h in history] == [("revoke", "document", 2, "agency:moci")]
        assert get_record(ledger, target).as_dict()["status"] == "REVOKED"
        assert get_record(ledger, batch.documents[0]["signature"]["targetHash"]).as_dict()["status"] == "ACTIVE"
    finally:
        ledger.close()


@pytest.fixture
def keyed_store(database_url: str) -> Iterator[Store]:
    """A store holding agency moci and its key 0x0, with nothing sent yet."""
    store = Store.open(database_url)
    store.add_agency("moci", "M", None, None)
    store.add_key(address="0x0", agency_id="moci", encrypted_key="-", valid_from=0, valid_until=1, tx_hash=None)
    yield store
    store.close()


def test_a_batch_and_its_signed_anchor_are_recorded_once_with_one_nonce(keyed_store: Store) -> None:
    store, outbox = keyed_store, Outbox(keyed_store)

    def batch(root: str) -> NewBatch:
        document = NewDocument(target_hash=root, document_type="commercial-licence", proof=[], wrapped={})
        return NewBatch(root=root, agency_id="moci", key_address="0x0", expires_at=None, documents=[document])

    def sign(nonce: int) -> tuple[SignedTransaction, Fees]:
        return SignedTransaction(raw=f"0x{nonce:02x}", tx_hash="0x" + f"{nonce:064x}"), Fees(2, 1)

    first = outbox.record_anchor(batch("aa" * 32), chain_nonce=4, sign=sign, now=1.0)
    assert (first.nonce, first.state) == (4, "signed")
    assert store.get_batch("aa" * 32).state == "pending"  # type: ignore[union-attr]
    with pytest.raises(ConflictError):
        outbox.record_anchor(batch("aa" * 32), chain_nonce=0, sign=sign, now=2.0)
    # The refused batch took no nonce: allocation is part of the same database transaction.
    assert outbox.record_anchor(batch("bb" * 32), chain_nonce=0, sign=sign, now=3.0).nonce == 5
    assert [row.nonce for row in outbox.live_transactions(["0x0"])] == [4, 5]


def test_every_sender_takes_its_nonces_from_one_counter_and_an_unsent_call_gives_its_nonce_back(
    keyed_store: Store,
) -> None:
    """Status changes and governance calls are recorded like anchors: an issuer key's status change takes
    the nonce after its recorded anchor, whatever the node counts; another sender gets its counter on its
    first call; a call the node never received is forgotten only while no later nonce was taken."""
    outbox = Outbox(keyed_store)

    def signer(sender: str) -> Callable[[int], tuple[SignedTransaction, Fees]]:
        def sign(nonce: int) -> tuple[SignedTransaction, Fees]:
            return SignedTransaction(raw="0x01", tx_hash="0x" + f"{sender}{nonce:062x}"[-64:]), Fees(2, 1)

        return sign

    document = NewDocument(target_hash="aa" * 32, document_type="commercial-licence", proof=[], wrapped={})
    batch = NewBatch(root="aa" * 32, agency_id="moci", key_address="0x0", expires_at=None, documents=[document])
    anchor = outbox.record_anchor(batch, chain_nonce=3, sign=signer("0"), now=1.0)
    revocation = outbox.record_call("0x0", chain_nonce=3, sign=signer("0"), now=2.0)  # the node still counts 3
    assert (anchor.nonce, revocation.nonce, revocation.root) == (3, 4, None)
    assert outbox.agencies() == {"moci"}

    first = outbox.record_call("0xA", chain_nonce=7, sign=signer("a"), now=3.0)  # a council member, say
    second = outbox.record_call("0xA", chain_nonce=0, sign=signer("a"), now=4.0)
    assert (first.nonce, second.nonce) == (7, 8)
    assert outbox.other_senders() == {"0xA"}
    assert not outbox.release(first)  # nonce 8 is taken: a gap at 7 would hold it back for ever
    assert [row.tx_hash for row in outbox.signatures("0xA", 7)] == [first.tx_hash]
    assert outbox.release(second)
    assert outbox.signatures("0xA", 8) == []
    third = outbox.record_call("0xA", chain_nonce=0, sign=signer("a"), now=5.0)
    assert third.nonce == 8  # given back
    outbox.mark_sent(third.tx_hash, now=6.0)
    assert not outbox.release(third)  # broadcast: it may land, so it stays, and its nonce with it
    assert [row.state for row in outbox.signatures("0xA", 8)] == ["sent"]
    assert outbox.record_call("0xA", chain_nonce=0, sign=signer("b"), now=7.0).nonce == 9


def test_a_move_the_lifecycle_does_not_allow_raises_and_changes_nothing(keyed_store: Store) -> None:
    """A batch refused for good (failed) is never anchored: marking its transaction mined raises."""
    store, outbox = keyed_store, Outbox(keyed_store)
    batch = NewBatch(root="cc" * 32, agency_id="moci", key_address="0x0", expires_at=None, documents=[])
    signed = SignedTransaction(raw="0x00", tx_hash="0x" + "cc" * 32)
    row = outbox.record_anchor(batch, chain_nonce=0, sign=lambda _nonce: (signed, Fees(2, 1)), now=1.0)
    outbox.mark_failed(row, "refused for good")
    with pytest.raises(TransitionError, match="is failed and cannot become final"):
        outbox.mark_mined(row, block_number=7, block_hash="0x" + "ab" * 32, block_time=70, final=True)
    assert store.get_batch("cc" * 32).state == BatchState.FAILED  # type: ignore[union-attr]
    (stored,) = outbox.transactions_of("cc" * 32)
    assert (stored.state, stored.block_number) == (TransactionState.FAILED, None)


def _recorded(outbox: Outbox, root: str) -> TransactionRow:
    batch = NewBatch(root=root, agency_id="moci", key_address="0x0", expires_at=None, documents=[])
    signed = SignedTransaction(raw="0x00", tx_hash="0x" + root)
    return outbox.record_anchor(batch, chain_nonce=0, sign=lambda _nonce: (signed, Fees(2, 1)), now=1.0)


def test_an_observer_with_an_older_view_cannot_take_a_final_anchor_back(keyed_store: Store) -> None:
    """A read path that saw the block before its confirmations (mined) after the worker made it final:
    nothing moves back, and nothing is refused (the issuance succeeded)."""
    store, outbox = keyed_store, Outbox(keyed_store)
    row = _recorded(outbox, "dd" * 32)
    outbox.mark_mined(row, block_number=7, block_hash="0x" + "ab" * 32, block_time=70, final=True)
    outbox.mark_mined(row, block_number=7, block_hash="0x" + "ab" * 32, block_time=70, final=False)
    assert store.get_batch("dd" * 32).state == BatchState.ANCHORED  # type: ignore[union-attr]
    assert outbox.transactions_of("dd" * 32)[0].state == TransactionState.FINAL


def test_an_anchor_mined_then_put_back_reverted_by_a_reorg_fails_its_batch(keyed_store: Store) -> None:
    """Mined short of its confirmations, then included again reverted: the batch fails (its documents say
    why), rather than staying mined at a block that no longer holds it."""
    store, outbox = keyed_store, Outbox(keyed_store)
    row = _recorded(outbox, "ee" * 32)
    outbox.mark_mined(row, block_number=7, block_hash="0x" + "ab" * 32, block_time=70, final=False)
    (mined,) = outbox.transactions_of("ee" * 32)
    outbox.mark_failed(mined, "mined but reverted")
    batch = store.get_batch("ee" * 32)
    assert batch is not None
    assert (batch.state, batch.block_number, batch.error) == (BatchState.FAILED, None, "mined but reverted")


def test_a_pending_batch_settles_from_the_chain(ledger: Ledger) -> None:
    """An anchor recorded and sent by a process that died before it saw the block settles when read."""
    register_agency(ledger, "moci", "Ministry of Commerce")
    key = add_issuer_key(ledger, "moci")
    request = example("commercial-licence")
    data = [build_document_data(ledger, ledger.store.get_agency("moci"), IssueRequest(**request))]  # type: ignore[arg-type]
    document = wrap_documents(data)[0]
    root = HexHash(document["signature"]["merkleRoot"])
    signer = ledger.vault.decrypt(key.encrypted_key, key.address)
    client = ledger.registry.transactions
    calldata = "0x" + ledger.registry.anchor_call(root, 1).hex()
    fees = client.fees()
    row = ledger.outbox.record_anchor(
        NewBatch(
            root=root,
            agency_id="moci",
            key_address=key.address,
            expires_at=None,
            documents=[
                NewDocument(target_hash=root, document_type=request["document_type"], proof=[], wrapped=document)
            ],
        ),
        chain_nonce=client.pending_nonce(key.address),
        sign=lambda nonce: (
            client.sign(signer, to=ledger.registry.address, data=calldata, nonce=nonce, gas=200_000, fees=fees),
            fees,
        ),
        now=0.0,
    )
    ledger.registry._web3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        client.broadcast(row.raw)  # sent, and then the process "died"
        assert get_record(ledger, root).as_dict()["stage"] == "PENDING"  # not in a block yet
        ledger.registry._web3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    finally:
        ledger.registry._web3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
    record = get_record(ledger, root).as_dict()
    assert (record["issuance_state"], record["stage"], record["status"]) == ("anchored", "ANCHORED", "ACTIVE")
    assert record["anchor"]["transaction"] == row.tx_hash
    change_status(ledger, Actor("moci"), root, Action.REVOKE, ReasonCode.SUPERSEDED)


def test_a_key_signs_only_while_it_stays_valid_past_the_clock_margin(keyed_store: Store) -> None:
    """On a chain whose clock lags (Besu reads `pending` as `latest`), a key about to expire is passed over
    for one that stays valid past the margin: the block its transaction lands in may be later."""
    for address, until in (("0x1", 1000), ("0x2", 998)):
        keyed_store.add_key(
            address=address, agency_id="moci", encrypted_key="-", valid_from=0, valid_until=until, tx_hash=None
        )
    newest = keyed_store.active_key("moci", 995)
    assert newest is not None
    assert newest.address == "0x2"  # the newest key valid now
    later = keyed_store.active_key("moci", 995, margin=4)
    assert later is not None
    assert later.address == "0x1"  # the newest ends within the margin
    assert keyed_store.active_key("moci", 995, margin=5) is None


def test_no_shared_copy_outlives_an_erasure_whatever_the_order(
    tmp_path: Path, chain_node: ChainNode, deployment: DeploymentRecord, database_url: str
) -> None:
    """A link made while the document is erased: the copy written before the erasure is deleted with it;
    one written after the erasure read the content is refused (410) and nothing is kept."""
    ledger = Ledger(make_settings(tmp_path, chain_node, deployment, database_url))
    try:
        register_agency(ledger, "moci", "Ministry of Commerce")
        add_issuer_key(ledger, "moci")
        request = example("commercial-licence")
        batch = issue_documents(ledger, "moci", [IssueRequest(request["document_type"], request["fields"])] * 2)
        first, second = (document["signature"]["targetHash"] for document in batch.documents)
        moci = Actor("moci")

        verification_link(ledger, moci, first)  # the copy is written, then the erasure comes
        sealed = seal(ledger.store.get_document(first).wrapped)  # type: ignore[union-attr]
        assert ledger.store.get_share(sealed.reference) is not None
        erase_document(ledger, moci, first)
        assert ledger.store.get_share(sealed.reference) is None

        late = seal(ledger.store.get_document(second).wrapped)  # read for a link, and then the erasure wins
        erase_document(ledger, moci, second)
        assert ledger.store.put_share(late.reference, late.blob, target_hash=second) is False
        assert ledger.store.get_share(late.reference) is None
        with pytest.raises(GoneError):
            verification_link(ledger, moci, second)
    finally:
        ledger.close()


def test_a_presentation_is_answered_once_collected_once_and_dropped_in_time(database_url: str) -> None:
    """The relying parties' store on both databases: the compare-and-sets that make an answer and a
    collection happen once, refusal notes, and the sweep of results nobody collected."""
    store = Store.open(database_url)
    presentations = Presentations(store)
    try:
        presentations.add_party(RelyingPartyRow(id="bank", name="Bank", name_ar="بنك", redirect_uris=[]))
        with pytest.raises(ConflictError):
            presentations.add_party(RelyingPartyRow(id="bank", name="Again", name_ar="مرة", redirect_uris=[]))
        now = datetime.now(UTC)

        def request(request_id: str) -> PresentationRequestRow:
            return presentations.add_request(
                PresentationRequestRow(
                    id=request_id,
                    relying_party_id="bank",
                    query={"credentials": []},
                    purpose={"en": "e", "ar": "ع"},
                    rules=[],
                    state="s",
                    nonce="n",
                    status=PresentationState.PENDING.value,
                    created_at=now,
                    expires_at=now + timedelta(minutes=10),
                    refusals=[],
                )
            )

        request("one")
        request("two")
        result = {"claims": [{"value": {"en": "Pearl", "ar": "لؤلؤ"}}]}
        assert presentations.answer("one", result, now, "code")
        assert not presentations.answer("one", {"claims": []}, now, None)  # the second answer loses
        presentations.refuse("one", {"reason": "replayed", "message": "answered already", "at": now.isoformat()})
        kept = presentations.request("one")
        assert kept is not None
        assert kept.result == result
        assert kept.response_code == "code"
        assert [note["reason"] for note in kept.refusals] == ["replayed"]
        assert presentations.collect("one", now) == result
        assert presentations.collect("one", now) is None  # handed over once
        collected = presentations.request("one")
        assert collected is not None
        assert collected.result is None
        assert collected.status == PresentationState.COLLECTED.value
        assert presentations.answer("two", result, now - timedelta(hours=25), None)
        assert presentations.discard_before(now - timedelta(hours=24)) == 1
        dropped = presentations.request("two")
        assert dropped is not None
        assert dropped.result is None
        assert dropped.status == PresentationState.DISCARDED.value
    finally:
        store.close()


def test_document_types_are_kept_once_confirmed_and_a_refused_one_forgotten(database_url: str) -> None:
    store = Store.open(database_url)
    try:
        kept = DocumentTypes(store)
        assert kept.marker() == (0, 0)

        def row(version: int, definition_hash: str) -> DocumentTypeRow:
            return DocumentTypeRow(
                type_id="health-card",
                version=version,
                owner="mme",
                definition={"id": "health-card", "version": version},
                definition_hash=definition_hash,
                tx_hash="",
                registered_at=0,
            )

        kept.add(row(1, "0x" + "11" * 32))
        with pytest.raises(ConflictError):
            kept.add(row(1, "0x" + "22" * 32))
        assert kept.all(registered_only=True) == []
        before = kept.marker()
        kept.confirm("health-card", 1, tx_hash="0x" + "ab" * 32, registered_at=1_800_000_000)
        assert kept.marker() != before  # a reader reloads on confirmation, not only on a new row
        (confirmed,) = kept.all(registered_only=True)
        assert (confirmed.version, confirmed.registered_at, confirmed.owner) == (1, 1_800_000_000, "mme")
        kept.add(row(2, "0x" + "33" * 32))
        kept.discard("health-card", 1)  # confirmed: never forgotten
        kept.discard("health-card", 2)
        assert [r.version for r in kept.all()] == [1]
        assert kept.get("health-card", 2) is None
    finally:
        store.close()
