"""Anchoring a batch exactly once, whatever fails: record the signed transaction, broadcast, settle.

1. `anchor_batch` simulates the anchor (a revert surfaces before anything is written), then
   records the batch, its documents and the signed transaction in one database transaction
   (the nonce is allocated there), and only then broadcasts the signed bytes.
2. `settle` brings an agency's transactions in line with the chain, one nonce at a time: if
   the node holds none of its signatures, the newest is broadcast again (the same bytes); a
   mined one becomes ANCHORED at the configured confirmations; one whose block a reorg removed
   goes back to PENDING and is broadcast again; one pending for `replace_after_seconds` is
   re-signed with the same nonce and call and higher fees (at most `MAX_SIGNATURES` a nonce);
   if something else took the nonce and the node holds none of its signatures, the call is
   signed with a new nonce (the old signatures can never be mined). A root is never signed
   for otherwise, and a batch only fails when no signature of it can land.
3. `observe` records where transactions were mined without sending anything: the read paths
   and callers waiting for their anchor use it beside the worker.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass

from ledger.chain.signer import Signer
from ledger.chain.transactions import BroadcastRefusedError, Inclusion
from ledger.domain import LIVE, ON_CHAIN, BatchState, Fees, SignedTransaction, TransactionState, TxReceipt
from ledger.errors import ChainUnavailableError, TransactionFailedError, TransactionOutcomeUnknownError
from ledger.store.models import TransactionRow
from ledger.store.outbox import NewBatch
from ledger.usecases.context import Ledger

log = logging.getLogger(__name__)

# At most this many signatures of one nonce: fees grow 12.5% a replacement, and no further.
MAX_SIGNATURES = 6


@dataclass(frozen=True, slots=True)
class Settled:
    """What one `settle` did, for logs and tests."""

    broadcast: int = 0
    mined: int = 0
    final: int = 0
    reorged: int = 0
    replaced: int = 0


def anchor_batch(ledger: Ledger, batch: NewBatch, signer: Signer, *, queued: tuple[int, ...] = ()) -> TransactionRow:
    """Record `batch` with its signed anchor transaction, then broadcast it.

    Raises the contract's decoded error when the anchor would revert (nothing is recorded),
    `ChainUnavailableError` when the chain cannot be asked (nothing is recorded), and
    `ConflictError` when the batch exists already. A chain that goes down between recording
    and broadcasting raises nothing: the transaction is recorded, and `settle` sends it.
    """
    registry = ledger.registry
    client = registry.transactions
    data = "0x" + registry.anchor_call(batch.root, len(batch.documents), batch.expires_at or 0).hex()
    # 1. Ask the chain first: a revert (key not valid, root anchored, paused) surfaces here, decoded.
    gas = client.estimate_gas(signer.address, registry.address, data)
    fees = client.fees()
    with client.send_lock(signer.address):  # in this process, nonces reach the node in order
        chain_nonce = client.pending_nonce(signer.address)

        # 2. Record the batch, its documents and the signed transaction: one database transaction.
        def sign(nonce: int) -> tuple[SignedTransaction, Fees]:
            return client.sign(signer, to=registry.address, data=data, nonce=nonce, gas=gas, fees=fees), fees

        row = ledger.outbox.record_anchor(batch, chain_nonce=chain_nonce, sign=sign, queued=queued, now=time.time())
        ledger.metrics.batch_closed(len(batch.documents))
        # 3. Broadcast. If this fails the transaction is recorded all the same: `settle` sends it.
        _broadcast(ledger, row)
    return row


def _broadcast(ledger: Ledger, row: TransactionRow) -> bool:
    """Send a recorded transaction's bytes; True if the node has it now."""
    try:
        ledger.registry.transactions.broadcast(row.raw)
    except ChainUnavailableError:
        log.warning("the chain is down; transaction %s stays recorded and will be sent", row.tx_hash)
        return False
    except BroadcastRefusedError as error:
        if error.nonce_used:
            return False  # `settle` re-signs it with a new nonce unless it was mined
        log.warning("the node refused transaction %s: %s", row.tx_hash, error.message)
        if row.root is not None:  # shown with the documents' status; it is tried again every round
            ledger.outbox.note_error(row.root, f"the chain node refuses the anchor for now: {error.message}")
        return False
    ledger.outbox.mark_sent(row.tx_hash, now=time.time())
    return True


