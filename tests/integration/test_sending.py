"""Every write goes through the outbox: status changes, transfers and governance calls take their nonces
from the database like anchors, on a real chain."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from eth_account import Account
from eth_account.typed_transactions import TypedTransaction
from hexbytes import HexBytes

from ledger.chain.rpc import JsonRpcClient
from ledger.documents.wrap import wrap_documents
from ledger.domain import HexHash, ReasonCode, TransactionState
from ledger.errors import TransactionFailedError
from ledger.store.models import TransactionRow
from ledger.store.outbox import NewBatch
from ledger.store.repository import NewDocument
from ledger.usecases.actors import Actor
from ledger.usecases.agencies import RegisteredAgency
from ledger.usecases.anchoring import settle
from ledger.usecases.context import Ledger
from ledger.usecases.issuance import IssuedBatch, IssueRequest, build_document_data, issue_documents
from ledger.usecases.sending import send_call, settle_senders, wait_for_transaction
from ledger.usecases.status import Action, change_status, get_record
from tests.integration.conftest import example
from tests.integration.test_pipeline import wait_until
from tests.nodes import ChainNode
from tests.rpc_proxy import RpcProxy


def test_a_status_change_takes_the_nonce_after_an_anchor_another_process_recorded(
    ledger: Ledger, moci: RegisteredAgency
) -> None:
    """Another process has recorded an anchor of the same key and not yet broadcast it. The node's pending
    count does not know that nonce; the database does. The revocation signs the next nonce, waits for the
    anchor to be sent, and both land."""
    issued = _licence(ledger)
    other = Ledger(ledger.settings)  # a second service process on the same database: its own send locks
    try:
        anchor = _record_unsent_anchor(other)
        key, root, node_count = anchor.key_address, HexHash(str(anchor.root)), anchor.nonce
        sender = threading.Timer(0.5, settle, args=(other, "moci"))  # the other process's worker sends it
        sender.start()
        try:
            change = change_status(ledger, Actor("moci"), issued.merkle_root, Action.REVOKE, ReasonCode.SUPERSEDED)
        finally:
            sender.join()
        revocation = ledger.outbox.signatures(key, node_count + 1)
        assert [row.tx_hash for row in revocation] == [change.receipt.tx_hash]
        assert get_record(ledger, issued.merkle_root).as_dict()["status"] == "REVOKED"
        settle(ledger, "moci")
        assert get_record(ledger, root).as_dict()["stage"] == "ANCHORED"
    finally:
        other.close()


def _licence(ledger: Ledger) -> IssuedBatch:
    request = example("commercial-licence")
    return issue_documents(ledger, "moci", [IssueRequest(request["document_type"], request["fields"])])


def _record_unsent_anchor(other: Ledger) -> TransactionRow:
    """As a service process does before it broadcasts: a batch of moci and its anchor, recorded and signed
    with the key's next nonce. Nothing is sent: the process "pauses" there."""
    request = example("commercial-licence")
    key = other.store.active_key("moci", other.registry.chain_time())
    assert key is not None
    signer = other.vault.decrypt(key.encrypted_key, key.address)
    data = [build_document_data(other, other.store.get_agency("moci"), IssueRequest(**request))]  # type: ignore[arg-type]
    root = HexHash(wrap_documents(data)[0]["signature"]["merkleRoot"])
    client = other.registry.transactions
    calldata = "0x" + other.registry.anchor_call(root, 1).hex()
    fees = client.fees()
    node_count = client.pending_nonce(key.address)
    anchor = other.outbox.record_anchor(
        NewBatch(
            root=root,
            agency_id="moci",
            key_address=key.address,
            expires_at=None,
            documents=[NewDocument(target_hash=root, document_type="commercial-licence", proof=[], wrapped={})],
        ),
        chain_nonce=node_count,
        sign=lambda nonce: (
            client.sign(signer, to=other.registry.address, data=calldata, nonce=nonce, gas=200_000, fees=fees),
            fees,
        ),
        now=0.0,
    )
    assert anchor.nonce == node_count
    return anchor


def test_a_node_keeping_no_nonce_gap_gets_the_earlier_recorded_transactions_first(
    ledger: Ledger, moci: RegisteredAgency, chain_node: ChainNode
) -> None:
    """Besu refuses a nonce too far ahead of the sender's ("Transaction nonce is too distant from current
    sender nonce"; Hardhat's node, any gap: "nonce too high"). Here the node keeps no gap at all, and no
    worker runs: the revocation, a nonce after another process's unsent anchor, is refused at first; the
    service sends the anchor it finds recorded, then the revocation, and both land."""
    issued = _licence(ledger)
    upstream = JsonRpcClient(chain_node.url)

    def besu(params: list[Any]) -> dict[str, Any] | None:
        raw = params[0]
        sender = Account.recover_transaction(raw)
        nonce = TypedTransaction.from_bytes(HexBytes(raw)).as_dict()["nonce"]
        (pending,) = upstream.batch([("eth_getTransactionCount", [sender, "pending"])])
        if nonce > int(pending["result"], 16):
            return {"code": -32000, "message": "Transaction nonce is too distant from current sender nonce"}
        return None

    proxy = RpcProxy(chain_node.url)
    proxy.refuse["eth_sendRawTransaction"] = besu
    strict = Ledger(ledger.settings.model_copy(update={"rpc_url": proxy.url}))
    try:
        anchor = _record_unsent_anchor(strict)
        change = change_status(strict, Actor("moci"), issued.merkle_root, Action.REVOKE, ReasonCode.SUPERSEDED)
        assert change.receipt.tx_hash == ledger.outbox.signatures(anchor.key_address, anchor.nonce + 1)[0].tx_hash
        assert get_record(ledger, issued.merkle_root).as_dict()["status"] == "REVOKED"
        (sent,) = ledger.outbox.signatures(anchor.key_address, anchor.nonce)
        assert sent.state != TransactionState.SIGNED  # the revocation's sender sent it, and said so
        settle(ledger, "moci")
        assert get_record(ledger, str(anchor.root)).as_dict()["stage"] == "ANCHORED"
    finally:
        strict.close()
        proxy.close()


