"""Publishing an agency's status lists: Bitstring Status List credentials rebuilt from the registry's events.

Each process keeps a replay of the registry's events (`StatusReplay`) and brings it up to the
chain's head when a list is asked for. A list is signed by the agency's current credential key and
published with a derived proof that discloses all of it (an `ecdsa-sd-2023` verifier checks derived
proofs only); a signed list is reused until the chain or the agency's credentials move on.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from ledger.audit.status_lists import PURPOSES, StatusReplay, list_bits, status_flags
from ledger.chain.events import EventReader
from ledger.errors import NotFoundError
from ledger.usecases.agencies import require_agency
from ledger.usecases.context import Ledger
from ledger.usecases.credentials import sign_credential, signing_key, status_list_url
from ledger.vc.credential import CONTEXT, timestamp
from ledger.vc.did import agency_did
from ledger.vc.ecdsa_sd import derive_proof
from ledger.vc.status_list import MIN_ENTRIES, StatusBits

_LIST_POINTERS = ["/id", "/type", "/issuer", "/validFrom", "/credentialSubject"]


def _final_block(ledger: Ledger, reader: EventReader) -> int:
    """The newest block with the confirmations the settings require (a list never shows what a reorg may undo)."""
    return reader.head() - (ledger.settings.confirmations - 1)


def chain_status(ledger: Ledger, target_hash: str, root: str) -> tuple[bool, bool]:
    """(revoked, suspended) of a document by the registry's events up to the newest final block."""
    replay, reader = ledger.status_replay, ledger.registry.events(ledger.artifact.abi)
    with replay.lock:
        replay.refresh(reader, ledger.deployment.block_number, _final_block(ledger, reader))
        return status_flags(replay.state, target_hash, root)


def published_bits(
    ledger: Ledger, agency_id: str, purpose: str, number: int, *, at_block: int | None = None
) -> tuple[tuple[int, int], StatusBits]:
    """The bits this service publishes in an agency's list (its replay of the events brought up to the
    newest final block, or to `at_block`), and the (block, entries) they stand for.

    Raises `NotFoundError` for an unknown purpose or a list the agency does not have, and
    `AgencyNotFoundError`.
    """
    if purpose not in PURPOSES:
        raise NotFoundError(f"a status list's purpose is 'revocation' or 'suspension', not {purpose!r}")
    require_agency(ledger, agency_id)
    lists = ledger.credentials.lists(agency_id)
    if not 0 <= number < lists:
        raise NotFoundError(f"agency '{agency_id}' has no status list {number} (it has lists 0 to {lists - 1})")
    entries = ledger.credentials.of_agency(agency_id, number * MIN_ENTRIES, (number + 1) * MIN_ENTRIES)
    replay, reader = ledger.status_replay, ledger.registry.events(ledger.artifact.abi)
    with replay.lock:
        up_to = _final_block(ledger, reader) if at_block is None else at_block
        if replay.next_block is not None and replay.next_block > up_to + 1:  # asked of a past block: replay anew
            replay = StatusReplay()
        block = replay.refresh(reader, ledger.deployment.block_number, up_to)
        return (block, len(entries)), list_bits(replay.state, entries, purpose, number)


def status_list_credential(ledger: Ledger, agency_id: str, purpose: str, number: int) -> dict[str, Any]:
    """Status list `number` of `agency_id` for `purpose`, signed by the agency, with every bit from the chain.

    Raises `NotFoundError` for an unknown purpose or a list the agency does not have,
    `AgencyNotFoundError`, `NoActiveKeyError` (no credential key to sign with), and chain errors.
    """
    (block, entries), bits = published_bits(ledger, agency_id, purpose, number)
    chain_now = ledger.registry.chain_time()
    key = signing_key(ledger, agency_id, chain_now)  # the chain judges the key by its own clock...
    version = (block, entries, key[0].key_id)  # a list signed by a key that is no longer valid is signed anew
    replay = ledger.status_replay
    with replay.lock:
        kept = replay.signed.get((agency_id, purpose, number))
        if kept is not None and kept[0] == version:
            return dict(kept[1])
    url = status_list_url(ledger, agency_id, purpose, number)
    now = min(chain_now, int(time.time()))  # ...and the list is dated no later than the verifier's clock
    unsigned = {
        "@context": list(CONTEXT),
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": agency_did(ledger.settings.public_base_url, agency_id),
        "validFrom": timestamp(datetime.fromtimestamp(now, UTC)),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": bits.encode(),
        },
    }
    _key, signed = sign_credential(ledger, unsigned, agency_id, now, _LIST_POINTERS, key=key)
    published = derive_proof(signed, [], ledger.contexts)
    with replay.lock:
        replay.signed[(agency_id, purpose, number)] = (version, published)
    return published
