"""Sending every transaction that anchors no batch the way anchors are sent: record, broadcast, settle.

A status change, a council member's approval, a schedule or an execution, an agency admin's
key change, a guardian's pause, a transfer of gas money: `send_call`

1. simulates the call (a revert surfaces here, decoded, and nothing is written);
2. records the signed transaction in the outbox, with the sender's next nonce allocated in
   the same database transaction: one counter per sender, shared by every process, so a
   status change and an anchor of one key never take the same nonce;
3. broadcasts it and waits for it to be mined.

When the node did not receive it and nothing was signed after it, the record is forgotten and
its nonce given back: nothing happened, and the caller hears that the chain is down. Otherwise
it stays recorded and the pipeline's worker keeps sending it (`settle`, `settle_senders`): the
caller hears that its outcome is not known yet, never that nothing happened.
"""

from __future__ import annotations

import time

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from ledger.chain.errors import ErrorDecoder
from ledger.chain.signer import Signer
from ledger.chain.transactions import BroadcastRefusedError
from ledger.domain import Fees, SignedTransaction, TransactionState, TxReceipt
from ledger.errors import ChainUnavailableError, TransactionFailedError, TransactionOutcomeUnknownError
from ledger.store.models import TransactionRow
from ledger.usecases.anchoring import Settled, record_inclusion, settle_keys
from ledger.usecases.context import Ledger

TRANSFER_GAS = 21_000


def send_call(
    ledger: Ledger,
    signer: Signer,
    to: str,
    data: bytes = b"",
    *,
    value: int = 0,
    gas: int | None = None,
    simulate_on: str | None = None,
    decoder: ErrorDecoder | None = None,
) -> TxReceipt:
    """Send a call of `to` from `signer` (with `value` wei) through the outbox, and wait until it is mined.

    `gas` None: simulated first (on block `simulate_on`, the node's default when None), with
    the contract's error decoded by `decoder` (the registry's when None). Raises the contract's
    decoded error when the call would revert (nothing is recorded), `ChainUnavailableError`
    when nothing was sent, `TransactionOutcomeUnknownError` when it is recorded and the
    service goes on sending it, and `TransactionFailedError` when it was mined but failed.
    """
    client = ledger.registry.transactions
    calldata = "0x" + data.hex()
    if gas is None:
        gas = (
            client.estimate_gas(signer.address, to, calldata, value=value, block=simulate_on, decoder=decoder)
            if data
            else TRANSFER_GAS
        )
    fees = client.fees()
    with client.send_lock(signer.address):  # in this process, nonces reach the node in order
        chain_nonce = client.pending_nonce(signer.address)

        def sign(nonce: int) -> tuple[SignedTransaction, Fees]:
            return client.sign(signer, to=to, data=calldata, nonce=nonce, gas=gas, fees=fees, value=value), fees

        row = ledger.outbox.record_call(signer.address, chain_nonce=chain_nonce, sign=sign, now=time.time())
        _hand_over(ledger, row)
    return wait_for_transaction(ledger, row, timeout=ledger.settings.receipt_timeout_seconds)


def _hand_over(ledger: Ledger, row: TransactionRow) -> None:
    """Broadcast a just-recorded transaction; forget it when the node cannot have it and nothing follows it."""
    client = ledger.registry.transactions
    try:
        try:
            client.broadcast(row.raw)
        except BroadcastRefusedError as refused:
            if not refused.nonce_ahead or not _send_earlier(ledger, row):
                raise
            client.broadcast(row.raw)  # its sender's earlier nonces are with the node now
    except ChainUnavailableError as error:
        if _never_sent(error) and ledger.outbox.release(row):
            raise
        raise TransactionOutcomeUnknownError(
            f"transaction {row.tx_hash} is recorded but the chain did not confirm it received it ({error.message}); "
            "the service sends it again until it is mined",
            tx_hash=row.tx_hash,
        ) from error
    except BroadcastRefusedError as error:
        if not error.nonce_used and ledger.outbox.release(row):
            raise TransactionFailedError(f"the chain node refused the transaction: {error.message}") from error
        raise TransactionOutcomeUnknownError(
            f"the chain node refuses transaction {row.tx_hash} for now ({error.message}); it stays recorded and "
            "the service tries it again",
            tx_hash=row.tx_hash,
        ) from error
    ledger.outbox.mark_sent(row.tx_hash, now=time.time())