def observe(ledger: Ledger, rows: Sequence[TransactionRow]) -> None:
    """Record where the live ones of `rows` were mined (nothing is sent: that is `settle`'s work)."""
    live = [row for row in rows if row.state in LIVE]
    if not live:
        return
    client = ledger.registry.transactions
    inclusions = client.inclusions([row.tx_hash for row in live])
    head = client.head()
    for row in live:
        inclusion = inclusions[row.tx_hash]
        if inclusion is not None:
            record_inclusion(ledger, row, inclusion, head, ledger.settings.confirmations)


def wait_for_anchor(ledger: Ledger, row: TransactionRow, *, timeout: float) -> TxReceipt:
    """Wait until the batch of `row` is mined (by it or by a replacement).

    Raises `TransactionOutcomeUnknownError` if it is not mined within `timeout` seconds (it
    stays recorded, and the pipeline's worker goes on sending it), and `TransactionFailedError`
    if it can never be.
    """
    assert row.root is not None
    deadline = time.monotonic() + timeout
    pause = 0.005
    while True:
        with suppress(ChainUnavailableError):  # the chain may come back before the deadline
            observe(ledger, ledger.outbox.transactions_of(row.root))
        batch = ledger.store.get_batch(row.root)
        assert batch is not None
        if batch.state in ON_CHAIN and batch.block_number is not None:
            return TxReceipt(
                tx_hash=batch.tx_hash or row.tx_hash,
                block_number=batch.block_number,
                block_timestamp=batch.anchored_at or 0,
                gas_used=0,
            )
        if batch.state == BatchState.FAILED:
            raise TransactionFailedError(f"the anchor of batch {row.root} failed: {batch.error}")
        if time.monotonic() >= deadline:
            raise TransactionOutcomeUnknownError(
                f"the anchor of batch {row.root} ({row.tx_hash}) is recorded but was not mined within "
                f"{timeout:.0f} s; the service keeps sending it, and the documents' status shows when it is anchored",
                tx_hash=row.tx_hash,
            )
        time.sleep(pause)
        pause = min(pause * 2, 0.25)


def settle(ledger: Ledger, agency_id: str) -> Settled:
    """Bring the transactions of the agency's issuer keys (anchors and status changes) in line with the chain.

    Raises `ChainUnavailableError` when the chain cannot be asked; nothing is changed then.
    """

    def signer_for(address: str) -> Signer | None:
        row = ledger.store.get_key(address)
        return ledger.vault.decrypt(row.encrypted_key, row.address) if row is not None else None

    keys = [key.address for key in ledger.store.keys_of(agency_id)]
    return settle_keys(ledger, keys, signer_for)


