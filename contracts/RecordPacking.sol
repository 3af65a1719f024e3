// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IDocumentRegistry} from "./IDocumentRegistry.sol";

/**
 * @notice A batch's anchor in one storage word, low bits first: keyIndex (32),
 * agencyIndex (32), anchoredAt (40), anchoredBlock (40), expiresAt (40),
 * documentCount (32), status (8), reason (8). Zero means never anchored.
 */
type AnchorRecord is uint256;

/**
 * @notice One document's own record in one storage word, low bits first:
 * agencyIndex (32), status (8), reason (8), updatedAt (40), claimedAt (40: when the
 * owning agency's batch holding the document was anchored). Zero means no record.
 */
type DocumentRecord is uint256;

/**
 * @notice An issuer key's record in one storage word, low bits first: agencyIndex (32),
 * keyIndex (32), validFrom (40), validUntil (40), frozen (8: its agency is frozen or
 * removed). Zero means no such key.
 */
type KeyRecord is uint256;

using RecordPacking for AnchorRecord global;
using RecordPacking for DocumentRecord global;
using RecordPacking for KeyRecord global;

/**
 * @title RecordPacking
 * @notice The bit layouts of the registry's records, in one place (as OpenZeppelin's
 * `Packing` keeps its shifts and masks): the registry reads and writes whole words
 * through these functions, so each change costs one storage write.
 */