def test_a_transfer_the_node_refuses_is_forgotten_with_its_nonce(ledger: Ledger) -> None:
    """An empty account's transfer: the node refuses it, the caller hears why, and nothing stays recorded."""
    empty = Account.create()
    with pytest.raises(TransactionFailedError, match="refused"):
        send_call(ledger, empty, ledger.admin.address, value=10**18)
    assert ledger.outbox.signatures(empty.address, 0) == []
    assert ledger.outbox.other_senders() == set()


def test_a_call_recorded_before_a_crash_is_sent_by_the_worker(ledger: Ledger) -> None:
    """The operator's transfer was recorded and the process died before broadcasting: the worker's round
    over senders that are not issuer keys sends it, and it settles final."""
    recipient = Account.create().address
    client = ledger.registry.transactions
    fees = client.fees()
    operator = ledger.admin
    row = ledger.outbox.record_call(
        operator.address,
        chain_nonce=client.pending_nonce(operator.address),
        sign=lambda nonce: (
            client.sign(operator, to=recipient, data="0x", nonce=nonce, gas=21_000, fees=fees, value=5 * 10**17),
            fees,
        ),
        now=0.0,
    )
    assert ledger.outbox.other_senders() == {operator.address}
    assert settle_senders(ledger).broadcast == 1

    def final() -> bool:
        settle_senders(ledger)
        (settled,) = ledger.outbox.signatures(operator.address, row.nonce)
        return settled.state == TransactionState.FINAL

    wait_until(final, what="the transfer's confirmations")
    assert ledger.registry.balance(recipient) == 5 * 10**17
    assert ledger.outbox.other_senders() == set()


def test_a_caller_waiting_on_a_call_follows_it_to_the_new_nonce_the_worker_gave_it(ledger: Ledger) -> None:
    """Something else took the nonce of a recorded transfer before it was sent (another wallet of the same
    key). The worker signs the transfer again with the next nonce; a caller still waiting on the first
    signature is answered with the new one's receipt, not "outcome unknown", and the transfer is made once."""
    recipient = Account.create().address
    client = ledger.registry.transactions
    fees = client.fees()
    operator = ledger.admin
    nonce = client.pending_nonce(operator.address)
    row = ledger.outbox.record_call(
        operator.address,
        chain_nonce=nonce,
        sign=lambda n: (
            client.sign(operator, to=recipient, data="0x", nonce=n, gas=21_000, fees=fees, value=10**17),
            fees,
        ),
        now=0.0,
    )
    taken = client.sign(operator, to=operator.address, data="0x", nonce=row.nonce, gas=21_000, fees=fees)
    client.broadcast(taken.raw)  # the nonce is gone: mined with another transaction
    wait_until(lambda: client.pending_nonce(operator.address) > row.nonce, what="the other transaction")
    assert settle_senders(ledger).replaced == 1

    receipt = wait_for_transaction(ledger, row, timeout=10)
    (successor,) = ledger.outbox.signed_after(operator.address, row.nonce, row.created_at)
    assert receipt.tx_hash == successor.tx_hash != row.tx_hash
    assert successor.nonce > row.nonce
    assert ledger.registry.balance(recipient) == 10**17


def test_besus_minimum_gas_price_refusal_is_told_plainly_and_nothing_stays_recorded(
    ledger: Ledger, chain_node: ChainNode
) -> None:
    """A Besu node with `--min-gas-price` above what was offered refuses the transaction: the caller hears
    that the fee was refused and what to check, and the outbox keeps nothing (the nonce is given back)."""
    proxy = RpcProxy(chain_node.url)
    proxy.refuse["eth_sendRawTransaction"] = lambda _params: {
        "code": -32009,
        "message": "Gas price below configured minimum gas price",
    }
    strict = Ledger(ledger.settings.model_copy(update={"rpc_url": proxy.url}))
    try:
        operator = strict.admin
        nonce = strict.registry.transactions.pending_nonce(operator.address)
        with pytest.raises(TransactionFailedError, match="minimum gas price") as refused:
            send_call(strict, operator, Account.create().address, value=1)
        assert "fee" in refused.value.message
        assert strict.outbox.signatures(operator.address, nonce) == []
    finally:
        strict.close()
        proxy.close()
