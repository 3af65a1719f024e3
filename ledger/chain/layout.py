"""Where the registry keeps what `inspect` reads, and how proven storage words become its answer.

Pure. The slot numbers are the compiler's storage layout of `DocumentRegistry` (the build's
`storageLayout`; `tests/contracts/test_registry_layout.py` holds them against it); the words'
bit layouts are `contracts/RecordPacking.sol`'s. Proof mode asks a node for the proofs of the
slots below and rebuilds `inspect`'s answer from the proven words alone, using the node's own
answer only to know which agency and key to look up, and checking that it names them rightly.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_hash.auto import keccak
from eth_utils.address import to_checksum_address

from ledger.domain import Address, AnchorView, ChainStatus, agency_id_from_bytes32

PAUSED_SLOT = 3  # Pausable's `_paused` (a bool, the low byte of the word)
AGENCIES_SLOT = 4  # Agency[] `_agencies`: each element 3 words (id; admin and status; name)
AGENCY_WORDS, AGENCY_NAME_WORD = 3, 2
MAX_PROVEN_STRING = 4096  # bytes of a proven string (an agency's name) read; a longer one is cut there
AGENCY_INDEXES_SLOT = 6  # mapping(bytes32 agencyId => uint32 agencyIndex), 1-based
KEYS_SLOT = 9  # mapping(address key => KeyRecord)
ANCHORS_SLOT = 10  # mapping(bytes32 root => AnchorRecord)
DOCUMENTS_SLOT = 11  # mapping(bytes32 targetHash => DocumentRecord)
TYPE_HEADS_SLOT = 13  # mapping(bytes32 typeId => TypeHead): agencyIndex (bits 0-31), versions (bits 32-63)
TYPE_VERSIONS_SLOT = 14  # mapping(bytes32 typeId => mapping(uint32 version => TypeVersion)): 2 words

_MASK32, _MASK40, _MASK8 = (1 << 32) - 1, (1 << 40) - 1, (1 << 8) - 1


def mapping_slot(key: bytes, slot: int) -> int:
    """The storage slot of `mapping[key]` for a mapping at `slot` (a value type key, left-padded to 32 bytes)."""
    return int.from_bytes(keccak(key.rjust(32, b"\0") + slot.to_bytes(32, "big")), "big")


class LayoutMismatchError(ValueError):
    """The proven words do not bear out what the node said the records name."""


@dataclass(frozen=True, slots=True)
class ClaimedNames:
    """What a node said `inspect` names, which proof mode then checks: the anchoring agency, its key,
    and the document record's agency (raw 32-byte ids, the key as 20 bytes; None where it named none)."""

    agency: bytes | None
    key: bytes | None
    document_agency: bytes | None

    @classmethod
    def from_inspect(cls, result: bytes) -> ClaimedNames:
        """The names in `inspect`'s raw answer (words 0, 1 and 12 of `ledger.chain.inspect.INSPECT_LAYOUT`)."""
        if len(result) != 32 * 14:
            raise LayoutMismatchError(f"the node's inspect answer is {len(result)} bytes, not 14 words")
        agency, key, document_agency = result[0:32], result[44:64], result[384:416]
        return cls(
            agency=agency if any(agency) else None,
            key=key if any(key) else None,
            document_agency=document_agency if any(document_agency) else None,
        )


def inspect_slots(target_hash: bytes, root: bytes, claimed: ClaimedNames) -> list[int]:
    """The slots whose proofs decide `inspect(target_hash, root)`, given what the node claimed it names."""
    slots = [PAUSED_SLOT, mapping_slot(root, ANCHORS_SLOT), mapping_slot(target_hash, DOCUMENTS_SLOT)]
    for agency in (claimed.agency, claimed.document_agency):
        if agency is not None:
            slots.append(mapping_slot(agency, AGENCY_INDEXES_SLOT))
    if claimed.key is not None:
        slots.append(mapping_slot(claimed.key, KEYS_SLOT))
    return list(dict.fromkeys(slots))


def with_document_agency(
    claimed: ClaimedNames, target_hash: bytes, root: bytes, words: dict[int, int]
) -> ClaimedNames | None:
    """`claimed` (an anchor's agency and key, known from an earlier proven read of `root`) completed with
    the document record's agency from the proven `words`: none, or the anchor's own; None when it is
    another agency's, which only the node's answer can name."""
    document = words[mapping_slot(target_hash, DOCUMENTS_SLOT)] & _MASK32
    if document == 0:
        return ClaimedNames(claimed.agency, claimed.key, None)
    if document == (words[mapping_slot(root, ANCHORS_SLOT)] >> 32) & _MASK32:
        return ClaimedNames(claimed.agency, claimed.key, claimed.agency)
    return None