library RecordPacking {
    uint256 private constant _AGENCY_SHIFT = 32;
    uint256 private constant _ANCHORED_AT_SHIFT = 64;
    uint256 private constant _ANCHORED_BLOCK_SHIFT = 104;
    uint256 private constant _EXPIRES_AT_SHIFT = 144;
    uint256 private constant _COUNT_SHIFT = 184;
    uint256 private constant _STATUS_SHIFT = 216;
    uint256 private constant _REASON_SHIFT = 224;
    uint256 private constant _DOC_STATUS_SHIFT = 32;
    uint256 private constant _DOC_REASON_SHIFT = 40;
    uint256 private constant _DOC_UPDATED_SHIFT = 48;
    uint256 private constant _DOC_CLAIM_SHIFT = 88;
    uint256 private constant _KEY_INDEX_SHIFT = 32;
    uint256 private constant _KEY_FROM_SHIFT = 64;
    uint256 private constant _KEY_UNTIL_SHIFT = 104;
    uint256 private constant _KEY_FROZEN_SHIFT = 144;

    /**
     * @notice A new anchor, active.
     * @param key The anchoring key's 1-based index.
     * @param agency Its agency's 1-based index.
     * @param time The block's time.
     * @param blockNumber The block's number.
     * @param expiry Unix time at which the batch expires, 0 for never.
     * @param count Number of documents in the batch.
     * @return The packed record.
     */
    function packAnchor(uint32 key, uint32 agency, uint40 time, uint40 blockNumber, uint40 expiry, uint32 count)
        internal
        pure
        returns (AnchorRecord)
    {
        return AnchorRecord.wrap(
            uint256(key) | (uint256(agency) << _AGENCY_SHIFT) | (uint256(time) << _ANCHORED_AT_SHIFT)
                | (uint256(blockNumber) << _ANCHORED_BLOCK_SHIFT) | (uint256(expiry) << _EXPIRES_AT_SHIFT)
                | (uint256(count) << _COUNT_SHIFT) | (uint256(uint8(IDocumentRegistry.Status.Active)) << _STATUS_SHIFT)
        );
    }

    /// @notice Whether `record` is the empty word (never anchored).
    /// @param record An anchor.
    function isEmpty(AnchorRecord record) internal pure returns (bool) {
        return AnchorRecord.unwrap(record) == 0;
    }

    /// @notice The anchoring key's 1-based index.
    /// @param record An anchor.
    function keyIndex(AnchorRecord record) internal pure returns (uint32) {
        return uint32(AnchorRecord.unwrap(record));
    }

    /// @notice The anchoring agency's 1-based index.
    /// @param record An anchor.
    function agencyIndex(AnchorRecord record) internal pure returns (uint32) {
        return uint32(AnchorRecord.unwrap(record) >> _AGENCY_SHIFT);
    }

    /// @notice The anchoring block's time.
    /// @param record An anchor.
    function anchoredAt(AnchorRecord record) internal pure returns (uint40) {
        return uint40(AnchorRecord.unwrap(record) >> _ANCHORED_AT_SHIFT);
    }

    /// @notice The anchoring block's number.
    /// @param record An anchor.
    function anchoredBlock(AnchorRecord record) internal pure returns (uint40) {
        return uint40(AnchorRecord.unwrap(record) >> _ANCHORED_BLOCK_SHIFT);
    }

    /// @notice The batch's expiry, 0 for never.
    /// @param record An anchor.
    function expiresAt(AnchorRecord record) internal pure returns (uint40) {
        return uint40(AnchorRecord.unwrap(record) >> _EXPIRES_AT_SHIFT);
    }

    /// @notice The number of documents in the batch.
    /// @param record An anchor.
    function documentCount(AnchorRecord record) internal pure returns (uint32) {
        return uint32(AnchorRecord.unwrap(record) >> _COUNT_SHIFT);
    }

    /// @notice Whether the batch is suspended or revoked: the raw bits, without an enum conversion.
    /// @param record An anchor.
    function isInactive(AnchorRecord record) internal pure returns (bool) {
        return uint8(AnchorRecord.unwrap(record) >> _STATUS_SHIFT) > uint8(IDocumentRegistry.Status.Active);
    }

    /// @notice The batch's status (None for an empty record).
    /// @param record An anchor.
    function status(AnchorRecord record) internal pure returns (IDocumentRegistry.Status) {
        return IDocumentRegistry.Status(uint8(AnchorRecord.unwrap(record) >> _STATUS_SHIFT));
    }

    /// @notice The reason of the batch's last revocation or suspension.
    /// @param record An anchor.
    function reason(AnchorRecord record) internal pure returns (uint8) {
        return uint8(AnchorRecord.unwrap(record) >> _REASON_SHIFT);
    }

    /**
     * @notice `record` with its status and reason replaced.
     * @param record An anchor.
     * @param newStatus The new status.
     * @param newReason The new reason code.
     * @return The packed record.
     */
    function withStatus(AnchorRecord record, IDocumentRegistry.Status newStatus, uint8 newReason)
        internal
        pure
        returns (AnchorRecord)
    {
        uint256 cleared = AnchorRecord.unwrap(record) & ~(uint256(0xffff) << _STATUS_SHIFT);
        return AnchorRecord.wrap(
            cleared | (uint256(uint8(newStatus)) << _STATUS_SHIFT) | (uint256(newReason) << _REASON_SHIFT)
        );
    }

    /**
     * @notice A document's record.
     * @param owner The 1-based index of the agency that holds the record.
     * @param newStatus Its status.
     * @param newReason Its reason code.
     * @param updatedAt When it changed.
     * @param claim When the owner's batch holding the document was anchored.
     * @return The packed record.
     */
    function packDocument(
        uint32 owner,
        IDocumentRegistry.Status newStatus,
        uint8 newReason,
        uint40 updatedAt,
        uint40 claim
    ) internal pure returns (DocumentRecord) {
        return DocumentRecord.wrap(
            uint256(owner) | (uint256(uint8(newStatus)) << _DOC_STATUS_SHIFT)
                | (uint256(newReason) << _DOC_REASON_SHIFT) | (uint256(updatedAt) << _DOC_UPDATED_SHIFT)
                | (uint256(claim) << _DOC_CLAIM_SHIFT)
        );
    }

    /// @notice The 1-based index of the agency that holds the record, 0 for none.
    /// @param record A document's record.
    function agencyIndex(DocumentRecord record) internal pure returns (uint32) {
        return uint32(DocumentRecord.unwrap(record));
    }

    /// @notice The document's own status.
    /// @param record A document's record.
    function status(DocumentRecord record) internal pure returns (IDocumentRegistry.Status) {
        return IDocumentRegistry.Status(uint8(DocumentRecord.unwrap(record) >> _DOC_STATUS_SHIFT));
    }

    /// @notice The reason of its last revocation or suspension.
    /// @param record A document's record.
    function reason(DocumentRecord record) internal pure returns (uint8) {
        return uint8(DocumentRecord.unwrap(record) >> _DOC_REASON_SHIFT);
    }

    /// @notice When the owner's batch holding the document was anchored.
    /// @param record A document's record.
    function claimedAt(DocumentRecord record) internal pure returns (uint40) {
        return uint40(DocumentRecord.unwrap(record) >> _DOC_CLAIM_SHIFT);
    }

    /**
     * @notice A new key's record, not frozen.
     * @param agency Its agency's 1-based index.
     * @param key Its own 1-based index.
     * @param windowStart First second of its window.
     * @param windowEnd End of its window.
     * @return The packed record.
     */
    function packKey(uint32 agency, uint32 key, uint40 windowStart, uint40 windowEnd)
        internal
        pure
        returns (KeyRecord)
    {
        return KeyRecord.wrap(
            uint256(agency) | (uint256(key) << _KEY_INDEX_SHIFT) | (uint256(windowStart) << _KEY_FROM_SHIFT)
                | (uint256(windowEnd) << _KEY_UNTIL_SHIFT)
        );
    }

    /// @notice The 1-based index of the key's agency.
    /// @param record A key's record.
    function agencyIndex(KeyRecord record) internal pure returns (uint32) {
        return uint32(KeyRecord.unwrap(record));
    }

    /// @notice The key's own 1-based index, 0 when there is no such key.
    /// @param record A key's record.
    function keyIndex(KeyRecord record) internal pure returns (uint32) {
        return uint32(KeyRecord.unwrap(record) >> _KEY_INDEX_SHIFT);
    }

    /// @notice The first second of the key's window.
    /// @param record A key's record.
    function validFrom(KeyRecord record) internal pure returns (uint40) {
        return uint40(KeyRecord.unwrap(record) >> _KEY_FROM_SHIFT);
    }

    /// @notice The end of the key's window.
    /// @param record A key's record.
    function validUntil(KeyRecord record) internal pure returns (uint40) {
        return uint40(KeyRecord.unwrap(record) >> _KEY_UNTIL_SHIFT);
    }

    /// @notice Whether the key's agency is frozen or removed.
    /// @param record A key's record.
    function frozen(KeyRecord record) internal pure returns (bool) {
        return uint8(KeyRecord.unwrap(record) >> _KEY_FROZEN_SHIFT) != 0;
    }

    /**
     * @notice `record` with another end of its window.
     * @param record A key's record.
     * @param until The new end.
     * @return The packed record.
     */
    function withValidUntil(KeyRecord record, uint40 until) internal pure returns (KeyRecord) {
        uint256 cleared = KeyRecord.unwrap(record) & ~(uint256(type(uint40).max) << _KEY_UNTIL_SHIFT);
        return KeyRecord.wrap(cleared | (uint256(until) << _KEY_UNTIL_SHIFT));
    }

    /**
     * @notice `record` frozen or not.
     * @param record A key's record.
     * @param isFrozen Whether its agency is frozen.
     * @return The packed record.
     */
    function withFrozen(KeyRecord record, bool isFrozen) internal pure returns (KeyRecord) {
        uint256 cleared = KeyRecord.unwrap(record) & ~(uint256(0xff) << _KEY_FROZEN_SHIFT);
        return KeyRecord.wrap(cleared | (isFrozen ? uint256(1) << _KEY_FROZEN_SHIFT : 0));
    }
}
