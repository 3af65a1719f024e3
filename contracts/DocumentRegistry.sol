// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IDocumentRegistry} from "./IDocumentRegistry.sol";
import {AnchorRecord, DocumentRecord, RecordPacking} from "./RecordPacking.sol";

/**
 * @title DocumentRegistry
 * @notice One registry shared by every agency: the admin registers agencies and
 * their issuer keys; keys anchor Merkle roots of document batches and revoke,
 * suspend or reinstate their own agency's batches and documents.
 * @dev What an anchor stores fits one storage slot. Agencies and keys get compact
 * 1-based indexes so that anchors can refer to them within that slot.
 */
contract DocumentRegistry is IDocumentRegistry, AccessControlDefaultAdminRules, Pausable {
    struct Agency {
        bytes32 id;
        string name;
    }

    /// @dev `frozen` mirrors the pause switch in the record every key action reads anyway.
    struct IssuerKey {
        uint32 agencyIndex;
        uint32 keyIndex;
        uint40 validFrom;
        uint40 validUntil;
        bool frozen;
    }

    // The records' bit layouts live in RecordPacking: an anchor and a document's record are one word each.

    uint40 private constant _NO_END = type(uint40).max;

    Agency[] private _agencies;
    address[] private _keyAddresses;
    mapping(bytes32 agencyId => uint32 agencyIndex) private _agencyIndexes;
    mapping(address key => IssuerKey record) private _keys;
    mapping(bytes32 root => AnchorRecord anchor) private _anchors;
    mapping(bytes32 targetHash => DocumentRecord record) private _documents;

    /**
     * @param adminTransferDelay Seconds a two-step admin transfer must wait.
     * @param admin The governance admin.
     */
    constructor(uint48 adminTransferDelay, address admin) AccessControlDefaultAdminRules(adminTransferDelay, admin) {}

    /// @inheritdoc IDocumentRegistry
    function registerAgency(bytes32 agencyId, string calldata name) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (agencyId == bytes32(0)) revert RegistryInvalidAgencyId();
        if (bytes(name).length == 0) revert RegistryEmptyAgencyName(agencyId);
        if (_agencyIndexes[agencyId] != 0) revert RegistryAgencyAlreadyRegistered(agencyId);
        _agencies.push(Agency({id: agencyId, name: name}));
        _agencyIndexes[agencyId] = uint32(_agencies.length);
        emit AgencyRegistered(agencyId, name);
    }

    /// @inheritdoc IDocumentRegistry
    function addIssuerKey(bytes32 agencyId, address key, uint40 validFrom, uint40 validUntil)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        uint32 agencyIndex = _agencyIndexes[agencyId];
        if (agencyIndex == 0) revert RegistryUnknownAgency(agencyId);
        if (key == address(0)) revert RegistryInvalidKey();
        if (_keys[key].keyIndex != 0) revert RegistryKeyAlreadyRegistered(key);
        uint40 now_ = _time();
        uint40 from = validFrom == 0 ? now_ : validFrom;
        uint40 until = validUntil == 0 ? _NO_END : validUntil;
        if (from < now_ || until <= from) revert RegistryInvalidValidityWindow(from, until, now_);
        _keyAddresses.push(key);
        _keys[key] = IssuerKey({
            agencyIndex: agencyIndex,
            keyIndex: uint32(_keyAddresses.length),
            validFrom: from,
            validUntil: until,
            frozen: paused()
        });
        emit IssuerKeyAdded(agencyId, key, from, until);
    }

    /// @inheritdoc IDocumentRegistry
    function setIssuerKeyValidUntil(address key, uint40 validUntil) external onlyRole(DEFAULT_ADMIN_ROLE) {
        IssuerKey storage record = _keys[key];
        if (record.keyIndex == 0) revert RegistryUnknownKey(key);
        uint40 now_ = _time();
        uint40 until = validUntil == 0 ? now_ + 1 : validUntil;
        if (until <= now_ || until <= record.validFrom) {
            revert RegistryInvalidValidityWindow(record.validFrom, until, now_);
        }
        record.validUntil = until;
        record.frozen = paused();
        emit IssuerKeyValidUntilChanged(_agencies[record.agencyIndex - 1].id, key, until);
    }

    /// @inheritdoc IDocumentRegistry
    function anchor(bytes32 root, uint32 documentCount, uint40 expiresAt) external {
        IssuerKey memory key = _keys[msg.sender];
        uint40 now_ = _time();
        _requireValidKey(key, now_);
        if (root == bytes32(0)) revert RegistryInvalidRoot();
        if (documentCount == 0) revert RegistryInvalidDocumentCount();
        if (expiresAt != 0 && expiresAt <= now_) revert RegistryExpiryInPast(expiresAt, now_);
        if (!_anchors[root].isEmpty()) revert RegistryRootAlreadyAnchored(root);
        _anchors[root] = RecordPacking.packAnchor(
            key.keyIndex, key.agencyIndex, now_, uint40(block.number), expiresAt, documentCount
        );
        emit Anchored(root, msg.sender, documentCount, expiresAt, now_);
    }

    /// @inheritdoc IDocumentRegistry
    function revoke(bytes32 root, uint8 reason) external {
        AnchorRecord record = _anchorOf(root);
        _requireCanChange(record.agencyIndex(), true);
        if (record.status() == Status.Revoked) revert RegistryAlreadyRevoked(root);
        _anchors[root] = record.withStatus(Status.Revoked, reason);
        emit Revoked(root, msg.sender, root, reason, _time());
    }

    /// @inheritdoc IDocumentRegistry
    function revokeDocument(bytes32 targetHash, bytes32[] calldata proof, uint8 reason) external {
        bytes32 root = MerkleProof.processProofCalldata(proof, targetHash);
        (uint32 agencyIndex, Status status, uint40 claimedAt) = _documentOf(targetHash, root, true);
        if (status == Status.Revoked) revert RegistryAlreadyRevoked(targetHash);
        _documents[targetHash] = _documentRecord(agencyIndex, Status.Revoked, reason, claimedAt);
        emit Revoked(targetHash, msg.sender, root, reason, _time());
    }

    /// @inheritdoc IDocumentRegistry
    function suspend(bytes32 root, uint8 reason) external {
        AnchorRecord record = _anchorOf(root);
        _requireCanChange(record.agencyIndex(), false);
        _requireActive(record.status(), root);
        _anchors[root] = record.withStatus(Status.Suspended, reason);
        emit Suspended(root, msg.sender, root, reason, _time());
    }

    /// @inheritdoc IDocumentRegistry
    function suspendDocument(bytes32 targetHash, bytes32[] calldata proof, uint8 reason) external {
        bytes32 root = MerkleProof.processProofCalldata(proof, targetHash);
        (uint32 agencyIndex, Status status, uint40 claimedAt) = _documentOf(targetHash, root, false);
        _requireActive(status, targetHash);
        _documents[targetHash] = _documentRecord(agencyIndex, Status.Suspended, reason, claimedAt);
        emit Suspended(targetHash, msg.sender, root, reason, _time());
    }

    /// @inheritdoc IDocumentRegistry
    function reinstate(bytes32 root) external {
        AnchorRecord record = _anchorOf(root);
        _requireCanChange(record.agencyIndex(), false);
        if (record.status() != Status.Suspended) revert RegistryNotSuspended(root);
        _anchors[root] = record.withStatus(Status.Active, 0);
        emit Reinstated(root, msg.sender, root, _time());
    }

    /// @inheritdoc IDocumentRegistry
    function reinstateDocument(bytes32 targetHash, bytes32[] calldata proof) external {
        bytes32 root = MerkleProof.processProofCalldata(proof, targetHash);
        (uint32 agencyIndex, Status status, uint40 claimedAt) = _documentOf(targetHash, root, false);
        if (status != Status.Suspended) revert RegistryNotSuspended(targetHash);
        _documents[targetHash] = _documentRecord(agencyIndex, Status.Active, 0, claimedAt);
        emit Reinstated(targetHash, msg.sender, root, _time());
    }

    /**
     * @inheritdoc IDocumentRegistry
     * @dev Also freezes every issuer key that may still act, so key actions learn of
     * the pause from the key record they read anyway: about 5,000 gas a key.
     */
    function pause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _pause();
        _setKeysFrozen(true);
    }

    /// @inheritdoc IDocumentRegistry
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
        _setKeysFrozen(false);
    }

    /// @inheritdoc IDocumentRegistry
    function isIssued(bytes32 hash) external view returns (bool) {
        return !_anchors[hash].isEmpty();
    }

    /// @inheritdoc IDocumentRegistry
    function isRevoked(bytes32 hash) external view returns (bool) {
        Status batch = _anchors[hash].status();
        Status document = _documents[hash].status();
        return batch == Status.Revoked || batch == Status.Suspended || document == Status.Revoked
            || document == Status.Suspended;
    }

    /// @inheritdoc IDocumentRegistry
    function inspect(bytes32 targetHash, bytes32 root) external view returns (DocumentView memory view_) {
        AnchorRecord record = _anchors[root];
        DocumentRecord document = _documents[targetHash];
        view_.paused = paused();
        view_.documentStatus = document.status();
        view_.documentReason = document.reason();
        uint32 ownerIndex = document.agencyIndex();
        if (ownerIndex != 0) view_.documentAgencyId = _agencies[ownerIndex - 1].id;
        if (record.isEmpty()) return view_;
        address key = _keyAddresses[record.keyIndex() - 1];
        IssuerKey memory keyRecord = _keys[key];
        view_.agencyId = _agencies[record.agencyIndex() - 1].id;
        view_.key = key;
        view_.keyValidFrom = keyRecord.validFrom;
        view_.keyValidUntil = keyRecord.validUntil;
        view_.anchoredAt = record.anchoredAt();
        view_.anchoredBlock = record.anchoredBlock();
        view_.expiresAt = record.expiresAt();
        view_.documentCount = record.documentCount();
        view_.batchStatus = record.status();
        view_.batchReason = record.reason();
    }

    /// @inheritdoc IDocumentRegistry
    function agency(bytes32 agencyId) external view returns (bool registered, string memory name) {
        uint32 index = _agencyIndexes[agencyId];
        if (index == 0) return (false, "");
        return (true, _agencies[index - 1].name);
    }

    /// @inheritdoc IDocumentRegistry
    function issuerKey(address key) external view returns (bytes32 agencyId, uint40 validFrom, uint40 validUntil) {
        IssuerKey memory record = _keys[key];
        if (record.keyIndex == 0) return (bytes32(0), 0, 0);
        return (_agencies[record.agencyIndex - 1].id, record.validFrom, record.validUntil);
    }

    /// @dev The clock every rule reads; tests may override it.
    function _time() internal view virtual returns (uint40) {
        return uint40(block.timestamp);
    }

    /**
     * @dev Sets the frozen flag of every key that may still act. Retired keys are
     * skipped: they cannot act, and {setIssuerKeyValidUntil} sets the flag afresh if
     * one is ever extended.
     */
    function _setKeysFrozen(bool frozen) private {
        uint256 count = _keyAddresses.length;
        uint40 now_ = _time();
        for (uint256 i = 0; i < count; ++i) {
            IssuerKey storage key = _keys[_keyAddresses[i]];
            if (key.validUntil > now_) key.frozen = frozen;
        }
    }

    /// @dev The anchor of `root`, which must exist.
    function _anchorOf(bytes32 root) private view returns (AnchorRecord record) {
        record = _anchors[root];
        if (record.isEmpty()) revert RegistryNotAnchored(root);
    }

    /**
     * @dev Checks that `root` (where the document's proof led) is anchored and not
     * revoked and that the caller may change documents of its agency. Returns that
     * agency, the document's status as that agency may see it, and the claim time
     * to store.
     *
     * Two agencies' batches may hold the same target hash (a copy, or an attack):
     * the record belongs to the agency whose batch was anchored first. A later
     * agency's changes are refused; the owner's first change discards them.
     */
    function _documentOf(bytes32 targetHash, bytes32 root, bool adminAllowed)
        private
        view
        returns (uint32 agencyIndex, Status status, uint40 claimedAt)
    {
        AnchorRecord record = _anchorOf(root);
        agencyIndex = record.agencyIndex();
        _requireCanChange(agencyIndex, adminAllowed);
        if (record.status() == Status.Revoked) revert RegistryAlreadyRevoked(root);
        claimedAt = record.anchoredAt();
        DocumentRecord state = _documents[targetHash];
        uint32 ownerIndex = state.agencyIndex();
        if (ownerIndex == 0) return (agencyIndex, Status.None, claimedAt);
        uint40 ownerClaimedAt = state.claimedAt();
        if (ownerIndex == agencyIndex) {
            if (ownerClaimedAt < claimedAt) claimedAt = ownerClaimedAt;
            return (agencyIndex, state.status(), claimedAt);
        }
        if (claimedAt >= ownerClaimedAt) {
            revert RegistryDocumentOwnedByOtherAgency(targetHash, _agencies[ownerIndex - 1].id);
        }
        return (agencyIndex, Status.None, claimedAt);
    }

    /// @dev Reverts unless the caller is a valid key of `agencyIndex`, or the admin when `adminAllowed`.
    function _requireCanChange(uint32 agencyIndex, bool adminAllowed) private view {
        IssuerKey memory key = _keys[msg.sender];
        if (key.agencyIndex == agencyIndex) {
            _requireValidKey(key, _time());
            return;
        }
        if (adminAllowed && msg.sender == defaultAdmin()) {
            _requireNotPaused();
            return;
        }
        revert RegistryUnauthorized(msg.sender, _agencies[agencyIndex - 1].id);
    }

    /// @dev Reverts unless `key` is registered, not frozen by a pause, and inside its window at `now_`.
    function _requireValidKey(IssuerKey memory key, uint40 now_) private view {
        if (key.keyIndex == 0) revert RegistryUnknownKey(msg.sender);
        if (key.frozen) revert EnforcedPause();
        if (now_ < key.validFrom || now_ >= key.validUntil) {
            revert RegistryKeyNotValid(msg.sender, key.validFrom, key.validUntil, now_);
        }
    }

    /// @dev Reverts with {RegistryAlreadyRevoked} or {RegistryAlreadySuspended} unless `status` is active.
    function _requireActive(Status status, bytes32 hash) private pure {
        if (status == Status.Revoked) revert RegistryAlreadyRevoked(hash);
        if (status == Status.Suspended) revert RegistryAlreadySuspended(hash);
    }

    /// @dev A document's record stamped with the current time.
    function _documentRecord(uint32 agencyIndex, Status status, uint8 reason, uint40 claimedAt)
        private
        view
        returns (DocumentRecord)
    {
        return RecordPacking.packDocument(agencyIndex, status, reason, _time(), claimedAt);
    }
}