def proven_view(target_hash: bytes, root: bytes, claimed: ClaimedNames, words: dict[int, int]) -> AnchorView:
    """`inspect(target_hash, root)` rebuilt from proven storage `words` (slot -> value).

    Raises `LayoutMismatchError` when the claimed agency or key is not the one the proven records
    point to (the node lied about them), or a record holds a status the registry never writes.
    """
    anchor = words[mapping_slot(root, ANCHORS_SLOT)]
    document = words[mapping_slot(target_hash, DOCUMENTS_SLOT)]
    paused = bool(words[PAUSED_SLOT] & _MASK8)

    def agency_of(index: int, claimed_id: bytes | None, what: str) -> str | None:
        if index == 0:
            if claimed_id is not None:
                raise LayoutMismatchError(f"the node named an agency for {what}, which has none")
            return None
        if claimed_id is None or words.get(mapping_slot(claimed_id, AGENCY_INDEXES_SLOT)) != index:
            raise LayoutMismatchError(f"the agency the node named for {what} is not agency #{index}")
        return agency_id_from_bytes32(claimed_id)

    try:
        document_status = ChainStatus.from_code((document >> 32) & _MASK8)
        document_agency = agency_of(document & _MASK32, claimed.document_agency, "the document's record")
        if anchor == 0:
            if claimed.agency is not None or claimed.key is not None:
                raise LayoutMismatchError("the node named an anchoring agency or key for a root never anchored")
            return AnchorView(
                agency_id=None,
                key=None,
                key_valid_from=0,
                key_valid_until=0,
                anchored_at=0,
                anchored_block=0,
                expires_at=0,
                document_count=0,
                batch_status=ChainStatus.NONE,
                batch_reason=0,
                document_status=document_status,
                document_reason=(document >> 40) & _MASK8,
                document_agency_id=document_agency,
                paused=paused,
            )
        agency = agency_of((anchor >> 32) & _MASK32, claimed.agency, "the anchor")
        if claimed.key is None:
            raise LayoutMismatchError("the node named no key for an anchored root")
        key_record = words.get(mapping_slot(claimed.key, KEYS_SLOT), 0)
        if (key_record >> 32) & _MASK32 != anchor & _MASK32:
            raise LayoutMismatchError("the key the node named is not the key that anchored the root")
        batch_status = ChainStatus.from_code((anchor >> 216) & _MASK8)
    except ValueError as error:
        if isinstance(error, LayoutMismatchError):
            raise
        raise LayoutMismatchError(f"a proven record holds a status the registry never writes ({error})") from error
    return AnchorView(
        agency_id=agency,
        key=Address(to_checksum_address(claimed.key)),
        key_valid_from=(key_record >> 64) & _MASK40,
        key_valid_until=(key_record >> 104) & _MASK40,
        anchored_at=(anchor >> 64) & _MASK40,
        anchored_block=(anchor >> 104) & _MASK40,
        expires_at=(anchor >> 144) & _MASK40,
        document_count=(anchor >> 184) & _MASK32,
        batch_status=batch_status,
        batch_reason=(anchor >> 224) & _MASK8,
        document_status=document_status,
        document_reason=(document >> 40) & _MASK8,
        document_agency_id=document_agency,
        paused=paused,
    )


def agency_slots(index: int) -> tuple[int, int]:
    """The slots of agency #`index` (1-based, as `_agencyIndexes` holds it): its id word and its name's word."""
    base = int.from_bytes(keccak(AGENCIES_SLOT.to_bytes(32, "big")), "big") + (index - 1) * AGENCY_WORDS
    return base, base + AGENCY_NAME_WORD


def type_slots(type_id: bytes, version: int) -> tuple[int, int, int]:
    """The slots of a document type's head word and of `version`'s two words (definition hash; registration time)."""
    head = mapping_slot(type_id, TYPE_HEADS_SLOT)
    record = mapping_slot(version.to_bytes(32, "big"), mapping_slot(type_id, TYPE_VERSIONS_SLOT))
    return head, record, record + 1


def type_head(word: int) -> tuple[int, int]:
    """A type's head word as (owning agency's index, 0 for a shared type; number of versions)."""
    return word & _MASK32, (word >> 32) & _MASK32


def string_data_slots(slot: int, word: int) -> list[int]:
    """Where a `string` stored at `slot` keeps its bytes, given the slot's `word`: none when the string
    is short (under 32 bytes: in the word itself), else the words from keccak(slot) on (those of its
    first `MAX_PROVEN_STRING` bytes)."""
    if word & 1 == 0:
        return []
    length = min((word - 1) // 2, MAX_PROVEN_STRING)
    start = int.from_bytes(keccak(slot.to_bytes(32, "big")), "big")
    return [start + n for n in range((length + 31) // 32)]


def proven_string(slot: int, words: dict[int, int]) -> str:
    """The `string` at `slot`, from proven `words` (the slot's, and its data slots' when long): cut at
    `MAX_PROVEN_STRING` bytes (with "…"), bytes that are not UTF-8 shown as U+FFFD, as the contract
    takes any bytes for a name.

    Raises `LayoutMismatchError` when the words are not a string Solidity writes (a short string's
    length past 31, bytes after its end).
    """
    word = words[slot]
    if word & 1 == 0:
        length = (word & 0xFF) // 2
        raw = word.to_bytes(32, "big")
        if length > 31 or any(raw[length:31]):
            raise LayoutMismatchError("the proven word is not a short string")
        data = raw[:length]
    else:
        length = (word - 1) // 2
        slots = string_data_slots(slot, word)
        if any(data_slot not in words for data_slot in slots):
            raise LayoutMismatchError("the words of the string's bytes were not proven")
        data = b"".join(words[data_slot].to_bytes(32, "big") for data_slot in slots)
        if length < 32 or any(data[length:]):
            raise LayoutMismatchError("the proven words are not a long string")
        if length > MAX_PROVEN_STRING:
            return data[:MAX_PROVEN_STRING].decode("utf-8", "replace") + "…"
        data = data[:length]
    return data.decode("utf-8", "replace")