def settle_keys(ledger: Ledger, keys: Sequence[str], signer_for: Callable[[str], Signer | None]) -> Settled:
    """Bring the unsettled transactions of `keys` in line with the chain (see the module's steps).

    `signer_for` gives the signer of a key this service holds, to sign a call again (higher
    fees, or a new nonce); a key it does not hold only has its signed bytes sent again.
    Raises `ChainUnavailableError` when the chain cannot be asked; nothing is changed then.
    """
    if not keys:
        return Settled()
    lost = _reopen_lost(ledger, keys)
    rows = ledger.outbox.live_transactions(keys)
    if not rows:
        return Settled(reorged=lost)
    held: dict[str, int] | None = None  # read at the first reorg
    client = ledger.registry.transactions
    inclusions = client.inclusions([row.tx_hash for row in rows])
    head = client.head()
    confirmations = ledger.settings.confirmations
    by_nonce: dict[tuple[str, int], list[TransactionRow]] = defaultdict(list)
    for row in rows:
        by_nonce[(row.key_address, row.nonce)].append(row)
    counts = dict.fromkeys(("broadcast", "mined", "final", "reorged", "replaced"), 0)
    counts["reorged"] = lost
    unmined: list[list[TransactionRow]] = []
    for group in by_nonce.values():
        mined = next(((row, inclusions[row.tx_hash]) for row in group if inclusions[row.tx_hash]), None)
        if mined is not None:
            row, inclusion = mined
            assert inclusion is not None
            counts[record_inclusion(ledger, row, inclusion, head, confirmations)] += 1
            continue
        if any(row.state == TransactionState.MINED for row in group):  # its block is gone: a reorg
            counts["reorged"] += 1
            held = ledger.outbox.held_from(keys) if held is None else held
            if group[0].nonce > held.get(group[0].key_address, group[0].nonce):
                for row in group:  # behind a held anchor of its key: it could never land
                    ledger.outbox.hold_lost(row, f"lost with the held anchor of key {row.key_address}")
                continue
            for row in group:
                if row.state == TransactionState.MINED:
                    ledger.outbox.mark_unmined(row)
        unmined.append(group)
    if not unmined:
        return Settled(**counts)
    known = client.known([row.tx_hash for group in unmined for row in group])
    now = time.time()
    grace = 2 * ledger.settings.rpc_timeout_seconds
    for group in unmined:
        newest = group[-1]  # signatures of one nonce, oldest first
        if newest.root is None and newest.state == TransactionState.SIGNED and now - newest.created_at < grace:
            continue  # a call its sender is still handing over (it may forget it and give its nonce back)
        signer = signer_for(newest.key_address)
        if not any(row.tx_hash in known for row in group):
            # The node holds no signature of this nonce: send the newest again (the same bytes).
            if _broadcast(ledger, newest):
                counts["broadcast"] += 1
            elif signer is not None and _nonce_taken(ledger, newest):  # something else took it: a new nonce
                counts["replaced"] += _resign(ledger, group, signer, new_nonce=True)
            continue
        if newest.tx_hash not in known:
            continue  # an older signature of this nonce is pending; the node refused the newer one
        if newest.sent_at is None:  # sent before a crash, and the record never heard: it is sent
            ledger.outbox.mark_sent(newest.tx_hash, now=now)
        elif (
            signer is not None
            and now - newest.sent_at > ledger.settings.replace_after_seconds
            and len(group) < MAX_SIGNATURES
        ):
            counts["replaced"] += _resign(ledger, group, signer, new_nonce=False)
    return Settled(**counts)


def _reopen_lost(ledger: Ledger, keys: Sequence[str]) -> int:
    """Put the final transactions whose block the chain no longer has back to be sent; how many.

    A chain restarted from an older state (or a reorg deeper than the confirmations) loses
    blocks that held anchors final already. The latest final one is looked up every time;
    older ones (up to 1,000 a round) only when it is gone, latest first, until one is still
    there: a block still there keeps all before it. An anchor whose batch's status changed
    since is held, not sent: the chain lost the revocation or suspension too, and the batch
    would come back without it (a revoked document would verify VALID), or with it only a
    block later. The key's lost transactions after a held one are held with it.
    """
    client = ledger.registry.transactions
    latest = ledger.outbox.final_transactions(keys, limit=1)
    if not latest or _still_there(client.inclusions([latest[0].tx_hash])[latest[0].tx_hash], latest[0]):
        return 0
    rows = ledger.outbox.final_transactions(keys, limit=1000)
    inclusions = client.inclusions([row.tx_hash for row in rows])
    gone: list[TransactionRow] = []
    for row in rows:
        if _still_there(inclusions[row.tx_hash], row):
            break
        gone.append(row)
    held_from: dict[str, int] = {}  # per key, the nonce of its first held transaction
    for row in sorted(gone, key=lambda row: (row.key_address, row.nonce)):
        if row.root is not None and ledger.outbox.status_changed(row.root):
            error = (
                f"the chain lost anchor {row.tx_hash} and the status changes made after it; sending it again "
                "would undo them, so it is held: re-anchor the batch with a new key (`sijill key rotate`: "
                "this key's later transactions wait behind the held one) and change its status again by hand"
            )
            log.error("batch %s: %s", row.root, error)
            ledger.outbox.hold_lost(row, error)
            held_from.setdefault(row.key_address, row.nonce)
        elif row.nonce > held_from.get(row.key_address, row.nonce):
            # After a held anchor of its key (its revocation, say): it could never land, and it would
            # act on a state the chain lost.
            log.error("transaction %s was lost with a held anchor of its key; it is held too", row.tx_hash)
            ledger.outbox.hold_lost(row, f"lost with the held anchor of key {row.key_address}")
        else:
            log.warning("transaction %s, final, is gone from the chain; it is sent again", row.tx_hash)
            ledger.outbox.mark_unmined(row)
    return len(gone)