def _send_earlier(ledger: Ledger, row: TransactionRow) -> bool:
    """Send the recorded transactions of `row`'s sender that the node lacks, from its pending nonce up to
    `row`'s (another process recorded them and has not sent them yet): the newest signature of each, in
    nonce order. True when they all went; the same bytes sent twice are harmless, and a nonce the node
    says is used meanwhile (mined, or another signature pending) is passed over."""
    client = ledger.registry.transactions
    try:
        floor = client.pending_nonce(row.key_address)
    except ChainUnavailableError:
        return False
    newest: dict[int, TransactionRow] = {}
    for earlier in ledger.outbox.live_transactions([row.key_address]):
        if floor <= earlier.nonce < row.nonce and earlier.state != TransactionState.MINED:
            newest[earlier.nonce] = earlier  # oldest first: the last one seen is the newest
    if len(newest) != row.nonce - floor:
        return False  # a nonce below the call's is nowhere in the outbox: sending the others fills no gap
    for nonce in sorted(newest):
        try:
            client.broadcast(newest[nonce].raw)
        except BroadcastRefusedError as refused:
            if refused.nonce_used:
                continue
            return False
        except ChainUnavailableError:
            return False
        ledger.outbox.mark_sent(newest[nonce].tx_hash, now=time.time())
    return True


def _never_sent(error: BaseException) -> bool:
    """Whether the request surely never reached a node: every endpoint refused the connection (or could
    not be connected to in time). A reset, a read timeout or a proxy's 502 may follow a request that arrived."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError | requests.exceptions.ConnectTimeout | NewConnectionError):
            return True
        reason = getattr(seen.args[0], "reason", None) if seen.args else None  # urllib3's MaxRetryError
        if isinstance(reason, NewConnectionError | ConnectTimeoutError):
            return True
        if isinstance(seen, requests.exceptions.RequestException | OSError):
            return False  # reached the transport and failed there: it may have been sent
        seen = seen.__cause__ or seen.__context__
    return False


def wait_for_transaction(ledger: Ledger, row: TransactionRow, *, timeout: float) -> TxReceipt:
    """Wait until a signature of `row`'s nonce is mined (`row` or a replacement) and record it; when the
    worker signed the call again with a new nonce (something else took this one), wait for that one.

    Raises `TransactionFailedError` when it was mined but reverted, and
    `TransactionOutcomeUnknownError` when it is not mined within `timeout` seconds.
    """
    client = ledger.registry.transactions
    deadline = time.monotonic() + timeout
    pause = 0.005
    while True:
        try:
            signatures = [
                signature
                for signature in ledger.outbox.signatures(row.key_address, row.nonce)
                if signature.state != TransactionState.SUPERSEDED
            ]
            if not signatures:  # every signature superseded: the call went on under a new nonce
                successor = _successor(ledger, row)
                if successor is not None:
                    row = successor
                    continue
            found = client.inclusions([signature.tx_hash for signature in signatures])
            mined = next((signature for signature in signatures if found[signature.tx_hash]), None)
            if mined is not None:
                inclusion = found[mined.tx_hash]
                assert inclusion is not None
                record_inclusion(ledger, mined, inclusion, client.head(), ledger.settings.confirmations)
                if not inclusion.succeeded:
                    raise TransactionFailedError(f"transaction {mined.tx_hash} was mined but failed")
                return TxReceipt(
                    tx_hash=mined.tx_hash,
                    block_number=inclusion.block_number,
                    block_timestamp=client.block_time(inclusion.block_number),
                    gas_used=inclusion.gas_used,
                )
        except ChainUnavailableError:
            pass  # the chain may come back before the deadline
        if time.monotonic() >= deadline:
            raise TransactionOutcomeUnknownError(
                f"transaction {row.tx_hash} is recorded and sent but was not mined within {timeout:.0f} s; "
                "the service goes on sending it",
                tx_hash=row.tx_hash,
            )
        time.sleep(pause)
        pause = min(pause * 2, 0.25)


def _successor(ledger: Ledger, row: TransactionRow) -> TransactionRow | None:
    """The same call as `row` (target, data, value), signed again by its sender with a later nonce."""
    client = ledger.registry.transactions
    call = client.decode_call(row.raw)
    for later in ledger.outbox.signed_after(row.key_address, row.nonce, row.created_at):
        again = client.decode_call(later.raw)
        if (again.to, again.data, again.value) == (call.to, call.data, call.value):
            return later
    return None


def held_signer(ledger: Ledger, address: str) -> Signer | None:
    """The signer of `address` when this service holds its key: the operator, an agency admin it keeps,
    a council member's development key. None otherwise (its transactions are then sent again as
    signed, never signed anew)."""
    if address == ledger.admin.address:
        return ledger.admin
    kept = ledger.agency_admins.by_address(address)
    if kept is not None:
        return ledger.vault.decrypt(kept.encrypted_key, kept.address)
    return next((signer for signer in ledger.council_signers if signer.address == address), None)


def settle_senders(ledger: Ledger) -> Settled:
    """Settle the unsettled transactions of every sender that is not an issuer key (see `settle_keys`)."""
    senders = sorted(ledger.outbox.other_senders())
    if not senders:
        return Settled()
    return settle_keys(ledger, senders, lambda address: held_signer(ledger, address))