def _still_there(inclusion: Inclusion | None, row: TransactionRow) -> bool:
    return inclusion is not None and inclusion.block_hash == row.block_hash


def record_inclusion(ledger: Ledger, row: TransactionRow, inclusion: Inclusion, head: int, confirmations: int) -> str:
    """Record where `row` was mined (final at `confirmations`), or that it reverted: "mined" or "final"."""
    if not inclusion.succeeded:
        ledger.outbox.mark_failed(row, f"transaction {row.tx_hash} was mined but reverted")
        return "mined"
    final = head - inclusion.block_number + 1 >= confirmations
    if row.state == TransactionState.MINED and row.block_hash == inclusion.block_hash and not final:
        return "mined"
    block_time = ledger.registry.transactions.block_time(inclusion.block_number)
    moved = ledger.outbox.mark_mined(
        row, block_number=inclusion.block_number, block_hash=inclusion.block_hash, block_time=block_time, final=final
    )
    if final and moved and row.root is not None:  # once, whoever saw it first; from the batch's first signature
        signed = min(signature.created_at for signature in ledger.outbox.transactions_of(row.root))
        ledger.metrics.anchor_final(time.time() - signed)
    return "final" if final else "mined"


def _nonce_taken(ledger: Ledger, row: TransactionRow) -> bool:
    """Whether something else took `row`'s nonce: the node counts past it, and knows `row` nowhere."""
    return ledger.registry.transactions.pending_nonce(row.key_address) > row.nonce


def _resign(ledger: Ledger, group: list[TransactionRow], signer: Signer, *, new_nonce: bool) -> int:
    """Sign the call of a nonce's signatures (`group`, oldest first) again; 1 if a signature was recorded.

    Same nonce: higher fees than the newest. New nonce (something else took this one): every
    signature of the group is superseded in the same database transaction, since none can be mined.
    Nothing is recorded if another worker changed the group meanwhile.
    """
    registry = ledger.registry
    client = registry.transactions
    newest = group[-1]
    current = client.fees()
    fees = current if new_nonce else Fees(int(newest.max_fee), int(newest.priority_fee)).bumped(floor=current)
    call = client.decode_call(newest.raw)
    with client.send_lock(signer.address):
        chain_nonce = client.pending_nonce(newest.key_address) if new_nonce else None

        def sign(nonce: int) -> tuple[SignedTransaction, Fees]:
            signed = client.sign(
                signer, to=call.to, data=call.data, nonce=nonce, gas=call.gas, fees=fees, value=call.value
            )
            return signed, fees

        replacement = ledger.outbox.record_replacement(group, sign=sign, chain_nonce=chain_nonce, now=time.time())
        if replacement is None:
            return 0
        log.info("re-signed %s as %s (nonce %d)", newest.tx_hash, replacement.tx_hash, replacement.nonce)
        _broadcast(ledger, replacement)
    return 1
